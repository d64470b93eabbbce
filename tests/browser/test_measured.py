"""Measured: what annotating the demo article's eight quotes costs, mouse-first and keyboard-only.

Every click and every key an analyst would press is made through a counter, so the
figures printed (and quoted in README's "The annotate page") are the ones the test
performed. A mouse drag over the quote counts as one selection. Typing a string
(a surname, a few words of a target, a quote's exact words) counts as one action;
its keystrokes are counted apart. Scrolling the article isn't counted. Each quote
gets its span, its speaker, its kind and its first stance (target and label), and
the test reads them back from the database.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from annotations.models import Quote, StanceLabel, Target
from tests.browser.test_annotate import EXAMPLE, open_quote_on, panel_settled, seeded  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

QUOTES = EXAMPLE["quotes"]
# A few words that bring each first stance's target to the top of the target list.
TARGET_QUERY = {
    "iran-nuclear-weapons": "acquiring",
    "jcpoa-return": "return to the",
    "iran-conduct-talks": "conduct",
    "us-israel-coordination": "coordination",
    "israel-low-profile-russia-ukraine": "low public",
    "israel-russia-relations": "maintaining",
}
LABEL_KEY = {"support": "s", "oppose": "o", "neutral": "n", "unclear": "u"}
KINDS = ["direct", "indirect", "mixed"]  # the order of the kind radios


@dataclass
class Tally:
    """One quote's actions: selections, clicks, single keys, typed strings (and their keystrokes)."""

    selections: int = 0
    clicks: int = 0
    keys: int = 0
    strings: int = 0
    typed: int = 0
    tabs: int = 0  # of the keys, Tab and Shift+Tab

    @property
    def actions(self) -> int:
        """Everything after the selection: clicks, keys and typed strings."""
        return self.clicks + self.keys + self.strings

    @property
    def keystrokes(self) -> int:
        return self.keys + self.typed


@dataclass
class Analyst:
    """Drives the page and counts what a person would do."""

    page: object
    tallies: list[Tally] = field(default_factory=list)

    def next_quote(self) -> None:
        self.tallies.append(Tally())

    @property
    def now(self) -> Tally:
        return self.tallies[-1]

    def select(self, quote: dict) -> None:
        open_quote_on(self.page, quote)
        self.now.selections += 1

    def click(self, selector: str) -> None:
        self.page.locator(selector).first.click()
        self.now.clicks += 1

    def press(self, key: str) -> None:
        self.page.keyboard.press(key)
        self.now.keys += 1
        self.now.tabs += key.endswith("Tab")

    def type(self, text: str) -> None:
        self.page.keyboard.type(text)
        self.now.strings += 1
        self.now.typed += len(text)

    def focused(self, selector: str) -> bool:
        return self.page.evaluate("(s) => !!document.activeElement && document.activeElement.matches(s)", selector)

    def tab_to(self, selector: str, *, back: bool = False) -> None:
        """Tab (or Shift+Tab) until the focus is on selector, counting each press."""
        for _ in range(80):
            if self.focused(selector):
                return
            self.press("Shift+Tab" if back else "Tab")
        raise AssertionError(f"Tab never reached {selector}")

    def saved(self) -> None:
        self.page.wait_for_selector("#quote-panel .message.success")
        panel_settled(self.page)


def label_pk(slug: str) -> int:
    return StanceLabel.objects.get(slug=slug).pk


def assert_saved(analyst, quotes: list[dict]) -> None:
    saved = {quote.start: quote for quote in Quote.objects.filter(annotator=analyst)}
    assert sorted(saved) == [quote["start"] for quote in quotes]
    for expected in quotes:
        quote = saved[expected["start"]]
        stance = expected["stances"][0]
        assert (quote.end, quote.text, quote.speaker.name, quote.kind) == (
            expected["end"],
            quote.article.text[expected["start"] : expected["end"]],
            expected["speaker"],
            expected["kind"],
        ), expected["text"][:40]
        assert [(s.target.slug, s.label.slug) for s in quote.stances.all()] == [(stance["target"], stance["label"])]


def report(how: str, tallies: list[Tally]) -> str:
    lines = [f"{how}: per quote, selections + actions (clicks, keys, typed strings; keystrokes)"]
    for quote, tally in zip(QUOTES, tallies, strict=True):
        lines.append(
            f"  {quote['start']:>5} {quote['speaker']:<13} {tally.selections} + {tally.actions:>2} "
            f"({tally.clicks} clicks, {tally.keys} keys of which {tally.tabs} Tab, {tally.strings} strings; "
            f"{tally.keystrokes} keystrokes)"
        )
    total = sum(tally.actions for tally in tallies)
    lines.append(f"  mean: {sum(t.selections for t in tallies) / len(tallies):g} selection + {total / len(tallies):g}")
    return "\n".join(lines)


