"""Inter-annotator agreement: how far the annotators of an article agree.

Everything here is a pure function of plain values (``Annotation``), except
``load_agreement`` at the end, which reads a set of articles from the database
in a fixed number of queries and hands them to the pure functions.

Definitions, used throughout (and on the pages that show the figures):

- **Annotators of an article** are those whose assignment on it is submitted or
  reviewed; work in progress is not compared. An annotator who submitted no
  quote still counts (everything the others marked is then unmatched).
- **Overlap** of two quotes is the Jaccard index of their code-point ranges
  ``[start, end)``: shared code points / code points covered by either.
- **Matching** two annotators' quotes is greedy by overlap: of all pairs with an
  overlap above 0, take the largest, remove both quotes, repeat. Each quote
  matches at most one quote of the other annotator. Ties go to the pair that
  starts first in the text.
- **Span F1** of annotators A and B, with ``m`` matches, is ``2m / (|A| + |B|)``
  (the harmonic mean of precision ``m/|B|`` and recall ``m/|A|``, symmetric in A
  and B). *Exact* counts a match only for identical start and end (a one-to-one
  pairing of identical spans); *overlap* counts every greedy match. Over several
  articles a pair's counts are summed before the F1 is taken, and the figure
  reported is the mean over annotator pairs. Undefined (None) with fewer than two
  annotators, or when neither annotator of any pair marked anything.
- **Speaker agreement** is the share of overlap-matched pairs, over all annotator
  pairs, whose speaker is the same (two unattributed quotes agree).
- **Alignment rows** group the annotators' quotes of one article: every pairwise
  match is an edge; edges are taken in order of decreasing overlap and join two
  groups unless that would put two quotes of one annotator in the same row. A
  quote nobody matched is a row on its own. With two annotators the rows are
  exactly the pairwise matches.
- **Stance alpha** is Krippendorff's alpha, nominal, on reliability data whose
  units are (alignment row, target) for every target any quote of the row takes a
  stance on, whose coders are the annotators and whose values are label ids.
  A value is missing (NaN) when the annotator has no quote in the row, or their
  quote in the row takes no stance on the target. So alpha measures agreement on
  the label where two annotators both labelled the target; whether a target was
  addressed at all shows in the row-by-row stance flags and the span figures, not
  in alpha. Units with fewer than two values can't be paired and drop out. Alpha
  is undefined (None) without a pairable unit, or when all pairable values are
  one label (expected disagreement is 0: perfect agreement on a constant).
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from statistics import fmean
from typing import TYPE_CHECKING

import krippendorff
import numpy as np

if TYPE_CHECKING:
    from django.db.models import QuerySet

Coder = Hashable


@dataclass(frozen=True, eq=False)
class Annotation:
    """One annotator's quote, reduced to what agreement compares."""

    id: int
    annotator: Coder
    start: int
    end: int
    speaker: int | None = None
    kind: str = ""
    stances: Mapping[int, int] = field(default_factory=dict)  # target id → label id

    @property
    def span(self) -> tuple[int, int]:
        return (self.start, self.end)


def overlap(a: Annotation, b: Annotation) -> float:
    """Jaccard index of the two code-point ranges: 0 when disjoint, 1 when identical."""
    shared = min(a.end, b.end) - max(a.start, b.start)
    if shared <= 0:
        return 0.0
    return shared / (max(a.end, b.end) - min(a.start, b.start))


def match(a_items: Sequence[Annotation], b_items: Sequence[Annotation]) -> list[tuple[Annotation, Annotation, float]]:
    """Greedy one-to-one matching by largest overlap above 0 (see the module docstring)."""
    candidates = [(overlap(a, b), a, b) for a in a_items for b in b_items]
    candidates = [item for item in candidates if item[0] > 0]
    candidates.sort(key=lambda item: (-item[0], item[1].start, item[2].start, item[1].id, item[2].id))
    used_a: set[int] = set()
    used_b: set[int] = set()
    matches = []
    for score, a, b in candidates:
        if id(a) in used_a or id(b) in used_b:
            continue
        used_a.add(id(a))
        used_b.add(id(b))
        matches.append((a, b, score))
    return matches


