"""Dataset exports: generators of ``str`` chunks, shared by the API, the
``export_dataset`` command and releases.

Quotes are read with ``.iterator(chunk_size=…)``: Django prefetches stances,
provenance and articles once per chunk, so the number of queries grows with
the number of chunks, not of quotes, and memory stays flat whatever the size.
JSONL on PostgreSQL is the exception: the database writes the lines itself
and streams them through one COPY: the same bytes, nearly as fast as COPY alone.

Every format states its offset convention, and every one counts Unicode code
points, end exclusive: Demarche's own (JSONL, CSV, XLSX, and Parquet, the
JSONL's values typed), W3C's TextPositionSelector ("character positions"),
doccano (Python ``str`` offsets) and Label Studio, whose own exports count
code points too (1.23.2 stored a region after three emoji as ``start 31,
end 47``: ``text[31:47]``).

Research data stays exact: no format changes a string. CSV cells are what the
database holds, formulas included; spreadsheet users get XLSX, whose text
cells are typed as strings, which a spreadsheet shows and never evaluates.
"""

from __future__ import annotations

import csv
import datetime
import io
import json
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import batched, groupby
from typing import Any, cast
from urllib.parse import urlencode

import pyarrow as pa
import pyarrow.parquet as pq
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Field, Prefetch, QuerySet
from django.utils import timezone
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from .models import Article, Quote, Stance
from .serializers import OFFSETS_CONVENTION, quote_representations, quote_rows

CHUNK_SIZE = 2000
# Bytes of output gathered before a chunk is handed on: fewer, larger writes
# to the socket or file, still a small, constant amount of memory.
FLUSH_AT = 64 * 1024
CONTEXT_CHARS = 32
W3C_CONTEXT = "http://www.w3.org/ns/anno.jsonld"
# Where the JSON-LD terms Demarche adds to Web Annotations are defined.
DEMARCHE_VOCAB = "urn:x-demarche:vocab#"

Progress = Callable[[int], object]  # tqdm's update() answers a bool nobody reads


@dataclass(frozen=True)
class ExportFormat:
    name: str
    media_type: str
    extension: str
    # Text formats yield ``str`` (written as UTF-8); binary ones yield ``bytes``.
    writer: Callable[..., Iterator[str]] | Callable[..., Iterator[bytes]]
    description: str
    binary: bool = False
    # The format names the export itself (W3C's collection and page ``id``).
    identified: bool = False


def export_iri(location: str, query: Mapping[str, str]) -> str:
    """A stable IRI for an export: its URL (``location``) with its parameters, sorted.

    The same filters give the same IRI, whoever runs the export and in whatever
    order they typed the parameters. With no location (a command run with no
    ``--base-url``) the parameters go into a ``urn:x-demarche:export:`` URN.
    """
    parameters = urlencode(sorted((name, value) for name, value in query.items() if value not in (None, "")))
    if not location:
        return f"urn:x-demarche:export:quotes:{parameters}"
    return f"{location}?{parameters}"


def release_iri(name: str) -> str:
    """The IRI of a release's W3C collection: release names are unique and never reused."""
    return f"urn:x-demarche:release:{name}"


def optimise(queryset: QuerySet[Quote], *, article_text: bool = False) -> QuerySet[Quote]:
    """Shape a quote queryset for serialising: a bounded number of queries per chunk.

    Articles are prefetched (one instance per article per chunk) rather than
    joined, so an article's text is held once, not once per quote.
    """
    articles = Article.objects.all() if article_text else Article.objects.defer("text", "metadata")
    return queryset.select_related("speaker", "speaker_role", "addressee", "annotator").prefetch_related(
        Prefetch("article", queryset=articles),
        Prefetch("stances", queryset=Stance.objects.select_related("target", "label")),
        Prefetch("curated_from", queryset=Quote.objects.only("id")),
    )


def _iterate(queryset: QuerySet[Quote], chunk_size: int, progress: Progress | None) -> Iterator[Quote]:
    for quote in queryset.iterator(chunk_size=chunk_size):
        yield quote
        if progress is not None:
            progress(1)


def _buffered(pieces: Iterable[str]) -> Iterator[str]:
    buffer: list[str] = []
    size = 0
    for piece in pieces:
        buffer.append(piece)
        size += len(piece)
        if size >= FLUSH_AT:
            yield "".join(buffer)
            buffer, size = [], 0
    if buffer:
        yield "".join(buffer)


# Escaped inside JSON strings (still the same JSON value): text from the
# articles can't close a <script> or be sniffed as HTML if a consumer embeds a
# file in a page, and U+2028/U+2029 don't break JavaScript string literals.
# None of these characters occurs in JSON outside a string, so the escapes can
# be applied to whole lines, or to many lines at once.
_JSON_ESCAPES = (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("\u2028", "\\u2028"), ("\u2029", "\\u2029"))


def _inert(text: str) -> str:
    # str.replace, not str.translate: most text has none of these, and replace
    # finds that out several times faster than translate copies it.
    for char, escape in _JSON_ESCAPES:
        text = text.replace(char, escape)
    return text


def _json(value: Any) -> str:
    # UTF-8, not \uXXXX escapes: Hebrew and Arabic stay readable in the file.
    return _inert(json.dumps(value, ensure_ascii=False, separators=(",", ":")))


# --- JSONL: one quote per line, as the API returns it ---------------------------


