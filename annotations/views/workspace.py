"""The analyst's workspace: the queue, adding articles, the annotate page and its
htmx fragments.

Views stay thin: who may see or change what comes from the QuerySets in
models.py, validation from forms.py. One view serves a page and its fragment;
every hx-post sits in a real form so the pages work without JavaScript.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import connection
from django.db.models import Count, Prefetch, Q, QuerySet
from django.http import Http404, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect

from ..forms import (
    ArticleForm,
    BaseStanceFormSet,
    QuoteForm,
    SearchField,
    SpeakerForm,
    StanceFormSet,
    TargetForm,
)
from ..highlights import Completion, ListedQuote, render_quote_items, render_segments, segments
from ..importers import format_from_filename, import_articles
from ..models import (
    LATEST_DETECTION,
    OPENED_ARTICLE,
    Article,
    Assignment,
    Quote,
    Speaker,
    Stance,
    StanceLabel,
    Suggestion,
    Target,
    UndoRefused,
    VersionConflict,
    article_opened_by,
)
from ..requests import AuthedRequest
from ..roles import analyst_required, is_analyst, is_researcher, is_reviewer, reviewer_required
from ..statements import Read, Statement, read_together
from ..suggestions import suggest, suggest_target

if TYPE_CHECKING:
    from ..roles import AnyUser

ANNOTATE = "annotations/article_annotate.html"


def _redirect_back(request: AuthedRequest, back: str) -> HttpResponse:
    """Return to the page a form came from, if it is one of ours; else the queue."""
    if url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return redirect(back)
    return redirect("annotations:home")


# --- The queue ------------------------------------------------------------------


@login_required
@require_GET
def home(request: AuthedRequest) -> HttpResponse:
    """My queue: the articles assigned to me and the open pool, searchable.

    A researcher has no queue: they land on the dataset page instead."""
    user = request.user
    if is_researcher(user) and not is_analyst(user):
        return redirect("annotations:dataset")
    visible_quotes = Quote.objects.visible_to(user).filter(is_curated=False)
    articles = (
        Article.objects.queue_for(user)
        .annotate(quote_count=Count("quotes", filter=Q(quotes__in=visible_quotes)))
        .prefetch_related(Prefetch("assignments", queryset=Assignment.objects.filter(annotator=user), to_attr="mine"))
        .order_by("-created_at", "-id")
    )
    query = SearchField().clean(request.GET.get("q", ""))
    if query:
        articles = articles.filter(Q(title__icontains=query) | Q(outlet__icontains=query))
    page = Paginator(articles, 25).get_page(request.GET.get("page"))
    for article in page.object_list:
        article.my_assignment = article.mine[0] if article.mine else None
    queue = Assignment.objects.for_user(user).progress() if is_analyst(user) and not request.htmx else None
    awaiting_review = (
        Assignment.objects.filter(status=Assignment.Status.SUBMITTED).values("article").distinct().count()
        if is_reviewer(user)
        else None
    )
    template = "annotations/home.html#queue" if request.htmx else "annotations/home.html"
    return TemplateResponse(
        request,
        template,
        {"page": page, "query": query, "awaiting_review": awaiting_review, "queue": queue},
    )


@analyst_required
@require_POST
def next_article(request: AuthedRequest) -> HttpResponse:
    """Take the next article to do: my oldest open assignment, else one from the pool."""
    assignment = Assignment.objects.next_for(request.user)
    if assignment is None:
        messages.info(request, "Nothing left to annotate: your queue and the pool are empty.")
        return redirect("annotations:home")
    return redirect(assignment.article.annotate_url)


# --- Adding articles --------------------------------------------------------------


@analyst_required
@require_http_methods(["GET", "POST"])
def article_new(request: AuthedRequest) -> HttpResponse:
    form = ArticleForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        article = form.save(commit=False)
        article.add_for(request.user)
        messages.success(request, f"Article “{article.title}” added to your queue.")
        return redirect(article.annotate_url)
    status = 422 if form.errors else 200
    return TemplateResponse(request, "annotations/article_new.html", {"form": form}, status=status)


@reviewer_required
@require_http_methods(["GET", "POST"])
def article_upload(request: AuthedRequest) -> HttpResponse:
    """Reviewers import JSONL, CSV or TXT files through the same importer as the command."""
    report = None
    error = ""
    status = 200
    if request.method == "POST":
        upload = request.FILES.get("file")
        limit = settings.IMPORT_MAX_BYTES
        if upload is None:
            error = "Choose a file to import."
        elif (upload.size or 0) > limit:
            # Checked before reading: Django has only streamed it to a temporary file.
            error = (
                f"The file is {upload.size:,} bytes; the limit is {limit:,} bytes ({limit / 2**20:g} MiB). "
                "Split it into smaller files and import them one by one: nothing was imported."
            )
            status = 413
        else:
            fmt = request.POST.get("format") or format_from_filename(upload.name or "")
            if fmt is None:
                error = "Can't tell the format from the file name: choose JSONL, CSV or plain text."
            else:
                try:
                    report = import_articles(upload.read(), fmt, user=request.user)
                except ValueError as problem:
                    error = str(problem)
    if status == 200 and (error or (report is not None and not report.ok)):
        status = 422
    return TemplateResponse(
        request, "annotations/article_upload.html", {"report": report, "error": error}, status=status
    )


# --- The annotate page -----------------------------------------------------------


# The annotate page's reads, built and compiled once per role (statements.py): building
# them took the page ~6 ms a request. The layer is part of the form, so one statement each.
def _page_quotes_of(curated: bool) -> Callable[..., QuerySet[Quote]]:
    def build(user: AnyUser, article_id: int) -> QuerySet[Quote]:
        return Quote.objects.visible_to(user).filter(article_id=article_id, is_curated=curated)

    return build


_LISTED_COLUMNS = (
    "id", "start", "end", "text", "kind", "is_curated", "annotator_id", "annotator__username",
    "speaker__name", "mention_start", "mention_end", "cue_start", "cue_end",
)  # fmt: skip
_PAGE_QUOTES = {
    curated: Statement(
        Quote,
        f"the annotate page's quotes ({'curated' if curated else 'raw'})",
        lambda user, article_id, curated=curated: (
            _page_quotes_of(curated)(user, article_id).order_by("start", "-end", "id").values_list(*_LISTED_COLUMNS)
        ),
    )
    for curated in (False, True)
}
_PAGE_CHIPS = {
    curated: Statement(
        Stance,
        f"the annotate page's stance chips ({'curated' if curated else 'raw'})",
        lambda user, article_id, curated=curated: (
            Stance.objects.filter(quote__in=_page_quotes_of(curated)(user, article_id).values("pk"))
            .order_by("quote_id", "label__order", "label_id", "target__name")
            .values_list("quote_id", "label__slug", "label__name", "target__name")
        ),
    )
    for curated in (False, True)
}
_PAGE_SUGGESTIONS = Statement(
    Suggestion,
    "the annotate page's suggestions",
    lambda user, article_id: (
        Suggestion.objects.on_page(Article(pk=article_id), user).in_text_order().defer("created_at")
    ),
)


_PAGE_ASSIGNMENT = Statement(
    Assignment,
    "the annotate page's assignment",
    lambda user, article_id: Assignment.objects.filter(article_id=article_id, annotator_id=user.pk).with_progress(),
)


_PAGE_LABELS = Statement(StanceLabel, "the stance labels", lambda _user: StanceLabel.objects.all())


def _quote_reads(user: AnyUser, article_id: int, *, curated: bool) -> list[Read]:
    """The annotate page's quotes of one layer and their stance chips, as value rows (a long
    article has hundreds of quotes: a model instance per quote and per stance was most of
    the page's time)."""
    return [_PAGE_CHIPS[curated].rows_read(user, article_id), _PAGE_QUOTES[curated].rows_read(user, article_id)]


