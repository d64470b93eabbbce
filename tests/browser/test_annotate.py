"""The whole annotation loop in a real browser, as an analyst works.

Selections are made with the real mouse (press, drag, release over the
characters' positions), so the page's UTF-16 → code-point conversion is what is
tested, not a shortcut around it.
"""

from __future__ import annotations

import datetime
import io
import json
import os
import re
import shutil

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command

from annotations.models import Article, Assignment, Quote, Speaker, Stance, StanceLabel, Target
from tests.factories import ArticleFactory, AssignmentFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

EXAMPLE = json.loads((settings.DEMO_DATA_DIR / "worked-example.json").read_text())
GALLANT = EXAMPLE["quotes"][0]

CHAR_BOX = """([start, end]) => {
  // The screen box of the code points start..end of the article text.
  const box = document.getElementById("article-text");
  const segs = Array.from(box.querySelectorAll(".seg"));
  function point(cp) {
    for (const seg of segs) {
      const s = Number(seg.dataset.s);
      const chars = Array.from(seg.textContent);
      if (cp >= s && cp <= s + chars.length) {
        return [seg.firstChild, chars.slice(0, cp - s).join("").length];
      }
    }
  }
  const first = document.createRange();
  const [n1, o1] = point(start);
  first.setStart(n1, o1);
  first.setEnd(n1, o1 + (Array.from(n1.data.slice(o1))[0] || "").length);
  const last = document.createRange();
  const [n2, o2] = point(end);
  const before = Array.from(n2.data.slice(0, o2));
  const width = (before[before.length - 1] || "").length;
  last.setStart(n2, o2 - width);
  last.setEnd(n2, o2);
  const a = first.getClientRects()[0], b = last.getClientRects()[0];
  // In right-to-left text a character's logical start is its right edge.
  const aRtl = /[\u0590-\u08ff]/.test(Array.from(n1.data.slice(o1))[0] || "");
  const bRtl = /[\u0590-\u08ff]/.test(before[before.length - 1] || "");
  return {
    x1: aRtl ? a.right - 1 : a.left + 1, y1: a.top + a.height / 2,
    x2: bRtl ? b.left + 1 : b.right - 1, y2: b.top + b.height / 2,
  };
}"""


def drag_select(page, start: int, end: int) -> None:
    page.locator("#article-text").scroll_into_view_if_needed()
    box = page.evaluate(CHAR_BOX, [start, end])
    page.mouse.move(box["x1"], box["y1"])
    page.mouse.down()
    page.mouse.move((box["x1"] + box["x2"]) / 2, (box["y1"] + box["y2"]) / 2, steps=5)
    page.mouse.move(box["x2"], box["y2"], steps=5)
    page.mouse.up()


def panel_settled(page) -> None:
    """Wait until htmx has finished swapping and settling (the script moves the focus
    into a new panel when it settles), so that the focus a test sets next stays put."""
    page.wait_for_function("() => !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling')")


@pytest.fixture
def seeded(settings):
    settings.DEBUG = True
    call_command("seed_demo", one_annotator=True, stdout=io.StringIO())
    settings.DEBUG = False
    analyst = get_user_model().objects.get(username="analyst2")
    article = Article.objects.get(metadata__source="worked-example.json")
    # The demo article comes curated; reopen it so a second analyst can annotate it.
    Article.objects.filter(pk=article.pk).update(status=Article.Status.OPEN)
    article.refresh_from_db()
    AssignmentFactory(article=article, annotator=analyst)
    return analyst, article


def test_an_analyst_marks_gallants_quote_with_the_mouse(page, log_in, seeded, screenshot_dir):
    analyst, article = seeded
    log_in(analyst)
    page.goto(article.annotate_url)
    drag_select(page, GALLANT["start"], GALLANT["end"])

    # The panel opens with the selection and the suggestions from the text around it.
    page.wait_for_selector("#quote-form #selection-offsets:has-text('177–362')")
    assert page.locator("#selection-text").inner_text() == GALLANT["text"]
    assert page.locator("input[name=speaker_query]").input_value() == "Yoav Gallant"
    assert page.locator("input[name=kind][value=direct]").is_checked()
    assert page.locator("input[name=cue]").input_value() == "said"

    # The target comes pre-filled too (the words of its name in the quote): the label is all it takes.
    row = page.locator("#stance-rows .stance-row").first
    assert row.locator("input.target-combobox").input_value() == "Iran nuclear issue › Iran acquiring nuclear weapons"
    assert row.locator(".suggested-target").is_visible()
    row.get_by_text("Oppose").click()
    page.select_option("select[name='stances-0-intensity']", "3")
    page.click("#save-quote")
    page.wait_for_selector("#quote-panel .message.success")
    # The message names the speaker and the quote's first words, not its code points.
    assert page.locator("#quote-panel .message.success").inner_text() == (
        "Saved Yoav Gallant’s quote «I emphasized to him Israel’s commitment…»."
    )

    quote = Quote.objects.get(annotator=analyst)
    assert (quote.start, quote.end, quote.text) == (GALLANT["start"], GALLANT["end"], GALLANT["text"])
    assert quote.speaker.name == "Yoav Gallant"
    assert quote.speaker_role.title == "Minister of Defense"
    assert [(s.target.slug, s.label.slug, s.intensity) for s in quote.stances.all()] == [
        ("iran-nuclear-weapons", "oppose", 3)
    ]
    # Highlighted in the text and listed, without a page load.
    assert page.locator(f"#article-text .hl[data-q='{quote.pk}']").count() >= 1
    assert page.locator(f"#quote-{quote.pk}").inner_text().startswith("I emphasized")
    # README's picture: a common laptop screen, 1440 × 900.
    page.set_viewport_size({"width": 1440, "height": 900})
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(screenshot_dir / "annotate-page.png"))
    if os.environ.get("UPDATE_SCREENSHOTS"):
        shutil.copy(screenshot_dir / "annotate-page.png", settings.BASE_DIR / "docs" / "annotate-page.png")

    # Edit: open it from the list, change its kind, save.
    page.click(f"#quote-{quote.pk} .quote-link")
    page.wait_for_selector(f"#quote-form[action='/quotes/{quote.pk}/']")
    page.check("input[name=kind][value=indirect]")
    # Re-selecting moves the open quote's span: drop the closing words.
    shorter = GALLANT["text"].index(", while noting") + GALLANT["start"]
    drag_select(page, GALLANT["start"], shorter)
    page.wait_for_selector(f"#selection-offsets:has-text('{GALLANT['start']}–{shorter}')")
    page.click("#save-quote")
    page.wait_for_selector(
        "#quote-panel .message.success:has-text('Saved changes to Yoav Gallant’s quote «I emphasized')"
    )
    quote.refresh_from_db()
    assert (quote.kind, quote.version, quote.end) == ("indirect", 2, shorter)
    assert quote.text == article.text[quote.start : quote.end]

    # Delete, confirming first.
    page.locator(f"#article-text .hl[data-q='{quote.pk}']").first.click()
    page.wait_for_selector("#delete-quote")
    page.click("#delete-quote")
    page.click("#quote-panel button.danger")
    page.wait_for_selector("#quote-panel .message.success:has-text('Deleted Yoav Gallant’s quote «I emphasized')")
    assert not Quote.objects.filter(annotator=analyst).exists()
    assert page.locator(f"#quote-{quote.pk}").count() == 0


