"""The curated stances, counted ahead: ``CountryTally`` kept equal to the curated layer.

A change to the curated layer runs inside ``tallied(article_ids)``: the
articles' contribution to the tally (their curated stances counted per month,
target, label and speaker's country) is read before the change and after it,
in the same transaction, and the difference is added to the tally. So the
tally is never refreshed after the fact and can't go stale, whatever the change
was, as long as it says which articles it touches:

- ``Article.mark_curated`` (the article's stances start counting);
- ``Quote.annotate`` and ``Quote.remove`` of a curated quote on a curated article
  (the curation page's edits, drops and undos);
- ``Speaker.merge`` and a speaker's country corrected (the articles of their
  curated quotes), ``Target.merge_into``, an article's date changed.

``counts`` answers the statistics from the tally when their filters are ones it
keeps (target and the targets below it, label, speaker's country, whole months
of publication dates; by country and/or target); ``stats.stance_counts`` counts
the stances otherwise. ``manage.py tally --check`` compares the tally with a
count from scratch.
"""

from __future__ import annotations

import calendar
import datetime
import threading
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from django.db import connections, router, transaction
from django.db.models import Count, DateField, F, Value
from django.db.models.functions import Coalesce, Trunc

from .models import Article, CountryTally, Stance

Key = tuple[datetime.date, int, int, str]  # (month, target id, label id, country)


def curated_stances(stances: Any = None) -> Any:
    """The stances the tally counts: curated stances of curated, dated articles."""
    stances = Stance.objects.all() if stances is None else stances
    return stances.filter(
        quote__is_curated=True,
        quote__article__status=Article.Status.CURATED,
        quote__article__published_on__isnull=False,
    )


def contribution(stances: Any) -> Counter[Key]:
    """``stances`` (``curated_stances``) counted per tally row."""
    rows = (
        stances.order_by()
        .annotate(
            month=Trunc("quote__article__published_on", "month", output_field=DateField()),
            country=Coalesce("quote__speaker__country", Value("")),
        )
        .values_list("month", "target_id", "label_id", "country")
        .annotate(count=Count("id"))
    )
    return Counter({(month, target, label, country): count for month, target, label, country, count in rows})


def of_articles(article_ids: Iterable[int]) -> Counter[Key]:
    ids = sorted(set(article_ids))
    if not ids:
        return Counter()
    return contribution(curated_stances().filter(quote__article_id__in=ids))


# The articles an enclosing ``tallied`` answers for, in this thread: a change nested in
# another (a speaker's country corrected while a loader curates an article) leaves
# those to the outer one, whose "before" was read first; counting them twice would
# double the change.
_covered = threading.local()


@contextmanager
def tallied(article_ids: Iterable[int]) -> Iterator[None]:
    """Run a change to these articles' curated stances and move the tally with it, atomically."""
    outer: frozenset[int] = getattr(_covered, "ids", frozenset())
    ids = sorted(set(article_ids) - outer)
    with transaction.atomic():
        before = of_articles(ids)
        _covered.ids = outer | set(ids)
        try:
            yield
        finally:
            _covered.ids = outer
        after = of_articles(ids)
        delta = Counter(after)
        delta.subtract(before)
        add({key: count for key, count in delta.items() if count})


def add(delta: dict[Key, int]) -> None:
    """Add ``delta`` to the tally rows (an UPSERT a row), dropping the rows that reach zero."""
    if not delta:
        return
    connection = connections[router.db_for_write(CountryTally)]
    quote = connection.ops.quote_name
    table = quote(CountryTally._meta.db_table)
    month, target, label, country, stances = map(quote, ["month", "target_id", "label_id", "country", "stances"])
    sql = (
        f"INSERT INTO {table} ({month}, {target}, {label}, {country}, {stances}) "  # noqa: S608 (names are ours)
        f"VALUES (%s, %s, %s, %s, %s) ON CONFLICT ({month}, {target}, {label}, {country}) "
        f"DO UPDATE SET {stances} = {table}.{stances} + excluded.{stances}"
    )
    positive = [(*key, count) for key, count in delta.items() if count > 0]
    with connection.cursor() as cursor:
        if positive:
            cursor.executemany(sql, positive)
    # Fewer stances: the row exists (they were counted in it), and an INSERT of a
    # negative count would fail the column's CHECK before ON CONFLICT is looked at.
    for (period, target_id, label_id, code), count in delta.items():
        if count < 0:
            CountryTally.objects.filter(month=period, target_id=target_id, label_id=label_id, country=code).update(
                stances=F("stances") + count
            )
    if any(count < 0 for count in delta.values()):
        CountryTally.objects.filter(stances=0).delete()


def rebuild(tally_model: Any = CountryTally, stance_model: Any = Stance) -> int:
    """Count the tally again from the curated stances; return its rows. (The models are
    parameters for migration 0019, which fills the tally with its historical models.)"""
    with transaction.atomic():
        tally_model.objects.all().delete()
        counted = contribution(curated_stances(stance_model.objects.all()))
        tally_model.objects.bulk_create(
            (
                tally_model(month=month, target_id=target, label_id=label, country=country, stances=count)
                for (month, target, label, country), count in counted.items()
            ),
            batch_size=5000,
        )
    return len(counted)


def differences() -> dict[Key, tuple[int, int]]:
    """Where the tally and a count from scratch disagree: key → (tally, count)."""
    counted = contribution(curated_stances())
    stored = Counter(
        {
            (month, target, label, country): count
            for month, target, label, country, count in CountryTally.objects.values_list(
                "month", "target_id", "label_id", "country", "stances"
            )
        }
    )
    return {key: (stored[key], counted[key]) for key in set(counted) | set(stored) if stored[key] != counted[key]}


# --- Reading -------------------------------------------------------------------------


def whole_months(after: datetime.date | None, before: datetime.date | None) -> bool:
    """Whether a date range starts and ends on month boundaries, as the tally's periods do."""
    if after is not None and after.day != 1:
        return False
    return before is None or before.day == calendar.monthrange(before.year, before.month)[1]