def write_jsonl(
    queryset: QuerySet[Quote], *, chunk_size: int = CHUNK_SIZE, progress: Progress | None = None
) -> Iterator[str]:
    if _postgresql_can_write_lines(queryset):
        yield from _jsonl_by_postgresql(queryset, progress)
    else:
        yield from _jsonl_by_serializer(queryset, chunk_size, progress)


def _jsonl_by_serializer(queryset: QuerySet[Quote], chunk_size: int, progress: Progress | None) -> Iterator[str]:
    """The reference: each quote through the API's one rendering (``serializers.quote_representations``)."""

    def lines() -> Iterator[str]:
        for chunk in batched(quote_rows(queryset).iterator(chunk_size=chunk_size), chunk_size):
            for quote in quote_representations(list(chunk)):
                yield _json(quote) + "\n"
            if progress is not None:
                progress(len(chunk))

    yield from _buffered(lines())


# --- JSONL built by PostgreSQL --------------------------------------------------
#
# Python serialises a few thousand quotes a second at best, and a dataset has
# a million; PostgreSQL writes the same lines nearly as fast as it copies the
# rows. The SQL below spells out, key by key, what QuoteSerializer returns and
# _json writes, and the tests hold the two to the same bytes. Strings go
# through to_json(), which escapes exactly what json.dumps(ensure_ascii=False)
# escapes: the quote, the backslash and the control characters (as \n, \t …
# or a lowercase \u00XX).


def _sql_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _sql_object(*members: tuple[str, str]) -> str:
    """SQL for a JSON object with json.dumps's compact separators, from (key, SQL of the value's JSON) pairs.

    Concatenation with ||, not concat(): a NULL anywhere makes the whole line
    NULL, which the export refuses, rather than silently dropping a value.
    """
    pieces = []
    for index, (key, value) in enumerate(members):
        pieces += [_sql_literal(("," if index else "{") + json.dumps(key) + ":"), value]
    return "(" + " || ".join([*pieces, "'}'"]) + ")"


def _sql_string(column: str) -> str:
    return f"to_json({column})::text"


def _sql_number(column: str) -> str:
    return f"COALESCE({column}::text, 'null')"


def _sql_unless_null(column: str, value: str) -> str:
    return f"CASE WHEN {column} IS NULL THEN 'null' ELSE {value} END"


def _sql_float(column: str) -> str:
    # float8's text is Python's repr() but for whole numbers: 1 where Python
    # writes 1.0 (and -0 for -0.0). A confidence lies in 0–1 (a CHECK
    # constraint), away from 1e15, where the two start writing exponents at
    # different points.
    whole = f"{column} = trunc({column})"
    return f"CASE WHEN {column} IS NULL THEN 'null' WHEN {whole} THEN {column}::text || '.0' ELSE {column}::text END"


def _sql_date(column: str) -> str:
    return _sql_unless_null(column, f"""'"' || to_char({column}, 'YYYY-MM-DD') || '"'""")


def _sql_timestamp(column: str) -> str:
    # DRF's ISO 8601 in UTC: datetime.isoformat() leaves out a zero fraction,
    # and "+00:00" becomes "Z".
    iso = f"""to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')"""
    return f"""'"' || replace({iso}, '.000000Z', 'Z') || '"'"""


def _sql_list(aggregate: str) -> str:
    return f"'[' || COALESCE(({aggregate}), '') || ']'"


# The quote's own columns and those of the rows it points to, as (name in the
# SQL below, lookup on Quote). The caller's queryset selects them, so its
# filters, joins and ordering are the ones applied.
_LINE_COLUMNS = {
    "id": "id",
    "start": "start",
    "end": "end",
    "text": "text",
    "kind": "kind",
    "cue": "cue",
    "mention_start": "mention_start",
    "mention_end": "mention_end",
    "mention_text": "mention_text",
    "cue_start": "cue_start",
    "cue_end": "cue_end",
    "cue_text": "cue_text",
    "speaker_id": "speaker_id",
    "speaker_name": "speaker__name",
    "speaker_country": "speaker__country",
    "speaker_qid": "speaker__wikidata_qid",
    "role_id": "speaker_role_id",
    "role_title": "speaker_role__title",
    "role_organisation": "speaker_role__organisation",
    "addressee_id": "addressee_id",
    "addressee_name": "addressee__name",
    "addressee_country": "addressee__country",
    "attribution_group": "attribution_group",
    "parent_id": "parent_id",
    "article_id": "article_id",
    "article_title": "article__title",
    "article_outlet": "article__outlet",
    "article_published_on": "article__published_on",
    "article_url": "article__url",
    "is_curated": "is_curated",
    "annotator": f"annotator__{get_user_model().USERNAME_FIELD}",
    "version": "version",
    "guidelines_version": "guidelines_version",
    "created_at": "created_at",
    "updated_at": "updated_at",
}

# One stance as StanceSerializer writes it; t is its target, l its label.
_STANCE_SQL = _sql_object(
    ("target", _sql_object(("slug", _sql_string("t.slug")), ("name", _sql_string("t.name")))),
    ("label", _sql_string("l.slug")),
    ("intensity", _sql_number("st.intensity")),
    ("confidence", _sql_float("st.confidence")),
    ("note", _sql_string("st.note")),
)