def exact_matches(a_items: Sequence[Annotation], b_items: Sequence[Annotation]) -> int:
    """How many spans the two annotators share exactly, pairing identical spans one to one."""
    return sum((Counter(a.span for a in a_items) & Counter(b.span for b in b_items)).values())


@dataclass
class PairCounts:
    """What two annotators marked and how much of it matches; summed over articles."""

    size_a: int = 0
    size_b: int = 0
    exact: int = 0
    overlap: int = 0
    same_speaker: int = 0

    def __add__(self, other: PairCounts) -> PairCounts:
        return PairCounts(
            self.size_a + other.size_a,
            self.size_b + other.size_b,
            self.exact + other.exact,
            self.overlap + other.overlap,
            self.same_speaker + other.same_speaker,
        )

    def swapped(self) -> PairCounts:
        return PairCounts(self.size_b, self.size_a, self.exact, self.overlap, self.same_speaker)

    def f1(self, *, exact: bool) -> float | None:
        total = self.size_a + self.size_b
        if total == 0:
            return None
        return 2 * (self.exact if exact else self.overlap) / total


def compare_pair(a_items: Sequence[Annotation], b_items: Sequence[Annotation]) -> PairCounts:
    matches = match(a_items, b_items)
    return PairCounts(
        size_a=len(a_items),
        size_b=len(b_items),
        exact=exact_matches(a_items, b_items),
        overlap=len(matches),
        same_speaker=sum(1 for a, b, _ in matches if a.speaker == b.speaker),
    )


def mean_pair_f1(pairs: Mapping[tuple[Coder, Coder], PairCounts], *, exact: bool) -> float | None:
    """The span F1 of each annotator pair, averaged over the pairs where it is defined."""
    scores = [score for counts in pairs.values() if (score := counts.f1(exact=exact)) is not None]
    return fmean(scores) if scores else None


def speaker_agreement(pairs: Mapping[tuple[Coder, Coder], PairCounts]) -> float | None:
    """Share of overlap-matched pairs, over all annotator pairs, with the same speaker."""
    matched = sum(counts.overlap for counts in pairs.values())
    if matched == 0:
        return None
    return sum(counts.same_speaker for counts in pairs.values()) / matched


# --- Alignment rows ------------------------------------------------------------


@dataclass
class Row:
    """One statement as each annotator marked it (at most one quote per annotator)."""

    quotes: dict[Coder, Annotation]

    @property
    def start(self) -> int:
        return min(quote.start for quote in self.quotes.values())

    @property
    def end(self) -> int:
        return max(quote.end for quote in self.quotes.values())

    def targets(self) -> list[int]:
        return sorted({target for quote in self.quotes.values() for target in quote.stances})


@dataclass
class Verdict:
    """Which parts of a row the annotators agree on.

    ``complete`` says every annotator of the article has a quote in the row; the
    other flags compare the quotes present (trivially true with one). A target is
    agreed when every quote gives it the same label, "no stance" counting as a
    value of its own here (unlike in alpha): the curated version has to decide it.
    """

    complete: bool
    span: bool
    speaker: bool
    kind: bool
    stances: dict[int, bool]

    @property
    def unanimous(self) -> bool:
        """Every annotator marked it and all agree on span, speaker, kind and stances."""
        return self.complete and self.span and self.speaker and self.kind and all(self.stances.values())


def _all_same(values: Iterable[object]) -> bool:
    return len(set(values)) <= 1


def verdict(row: Row, annotators: Sequence[Coder]) -> Verdict:
    quotes = list(row.quotes.values())
    return Verdict(
        complete=all(annotator in row.quotes for annotator in annotators),
        span=_all_same(quote.span for quote in quotes),
        speaker=_all_same(quote.speaker for quote in quotes),
        kind=_all_same(quote.kind for quote in quotes),
        stances={target: _all_same(quote.stances.get(target) for quote in quotes) for target in row.targets()},
    )