def test_the_whole_loop_with_the_keyboard_alone(page, log_in, seeded):
    analyst, article = seeded
    log_in(analyst)
    page.goto(article.annotate_url)

    page.keyboard.press("?")
    assert page.locator("#help").is_visible()
    page.keyboard.press("Escape")

    # No mouse: type the quote's exact words instead of selecting them. The panel opens
    # empty, as after a save; its link brings the blank form.
    page.focus("#new-quote")
    page.keyboard.press("Enter")
    page.wait_for_selector("#quote-form details.exact summary")
    panel_settled(page)
    page.focus("details.exact summary")
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    page.keyboard.type("that was a decision for Israel to make")
    page.focus("input[name=speaker_query]")
    page.keyboard.type("Price")
    page.wait_for_selector("#speaker-results .speaker-option")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    assert page.locator("input[name=speaker_query]").input_value() == "Ned Price"
    page.check("input[name=kind][value=indirect]")
    page.keyboard.press("t")  # a stance row, the focus in its target box
    page.keyboard.type("low profile")
    page.keyboard.press("Enter")
    page.wait_for_selector("#stance-rows input[type=radio]:focus")
    page.keyboard.press("n")  # the "neutral" label's shortcut
    page.keyboard.press("Control+Enter")
    page.wait_for_selector("#quote-panel .message.success")
    quote = Quote.objects.get(annotator=analyst)
    assert (quote.start, quote.end) == (2055, 2093)
    assert quote.stances.get().label.slug == "neutral"

    # The saved panel offers a blank form for the next typed quote (once the script has
    # placed the focus after the save, so the focus set here stays put).
    panel_settled(page)
    page.focus("#new-quote")
    page.keyboard.press("Enter")
    page.wait_for_selector("#quote-form details.exact summary")
    panel_settled(page)

    # j opens the quote, Delete asks, Enter confirms.
    page.focus("#article-text")
    page.keyboard.press("j")
    page.wait_for_selector("#delete-quote")
    panel_settled(page)
    page.focus("#article-text")
    page.keyboard.press("Delete")
    page.wait_for_selector("#quote-panel button.danger:focus")
    page.keyboard.press("Enter")
    page.wait_for_selector(
        "#quote-panel .message.success:has-text('Deleted Ned Price’s quote «that was a decision for Israel')"
    )
    assert not Quote.objects.filter(annotator=analyst).exists()

    # Shift+S asks to submit; Enter submits and the article leaves the queue.
    page.focus("#article-text")
    page.keyboard.press("Shift+S")
    page.wait_for_selector("#quote-panel button.primary:focus")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"^https?://[^/]+/$"))
    assert Assignment.objects.get(article=article, annotator=analyst).status == "submitted"


def selected(page) -> dict | None:
    """The page's selection in the article text, in code points (as the page reads it)."""
    return page.evaluate("() => DemarcheText.selectionIn(document.getElementById('article-text'))")


def test_a_quote_selected_with_the_keys_alone_is_saved_with_its_offsets(page, log_in, seeded, screenshot_dir):
    analyst, article = seeded
    log_in(analyst)
    page.goto(article.annotate_url)
    start = article.text.index("that was a decision for Israel to make")
    end = start + len("that was a decision for Israel to make")

    # Search for the quote's first words, leave the box, c: the match is selected.
    page.keyboard.press("/")
    page.keyboard.type("that was a decision")
    page.keyboard.press("Escape")
    page.keyboard.press("c")
    assert page.locator("#article-text").evaluate("el => el === document.activeElement")
    assert page.locator(".text-caret").is_visible()
    assert selected(page) == {"start": start, "end": start + 19, "text": "that was a decision"}
    # Shift+Ctrl+→ extends word by word, Shift+← by a character; each time read out.
    for _ in range(4):
        page.keyboard.press("Shift+Control+ArrowRight")
    page.keyboard.press("Shift+ArrowRight")
    assert selected(page)["text"] == "that was a decision for Israel to make."
    page.keyboard.press("Shift+ArrowLeft")
    assert selected(page) == {"start": start, "end": end, "text": "that was a decision for Israel to make"}
    page.wait_for_function(
        "() => document.getElementById('announcer').textContent === 'Selected: that was a decision for Israel to make'"
    )
    for width, height in [(390, 844), (1440, 900)]:
        page.set_viewport_size({"width": width, "height": height})
        page.wait_for_timeout(100)  # the caret is redrawn on resize
        page.evaluate("() => scrollBy(0, getSelection().getRangeAt(0).getBoundingClientRect().top - innerHeight / 2)")
        page.wait_for_timeout(100)
        assert page.evaluate("() => document.documentElement.scrollWidth") <= width
        page.screenshot(path=str(screenshot_dir / f"annotate-keyboard-selection-{width}.png"))

    # Enter opens the quote panel for it, as a mouse selection does (speaker pre-filled).
    page.keyboard.press("Enter")
    page.wait_for_selector(f"#quote-form #selection-offsets:has-text('{start}–{end}')")
    assert page.locator(".text-caret").is_hidden()
    assert page.locator("input[name=speaker_query]").input_value() == "Ned Price"
    panel_settled(page)
    page.keyboard.press("Control+Enter")
    page.wait_for_selector("#quote-panel .message.success")
    quote = Quote.objects.get(annotator=analyst)
    assert (quote.start, quote.end, quote.text) == (start, end, "that was a decision for Israel to make")
    assert quote.speaker.name == "Ned Price"


