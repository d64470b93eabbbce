"""The curated layer, counted ahead: tallies kept equal to it in the transaction of every change.

- ``CountryTally``: curated stances per month, target, label and speaker's country
  (the stance statistics, the target pages, the compare matrix);
- ``SpeakerStanceTally``: a speaker's curated stances per month, target and label
  (their label counts and stance over time, the statistics filtered by speaker);
- ``SpeakerQuoteTally``: a speaker's curated quotes per publication day (their quote
  count, first and last quoted, on their page, the index and the API).

A change to the curated layer runs inside ``tallied(article_ids)``: the
articles' contribution to each tally is read before the change and after it,
in the same transaction, and the difference is added. So a tally is never
refreshed after the fact and can't go stale, whatever the change was, as long
as it says which articles it touches:

- ``Article.mark_curated`` (the article's stances start counting);
- ``Quote.annotate`` and ``Quote.remove`` of a curated quote on a curated article
  (the curation page's edits, drops and undos);
- ``Speaker.merge`` and a speaker's country corrected (the articles of their
  curated quotes), ``Target.merge_into``, an article's date changed.

``stats.stance_counts`` reads a tally when the statistics' filters are ones it
keeps (target and the targets below it, label, speaker's country or one speaker,
whole months of publication dates) and counts the stances otherwise.
``manage.py tally --check`` compares the tallies with a count from scratch.
"""

from __future__ import annotations

import calendar
import datetime
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from django.apps import apps as installed_apps
from django.db import connections, router, transaction
from django.db.models import Count, DateField, F, Value
from django.db.models.functions import Coalesce, Trunc

from .models import Article

# The day (and month) the speaker tallies count an undated article's quotes under:
# in a speaker's totals, in no period of the statistics.
UNDATED = datetime.date(1, 1, 1)

Key = tuple[Any, ...]


@dataclass(frozen=True)
class Tally:
    """One tally table: its model, the columns of a row's key, the counted column, and how
    the curated layer of some articles (all of them: ``None``) counts into it."""

    model_name: str
    keys: tuple[str, ...]
    measure: str
    count: Callable[[Any, list[int] | None], Counter[Key]]

    def model(self, apps: Any = None) -> Any:
        return (apps or installed_apps).get_model("annotations", self.model_name)


def _all(apps: Any, model_name: str) -> Any:
    """Every row of a model: the installed one, or a migration's historical one."""
    model: Any = (apps or installed_apps).get_model("annotations", model_name)
    return model.objects.all()


def _curated(queryset: Any, prefix: str = "") -> Any:
    """Curated quotes (or their stances, with ``prefix="quote__"``) of curated articles."""
    return queryset.filter(**{f"{prefix}is_curated": True, f"{prefix}article__status": Article.Status.CURATED})


def _of(queryset: Any, ids: list[int] | None, field: str) -> Any:
    return queryset if ids is None else queryset.filter(**{f"{field}__in": ids})


def _counted(rows: Any) -> Counter[Key]:
    return Counter({tuple(row[:-1]): row[-1] for row in rows})


def by_country(apps: Any, ids: list[int] | None) -> Counter[Key]:
    """The statistics' tally: dated curated stances per month, target, label and speaker's country."""
    stances = _curated(_all(apps, "Stance"), "quote__")
    stances = _of(stances.filter(quote__article__published_on__isnull=False), ids, "quote__article_id")
    return _counted(
        stances.order_by()
        .annotate(
            month_=Trunc("quote__article__published_on", "month", output_field=DateField()),
            country_=Coalesce("quote__speaker__country", Value("")),
        )
        .values_list("month_", "target_id", "label_id", "country_")
        .annotate(n=Count("id"))
    )


def by_speaker_stance(apps: Any, ids: list[int] | None) -> Counter[Key]:
    """A speaker's curated stances per month (UNDATED for undated articles), target and label."""
    stances = _curated(_all(apps, "Stance"), "quote__")
    stances = _of(stances.filter(quote__speaker__isnull=False), ids, "quote__article_id")
    day = Coalesce("quote__article__published_on", Value(UNDATED), output_field=DateField())
    return _counted(
        stances.order_by()
        .annotate(month_=Trunc(day, "month", output_field=DateField()))
        .values_list("quote__speaker_id", "month_", "target_id", "label_id")
        .annotate(n=Count("id"))
    )


def by_speaker_quote(apps: Any, ids: list[int] | None) -> Counter[Key]:
    """A speaker's curated quotes per publication day (UNDATED for undated articles)."""
    quotes = _curated(_all(apps, "Quote"))
    quotes = _of(quotes.filter(speaker__isnull=False), ids, "article_id")
    return _counted(
        quotes.order_by()
        .annotate(day_=Coalesce("article__published_on", Value(UNDATED), output_field=DateField()))
        .values_list("speaker_id", "day_")
        .annotate(n=Count("id"))
    )