def _listed_quotes(chip_rows: list[tuple[Any, ...]], rows: list[tuple[Any, ...]]) -> list[ListedQuote]:
    chips: dict[int, list[tuple[str, str, str]]] = defaultdict(list)
    for quote_id, slug, label, target in chip_rows:
        chips[quote_id].append((slug, label, target))
    # mypy can't count a row's fields; it holds the thirteen before chips.
    return [ListedQuote(*row, chips=chips.get(row[0], [])) for row in rows]  # type: ignore[misc]


def _reads_own_quotes(request: AuthedRequest) -> bool:
    """Whether the page shows the user their own quotes on their work: an analyst does,
    unless they ask for the curated layer. (On a curated article an analyst did not
    annotate there are none, and the curated version is what there is to read.)"""
    return is_analyst(request.user) and request.GET.get("layer") != Quote.Layer.CURATED


def _page_quotes(request: AuthedRequest, article: Article) -> list[ListedQuote]:
    """The quotes shown on the annotate page (``_quote_reads``), for the fragments a save redraws."""
    user = request.user
    own_work = (
        is_reviewer(user)
        or article.status == Article.Status.OPEN
        or Assignment.objects.filter(article=article, annotator=user).exists()
    )
    curated = not (_reads_own_quotes(request) and own_work)
    return _listed_quotes(*read_together(*_quote_reads(user, article.pk, curated=curated)))