def test_the_caret_moves_by_characters_words_and_lines_and_esc_leaves_it(page, log_in):
    analyst = UserFactory(role="analyst")
    text = (
        "👍🏽 Le ministre 😀 a dit: «\u00a0nous ne céderons pas 🇮🇱\u00a0» hier."
        "\n\nIl a dit que c’était “dead\u0301” hier."
    )
    article = ArticleFactory(text=text, language="fr")
    AssignmentFactory(article=article, annotator=analyst)
    stored = Article.objects.get(pk=article.pk).text
    log_in(analyst)
    page.goto(article.annotate_url)
    page.focus("#article-text")
    page.keyboard.press("c")  # no search, no quote: the first paragraph in view
    page.keyboard.press("w")  # past the emoji (one character of two code points) to "Le"
    page.keyboard.press("v")  # from here, movements select
    for key in ["e", "e", "e"]:  # "Le", "ministre", past 😀, "a"
        page.keyboard.press(key)
    start = stored.index("Le")
    assert selected(page) == {"start": start, "end": stored.index(" dit"), "text": "Le ministre 😀 a"}
    page.keyboard.press("v")  # cleared
    assert selected(page) is None
    # Down a line skips the empty one to the next paragraph; End takes the caret to its end.
    page.keyboard.press("ArrowDown")
    page.keyboard.press("End")
    page.keyboard.press("Shift+Home")
    assert selected(page)["text"] == stored.split("\n\n")[1]
    # The search's match, selected by c, grows by whole characters as the eye sees them:
    # a d and its combining accent are one.
    page.keyboard.press("/")
    page.keyboard.type("dead")
    page.keyboard.press("Escape")
    page.keyboard.press("c")
    page.keyboard.press("Shift+ArrowRight")
    assert selected(page)["text"] == "dead\u0301"
    page.keyboard.press("Shift+ArrowRight")
    page.keyboard.press("Shift+ArrowLeft")
    assert selected(page) == {"start": stored.index("dead"), "end": stored.index("dead") + 5, "text": "dead\u0301"}
    page.keyboard.press("Escape")  # the caret
    page.keyboard.press("Escape")  # the search
    page.keyboard.press("Escape")
    assert selected(page) is None
    assert page.locator(".text-caret").is_hidden()
    # Esc left the caret, not the page: the panel is still blank, the focus in the text.
    assert page.locator("#article-text").evaluate("el => el === document.activeElement")
    page.keyboard.press("c")
    page.keyboard.press("Shift+ArrowRight")
    assert selected(page)["text"] == "👍🏽"
    page.keyboard.press("Enter")
    page.wait_for_selector("#quote-form #selection-offsets:has-text('0–2')")


@pytest.mark.parametrize(
    ("text", "exact"),
    [
        ("👍🏽 Le ministre 😀 a dit: «\u00a0nous ne céderons pas 🇮🇱\u00a0» hier.", "nous ne céderons pas 🇮🇱"),
        ("השר אמר: “אנחנו לא נאפשר לאיראן 😀” והוסיף.\n\nقال الوزير إن 𝔄 الاتفاق مات.", "قال الوزير إن 𝔄 الاتفاق"),
        (
            "Cafe\u0301 talks \U0001f600 resumed.\n\nHe said the talks were “dead\u0301” today.",
            "the talks were “dead\u0301”",
        ),
    ],
)
def test_a_selection_in_any_script_is_stored_with_code_point_offsets(page, log_in, text, exact):
    analyst = UserFactory(role="analyst")
    article = ArticleFactory(text=text, language="und")
    AssignmentFactory(article=article, annotator=analyst)
    stored = Article.objects.get(pk=article.pk).text
    start = stored.index(exact if exact in stored else exact.replace("e\u0301", "é"))
    end = start + len(exact if exact in stored else exact.replace("e\u0301", "é"))
    log_in(analyst)
    page.goto(article.annotate_url)
    drag_select(page, start, end)
    page.wait_for_selector(f"#quote-form #selection-offsets:has-text('{start}–{end}')")
    page.click("#save-quote")
    page.wait_for_selector("#quote-panel .message.success")
    quote = Quote.objects.get()
    assert (quote.start, quote.end) == (start, end)
    assert quote.text == stored[start:end]


def test_a_selection_across_paragraphs_round_trips(page, log_in, seeded):
    analyst, article = seeded
    start = article.text.index("US officials")
    end = article.text.index("State Department") + len("State Department")
    log_in(analyst)
    page.goto(article.annotate_url)
    drag_select(page, start, end)
    page.wait_for_selector(f"#quote-form #selection-offsets:has-text('{start}–{end}')")
    page.click("#save-quote")
    page.wait_for_selector("#quote-panel .message.success")
    quote = Quote.objects.get(annotator=analyst)
    assert "\n" in quote.text and quote.text == article.text[start:end]


def open_quote_on(page, quote: dict) -> None:
    """Select one of the worked example's quotes with the mouse; the panel opens on it."""
    # Bring the passage a third of the way down the screen first: the mouse can't reach past it.
    box = page.evaluate(CHAR_BOX, [quote["start"], quote["end"]])
    page.evaluate("(y) => window.scrollBy(0, y - innerHeight / 3)", box["y1"])
    drag_select(page, quote["start"], quote["end"])
    page.wait_for_selector(f"#quote-form #selection-offsets:has-text('{quote['start']}–{quote['end']}')")
    panel_settled(page)


