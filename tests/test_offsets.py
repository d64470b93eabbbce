"""The offset invariant: code points, end exclusive, text == article.text[start:end]."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from hypothesis import given, settings
from hypothesis import strategies as st

from annotations.offsets import (
    check_span,
    codepoint_to_utf16,
    count_occurrences,
    find_occurrence,
    grapheme_boundaries,
    normalise_text,
    utf16_to_codepoint,
)

# Text the tool must handle: emoji and other astral characters, Hebrew and
# Arabic, combining marks, CRLF line ends, plain ASCII.
SAMPLES = [
    "a",
    "Z",
    " ",
    "\n",
    "\r\n",
    "“",
    "”",
    "é",
    "e\u0301",
    "😀",
    "👩\u200d💻",
    "𝔄",
    "ש",
    "ל",
    "ם",
    "ع",
    "ب",
    "\u200f",
    "中",
]
mixed_text = st.lists(st.sampled_from(SAMPLES) | st.characters(codec="utf-8"), min_size=1, max_size=60).map("".join)


def utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def test_normalising_turns_crlf_into_lf_and_composes_marks():
    assert normalise_text("e\u0301\r\nx\ry") == "é\nx\ny"


def test_a_utf16_offset_after_an_emoji_counts_it_once_in_code_points():
    text = "😀 said"
    assert utf16_to_codepoint(text, 3) == 2
    assert codepoint_to_utf16(text, 2) == 3


def test_a_utf16_offset_inside_a_surrogate_pair_is_refused():
    with pytest.raises(ValidationError, match="surrogate pair"):
        utf16_to_codepoint("😀 said", 1)


def test_a_utf16_offset_past_the_end_is_refused():
    with pytest.raises(ValidationError, match="past the end"):
        utf16_to_codepoint("abc", 4)


@pytest.mark.parametrize(
    ("start", "end", "expected", "message"),
    [
        (-1, 2, "ab", "negative"),
        (2, 2, "", "at least one character"),
        (0, 9, "abc", "past the end"),
        (0, 2, "xy", "does not match"),
    ],
)
def test_check_span_names_each_problem(start, end, expected, message):
    with pytest.raises(ValidationError, match=message):
        check_span("abcdef", start, end, expected)


def test_find_occurrence_picks_the_nth_appearance():
    text = "no, no and no"
    assert find_occurrence(text, "no", 3).start == 11
    with pytest.raises(ValidationError, match="appears 3 times"):
        find_occurrence(text, "no", 4)
    with pytest.raises(ValidationError, match="does not appear"):
        find_occurrence(text, "yes")


def test_count_occurrences_counts_overlapping_matches():
    assert count_occurrences("aaaa", "aa") == 3


@settings(max_examples=500, deadline=None)
@given(text=mixed_text, data=st.data())
def test_utf16_offsets_from_a_browser_convert_to_the_same_code_point_span(text, data):
    text = normalise_text(text)
    # A span never splits a character as a reader sees it: pick grapheme boundaries.
    edges = grapheme_boundaries(text, 0, len(text))
    i = data.draw(st.integers(0, len(edges) - 2))
    start, end = edges[i], edges[data.draw(st.integers(i + 1, len(edges) - 1))]
    exact = text[start:end]
    u_start, u_end = codepoint_to_utf16(text, start), codepoint_to_utf16(text, end)
    # What a browser would report: UTF-16 units up to the selection's edges.
    assert u_start == utf16_length(text[:start])
    assert u_end - u_start == utf16_length(exact)
    assert text[utf16_to_codepoint(text, u_start) : utf16_to_codepoint(text, u_end)] == exact
    check_span(text, start, end, exact)


@settings(max_examples=300, deadline=None)
@given(text=mixed_text)
def test_normalising_is_idempotent_and_leaves_no_carriage_returns(text):
    once = normalise_text(text)
    assert normalise_text(once) == once
    assert "\r" not in once
