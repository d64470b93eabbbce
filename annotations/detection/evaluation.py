"""Scoring the detector against gold quotes: pure, no database.

Two ways a predicted quote can match a gold one: **exact** (same start and end)
and **overlap** (at least one shared code point). Under overlap matching each
gold and each predicted quote is matched at most once, the pairs sharing the
most code points first (ties: the earlier gold quote, then the earlier
prediction), so one long prediction can't claim two gold quotes.

Empty sets: precision is matched / predicted and recall matched / gold; when a
denominator is 0 the figure is 1.0 if the other set is empty too (nothing to
find, nothing claimed: nothing was wrong) and 0.0 otherwise. F1 is 0.0 when
precision and recall are both 0.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

Span = tuple[int, int]


@dataclass(frozen=True)
class Quote:
    start: int
    end: int
    kind: str | None = None
    cue: Span | None = None
    source: Span | None = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Quote:
        def span(value: Any) -> Span | None:
            return (int(value[0]), int(value[1])) if value else None

        return cls(
            int(data["start"]), int(data["end"]), data.get("kind"), span(data.get("cue")), span(data.get("source"))
        )


def overlap(a: Span, b: Span) -> int:
    return max(0, min(a[1], b[1]) - max(a[0], b[0]))


def _ratio(part: int, whole: int, other: int) -> float:
    if whole == 0:
        return 1.0 if other == 0 else 0.0
    return part / whole


@dataclass
class Scores:
    gold: int = 0
    predicted: int = 0
    matched: int = 0

    @property
    def precision(self) -> float:
        return _ratio(self.matched, self.predicted, self.gold)

    @property
    def recall(self) -> float:
        return _ratio(self.matched, self.gold, self.predicted)

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 0.0 if p + r == 0 else 2 * p * r / (p + r)

    def add(self, gold: int, predicted: int, matched: int) -> None:
        self.gold += gold
        self.predicted += predicted
        self.matched += matched

    def as_json(self) -> dict[str, float | int]:
        return {
            "gold": self.gold,
            "predicted": self.predicted,
            "matched": self.matched,
            "precision": round(self.precision, 4),
            "recall": round(self.recall, 4),
            "f1": round(self.f1, 4),
        }


def exact_matches(gold: list[Quote], predicted: list[Quote]) -> list[tuple[int, int]]:
    """(gold index, predicted index) pairs with the same start and end, one to one."""
    free: dict[Span, list[int]] = {}
    for index, quote in enumerate(predicted):
        free.setdefault((quote.start, quote.end), []).append(index)
    pairs = []
    for index, quote in enumerate(gold):
        waiting = free.get((quote.start, quote.end))
        if waiting:
            pairs.append((index, waiting.pop(0)))
    return pairs


def overlap_matches(gold: list[Quote], predicted: list[Quote]) -> list[tuple[int, int]]:
    """(gold index, predicted index) pairs sharing code points, one to one, largest overlap first."""
    candidates = [
        (overlap((g.start, g.end), (p.start, p.end)), gi, pi)
        for gi, g in enumerate(gold)
        for pi, p in enumerate(predicted)
        if overlap((g.start, g.end), (p.start, p.end)) > 0
    ]
    candidates.sort(key=lambda item: (-item[0], item[1], item[2]))
    taken_gold: set[int] = set()
    taken_predicted: set[int] = set()
    pairs = []
    for _, gi, pi in candidates:
        if gi in taken_gold or pi in taken_predicted:
            continue
        taken_gold.add(gi)
        taken_predicted.add(pi)
        pairs.append((gi, pi))
    return sorted(pairs)


@dataclass
class Report:
    """Scores of one language (or all): direct quotes and all quotes, exact and
    overlap; and for the overlap-matched pairs (all quotes) whose gold quote has a
    source (a cue), how many predicted sources (cues) overlap it."""

    articles: int = 0
    direct_exact: Scores = field(default_factory=Scores)
    direct_overlap: Scores = field(default_factory=Scores)
    all_exact: Scores = field(default_factory=Scores)
    all_overlap: Scores = field(default_factory=Scores)
    source_agrees: int = 0
    source_checked: int = 0
    cue_agrees: int = 0
    cue_checked: int = 0

    @property
    def source_share(self) -> float:
        return _ratio(self.source_agrees, self.source_checked, 0)

    @property
    def cue_share(self) -> float:
        return _ratio(self.cue_agrees, self.cue_checked, 0)

    def add(self, gold: list[Quote], predicted: list[Quote]) -> None:
        self.articles += 1
        gold_direct = [q for q in gold if q.kind == "direct"]
        predicted_direct = [q for q in predicted if q.kind == "direct"]
        self.direct_exact.add(
            len(gold_direct), len(predicted_direct), len(exact_matches(gold_direct, predicted_direct))
        )
        self.direct_overlap.add(
            len(gold_direct), len(predicted_direct), len(overlap_matches(gold_direct, predicted_direct))
        )
        self.all_exact.add(len(gold), len(predicted), len(exact_matches(gold, predicted)))
        pairs = overlap_matches(gold, predicted)
        self.all_overlap.add(len(gold), len(predicted), len(pairs))
        for gi, pi in pairs:
            expected, found = gold[gi], predicted[pi]
            if expected.source is not None:
                self.source_checked += 1
                self.source_agrees += bool(found.source and overlap(expected.source, found.source))
            if expected.cue is not None:
                self.cue_checked += 1
                self.cue_agrees += bool(found.cue and overlap(expected.cue, found.cue))

    def as_json(self) -> dict[str, Any]:
        return {
            "articles": self.articles,
            "direct": {"exact": self.direct_exact.as_json(), "overlap": self.direct_overlap.as_json()},
            "all": {"exact": self.all_exact.as_json(), "overlap": self.all_overlap.as_json()},
            "source_overlaps": {"share": round(self.source_share, 4), "of": self.source_checked},
            "cue_overlaps": {"share": round(self.cue_share, 4), "of": self.cue_checked},
        }


def evaluate(articles: Iterable[tuple[str, list[Quote], list[Quote]]]) -> dict[str, Report]:
    """Reports by language, and over every article under ``"all"``, from
    (language, gold quotes, predicted quotes) per article."""
    reports: dict[str, Report] = {"all": Report()}
    for language, gold, predicted in articles:
        reports["all"].add(gold, predicted)
        reports.setdefault(language, Report()).add(gold, predicted)
    return reports