def suggested_target(page) -> str | None:
    """The target path the panel pre-filled in a suggested stance row, if any."""
    row = page.locator("#stance-rows .stance-row[data-suggested]")
    return row.locator("input.target-combobox").input_value() if row.count() else None


def test_mouse_first_each_quote_costs_a_selection_and_two_or_five_actions(page, log_in, seeded):  # noqa: F811
    analyst, article = seeded
    log_in(analyst)
    page.goto(article.annotate_url)
    person = Analyst(page)
    prefilled = []
    for quote in QUOTES:
        person.next_quote()
        stance = quote["stances"][0]
        person.select(quote)
        # Speaker, kind and cue come pre-filled from the text around the selection.
        assert page.locator("input[name=speaker_query]").input_value() == quote["speaker"]
        assert page.locator(f"input[name=kind][value={quote['kind']}]").is_checked()
        target_name = Target.objects.get(slug=stance["target"]).name
        suggested = suggested_target(page)
        prefilled.append(suggested is not None and suggested.endswith(target_name))
        if not prefilled[-1]:
            # No target or another one pre-filled: add the stance (a suggested row left
            # without a label is not saved).
            person.click("#add-stance")
            person.type(TARGET_QUERY[stance["target"]])
            person.click("#stance-rows [role=option][aria-selected=true], #stance-rows [role=option]")
        row = "#stance-rows .stance-row[data-suggested]" if prefilled[-1] else "#stance-rows .stance-row:last-child"
        person.click(f"{row} label.lbl-choice-{label_pk(stance['label'])}")
        person.click("#save-quote")
        person.saved()
    print("\n" + report("Mouse-first", person.tallies) + f"\n  target pre-filled right: {sum(prefilled)} of 8")
    assert_saved(analyst, QUOTES)
    # With the target pre-filled right: one selection and two actions (the label, Save);
    # otherwise five (Add a stance, a few words of the target, its option, the label, Save).
    for right, tally in zip(prefilled, person.tallies, strict=True):
        assert (tally.selections, tally.actions) == ((1, 2) if right else (1, 5))
    assert sum(prefilled) >= 4


def test_keyboard_only_each_quote_is_typed_and_costs_more(page, log_in, seeded):  # noqa: F811
    analyst, article = seeded
    log_in(analyst)
    page.goto(article.annotate_url)
    person = Analyst(page)
    for quote in QUOTES:
        person.next_quote()
        stance = quote["stances"][0]
        # No mouse, no selection: open a blank quote (the page opens on one; after a save,
        # "Type a quote's text instead…") and type the quote's exact words.
        if page.locator("#new-quote").count():
            person.tab_to("#new-quote")
            person.press("Enter")
            page.wait_for_selector("#quote-form details.exact summary")
            panel_settled(page)
            person.tab_to("#quote-form details.exact summary", back=True)
        else:
            person.tab_to("#quote-form details.exact summary")
        person.press("Enter")
        person.press("Tab")
        person.type(quote["text"])
        # The kind: Tab past the occurrence to the kind radios, arrows to the right one.
        person.tab_to("input[name=kind]")
        checked = page.evaluate("() => document.activeElement.value")
        for _ in range((KINDS.index(quote["kind"]) - KINDS.index(checked)) % len(KINDS)):
            person.press("ArrowRight")
        person.tab_to("input[name=speaker_query]")
        person.type(quote["speaker"].split()[-1])
        page.wait_for_selector("#speaker-results .speaker-option")
        person.press("ArrowDown")
        person.press("Enter")
        assert page.locator("input[name=speaker_query]").input_value() == quote["speaker"]
        person.press("t")
        person.type(TARGET_QUERY[stance["target"]])
        person.press("Enter")
        page.wait_for_selector("#stance-rows input[type=radio]:focus")
        person.press(LABEL_KEY[stance["label"]])
        person.press("Control+Enter")
        person.saved()
        # The focus waits on the saved message, one Tab before "Type a quote's text instead…".
        assert person.focused("#quote-panel .message.success")
    print("\n" + report("Keyboard-only", person.tallies))
    assert_saved(analyst, QUOTES)
    # Without a way to select text from the keyboard, each quote's words are typed out (one of
    # three strings: the words, the speaker's surname, the target's), and half the keys are
    # Tabs from one field to the next: the page's budget today is 20 actions a quote (30 for
    # the first, whose Tabs start at the top of the page and pass the navigation, Speakers and
    # Compare included, and the toolbar's links, the guidelines' two included).
    assert all((tally.selections, tally.strings) == (0, 3) for tally in person.tallies)
    assert person.tallies[0].actions <= 30
    assert max(tally.actions for tally in person.tallies[1:]) <= 20
