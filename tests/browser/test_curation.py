"""The curation page in a real browser, as a reviewer works: htmx swaps, the confirm
dialog, the edit form loaded in place — and the same page without JavaScript."""

from __future__ import annotations

import io
import re

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from playwright.sync_api import expect

from annotations.models import Article, Assignment, Comment, Quote
from tests.browser.test_annotate import drag_select
from tests.test_review_walkthrough import second_analysts_quotes

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


@pytest.fixture
def double_coded(settings):
    """The demo article annotated by both demo analysts (see test_review_walkthrough), both submitted."""
    settings.DEBUG = True
    call_command("seed_demo", no_curation=True, one_annotator=True, stdout=io.StringIO())
    settings.DEBUG = False
    article = Article.objects.get(metadata__source="worked-example.json")
    User = get_user_model()
    analyst2 = User.objects.get(username="analyst2")
    Assignment.objects.get(article=article, annotator__username="analyst").move_to(Assignment.Status.SUBMITTED)
    Assignment.objects.create(article=article, annotator=analyst2, status=Assignment.Status.SUBMITTED)
    second_analysts_quotes(article, analyst2)
    return article


def curated_count(page):
    return page.locator("#curated-title .count")


def test_a_reviewer_curates_the_demo_article(page, log_in, double_coded, screenshot_dir):
    article = double_coded
    log_in(get_user_model().objects.get(username="reviewer"))

    page.goto("/review/")
    queue_row = page.get_by_role("row", name=re.compile(article.title[:20]))
    expect(queue_row).to_contain_text("2 / 2")
    expect(queue_row).to_contain_text("0.93")
    queue_row.get_by_role("link").click()

    expect(page.locator('[data-figure="exact-f1"]')).to_have_text("0.80")
    expect(page.locator('[data-figure="overlap-f1"]')).to_have_text("0.93")
    expect(page.locator('[data-figure="speaker"]')).to_have_text("0.86")
    expect(page.locator('[data-figure="alpha"]')).to_have_text("0.87")
    expect(page.locator(".aligned-rows > .aligned")).to_have_count(8)
    expect(page.locator("#row-4")).to_contain_text("Speaker differs")
    expect(page.locator("#row-7")).to_contain_text("Not marked")

    # One click accepts the four rows both analysts marked alike; htmx swaps the area in place.
    page.get_by_role("button", name="Accept all where annotators agree (4)").click()
    expect(page.locator("#curation .messages")).to_contain_text("Accepted 4 rows where annotators agree.")
    expect(curated_count(page)).to_have_text("(4 quotes)")
    expect(page.get_by_role("button", name="Accept all where annotators agree (0)")).to_be_disabled()

    # Row 4: the first analyst's version (Ned Price) wins.
    page.locator("#row-4 .version").first.get_by_role("button", name="Accept this version").click()
    expect(curated_count(page)).to_have_text("(5 quotes)")
    expect(page.locator("#row-4 .curated-cell")).to_have_text("Curated ✓")

    # The edit form opens inside the curated quote (shown once, in its row); saving refreshes the area.
    first = page.locator(".curated-quote").first
    first.get_by_role("link", name="Edit").click()
    first.get_by_label("Kind").select_option("indirect")
    first.get_by_role("button", name="Save").click()
    expect(page.locator("#curation .messages")).to_contain_text("Saved the curated quote.")
    expect(page.locator(".curated-quote").first).to_contain_text("Indirect")
    expect(page.locator(".curated-quote").first).to_contain_text("version 2")

    # Dropping asks first; history keeps the dropped quote.
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator(".curated-quote").last.get_by_role("button", name="Drop").click()
    expect(curated_count(page)).to_have_text("(4 quotes)")
    expect(page.get_by_text("Dropped curated quotes (1)")).to_be_visible()

    # A quote everyone missed, by its exact text (the form folded until asked for).
    page.get_by_text("Add a quote everyone missed").click()
    page.get_by_label("Exact text").fill("that was a decision for Israel to make")
    page.get_by_role("button", name="Add to the curated version").click()
    expect(curated_count(page)).to_have_text("(5 quotes)")

    # A comment on one analyst's version, in place.
    cell = page.locator("#row-3 .version").nth(1)
    cell.get_by_role("link", name="Comment").click()
    cell.get_by_label("Add a comment").fill("Why only the partial quote?")
    cell.get_by_role("button", name="Post").click()
    expect(cell.locator(".comments")).to_contain_text("reviewer")
    expect(cell.locator(".comments")).to_contain_text("Why only the partial quote?")
    assert Comment.objects.get().quote.annotator.username == "analyst2"

    page.screenshot(path=str(screenshot_dir / "curation.png"), full_page=True)

    # Not every row is decided: "Mark curated" asks first, naming the rows, and changes nothing.
    expect(page.locator("#undecided-count")).to_have_text("4 rows undecided")
    page.get_by_role("button", name="Mark curated").click()
    question = page.locator("#curation .confirm-undecided[role=alert]")
    expect(question).to_contain_text("4 rows have no curated version")
    expect(question.get_by_role("link", name="Row 7")).to_have_attribute("href", "#row-7")
    confirm = page.get_by_role("button", name="Mark curated without them")
    expect(confirm).to_be_focused()
    assert Article.objects.get(pk=article.pk).status == Article.Status.OPEN
    assert set(Assignment.objects.filter(article=article).values_list("status", flat=True)) == {
        Assignment.Status.SUBMITTED
    }
    page.screenshot(path=str(screenshot_dir / "curation-undecided.png"))

    # It is the reviewer's call: confirmed, the article is curated without those rows.
    confirm.click()
    expect(page.locator("#curation .messages")).to_contain_text("2 assignments marked reviewed")
    expect(page.locator("#summary-title .status")).to_have_text("Curated")
    assert Article.objects.get(pk=article.pk).status == Article.Status.CURATED
    assert Quote.objects.curated().count() == 5


