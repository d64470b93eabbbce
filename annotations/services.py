"""Operations that span several models: building a release.

A release freezes the curated dataset as files in default storage, written
once and served byte for byte forever; its checksum is what a paper cites.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Mapping
from typing import Any, cast

from django.core.files import File
from django.db import connection, transaction
from django.db.models import Count, QuerySet
from django.http import QueryDict

from . import exporters
from .filters import QuoteFilter
from .models import Guidelines, Quote, Release, ReleaseFile

# Every format a release carries; JSONL is the reference (Release.sha256).
RELEASE_FORMATS = ("jsonl", "csv", "xlsx", "w3c", "doccano", "labelstudio")
# Filters a release may freeze: those of GET /quotes/, less the ones that don't
# describe a dataset (the layer is always curated; ordering is presentation).
RELEASE_FILTERS = tuple(name for name in QuoteFilter.base_filters if name not in {"layer", "annotator", "ordering"})


class ReleaseError(Exception):
    """The release can't be built; ``errors`` maps field names to messages."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        self.errors = errors
        super().__init__(str(errors))


def release_quotes(filters: Mapping[str, str], user: Any) -> QuerySet[Quote]:
    """The curated quotes ``filters`` select, as ``user`` sees them; refuse what isn't a release filter."""
    unknown = sorted(set(filters) - set(RELEASE_FILTERS))
    if unknown:
        raise ReleaseError(
            {"filters": [f"Unknown release filter(s): {', '.join(unknown)}. Use: {', '.join(RELEASE_FILTERS)}."]}
        )
    data = QueryDict(mutable=True)
    data.update({name: str(value) for name, value in filters.items()})
    data["layer"] = Quote.Layer.CURATED
    filterset = QuoteFilter(data, queryset=Quote.objects.visible_to(user))
    if not filterset.is_valid():
        raise ReleaseError({"filters": [f"{name}: {' '.join(errors)}" for name, errors in filterset.errors.items()]})
    return filterset.qs.order_by("id")


def build_release(*, name: str, note: str, filters: Mapping[str, str], user: Any) -> Release:
    """Freeze the curated quotes that ``filters`` select as release ``name``, one file per format."""
    if Release.objects.filter(name=name).exists():
        raise ReleaseError({"name": [f"A release named '{name}' already exists; releases never change."]})
    stored: list[str] = []
    try:
        # All files must describe the same rows. PostgreSQL's READ COMMITTED
        # would let an edit that commits between two formats into one and not
        # the other; REPEATABLE READ gives every query the same snapshot. (On
        # SQLite the IMMEDIATE transaction already keeps writers out.)
        starts_transaction = not connection.in_atomic_block
        with transaction.atomic():
            if starts_transaction and connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            quotes = release_quotes(filters, user)
            quote_count = quotes.count()
            if quote_count == 0:
                raise ReleaseError({"filters": ["No curated quotes match: a release must hold data."]})
            release = Release.objects.create(
                name=name,
                note=note,
                filters=dict(filters),
                quote_count=quote_count,
                article_count=quotes.values("article_id").distinct().count(),
                created_by=user,
            )
            release.datasheet = release_datasheet(release, quotes)
            for fmt in RELEASE_FORMATS:
                release_file = _write_file(release, fmt, quotes)
                # cast: FieldFile.save() has just set the name the storage chose.
                stored.append(cast(str, release_file.file.name))
                if fmt == "jsonl":
                    release.sha256 = release_file.sha256
            release.save(update_fields=["sha256", "datasheet"])
    except BaseException:
        # The rows roll back with the transaction; the files must go by hand.
        for path in stored:
            ReleaseFile.file.field.storage.delete(path)
        raise
    return release


def release_datasheet(release: Release, quotes: QuerySet[Quote]) -> str:
    """The release's README in Markdown: what it holds, and which guidelines versions its
    quotes were made under (each quote's ``guidelines_version``), so a paper can cite them."""
    counts = dict(
        quotes.order_by()
        .values_list("guidelines_version")
        .annotate(quotes=Count("id"))
        .values_list("guidelines_version", "quotes")
    )
    versions = {g.number: g for g in Guidelines.objects.filter(number__in=[n for n in counts if n is not None])}
    lines = [
        f"# Demarche release {release.name}",
        "",
        f"{release.quote_count} curated quotes from {release.article_count} articles.",
        "",
        "## Annotation guidelines",
        "",
        "Each quote's `guidelines_version` names the version of the annotation guidelines "
        "current when it was made; the guidelines page keeps every version (`/guidelines/v<N>/`).",
        "",
    ]
    for number in sorted(n for n in counts if n is not None):
        guidelines = versions.get(number)
        when = f", {guidelines.created_at:%Y-%m-%d}: {guidelines.note}" if guidelines else ""
        lines.append(f"- Guidelines v{number}{when} ({counts[number]} quotes)")
    if None in counts:
        lines.append(f"- No guidelines yet ({counts[None]} quotes made before the first version)")
    if release.note:
        lines += ["", "## Changes", "", release.note]
    if release.filters:
        lines += ["", "## Filters", ""]
        lines += [f"- `{name}` = `{value}`" for name, value in sorted(release.filters.items())]
    return "\n".join(lines) + "\n"


def _write_file(release: Release, fmt: str, quotes: QuerySet[Quote]) -> ReleaseFile:
    spec = exporters.FORMATS[fmt]
    digest = hashlib.sha256()
    size = 0
    with tempfile.TemporaryFile() as spool:
        for data in exporters.export(quotes, fmt, iri=exporters.release_iri(release.name)):
            digest.update(data)
            spool.write(data)
            size += len(data)
        spool.seek(0)
        release_file = ReleaseFile(release=release, format=fmt, sha256=digest.hexdigest(), size=size)
        name = f"{release.pk}-{release.name}/demarche-{release.name}-{fmt}.{spec.extension}"
        release_file.file.save(name, File(spool), save=False)
    release_file.save()
    return release_file