def test_label_keys_label_the_stance_after_picking_its_target_in_the_combobox(page, log_in, seeded):
    analyst, article = seeded
    log_in(analyst)
    page.goto(article.annotate_url)
    open_quote_on(page, GALLANT)
    # The panel suggests a target from the quote's words; this test picks its own.
    suggested = page.locator("#stance-rows .stance-row[data-suggested]")
    assert suggested.count() == 1
    suggested.locator(".remove-stance").click()
    assert page.locator("#stance-rows .stance-row").count() == 0  # none until asked for

    page.click("#add-stance")
    combo = page.locator("#stance-rows [role=combobox]")
    assert combo.evaluate("el => el === document.activeElement")
    assert combo.get_attribute("aria-expanded") == "true"
    listbox = page.locator("#" + combo.get_attribute("aria-controls"))
    assert listbox.get_attribute("role") == "listbox"
    # Filtered by the path as well as the name: "russia ukraine" finds the children of "Russia–Ukraine war".
    page.keyboard.type("russia ukraine support")
    assert listbox.locator("[role=option]").all_inner_texts() == [
        "Russia–Ukraine war › Supporting Ukraine against Russia's invasion"
    ]
    page.keyboard.press("ArrowDown")
    active = combo.get_attribute("aria-activedescendant")
    assert page.locator(f"#{active}").get_attribute("aria-selected") == "true"
    page.keyboard.press("Enter")

    # The focus went to the stance's label; "s" labels it, it doesn't re-pick the target.
    page.wait_for_selector("#stance-rows input[type=radio]:focus")
    page.keyboard.press("s")
    assert combo.input_value() == "Russia–Ukraine war › Supporting Ukraine against Russia's invasion"
    assert combo.get_attribute("aria-expanded") == "false"
    # Back in the (closed) target box, a label key still labels rather than typing.
    combo.focus()
    page.keyboard.press("o")
    assert combo.input_value() == "Russia–Ukraine war › Supporting Ukraine against Russia's invasion"
    # Elsewhere in the panel (the kind radios), the label keys act on the current row.
    page.focus("input[name=kind][value=indirect]")
    page.keyboard.press("u")

    # A second stance takes the keys while the focus is in it; the first keeps its label.
    page.keyboard.press("t")
    page.keyboard.type("acquiring")
    page.keyboard.press("Enter")
    page.keyboard.press("o")
    second = page.locator("#stance-rows .stance-row").nth(1)
    assert "current" in second.get_attribute("class")
    # Back in the first row's intensity select, a label key labels that row, not the select.
    intensity = page.locator("#stance-rows .stance-row").first.locator("select[name$='-intensity']")
    intensity.focus()
    page.keyboard.press("s")
    assert intensity.input_value() == ""
    page.keyboard.press("Control+Enter")
    page.wait_for_selector("#quote-panel .message.success")

    quote = Quote.objects.get(annotator=analyst)
    assert sorted((s.target.slug, s.label.slug) for s in quote.stances.all()) == [
        ("iran-nuclear-weapons", "oppose"),
        ("support-for-ukraine", "support"),
    ]


def test_esc_closes_the_list_first_then_the_panel(page, log_in, seeded):
    analyst, article = seeded
    log_in(analyst)
    page.goto(article.annotate_url)
    open_quote_on(page, GALLANT)
    page.click("#add-stance")
    combo = page.locator("#stance-rows [role=combobox]").last
    page.keyboard.type("iran")
    assert combo.get_attribute("aria-expanded") == "true"

    page.keyboard.press("Escape")
    assert combo.get_attribute("aria-expanded") == "false"
    assert page.locator("#quote-form").is_visible()  # only the list closed

    # The open quote has changes: Esc asks before discarding them.
    page.once("dialog", lambda dialog: dialog.accept())
    page.keyboard.press("Escape")
    page.wait_for_selector("#quote-panel #new-quote")
    assert page.locator("#quote-form").count() == 0
    page.wait_for_function("() => document.activeElement.id === 'article-text'")
    assert not Quote.objects.filter(annotator=analyst).exists()


def test_editing_labels_the_real_stance_and_a_refused_save_says_why_where_the_focus_is(page, log_in, seeded):
    analyst, article = seeded
    log_in(analyst)
    page.goto(article.annotate_url)
    open_quote_on(page, GALLANT)
    page.click("#add-stance")
    page.keyboard.type("low profile")
    page.keyboard.press("Enter")
    page.keyboard.press("n")
    page.keyboard.press("Control+Enter")
    page.wait_for_selector("#quote-panel .message.success")
    quote = Quote.objects.get(annotator=analyst)

    # Reopen it: one row, its own; a label key from the text's side of the panel relabels it.
    page.click(f"#quote-{quote.pk} .quote-link")
    page.wait_for_selector(f"#quote-form[action='/quotes/{quote.pk}/']")
    panel_settled(page)
    assert page.locator("#stance-rows .stance-row").count() == 1  # its own; no blank row
    assert page.locator("input[name=stances-TOTAL_FORMS]").input_value() == "1"
    page.focus("input[name=kind][value=direct]")
    page.keyboard.press("o")
    page.keyboard.press("Control+Enter")
    page.wait_for_selector("#quote-panel .message.success:has-text('Saved changes')")
    assert [(s.target.slug, s.label.slug) for s in quote.stances.all()] == [
        ("israel-low-profile-russia-ukraine", "oppose")
    ]

    # A stance added and labelled but given no target: refused, and the refusal is in view
    # and focused, not off-screen; the focus reads it out, once (test_announcements.py).
    page.click(f"#quote-{quote.pk} .quote-link")
    page.wait_for_selector(f"#quote-form[action='/quotes/{quote.pk}/']")
    panel_settled(page)
    page.click("#add-stance")
    page.keyboard.press("Escape")  # close the list
    page.locator("#stance-rows .stance-row").nth(1).get_by_text("Support", exact=True).click()
    page.keyboard.press("Control+Enter")
    page.wait_for_selector("#quote-panel .errorlist")
    panel_settled(page)
    focused = page.evaluate(
        "() => { const el = document.activeElement; const r = el.getBoundingClientRect();"
        " return {cls: el.className, text: el.textContent, inView: r.top >= 0 && r.bottom <= innerHeight}; }"
    )
    assert focused["cls"] == "errorlist" and "Choose a target for this stance" in focused["text"]
    assert focused["inView"]
    assert "Choose a target" not in page.locator("#announcer").text_content()
    quote.refresh_from_db()
    assert quote.version == 2
    assert [(s.target.slug, s.label.slug) for s in quote.stances.all()] == [
        ("israel-low-profile-russia-ukraine", "oppose")
    ]