# In id order, as the serializer's prefetch returns them. (Built from this module's
# constants, nothing from a request: hence the S608/B608 waivers here and below.)
_STANCES_SQL = f"""
    SELECT string_agg({_STANCE_SQL}, ',' ORDER BY st.id)
      FROM annotations_stance st
      JOIN annotations_target t ON t.id = st.target_id
      JOIN annotations_stancelabel l ON l.id = st.label_id
     WHERE st.quote_id = q.id
"""  # noqa: S608  # nosec B608

_CURATED_FROM_SQL = """
    SELECT string_agg(cf.to_quote_id::text, ',' ORDER BY cf.to_quote_id)
      FROM annotations_quote_curated_from cf
     WHERE cf.from_quote_id = q.id
"""


def _sql_span(prefix: str) -> str:
    return _sql_unless_null(
        f"q.{prefix}_start",
        _sql_object(
            ("start", f"q.{prefix}_start::text"),
            ("end", f"q.{prefix}_end::text"),
            ("text", _sql_string(f"q.{prefix}_text")),
        ),
    )


_QUOTE_LINE_SQL = _sql_object(
    ("id", "q.id::text"),
    ("start", "q.start::text"),
    ("end", 'q."end"::text'),
    ("text", _sql_string("q.text")),
    ("kind", _sql_string("q.kind")),
    ("cue", _sql_string("q.cue")),
    ("mention", _sql_span("mention")),
    ("cue_span", _sql_span("cue")),
    (
        "speaker",
        _sql_unless_null(
            "q.speaker_id",
            _sql_object(
                ("id", "q.speaker_id::text"),
                ("name", _sql_string("q.speaker_name")),
                ("country", _sql_string("q.speaker_country")),
                ("wikidata_qid", _sql_string("q.speaker_qid")),
                (
                    "role",
                    _sql_unless_null(
                        "q.role_id",
                        _sql_object(
                            ("title", _sql_string("q.role_title")),
                            ("organisation", _sql_string("q.role_organisation")),
                        ),
                    ),
                ),
            ),
        ),
    ),
    (
        "addressee",
        _sql_unless_null(
            "q.addressee_id",
            _sql_object(
                ("id", "q.addressee_id::text"),
                ("name", _sql_string("q.addressee_name")),
                ("country", _sql_string("q.addressee_country")),
            ),
        ),
    ),
    ("stances", _sql_list(_STANCES_SQL)),
    ("attribution_group", _sql_string("q.attribution_group")),
    ("parent", _sql_number("q.parent_id")),
    (
        "article",
        _sql_object(
            ("id", "q.article_id::text"),
            ("title", _sql_string("q.article_title")),
            ("outlet", _sql_string("q.article_outlet")),
            ("published_on", _sql_date("q.article_published_on")),
            ("url", _sql_string("q.article_url")),
        ),
    ),
    (
        "layer",
        f"CASE WHEN q.is_curated THEN '{json.dumps(Quote.Layer.CURATED)}' ELSE '{json.dumps(Quote.Layer.RAW)}' END",
    ),
    ("annotator", f"CASE WHEN q.is_curated OR q.annotator IS NULL THEN 'null' ELSE {_sql_string('q.annotator')} END"),
    ("curated_from", f"CASE WHEN q.is_curated THEN {_sql_list(_CURATED_FROM_SQL)} ELSE '[]' END"),
    ("version", "q.version::text"),
    ("guidelines_version", _sql_number("q.guidelines_version")),
    ("created_at", _sql_timestamp("q.created_at")),
    ("updated_at", _sql_timestamp("q.updated_at")),
    ("offsets_convention", _sql_literal(json.dumps(OFFSETS_CONVENTION))),
)


def _postgresql_can_write_lines(queryset: QuerySet[Quote]) -> bool:
    # DRF writes timestamps in the current time zone; the SQL above writes UTC.
    utc = settings.USE_TZ and timezone.get_current_timezone_name() == "UTC"
    return connections[queryset.db].vendor == "postgresql" and utc


def _jsonl_copy_statement(queryset: QuerySet[Quote], connection: BaseDatabaseWrapper) -> str:
    columns = queryset.values_list(*_LINE_COLUMNS.values())
    # elide_empty=False: a queryset that can match nothing (none(), pk__in=[]) still
    # compiles, to a query with no rows, rather than raising EmptyResultSet.
    sql, params = columns.query.get_compiler(connection=connection, elide_empty=False).as_sql()
    names = ", ".join(f'"{name}"' for name in _LINE_COLUMNS)
    # COPY takes no parameters: they are bound into the statement by psycopg, as literals.
    # (S608/B608: the f-string joins this module's SQL with the ORM's compiled SQL; no value
    # from a request is formatted into it — compose_sql binds those.)
    statement = f"COPY (SELECT {_QUOTE_LINE_SQL} FROM ({sql}) AS q({names})) TO STDOUT"  # noqa: S608  # nosec B608
    return connection.ops.compose_sql(statement, params)  # type: ignore[attr-defined]  # PostgreSQL's ops only, as here


def postgresql_renders(queryset: QuerySet[Quote]) -> bool:
    """Whether PostgreSQL can write these quotes as the API renders them (``rendered_quotes``)."""
    return _postgresql_can_write_lines(queryset)


_USER = get_user_model()
_USERNAME_COLUMN = cast("Field[Any, Any]", _USER._meta.get_field(_USER.USERNAME_FIELD)).column

