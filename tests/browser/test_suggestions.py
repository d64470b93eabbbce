"""The detector's suggestions in a real browser: n to the next, a to accept, x to
reject, e to correct; what is saved is read back from the database."""

from __future__ import annotations

import pytest

from annotations import detection
from annotations.models import DetectionRun, Quote, Suggestion, SuggestionDecision
from tests.browser.test_annotate import drag_select, panel_settled, seeded  # noqa: F401  # seeded: a fixture

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def open_next(page, key: str = "n") -> int:
    page.keyboard.press(key)
    try:
        page.wait_for_selector("#suggestion-position:not(:empty)")
    except Exception:
        print("PANEL", page.locator("#quote-panel").inner_html()[:3000])
        print("ACTIVE", page.evaluate("document.activeElement.outerHTML.slice(0,200)"))
        print("LIST", page.locator("#suggestion-list-wrap").inner_html()[:1000])
        raise
    panel_settled(page)
    return int(page.locator("#suggestion-position").get_attribute("data-suggestion"))


def test_an_analyst_accepts_rejects_and_corrects_suggestions_with_the_keyboard(page, log_in, seeded, screenshot_dir):  # noqa: F811
    analyst, article = seeded
    DetectionRun.objects.request([article.pk])  # no transaction open: detected at once (ImmediateBackend)
    suggestions = list(Suggestion.objects.filter(article=article).in_text_order())
    assert len(suggestions) >= 3
    first, second, third = suggestions[:3]
    log_in(analyst)
    page.goto(article.annotate_url)
    assert page.locator("#article-text .sg").count() >= 3
    page.locator("#article-text").focus()

    # n opens the first suggestion; a accepts it.
    assert open_next(page) == first.pk
    page.set_viewport_size({"width": 1440, "height": 900})
    page.screenshot(path=str(screenshot_dir / "suggestions-1440.png"))
    page.keyboard.press("a")
    page.wait_for_selector("#quote-panel .message.success:has-text('Accepted')")
    panel_settled(page)
    assert page.locator(f"#suggestion-{first.pk}").count() == 0

    # n moves on from where the accepted one was; x rejects.
    assert open_next(page) == second.pk
    page.keyboard.press("x")
    page.wait_for_selector("#quote-panel .message.success:has-text('Rejected')")
    panel_settled(page)

    # e opens the third for correction: the span shortened by its last word, then saved.
    assert open_next(page) == third.pk
    page.keyboard.press("e")
    page.wait_for_selector("#quote-form h2, #quote-panel h2:has-text('Correct the suggestion')")
    panel_settled(page)
    new_end = third.start + third.text.rstrip().rfind(" ")
    drag_select(page, third.start, new_end)
    page.wait_for_selector(f"#selection-offsets:has-text('{third.start}–{new_end}')")
    page.click("#save-quote")
    page.wait_for_selector("#quote-panel .message.success:has-text('corrected from a suggestion')")
    panel_settled(page)

    accepted = Quote.objects.get(annotator=analyst, start=first.start)
    assert (accepted.end, accepted.text, accepted.kind) == (first.end, first.text, first.kind)
    assert accepted.text == article.text[first.start : first.end]
    assert accepted.detector_version == detection.VERSION
    corrected = Quote.objects.get(annotator=analyst, start=third.start)
    assert (corrected.end, corrected.text) == (new_end, article.text[third.start : new_end])
    assert corrected.detector_version == detection.VERSION
    assert Quote.objects.filter(annotator=analyst).count() == 2  # the rejected one made no quote
    decisions = {d.suggestion_id: (d.outcome, d.quote_id) for d in SuggestionDecision.objects.filter(annotator=analyst)}
    assert decisions == {
        first.pk: ("accepted", accepted.pk),
        second.pk: ("rejected", None),
        third.pk: ("corrected", corrected.pk),
    }

    # The narrow screen, with a suggestion open.
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(article.annotate_url)
    page.locator("#article-text").focus()
    open_next(page)
    page.screenshot(path=str(screenshot_dir / "suggestions-390.png"), full_page=True)
