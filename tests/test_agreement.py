"""Agreement figures against examples worked out by hand (the working is in each test)."""

from __future__ import annotations

import math

import krippendorff
import numpy as np
import pytest

from annotations.agreement import (
    Annotation,
    PairCounts,
    SetAgreement,
    align,
    article_agreement,
    compare_pair,
    exact_matches,
    load_agreement,
    match,
    mean_pair_f1,
    overlap,
    speaker_agreement,
    stance_alpha,
    stance_units,
    verdict,
)
from annotations.models import Article, Assignment

from .factories import ArticleFactory, AssignmentFactory, QuoteFactory, StanceFactory, StanceLabelFactory, TargetFactory

_ids = iter(range(1, 10_000))


def q(annotator: str, start: int, end: int, speaker: int | None = None, kind: str = "direct", **stances: int):
    """An annotation; stances as t<target id>=<label id>."""
    return Annotation(
        id=next(_ids),
        annotator=annotator,
        start=start,
        end=end,
        speaker=speaker,
        kind=kind,
        stances={int(key[1:]): value for key, value in stances.items()},
    )


# --- Overlap and matching -------------------------------------------------------------


def test_overlap_is_shared_code_points_over_covered_code_points():
    # [0, 10) and [5, 15) share 5 code points and together cover 15: 5/15.
    assert overlap(q("A", 0, 10), q("B", 5, 15)) == pytest.approx(1 / 3)
    assert overlap(q("A", 0, 10), q("B", 0, 10)) == 1.0
    # [2, 4) inside [0, 10): 2/10.
    assert overlap(q("A", 0, 10), q("B", 2, 4)) == pytest.approx(0.2)


def test_touching_or_disjoint_spans_do_not_overlap():
    assert overlap(q("A", 0, 5), q("B", 5, 10)) == 0.0  # end is exclusive
    assert overlap(q("A", 0, 5), q("B", 7, 10)) == 0.0


def test_matching_takes_the_largest_overlap_first():
    # b1 = [5, 25) overlaps a1 = [0, 10) by 5/25 = 0.2 (shared [5, 10), covered [0, 25)) and
    # a2 = [20, 40) by 5/35 ≈ 0.143 (shared [20, 25), covered [5, 40)); b2 = [0, 9) overlaps
    # a1 by 9/10 = 0.9. Largest first: a1–b2 (0.9); a1 is taken, so b1 goes to a2 (0.143).
    a1, a2 = q("A", 0, 10), q("A", 20, 40)
    b1, b2 = q("B", 5, 25), q("B", 0, 9)
    pairs = {(a.id, b.id): round(score, 3) for a, b, score in match([a1, a2], [b1, b2])}
    assert pairs == {(a1.id, b2.id): 0.9, (a2.id, b1.id): 0.143}


def test_each_quote_matches_at_most_once():
    # One long quote of A against two halves of B: only one half can match it.
    assert len(match([q("A", 0, 20)], [q("B", 0, 10), q("B", 10, 20)])) == 1


def test_exact_matches_pair_identical_spans_one_to_one():
    # A marked [0, 10) twice (two quotes, same span), B once: one exact match.
    assert exact_matches([q("A", 0, 10), q("A", 0, 10)], [q("B", 0, 10)]) == 1


# --- Span F1 and speaker agreement -----------------------------------------------------------


def test_span_f1_exact_and_overlap_for_two_annotators():
    # A: [0,10) [20,30) [40,50); B: [0,10) [20,31).
    # Exact: only [0,10) is identical: F1 = 2·1/(3+2) = 0.4.
    # Overlap: [20,30)–[20,31) overlap too: 2 matches, F1 = 2·2/5 = 0.8.
    counts = compare_pair([q("A", 0, 10), q("A", 20, 30), q("A", 40, 50)], [q("B", 0, 10), q("B", 20, 31)])
    assert (counts.size_a, counts.size_b, counts.exact, counts.overlap) == (3, 2, 1, 2)
    assert counts.f1(exact=True) == pytest.approx(0.4)
    assert counts.f1(exact=False) == pytest.approx(0.8)


def test_span_f1_is_averaged_over_annotator_pairs():
    # A: [0,10) [20,30); B: [0,10); C: nothing.
    # A–B: 1 match of 2+1 → 2/3. A–C: 0 of 2+0 → 0. B–C: 0 of 1+0 → 0. Mean: (2/3)/3 = 2/9.
    figures = article_agreement({"A": [q("A", 0, 10), q("A", 20, 30)], "B": [q("B", 0, 10)], "C": []})
    assert figures.overlap_f1 == pytest.approx(2 / 9)
    assert figures.exact_f1 == pytest.approx(2 / 9)


def test_span_f1_is_undefined_for_one_annotator_or_no_quotes():
    assert article_agreement({"A": [q("A", 0, 10)]}).overlap_f1 is None
    assert article_agreement({"A": [], "B": []}).overlap_f1 is None
    assert PairCounts().f1(exact=False) is None


