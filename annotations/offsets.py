"""Offsets: the invariant everything rests on.

Demarche stores offsets as Unicode code points of the stored article text, end
exclusive, so that ``text[start:end]`` in Python (and ``substr`` in PostgreSQL
and SQLite) gives the span. Browsers count UTF-16 code units instead (Label
Studio, whose page runs in one, converts to code points itself); everything
that crosses that border goes through here.

A span also never splits a user-perceived character. Code points are not what
a reader sees: "👍🏽" (a thumb and a skin tone), "🇮🇱" (two regional
indicators), "👩‍💻" (woman, zero-width joiner, laptop) and "q́" (a letter
and a combining accent) are one character on screen but several code points.
The one rule: a span whose start or end falls inside such an extended grapheme
cluster (Unicode UAX #29, as the ``regex`` module's ``\\X`` finds them) is
refused by ``check_span``, with a message naming the cluster and the nearest
offsets that don't split it. Nothing is snapped silently: an offset that
splits a cluster means the client measured wrongly, as with a surrogate pair.
"""

from __future__ import annotations

import bisect
import unicodedata
from dataclasses import dataclass

import regex
from django.core.exceptions import ValidationError

# One extended grapheme cluster: what a reader sees as one character.
_GRAPHEME = regex.compile(r"\X")


BOM = "\ufeff"


def normalise_text(text: str) -> str:
    """The one normalisation applied to article text, once, on the way in.

    A leading byte order mark goes too: an editor's artefact, invisible, that
    would otherwise shift every offset by one against the same text without it
    (the file imports drop it as they decode).
    """
    text = text.removeprefix(BOM)
    return unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n"))


def _is_astral(char: str) -> bool:
    return ord(char) > 0xFFFF


def utf16_to_codepoint(text: str, offset: int) -> int:
    """Convert a UTF-16 code-unit offset into ``text`` to a code-point offset.

    An offset that falls between the two halves of a surrogate pair does not
    name a position in the text and is refused: a browser selection never
    produces one, so it means the client counted wrongly.
    """
    if offset < 0:
        raise ValidationError(f"Offset {offset} is negative.", code="offset_negative")
    units = 0
    for index, char in enumerate(text):
        if units == offset:
            return index
        units += 2 if _is_astral(char) else 1
        if units > offset:
            raise ValidationError(
                f"UTF-16 offset {offset} falls inside the character at code point {index} "
                f"(U+{ord(char):04X}); a span can't split a surrogate pair.",
                code="offset_splits_surrogate",
            )
    if units == offset:
        return len(text)
    raise ValidationError(
        f"UTF-16 offset {offset} is past the end of the text ({units} UTF-16 units).",
        code="offset_out_of_range",
    )


def codepoint_to_utf16(text: str, offset: int) -> int:
    """Convert a code-point offset into ``text`` to a UTF-16 code-unit offset."""
    if not 0 <= offset <= len(text):
        raise ValidationError(f"Offset {offset} is outside the text (0–{len(text)}).", code="offset_out_of_range")
    return offset + sum(1 for char in text[:offset] if _is_astral(char))


def check_span(text: str, start: int | None, end: int | None, expected: str | None, *, name: str = "span") -> None:
    """Raise a ValidationError naming the problem unless ``text[start:end] == expected``."""
    if start is None or end is None:
        raise ValidationError(f"The {name} needs both a start and an end offset.", code="span_incomplete")
    if start < 0:
        raise ValidationError(f"The {name} starts at {start}: offsets can't be negative.", code="span_negative")
    if end <= start:
        raise ValidationError(
            f"The {name} ends at {end}, not after its start {start}: a span must be at least one character long.",
            code="span_empty",
        )
    if end > len(text):
        raise ValidationError(
            f"The {name} ends at {end}, past the end of the article text ({len(text)} characters).",
            code="span_out_of_range",
        )
    if expected is not None and text[start:end] != expected:
        found = text[start:end]
        if not unicodedata.is_normalized("NFC", expected):
            # The two would print identically; say what differs instead.
            raise ValidationError(
                f"The {name} text is not in the article's Unicode form: the article uses composed "
                f"characters (NFC); your text uses {_form_of(expected)}, which look the same but are "
                "different code points. Normalise your text to NFC and count the offsets in it"
                + (" (at these offsets it then matches)." if unicodedata.normalize("NFC", expected) == found else "."),
                code="span_normalisation",
            )
        raise ValidationError(
            f"The {name} text does not match the article at {start}–{end}: "
            f"the article has {_preview(found)!s}, the {name} says {_preview(expected)!s}. "
            "Offsets count Unicode code points of the stored text, end exclusive.",
            code="span_mismatch",
        )
    check_grapheme_boundaries(text, start, end, name=name)


