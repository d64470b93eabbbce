"""Stance statistics over the curated dataset, counted in one place.

``stance_counts`` turns a queryset of quotes (already filtered: the quotes API's
``StanceStatsFilter``) into rows of (period, label, group values…, count). The
API (``/api/v1/stats/stance/``, JSON and CSV), the target page and the compare
page all count through it, so a figure on a page is the API's figure for the
same filters, and a test holds them equal.

What is counted: curated stances on curated articles that have a publication
date (a stance without a date has no period). With ``target``, only the
stances toward that target (and, unless ``children=0``, the targets below it);
with ``label``, only stances with that label. A quote with two stances in
scope counts twice, once per stance.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from django.db.models import Count, DateField, F, QuerySet, Sum
from django.db.models.functions import Trunc

from . import charts
from .models import Article, CountryTally, Quote, SpeakerStanceTally, StanceLabel
from .tallies import UNDATED

INTERVALS = ("month", "quarter", "year", "all")
GROUPS = ("speaker", "country", "target")
# What the over-time chart may stack its bars by: the label, or one group.
SERIES = ("label", "country", "speaker")

# The columns a group reads, as values() names from a quote joined to its stances in scope.
_GROUP_COLUMNS: dict[str, tuple[str, ...]] = {
    "speaker": ("speaker_id", "speaker__name"),
    "country": ("speaker__country",),
    "target": ("stances__target__slug", "stances__target__name"),
}

# Colours for series that are not labels (countries, speakers): Okabe & Ito's
# colour-blind-safe palette, then grey for everything past it ("Other").
PALETTE = ("#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00", "#6a3d9a")
OTHER_COLOUR = "#8a8a8a"


@dataclass(frozen=True)
class StanceCount:
    """One row of the statistics: how many stances in a period had a label, within a group."""

    period: datetime.date | None  # the period's first day; None for interval=all
    label: str  # the label's slug
    count: int
    speaker: int | None = None  # None: unattributed
    speaker_name: str = ""
    country: str = ""  # the speaker's ISO 3166-1 alpha-2 code; "" when unknown
    target: str = ""  # the target's slug
    target_name: str = ""

    def as_dict(self, group_by: Sequence[str]) -> dict[str, Any]:
        """The row as the API's JSON gives it: the period, the label, the groups asked for, the count."""
        row: dict[str, Any] = {"period": self.period.isoformat() if self.period else None, "label": self.label}
        if "speaker" in group_by:
            row["speaker"] = self.speaker
            row["speaker_name"] = self.speaker_name
        if "country" in group_by:
            row["country"] = self.country
        if "target" in group_by:
            row["target"] = self.target
            row["target_name"] = self.target_name
        row["count"] = self.count
        return row


def csv_columns(group_by: Sequence[str]) -> list[str]:
    """The CSV's header: the keys of ``StanceCount.as_dict`` in order."""
    return list(StanceCount(period=None, label="", count=0).as_dict(group_by))


def stances_in_scope(
    quotes: QuerySet[Quote], *, target_ids: Iterable[int] | None = None, label: StanceLabel | None = None
) -> QuerySet[Quote]:
    """``quotes`` joined to the curated stances the statistics count: toward ``target_ids``, with ``label``.

    One row per stance in scope, read by ``stance_counts``. The conditions on
    the stance go in one ``filter()`` with the quote's, so that the counts
    group over that one join of the quotes' own query (a subquery of the quotes,
    ``Stance.objects.filter(quote__in=…)``, made PostgreSQL read every curated
    quote first).
    """
    conditions: dict[str, Any] = {
        "is_curated": True,
        "article__status": Article.Status.CURATED,
        "article__published_on__isnull": False,
        "stances__isnull": False,
    }
    if target_ids is not None:
        conditions["stances__target_id__in"] = sorted(target_ids)
    if label is not None:
        conditions["stances__label"] = label
    return quotes.filter(**conditions)


@dataclass(frozen=True)
class TallyFilter:
    """A statistics request's filters, when they are all ones the tallies keep: targets, a
    label, the speaker's country (``CountryTally``) or one speaker (``SpeakerStanceTally``),
    whole months of publication dates."""

    target_ids: frozenset[int] | None = None
    label: StanceLabel | None = None
    country: str = ""
    speaker: int | None = None  # one speaker's stances: SpeakerStanceTally
    after: datetime.date | None = None  # the first day of a month
    before: datetime.date | None = None  # the last day of a month


@dataclass(frozen=True)
class Scope:
    """The stances a statistics request counts (``stances_in_scope``), and, when its filters
    allow it, the same stances as the tally keeps them (``tally``): ``stance_counts`` reads
    the tally then, for counts by label, country and target."""

    stances: QuerySet[Quote]
    tally: TallyFilter | None = None