def align(by_annotator: Mapping[Coder, Sequence[Annotation]]) -> list[Row]:
    """Group the annotators' quotes into alignment rows (see the module docstring), in text order."""
    annotators = list(by_annotator)
    group_of: dict[int, int] = {}
    members: dict[int, list[Annotation]] = {}
    for items in by_annotator.values():
        for item in items:
            group_of[id(item)] = id(item)
            members[id(item)] = [item]
    edges = []
    for i, a in enumerate(annotators):
        for b in annotators[i + 1 :]:
            edges.extend(match(by_annotator[a], by_annotator[b]))
    edges.sort(key=lambda edge: (-edge[2], edge[0].start, edge[1].start, edge[0].id, edge[1].id))
    for a, b, _ in edges:
        group_a, group_b = group_of[id(a)], group_of[id(b)]
        if group_a == group_b:
            continue
        coders_a = {item.annotator for item in members[group_a]}
        if any(item.annotator in coders_a for item in members[group_b]):
            continue
        for item in members[group_b]:
            group_of[id(item)] = group_a
        members[group_a].extend(members.pop(group_b))
    rows = [Row({item.annotator: item for item in items}) for items in members.values()]
    rows.sort(key=lambda row: (row.start, -row.end, min(quote.id for quote in row.quotes.values())))
    return rows


# --- Stance alpha --------------------------------------------------------------


Unit = dict[Coder, int]  # annotator → label id, only for the annotators who gave one


def stance_units(rows: Iterable[Row], target_ids: set[int] | None = None) -> list[tuple[int, Unit]]:
    """The (row, target) units of the reliability data, as (target id, values by annotator)."""
    units = []
    for row in rows:
        for target in row.targets():
            if target_ids is not None and target not in target_ids:
                continue
            values = {
                annotator: quote.stances[target] for annotator, quote in row.quotes.items() if target in quote.stances
            }
            units.append((target, values))
    return units


def stance_alpha(units: Iterable[Unit]) -> float | None:
    """Krippendorff's alpha (nominal) over the units; None when undefined (see module docstring)."""
    pairable = [unit for unit in units if len(unit) >= 2]
    if not pairable or len({value for unit in pairable for value in unit.values()}) < 2:
        return None
    coders = sorted({coder for unit in pairable for coder in unit}, key=str)
    data = np.full((len(coders), len(pairable)), np.nan)
    for column, unit in enumerate(pairable):
        for row, coder in enumerate(coders):
            if coder in unit:
                data[row, column] = unit[coder]
    value = float(krippendorff.alpha(reliability_data=data, level_of_measurement="nominal"))
    return None if math.isnan(value) else value


# --- Articles and sets of articles ----------------------------------------------


@dataclass
class ArticleAgreement:
    """The figures for one article, and the rows they were computed from."""

    annotators: list[Coder]
    quotes: dict[Coder, list[Annotation]]
    rows: list[Row]
    pairs: dict[tuple[Coder, Coder], PairCounts]

    @property
    def exact_f1(self) -> float | None:
        return mean_pair_f1(self.pairs, exact=True)

    @property
    def overlap_f1(self) -> float | None:
        return mean_pair_f1(self.pairs, exact=False)

    @property
    def speaker_agreement(self) -> float | None:
        return speaker_agreement(self.pairs)

    @property
    def stance_alpha(self) -> float | None:
        return stance_alpha(values for _, values in stance_units(self.rows))


def article_agreement(by_annotator: Mapping[Coder, Sequence[Annotation]]) -> ArticleAgreement:
    """Compare the annotators of one article. Keys are the annotators, in the order to show them."""
    annotators = list(by_annotator)
    pairs = {}
    for i, a in enumerate(annotators):
        for b in annotators[i + 1 :]:
            pairs[(a, b)] = compare_pair(by_annotator[a], by_annotator[b])
    return ArticleAgreement(
        annotators=annotators,
        quotes={annotator: list(items) for annotator, items in by_annotator.items()},
        rows=align(by_annotator),
        pairs=pairs,
    )