def _page_suggestions(request: AuthedRequest, article: Article, quotes: list[ListedQuote]) -> list[Suggestion]:
    """The detector's suggestions I have still to decide, in one query: none unless I
    may add quotes here, none of an older detection, none where I already marked that span."""
    if not _can_annotate(request, article):
        return []
    return list(_PAGE_SUGGESTIONS.instances(request.user, article.pk))


@dataclass
class _Page:
    article: Article
    quotes: list[ListedQuote]
    assignment: Assignment | None  # mine, with where it stands in my queue
    labels: list[StanceLabel]
    suggestions: list[Suggestion]


def _read_page(request: AuthedRequest, pk: int, article: Article | None = None) -> _Page:
    """What the annotate page shows, read together (``read_together``: one round trip on
    PostgreSQL): the article, unless given, with its latest detection; my assignment; the
    labels; the quotes with their chips; the suggestions I have still to decide.

    Every query needs only the article's id and the user, so none waits for another's
    answer. The quotes are of the layer the user's roles point to (``_reads_own_quotes``),
    read again in the one case the article says otherwise: an analyst's curated article
    they have no assignment on."""
    user = request.user
    own_quotes = _reads_own_quotes(request)
    reads = []
    if article is None:
        if not 0 < pk < 2**63:  # past any id: no such article (a statement takes 64-bit ids)
            raise Http404("No such article, or not one you may open.")
        reads += [OPENED_ARTICLE.instances_read(user, pk), LATEST_DETECTION.instances_read(None, pk)]
    reads += [
        _PAGE_ASSIGNMENT.instances_read(user, pk),
        _PAGE_LABELS.instances_read(None),
        *_quote_reads(user, pk, curated=not own_quotes),
        _PAGE_SUGGESTIONS.instances_read(user, pk),
    ]
    results = read_together(*reads)
    if article is None:
        found, runs, *results = results
        if not found:
            raise Http404("No such article, or not one you may open.")
        article = found[0]
        article.take_detection(runs[0] if runs else None)
    assignments, labels, chip_rows, rows, suggestions = results
    assignment = assignments[0] if assignments else None
    own_work = is_reviewer(user) or article.status == Article.Status.OPEN or assignment is not None
    if own_quotes and not own_work:
        chip_rows, rows = read_together(*_quote_reads(user, pk, curated=True))
    return _Page(
        article=article,
        quotes=_listed_quotes(chip_rows, rows),
        assignment=assignment,
        labels=labels,
        suggestions=suggestions if _can_annotate(request, article) else [],
    )


def _annotate_context(request: AuthedRequest, page: _Page, **extra: Any) -> dict[str, Any]:
    article, quotes, assignment, labels = page.article, page.quotes, page.assignment, page.labels
    return {
        "article": article,
        "quotes": quotes,
        "suggestions": page.suggestions,
        "completion": Completion.of(quotes),
        "article_html": render_segments(segments(article.text, quotes, page.suggestions)),
        "quote_items": render_quote_items(quotes, request.user),
        "assignment": assignment,
        "queue": assignment.queue if assignment else None,
        "can_annotate": _can_annotate(request, article),
        "labels": labels,
        "label_shortcuts": {label.shortcut_key: label.pk for label in labels if label.shortcut_key},
        **extra,
    }


