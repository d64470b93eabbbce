"""Undo on the curation page, in a real browser: the reviewer edits or drops a curated
quote, then takes it back with the message's Undo button or Ctrl+Z — and the database
holds the previous span, speaker, kind and stances again."""

# The curation tests' fixture is imported to be used: pytest passes it by name.
# ruff: noqa: F401, F811

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from annotations.curation import load_curation
from annotations.models import Quote, Speaker
from tests.browser.test_curation import double_coded

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

FIELDS = ("start", "end", "text", "kind", "speaker_id", "speaker_role_id", "cue", "is_curated")


def saved(quote_id: int) -> dict:
    return Quote.objects.filter(pk=quote_id).values(*FIELDS).get()


def stances_of(quote_id: int) -> set[tuple[int, int, int | None]]:
    return set(Quote.objects.get(pk=quote_id).stances.values_list("target_id", "label_id", "intensity"))


@pytest.fixture
def curated(double_coded):
    """The demo article with the rows both analysts marked alike accepted by the reviewer."""
    reviewer = get_user_model().objects.get(username="reviewer")
    for row in load_curation(double_coded).unanimous_open_rows:
        row.quotes[0].copy_as_curated(curator=reviewer, sources=row.quotes)
    return double_coded


def curated_item(page, quote: Quote):
    return page.locator(f"#curated-{quote.pk}")


def test_the_undo_button_takes_back_an_edit_of_a_curated_quote(page, log_in, curated, screenshot_dir):
    quote = Quote.objects.curated().filter(article=curated, stances__isnull=False).order_by("start").first()
    before, stances = saved(quote.pk), stances_of(quote.pk)
    other = Speaker.objects.exclude(pk=quote.speaker_id).order_by("name").first()
    log_in(get_user_model().objects.get(username="reviewer"))
    page.set_viewport_size({"width": 1440, "height": 900})
    page.goto(curated.review_url)

    curated_item(page, quote).get_by_role("link", name="Edit").click()
    form = page.locator(f"#edit-form-{quote.pk}")
    expect(form).to_be_visible()
    form.get_by_label("Start").fill(str(quote.start + 1))
    speaker = form.get_by_role("combobox", name="Speaker")
    speaker.fill(other.name)
    form.locator(".speaker-option", has_text=other.name).first.click()
    expect(speaker).to_have_value(other.name)
    form.get_by_label("Kind").select_option("mixed")
    stance = quote.stances.select_related("target").first()
    form.get_by_label(stance.target.name).select_option("")  # clears that stance
    form.get_by_role("button", name="Save").click()
    messages = page.locator("#curation .messages")
    expect(messages).to_contain_text("Saved the curated quote.")
    undo = page.locator("#curation form.undo").get_by_role("button", name="Undo")
    # In view where the reviewer is, far down the page, beside the message.
    expect(undo).to_be_in_viewport()
    expect(messages).to_be_in_viewport()
    edited = saved(quote.pk)
    assert (edited["start"], edited["speaker_id"], edited["kind"]) == (quote.start + 1, other.pk, "mixed")
    assert stances_of(quote.pk) == stances - {(stance.target_id, stance.label_id, stance.intensity)}

    # The pictures show the edited quote under the message and its Undo.
    shots = Path(os.environ.get("UNDO_SHOTS", screenshot_dir))
    shots.mkdir(parents=True, exist_ok=True)
    center = "element => element.scrollIntoView({block: 'center'})"
    curated_item(page, quote).evaluate(center)
    expect(undo).to_be_in_viewport()
    page.screenshot(path=str(shots / "curation-undo-1440.png"))
    page.set_viewport_size({"width": 390, "height": 844})
    curated_item(page, quote).evaluate(center)
    expect(undo).to_be_in_viewport()
    page.screenshot(path=str(shots / "curation-undo-390.png"))
    page.set_viewport_size({"width": 1440, "height": 900})

    undo.click()
    expect(messages).to_contain_text("is back as it was")
    expect(page.locator("#curation form.undo")).to_have_count(0)
    assert saved(quote.pk) == before
    assert stances_of(quote.pk) == stances
    assert Quote.objects.get(pk=quote.pk).version == quote.version + 2
    expect(curated_item(page, quote)).to_contain_text(f"version {quote.version + 2}")


def test_ctrl_z_brings_a_dropped_curated_quote_back(page, log_in, curated):
    quote = Quote.objects.curated().filter(article=curated, stances__isnull=False).order_by("-start").first()
    before, stances = saved(quote.pk), stances_of(quote.pk)
    sources = set(quote.curated_from.values_list("pk", flat=True))
    count = Quote.objects.curated().filter(article=curated).count()
    log_in(get_user_model().objects.get(username="reviewer"))
    page.goto(curated.review_url)

    page.once("dialog", lambda dialog: dialog.accept())
    curated_item(page, quote).get_by_role("button", name="Drop").click()
    expect(page.locator("#curation .messages")).to_contain_text("Dropped")
    expect(page.locator("#curation form.undo button")).to_be_visible()
    assert not Quote.objects.filter(pk=quote.pk).exists()

    # Inside a text field Ctrl+Z is the field's own: nothing comes back.
    page.get_by_text("Add a quote everyone missed").click()  # the folded form with a text field
    page.get_by_label("Exact text").focus()
    expect(page.get_by_label("Exact text")).to_be_focused()
    page.keyboard.press("Control+z")
    page.wait_for_timeout(300)
    assert not Quote.objects.filter(pk=quote.pk).exists()

    page.locator("#curated-title").click()
    page.keyboard.press("Control+z")
    expect(page.locator("#curation .messages")).to_contain_text("is back as it was")
    expect(page.locator("#curated-title .count")).to_have_text(f"({count} quotes)")
    expect(curated_item(page, quote)).to_be_visible()
    assert saved(quote.pk) == before
    assert stances_of(quote.pk) == stances
    assert set(Quote.objects.get(pk=quote.pk).curated_from.values_list("pk", flat=True)) == sources