def grapheme_boundaries(text: str, start: int, end: int) -> list[int]:
    """The code-point offsets between grapheme clusters, from the line holding
    ``start`` to the line holding ``end`` (both ends of that stretch included).

    Segmentation starts just after a line feed, where a cluster always begins
    (UAX #29 GB4), so a save looks at the lines around the span, not the whole text.
    """
    left = text.rfind("\n", 0, start) + 1
    right = text.find("\n", end)
    right = len(text) if right == -1 else right + 1
    boundaries = [left]
    boundaries.extend(match.end() for match in _GRAPHEME.finditer(text, left, right))
    return boundaries


# Characters that can join the one before or after them into one cluster (UAX #29
# rules GB6–GB9c, GB11–GB13). Between two characters that are neither, and not
# CR LF, there is always a boundary (GB999).
_JOINING = regex.compile(
    r"[\p{GCB=Extend}\p{GCB=ZWJ}\p{GCB=SpacingMark}\p{GCB=Prepend}\p{GCB=Regional_Indicator}"
    r"\p{GCB=L}\p{GCB=V}\p{GCB=T}\p{GCB=LV}\p{GCB=LVT}]"
)


def _plainly_a_boundary(text: str, offset: int) -> bool:
    """Whether ``offset`` is a grapheme boundary by its two neighbours alone.

    Most offsets fall between plain letters, spaces and punctuation; segmenting
    their whole line (a long paragraph) for each was most of a span import's time.
    """
    if offset <= 0 or offset >= len(text):
        return True
    before, after = text[offset - 1], text[offset]
    if before == "\r" and after == "\n":
        return False
    return _JOINING.match(before) is None and _JOINING.match(after) is None


def check_grapheme_boundaries(text: str, start: int, end: int, *, name: str = "span") -> None:
    """Refuse a span whose start or end falls inside a user-perceived character."""
    if _plainly_a_boundary(text, start) and _plainly_a_boundary(text, end):
        return
    boundaries = grapheme_boundaries(text, start, end)
    for edge, offset in (("starts", start), ("ends", end)):
        index = bisect.bisect_left(boundaries, offset)
        if index < len(boundaries) and boundaries[index] == offset:
            continue
        before, after = boundaries[index - 1], boundaries[index]
        cluster = text[before:after]
        points = " ".join(f"U+{ord(char):04X}" for char in cluster)
        raise ValidationError(
            f"The {name} {edge} at {offset}, inside the character {cluster!r} ({points}) at {before}–{after}: "
            f"a span can't split one character as a reader sees it (an emoji with its skin tone or joiners, "
            f"a flag, a letter with its accents). {edge.capitalize()} at {before} or {after} instead.",
            code="span_splits_grapheme",
        )


def _form_of(value: str) -> str:
    """Which Unicode normal form ``value`` is written in, in words."""
    if unicodedata.is_normalized("NFD", value):
        return "decomposed ones (NFD)"
    return "a mix of composed and decomposed characters"


def _preview(value: str, limit: int = 60) -> str:
    shown = value if len(value) <= limit else value[: limit - 1] + "…"
    return repr(shown)


@dataclass(frozen=True)
class Span:
    start: int
    end: int

    def text_of(self, text: str) -> str:
        return text[self.start : self.end]


def find_occurrence(text: str, exact: str, occurrence: int = 1) -> Span:
    """Locate the ``occurrence``-th (1-based) appearance of ``exact`` in ``text``.

    Used where no browser measured a selection (the no-JavaScript form, imports
    that carry only the quoted text). Overlapping occurrences count.
    """
    if not exact:
        raise ValidationError("Paste the exact text of the quote.", code="exact_empty")
    exact = normalise_text(exact)
    if occurrence < 1:
        raise ValidationError("The occurrence number starts at 1.", code="occurrence_invalid")
    found = -1
    for _ in range(occurrence):
        found = text.find(exact, found + 1)
        if found == -1:
            break
    if found == -1:
        count = count_occurrences(text, exact)
        if count == 0:
            raise ValidationError(
                f"The text {_preview(exact)} does not appear in the article: paste it exactly as it is written.",
                code="exact_not_found",
            )
        raise ValidationError(
            f"The text appears {count} time{'s' if count != 1 else ''} in the article, "
            f"so there is no occurrence {occurrence}.",
            code="occurrence_missing",
        )
    return Span(found, found + len(exact))


def count_occurrences(text: str, exact: str) -> int:
    count, position = 0, text.find(exact)
    while position != -1:
        count += 1
        position = text.find(exact, position + 1)
    return count