def _get_article(request: AuthedRequest, pk: int) -> Article:
    article = article_opened_by(request.user, pk)
    if article is None:
        raise Http404("No such article, or not one you may open.")
    article.read_detection()
    return article


def _can_annotate(request: AuthedRequest, article: Article) -> bool:
    """Whether the user may add quotes to the article: read with it when it came
    through ``with_annotatable`` (as ``_get_article`` reads it), else asked."""
    annotatable = getattr(article, "annotatable", None)
    if annotatable is None:
        annotatable = Article.objects.annotatable_by(request.user).filter(pk=article.pk).exists()
    return annotatable


@login_required
@require_GET
def article_annotate(request: AuthedRequest, pk: int) -> HttpResponse:
    if request.htmx and request.GET.get("fragment") == "quote-panel":
        # Esc closes the panel: its empty state, as after a save (may-annotate read with the article).
        article = _get_article(request, pk)
        can_annotate = _can_annotate(request, article)
        return TemplateResponse(request, ANNOTATE + "#quote-panel", {"article": article, "can_annotate": can_annotate})
    # The panel opens empty, as it is after a save or Esc: a selection asks for the new
    # quote's form filled in from it (quote_new), and "Type a quote's text instead…"
    # for a blank one. A blank form rendered here for nobody was two thirds of the page.
    context = _annotate_context(request, _read_page(request, pk))
    template = ANNOTATE
    if request.htmx and request.GET.get("fragment") in {"article-text", "quote-list"}:
        template += "#" + request.GET["fragment"]
    return TemplateResponse(request, template, context)


def _new_quote_forms(
    article: Article,
    data: QueryDict | None = None,
    *,
    labels: list[StanceLabel] | None = None,
    target: Target | None = None,
    **initial: Any,
) -> dict[str, Any]:
    """The quote form and its stance rows; ``target``, a suggested target, fills the
    first row (which the page drops at saving if it is left without a label)."""
    stances_initial = [{"target": target.pk, "suggested": target.pk}] if target is not None else None
    return {
        "form": QuoteForm(data, article=article, initial=initial or None),
        "stances": StanceFormSet(data, instance=Quote(article=article), labels=labels, initial=stances_initial),
    }


@login_required
@require_GET
def label_styles(request: AuthedRequest) -> HttpResponse:
    """The stance labels' colours as a stylesheet (CSP forbids inline styles)."""
    response = TemplateResponse(
        request, "annotations/labels.css", {"labels": StanceLabel.objects.all()}, content_type="text/css"
    )
    response["Cache-Control"] = "private, max-age=60"
    return response


# --- Quote fragments -----------------------------------------------------------------


def _require_annotatable(request: AuthedRequest, pk: int) -> Article:
    # annotatable_by() is a subset of visible_to(): one query answers both.
    return get_object_or_404(Article.objects.annotatable_by(request.user), pk=pk)


@login_required
@require_http_methods(["GET", "POST"])
def quote_new(request: AuthedRequest, pk: int) -> HttpResponse:
    """GET: the panel for a new quote, pre-filled from the selection.
    POST: save it, then swap the panel, the highlighted text and the list."""
    article = _require_annotatable(request, pk)
    if request.method == "GET":
        return _new_quote_panel(request, article)

    forms = _new_quote_forms(article, request.POST)
    form, stances = forms["form"], forms["stances"]
    if form.is_valid() and stances.is_valid():
        quote = form.save(commit=False)
        quote.annotator = request.user
        quote.pick_role()
        try:
            quote.annotate(by=request.user, stances=stances.values())
        except PermissionDenied as refusal:
            return _refused_panel(request, article, forms, refusal)
        except ValidationError as error:
            form.add_error(None, error)
            return _panel_response(request, article, forms, status=422)
        message = f"Saved {quote.in_words()}."
        return _after_save(request, article, quote, message, can_annotate=True)
    return _panel_response(request, article, forms, status=422)