COUNTRY = Tally("CountryTally", ("month", "target_id", "label_id", "country"), "stances", by_country)
SPEAKER_STANCES = Tally(
    "SpeakerStanceTally", ("speaker_id", "month", "target_id", "label_id"), "stances", by_speaker_stance
)
SPEAKER_QUOTES = Tally("SpeakerQuoteTally", ("speaker_id", "day"), "quotes", by_speaker_quote)
TALLIES = (COUNTRY, SPEAKER_STANCES, SPEAKER_QUOTES)


# The articles an enclosing ``tallied`` answers for, in this thread: a change nested in
# another (a speaker's country corrected while a loader curates an article) leaves
# those to the outer one, whose "before" was read first; counting them twice would
# double the change.
_covered = threading.local()


@contextmanager
def tallied(article_ids: Iterable[int]) -> Iterator[None]:
    """Run a change to these articles' curated layer and move every tally with it, atomically."""
    outer: frozenset[int] = getattr(_covered, "ids", frozenset())
    ids = sorted(set(article_ids) - outer)
    with transaction.atomic():
        # The articles' rows are locked first, in id order: under READ COMMITTED a second
        # change to the same articles committed between this one's "before" and "after"
        # would be counted in both differences. Every change to the curated layer comes
        # through here, so they take turns per article.
        list(Article.objects.select_for_update().filter(pk__in=ids).order_by("pk").values_list("pk", flat=True))
        before = [tally.count(None, ids) if ids else Counter() for tally in TALLIES]
        _covered.ids = outer | set(ids)
        try:
            yield
        finally:
            _covered.ids = outer
        for tally, counted in zip(TALLIES, before, strict=True):
            delta = tally.count(None, ids) if ids else Counter()
            delta.subtract(counted)
            add(tally, {key: count for key, count in delta.items() if count})


def add(tally: Tally, delta: dict[Key, int]) -> None:
    """Add ``delta`` to the tally's rows (an UPSERT a row), dropping the rows that reach zero."""
    if not delta:
        return
    model = tally.model()
    connection = connections[router.db_for_write(model)]
    quote = connection.ops.quote_name
    table, measure = quote(model._meta.db_table), quote(tally.measure)
    keys = ", ".join(quote(key) for key in tally.keys)
    values = ", ".join(["%s"] * (len(tally.keys) + 1))
    # Names from the models, values as parameters.
    sql = (
        f"INSERT INTO {table} ({keys}, {measure}) VALUES ({values}) "  # noqa: S608  # nosec B608
        f"ON CONFLICT ({keys}) DO UPDATE SET {measure} = {table}.{measure} + excluded.{measure}"
    )
    # One pass in key order: each write locks its row until commit, and two changes
    # that share rows (one moving a stance support → oppose, another oppose → support)
    # must take those locks in the same order, or each waits for the other.
    with connection.cursor() as cursor:
        for key in sorted(delta):
            count = delta[key]
            if count > 0:
                cursor.execute(sql, [*key, count])
            else:
                # Fewer: the row exists (they were counted in it), and an INSERT of a negative
                # count would fail the column's CHECK before ON CONFLICT is looked at.
                model.objects.filter(**dict(zip(tally.keys, key, strict=True))).update(
                    **{tally.measure: F(tally.measure) + count}
                )
    if any(count < 0 for count in delta.values()):
        model.objects.filter(**{tally.measure: 0}).delete()


def rebuild(apps: Any = None) -> dict[str, int]:
    """Count every tally again from the curated layer; return their rows. (``apps``: the
    migrations' historical models, with which migrations 0019 and 0020 fill them.)"""
    rows = {}
    with transaction.atomic():
        for tally in TALLIES:
            model = tally.model(apps)
            model.objects.all().delete()
            counted = tally.count(apps, None)
            model.objects.bulk_create(
                (
                    model(**dict(zip(tally.keys, key, strict=True)), **{tally.measure: count})
                    for key, count in counted.items()
                ),
                batch_size=5000,
            )
            rows[tally.model_name] = len(counted)
    return rows


def differences() -> dict[tuple[str, Key], tuple[int, int]]:
    """Where a tally and a count from scratch disagree: (tally, key) → (stored, counted)."""
    found = {}
    for tally in TALLIES:
        counted = tally.count(None, None)
        stored = _counted(tally.model().objects.values_list(*tally.keys, tally.measure))
        for key in set(counted) | set(stored):
            if stored[key] != counted[key]:
                found[(tally.model_name, key)] = (stored[key], counted[key])
    return found


# --- Reading -------------------------------------------------------------------------


def whole_months(after: datetime.date | None, before: datetime.date | None) -> bool:
    """Whether a date range starts and ends on month boundaries, as the tally's periods do."""
    if after is not None and after.day != 1:
        return False
    return before is None or before.day == calendar.monthrange(before.year, before.month)[1]