# The columns _QUOTE_LINE_SQL reads (named as in _LINE_COLUMNS), for a quote q0 and the
# rows it points to: the joins the ORM makes for _LINE_COLUMNS' lookups, written out once.
_LINE_ROW_SQL = f"""
    SELECT q0.id, q0.start, q0."end", q0.text, q0.kind, q0.cue,
           q0.mention_start, q0.mention_end, q0.mention_text, q0.cue_start, q0.cue_end, q0.cue_text,
           q0.speaker_id, s.name, s.country, s.wikidata_qid,
           q0.speaker_role_id, r.title, r.organisation,
           q0.addressee_id, ad.name, ad.country,
           q0.attribution_group, q0.parent_id,
           q0.article_id, a.title, a.outlet, a.published_on, a.url,
           q0.is_curated, u."{_USERNAME_COLUMN}",
           q0.version, q0.guidelines_version, q0.created_at, q0.updated_at
      FROM annotations_quote q0
      JOIN annotations_article a ON a.id = q0.article_id
      LEFT JOIN annotations_speaker s ON s.id = q0.speaker_id
      LEFT JOIN annotations_speakerrole r ON r.id = q0.speaker_role_id
      LEFT JOIN annotations_speaker ad ON ad.id = q0.addressee_id
      LEFT JOIN "{_USER._meta.db_table}" u ON u.id = q0.annotator_id
     WHERE q0.id = page.id
"""  # noqa: S608  # nosec B608


def rendered_quotes(queryset: QuerySet[Quote], keys: Iterable[str] = ()) -> list[dict[str, Any]]:
    """The quotes of ``queryset`` (filtered, ordered and sliced as given), each one's JSON under
    ``"json"`` beside the values of the lookups ``keys`` (a cursor's keys), in one statement.

    The JSON is the JSONL export's line, written by PostgreSQL: what ``quote_representations``
    returns, encoded as ``_json`` encodes it but for the escapes, which are the caller's
    (``_inert`` for a file, DRF's renderer's for an API answer). Three queries and the
    rendering in Python (~2 ms for a page of ten) become one query. The ORM compiles only the
    ids and keys of the page (compiling the 35 columns of a line with their joins took ~1 ms).
    """
    connection = connections[queryset.db]
    keys = list(keys)
    page = queryset.values_list("id", *keys)
    sql, params = page.query.get_compiler(connection=connection, elide_empty=False).as_sql()
    return rendered_page(sql, params, keys, using=queryset.db)


def rendered_page(sql: str, params: Sequence[Any], keys: list[str], *, using: str) -> list[dict[str, Any]]:
    """``rendered_quotes`` for a page already compiled: ``sql`` selects the quotes' ids, then
    the values of ``keys``, in the page's order. Each row carries its quote's ``"id"`` too."""
    connection = connections[using]
    names = ", ".join(f'"{name}"' for name in _LINE_COLUMNS)
    selected = "".join(f", page.k{index}" for index in range(len(keys)))
    selected = f", page.id{selected}"
    page_columns = ", ".join(["id", *(f"k{index}" for index in range(len(keys)))])
    # The join may come out in any order: the rows are numbered as the page lists them.
    # (S608/B608: this module's SQL around the ORM's compiled SQL; the values are parameters.)
    statement = (
        f"SELECT {_QUOTE_LINE_SQL}{selected}"  # noqa: S608  # nosec B608
        f" FROM (SELECT *, row_number() OVER () AS n FROM ({sql}) AS p({page_columns})) AS page"
        f" CROSS JOIN LATERAL ({_LINE_ROW_SQL}) AS q({names}) ORDER BY page.n"
    )
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return [
            {"json": line, "id": quote_id, **dict(zip(keys, values, strict=True))}
            for line, quote_id, *values in cursor.fetchall()
        ]


def _jsonl_by_postgresql(queryset: QuerySet[Quote], progress: Progress | None) -> Iterator[str]:
    """The lines of _jsonl_by_serializer, written by PostgreSQL and streamed through COPY."""
    connection = connections[queryset.db]
    statement = _jsonl_copy_statement(queryset, connection)
    # wrap_database_errors: errors come out as Django's, as they would from a queryset.
    with connection.wrap_database_errors, connection.cursor() as cursor, cursor.copy(statement) as copy:
        lines: list[bytes] = []
        size = 0
        for line in copy:  # one row, one line, "\n" included
            lines.append(bytes(line))
            size += len(line)
            if size >= FLUSH_AT:
                yield _copied_lines(lines, progress)
                lines, size = [], 0
        if lines:
            yield _copied_lines(lines, progress)


def _copied_lines(lines: list[bytes], progress: Progress | None) -> str:
    data = b"".join(lines)
    if b"\\N\n" in data:
        raise RuntimeError("A quote's JSONL line came out NULL: a value the SQL does not expect.")
    if progress is not None:
        progress(len(lines))
    # COPY's text format doubles each backslash. It would also escape control
    # characters, tabs and newlines, but to_json() has already escaped those.
    return _inert(data.replace(b"\\\\", b"\\").decode("utf-8"))


# --- CSV and XLSX: one row per quote × target -----------------------------------
#
# The CSV is for pandas, R and the like, and it is exact: every cell is the
# value in the database, a text starting with "=" included. (A leading
# apostrophe against spreadsheet formulas would make a quote's text differ
# from the article between its offsets.) People who open the data in Excel,
# LibreOffice or Google Sheets take the XLSX, where text is typed as text.