def test_submitting_with_an_incomplete_quote_asks_twice(page, log_in, seeded, screenshot_dir):
    analyst, article = seeded
    log_in(analyst)
    page.goto(article.annotate_url)
    open_quote_on(page, GALLANT)
    page.click("#save-quote")  # a speaker (suggested) but no stance
    page.wait_for_selector("#quote-panel .message.success")
    quote = Quote.objects.get(annotator=analyst)
    item = page.locator(f"#quote-{quote.pk}")
    assert "incomplete" in item.get_attribute("class")
    assert "Incomplete: no stance" in item.inner_text()
    assert page.locator(f"#article-text .hl.incomplete[data-q='{quote.pk}']").count() >= 1

    page.focus("#article-text")
    page.keyboard.press("Shift+S")
    page.wait_for_selector("#quote-panel .incomplete-list")
    assert page.locator(f"#quote-panel .incomplete-list a[href='/quotes/{quote.pk}/']").is_visible()
    # The script focuses Submit once htmx has settled the panel; Enter before that presses nothing.
    page.wait_for_function("() => document.activeElement?.matches('#quote-panel button.primary')")
    page.keyboard.press("Enter")  # the autofocused Submit, without the confirmation
    page.wait_for_selector("#quote-panel .incomplete-list.message.error")
    page.screenshot(path=str(screenshot_dir / "submit-incomplete.png"))
    assert Assignment.objects.get(article=article, annotator=analyst).status == "in_progress"

    page.check("input[name=confirm_incomplete]")
    page.click("#quote-panel button.primary")
    page.wait_for_url(re.compile(r"^https?://[^/]+/$"))
    assert Assignment.objects.get(article=article, annotator=analyst).status == "submitted"


@pytest.mark.parametrize("width", [1440, 390])
def test_screenshot_the_combobox_open_beside_an_incomplete_quote(page, log_in, seeded, screenshot_dir, width):
    analyst, article = seeded
    page.set_viewport_size({"width": width, "height": 900})
    log_in(analyst)
    page.goto(article.annotate_url)
    open_quote_on(page, GALLANT)
    page.click("#save-quote")
    page.wait_for_selector("#quote-panel .message.success")
    panel_settled(page)  # the text and list are swapped too: measure the next passage after they settle
    open_quote_on(page, EXAMPLE["quotes"][1])
    page.click("#add-stance")
    page.keyboard.type("iran")
    page.keyboard.press("ArrowDown")
    page.evaluate("() => document.querySelector('#stance-rows [role=combobox]').scrollIntoView({block: 'start'})")
    if width >= 1000:  # the side panel scrolls on its own: the text from the top, with the incomplete quote
        page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(screenshot_dir / f"annotate-combobox-{width}.png"))


IN_VIEW = """(selector) => {
  // On screen, and the element itself is what a click at its centre reaches (not covered).
  const el = document.querySelector(selector);
  const r = el.getBoundingClientRect();
  const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
  return r.top >= 0 && r.bottom <= innerHeight && r.left >= 0 && r.right <= innerWidth && !!hit && el.contains(hit);
}"""


def test_save_stays_in_view_and_a_new_speaker_is_added_in_a_dialog(page, log_in, seeded, screenshot_dir):
    analyst, article = seeded
    page.set_viewport_size({"width": 1366, "height": 768})
    log_in(analyst)
    page.goto(article.annotate_url)
    open_quote_on(page, GALLANT)
    # A tall panel: three stances.
    for words in ["acquiring nuclear", "low profile", "russia ukraine support"]:
        page.click("#add-stance")
        page.keyboard.type(words)
        page.keyboard.press("Enter")
        page.keyboard.press("o")
    assert page.evaluate("() => document.getElementById('quote-panel').scrollHeight > innerHeight")
    assert page.evaluate(IN_VIEW, "#save-quote")
    assert page.evaluate(IN_VIEW, "#quote-panel [data-cancel]")
    # The text scrolls; the panel, its Save and the list's heading stay.
    for y in [0, 900, 3000]:
        page.evaluate("(y) => window.scrollTo(0, y)", y)
        assert page.evaluate(IN_VIEW, "#save-quote"), y
        assert page.evaluate(IN_VIEW, "#quote-list-title"), y
    page.screenshot(path=str(screenshot_dir / "annotate-1366-scrolled.png"))

    # A new speaker: a dialog over the quote, started from the typed name.
    page.fill("input[name=speaker_query]", "Avi Dichter")
    page.click("#new-speaker-open")
    dialog = page.locator("dialog#new-speaker")
    assert dialog.evaluate("d => d.open")
    assert page.locator("#sp-name").input_value() == "Avi Dichter"
    page.screenshot(path=str(screenshot_dir / "annotate-1366-new-speaker.png"))
    page.fill("#sp-role", "Minister of Agriculture")
    page.locator("#new-speaker button[type=submit]:has-text('Add speaker')").click()
    page.wait_for_function("() => !document.getElementById('new-speaker').open")
    assert page.locator("#quote-form input[name=speaker_query]").input_value() == "Avi Dichter"
    assert page.locator("#speaker-created").count() == 0  # no stale message left behind
    # Opened again: a blank form, no message from last time.
    page.fill("input[name=speaker_query]", "")
    page.click("#new-speaker-open")
    assert page.locator("#sp-name").input_value() == ""
    assert page.locator("#new-speaker .message").count() == 0
    page.keyboard.press("Escape")
    assert not dialog.evaluate("d => d.open")
    assert page.locator("#quote-form").is_visible()  # Esc closed the dialog, not the quote
    page.fill("input[name=speaker_query]", "Avi Dichter")
    page.wait_for_selector("#speaker-results .speaker-option")
    page.click("#speaker-results .speaker-option")

    page.click("#save-quote")
    page.wait_for_selector("#quote-panel .message.success:has-text('Saved Avi Dichter’s quote')")
    quote = Quote.objects.get(annotator=analyst)
    assert quote.speaker.name == "Avi Dichter"
    assert quote.speaker.roles.get().title == "Minister of Agriculture"
    assert sorted(s.target.slug for s in quote.stances.all()) == [
        "iran-nuclear-weapons",
        "israel-low-profile-russia-ukraine",
        "support-for-ukraine",
    ]
    assert {s.label.slug for s in quote.stances.all()} == {"oppose"}


