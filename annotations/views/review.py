"""Review: assignments, the review queue, curation, agreement, history and comments.

Reviewers assign articles, compare the annotators of an article row by row and
produce its curated version. Researchers read the agreement report. An analyst
reads the history and the comments of their own quotes. Every view checks its
permission itself: a client can ask for any fragment.

Each page serves its htmx fragment from the same view (``page.html#partial``);
every htmx post sits in a real form, so the pages work without JavaScript.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Case, Count, IntegerField, OuterRef, Q, QuerySet, Subquery, Value, When
from django.db.models.functions import Coalesce
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import reswap, retarget

from ..agreement import load_agreement
from ..charts import bar_chart
from ..curation import Curation, load_curation
from ..filters import AgreementFilter
from ..forms import (
    AssignForm,
    CommentForm,
    CuratedQuoteForm,
    MissedQuoteForm,
    QueueFilterForm,
    SearchField,
    SendBackForm,
    analysts,
)
from ..history import history_entries
from ..models import (
    Article,
    Assignment,
    Comment,
    Quote,
    Stance,
    Target,
    UndoRefused,
    VersionConflict,
)
from ..requests import AuthedRequest
from ..roles import is_analyst, is_researcher, is_reviewer, reviewer_required, role_required


def _safe_next(request: AuthedRequest, default: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return target
    return default


# --- Assignments -----------------------------------------------------------------


@reviewer_required
@require_http_methods(["GET", "POST"])
def review_assign(request: AuthedRequest) -> HttpResponse:
    query = SearchField().clean(request.GET.get("q", ""))
    candidates = (
        Article.objects.filter(status=Article.Status.OPEN)
        .annotate(assignment_count=Count("assignments"))
        .order_by("-created_at", "-id")
    )
    if query:
        candidates = candidates.filter(Q(title__icontains=query) | Q(outlet__icontains=query))
    page = Paginator(candidates, 50).get_page(request.GET.get("page"))
    people = analysts().annotate(open_count=Count("assignments", filter=Q(assignments__status__in=Assignment.OPEN)))
    form = AssignForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        chosen = list(form.cleaned_data["analysts"]) or list(analysts())
        created, skipped = Assignment.objects.assign(
            list(form.cleaned_data["articles"].order_by("-created_at", "-id")),
            chosen,
            per_article=form.cleaned_data["per_article"],
            assigned_by=request.user,
        )
        count = len(created)
        messages.success(request, f"Created {count} assignment{'s' if count != 1 else ''}.")
        for reason in skipped:
            messages.warning(request, f"Skipped: {reason}")
        if not request.htmx:
            return redirect(request.get_full_path())
        form = AssignForm()
    context = {"page": page, "query": query, "people": people, "form": form}
    template = "annotations/review_assign.html"
    if request.htmx:
        template += "#article-choices" if request.htmx.target == "article-choices" else "#assign"
    return TemplateResponse(request, template, context, status=422 if form.errors else 200)


# --- The review queue --------------------------------------------------------------


@reviewer_required
@require_GET
def review_queue(request: AuthedRequest) -> HttpResponse:
    form = QueueFilterForm(request.GET)
    curated_quotes = (
        Quote.objects.curated()
        .filter(article=OuterRef("pk"))
        .order_by()
        .values("article")
        .annotate(count=Count("pk"))
        .values("count")
    )
    articles = (
        Article.objects.in_review()
        .annotate(
            assigned_count=Count("assignments"),
            done_count=Count("assignments", filter=Q(assignments__status__in=Assignment.DONE)),
            curated_count=Coalesce(Subquery(curated_quotes, output_field=IntegerField()), 0),
            open_first=Case(When(status=Article.Status.OPEN, then=Value(0)), default=Value(1)),
        )
        .order_by("open_first", "-created_at", "-id")
    )
    if form.is_valid() and form.cleaned_data["status"]:
        articles = articles.filter(status=form.cleaned_data["status"])
    page = Paginator(articles, 25).get_page(request.GET.get("page"))
    figures = load_agreement(Article.objects.filter(pk__in=[article.pk for article in page.object_list]))
    for article in page.object_list:
        article.agreement = figures.by_article.get(article.pk)
    template = "annotations/review_queue.html"
    if request.htmx:
        template += "#queue"
    context = {"page": page, "form": form, "status": form.data.get("status", "")}
    if not request.htmx:
        context["proposals"] = Target.objects.proposed().count()
    return TemplateResponse(request, template, context)


# --- Curation ------------------------------------------------------------------------


def _curation_page(
    request: AuthedRequest, article: Article, *, fragment: bool, curation: Curation | None = None, **extra: Any
) -> TemplateResponse:
    template = "annotations/review_article.html"
    if fragment:
        template += "#curation"
    return TemplateResponse(
        request,
        template,
        {
            "article": article,
            "curation": curation or load_curation(article),
            "missed_form": MissedQuoteForm(article=article, curator=request.user),
            **extra,
        },
    )


def _after_action(
    request: AuthedRequest, article: Article, *, status: int = 200, undo: dict[str, int | None] | None = None
) -> HttpResponse:
    """htmx: the refreshed curation area (its messages say what happened, and ``undo``
    offers to take back an edit or a drop); without JavaScript: back to the page
    (POST/redirect/GET), the messages shown there. ``status`` is 422 when the action
    was refused, 409 on an edit conflict."""
    if request.htmx:
        response = _curation_page(request, article, fragment=True, undo=undo)
        response.status_code = status
        return reswap(retarget(response, "#curation"), "outerHTML")
    return redirect(article.review_url)


@reviewer_required
@require_GET
def review_article(request: AuthedRequest, pk: int) -> HttpResponse:
    article = get_object_or_404(Article, pk=pk)
    return _curation_page(request, article, fragment=bool(request.htmx))


@reviewer_required
@require_POST
def review_accept(request: AuthedRequest, pk: int) -> HttpResponse:
    """Accept one annotator's version of a row as the curated quote (replacing an earlier choice)."""
    article = get_object_or_404(Article, pk=pk)
    try:
        quote_id = int(request.POST.get("quote", ""))
    except ValueError:
        quote_id = 0
    try:
        with transaction.atomic():
            _hold_curation(article)
            row = load_curation(article).row_of(quote_id)
            if row is None:
                messages.error(request, "That quote is not up for review on this article: reload the page.")
                return _after_action(request, article, status=422)
            chosen = next(quote for quote in row.quotes if quote.pk == quote_id)
            for old in row.curated:
                # Versioned: a curated quote edited meanwhile is a conflict, not a silent loss.
                old.remove(by=request.user, expected_version=old.version)
            chosen.copy_as_curated(curator=request.user, sources=row.quotes)
    except VersionConflict:
        messages.error(request, "Someone changed this row's curated quote meanwhile: nothing was replaced. Look again.")
        return _after_action(request, article, status=409)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return _after_action(request, article, status=409)
    verb = "Replaced the curated version of" if row.curated else "Accepted"
    messages.success(request, f"{verb} row {row.number} with {chosen.annotator}’s version.")
    return _after_action(request, article)


