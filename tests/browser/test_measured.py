"""Measured: what annotating the demo article's eight quotes costs, mouse-first and keyboard-only.

Every click and every key an analyst would press is made through a counter, so the
figures printed (and quoted in README's "The annotate page") are the ones the test
performed. A mouse drag over the quote counts as one selection; keyboard-only, the
selection's keys are counted as keys. Typing a string (a surname, a few words of a
target, the first words of a quote to search for) counts as one action;
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


def first_words(text: str, quote: dict) -> str:
    """The fewest first words of the quote whose first match in the text (the search
    ignores case) is the quote's start: what a person types to land on it."""
    words = quote["text"].split(" ")
    for count in range(1, len(words) + 1):
        typed = " ".join(words[:count])
        if text.lower().find(typed.lower()) == quote["start"]:
            return typed
    raise AssertionError(f"no search finds {quote['text'][:40]}")


def selected(page) -> dict:
    return page.evaluate("() => DemarcheText.selectionIn(document.getElementById('article-text'))")


def plan(marks: dict, at: int, end: int) -> list[str]:
    """The fewest keys that take the selection's end from at to end (a breadth-first
    search over the caret's own boundaries, read from the page): what a person who
    knows the keys and watches the highlight presses."""

    def after(name: str, position: int) -> int | None:
        return next((mark for mark in marks[name] if mark > position), None)

    def moves(position: int, marking: bool):
        yield "Shift+ArrowRight", after("graphemes", position), marking
        yield "Shift+ArrowLeft", max((m for m in marks["graphemes"] if m < position), default=None), marking
        yield "Shift+Control+ArrowRight", after("wordEnds", position), marking
        yield '"', after("quotationEnds", position), marking
        if marking:
            yield ")", after("sentenceEnds", position), True
        else:
            yield "v", position, True  # ")" extends once v has started the selection

    start = (at, False)
    paths: dict[tuple[int, bool], list[str]] = {start: []}
    frontier = [start]
    while frontier:
        following = []
        for state in frontier:
            if state[0] == end:
                return paths[state]
            for key, position, marking in moves(*state):
                reached = (position, marking)
                if position is not None and position <= end + 40 and reached not in paths:
                    paths[reached] = [*paths[state], key]
                    following.append(reached)
        frontier = following
    raise AssertionError(f"the keys can't reach {end}")


def extend_to(person: Analyst, end: int) -> None:
    page = person.page
    marks = page.evaluate("() => DemarcheText.boundaries(document.getElementById('article-text'))")
    for key in plan(marks, selected(page)["end"], end):
        person.press(key)
    assert selected(page)["end"] == end


def test_keyboard_only_each_quote_is_selected_with_keys_and_costs_more(page, log_in, seeded):  # noqa: F811
    analyst, article = seeded
    log_in(analyst)
    page.goto(article.annotate_url)
    person = Analyst(page)
    prefilled = []
    selecting = []  # the keys each selection took, "/" to Enter
    for quote in QUOTES:
        person.next_quote()
        stance = quote["stances"][0]
        # No mouse: search for the quote's first words, leave the box, c selects the
        # match, extend it to the quote's end, Enter opens the panel as a mouse-up does.
        person.press("/")
        person.type(first_words(article.text, quote))
        person.press("Escape")
        person.press("c")
        assert selected(page)["start"] == quote["start"]
        extend_to(person, quote["end"])
        person.press("Enter")
        selecting.append(person.now.keys)
        page.wait_for_selector(f"#quote-form #selection-offsets:has-text('{quote['start']}–{quote['end']}')")
        panel_settled(page)
        # Pre-filled as for the mouse: speaker, kind, and for some the first stance's target.
        assert page.locator("input[name=speaker_query]").input_value() == quote["speaker"]
        assert page.locator(f"input[name=kind][value={quote['kind']}]").is_checked()
        target_name = Target.objects.get(slug=stance["target"]).name
        suggested = suggested_target(page)
        prefilled.append(suggested is not None and suggested.endswith(target_name))
        # The focus is in the speaker box, where letters are typed: one Tab out of it.
        assert person.focused("input[name=speaker_query]")
        person.press("Tab")
        if not prefilled[-1]:
            person.press("t")  # a stance row, the focus in its target box
            person.type(TARGET_QUERY[stance["target"]])
            person.press("Enter")
            page.wait_for_selector("#stance-rows input[type=radio]:focus")
        person.press(LABEL_KEY[stance["label"]])
        person.press("Control+Enter")
        person.saved()
    print(
        "\n"
        + report("Keyboard-only", person.tallies)
        + f"\n  target pre-filled right: {sum(prefilled)} of 8\n  keys to select (and one typed string): {selecting}"
    )
    assert_saved(analyst, QUOTES)
    # No selection by mouse and no quote typed out: a few of its first words are searched
    # for (one typed string), the rest is selected with keys; with the target pre-filled,
    # then one Tab, the label and Ctrl+Enter.
    assert all(
        tally.selections == 0 and tally.strings == (1 if right else 2)
        for right, tally in zip(prefilled, person.tallies, strict=True)
    )
    assert all(tally.tabs == 1 for tally in person.tallies)
    assert max(selecting) <= 7
    assert max(tally.actions for tally in person.tallies) <= 20