def stance_counts(scope: QuerySet[Quote] | Scope, *, interval: str, group_by: Sequence[str] = ()) -> list[StanceCount]:
    """The stances of ``scope`` (``stances_in_scope``, or a ``Scope``) counted by period, label
    and ``group_by``, in period, label and group order: one query."""
    if interval not in INTERVALS:
        raise ValueError(f"interval must be one of {', '.join(INTERVALS)}, not {interval!r}")
    unknown = set(group_by) - set(GROUPS)
    if unknown:
        raise ValueError(f"group_by takes {', '.join(GROUPS)}, not {', '.join(sorted(unknown))}")
    if isinstance(scope, Scope):
        # CountryTally keeps no speaker; one speaker's tally has them all.
        if scope.tally is not None and ("speaker" not in group_by or scope.tally.speaker is not None):
            return _counted(_from_tally(scope.tally, interval, group_by))
        scope = scope.stances
    columns = ["stances__label__slug", "stances__label__order"]
    for group in GROUPS:
        if group in group_by:
            columns += _GROUP_COLUMNS[group]
    rows = scope.order_by()
    if interval != "all":
        rows = rows.annotate(period=Trunc("article__published_on", interval, output_field=DateField()))
        columns.insert(0, "period")
    return _counted(rows.values(*columns).annotate(count=Count("stances")))


def _from_tally(tally: TallyFilter, interval: str, group_by: Sequence[str]) -> Iterable[dict[str, Any]]:
    """A tally's rows summed as ``stance_counts`` sums the stances, under the same names:
    one speaker's (``SpeakerStanceTally``, dated months only) or everyone's (``CountryTally``)."""
    rows: QuerySet[Any]
    columns: dict[str, Any] = {"stances__label__slug": F("label__slug"), "stances__label__order": F("label__order")}
    if tally.speaker is not None:
        rows = SpeakerStanceTally.objects.filter(speaker_id=tally.speaker, month__gt=UNDATED)
        country = F("speaker__country")
    else:
        rows = CountryTally.objects.filter(country=tally.country) if tally.country else CountryTally.objects.all()
        country = F("country")
    if tally.target_ids is not None:
        rows = rows.filter(target_id__in=sorted(tally.target_ids))
    if tally.label is not None:
        rows = rows.filter(label=tally.label)
    if tally.after is not None:
        rows = rows.filter(month__gte=tally.after)
    if tally.before is not None:
        rows = rows.filter(month__lte=tally.before)
    if interval != "all":
        columns["period"] = Trunc("month", interval, output_field=DateField())
    # One speaker's tally has the speaker's own columns under the stances' names.
    names = ["speaker_id", "speaker__name"] if "speaker" in group_by else []
    if "country" in group_by:
        columns["speaker__country"] = country
    if "target" in group_by:
        columns["stances__target__slug"] = F("target__slug")
        columns["stances__target__name"] = F("target__name")
    return cast(Iterable[dict[str, Any]], rows.order_by().values(*names, **columns).annotate(count=Sum("stances")))


def _counted(rows: Iterable[dict[str, Any]]) -> list[StanceCount]:
    counted = []
    for values in rows:
        counted.append(
            (
                values.get("period"),
                values["stances__label__order"],
                StanceCount(
                    period=values.get("period"),
                    label=values["stances__label__slug"],
                    count=values["count"],
                    speaker=values.get("speaker_id"),
                    speaker_name=values.get("speaker__name") or "",
                    country=values.get("speaker__country") or "",
                    target=values.get("stances__target__slug") or "",
                    target_name=values.get("stances__target__name") or "",
                ),
            )
        )
    counted.sort(
        key=lambda item: (
            item[0] or datetime.date.min,
            item[1],
            item[2].label,
            item[2].country,
            item[2].speaker_name,
            item[2].speaker or 0,
            item[2].target,
        )
    )
    return [row for _, _, row in counted]


# --- Periods ---------------------------------------------------------------------


