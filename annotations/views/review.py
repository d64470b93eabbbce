"""Review: assignments, the review queue, curation, agreement, history and comments.

Reviewers assign articles, compare the annotators of an article row by row and
produce its curated version. Researchers read the agreement report. An analyst
reads the history and the comments of their own quotes. Every view checks its
permission itself: a client can ask for any fragment.

Each page serves its htmx fragment from the same view (``page.html#partial``);
every htmx post sits in a real form, so the pages work without JavaScript.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import wraps
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Case, Count, Exists, IntegerField, OuterRef, Prefetch, Q, Subquery, Value, When
from django.db.models.functions import Coalesce
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import reswap, retarget

from ..agreement import Annotation, ArticleAgreement, Verdict, article_agreement, load_agreement, verdict
from ..forms import ModelErrorsOnShownFields
from ..models import (
    Article,
    Assignment,
    Comment,
    Quote,
    Role,
    Speaker,
    SpeakerRole,
    Stance,
    StanceLabel,
    Target,
    VersionConflict,
    is_analyst,
    is_researcher,
    is_reviewer,
)
from ..offsets import find_occurrence
from ..requests import AuthedRequest
from .workspace import search_term

User = get_user_model()

View = Callable[..., HttpResponse]


def reviewer_required(view: View) -> View:
    """Anonymous visitors go to the login page; logged-in non-reviewers get 403."""

    @login_required
    @wraps(view)
    def wrapped(request: AuthedRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not is_reviewer(request.user):
            raise PermissionDenied("Only reviewers can do this.")
        return view(request, *args, **kwargs)

    return wrapped


def _safe_next(request: AuthedRequest, default: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return target
    return default


# --- Assignments -----------------------------------------------------------------


def analysts() -> Any:
    return User.objects.filter(groups__name=Role.ANALYST, is_active=True).order_by("username", "id")


class AssignForm(forms.Form):
    articles = forms.ModelMultipleChoiceField(
        queryset=Article.objects.filter(status=Article.Status.OPEN),
        error_messages={"required": "Pick at least one article."},
    )
    analysts = forms.ModelMultipleChoiceField(queryset=analysts(), required=False)
    per_article = forms.IntegerField(
        label="Analysts per article",
        min_value=1,
        max_value=10,
        required=False,
        help_text="Give each article this many analysts in all, choosing those with the fewest open assignments.",
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if not data.get("analysts") and not data.get("per_article") and not self.errors:
            raise forms.ValidationError("Pick analysts, or give a number of analysts per article.")
        return data


@reviewer_required
@require_http_methods(["GET", "POST"])
def review_assign(request: AuthedRequest) -> HttpResponse:
    query = search_term(request.GET.get("q", ""))
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


class QueueFilterForm(forms.Form):
    status = forms.ChoiceField(
        choices=[("", "All"), (Article.Status.OPEN, "Awaiting curation"), (Article.Status.CURATED, "Curated")],
        required=False,
    )


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
    return TemplateResponse(request, template, {"page": page, "form": form, "status": form.data.get("status", "")})


# --- Curation ------------------------------------------------------------------------


@dataclass
class AlignedRow:
    """An alignment row as the curation page shows it."""

    number: int
    cells: list[Quote | None]  # one per annotator, in the order of the columns
    verdict: Verdict
    targets: list[tuple[Target, bool]]  # every target of the row, and whether all agree on it
    curated: list[Quote]
    before: str
    text: str
    after: str

    @property
    def quotes(self) -> list[Quote]:
        return [quote for quote in self.cells if quote is not None]

    @property
    def present(self) -> int:
        return len(self.quotes)


@dataclass
class Curation:
    """Everything the curation page shows about one article, read in a fixed number of queries."""

    article: Article
    assignments: list[Assignment]
    annotators: list[Any]
    agreement: ArticleAgreement
    rows: list[AlignedRow]
    curated: list[Quote]
    dropped: list[Any] = field(default_factory=list)

    @property
    def submitted(self) -> list[Assignment]:
        return [assignment for assignment in self.assignments if assignment.status == Assignment.Status.SUBMITTED]

    @property
    def unanimous_open_rows(self) -> list[AlignedRow]:
        return [row for row in self.rows if row.verdict.unanimous and not row.curated]

    def row_of(self, quote_id: int) -> AlignedRow | None:
        return next((row for row in self.rows if any(quote.pk == quote_id for quote in row.quotes)), None)


CONTEXT_CHARS = 80


def _annotation(quote: Quote) -> Annotation:
    return Annotation(
        id=quote.pk,
        annotator=quote.annotator_id,
        start=quote.start,
        end=quote.end,
        speaker=quote.speaker_id,
        kind=quote.kind,
        stances={stance.target_id: stance.label_id for stance in quote.stances.all()},
    )


def _quotes_for_page(queryset: Any) -> Any:
    return (
        queryset.select_related("speaker", "speaker_role", "addressee", "annotator")
        .prefetch_related(
            Prefetch("stances", Stance.objects.select_related("target", "label")),
            Prefetch("comments", Comment.objects.select_related("author")),
        )
        .in_text_order()
    )


def load_curation(article: Article) -> Curation:
    assignments = list(article.assignments.select_related("annotator").order_by("annotator__username", "id"))
    annotators = [assignment.annotator for assignment in assignments if assignment.status in Assignment.DONE]
    raw = list(_quotes_for_page(Quote.objects.by_done_annotators().filter(article=article)))
    curated = list(_quotes_for_page(Quote.objects.curated().filter(article=article)))
    links = Quote.curated_from.through.objects.filter(from_quote__in=[quote.pk for quote in curated]).values_list(
        "from_quote_id", "to_quote_id"
    )
    curated_by_id = {quote.pk: quote for quote in curated}
    copies: dict[int, list[Quote]] = defaultdict(list)
    for quote in curated:
        quote.source_ids = []
    for curated_id, source_id in links:
        copies[source_id].append(curated_by_id[curated_id])
        curated_by_id[curated_id].source_ids.append(source_id)

    by_id = {quote.pk: quote for quote in raw}
    targets = {stance.target_id: stance.target for quote in raw for stance in quote.stances.all()}
    agreement = article_agreement(
        {user.pk: [_annotation(quote) for quote in raw if quote.annotator_id == user.pk] for user in annotators}
    )
    text = article.text
    rows = []
    for number, row in enumerate(agreement.rows, start=1):
        row_verdict = verdict(row, agreement.annotators)
        row_curated: dict[int, Quote] = {}
        for annotation in row.quotes.values():
            for copy in copies.get(annotation.id, []):
                row_curated[copy.pk] = copy
        rows.append(
            AlignedRow(
                number=number,
                cells=[by_id[row.quotes[user.pk].id] if user.pk in row.quotes else None for user in annotators],
                verdict=row_verdict,
                targets=[(targets[target], agrees) for target, agrees in row_verdict.stances.items()],
                curated=sorted(row_curated.values(), key=lambda quote: (quote.start, quote.pk)),
                before=text[max(0, row.start - CONTEXT_CHARS) : row.start],
                text=text[row.start : row.end],
                after=text[row.end : row.end + CONTEXT_CHARS],
            )
        )
    dropped = list(
        Quote.history.filter(article_id=article.pk, is_curated=True, history_type="-")
        .select_related("history_user")
        .order_by("-history_date")[:20]
    )
    return Curation(article, assignments, annotators, agreement, rows, curated, dropped)


def _curation_page(request: AuthedRequest, article: Article, *, fragment: bool) -> HttpResponse:
    template = "annotations/review_article.html"
    if fragment:
        template += "#curation"
    return TemplateResponse(
        request,
        template,
        {
            "article": article,
            "curation": load_curation(article),
            "missed_form": MissedQuoteForm(article=article, curator=request.user),
        },
    )


def _after_action(request: AuthedRequest, article: Article, *, status: int = 200) -> HttpResponse:
    """htmx: the refreshed curation area (its messages say what happened); without
    JavaScript: back to the page (POST/redirect/GET), the messages shown there.
    ``status`` is 422 when the action was refused, 409 on an edit conflict."""
    if request.htmx:
        response = _curation_page(request, article, fragment=True)
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
                old.delete_with_version(old.version)
            chosen.copy_as_curated(curator=request.user, sources=row.quotes)
    except VersionConflict:
        messages.error(request, "Someone changed this row's curated quote meanwhile: nothing was replaced. Look again.")
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
    with transaction.atomic():
        _hold_curation(article)
        rows = load_curation(article).unanimous_open_rows
        for row in rows:
            row.quotes[0].copy_as_curated(curator=request.user, sources=row.quotes)
    if rows:
        messages.success(request, f"Accepted {len(rows)} row{'s' if len(rows) != 1 else ''} where annotators agree.")
    else:
        messages.info(request, "No row left where every annotator agrees.")
    return _after_action(request, article)


class SendBackForm(forms.Form):
    assignment = forms.ModelChoiceField(queryset=Assignment.objects.none())
    comment = forms.CharField(
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": "Say what the analyst should look at again."},
    )

    def __init__(self, *args: Any, article: Article, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["assignment"].queryset = article.assignments.filter(status=Assignment.Status.SUBMITTED)


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
        for error in errors:
            messages.error(request, error)
    return _after_action(request, article, status=422)


@reviewer_required
@require_POST
def review_mark_curated(request: AuthedRequest, pk: int) -> HttpResponse:
    article = get_object_or_404(Article, pk=pk)
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


class MissedQuoteForm(forms.Form):
    """A quote every annotator missed, added straight to the curated version."""

    exact = forms.CharField(
        label="Exact text",
        widget=forms.Textarea(attrs={"rows": 2}),
        strip=False,
        help_text="Paste the quote exactly as the article writes it.",
    )
    occurrence = forms.IntegerField(
        min_value=1, initial=1, help_text="Which appearance of that text, when it appears more than once."
    )
    speaker = forms.ModelChoiceField(queryset=Speaker.objects.all(), required=False, empty_label="Unattributed")
    kind = forms.ChoiceField(choices=Quote.Kind.choices, initial=Quote.Kind.DIRECT)

    def __init__(self, *args: Any, article: Article, curator: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.article = article
        self.curator = curator
        self.quote: Quote | None = None

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if self.errors:
            return data
        try:
            span = find_occurrence(self.article.text, data["exact"], data["occurrence"])
        except ValidationError as error:
            raise forms.ValidationError(error.messages) from error
        quote = Quote(
            article=self.article,
            start=span.start,
            end=span.end,
            text=span.text_of(self.article.text),
            speaker=data["speaker"],
            kind=data["kind"],
            is_curated=True,
            annotator=self.curator,
        )
        quote.pick_role()
        try:
            quote.full_clean()
        except ValidationError as error:
            raise forms.ValidationError(error.messages) from error
        self.quote = quote
        return data

    def save(self) -> Quote:
        if self.quote is None:
            raise ValueError("save() needs a valid form.")
        self.quote.save()
        return self.quote


@reviewer_required
@require_POST
def review_add_quote(request: AuthedRequest, pk: int) -> HttpResponse:
    article = get_object_or_404(Article, pk=pk)
    form = MissedQuoteForm(request.POST, article=article, curator=request.user)
    if form.is_valid():
        quote = form.save()
        messages.success(request, f"Added {quote} to the curated version.")
        return _after_action(request, article)
    template = "annotations/review_quote_add.html"
    if request.htmx:
        template = "annotations/review_article.html#missed-form"
    return TemplateResponse(request, template, {"article": article, "missed_form": form}, status=422)


class CuratedQuoteForm(ModelErrorsOnShownFields, forms.ModelForm):
    """Edit a curated quote: its span, attribution, kind and stances.

    The span is given by offsets (code points, end exclusive); the text is read
    from the article and the whole quote re-validated by ``Quote.full_clean``.
    """

    version = forms.IntegerField(widget=forms.HiddenInput)

    class Meta:
        model = Quote
        fields = ["start", "end", "speaker", "kind", "cue"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["version"].initial = self.instance.version
        self.fields["speaker"].empty_label = "Unattributed"
        self.labels = list(StanceLabel.objects.all())
        current = {stance.target_id: stance.label_id for stance in self.instance.stances.all()}
        choices = [("", "—"), *((label.pk, label.name) for label in self.labels)]
        self.stance_fields = []
        for target in Target.objects.all():
            name = f"stance_{target.pk}"
            self.fields[name] = forms.TypedChoiceField(
                label=target.name, choices=choices, coerce=int, empty_value=None, required=False
            )
            self.fields[name].initial = current.get(target.pk)
            self.stance_fields.append(name)

    def _post_clean(self) -> None:
        start, end = self.cleaned_data.get("start"), self.cleaned_data.get("end")
        if start is not None and end is not None:
            self.instance.text = self.instance.article.text[start:end]
        if "speaker" in self.changed_data:
            # The old role belongs to the old speaker; save() looks up the new one's.
            self.instance.speaker_role = None
        super()._post_clean()

    def stance_labels(self) -> dict[int, int]:
        return {
            int(name.removeprefix("stance_")): self.cleaned_data[name]
            for name in self.stance_fields
            if self.cleaned_data.get(name) is not None
        }

    def save(self, commit: bool = True) -> Quote:
        quote = self.instance
        quote.pick_role()
        with transaction.atomic():
            quote.save_with_version(self.cleaned_data["version"])
            quote.set_stances(self.stance_labels())
        return quote


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
        form.save()
    except VersionConflict as conflict:
        form.add_error(
            None,
            "Someone else changed this curated quote while you were editing it: reload to see their version."
            if conflict.current
            else "Someone else dropped this curated quote while you were editing it.",
        )
        return _edit_response(request, quote, form, status=409)
    messages.success(request, "Saved the curated quote.")
    return _after_action(request, quote.article)


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
        quote.delete_with_version(version)
    except VersionConflict:
        messages.error(request, "Someone else changed this curated quote meanwhile: look again before dropping it.")
        return _after_action(request, quote.article, status=409)
    messages.success(request, f"Dropped {quote} from the curated version; its history keeps it.")
    return _after_action(request, quote.article)


# --- Agreement report ----------------------------------------------------------------


class AgreementFilterForm(forms.Form):
    outlet = forms.ChoiceField(required=False)
    published_from = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    published_to = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    target = forms.ModelChoiceField(
        queryset=Target.objects.all(), required=False, empty_label="All targets", help_text="Includes its subtopics."
    )

    def __init__(self, *args: Any, articles: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        outlets = articles.exclude(outlet="").order_by("outlet").values_list("outlet", flat=True).distinct()
        self.fields["outlet"].choices = [("", "All outlets"), *((outlet, outlet) for outlet in outlets)]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        start, end = data.get("published_from"), data.get("published_to")
        if start and end and end < start:
            raise forms.ValidationError("The end date is before the start date.")
        return data


@dataclass
class Bar:
    label: str
    title: str
    value: float | None
    y: str
    text_y: str
    x: str = "0"
    width: str = "0"
    value_x: str = "0"
    negative: bool = False

    @property
    def shown(self) -> str:
        return "—" if self.value is None else f"{self.value:.2f}"


@dataclass
class Chart:
    bars: list[Bar]
    width: int
    height: int
    zero_x: str
    label_width: int
    axis: list[tuple[str, str]]  # (x, tick label)

    @property
    def has_missing(self) -> bool:
        return any(bar.value is None for bar in self.bars)


def bar_chart(items: list[tuple[str, float | None]], *, low: float = 0.0, high: float = 1.0) -> Chart:
    """Geometry of a horizontal bar chart, drawn by the template as inline SVG.

    Values run from ``low`` to ``high``; a bar starts at 0 and goes left for a
    negative value (alpha can be below 0). A missing value gets no bar and "—".
    """
    label_width, plot_width, row_height, top = 330, 320, 30, 24
    width = label_width + plot_width + 60

    def x_of(value: float) -> float:
        clipped = min(max(value, low), high)
        return label_width + (clipped - low) / (high - low) * plot_width

    zero = x_of(0.0)
    bars = []
    for index, (label, value) in enumerate(items):
        y = top + index * row_height
        short = label if len(label) <= 44 else label[:43] + "…"
        bar = Bar(label=short, title=label, value=value, y=f"{y + 5:.0f}", text_y=f"{y + 19:.0f}")
        if value is not None:
            end = x_of(value)
            bar.x = f"{min(zero, end):.1f}"
            bar.width = f"{max(abs(end - zero), 1.0):.1f}"
            bar.value_x = f"{max(zero, end) + 6:.1f}"
            bar.negative = value < 0
        else:
            bar.value_x = f"{zero + 6:.1f}"
        bars.append(bar)
    ticks = [low, 0.0, 0.5, high] if low < 0 else [low, 0.5, high]
    axis = [(f"{x_of(tick):.1f}", f"{tick:g}") for tick in dict.fromkeys(ticks)]
    return Chart(bars, width, top + len(items) * row_height + 24, f"{zero:.1f}", label_width, axis)


@login_required
@require_GET
def agreement_report(request: AuthedRequest) -> HttpResponse:
    """Agreement over a filtered set of articles: reviewers and researchers.

    The set is the articles the user may see that at least one annotator has
    submitted: for a researcher, the curated ones.
    """
    if not (is_reviewer(request.user) or is_researcher(request.user)):
        raise PermissionDenied("The agreement report is for reviewers and researchers.")
    articles = Article.objects.visible_to(request.user).in_review()
    form = AgreementFilterForm(request.GET or None, articles=articles)
    target_ids = None
    if form.is_valid():
        data = form.cleaned_data
        if data["outlet"]:
            articles = articles.filter(outlet=data["outlet"])
        if data["published_from"]:
            articles = articles.filter(published_on__gte=data["published_from"])
        if data["published_to"]:
            articles = articles.filter(published_on__lte=data["published_to"])
        if data["target"]:
            target_ids = data["target"].descendant_ids()
            about = Stance.objects.filter(quote__article=OuterRef("pk"), target_id__in=target_ids)
            articles = articles.filter(Exists(about))
    figures = load_agreement(articles, target_ids=target_ids)
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
        "form": form,
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


@dataclass
class HistoryEntry:
    when: datetime.datetime
    who: Any
    what: str  # "Created", "Changed", "Deleted"
    subject: str  # "quote" or "stance on <target>"
    changes: list[tuple[str, str, str]]  # (field, old, new)


QUOTE_FIELDS_SHOWN = ["start", "end", "text", "kind", "speaker", "speaker_role", "cue", "mention_text", "cue_text"]
QUOTE_FIELDS_SHOWN += ["addressee", "attribution_group", "parent", "annotator", "is_curated"]
ACTIONS = {"+": "Created", "~": "Changed", "-": "Deleted"}


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
    names = _history_names(records, stance_records)

    def shown(field_name: str, value: Any) -> str:
        if value in (None, ""):
            return "—"
        lookup = names.get(field_name)
        return str(lookup.get(value, f"#{value}")) if lookup is not None else str(value)

    entries: list[HistoryEntry] = []
    previous = None
    for record in records:
        entries.append(
            HistoryEntry(
                record.history_date,
                record.history_user,
                ACTIONS[record.history_type],
                "quote",
                _changes(record, previous, QUOTE_FIELDS_SHOWN, shown),
            )
        )
        previous = record
    last_of_stance: dict[int, Any] = {}
    for record in stance_records:
        before = last_of_stance.get(record.id)
        entries.append(
            HistoryEntry(
                record.history_date,
                record.history_user,
                ACTIONS[record.history_type],
                f"stance on {names['target'].get(record.target_id, 'a target')}",
                _changes(record, before, ["label", "intensity", "confidence", "note"], shown),
            )
        )
        last_of_stance[record.id] = record
    entries.sort(key=lambda entry: entry.when)
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


def _changes(record: Any, previous: Any, fields: list[str], shown: Callable[[str, Any], str]) -> list[tuple]:
    if record.history_type == "-":
        return []
    if previous is None or record.history_type == "+":
        return [
            (_label(record, name), "", shown(name, _value(record, name)))
            for name in fields
            if _value(record, name) not in (None, "", False)
        ]
    delta = record.diff_against(previous, included_fields=fields)
    return [
        (_label(record, change.field), shown(change.field, change.old), shown(change.field, change.new))
        for change in delta.changes
    ]


def _value(record: Any, name: str) -> Any:
    field_ = record._meta.get_field(name)
    return getattr(record, field_.attname)


def _label(record: Any, name: str) -> str:
    return str(record.instance_type._meta.get_field(name).verbose_name).capitalize()


def _history_names(records: list[Any], stance_records: list[Any]) -> dict[str, dict[Any, str]]:
    """Names for the ids history stores in foreign-key columns, read in one query per model."""
    speaker_ids = {r.speaker_id for r in records} | {r.addressee_id for r in records}
    role_ids = {r.speaker_role_id for r in records}
    user_ids = {r.annotator_id for r in records}
    speakers = dict(Speaker.objects.filter(pk__in=speaker_ids - {None}).values_list("pk", "name"))
    roles = {role.pk: str(role) for role in SpeakerRole.objects.filter(pk__in=role_ids - {None})}
    users = dict(User.objects.filter(pk__in=user_ids - {None}).values_list("pk", "username"))
    targets = dict(Target.objects.filter(pk__in={r.target_id for r in stance_records}).values_list("pk", "name"))
    labels = dict(StanceLabel.objects.filter(pk__in={r.label_id for r in stance_records}).values_list("pk", "name"))
    return {
        "speaker": speakers,
        "addressee": speakers,
        "speaker_role": roles,
        "annotator": users,
        "target": targets,
        "label": labels,
        "kind": dict(Quote.Kind.choices),
        "parent": {},
    }


# --- Comments --------------------------------------------------------------------------


class CommentForm(forms.Form):
    body = forms.CharField(
        label="Comment",
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2, "maxlength": 2000}),
        error_messages={
            "required": "Write something before posting: the comment is empty.",
            "max_length": "Keep a comment under 2,000 characters (it has %(show_value)d).",
        },
    )


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