@dataclass
class SetAgreement:
    """The figures over a set of articles: annotator pairs pooled across articles."""

    by_article: dict[int, ArticleAgreement]
    target_ids: set[int] | None = None

    @property
    def pairs(self) -> dict[tuple[Coder, Coder], PairCounts]:
        pooled: dict[tuple[Coder, Coder], PairCounts] = defaultdict(PairCounts)
        for article in self.by_article.values():
            for (a, b), counts in article.pairs.items():
                # The same two people are one pair whichever order an article lists them in.
                if (b, a) in pooled:
                    pooled[(b, a)] += counts.swapped()
                else:
                    pooled[(a, b)] += counts
        return dict(pooled)

    @property
    def compared_articles(self) -> int:
        return sum(1 for article in self.by_article.values() if len(article.annotators) >= 2)

    @property
    def annotators(self) -> set[Coder]:
        return {annotator for article in self.by_article.values() for annotator in article.annotators}

    @property
    def quote_count(self) -> int:
        return sum(len(items) for article in self.by_article.values() for items in article.quotes.values())

    @property
    def exact_f1(self) -> float | None:
        return mean_pair_f1(self.pairs, exact=True)

    @property
    def overlap_f1(self) -> float | None:
        return mean_pair_f1(self.pairs, exact=False)

    @property
    def speaker_agreement(self) -> float | None:
        return speaker_agreement(self.pairs)

    def units(self) -> list[tuple[int, Unit]]:
        return [unit for article in self.by_article.values() for unit in stance_units(article.rows, self.target_ids)]

    @property
    def stance_alpha(self) -> float | None:
        return stance_alpha(values for _, values in self.units())

    def alpha_by_target(self) -> dict[int, tuple[float | None, int]]:
        """Target id → (alpha, number of pairable units), for every target with a unit."""
        grouped: dict[int, list[Unit]] = defaultdict(list)
        for target, values in self.units():
            grouped[target].append(values)
        return {
            target: (stance_alpha(units), sum(1 for unit in units if len(unit) >= 2))
            for target, units in grouped.items()
        }


def load_agreement(articles: QuerySet, *, target_ids: set[int] | None = None) -> SetAgreement:
    """Read the finished annotations of ``articles`` (three queries) and compare them.

    Annotators are keyed by user id, listed by username. ``target_ids`` limits the
    stance units (alpha) to those targets; spans and speakers are unaffected.
    """
    from .models import Assignment, Quote, Stance

    article_ids = articles.order_by().values("pk")
    done = (
        Assignment.objects.done()
        .filter(article_id__in=article_ids)
        .order_by("article_id", "annotator__username", "annotator_id")
        .values_list("article_id", "annotator_id")
    )
    quotes = (
        Quote.objects.by_done_annotators()
        .filter(article_id__in=article_ids)
        .in_text_order()
        .values("id", "article_id", "annotator_id", "start", "end", "speaker_id", "kind")
    )
    stances: dict[int, dict[int, int]] = defaultdict(dict)
    for quote_id, target_id, label_id in Stance.objects.filter(
        quote__in=Quote.objects.by_done_annotators().filter(article_id__in=article_ids)
    ).values_list("quote_id", "target_id", "label_id"):
        stances[quote_id][target_id] = label_id

    by_article: dict[int, dict[Coder, list[Annotation]]] = defaultdict(dict)
    for article_id, annotator_id in done:
        by_article[article_id][annotator_id] = []
    for row in quotes:
        by_article[row["article_id"]][row["annotator_id"]].append(
            Annotation(
                id=row["id"],
                annotator=row["annotator_id"],
                start=row["start"],
                end=row["end"],
                speaker=row["speaker_id"],
                kind=row["kind"],
                stances=stances.get(row["id"], {}),
            )
        )
    return SetAgreement(
        by_article={article_id: article_agreement(items) for article_id, items in by_article.items()},
        target_ids=target_ids,
    )