CSV_COLUMNS = [
    "quote_id",
    "article_id",
    "article_title",
    "outlet",
    "published_on",
    "article_url",
    "start",
    "end",
    "text",
    "kind",
    "cue",
    "mention_start",
    "mention_end",
    "mention_text",
    "cue_start",
    "cue_end",
    "cue_text",
    "speaker_id",
    "speaker_name",
    "speaker_country",
    "speaker_wikidata_qid",
    "role_title",
    "role_organisation",
    "attribution_group",
    "layer",
    "annotator",
    "curated_from",
    "version",
    "target_slug",
    "target_name",
    "label",
    "semeval",
    "intensity",
    "confidence",
    "note",
    "offsets_convention",
]


def _csv_rows(quote: Quote) -> Iterator[list[Any]]:
    article, speaker, role = quote.article, quote.speaker, quote.speaker_role
    base = [
        quote.pk,
        article.pk,
        article.title,
        article.outlet,
        article.published_on.isoformat() if article.published_on else "",
        article.url,
        quote.start,
        quote.end,
        quote.text,
        quote.kind,
        quote.cue,
        quote.mention_start,
        quote.mention_end,
        quote.mention_text,
        quote.cue_start,
        quote.cue_end,
        quote.cue_text,
        speaker.pk if speaker else None,
        speaker.name if speaker else "",
        speaker.country if speaker else "",
        speaker.wikidata_qid if speaker else "",
        role.title if role else "",
        role.organisation if role else "",
        quote.attribution_group,
        "curated" if quote.is_curated else "raw",
        "" if quote.is_curated or quote.annotator is None else quote.annotator.get_username(),
        " ".join(str(pk) for pk in sorted(source.pk for source in quote.curated_from.all()))
        if quote.is_curated
        else "",
        quote.version,
    ]
    stances = list(quote.stances.all())
    if not stances:
        # A quote without a stance is still data (an attribution); one row, empty stance columns.
        yield [*base, "", "", "", "", None, None, "", OFFSETS_CONVENTION]
    for stance in stances:
        yield [
            *base,
            stance.target.slug,
            stance.target.name,
            stance.label.slug,
            stance.label.semeval,
            stance.intensity,
            stance.confidence,
            stance.note,
            OFFSETS_CONVENTION,
        ]


def write_csv(
    queryset: QuerySet[Quote], *, chunk_size: int = CHUNK_SIZE, progress: Progress | None = None
) -> Iterator[str]:
    def lines() -> Iterator[str]:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow(CSV_COLUMNS)
        for quote in _iterate(optimise(queryset), chunk_size, progress):
            # csv writes None as an empty cell.
            writer.writerows(_csv_rows(quote))
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
        yield buffer.getvalue()

    yield from _buffered(lines())


# Rows in one sheet of Excel, LibreOffice Calc and Google Sheets, the header included.
XLSX_MAX_ROWS = 1_048_576


# XML 1.0, and so an XLSX file, can't hold the C0 control characters other than
# tab and newline; OOXML writes them as _xHHHH_, which Excel and LibreOffice
# read back as the character.
def _xlsx_text(text: str) -> str:
    return ILLEGAL_CHARACTERS_RE.sub(lambda match: f"_x{ord(match.group()):04X}_", text)


def _xlsx_cell(sheet: Any, value: Any) -> Any:
    if value == "":
        return None  # an empty cell, as None is
    if not isinstance(value, str):
        return value  # numbers stay numbers
    cell = WriteOnlyCell(sheet, value=_xlsx_text(value))
    # openpyxl reads a value starting with "=" as a formula; a string-typed
    # cell is written as an inline string, which no spreadsheet evaluates.
    cell.data_type = "s"
    return cell


def _xlsx_sheet(workbook: Workbook, number: int) -> Any:
    sheet = workbook.create_sheet("quotes" if number == 1 else f"quotes {number}")
    sheet.append([_xlsx_cell(sheet, name) for name in CSV_COLUMNS])
    return sheet


def write_xlsx(
    queryset: QuerySet[Quote], *, chunk_size: int = CHUNK_SIZE, progress: Progress | None = None
) -> Iterator[bytes]:
    """The CSV's rows and columns as an Excel workbook, text cells typed as strings.

    openpyxl's write-only mode writes each row to a temporary file as it comes,
    so memory stays flat; the finished workbook (a zip) is then read out in chunks.
    Rows past a sheet's limit go on to another sheet ("quotes 2" …), each with
    the header: a spreadsheet refuses a longer sheet, and cutting it would lose rows.
    """
    workbook = Workbook(write_only=True)
    number, sheet, rows = 1, _xlsx_sheet(workbook, 1), 1
    for quote in _iterate(optimise(queryset), chunk_size, progress):
        for row in _csv_rows(quote):
            if rows == XLSX_MAX_ROWS:
                number += 1
                sheet, rows = _xlsx_sheet(workbook, number), 1
            sheet.append([_xlsx_cell(sheet, value) for value in row])
            rows += 1
    with tempfile.TemporaryFile() as spool:
        workbook.save(spool)
        spool.seek(0)
        while chunk := spool.read(FLUSH_AT):
            yield chunk


# --- W3C Web Annotation (JSON-LD AnnotationCollection) -------------------------


def _article_iri(article: Article) -> str:
    return f"urn:x-demarche:article:{article.pk}"


