"""How the annotate page draws quotes in the text: lanes for nested and overlapping
quotes, a dot per stance, stored spans for the script, everything escaped."""

from __future__ import annotations

import re

from annotations.highlights import Completion, ListedQuote, render_quote_items, render_segments, segments
from annotations.models import quote_in_words


def listed(pk, start, end, chips=(), speaker="A", **spans) -> ListedQuote:
    return ListedQuote(
        pk, start, end, "x" * (end - start), "direct", False, None, None, speaker,
        spans.get("mention_start"), spans.get("mention_end"), spans.get("cue_start"), spans.get("cue_end"),
        chips=list(chips),
    )  # fmt: skip


def test_each_quote_keeps_one_underline_lane_from_start_to_end():
    text = "a" * 100
    outer, inner, crossing, later = listed(1, 0, 50), listed(2, 10, 20), listed(3, 15, 60), listed(4, 70, 80)
    html = render_segments(segments(text, [outer, inner, crossing, later]))
    # inner and crossing overlap outer; crossing outlives outer yet keeps lane 3; later reuses lane 1.
    segs = re.findall(r'<span class="seg hl ([^"]*)" data-s="(\d+)" data-q="([^"]*)"', html)
    by_quote: dict[str, set[str]] = {}
    for classes, _start, ids in segs:
        lane_classes = re.findall(r"\bu(\d)-none\b", classes)
        for pk, lane in zip(ids.split(), lane_classes, strict=True):
            by_quote.setdefault(pk, set()).add(lane)
    assert by_quote == {"1": {"1"}, "2": {"2"}, "3": {"3"}, "4": {"1"}}
    assert "lanes-3" in html


def test_a_quote_with_several_stances_ends_with_a_dot_for_each_escaped():
    chips = [("oppose", "Oppose", "<b>Iran</b>"), ("support", "Support", 'say "no"')]
    html = render_segments(segments("Hello world", [listed(7, 0, 5, chips)]))
    assert '<i class="dot lbl-oppose" title="Oppose: &lt;b&gt;Iran&lt;/b&gt;"></i>' in html
    assert 'title="Support: say &quot;no&quot;"' in html
    assert html.count('class="stance-dots"') == 1
    # One stance: its colour is the underline; no dots.
    assert "stance-dots" not in render_segments(segments("Hello world", [listed(7, 0, 5, chips[:1])]))


def test_the_list_carries_the_stored_mention_and_cue_offsets():
    quote = listed(3, 0, 5, mention_start=6, mention_end=9, cue_start=10, cue_end=14)
    html = render_quote_items([quote, listed(4, 20, 25)], user=None)
    assert '<li id="quote-3" class="lbl-none incomplete" data-mention="6 9" data-cue="10 14">' in html
    assert '<li id="quote-4" class="lbl-none incomplete">' in html


def test_completion_counts_quotes_with_a_speaker_and_a_stance():
    chips = [("oppose", "Oppose", "T")]
    figures = Completion.of([listed(1, 0, 1, chips), listed(2, 1, 2, chips, speaker=None), listed(3, 2, 3)])
    assert (figures.complete, figures.total, figures.percent) == (1, 3, 33)
    assert Completion.of([]).percent == 0


def test_a_quote_in_words_names_its_speaker_and_first_words():
    assert quote_in_words("Yoav Gallant", "I emphasized to him Israel’s commitment to do") == (
        "Yoav Gallant’s quote «I emphasized to him Israel’s commitment…»"
    )
    assert quote_in_words("Ned Price", "a decision\nfor Israel") == "Ned Price’s quote «a decision for Israel»"
    assert quote_in_words("Reuters", "talks") == "Reuters’ quote «talks»"
    assert quote_in_words(None, "x" * 200).startswith("an unattributed quote «" + "x" * 59)