def test_speaker_agreement_is_the_share_of_matched_pairs_with_the_same_speaker():
    # A–B: 3 matches ([0,10) same speaker 1; [20,30) speakers 1 vs 2; [40,50) both unattributed: same).
    # The unmatched [60,70) of A doesn't count. 2 of 3 → 2/3.
    a = [q("A", 0, 10, speaker=1), q("A", 20, 30, speaker=1), q("A", 40, 50), q("A", 60, 70, speaker=3)]
    b = [q("B", 0, 9, speaker=1), q("B", 20, 30, speaker=2), q("B", 41, 50)]
    assert speaker_agreement({("A", "B"): compare_pair(a, b)}) == pytest.approx(2 / 3)
    assert speaker_agreement({("A", "B"): compare_pair(a, [])}) is None


def test_a_set_pools_each_pairs_counts_before_taking_the_f1():
    # Article 1: A [0,10) [20,30), B the same: 2 matches of 2+2.
    # Article 2: A [0,10), B [50,60): 0 matches of 1+1; and B is listed first there.
    # Pooled A–B: 2·2 / (3 + 3) = 2/3 (not the mean of 1.0 and 0.0).
    one = article_agreement({"A": [q("A", 0, 10), q("A", 20, 30)], "B": [q("B", 0, 10), q("B", 20, 30)]})
    two = article_agreement({"B": [q("B", 50, 60)], "A": [q("A", 0, 10)]})
    figures = SetAgreement(by_article={1: one, 2: two})
    assert list(figures.pairs) == [("A", "B")]
    assert figures.overlap_f1 == pytest.approx(2 / 3)
    assert mean_pair_f1({**one.pairs}, exact=False) == 1.0


# --- Alignment rows -------------------------------------------------------------------------


def test_rows_never_hold_two_quotes_of_one_annotator():
    # a1 = [0,10), a2 = [10,20), b1 = [0,20), c1 = [10,20).
    # Pairwise matches: A–B a1–b1 (0.5; a2–b1 ties at 0.5, a1 starts first),
    # A–C a2–c1 (1.0), B–C b1–c1 (0.5). Merged largest first: {a2, c1}, then {a1, b1};
    # b1–c1 would join a1 and a2 in one row, so it is skipped.
    a1, a2, b1, c1 = q("A", 0, 10), q("A", 10, 20), q("B", 0, 20), q("C", 10, 20)
    rows = align({"A": [a1, a2], "B": [b1], "C": [c1]})
    assert [{k: v.id for k, v in row.quotes.items()} for row in rows] == [
        {"A": a1.id, "B": b1.id},
        {"A": a2.id, "C": c1.id},
    ]


def test_an_unmatched_quote_is_a_row_of_its_own_in_text_order():
    rows = align({"A": [q("A", 50, 60), q("A", 0, 10)], "B": [q("B", 0, 8)]})
    assert [(row.start, sorted(row.quotes)) for row in rows] == [(0, ["A", "B"]), (50, ["A"])]


def test_a_verdict_treats_no_stance_as_disagreeing_with_a_stance():
    # Target 1: both support (label 1). Target 2: A says oppose (2), B says nothing.
    row = align({"A": [q("A", 0, 10, speaker=1, t1=1, t2=2)], "B": [q("B", 0, 10, speaker=1, t1=1)]})[0]
    result = verdict(row, ["A", "B"])
    assert (result.complete, result.span, result.speaker, result.kind) == (True, True, True, True)
    assert result.stances == {1: True, 2: False}
    assert not result.unanimous


def test_an_incomplete_row_is_never_unanimous():
    row = align({"A": [q("A", 0, 10)], "B": []})[0]
    assert verdict(row, ["A", "B"]).complete is False
    assert not verdict(row, ["A", "B"]).unanimous
    assert verdict(row, ["A"]).unanimous  # a single annotator agrees with themself


# --- Krippendorff's alpha --------------------------------------------------------------------


def test_alpha_on_a_small_example_worked_by_hand():
    # Three units coded by two coders: (1, 1), (2, 2), (1, 2). n = 6 values, three 1s, three 2s.
    # Coincidences: o11 = 2, o22 = 2, o12 = o21 = 1. D_o = (o12 + o21)/n = 2/6.
    # D_e = (n² − Σ n_c²)/(n(n − 1)) = (36 − 9 − 9)/30 = 0.6. α = 1 − (1/3)/0.6 = 4/9.
    assert stance_alpha([{"A": 1, "B": 1}, {"A": 2, "B": 2}, {"A": 1, "B": 2}]) == pytest.approx(4 / 9)