MARKED = """(name) => {
  const mark = CSS.highlights.get(name);
  return mark ? Array.from(mark).map((range) => range.toString()) : [];
}"""


def test_the_dragged_selection_stays_marked_while_its_panel_is_open(page, log_in, seeded):
    analyst, article = seeded
    log_in(analyst)
    page.goto(article.annotate_url)
    price = EXAMPLE["quotes"][2]
    # A little more than the quote: a space and the closing mark, to trim.
    open_quote_on(page, {**price, "end": price["end"] + 1})
    selected = article.text[price["start"] : price["end"] + 1]
    # The focus is in the panel; the browser's own selection is gone, the mark stays.
    page.focus("input[name=speaker_query]")
    assert page.evaluate("() => String(window.getSelection())") == ""
    assert page.evaluate(MARKED, "pending-quote") == [selected]
    page.click("[data-nudge=trim]")  # the mark follows the adjusted span
    trimmed = page.locator("#quote-form input[name=text]").input_value()
    assert page.evaluate(MARKED, "pending-quote") == [trimmed]
    # Closed with Esc (it asks: the span was changed): the mark goes.
    page.once("dialog", lambda dialog: dialog.accept())
    page.keyboard.press("Escape")
    page.wait_for_selector("#quote-panel #new-quote")
    # The mark goes once htmx has settled the swapped panel (htmx:afterSettle), a moment after the swap.
    page.wait_for_function("() => !CSS.highlights.has('pending-quote')")
    assert page.evaluate(MARKED, "pending-quote") == []

    # Selected again and saved: marked until the save, then drawn as a quote instead.
    open_quote_on(page, price)
    assert page.evaluate(MARKED, "pending-quote") == [price["text"]]
    page.click("#save-quote")
    page.wait_for_selector("#quote-panel .message.success")
    panel_settled(page)
    assert page.evaluate(MARKED, "pending-quote") == []
    quote = Quote.objects.get(annotator=analyst)
    assert (quote.start, quote.end, quote.text) == (price["start"], price["end"], price["text"])
    assert page.locator(f"#article-text .hl[data-q='{quote.pk}']").count() >= 1


def test_progress_in_the_queue_the_article_and_the_open_quote(page, log_in, seeded):
    analyst, article = seeded
    older = [AssignmentFactory(annotator=analyst) for _ in range(2)]
    newer = AssignmentFactory(annotator=analyst)
    mine = Assignment.objects.get(article=article, annotator=analyst)
    for days, assignment in [(3, older[0]), (2, older[1]), (1, mine)]:
        Assignment.objects.filter(pk=assignment.pk).update(created_at=newer.created_at - datetime.timedelta(days=days))
    Assignment.objects.filter(pk=older[0].pk).update(status=Assignment.Status.SUBMITTED)
    log_in(analyst)

    page.goto("/")
    assert (
        page.locator("#queue-progress-text").inner_text().startswith("1 of 4 articles assigned to you submitted (25%)")
    )
    page.goto(article.annotate_url)
    assert page.locator("#queue-position").inner_text() == "Article 3 of 4 in your queue · 1 of 4 submitted (25%)"
    assert page.locator("#quote-progress").count() == 0  # no quotes yet

    # One complete quote (speaker and stance), one without a stance.
    open_quote_on(page, GALLANT)
    page.click("#add-stance")
    page.keyboard.type("acquiring")
    page.keyboard.press("Enter")
    page.keyboard.press("o")
    page.keyboard.press("Control+Enter")
    page.wait_for_selector("#quote-panel .message.success")
    assert page.locator("#quote-progress-text").inner_text() == (
        "1 of 1 quotes complete — a speaker and a stance each (100%)"
    )
    price = EXAMPLE["quotes"][2]
    open_quote_on(page, price)
    page.click("#save-quote")
    page.wait_for_selector("#quote-panel .message.success:has-text('Ned Price')")
    assert page.locator("#quote-progress-text").inner_text() == (
        "1 of 2 quotes complete — a speaker and a stance each (50%)"
    )
    assert page.locator("#quote-progress progress").evaluate("p => [p.value, p.max]") == [1, 2]

    # The open quote's place among them, in text order (Gallant's comes first).
    saved = {q.speaker.name: q for q in Quote.objects.filter(annotator=analyst).select_related("speaker")}
    assert saved["Yoav Gallant"].stances.get().label.slug == "oppose"
    assert not saved["Ned Price"].stances.exists()
    page.click(f"#quote-{saved['Ned Price'].pk} .quote-link")
    page.wait_for_selector("#quote-position:has-text('quote 2 of 2')")
    page.focus("#article-text")
    page.keyboard.press("k")
    page.wait_for_selector("#quote-position:has-text('quote 1 of 2')")
    assert page.locator("#quote-form").get_attribute("action") == f"/quotes/{saved['Yoav Gallant'].pk}/"


def quote_of(article, analyst, start, end, speaker=None, stances=(), **spans):
    quote = Quote.objects.create(
        article=article,
        annotator=analyst,
        start=start,
        end=end,
        text=article.text[start:end],
        speaker=Speaker.objects.get(name=speaker) if speaker else None,
        **{f"{name}_text": article.text[s:e] for name, (s, e) in spans.items()},
        **{f"{name}_start": s for name, (s, e) in spans.items()},
        **{f"{name}_end": e for name, (s, e) in spans.items()},
    )
    for target, label in stances:
        Stance.objects.create(
            quote=quote, target=Target.objects.get(slug=target), label=StanceLabel.objects.get(slug=label)
        )
    return quote


