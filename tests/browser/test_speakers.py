"""A reviewer merges a duplicate speaker from the speaker's page; the pages wide and narrow."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from playwright.sync_api import expect

from annotations.models import Article, Quote, Speaker, SpeakerMerge

from ..factories import QuoteFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

WIDTHS = [1440, 390]
# Where a developer looks at this helper's screenshots besides test-artifacts/.
REVIEW_SHOTS = Path("/tmp/shots-s")  # noqa: S108 (copied there only when the folder exists; nothing read back)


@pytest.fixture
def demo(settings):
    settings.DEBUG = True
    call_command("seed_demo", stdout=io.StringIO())
    settings.DEBUG = False
    return Article.objects.get(metadata__source="worked-example.json")


def overflows(page) -> bool:
    wide = page.evaluate(
        """() => [...document.querySelectorAll('body *')]
          .filter((e) => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1)
          .map((e) => e.tagName + '.' + e.className + '#' + e.id).slice(0, 8)"""
    )
    if wide:
        print("too wide:", wide)
    return page.evaluate("() => document.documentElement.scrollWidth > document.documentElement.clientWidth")


def shoot(page, screenshot_dir: Path, name: str) -> None:
    path = screenshot_dir / name
    page.screenshot(path=str(path), full_page=True)
    if REVIEW_SHOTS.is_dir():
        shutil.copy(path, REVIEW_SHOTS / name)


def test_a_reviewer_merges_a_duplicate_from_the_speakers_page(page, log_in, demo, screenshot_dir):
    price = Speaker.objects.get(name="Ned Price")
    duplicate = Speaker.objects.create(name="Edward Price", country="US", wikidata_qid="Q24568419")
    duplicate.aliases.create(name="State Department Spokesman")
    analyst = get_user_model().objects.get(username="analyst")
    theirs = QuoteFactory(speaker=duplicate, annotator=analyst)
    price_quotes = set(Quote.objects.filter(speaker=price).values_list("pk", flat=True))

    page.set_viewport_size({"width": 1440, "height": 900})
    log_in(get_user_model().objects.get(username="reviewer"))
    page.goto(price.get_absolute_url())
    page.get_by_label("Duplicate speaker's number").fill(str(duplicate.pk))
    page.get_by_role("button", name="Review the merge…").click()
    expect(page.get_by_role("heading", name="Merge “Edward Price” into “Ned Price”?")).to_be_visible()
    expect(page.locator(".merge-moves")).to_contain_text("1 annotators' quote")
    shoot(page, screenshot_dir, "speaker-merge-1440.png")
    page.get_by_role("button", name="Merge and delete “Edward Price”").click()
    expect(page.locator(".message.success")).to_contain_text("Merged “Edward Price” into “Ned Price”")
    expect(page.get_by_role("heading", name="Merged into this speaker")).to_be_visible()

    assert not Speaker.objects.filter(pk=duplicate.pk).exists()
    assert Quote.objects.get(pk=theirs.pk).speaker_id == price.pk
    assert set(Quote.objects.filter(speaker=price).values_list("pk", flat=True)) == price_quotes | {theirs.pk}
    assert {"Edward Price", "State Department Spokesman"} <= set(price.aliases.values_list("name", flat=True))
    price.refresh_from_db()
    assert price.wikidata_qid == "Q24568419"
    record = SpeakerMerge.objects.get()
    assert (record.kept_id, record.merged_name, record.raw_quotes, record.by.username) == (
        price.pk,
        "Edward Price",
        1,
        "reviewer",
    )


@pytest.mark.parametrize("width", WIDTHS)
def test_the_speakers_pages_fit_the_screen(page, log_in, demo, screenshot_dir, width):
    page.set_viewport_size({"width": width, "height": 900})
    log_in(get_user_model().objects.get(username="reviewer"))
    page.goto("/speakers/?ordering=-quote_count")
    expect(page.get_by_role("heading", name="Speakers")).to_be_visible()
    expect(page.locator("table.speakers tbody tr").first).to_contain_text("Ned Price")
    shoot(page, screenshot_dir, f"speakers-index-{width}.png")
    assert not overflows(page)
    page.get_by_role("link", name="Ned Price").click()
    expect(page.get_by_role("heading", name="Ned Price", exact=True)).to_be_visible()
    expect(page.locator(".timeline mark").first).to_be_visible()
    shoot(page, screenshot_dir, f"speaker-page-{width}.png")
    assert not overflows(page)
    page.get_by_label("Stance", exact=True).select_option("oppose")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url("**label=oppose**")
    expect(page.locator("#timeline")).to_contain_text("quote")
