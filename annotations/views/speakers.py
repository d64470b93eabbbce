"""The speakers: an index, a page per speaker with the timeline of their curated
quotes, and the reviewers' corrections there (edit, aliases, roles, merge).

These are research views: every figure and quote comes from the curated layer the
user may read (``Quote.objects.visible_to(user).curated_dataset()``), so an
analyst, a reviewer and a researcher see what the API's curated layer gives them.
Whoever reads curated quotes reads these pages; only reviewers change speakers.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import IntegrityError, transaction
from django.db.models import F, Prefetch
from django.db.models.functions import Greatest, Substr
from django.http import HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from .. import stats
from ..filters import SPEAKER_ORDERINGS, QuoteFilter, SpeakerFilter, ordering_exprs, stats_query
from ..forms import SpeakerAliasForm, SpeakerEditForm, SpeakerMergeForm, SpeakerRoleForm
from ..highlights import EXCERPT_CONTEXT, excerpt
from ..models import (
    Quote,
    Speaker,
    SpeakerRole,
    Stance,
    StanceLabel,
    Target,
    label_counts,
)
from ..requests import AuthedRequest
from ..roles import is_analyst, is_researcher, is_reviewer, reviewer_required, role_required
from .research import api_links

readers_required = role_required(
    is_analyst, is_researcher, refusal="The speakers pages are for those who read the curated dataset."
)

SPEAKERS_PER_PAGE = 50
QUOTES_PER_PAGE = 20
# The index's sort choices, as the page names them; the API takes the same keys.
SORTS = {
    "": "Name",
    "-quote_count": "Most curated quotes",
    "quote_count": "Fewest curated quotes",
    "-last_quoted": "Quoted most recently",
    "last_quoted": "Quoted least recently",
}


# --- The index -------------------------------------------------------------------


@readers_required
@require_GET
def speaker_index(request: AuthedRequest) -> HttpResponse:
    speakers = Speaker.objects.with_quote_figures(request.user).prefetch_related(
        "aliases", Prefetch("roles", queryset=SpeakerRole.objects.order_by("-start_date", "id"))
    )
    filterset = SpeakerFilter(request.GET, queryset=speakers)
    listed = filterset.qs
    filterset.is_valid()  # the valid filters apply; the others are shown with their errors
    ordering = filterset.form.cleaned_data.get("ordering") or ""
    if ordering in SORTS and ordering:
        listed = listed.order_by(*ordering_exprs(SPEAKER_ORDERINGS[ordering]))
    else:
        listed = listed.order_by("name", "id")
    page = Paginator(listed, SPEAKERS_PER_PAGE).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "filters": filterset.form,
        "kinds": Speaker.Kind.choices,
        "sorts": SORTS,
        "ordering": ordering,
        "filtered": any(request.GET.get(name) for name in ("q", "country", "kind", "role")),
    }
    template = "annotations/speaker_index.html"
    if request.htmx and request.htmx.target == "speakers":
        template += "#speakers"
    return TemplateResponse(request, template, context)


# --- A speaker's page --------------------------------------------------------------


def _timeline(request: AuthedRequest, speaker: Speaker) -> dict[str, Any]:
    """The speaker's curated quotes, newest article first, filtered by target (with the
    targets below it) and label through the API's quote filters, a page at a time:
    the page's rows, then their excerpts and stances for those rows only (an article's
    text is read around the page's quotes, never for every quote of a busy speaker)."""
    data = {"speaker": str(speaker.pk)}
    for name in ("target", "label"):
        if request.GET.get(name):
            data[name] = request.GET[name]
    quotes = QuoteFilter(data, queryset=Quote.objects.visible_to(request.user))
    errors = [str(message) for field in quotes.form.errors.values() for message in field] if quotes.errors else []
    rows = quotes.qs if not errors else Quote.objects.none()
    rows = (
        rows.select_related("article", "speaker_role")
        .only(
            "id",
            "start",
            "end",
            "text",
            "kind",
            "article__id",
            "article__title",
            "article__outlet",
            "article__published_on",
            "article__url",
            "speaker_role__title",
        )
        .order_by(F("article__published_on").desc(nulls_last=True), "-id")
    )
    page = Paginator(rows, QUOTES_PER_PAGE).get_page(request.GET.get("page"))
    ids = [quote.pk for quote in page.object_list]
    around = Quote.objects.filter(pk__in=ids).annotate(
        before=Substr(
            "article__text",
            Greatest(F("start") - EXCERPT_CONTEXT + 1, 1),
            F("start") - Greatest(F("start") - EXCERPT_CONTEXT, 0),
        ),
        after=Substr("article__text", F("end") + 1, EXCERPT_CONTEXT),
    )
    context_of = {pk: (before, after) for pk, before, after in around.values_list("pk", "before", "after")}
    stances: dict[int, list[Stance]] = {}
    for stance in (
        Stance.objects.filter(quote_id__in=ids)
        .select_related("label", "target")
        .order_by("label__order", "target__name", "id")
    ):
        stances.setdefault(stance.quote_id, []).append(stance)
    for quote in page.object_list:
        before, after = context_of.get(quote.pk, ("", ""))
        quote.excerpt = excerpt(before or "", quote.text, after or "")
        quote.stance_list = stances.get(quote.pk, [])
    return {
        "page": page,
        "filter_errors": errors,
        "chosen_target": data.get("target", ""),
        "chosen_label": data.get("label", ""),
        "targets": Target.objects.order_by("name", "id").only("slug", "name"),
        "labels": StanceLabel.objects.order_by("order", "id").only("slug", "name"),
    }