def _new_quote_panel(request: AuthedRequest, article: Article) -> HttpResponse:
    initial: dict[str, Any] = {}
    try:
        start, end = int(request.GET["start"]), int(request.GET["end"])
    except (KeyError, ValueError):
        start = end = -1  # no selection
    if 0 <= start < end <= len(article.text):
        hint = suggest(article, start, end)
        initial = {
            "start": start,
            "end": end,
            "text": article.text[start:end],
            "kind": hint.kind,
            "cue": hint.cue,
            "cue_start": hint.cue_start,
            "cue_end": hint.cue_end,
            "cue_text": hint.cue,
        }
        if hint.speaker is not None:
            initial.update(speaker=hint.speaker.pk, speaker_query=hint.speaker.name)
        if hint.has_mention:
            initial.update(
                mention_start=hint.mention_start,
                mention_end=hint.mention_end,
                mention_text=article.text[hint.mention_start : hint.mention_end],
            )
        initial["target"] = suggest_target(article, start, end, request.user)
    forms = _new_quote_forms(article, **initial)
    if initial and request.GET.get("text") and request.GET["text"] != initial["text"]:
        forms["form"].add_error(None, "The selection and the article disagree: select the quote again.")
    return _panel_response(request, article, forms)


def _panel_response(
    request: AuthedRequest, article: Article, forms: dict[str, Any], *, status: int = 200, **extra: Any
) -> TemplateResponse:
    if request.htmx:
        context = {"article": article, **forms, **extra}
        return TemplateResponse(request, ANNOTATE + "#quote-panel", context, status=status)
    context = _annotate_context(request, _read_page(request, article.pk, article), **forms, **extra)
    return TemplateResponse(request, ANNOTATE, context, status=status)


def _after_save(
    request: AuthedRequest,
    article: Article,
    quote: Quote | None,
    message: str,
    *,
    can_annotate: bool | None = None,
    undo: dict[str, int | None] | None = None,
    suggestions_changed: bool = False,
) -> HttpResponse:
    if not request.htmx:
        messages.success(request, message)
        return redirect(article.annotate_url + (f"#quote-{quote.pk}" if quote else ""))
    # Only what the swapped fragments show: the panel with the message, the
    # text and the list. No blank form: the next selection asks for one, and
    # the panel links to it for the keyboard (rendering it was a fifth of a save).
    quotes = _page_quotes(request, article)
    if can_annotate is None:
        can_annotate = _can_annotate(request, article)
    article.annotatable = can_annotate
    # The text is redrawn with the suggestions still to decide (one query) when there
    # are some on the page (the script says so) or a decision changed them: a quote
    # marked on a suggestion's span takes it off the page, the others stay drawn. A
    # page without suggestions saves without that query.
    shown = suggestions_changed or request.POST.get("suggestions_shown") == "1"
    suggestions = _page_suggestions(request, article, quotes) if shown else None
    context = {
        "article": article,
        "article_html": render_segments(segments(article.text, quotes, suggestions or ())),
        "quotes": quotes,
        "suggestions": suggestions,
        "completion": Completion.of(quotes),
        "quote_items": render_quote_items(quotes, request.user),
        "saved_message": message,
        "can_annotate": can_annotate,
        "undo": undo,
    }
    return TemplateResponse(request, ANNOTATE + "#saved", context)


def _get_quote(request: AuthedRequest, pk: int) -> Quote:
    # with_permissions: what the edit panel asks (may change it, may discuss it, may add
    # quotes to its article) is read with the quote rather than a query each.
    quotes = Quote.objects.visible_to(request.user).with_permissions(request.user)
    return get_object_or_404(quotes.select_related("article", "speaker", "speaker_role"), pk=pk)