def w3c_annotation(quote: Quote) -> dict[str, Any]:
    """One quote as a Web Annotation: the span as the target, speaker, kind and stances as bodies."""
    article = quote.article
    text = article.text
    bodies: list[dict[str, Any]] = [
        {"type": "TextualBody", "purpose": "classifying", "value": quote.kind, "dm:facet": "kind"},
    ]
    if quote.speaker is not None:
        speaker = {
            "type": "TextualBody",
            "purpose": "identifying",
            "value": quote.speaker.name,
            "dm:facet": "speaker",
            "dm:speakerId": quote.speaker.pk,
        }
        if quote.speaker.wikidata_qid:
            speaker["dm:wikidata"] = f"http://www.wikidata.org/entity/{quote.speaker.wikidata_qid}"
        if quote.speaker_role is not None:
            speaker["dm:role"] = {"title": quote.speaker_role.title, "organisation": quote.speaker_role.organisation}
        bodies.append(speaker)
    for stance in quote.stances.all():
        bodies.append(
            {
                "type": "TextualBody",
                "purpose": "tagging",
                "value": stance.label.slug,
                "dm:facet": "stance",
                "dm:target": {"slug": stance.target.slug, "name": stance.target.name},
                "dm:semeval": stance.label.semeval,
                "dm:intensity": stance.intensity,
                "dm:confidence": stance.confidence,
            }
        )
    source: dict[str, Any] = {"id": _article_iri(article), "type": "Text", "title": article.title}
    if article.url:
        source["dm:url"] = article.url
    annotation: dict[str, Any] = {
        "id": f"urn:x-demarche:quote:{quote.pk}:v{quote.version}",
        "type": "Annotation",
        "motivation": "classifying",
        "created": quote.created_at.isoformat(),
        "modified": quote.updated_at.isoformat(),
        "body": bodies,
        "target": {
            "source": source,
            "selector": [
                {
                    "type": "TextQuoteSelector",
                    "exact": quote.text,
                    "prefix": text[max(0, quote.start - CONTEXT_CHARS) : quote.start],
                    "suffix": text[quote.end : quote.end + CONTEXT_CHARS],
                },
                # W3C counts code points here ("character positions"), as Demarche does.
                {"type": "TextPositionSelector", "start": quote.start, "end": quote.end},
            ],
        },
        "dm:layer": "curated" if quote.is_curated else "raw",
    }
    if quote.is_curated:
        annotation["dm:curatedFrom"] = [f"urn:x-demarche:quote:{source.pk}" for source in quote.curated_from.all()]
    elif quote.annotator is not None:
        annotation["creator"] = {"type": "Person", "nickname": quote.annotator.get_username()}
    return annotation


def write_w3c(
    queryset: QuerySet[Quote],
    *,
    iri: str,
    chunk_size: int = CHUNK_SIZE,
    progress: Progress | None = None,
) -> Iterator[str]:
    """An AnnotationCollection with ``id`` ``iri`` and its quotes in one embedded AnnotationPage.

    The data model requires a page to hold at least one annotation, so an
    export of nothing is a collection with ``total`` 0 and no ``first`` page.
    """

    def pieces() -> Iterator[str]:
        head = {
            "@context": [W3C_CONTEXT, {"dm": DEMARCHE_VOCAB}],
            "id": iri,
            "type": "AnnotationCollection",
            "label": "Demarche quotes: who said what, about what, with which stance",
            "dm:offsetsConvention": OFFSETS_CONVENTION,
            "total": queryset.count(),
        }
        page = {"id": f"{iri}#page-1", "type": "AnnotationPage", "partOf": iri, "startIndex": 0}
        yield _json(head)[:-1]
        index = -1
        for index, quote in enumerate(_iterate(optimise(queryset, article_text=True), chunk_size, progress)):
            if index == 0:
                yield ',"first":' + _json(page)[:-1] + ',"items":['
            yield ("," if index else "") + "\n" + _json(w3c_annotation(quote))
        yield "}\n" if index == -1 else "\n]}}\n"

    yield from _buffered(pieces())


# --- doccano and Label Studio: one record per article (and annotator) -----------


def _by_article(
    queryset: QuerySet[Quote], chunk_size: int, progress: Progress | None
) -> Iterator[tuple[Article, list[Quote]]]:
    ordered = optimise(queryset.order_by("article_id", "start", "-end", "id"), article_text=True)
    quotes = _iterate(ordered, chunk_size, progress)
    for _, group in groupby(quotes, key=lambda quote: quote.article_id):
        items = list(group)
        yield items[0].article, items


def _annotator(quote: Quote) -> str | None:
    """Whose quote this is, as the JSONL's ``annotator``: a username, or null for the curated layer."""
    if quote.is_curated or quote.annotator is None:
        return None
    return quote.annotator.get_username()


def _by_annotator(quotes: list[Quote]) -> list[tuple[str, str | None, list[Quote]]]:
    """(layer, annotator, quotes) per annotator of one article's quotes, in text order; curated first, as one."""
    groups: dict[tuple[str, str | None], list[Quote]] = {}
    for quote in quotes:
        groups.setdefault((Quote.Layer.CURATED if quote.is_curated else Quote.Layer.RAW, _annotator(quote)), []).append(
            quote
        )
    ordered = sorted(groups.items(), key=lambda item: (item[0][0] != Quote.Layer.CURATED, item[0][1] or ""))
    return [(layer, annotator, own) for (layer, annotator), own in ordered]