def next_period(day: datetime.date, interval: str) -> datetime.date:
    months = {"month": 1, "quarter": 3, "year": 12}[interval]
    index = day.year * 12 + day.month - 1 + months
    return datetime.date(index // 12, index % 12 + 1, 1)


def period_name(day: datetime.date | None, interval: str) -> str:
    """2023-01, 2023 Q1 or 2023; "All" for the whole range."""
    if day is None:
        return "All"
    if interval == "year":
        return f"{day.year}"
    if interval == "quarter":
        return f"{day.year} Q{(day.month - 1) // 3 + 1}"
    return f"{day:%Y-%m}"


def periods_between(first: datetime.date, last: datetime.date, interval: str) -> list[datetime.date]:
    """Every period from ``first`` to ``last``, those without a stance included, so time reads evenly."""
    days = [first]
    while days[-1] < last:
        days.append(next_period(days[-1], interval))
    return days


# --- Groups: who or what a row belongs to -----------------------------------------


@dataclass
class Group:
    """A speaker, a country or a target with its counts per label."""

    key: Any
    name: str
    counts: dict[str, int] = field(default_factory=dict)
    cells: list[int] = field(default_factory=list)  # counts in the labels' order, for a table (``groups_of``)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def count_of(self, label: str) -> int:
        return self.counts.get(label, 0)

    def dominant(self, labels: Sequence[StanceLabel]) -> StanceLabel | None:
        """The label with the most stances; a tie goes to the label first in the taxonomy's order."""
        best = max(labels, key=lambda label: (self.counts.get(label.slug, 0), -labels.index(label)), default=None)
        return best if best is not None and self.counts.get(best.slug, 0) else None

    def label_counts(self, labels: Sequence[StanceLabel]) -> list[tuple[StanceLabel, int]]:
        return [(label, self.counts.get(label.slug, 0)) for label in labels]


def group_key(row: StanceCount, group: str) -> tuple[Any, str]:
    """A row's (key, display name) within ``group``: a speaker id, a country code or a target slug."""
    if group == "speaker":
        return row.speaker, row.speaker_name or "Unattributed"
    if group == "country":
        return row.country, row.country or "Unknown"
    return row.target, row.target_name


def groups_of(rows: Iterable[StanceCount], group: str, labels: Sequence[StanceLabel] = ()) -> list[Group]:
    """The rows summed per group (over periods and other groups), most stances first;
    with ``labels``, each group's ``cells`` hold its counts in their order."""
    groups: dict[Any, Group] = {}
    for row in rows:
        key, name = group_key(row, group)
        entry = groups.setdefault(key, Group(key, name))
        entry.counts[row.label] = entry.counts.get(row.label, 0) + row.count
    for entry in groups.values():
        entry.cells = [entry.counts.get(label.slug, 0) for label in labels]
    return sorted(groups.values(), key=lambda entry: (-entry.total, entry.name, str(entry.key)))


# --- Stance over time --------------------------------------------------------------


@dataclass
class Series:
    key: Any
    name: str
    colour: str


@dataclass
class StanceOverTime:
    """The counts of one chart: periods × series, the chart's geometry, and the same numbers as a table."""

    interval: str
    by: str
    periods: list[datetime.date]
    series: list[Series]
    table: list[tuple[str, list[int], int]]  # (period name, count per series, total)
    chart: charts.StackedChart
    total: int

    @property
    def empty(self) -> bool:
        return self.total == 0


def stance_over_time(
    rows: Sequence[StanceCount], *, interval: str, by: str, labels: Sequence[StanceLabel], most: int = 7
) -> StanceOverTime:
    """Rows of ``stance_counts`` (grouped by ``by`` unless it is "label") as a stacked bar per period.

    Stacked by label, in the taxonomy's colours; by country or speaker, the
    ``most`` with the most stances in their own colours and the rest as "Other".
    """
    if interval == "all" or by not in SERIES:
        raise ValueError("a chart over time needs interval month, quarter or year and by label, country or speaker")
    if by == "label":
        series = [Series(label.slug, label.name, label.colour) for label in labels]

        def series_of(row: StanceCount) -> Any:
            return row.label

    else:
        ranked = groups_of(rows, by)
        series = [
            Series(group.key, group.name, PALETTE[index % len(PALETTE)]) for index, group in enumerate(ranked[:most])
        ]
        kept = {entry.key for entry in series}
        if len(ranked) > most:
            series.append(Series("__other__", f"Other ({len(ranked) - most})", OTHER_COLOUR))

        def series_of(row: StanceCount) -> Any:
            key, _ = group_key(row, by)
            return key if key in kept else "__other__"

    counts: dict[tuple[datetime.date, Any], int] = defaultdict(int)
    for row in rows:
        if row.period is not None:
            counts[(row.period, series_of(row))] += row.count
    dated = sorted({period for period, _ in counts})
    periods = periods_between(dated[0], dated[-1], interval) if dated else []
    table = []
    for period in periods:
        values = [counts.get((period, entry.key), 0) for entry in series]
        table.append((period_name(period, interval), values, sum(values)))
    chart = charts.stacked_bar_chart(
        [name for name, _, _ in table],
        [(entry.name, entry.colour) for entry in series],
        [values for _, values, _ in table],
    )
    return StanceOverTime(interval, by, periods, series, table, chart, sum(total for _, _, total in table))


def stance_over_time_chart(
    quotes: QuerySet[Quote],
    *,
    interval: str = "month",
    by: str = "label",
    target_ids: Iterable[int] | None = None,
    label: StanceLabel | None = None,
) -> StanceOverTime:
    """One call for a page: the curated stances of ``quotes`` over time, stacked by ``by``.

    ``quotes`` is what the user may read, narrowed as the page likes (a speaker's
    quotes: ``Quote.objects.visible_to(user).filter(speaker=speaker)``). Draw the
    result with ``{% include "annotations/_stats.html#stance-chart" %}``. Two
    queries (the labels, the counts) whatever the data.
    """
    labels = list(StanceLabel.objects.all())
    group_by = [] if by == "label" else [by]
    rows = stance_counts(
        stances_in_scope(quotes, target_ids=target_ids, label=label), interval=interval, group_by=group_by
    )
    return stance_over_time(rows, interval=interval, by=by, labels=labels)
