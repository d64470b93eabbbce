"""The detector's suggestions on the annotate page, and detection on demand.

A suggestion is decided by each analyst for themselves: accepted (it becomes
their quote, through ``Quote.annotate``), corrected (the quote panel pre-filled
with it; saving makes the corrected quote) or rejected. Detection runs as a
background task; the page polls its run while it is queued or running.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from ..models import Article, DetectionRun, Suggestion, SuggestionDecision
from ..requests import AuthedRequest
from ..roles import analyst_required, reviewer_required
from .workspace import ANNOTATE, _after_save, _new_quote_forms, _panel_response, _require_annotatable


def _get_suggestion(request: AuthedRequest, pk: int) -> Suggestion:
    """An open suggestion of mine on an article I may annotate; else 404."""
    suggestions = Suggestion.objects.filter(article__in=Article.objects.annotatable_by(request.user))
    return get_object_or_404(suggestions.open_for(request.user).select_related("article", "speaker"), pk=pk)


@analyst_required
@require_GET
def suggestion_detail(request: AuthedRequest, pk: int) -> HttpResponse:
    """The panel of one suggestion: accept, correct or reject it."""
    suggestion = _get_suggestion(request, pk)
    return _panel_response(request, suggestion.article, {"suggestion": suggestion})


@analyst_required
@require_POST
def suggestion_accept(request: AuthedRequest, pk: int) -> HttpResponse:
    suggestion = _get_suggestion(request, pk)
    article = suggestion.article
    try:
        quote = suggestion.accept(by=request.user)
    except (PermissionDenied, ValidationError, IntegrityError) as refusal:
        return _refused(request, suggestion, refusal)
    return _after_save(
        request, article, quote, f"Accepted {quote.in_words()}.", can_annotate=True, suggestions_changed=True
    )


@analyst_required
@require_POST
def suggestion_reject(request: AuthedRequest, pk: int) -> HttpResponse:
    suggestion = _get_suggestion(request, pk)
    try:
        suggestion.decide(SuggestionDecision.Outcome.REJECTED, by=request.user)
    except IntegrityError as refusal:
        return _refused(request, suggestion, refusal)
    message = f"Rejected the suggestion “{suggestion.text[:60]}{'…' if len(suggestion.text) > 60 else ''}”."
    return _after_save(request, suggestion.article, None, message, can_annotate=True, suggestions_changed=True)


@analyst_required
@require_http_methods(["GET", "POST"])
def suggestion_correct(request: AuthedRequest, pk: int) -> HttpResponse:
    """GET: the quote panel pre-filled with the suggestion. POST: save the quote as
    corrected (whatever was changed) and record the decision."""
    suggestion = _get_suggestion(request, pk)
    article = suggestion.article
    if request.method == "GET":
        quote = suggestion.as_quote(annotator=request.user)
        initial: dict[str, Any] = {
            name: getattr(quote, name)
            for name in (
                "start",
                "end",
                "text",
                "kind",
                "cue",
                "cue_start",
                "cue_end",
                "cue_text",
                "mention_start",
                "mention_end",
                "mention_text",
                "attribution_group",
            )
        }
        if quote.speaker is not None:
            initial.update(speaker=quote.speaker.pk, speaker_query=quote.speaker.name)
        else:
            initial["speaker_query"] = suggestion.speaker_name
        forms = _new_quote_forms(article, **initial)
        return _panel_response(request, article, {**forms, "correcting": suggestion})
    forms = {**_new_quote_forms(article, request.POST), "correcting": suggestion}
    form, stances = forms["form"], forms["stances"]
    if not (form.is_valid() and stances.is_valid()):
        return _panel_response(request, article, forms, status=422)
    quote = form.save(commit=False)
    quote.annotator = request.user
    quote.detector_version = suggestion.detector_version
    quote.pick_role()
    try:
        with transaction.atomic():
            quote.annotate(by=request.user, stances=stances.values())
            suggestion.decide(SuggestionDecision.Outcome.CORRECTED, by=request.user, quote=quote)
    except PermissionDenied as refusal:
        form.add_error(None, str(refusal))
        return _panel_response(request, article, forms, status=409)
    except IntegrityError:
        form.add_error(None, "You decided this suggestion meanwhile (in another tab): nothing was saved.")
        return _panel_response(request, article, forms, status=409)
    except ValidationError as error:
        form.add_error(None, error)
        return _panel_response(request, article, forms, status=422)
    message = f"Saved {quote.in_words()}, corrected from a suggestion."
    return _after_save(request, article, quote, message, suggestions_changed=True)


def _refused(request: AuthedRequest, suggestion: Suggestion, refusal: Exception) -> HttpResponse:
    if isinstance(refusal, IntegrityError):
        reason = "You decided this suggestion meanwhile (in another tab)."
    elif isinstance(refusal, ValidationError):
        reason = " ".join(refusal.messages)
    else:
        reason = str(refusal)
    if not request.htmx:
        messages.error(request, reason)
        return redirect(suggestion.article.annotate_url)
    context = {"suggestion": suggestion, "suggestion_refused": reason}
    return _panel_response(request, suggestion.article, context, status=409)


@analyst_required
@require_http_methods(["GET", "POST"])
def suggestions_accept_all(request: AuthedRequest, pk: int) -> HttpResponse:
    """Accept every suggestion the page offers me (``Suggestion.objects.on_page``), after
    a confirmation that names how many: one more arrived meanwhile (a detection
    finished) asks again."""
    article = _require_annotatable(request, pk)
    open_suggestions = list(
        Suggestion.objects.on_page(article, request.user).in_text_order().select_related("article", "speaker")
    )
    context: dict[str, Any] = {"accepting_all": len(open_suggestions)}
    if request.method == "GET" or request.POST.get("count") != str(len(open_suggestions)):
        status = 200 if request.method == "GET" else 422
        return _panel_response(request, article, context, status=status)
    accepted, refused = 0, []
    for suggestion in open_suggestions:
        try:
            with transaction.atomic():
                suggestion.accept(by=request.user)
            accepted += 1
        except PermissionDenied as refusal:
            return _panel_response(request, article, {**context, "suggestion_refused": str(refusal)}, status=409)
        except (ValidationError, IntegrityError):
            refused.append(suggestion)
    message = f"Accepted {accepted} suggestion{'s' if accepted != 1 else ''}."
    if refused:
        message += f" {len(refused)} could not be accepted (you have those quotes already, or decided them meanwhile)."
    return _after_save(request, article, None, message, can_annotate=True, suggestions_changed=True)


@analyst_required
@require_http_methods(["GET", "POST"])
def article_detect(request: AuthedRequest, pk: int) -> HttpResponse:
    """GET: the article's detection status (what the page polls). POST: detect its
    quotes again (or retry a failed detection), in the background."""
    if request.method == "POST":
        article = _require_annotatable(request, pk)
        DetectionRun.objects.request([article.pk], by=request.user)
        if not request.htmx:
            messages.success(request, "Quote detection queued: suggestions appear when it has run.")
            return redirect(article.annotate_url)
    article = get_object_or_404(Article.objects.visible_to(request.user).with_annotatable(request.user), pk=pk)
    article.read_detection()
    if not request.htmx:
        from .workspace import article_annotate

        return article_annotate(request, pk)  # the status is on the article's page
    context: dict[str, Any] = {"article": article, "can_annotate": article.annotatable}
    finished = article.detection_status in {DetectionRun.Status.DONE, DetectionRun.Status.FAILED}
    if request.GET.get("polling") and finished and article.annotatable:
        # Detection has just finished: the text and the suggestion list change with it.
        from .workspace import _annotate_context, _read_page

        context = _annotate_context(request, _read_page(request, article.pk, article))
        return TemplateResponse(request, ANNOTATE + "#detection-finished", context)
    return TemplateResponse(request, ANNOTATE + "#detection", context)


@reviewer_required
@require_GET
def detector_precision(request: AuthedRequest) -> HttpResponse:
    """Per detector version, how analysts judged its suggestions."""
    tallies = SuggestionDecision.objects.tally()
    runs = DetectionRun.objects.filter(status=DetectionRun.Status.FAILED).select_related("article")[:20]
    return TemplateResponse(request, "annotations/review_detector.html", {"tallies": tallies, "failed_runs": runs})