@login_required
@require_http_methods(["GET", "POST"])
def quote_edit(request: AuthedRequest, pk: int) -> HttpResponse:
    """Open a quote for editing; save with optimistic locking on its version."""
    quote = _get_quote(request, pk)
    article = quote.article
    article.annotatable = quote.article_annotatable  # for _can_annotate
    editable = quote.editable
    if request.method == "POST" and not editable:
        raise Http404("You can't change this quote.")
    data = request.POST if request.method == "POST" else None
    form = QuoteForm(data, instance=quote, article=article)
    # cast: inlineformset_factory is typed as returning the base class, not ours.
    stances = cast(BaseStanceFormSet, StanceFormSet(data, instance=quote))
    forms = {"form": form, "stances": stances, "editing": quote, "editable": editable}
    if quote.discussable:
        forms["editing_comments"] = quote.comments.select_related("author")
    if request.method == "GET":
        return _panel_response(request, article, forms)
    if not (form.is_valid() and stances.is_valid()):
        return _panel_response(request, article, forms, status=422)
    expected = form.cleaned_data.get("version") or 0
    edited = form.save(commit=False)
    edited.speaker_role = None
    edited.pick_role()
    try:
        edited.annotate(by=request.user, expected_version=expected, stances=stances.values())
    except VersionConflict as conflict:
        return _conflict_response(request, article, forms, conflict.current)
    except PermissionDenied as refusal:
        return _refused_panel(request, article, forms, refusal)
    except ValidationError as error:
        form.add_error(None, error)
        return _panel_response(request, article, forms, status=422)
    return _after_save(
        request,
        article,
        edited,
        f"Saved changes to {edited.in_words()}.",
        undo={"quote": edited.pk, "change": Quote.last_change_id(edited.pk, just_saved=edited)},
    )


def _refused_panel(request: AuthedRequest, article: Article, forms: dict, refusal: PermissionDenied) -> HttpResponse:
    """The article was submitted while the form was on its way: nothing saved, say why."""
    forms["form"].add_error(None, str(refusal))
    return _panel_response(request, article, forms, status=409)


def _conflict_response(request: AuthedRequest, article: Article, forms: dict, current: Quote | None) -> HttpResponse:
    """Somebody else saved first: show both versions and let the analyst choose."""
    if current is not None:
        current = (
            Quote.objects.select_related("speaker", "annotator")
            .prefetch_related(Prefetch("stances", queryset=Stance.objects.select_related("target", "label")))
            .get(pk=current.pk)
        )
        # Re-submitting from the conflict panel means "keep mine": it carries the current version.
        forms["form"].data = forms["form"].data.copy()
        forms["form"].data["version"] = current.version
    return _panel_response(request, article, forms, status=409, conflict=True, current=current)


@login_required
@require_http_methods(["GET", "POST"])
def quote_delete(request: AuthedRequest, pk: int) -> HttpResponse:
    quote = get_object_or_404(Quote.objects.editable_by(request.user).select_related("article", "speaker"), pk=pk)
    article = quote.article
    if request.method == "GET":
        return _panel_response(request, article, {"deleting": quote})
    try:
        version = int(request.POST.get("version", ""))
    except ValueError:
        version = quote.version
    try:
        quote.remove(by=request.user, expected_version=version)
    except VersionConflict as conflict:
        return _panel_response(request, article, {"deleting": quote, "current": conflict.current}, status=409)
    return _after_save(
        request,
        article,
        None,
        # In words, read before it goes: the message names what was deleted.
        f"Deleted {quote.in_words()}.",
        undo={"quote": pk, "change": Quote.last_change_id(pk, just_saved=quote)},
    )


@analyst_required
@require_POST
def quote_undo(request: AuthedRequest, pk: int) -> HttpResponse:
    """Undo my last delete or edit of a quote, within a minute (``Quote.undo_change``)."""
    try:
        change = int(request.POST.get("change", ""))
    except ValueError:
        change = 0
    record = Quote.history.filter(history_id=change, id=pk).only("article_id").first()
    if record is None:
        raise Http404("No such change.")
    article = get_object_or_404(Article.objects.visible_to(request.user), pk=record.article_id)
    try:
        quote = Quote.undo_change(change, by=request.user)
    except UndoRefused as refusal:
        if not request.htmx:
            messages.error(request, str(refusal))
            return redirect(article.annotate_url)
        return _panel_response(request, article, {"undo_refused": str(refusal)}, status=409)
    return _after_save(request, article, quote, f"Undone: {quote.in_words()} is back as it was.")