def _hold_curation(article: Article) -> None:
    """One acceptance at a time per article: two reviewers accepting the same row
    would otherwise both see it uncurated and both make a curated copy.

    FOR NO KEY UPDATE, not FOR UPDATE: a curated quote's save checks its
    article's foreign key, which FOR UPDATE would block (a deadlock with an
    edit in progress); no-key locks still exclude each other.
    """
    list(Article.objects.select_for_update(no_key=True).filter(pk=article.pk).values_list("pk", flat=True))


@reviewer_required
@require_POST
def review_accept_agreed(request: AuthedRequest, pk: int) -> HttpResponse:
    """Accept every row that every annotator marked identically and nobody has curated yet."""
    article = get_object_or_404(Article, pk=pk)
    try:
        with transaction.atomic():
            _hold_curation(article)
            rows = load_curation(article).unanimous_open_rows
            for row in rows:
                row.quotes[0].copy_as_curated(curator=request.user, sources=row.quotes)
    except ValidationError as error:
        messages.error(request, f"Nothing was accepted: {' '.join(error.messages)}")
        return _after_action(request, article, status=409)
    if rows:
        messages.success(request, f"Accepted {len(rows)} row{'s' if len(rows) != 1 else ''} where annotators agree.")
    else:
        messages.info(request, "No row left where every annotator agrees.")
    return _after_action(request, article)


@reviewer_required
@require_POST
def review_send_back(request: AuthedRequest, pk: int) -> HttpResponse:
    article = get_object_or_404(Article, pk=pk)
    form = SendBackForm(request.POST, article=article)
    if form.is_valid():
        assignment = form.cleaned_data["assignment"]
        try:
            assignment.move_to(Assignment.Status.IN_PROGRESS, comment=form.cleaned_data["comment"])
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
            return _after_action(request, article, status=422)
        messages.success(request, f"Sent back to {assignment.annotator} with your comment.")
        return _after_action(request, article)
    for errors in form.errors.values():
        for message in errors:
            messages.error(request, message)  # type: ignore[arg-type]  # iterating an ErrorList yields strings; the stubs give its items
    return _after_action(request, article, status=422)