def _article_meta(article: Article) -> dict[str, Any]:
    return {
        "article_id": article.pk,
        "title": article.title,
        "outlet": article.outlet,
        "published_on": article.published_on.isoformat() if article.published_on else None,
        "url": article.url,
        "language": article.language,
    }


def span_label(quote: Quote) -> str:
    return quote.kind.upper()


def write_doccano(
    queryset: QuerySet[Quote], *, chunk_size: int = CHUNK_SIZE, progress: Progress | None = None
) -> Iterator[str]:
    """doccano sequence labelling JSONL: ``{"text", "label": [[start, end, "DIRECT"], …]}`` per article and annotator.

    doccano counts offsets in Python ``str`` indices, that is code points: no
    conversion. One record per annotator (the curated layer counts as one):
    two analysts' quotes over the same words would overlap, and a project
    without "Allow overlapping spans" drops overlapping spans without a word.
    Extra keys (``article_id``, ``annotator`` …) become the example's metadata on import.
    """

    def lines() -> Iterator[str]:
        for article, quotes in _by_article(queryset, chunk_size, progress):
            for layer, annotator, own in _by_annotator(quotes):
                record = {
                    "text": article.text,
                    "label": [[quote.start, quote.end, span_label(quote)] for quote in own],
                    **_article_meta(article),
                    "layer": layer,
                    "annotator": annotator,
                    "quote_ids": [quote.pk for quote in own],
                    "offsets_convention": OFFSETS_CONVENTION,
                }
                yield _json(record) + "\n"

    yield from _buffered(lines())


def write_labelstudio(
    queryset: QuerySet[Quote], *, chunk_size: int = CHUNK_SIZE, progress: Progress | None = None
) -> Iterator[str]:
    """Label Studio tasks (a JSON array) for a ``<Labels name="label" toName="text">`` config.

    Offsets count code points, as Label Studio's own exports do (1.23.2
    stored a region after three emoji as ``start 31, end 47``: Python's
    ``text[31:47]``), so emoji, flags and other characters beyond U+FFFF count
    as one. Each annotator's quotes become one annotation (Label Studio's unit
    of agreement); curated quotes form one annotation of their own.
    """

    def pieces() -> Iterator[str]:
        yield "["
        for index, (article, quotes) in enumerate(_by_article(queryset, chunk_size, progress)):
            annotations = []
            for layer, annotator, own in _by_annotator(quotes):
                result = [
                    {
                        "id": f"q{quote.pk}",
                        "from_name": "label",
                        "to_name": "text",
                        "type": "labels",
                        "value": {
                            "start": quote.start,
                            "end": quote.end,
                            "text": quote.text,
                            "labels": [span_label(quote)],
                        },
                    }
                    for quote in own
                ]
                who = "curated" if layer == Quote.Layer.CURATED else (annotator or "")
                annotations.append(
                    {"result": result, "meta": {"annotator": who, "offsets_convention": OFFSETS_CONVENTION}}
                )
            task = {"data": {"text": article.text, **_article_meta(article)}, "annotations": annotations}
            yield ("," if index else "") + "\n" + _json(task)
        yield "\n]\n"

    yield from _buffered(pieces())


# --- Parquet: the JSONL's quotes as one typed table ----------------------------
#
# One row per quote, exactly the JSON of the API (quote_representations, the one
# Python rendering), with its types declared: ints, strings, a date, UTC
# timestamps, and a quote's stances as list<struct<target, label, intensity,
# confidence, note>>. One row per quote rather than per stance: a quote without
# a stance is still a row, counts of quotes stay counts of quotes, and
# Hugging Face datasets reads a list of structs as a list of dicts. (The CSV is
# the flat view, one row per quote × target.)


def _field(name: str, type_: pa.DataType, *, nullable: bool = True) -> pa.Field:
    return pa.field(name, type_, nullable=nullable)


_PARQUET_SPAN = pa.struct(
    [
        _field("start", pa.int32(), nullable=False),
        _field("end", pa.int32(), nullable=False),
        _field("text", pa.string(), nullable=False),
    ]
)
_PARQUET_TIMESTAMP = pa.timestamp("us", tz="UTC")
PARQUET_SCHEMA = pa.schema(
    [
        _field("id", pa.int64(), nullable=False),
        _field("start", pa.int32(), nullable=False),
        _field("end", pa.int32(), nullable=False),
        _field("text", pa.string(), nullable=False),
        _field("kind", pa.string(), nullable=False),
        _field("cue", pa.string(), nullable=False),
        _field("mention", _PARQUET_SPAN),
        _field("cue_span", _PARQUET_SPAN),
        _field(
            "speaker",
            pa.struct(
                [
                    _field("id", pa.int64(), nullable=False),
                    _field("name", pa.string(), nullable=False),
                    _field("country", pa.string(), nullable=False),
                    _field("wikidata_qid", pa.string(), nullable=False),
                    _field("role", pa.struct([_field("title", pa.string()), _field("organisation", pa.string())])),
                ]
            ),
        ),
        _field(
            "addressee",
            pa.struct(
                [
                    _field("id", pa.int64(), nullable=False),
                    _field("name", pa.string(), nullable=False),
                    _field("country", pa.string(), nullable=False),
                ]
            ),
        ),
        _field(
            "stances",
            pa.list_(
                pa.struct(
                    [
                        _field(
                            "target",
                            pa.struct([_field("slug", pa.string()), _field("name", pa.string())]),
                            nullable=False,
                        ),
                        _field("label", pa.string(), nullable=False),
                        _field("intensity", pa.int8()),
                        _field("confidence", pa.float64()),
                        _field("note", pa.string(), nullable=False),
                    ]
                )
            ),
            nullable=False,
        ),
        _field("attribution_group", pa.string(), nullable=False),
        _field("parent", pa.int64()),
        _field(
            "article",
            pa.struct(
                [
                    _field("id", pa.int64(), nullable=False),
                    _field("title", pa.string(), nullable=False),
                    _field("outlet", pa.string(), nullable=False),
                    _field("published_on", pa.date32()),
                    _field("url", pa.string(), nullable=False),
                ]
            ),
            nullable=False,
        ),
        _field("layer", pa.string(), nullable=False),
        _field("annotator", pa.string()),
        _field("curated_from", pa.list_(pa.int64()), nullable=False),
        _field("version", pa.int32(), nullable=False),
        _field("guidelines_version", pa.int32()),
        _field("created_at", _PARQUET_TIMESTAMP, nullable=False),
        _field("updated_at", _PARQUET_TIMESTAMP, nullable=False),
        _field("offsets_convention", pa.string(), nullable=False),
    ],
    metadata={
        "offsets_convention": OFFSETS_CONVENTION,
        "description": "Demarche quotes: who said what, about what, with which stance",
    },
)