def test_the_text_shows_what_is_stored_nesting_stances_mention_and_cue(page, log_in, seeded, screenshot_dir):
    analyst, article = seeded
    mention, cue = GALLANT["source_mention"], GALLANT["cue_span"]
    gallant = quote_of(
        article,
        analyst,
        GALLANT["start"],
        GALLANT["end"],
        "Yoav Gallant",
        [("iran-nuclear-weapons", "oppose"), ("international-action-iran", "support")],
        mention=(mention["start"], mention["end"]),
        cue=(cue["start"], cue["end"]),
    )
    biden = EXAMPLE["quotes"][1]
    outer = quote_of(article, analyst, biden["start"] - 20, biden["end"], stances=[("jcpoa-return", "oppose")])
    inner = quote_of(article, analyst, biden["start"], biden["end"] - 2, "Joe Biden", [("jcpoa-return", "neutral")])
    crossing = quote_of(article, analyst, biden["start"] + 5, biden["end"] + 12, stances=[("jcpoa-return", "support")])
    log_in(analyst)
    page.goto(article.annotate_url)

    # The legend: every label with its key, and the marks, in view wherever the text is scrolled.
    legend = page.locator("#legend")
    for name, key in [("Support", "s"), ("Oppose", "o"), ("Neutral", "n"), ("Unclear", "u")]:
        assert legend.locator(f"li:has-text('{name}') kbd").inner_text() == key
    page.evaluate("window.scrollTo(0, 1500)")
    box = legend.bounding_box()
    assert box["y"] >= 0 and box["y"] + box["height"] <= 900

    # Nested and crossing quotes: each keeps its own underline lane from start to end.
    def lanes(quote):
        classes = page.locator(f"#article-text .hl[data-q~='{quote.pk}']").evaluate_all(
            "els => els.map((el) => el.className)"
        )
        slug = quote.stances.get().label.slug
        return {re.search(rf"\bu(\d)-{slug}\b", c).group(1) for c in classes}

    assert lanes(outer) == {"1"} and lanes(inner) == {"2"} and lanes(crossing) == {"3"}
    deepest = page.locator(f"#article-text .hl[data-q='{outer.pk} {inner.pk} {crossing.pk}']")
    colours = deepest.evaluate(
        "el => ['--u1', '--u2', '--u3'].map((v) => getComputedStyle(el).getPropertyValue(v).trim())"
    )
    assert len(set(colours)) == 3 and "" not in colours  # three lines, three labels' colours
    # Gallant's quote has two stances: a dot for each where it ends.
    dots = page.locator(f"#article-text .hl[data-q='{gallant.pk}'] .stance-dots .dot")
    assert sorted(dots.evaluate_all("els => els.map((el) => el.title)")) == [
        "Oppose: Iran acquiring nuclear weapons",
        "Support: International action on Iran",
    ]

    # Hovering a quote marks its stored source mention and cue; so does opening it.
    page.locator(f"#article-text .hl[data-q='{gallant.pk}']").first.hover()
    assert page.evaluate(MARKED, "mention") == ["Gallant"]
    assert page.evaluate(MARKED, "cue") == ["said"]
    page.mouse.move(5, 5)
    assert page.evaluate(MARKED, "mention") == []
    page.locator(f"#quote-{gallant.pk} .quote-link").focus()
    assert page.evaluate(MARKED, "mention") == ["Gallant"]
    page.click(f"#quote-{gallant.pk} .quote-link")
    page.wait_for_selector(f"#quote-form[action='/quotes/{gallant.pk}/']")
    panel_settled(page)
    page.mouse.move(5, 5)
    assert page.evaluate(MARKED, "mention") == ["Gallant"]
    assert page.evaluate(MARKED, "cue") == ["said"]
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(screenshot_dir / "annotate-stored-marks.png"))
    # What the marks show is what is stored.
    gallant.refresh_from_db()
    assert (gallant.mention_text, gallant.cue_text) == ("Gallant", "said")


CURRENT_MATCH = """() => {
  const mark = CSS.highlights.get("search-current");
  if (!mark) return null;
  const range = Array.from(mark)[0];
  const box = range.getBoundingClientRect();
  return {text: range.toString(), inView: box.top >= 0 && box.bottom <= innerHeight};
}"""


def test_search_in_the_text_from_match_to_match_and_j_k_still_move_between_quotes(page, log_in, seeded):
    analyst, article = seeded
    gallant = quote_of(article, analyst, GALLANT["start"], GALLANT["end"], "Yoav Gallant")
    price = EXAMPLE["quotes"][2]
    second = quote_of(article, analyst, price["start"], price["end"], "Ned Price")
    total = len(re.findall("ukraine", article.text, re.IGNORECASE))
    assert total >= 3
    starts = [m.start() for m in re.finditer("ukraine", article.text, re.IGNORECASE)]
    log_in(analyst)
    page.goto(article.annotate_url)

    page.focus("#article-text")
    page.keyboard.press("/")
    assert page.evaluate("() => document.activeElement.id") == "text-search"
    page.keyboard.type("ukraine")
    count = page.locator("#search-count")
    assert count.inner_text() == f"1 of {total}"
    assert len(page.evaluate(MARKED, "search")) == total
    assert page.evaluate(CURRENT_MATCH) == {"text": article.text[starts[0] : starts[0] + 7], "inView": True}
    page.keyboard.press("Enter")
    assert count.inner_text() == f"2 of {total}"
    page.keyboard.press("Enter")
    assert count.inner_text() == f"3 of {total}"
    assert page.evaluate(CURRENT_MATCH)["inView"]  # scrolled to it
    page.keyboard.press("Shift+Enter")
    assert count.inner_text() == f"2 of {total}"

    # Esc leaves the box for the text; n / N go on from there.
    page.keyboard.press("Escape")
    assert page.evaluate("() => document.activeElement.id") == "article-text"
    page.keyboard.press("n")
    assert count.inner_text() == f"3 of {total}"
    page.keyboard.press("Shift+N")
    page.keyboard.press("Shift+N")
    assert count.inner_text() == f"1 of {total}"
    page.keyboard.press("Shift+N")  # round to the last
    assert count.inner_text() == f"{total} of {total}"
    assert page.evaluate(CURRENT_MATCH)["inView"]

    # j / k still open the quotes, in text order.
    page.keyboard.press("j")
    page.wait_for_selector(f"#quote-form[action='/quotes/{gallant.pk}/']")
    panel_settled(page)
    page.focus("#article-text")
    page.keyboard.press("j")
    page.wait_for_selector(f"#quote-form[action='/quotes/{second.pk}/']")
    panel_settled(page)
    # The next Esc clears the search; the one after closes the panel.
    page.focus("#article-text")
    page.keyboard.press("Escape")
    assert page.evaluate(MARKED, "search") == [] and count.inner_text() == ""
    assert page.locator("#quote-form").is_visible()
    page.keyboard.press("Escape")
    page.wait_for_selector("#quote-panel #new-quote")
    # Searching saved nothing and changed nothing.
    assert [(q.pk, q.version) for q in Quote.objects.filter(annotator=analyst).order_by("start")] == [
        (gallant.pk, 1),
        (second.pk, 1),
    ]


