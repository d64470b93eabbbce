"""Scoring the detector (annotations.detection.evaluation) on hand-made cases."""

from __future__ import annotations

import pytest

from annotations.detection.evaluation import Quote, Report, Scores, evaluate, exact_matches, overlap_matches


def test_exact_match_needs_the_same_start_and_end():
    gold = [Quote(0, 10), Quote(20, 30)]
    predicted = [Quote(0, 10), Quote(21, 30)]
    assert exact_matches(gold, predicted) == [(0, 0)]


def test_overlap_match_needs_one_shared_code_point():
    gold = [Quote(0, 10)]
    assert overlap_matches(gold, [Quote(9, 12)]) == [(0, 0)]
    assert overlap_matches(gold, [Quote(10, 12)]) == []  # end is exclusive: touching is not sharing


def test_each_quote_is_matched_at_most_once_largest_overlap_first():
    # One long prediction covers both gold quotes: it takes the one it shares most with.
    gold = [Quote(0, 10), Quote(12, 40)]
    predicted = [Quote(5, 40)]
    assert overlap_matches(gold, predicted) == [(1, 0)]


def test_the_largest_overlap_wins_even_when_a_smaller_one_comes_first():
    gold = [Quote(0, 20)]
    predicted = [Quote(0, 5), Quote(2, 20)]
    assert overlap_matches(gold, predicted) == [(0, 1)]


def test_a_duplicate_prediction_is_matched_once():
    gold = [Quote(0, 10)]
    assert exact_matches(gold, [Quote(0, 10), Quote(0, 10)]) == [(0, 0)]


def test_precision_recall_and_f1():
    scores = Scores(gold=4, predicted=2, matched=2)
    assert scores.precision == 1.0
    assert scores.recall == 0.5
    assert scores.f1 == pytest.approx(2 / 3)


def test_nothing_to_find_and_nothing_predicted_is_perfect():
    scores = Scores(gold=0, predicted=0, matched=0)
    assert (scores.precision, scores.recall, scores.f1) == (1.0, 1.0, 1.0)


def test_predictions_with_no_gold_have_zero_precision_and_recall():
    scores = Scores(gold=0, predicted=3, matched=0)
    assert (scores.precision, scores.recall, scores.f1) == (0.0, 0.0, 0.0)


def test_no_predictions_against_gold_have_zero_precision_and_recall():
    scores = Scores(gold=3, predicted=0, matched=0)
    assert (scores.precision, scores.recall, scores.f1) == (0.0, 0.0, 0.0)


def test_direct_quotes_are_scored_apart_from_all_quotes():
    report = Report()
    report.add(
        gold=[Quote(0, 10, "direct"), Quote(20, 30, "indirect")],
        predicted=[Quote(0, 10, "direct"), Quote(20, 30, "direct")],
    )
    assert (report.direct_exact.gold, report.direct_exact.predicted, report.direct_exact.matched) == (1, 2, 1)
    assert report.all_exact.f1 == 1.0


def test_source_and_cue_agreement_count_only_matched_quotes_whose_gold_has_one():
    report = Report()
    report.add(
        gold=[
            Quote(0, 10, "direct", cue=(12, 16), source=(17, 22)),
            Quote(30, 40, "indirect", cue=None, source=None),
            Quote(50, 60, "direct", cue=(61, 65), source=(66, 70)),
        ],
        predicted=[
            Quote(0, 10, "direct", cue=(12, 16), source=(25, 28)),
            Quote(30, 40, "indirect", cue=(41, 44), source=(45, 48)),
        ],
    )
    assert (report.source_agrees, report.source_checked) == (0, 1)
    assert (report.cue_agrees, report.cue_checked) == (1, 1)


def test_reports_are_kept_by_language_and_for_all():
    reports = evaluate([("en", [Quote(0, 5)], [Quote(0, 5)]), ("de", [Quote(0, 5)], [])])
    assert reports["en"].all_exact.f1 == 1.0
    assert reports["de"].all_exact.recall == 0.0
    assert reports["all"].all_exact.matched == 1
    assert reports["all"].articles == 2
