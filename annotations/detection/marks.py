"""Quotation marks: which characters are marks, which closes which, and the
spans between them in a text (``quotations``). Offsets in code points."""

from __future__ import annotations

import re
from dataclasses import dataclass

OPENING_MARKS = "“‘«„‚\"'‹「『"
CLOSING_MARKS = "”’»“‘\"'›」』"
QUOTE_MARKS = set(OPENING_MARKS + CLOSING_MARKS)
# Apostrophes that are also closing single quotation marks: inside a word
# (Korea's, Israel’s) they are apostrophes.
APOSTROPHES = "'’"

# What each opening mark is closed by, in the languages' conventions: English
# “…” ‘…’, German „…“ ‚…‘ »…« (and Swiss «…» ‹…›), French « … », typewriter
# "…" '…' and two apostrophes ''…''.
CLOSERS = {
    "“": "”",
    "„": "“”",
    "‚": "‘’",
    "‘": "’",
    "»": "«",
    "«": "»",
    "›": "‹",
    "‹": "›",
    '"': '"',
    "'": "'",
    "''": "''",
    "「": "」",
    "『": "』",
}
# French guillemets stand apart from their words: « Nous … ».
SPACED = set("«»‹›")
MARK = re.compile(r"''|[“”„‚‘’«»‹›\"'「」『』]")


def is_quotation_mark(text: str, index: int) -> bool:
    """Whether ``text[index]`` is a quotation mark, not an apostrophe between two
    letters (Korea's) or outside the text."""
    if not 0 <= index < len(text) or text[index] not in QUOTE_MARKS:
        return False
    if text[index] in APOSTROPHES:
        before = text[index - 1] if index > 0 else ""
        after = text[index + 1] if index + 1 < len(text) else ""
        return not (before.isalnum() and after.isalnum())
    return True


@dataclass(frozen=True)
class Quotation:
    """The span between an opening and a closing mark. ``open`` is the opening
    mark's offset and ``close`` the offset just past the closing mark; a part of a
    quote running over paragraphs has no closing mark and ``close`` is its
    paragraph's end. ``start``/``end`` bound the content: the marks, the spaces
    French puts inside them and a trailing comma left out."""

    open: int
    close: int
    start: int
    end: int
    closed: bool
    chain: int

    def words(self, text: str) -> int:
        return len(text[self.start : self.end].split())


def _can_open(text: str, index: int, mark: str) -> bool:
    before = text[index - 1] if index > 0 else " "
    after = text[index + len(mark)] if index + len(mark) < len(text) else " "
    if before.isalnum() or after == "\n":
        return False
    return mark in SPACED or not after.isspace()


def _can_close(text: str, index: int, mark: str) -> bool:
    before = text[index - 1] if index > 0 else " "
    after = text[index + len(mark)] if index + len(mark) < len(text) else " "
    if after.isalnum():
        return False
    return mark in SPACED or not before.isspace()


def _content(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and (text[end - 1].isspace() or text[end - 1] == ","):
        end -= 1
    return start, end


def paragraphs(text: str) -> list[tuple[int, int]]:
    """Each line's (start, end): news text puts one paragraph on a line."""
    bounds = []
    start = 0
    for line in text.split("\n"):
        bounds.append((start, start + len(line)))
        start += len(line) + 1
    return bounds


def _marks(text: str, start: int, end: int) -> list[tuple[int, str]]:
    return [
        (match.start(), match.group(0))
        for match in MARK.finditer(text, start, end)
        if len(match.group(0)) == 2 or is_quotation_mark(text, match.start())
    ]


def quotations(text: str) -> list[Quotation]:
    """Every quotation in ``text``, outermost only, in text order. A paragraph
    whose quotation isn't closed continues into the next paragraph when that one
    opens with the same mark (the news convention); both parts share a chain."""
    found: list[Quotation] = []
    lines = [(start, end) for start, end in paragraphs(text) if text[start:end].strip()]
    chain = 0
    continuing = False
    for number, (line_start, line_end) in enumerate(lines):
        marks = _marks(text, line_start, line_end)
        index = 0
        first = True
        while index < len(marks):
            position, mark = marks[index]
            if mark not in CLOSERS or not _can_open(text, position, mark):
                index += 1
                continue
            if not (first and continuing and not text[line_start:position].strip()):
                chain += 1
            first = False
            continuing = False
            after = position + len(mark)
            closing = next(
                (
                    later
                    for later in range(index + 1, len(marks))
                    if marks[later][1] in CLOSERS[mark] and _can_close(text, marks[later][0], marks[later][1])
                ),
                None,
            )
            if closing is not None:
                close_at, close_mark = marks[closing]
                start, end = _content(text, after, close_at)
                if end > start:
                    found.append(Quotation(position, close_at + len(close_mark), start, end, True, chain))
                index = closing + 1
                continue
            following = lines[number + 1] if number + 1 < len(lines) else None
            if following is not None and text[following[0] : following[1]].lstrip().startswith(mark):
                start, end = _content(text, after, line_end)
                found.append(Quotation(position, line_end, start, end, False, chain))
                continuing = True
                break
            index += 1
    return found