@login_required
@require_http_methods(["GET", "POST"])
def article_submit(request: AuthedRequest, pk: int) -> HttpResponse:
    """Submit my annotation of an article: it leaves my queue and locks my quotes."""
    article = _get_article(request, pk)
    assignment = get_object_or_404(Assignment, article=article, annotator=request.user)
    incomplete = list(
        Quote.objects.raw_layer().filter(article=article, annotator=request.user).incomplete().order_by("start", "id")
    )
    context = {"submitting": assignment, "incomplete": incomplete}
    if request.method == "GET":
        return _panel_response(request, article, context)
    # Incomplete quotes go to review only when the analyst confirmed that many of them:
    # one more made meanwhile (another tab) asks again.
    if incomplete and request.POST.get("confirm_incomplete") != str(len(incomplete)):
        return _panel_response(request, article, {**context, "confirm_missing": True}, status=422)
    try:
        assignment.move_to(Assignment.Status.SUBMITTED)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect(article.annotate_url)
    messages.success(request, f"“{article.title}” submitted for review.")
    if request.htmx:
        return HttpResponseClientRedirect(reverse("annotations:home"))
    return redirect("annotations:home")


# --- Speakers and targets ---------------------------------------------------------------


@analyst_required
@require_GET
def speaker_search(request: AuthedRequest) -> HttpResponse:
    """Active search over names and aliases, with the role held on the article's date."""
    query = SearchField().clean(request.GET.get("speaker_query", request.GET.get("q", "")))
    article = None
    if request.GET.get("article", "").isdigit():
        article = Article.objects.visible_to(request.user).filter(pk=request.GET["article"]).first()
    speakers = list(Speaker.objects.search(query).prefetch_related("roles", "aliases")[:10]) if query else []
    for speaker in speakers:
        speaker.role_then = speaker.role_on(article.published_on) if article else None
    return TemplateResponse(request, "annotations/_speaker_results.html", {"speakers": speakers, "query": query})


@analyst_required
@require_http_methods(["GET", "POST"])
def speaker_new(request: AuthedRequest) -> HttpResponse:
    form = SpeakerForm(request.POST or None)
    back = request.POST.get("next") or request.GET.get("next") or ""
    if request.method == "POST" and form.is_valid():
        speaker = form.save()
        if request.htmx:
            return TemplateResponse(
                request, "annotations/_speaker_created.html", {"speaker": speaker, "form": SpeakerForm()}
            )
        messages.success(request, f"Speaker “{speaker}” added: pick them in the quote form.")
        return _redirect_back(request, back)
    status = 422 if form.errors else 200
    template = "annotations/speaker_new.html" + ("#speaker-form" if request.htmx else "")
    return TemplateResponse(request, template, {"speaker_form": form, "next": back}, status=status)


@reviewer_required
@require_http_methods(["GET", "POST"])
def target_new(request: AuthedRequest) -> HttpResponse:
    """Reviewers extend the taxonomy from the annotate page."""
    form = TargetForm(request.POST or None)
    back = request.POST.get("next") or request.GET.get("next") or ""
    if request.method == "POST" and form.is_valid():
        target = form.save()
        messages.success(request, f"Target “{target}” added.")
        return _redirect_back(request, back)
    status = 422 if form.errors else 200
    return TemplateResponse(request, "annotations/target_new.html", {"target_form": form, "next": back}, status=status)


@analyst_required
@require_GET
def target_search(request: AuthedRequest) -> HttpResponse:
    query = SearchField().clean(request.GET.get("q", ""))
    targets = (
        list(Target.objects.filter(Q(name__icontains=query) | Q(slug__icontains=query)).select_related("parent")[:15])
        if query
        else []
    )
    return TemplateResponse(request, "annotations/_target_results.html", {"targets": targets, "query": query})


@require_GET
def health(request: AuthedRequest) -> HttpResponse:
    """For load balancers and the container health check: the database answers."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return HttpResponse("ok", content_type="text/plain")
