"""Ctrl+Z on the annotate page undoes the last delete: the quote and its stances are back in the database."""

from __future__ import annotations

import pytest

from annotations.models import Quote
from tests.factories import ArticleFactory, AssignmentFactory, QuoteFactory, StanceFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_ctrl_z_brings_a_deleted_quote_back_with_its_stances(page, log_in, screenshot_dir):
    analyst = UserFactory(username="undoer", role="analyst")
    article = ArticleFactory(pool=False)
    AssignmentFactory(article=article, annotator=analyst, status="in_progress")
    quote = QuoteFactory(article=article, annotator=analyst)
    StanceFactory(quote=quote, intensity=3)
    StanceFactory(quote=quote, intensity=None)
    stances = set(quote.stances.values_list("target_id", "label_id", "intensity"))
    fields = ("start", "end", "text", "kind", "speaker_id")
    before = Quote.objects.filter(pk=quote.pk).values(*fields).get()

    log_in(analyst)
    page.goto(article.annotate_url)
    page.click(f"#quote-{quote.pk} a.quote-link")
    page.wait_for_selector("#delete-quote")
    page.click("#delete-quote")
    page.click("#quote-panel button.danger")
    page.wait_for_selector("#quote-panel .message.success:has-text('Deleted ')")
    page.wait_for_selector("#quote-panel form.undo button")
    assert not Quote.objects.filter(pk=quote.pk).exists()

    page.focus("#article-text")
    page.keyboard.press("Control+z")
    page.wait_for_selector("#quote-panel .message.success:has-text('is back as it was')")
    restored = Quote.objects.get(pk=quote.pk)
    assert Quote.objects.filter(pk=quote.pk).values(*fields).get() == before
    assert restored.version > quote.version
    assert set(restored.stances.values_list("target_id", "label_id", "intensity")) == stances
    # The restored quote is listed again.
    assert page.locator(f"#quote-{quote.pk}").count() == 1
    page.screenshot(path=str(screenshot_dir / "undo.png"))