@reviewer_required
@require_POST
def review_mark_curated(request: AuthedRequest, pk: int) -> HttpResponse:
    article = get_object_or_404(Article, pk=pk)
    curation = load_curation(article)
    undecided = curation.undecided_rows
    # Rows nobody decided drop out of the dataset: only when the reviewer confirmed
    # that many of them (one more left undecided meanwhile asks again).
    confirmed = request.POST.get("confirm_undecided") == str(len(undecided))
    # What refuses outright (nothing curated, still being annotated) is said first, by mark_curated.
    if undecided and not confirmed and not article.curation_problems():
        response = _curation_page(
            request, article, fragment=bool(request.htmx), curation=curation, confirm_undecided=undecided
        )
        response.status_code = 422
        return reswap(retarget(response, "#curation"), "outerHTML") if request.htmx else response
    try:
        reviewed = article.mark_curated()
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
        return _after_action(request, article, status=422)
    messages.success(
        request, f"“{article}” is curated; {reviewed} assignment{'s' if reviewed != 1 else ''} marked reviewed."
    )
    return _after_action(request, article)


@reviewer_required
@require_POST
def review_add_quote(request: AuthedRequest, pk: int) -> HttpResponse:
    article = get_object_or_404(Article, pk=pk)
    form = MissedQuoteForm(request.POST, article=article, curator=request.user)
    if form.is_valid():
        try:
            quote = form.save()
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, f"Added {quote} to the curated version.")
            return _after_action(request, article)
    template = "annotations/review_quote_add.html"
    if request.htmx:
        template = "annotations/review_article.html#missed-form"
    return TemplateResponse(request, template, {"article": article, "missed_form": form}, status=422)


def _edit_response(request: AuthedRequest, quote: Quote, form: CuratedQuoteForm, *, status: int = 200) -> HttpResponse:
    template = "annotations/review_quote_edit.html"
    if request.htmx:
        template += "#edit-form"
    return TemplateResponse(request, template, {"article": quote.article, "quote": quote, "form": form}, status=status)


@reviewer_required
@require_http_methods(["GET", "POST"])
def review_edit_quote(request: AuthedRequest, pk: int) -> HttpResponse:
    quote = get_object_or_404(Quote.objects.curated().select_related("article"), pk=pk)
    form = CuratedQuoteForm(request.POST or None, instance=quote)
    if request.method == "GET":
        return _edit_response(request, quote, form)
    if not form.is_valid():
        return _edit_response(request, quote, form, status=422)
    try:
        form.save(by=request.user)
    except VersionConflict as conflict:
        form.add_error(
            None,
            "Someone else changed this curated quote while you were editing it: reload to see their version."
            if conflict.current
            else "Someone else dropped this curated quote while you were editing it.",
        )
        return _edit_response(request, quote, form, status=409)
    messages.success(request, "Saved the curated quote.")
    return _after_action(
        request, quote.article, undo={"quote": pk, "change": Quote.last_change_id(pk, just_saved=quote)}
    )


@reviewer_required
@require_POST
def review_drop_quote(request: AuthedRequest, pk: int) -> HttpResponse:
    """Delete a curated quote. History keeps it (and its stances), listed on the curation page."""
    quote = get_object_or_404(Quote.objects.curated().select_related("article"), pk=pk)
    try:
        version = int(request.POST.get("version", quote.version))
    except ValueError:
        version = quote.version
    try:
        quote.remove(by=request.user, expected_version=version)
    except VersionConflict:
        messages.error(request, "Someone else changed this curated quote meanwhile: look again before dropping it.")
        return _after_action(request, quote.article, status=409)
    messages.success(request, f"Dropped {quote} from the curated version; its history keeps it.")
    return _after_action(
        request, quote.article, undo={"quote": pk, "change": Quote.last_change_id(pk, just_saved=quote)}
    )


@reviewer_required
@require_POST
def review_undo_quote(request: AuthedRequest, pk: int) -> HttpResponse:
    """Undo my last edit or drop of a curated quote, within a minute: the annotate
    page's undo (``Quote.undo_change``), on the curated layer."""
    try:
        change = int(request.POST.get("change", ""))
    except ValueError:
        change = 0
    record = Quote.history.filter(history_id=change, id=pk, is_curated=True).only("article_id").first()
    if record is None:
        raise Http404("No such change.")
    article = get_object_or_404(Article, pk=record.article_id)
    try:
        quote = Quote.undo_change(change, by=request.user, layer=Quote.Layer.CURATED)
    except UndoRefused as refusal:
        messages.error(request, str(refusal))
        return _after_action(request, article, status=409)
    messages.success(request, f"Undone: {quote.in_words()} is back as it was.")
    return _after_action(request, article)