def _speaker_page(
    request: AuthedRequest, pk: int, *, bound: dict[str, forms.BaseForm] | None = None, status: int = 200
) -> HttpResponse:
    speaker = get_object_or_404(
        Speaker.objects.with_quote_figures(request.user).prefetch_related("aliases", "roles"),
        pk=pk,
    )
    context: dict[str, Any] = {
        "speaker": speaker,
        "by_label": label_counts([speaker.pk], request.user).get(speaker.pk, []),
        "merges": speaker.merges.select_related("by"),
        "timeline": _timeline(request, speaker),
        **_stance_over_time(request, speaker),
    }
    if is_reviewer(request.user):
        context["forms"] = {
            "edit": SpeakerEditForm(instance=speaker, prefix="edit"),
            "alias": SpeakerAliasForm(speaker=speaker, prefix="alias"),
            "role": SpeakerRoleForm(speaker=speaker, prefix="role"),
            "merge": SpeakerMergeForm(kept=speaker),
            **(bound or {}),
        }
    template = "annotations/speaker_detail.html"
    if request.htmx and request.htmx.target == "timeline":
        template += "#timeline"
    return TemplateResponse(request, template, context, status=status)


def _stance_over_time(request: AuthedRequest, speaker: Speaker) -> dict[str, Any]:
    """Their stance over time, per month and by label, toward the target the
    timeline is filtered by (with the targets below it), or toward every target:
    counted by the stance statistics' own filter, so the chart, its table and its
    CSV are the API's numbers (``/api/v1/stats/stance/?speaker=ID``)."""
    params = QueryDict(mutable=True)
    params["speaker"] = str(speaker.pk)
    for name in ("target", "label"):
        if request.GET.get(name):
            params[name] = request.GET[name]
    filterset, stances = stats_query(params, request.user)
    target = filterset.form.cleaned_data.get("target") if filterset.is_valid() else None
    over_time = stats.stance_over_time(
        stats.stance_counts(stances, interval="month", group_by=[]),
        interval="month",
        by="label",
        labels=list(StanceLabel.objects.all()),
    )
    return {"over_time": over_time, "over_time_api": api_links(params), "over_time_target": target}


@readers_required
@require_GET
def speaker_detail(request: AuthedRequest, pk: int) -> HttpResponse:
    return _speaker_page(request, pk)


# --- Reviewers' corrections ----------------------------------------------------------
#
# Plain POST forms on the speaker's page: a valid one redirects back to it with a
# message; an invalid one shows the page again with the errors at the form (422).


@reviewer_required
@require_POST
def speaker_edit(request: AuthedRequest, pk: int) -> HttpResponse:
    speaker = get_object_or_404(Speaker, pk=pk)
    form = SpeakerEditForm(request.POST, instance=speaker, prefix="edit")
    if not form.is_valid():
        return _speaker_page(request, pk, bound={"edit": form}, status=422)
    try:
        with transaction.atomic():
            form.save()
    except IntegrityError:  # another speaker took the Wikidata QID meanwhile
        form.add_error("wikidata_qid", "Another speaker has had this Wikidata QID since you opened the page.")
        return _speaker_page(request, pk, bound={"edit": form}, status=422)
    messages.success(request, f"Saved “{speaker.name}”.")
    return redirect(speaker)


@reviewer_required
@require_POST
def speaker_alias_add(request: AuthedRequest, pk: int) -> HttpResponse:
    speaker = get_object_or_404(Speaker, pk=pk)
    form = SpeakerAliasForm(request.POST, speaker=speaker, prefix="alias")
    if not form.is_valid():
        return _speaker_page(request, pk, bound={"alias": form}, status=422)
    try:
        with transaction.atomic():
            alias = form.save()
    except IntegrityError:  # the same alias added meanwhile (a second click, say)
        form.add_error("name", "This alias was added meanwhile.")
        return _speaker_page(request, pk, bound={"alias": form}, status=422)
    messages.success(request, f"Added the alias “{alias.name}”.")
    return redirect(speaker)


@reviewer_required
@require_POST
def speaker_role_add(request: AuthedRequest, pk: int) -> HttpResponse:
    speaker = get_object_or_404(Speaker, pk=pk)
    form = SpeakerRoleForm(request.POST, speaker=speaker, prefix="role")
    if not form.is_valid():
        return _speaker_page(request, pk, bound={"role": form}, status=422)
    role = form.save()
    messages.success(request, f"Added the role “{role}”.")
    return redirect(speaker)


@reviewer_required
@require_http_methods(["GET", "POST"])
def speaker_merge(request: AuthedRequest, pk: int) -> HttpResponse:
    """GET: what merging the duplicate into this speaker would move, and a button to
    confirm. POST (the confirmation): merge, in one transaction."""
    kept = get_object_or_404(Speaker.objects.prefetch_related("aliases"), pk=pk)
    form = SpeakerMergeForm(request.POST if request.method == "POST" else request.GET, kept=kept)
    if not form.is_valid():
        return _speaker_page(request, pk, bound={"merge": form}, status=422)
    duplicate: Speaker = form.cleaned_data["duplicate"]
    if request.method == "POST":
        try:
            record = kept.merge(duplicate, by=request.user)
        except ValidationError as refusal:
            for problem in refusal.messages:
                messages.error(request, problem)
            return redirect(kept)
        moved = record.curated_quotes + record.raw_quotes
        messages.success(
            request,
            f"Merged “{record.merged_name}” into “{kept.name}”: {moved} quote{'s' if moved != 1 else ''}, "
            f"{record.aliases} alias{'es' if record.aliases != 1 else ''} and "
            f"{record.roles} role{'s' if record.roles != 1 else ''} moved.",
        )
        return redirect(kept)
    context = {"kept": kept, "duplicate": duplicate, "preview": kept.merge_preview(duplicate)}
    return TemplateResponse(request, "annotations/speaker_merge.html", context)