def test_the_curation_page_works_without_javascript(browser, live_server, double_coded):
    from django.conf import settings
    from django.test import Client

    client = Client()
    client.force_login(get_user_model().objects.get(username="reviewer"))
    context = browser.new_context(base_url=live_server.url, java_script_enabled=False)
    context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                "url": live_server.url,
            }
        ]
    )
    page = context.new_page()
    try:
        page.goto(double_coded.review_url)
        page.get_by_role("button", name="Accept all where annotators agree (4)").click()
        # A full round trip: POST, redirect, the page again with the message at the top.
        expect(page.locator("ul.messages").first).to_contain_text("Accepted 4 rows where annotators agree.")
        expect(page.locator("#curated-title .count")).to_have_text("(4 quotes)")
        page.locator("#send-back-" + str(Assignment.objects.get(annotator__username="analyst2").pk)).fill(
            "Look at row 4 again"
        )
        page.locator(".send-back").last.get_by_role("button", name="Send back").click()
        expect(page.locator("ul.messages").first).to_contain_text("Sent back to analyst2")
        assert Assignment.objects.get(annotator__username="analyst2").status == Assignment.Status.IN_PROGRESS
    finally:
        context.close()


# The demo article's curation page before issue 14 ("each quote shown once, about half
# today's height"): document.body.scrollHeight at 1440 × 900 after `seed_demo` (both demo
# analysts' readings, all eight rows curated), measured at aee25c6, when every row showed
# its context and both versions open and the curated quotes were listed again under the rows.
HEIGHT_BEFORE = 6414


@pytest.fixture
def seeded_demo(settings):
    settings.DEBUG = True
    call_command("seed_demo", stdout=io.StringIO())
    settings.DEBUG = False
    return Article.objects.get(metadata__source="worked-example.json")