# --- Agreement report ----------------------------------------------------------------


@role_required(is_reviewer, is_researcher, refusal="The agreement report is for reviewers and researchers.")
@require_GET
def agreement_report(request: AuthedRequest) -> HttpResponse:
    """Agreement over a filtered set of articles: reviewers and researchers.

    The set is the articles the user may see that at least one annotator has
    submitted: for a researcher, the curated ones.
    """
    articles: QuerySet[Article] = Article.objects.visible_to(request.user).in_review()
    filterset = AgreementFilter(request.GET or None, queryset=articles)
    if filterset.is_valid():
        articles = filterset.qs
    figures = load_agreement(articles, target_ids=filterset.target_ids)
    by_target = figures.alpha_by_target()
    names = dict(Target.objects.filter(pk__in=list(by_target)).values_list("pk", "name"))
    targets = sorted(
        ((names[pk], alpha, units) for pk, (alpha, units) in by_target.items()), key=lambda item: item[0].lower()
    )
    summary = bar_chart(
        [
            ("Span F1, exact", figures.exact_f1),
            ("Span F1, overlap", figures.overlap_f1),
            ("Speaker agreement", figures.speaker_agreement),
            ("Stance α, all targets", figures.stance_alpha),
        ],
        low=-1.0 if (figures.stance_alpha or 0) < 0 else 0.0,
    )
    alphas = [alpha for _, alpha, _ in targets if alpha is not None]
    target_chart = bar_chart(
        [(name, alpha) for name, alpha, _ in targets], low=-1.0 if alphas and min(alphas) < 0 else 0.0
    )
    context = {
        "form": filterset.form,
        "figures": figures,
        "targets": targets,
        "summary": summary,
        "target_chart": target_chart,
        "article_count": len(figures.by_article),
        "is_reviewer": is_reviewer(request.user),
    }
    template = "annotations/review_agreement.html"
    if request.htmx:
        template += "#report"
    return TemplateResponse(request, template, context)


# --- History -------------------------------------------------------------------------


def _can_read_history(user: Any, latest: Any) -> bool:
    if is_reviewer(user):
        return True
    return is_analyst(user) and not latest.is_curated and latest.annotator_id == user.pk


@login_required
@require_GET
def quote_history(request: AuthedRequest, pk: int) -> HttpResponse:
    """Who changed what and when, for a quote and its stances; also for a dropped quote.

    Diffs pair each record with the one before it in the list read here (the same
    pairing as ``record.prev_record``, without a query per record).
    """
    records = list(Quote.history.filter(id=pk).select_related("history_user").order_by("history_date", "history_id"))
    if not records or not _can_read_history(request.user, records[-1]):
        raise Http404("No such quote.")
    stance_records = list(
        Stance.history.filter(quote_id=pk).select_related("history_user").order_by("history_date", "history_id")
    )
    entries = history_entries(records, stance_records)
    quote = Quote.objects.filter(pk=pk).select_related("article").first()
    context = {
        "entries": entries,
        "quote": quote,
        "latest": records[-1],
        "pk": pk,
        "is_reviewer": is_reviewer(request.user),
    }
    template = "annotations/review_history.html"
    if request.htmx:
        template += "#history"
    return TemplateResponse(request, template, context)


# --- Comments --------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def quote_comments(request: AuthedRequest, pk: int) -> HttpResponse:
    """A quote's comment thread: analysts on their own quotes, reviewers on any; others 404."""
    quote = get_object_or_404(Quote.objects.discussable_by(request.user).select_related("article"), pk=pk)
    form = CommentForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        Comment.objects.create(quote=quote, author=request.user, body=form.cleaned_data["body"])
        if not request.htmx:
            return redirect(_safe_next(request, reverse("annotations:quote-comments", args=[quote.pk])))
        form = CommentForm()
    comments = quote.comments.select_related("author")
    context = {"quote": quote, "comments": comments, "form": form, "next": _safe_next(request, "")}
    template = "annotations/review_comments.html"
    if request.htmx:
        template += "#thread"
    return TemplateResponse(request, template, context, status=422 if form.errors else 200)