@pytest.mark.parametrize(("width", "height"), [(1440, 900), (390, 844)])
def test_screenshot_overlapping_quotes_the_legend_and_an_open_panel(
    page, log_in, seeded, screenshot_dir, width, height
):
    analyst, article = seeded
    mention, cue = GALLANT["source_mention"], GALLANT["cue_span"]
    quote_of(
        article,
        analyst,
        GALLANT["start"],
        GALLANT["end"],
        "Yoav Gallant",
        [("iran-nuclear-weapons", "oppose"), ("international-action-iran", "support")],
        mention=(mention["start"], mention["end"]),
        cue=(cue["start"], cue["end"]),
    )
    biden = EXAMPLE["quotes"][1]
    quote_of(article, analyst, biden["start"] - 20, biden["end"], "Joe Biden", [("jcpoa-return", "oppose")])
    quote_of(article, analyst, biden["start"], biden["end"] - 2, "Joe Biden", [("jcpoa-return", "neutral")])
    page.set_viewport_size({"width": width, "height": height})
    log_in(analyst)
    page.goto(article.annotate_url)
    # A new quote being made over the overlapping ones: its selection marked, the panel open.
    open_quote_on(page, {"start": biden["start"] + 5, "end": biden["end"] + 12})
    page.click("#add-stance")
    page.keyboard.type("jcpoa")
    page.keyboard.press("Enter")
    page.keyboard.press("s")
    if width >= 1000:
        page.evaluate("window.scrollTo(0, 0)")
        page.locator("#article-text .hl.lanes-2").first.evaluate("el => el.scrollIntoView({block: 'center'})")
        assert page.locator("#save-quote").is_visible()
    else:
        assert page.evaluate("() => document.scrollingElement.scrollWidth") <= width
        page.locator("#article-text .hl.lanes-2").first.evaluate("el => el.scrollIntoView({block: 'center'})")
    legend = page.locator("#legend").bounding_box()
    assert legend["y"] >= 0 and legend["y"] + legend["height"] <= height  # in view over the text
    page.screenshot(path=str(screenshot_dir / f"annotate-{width}.png"))
    if width < 1000:
        page.locator("#quote-panel").scroll_into_view_if_needed()
        page.screenshot(path=str(screenshot_dir / f"annotate-{width}-panel.png"))
    page.click("#save-quote")
    page.wait_for_selector("#quote-panel .message.success")
    saved = Quote.objects.filter(annotator=analyst).order_by("-pk").first()
    assert (saved.start, saved.end) == (biden["start"] + 5, biden["end"] + 12)
    assert saved.stances.get().label.slug == "support"


def test_an_analyst_proposes_a_missing_target_from_the_target_box(page, log_in, seeded, screenshot_dir):
    analyst, article = seeded
    parent = Target.objects.get(slug="iran-nuclear-weapons").parent or Target.objects.get(slug="iran-nuclear-weapons")
    log_in(analyst)
    page.goto(article.annotate_url)
    drag_select(page, GALLANT["start"], GALLANT["end"])
    page.wait_for_selector("#quote-form #selection-offsets:has-text('177–362')")
    panel_settled(page)

    page.click("#add-stance")
    page.keyboard.type("Military cooperation")
    page.wait_for_selector("#stance-rows [role=option].propose")  # no target matches: propose it
    page.locator("#stance-rows [role=option].propose").click()
    page.wait_for_selector("#propose-target[open] select[name=parent]")
    assert page.locator("#propose-target input[name=name]").input_value() == "Military cooperation"
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=str(screenshot_dir / "propose-target-390.png"))
    page.set_viewport_size({"width": 1440, "height": 900})
    page.screenshot(path=str(screenshot_dir / "propose-target.png"))
    page.select_option("#propose-target select[name=parent]", str(parent.pk))
    page.click("#propose-target button.primary")
    page.wait_for_selector("#propose-target", state="hidden")
    box = page.locator("#stance-rows input.target-combobox").last
    assert box.input_value().endswith("Military cooperation (proposed)")
    page.wait_for_selector("#stance-rows input[type=radio]:focus")
    page.keyboard.press("s")  # Support's shortcut, straight after the dialog
    page.keyboard.press("Control+Enter")
    page.wait_for_selector("#quote-panel .message.success")

    proposal = Target.objects.get(name="Military cooperation")
    assert (proposal.status, proposal.parent, proposal.proposed_by) == ("proposed", parent, analyst)
    quote = Quote.objects.get(annotator=analyst)
    # The suggested target's row, left without a label, was not saved.
    assert [(s.target_id, s.label.slug) for s in quote.stances.all()] == [(proposal.pk, "support")]

    # The next stance row offers it too, marked as proposed.
    page.locator(f"#quote-{quote.pk} .quote-link").click()
    page.wait_for_selector(f"#quote-form[action='/quotes/{quote.pk}/']")
    panel_settled(page)
    page.click("#add-stance")
    page.keyboard.type("military coop")
    page.wait_for_selector("#stance-rows [role=option]:has-text('Military cooperation (proposed)')")