def test_the_demo_curation_page_shows_each_quote_once_in_about_half_the_height(
    page, log_in, seeded_demo, screenshot_dir
):
    article = seeded_demo
    log_in(get_user_model().objects.get(username="reviewer"))
    page.set_viewport_size({"width": 1440, "height": 900})
    page.goto(article.review_url)
    height = page.evaluate("document.body.scrollHeight")
    print(f"\ncuration page height: {height} px, {height / HEIGHT_BEFORE:.0%} of {HEIGHT_BEFORE}")
    assert height <= 0.55 * HEIGHT_BEFORE
    # Each quote once: every curated quote in one place, every annotator's quote in one cell.
    curated = list(Quote.objects.curated().filter(article=article).values_list("pk", flat=True))
    assert len(curated) == 8
    assert sorted(
        int(id_.removeprefix("curated-"))
        for id_ in page.locator(".curated-quote").evaluate_all("els => els.map(el => el.id)")
    ) == sorted(curated)
    assert (
        page.locator(".aligned-rows .version .quote-version").count()
        == Quote.objects.filter(article=article, is_curated=False).count()
    )
    # Nothing a reviewer decides by is gone: each row says what agrees and what differs, and
    # the versions a curated row came from are a click away.
    expect(page.locator("#row-4 .row-head")).to_contain_text("Speaker differs")
    # The row's context: its span marked in the article beside the rows.
    page.locator("#row-4 .show-in-text").click()
    marked = page.evaluate("() => CSS.highlights.get('row-span').values().next().value.toString()")
    assert marked == article.text[1097:1203]
    page.locator("#row-4 .versions-fold > summary").click()
    expect(page.locator("#row-4 .version").first).to_be_visible()
    page.screenshot(path=str(screenshot_dir / "curation-1440.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.screenshot(path=str(screenshot_dir / "curation-390.png"), full_page=True)


def test_a_reviewer_changes_a_curated_quote_by_selecting_its_span_and_picking_its_target(
    page, log_in, seeded_demo, screenshot_dir
):
    article = seeded_demo
    quote = Quote.objects.curated().get(article=article, start=2055)
    assert [(s.target.slug, s.label.slug) for s in quote.stances.all()] == [
        ("israel-low-profile-russia-ukraine", "neutral")
    ]
    log_in(get_user_model().objects.get(username="reviewer"))
    page.set_viewport_size({"width": 1440, "height": 900})
    page.goto(article.review_url)
    page.locator(f"#curated-{quote.pk}").get_by_role("link", name="Edit").click()
    form = page.locator(f"#edit-form-{quote.pk}")
    expect(form).to_be_visible()

    # The span: a new selection in the article text (the editor brought its span into view there).
    start = article.text.index("a decision for Israel to make")
    end = start + len("a decision for Israel to make")
    drag_select(page, start, end)
    expect(form.get_by_label("Start")).to_have_value(str(start))
    expect(form.get_by_label("End")).to_have_value(str(end))
    expect(form.locator(".span-text")).to_have_text("a decision for Israel to make")

    # The speaker, by the annotate page's active search.
    speaker = form.get_by_role("combobox", name="Speaker")
    speaker.fill("Cohen")
    form.locator(".speaker-option").first.click()
    expect(speaker).to_have_value("Eli Cohen")

    # The target: the old stance removed (—), a new one found in the target combobox.
    form.get_by_label("Israel's low public profile on the Russia–Ukraine war").select_option("")
    targets = form.get_by_role("combobox", name="Add a stance toward")
    targets.fill("maintaining")
    expect(form.locator(".combo-options [role=option]").first).to_contain_text("maintaining")
    page.keyboard.press("Enter")
    label = form.get_by_label("Israel maintaining its relationship with Russia")
    expect(label).to_be_focused()
    label.select_option(label="Support")
    page.screenshot(path=str(screenshot_dir / "curation-editor-1440.png"))
    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    form.scroll_into_view_if_needed()
    page.screenshot(path=str(screenshot_dir / "curation-editor-390.png"))
    page.set_viewport_size({"width": 1440, "height": 900})

    form.get_by_role("button", name="Save").click()
    expect(page.locator("#curation .messages")).to_contain_text("Saved the curated quote.")
    quote.refresh_from_db()
    assert (quote.start, quote.end, quote.text) == (start, end, "a decision for Israel to make")
    assert quote.text == article.text[quote.start : quote.end]
    assert quote.speaker.name == "Eli Cohen"
    assert [(s.target.slug, s.label.slug) for s in quote.stances.all()] == [("israel-russia-relations", "support")]
    # Shown once, in its row, as saved.
    expect(page.locator(f"#curated-{quote.pk}")).to_have_count(1)
    expect(page.locator(f"#curated-{quote.pk} .qtext")).to_have_text("a decision for Israel to make")


def test_a_curated_quotes_span_is_selected_with_the_keys_alone(page, log_in, seeded_demo):
    article = seeded_demo
    quote = Quote.objects.curated().get(article=article, start=177)  # Gallant's, before the fold
    log_in(get_user_model().objects.get(username="reviewer"))
    page.set_viewport_size({"width": 1440, "height": 900})
    page.goto(article.review_url)
    edit = page.locator(f"#curated-{quote.pk}").get_by_role("link", name="Edit")
    edit.focus()
    page.keyboard.press("Enter")
    form = page.locator(f"#edit-form-{quote.pk}")
    expect(form).to_be_visible()
    # c in the text puts the caret at the edited quote's start; Shift+Ctrl+→ three words,
    # Enter makes the selection the quote's span, as a mouse selection does.
    page.focus("#article-text")
    page.keyboard.press("c")
    for _ in range(3):
        page.keyboard.press("Shift+Control+ArrowRight")
    expect(page.locator("#announcer")).to_have_text("Selected: I emphasized to")
    page.keyboard.press("Enter")
    expect(form.get_by_label("End")).to_have_value(str(177 + len("I emphasized to")))
    expect(form.locator(".span-text")).to_have_text("I emphasized to")
    form.get_by_role("button", name="Save").click()
    expect(page.locator("#curation .messages")).to_contain_text("Saved the curated quote.")
    quote.refresh_from_db()
    assert (quote.start, quote.end, quote.text) == (177, 192, "I emphasized to")