def _parquet_row(quote: dict[str, Any]) -> dict[str, Any]:
    """The API's JSON of a quote with its date and timestamps typed (the rest is already typed)."""
    article = quote["article"]
    published_on = article["published_on"]
    return {
        **quote,
        "article": {**article, "published_on": published_on and datetime.date.fromisoformat(published_on)},
        "created_at": datetime.datetime.fromisoformat(quote["created_at"]),
        "updated_at": datetime.datetime.fromisoformat(quote["updated_at"]),
    }


def write_parquet(
    queryset: QuerySet[Quote], *, chunk_size: int = CHUNK_SIZE, progress: Progress | None = None
) -> Iterator[bytes]:
    """The quotes as a Parquet file with ``PARQUET_SCHEMA``, one row group per chunk.

    Parquet's footer comes last, so the file is written to a temporary file
    (memory stays flat) and then read out in chunks.
    """
    with tempfile.TemporaryFile() as spool:
        with pq.ParquetWriter(spool, PARQUET_SCHEMA) as writer:
            for chunk in batched(quote_rows(queryset).iterator(chunk_size=chunk_size), chunk_size):
                rows = [_parquet_row(quote) for quote in quote_representations(list(chunk))]
                writer.write_table(pa.Table.from_pylist(rows, schema=PARQUET_SCHEMA))
                if progress is not None:
                    progress(len(chunk))
        spool.seek(0)
        while data := spool.read(FLUSH_AT):
            yield data


FORMATS: dict[str, ExportFormat] = {
    fmt.name: fmt
    for fmt in [
        ExportFormat(
            "jsonl", "application/x-ndjson", "jsonl", write_jsonl, "One quote per line, as the API returns it."
        ),
        ExportFormat("csv", "text/csv; charset=utf-8", "csv", write_csv, "One row per quote × target, cells exact."),
        ExportFormat(
            "xlsx",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "xlsx",
            write_xlsx,
            "The CSV's rows as an Excel workbook for spreadsheets; text cells are strings, never formulas.",
            binary=True,
        ),
        ExportFormat(
            "w3c",
            'application/ld+json; profile="http://www.w3.org/ns/anno.jsonld"',
            "jsonld",
            write_w3c,
            "W3C Web Annotation AnnotationCollection (JSON-LD).",
            identified=True,
        ),
        ExportFormat(
            "doccano",
            "application/x-ndjson",
            "jsonl",
            write_doccano,
            "doccano JSONL, one line per article and annotator.",
        ),
        ExportFormat(
            "labelstudio", "application/json", "json", write_labelstudio, "Label Studio tasks, code-point offsets."
        ),
        ExportFormat(
            "parquet",
            "application/vnd.apache.parquet",
            "parquet",
            write_parquet,
            "One typed table, a quote per row with its stances as a list: for pandas and Hugging Face datasets.",
            binary=True,
        ),
    ]
}

# Names an export by when none is given (an export read in a shell, a test).
DEFAULT_IRI = "urn:x-demarche:export:quotes"


def export(
    queryset: QuerySet[Quote],
    fmt: str,
    *,
    iri: str = DEFAULT_IRI,
    chunk_size: int = CHUNK_SIZE,
    progress: Progress | None = None,
) -> Iterator[bytes]:
    """The bytes of the quotes of ``queryset`` (already limited to what the reader may see) in format ``fmt``.

    ``iri`` names the export in the formats that carry their own id (W3C):
    see ``export_iri`` and ``release_iri``. Text formats are UTF-8.
    """
    try:
        spec = FORMATS[fmt]
    except KeyError:
        raise ValueError(f"Unknown export format {fmt!r}; use one of {', '.join(FORMATS)}.") from None
    options: dict[str, Any] = {"chunk_size": chunk_size, "progress": progress}
    if spec.identified:
        options["iri"] = iri
    return _as_bytes(spec.writer(queryset, **options))


def _as_bytes(chunks: Iterator[str] | Iterator[bytes]) -> Iterator[bytes]:
    for chunk in chunks:
        yield chunk.encode("utf-8") if isinstance(chunk, str) else chunk