def test_alpha_ignores_units_coded_once():
    # Adding a unit only A coded changes nothing: it can't be paired.
    units = [{"A": 1, "B": 1}, {"A": 2, "B": 2}, {"A": 1, "B": 2}, {"A": 3}]
    assert stance_alpha(units) == pytest.approx(4 / 9)


def test_alpha_is_undefined_without_pairs_or_with_a_single_label():
    assert stance_alpha([{"A": 1}, {"B": 2}]) is None
    assert stance_alpha([{"A": 1, "B": 1}, {"A": 1, "B": 1}]) is None
    assert stance_alpha([]) is None


def test_alpha_agrees_with_the_krippendorff_reference_example():
    # The example from Krippendorff (2011) that the package documents: nominal α = 0.691358.
    nan = np.nan
    data = [
        [nan, nan, nan, nan, nan, 3, 4, 1, 2, 1, 1, 3, 3, nan, 3],
        [1, nan, 2, 1, 3, 3, 4, 3, nan, nan, nan, nan, nan, nan, nan],
        [nan, nan, 2, 1, 3, 4, 4, nan, 2, 1, 1, 3, 3, nan, 4],
    ]
    units = [
        {coder: int(row[unit]) for coder, row in enumerate(data) if not math.isnan(row[unit])}
        for unit in range(len(data[0]))
    ]
    assert stance_alpha(units) == pytest.approx(0.691358, abs=1e-6)
    assert stance_alpha(units) == pytest.approx(krippendorff.alpha(data, level_of_measurement="nominal"))


def test_stance_units_are_row_and_target_with_missing_stances_left_out():
    # Row 1: A and B both label target 1 (1 and 2); A labels target 2, B doesn't → B missing there.
    # Row 2: only A's quote: target 1 coded by A alone.
    rows = align({"A": [q("A", 0, 10, t1=1, t2=3), q("A", 50, 60, t1=1)], "B": [q("B", 0, 10, t1=2)]})
    assert stance_units(rows) == [(1, {"A": 1, "B": 2}), (2, {"A": 3}), (1, {"A": 1})]
    assert stance_units(rows, target_ids={2}) == [(2, {"A": 3})]


# --- Loading from the database ----------------------------------------------------------------


@pytest.mark.django_db
def test_load_agreement_compares_only_annotators_who_submitted(analyst, second_analyst):
    # analyst submitted [1, 51); analyst2 submitted nothing (no quotes); a third analyst is
    # still working, so their identical quote is left out. Pair analyst–analyst2: 0 matches
    # of 1 + 0 → F1 0.
    article = ArticleFactory()
    AssignmentFactory(article=article, annotator=analyst, status=Assignment.Status.SUBMITTED)
    AssignmentFactory(article=article, annotator=second_analyst, status=Assignment.Status.SUBMITTED)
    busy = AssignmentFactory(article=article, status=Assignment.Status.IN_PROGRESS).annotator
    QuoteFactory(article=article, annotator=analyst)
    QuoteFactory(article=article, annotator=busy)
    figures = load_agreement(Article.objects.all()).by_article[article.pk]
    assert figures.annotators == [analyst.pk, second_analyst.pk]
    assert figures.overlap_f1 == 0.0


@pytest.mark.django_db
def test_load_agreement_reads_stances_and_limits_alpha_to_the_targets_asked(analyst, second_analyst):
    # Both mark [1, 51). Target t1: support / oppose (disagree); target t2: support / support.
    # Over t1 alone: one unit with two different labels: D_o = 2/2 = 1, D_e = (4 − 1 − 1)/2 = 1: α = 0.
    # Over t2 alone: one label: undefined.
    article = ArticleFactory()
    support, oppose = StanceLabelFactory(slug="support"), StanceLabelFactory(slug="oppose")
    t1, t2 = TargetFactory(), TargetFactory()
    for user, label in [(analyst, support), (second_analyst, oppose)]:
        AssignmentFactory(article=article, annotator=user, status=Assignment.Status.REVIEWED)
        quote = QuoteFactory(article=article, annotator=user)
        StanceFactory(quote=quote, target=t1, label=label)
        StanceFactory(quote=quote, target=t2, label=support)
    assert load_agreement(Article.objects.all(), target_ids={t1.pk}).stance_alpha == pytest.approx(0.0)
    assert load_agreement(Article.objects.all(), target_ids={t2.pk}).stance_alpha is None
    assert load_agreement(Article.objects.all()).speaker_agreement == 0.0  # two different factory speakers


@pytest.mark.django_db
def test_load_agreement_takes_three_queries_whatever_the_number_of_articles(django_assert_num_queries):
    for _ in range(5):
        article = ArticleFactory()
        for _ in range(2):
            assignment = AssignmentFactory(article=article, status=Assignment.Status.SUBMITTED)
            StanceFactory(quote=QuoteFactory(article=article, annotator=assignment.annotator))
    with django_assert_num_queries(3):
        figures = load_agreement(Article.objects.all())
    assert len(figures.by_article) == 5
