"""Import articles from JSONL, CSV and plain-text files, all or nothing per file.

The management command ``import_articles`` and (later) the browser upload both
call :func:`import_articles` with the file's bytes, so a file is judged the same
way whichever door it comes through. Every article is judged by the browser's
``ArticleForm``; because imports run to tens of thousands of articles, the
importer moves the form's database lookups (duplicate texts, constraints) out of
the per-article loop into a few queries for the whole file, runs the form's
checks without building a form for each article that passes them (a form words
the problems of one that doesn't), and writes through COPY on PostgreSQL.

A file is read and checked completely before anything is written: a person
fixing a file wants every bad line named at once, and a half-imported file is
harder to repair than a refused one.
"""

from __future__ import annotations

import csv
import datetime
import difflib
import io
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import IO, TYPE_CHECKING, Any, NamedTuple, cast

from django import forms
from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS
from django.db import IntegrityError, connection, models, transaction

from . import jsonreader
from .forms import MAX_ARTICLE_CHARS, ArticleForm
from .models import Article, DetectionRun

if TYPE_CHECKING:
    from django.contrib.auth.models import User

FORMATS = ("jsonl", "csv", "txt")
EXTENSIONS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv", ".txt": "txt"}

# What a JSONL line or a CSV header may name. Anything else is refused rather
# than dropped or tucked into metadata, so that a typo ("titel") is seen.
KNOWN_FIELDS = ("title", "outlet", "url", "published_on", "language", "text", "metadata")
FORM_FIELDS = ("title", "outlet", "url", "published_on", "language", "text")
# Values a caller may give for every article of a file (command-line options,
# upload form fields). A line's own non-empty value wins.
DEFAULTABLE_FIELDS = ("title", "outlet", "published_on", "language")

BATCH_SIZE = 500

# [0-9], not \d: \d also matches Arabic-Indic and other digits.
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_ISO_DATE_HINT = "write the date as YYYY-MM-DD, such as 2023-01-05"

# A CSV cell may hold a whole article; the csv module's default limit (131,072
# characters) is below ArticleForm's, and an over-long text should be refused
# by the form with its own message, not by the CSV parser. The limit is
# process-wide, which is harmless: it only ever grows.
_CSV_FIELD_LIMIT = 4 * MAX_ARTICLE_CHARS

_DEFAULT_LANGUAGE = Article._meta.get_field("language").get_default()

Track = Callable[[Iterable[Any], int, str], Iterable[Any]]


def _untracked(items: Iterable[Any], total: int, description: str) -> Iterable[Any]:
    return items


class LineNote(NamedTuple):
    """A problem or a skipped article, tied to the line a person must look at.

    ``line`` is ``None`` when the note is about the whole file (a text file is
    one article; a database refusal has no single line).
    """

    line: int | None
    message: str

    def __str__(self) -> str:
        return self.message if self.line is None else f"line {self.line}: {self.message}"


@dataclass
class ImportReport:
    """What happened to one file: how many articles were written, which lines
    were skipped as duplicates, and which problems refused the file."""

    created: int = 0
    skipped: list[LineNote] = field(default_factory=list)
    errors: list[LineNote] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def error(self, line: int | None, message: str) -> None:
        self.errors.append(LineNote(line, message))


class ImportArticleForm(ArticleForm):
    """``ArticleForm`` without its per-article database queries.

    The importer looks up duplicate texts for the whole file in bulk, so the
    form's one-query-per-article duplicate check is off. Model constraint
    validation is skipped too: it costs a query per article, the only
    constraints on the form's fields are "text not empty" (already refused by
    ``clean_text``) and the text hash being unique (checked in bulk), and the
    database enforces both when the batch is written.
    """

    check_duplicates = False

    # The same Meta as ArticleForm's, spelled out: without it django-stubs'
    # form hook loops until mypy gives up ("maximum semantic analysis
    # iteration count reached").
    class Meta(ArticleForm.Meta):
        pass

    def validate_constraints(self) -> None:
        return


class _SharedFields(dict):
    """Form fields that every ``ImportArticleForm`` shares instead of copying.

    ``BaseForm.__init__`` deep-copies ``base_fields`` so that one form can alter
    its own fields and widgets for rendering. An import form is never rendered
    and never alters a field, and the copy was half the time spent checking
    each article of a large import.
    """

    def __deepcopy__(self, memo: dict[int, Any]) -> dict[str, forms.Field]:
        return dict(self)


ImportArticleForm.base_fields = _SharedFields(ImportArticleForm.base_fields)


class ArticleChecker:
    """ImportArticleForm's checks for many articles, without a form for each.

    Building a form and running it cost more than the checks themselves: bound
    fields, error lists, and the model's field validators run a second time
    over values the form's fields have just validated. This runs the same
    checks in the same order on one form: each field's ``clean()`` and
    ``clean_<field>()`` hook, the form's ``clean()``, the model validators the
    form fields lack (the BCP 47 language check) and ``Article.clean()``.

    It only says whether an article passes. For one that doesn't, the importer
    asks a real ImportArticleForm, so the messages a person reads are always
    the form's own.
    """

    def __init__(self) -> None:
        self.form = ImportArticleForm()
        self.model_validators: dict[str, tuple[models.Field, list[Callable[[Any], None]]]] = {}
        for name, form_field in self.form.fields.items():
            # cast: a ModelForm's fields are the model's own, never a reverse relation.
            model_field = cast(models.Field, Article._meta.get_field(name))
            missing = [validator for validator in model_field.validators if validator not in form_field.validators]
            if missing:
                self.model_validators[name] = (model_field, missing)

    def article(self, data: Mapping[str, str]) -> Article | None:
        """The article ``data`` describes if the form would accept it, else None."""
        form = self.form
        form.cleaned_data = {}
        try:
            for name, field in form.fields.items():
                form.cleaned_data[name] = field.clean(data.get(name))
                if hasattr(form, f"clean_{name}"):
                    form.cleaned_data[name] = getattr(form, f"clean_{name}")()
            values = form.clean()
            if values is None:  # as Django's _clean_form: a clean() that returns None keeps cleaned_data
                values = form.cleaned_data
            for name, (model_field, validators) in self.model_validators.items():
                if values[name] not in model_field.empty_values:
                    for validator in validators:
                        validator(values[name])
            article = Article(**values)
            article.clean()
        except forms.ValidationError:
            return None
        return article


class _Row(NamedTuple):
    line: int | None
    values: dict[str, Any]


@dataclass
class _Candidate:
    line: int | None
    article: Article


def format_from_filename(name: str) -> str | None:
    """The import format a file name's extension implies, or None if it implies none."""
    return EXTENSIONS.get(PurePath(name).suffix.lower())


def parse_iso_date(value: str) -> datetime.date:
    """A YYYY-MM-DD date, as import files and the command's options write it."""
    if not _ISO_DATE.fullmatch(value):
        raise ValueError(f"{_ISO_DATE_HINT}, not {value!r}")
    return datetime.date.fromisoformat(value)


def import_articles(
    source: bytes | str | IO[bytes] | IO[str],
    fmt: str,
    *,
    defaults: Mapping[str, str] | None = None,
    user: User | None = None,
    track: Track | None = None,
    batch_size: int = BATCH_SIZE,
) -> ImportReport:
    """Check every article of one file and, if none is bad, write them in one transaction.

    ``source`` is the file's content (bytes are decoded as UTF-8, a BOM
    tolerated) or an open file. ``defaults`` fill fields a line leaves empty
    (for a text file they are its only metadata; a ``title`` default replaces
    the first-line title). Duplicates of stored articles or of earlier lines
    are skipped and listed, not refused. ``track`` wraps the long loops, for a
    progress bar: ``track(items, total, description)``.
    """
    if fmt not in FORMATS:
        raise ValueError(f"Unknown import format {fmt!r}; use one of {', '.join(FORMATS)}.")
    defaults = dict(defaults or {})
    unknown = set(defaults) - set(DEFAULTABLE_FIELDS)
    if unknown:
        raise ValueError(f"Defaults can only be given for {', '.join(DEFAULTABLE_FIELDS)}, not {sorted(unknown)}.")
    track = track or _untracked
    report = ImportReport()

    content = source.read() if hasattr(source, "read") else source
    if not isinstance(content, str):
        content = bytes(content)
    rows = _read_jsonl(content, report) if fmt == "jsonl" else _read_text(content, fmt, report, defaults)
    if rows is None:
        return report
    checker = ArticleChecker()
    candidates = []
    for row in track(rows, len(rows), "checking"):
        article = _check_row(row, defaults, report, checker)
        if article is not None:
            article.created_by = user
            candidates.append(_Candidate(row.line, article))
    if report.errors:
        # Parsing and checking find problems in two passes; a person reads them top to bottom.
        report.errors.sort(key=lambda note: note.line or 0)
        return report
    try:
        report.created = _write(candidates, report, track, batch_size)
    except IntegrityError as error:
        report.created = 0
        report.skipped.clear()
        report.error(
            None,
            f"the database refused the articles ({error}). Another import may have added some of "
            "them meanwhile; nothing from this file was written, so import it again.",
        )
    return report


# --- Reading -------------------------------------------------------------------


def _read_text(content: bytes | str, fmt: str, report: ImportReport, defaults: Mapping[str, str]) -> list[_Row] | None:
    """The rows of a CSV or text file, or None (and why, in the report) if it can't be read."""
    text = _decode(content, report)
    if text is None:
        return None
    if not text.strip():
        report.error(None, "the file is empty")
        return None
    return {"csv": _parse_csv, "txt": _parse_txt}[fmt](text, report, defaults)


def _decode(content: bytes | str, report: ImportReport) -> str | None:
    try:
        return jsonreader.decode(content)
    except jsonreader.BadEncoding as error:
        report.error(error.line, str(error))
        return None


def _read_jsonl(content: bytes | str, report: ImportReport) -> list[_Row] | None:
    """The rows of a JSONL file, or None (and why, in the report) if it can't be read."""
    try:
        lines = jsonreader.text_lines(content)
    except jsonreader.BadEncoding as error:
        report.error(error.line, str(error))
        return None
    rows = _parse_jsonl(lines, report)
    if not rows and not report.errors:
        report.error(None, "the file is empty")
        return None
    return rows


def _parse_jsonl(lines: Iterable[str], report: ImportReport) -> list[_Row]:
    rows = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            values = jsonreader.loads(line)
        except ValueError as error:
            report.error(number, jsonreader.problem(error))
            continue
        if not isinstance(values, dict):
            report.error(number, f"each line must be a JSON object ({{...}}), not {_json_type(values)}")
            continue
        rows.append(_Row(number, values))
    return rows


def _parse_csv(text: str, report: ImportReport, defaults: Mapping[str, str]) -> list[_Row]:
    csv.field_size_limit(max(csv.field_size_limit(), _CSV_FIELD_LIMIT))
    # newline="" keeps line ends inside quoted cells as they are; the form
    # normalises them with the rest of the text.
    reader = csv.reader(io.StringIO(text, newline=""))
    rows: list[_Row] = []
    try:
        columns = [name.strip() for name in next(reader, [])]
        if not _check_header(columns, report, defaults):
            return rows
        previous_end = reader.line_num
        for cells in reader:
            # A quoted cell can span lines: name the line the record starts on.
            start, previous_end = previous_end + 1, reader.line_num
            if not any(cell.strip() for cell in cells):
                continue
            if len(cells) != len(columns):
                report.error(
                    start,
                    f"has {len(cells)} cells but the header names {len(columns)} columns; "
                    "check for a missing comma or an unclosed quote",
                )
                continue
            rows.append(_Row(start, dict(zip(columns, cells, strict=True))))
    except csv.Error as error:
        report.error(reader.line_num, f"not valid CSV ({error})")
    return rows


def _check_header(columns: list[str], report: ImportReport, defaults: Mapping[str, str]) -> bool:
    fine = True
    for name in columns:
        if name not in KNOWN_FIELDS:
            report.error(1, _unknown_field(name, "column"))
            fine = False
    for name in sorted({name for name in columns if columns.count(name) > 1}):
        report.error(1, f'the column "{name}" appears more than once')
        fine = False
    required = ["text"] if defaults.get("title") else ["title", "text"]
    for name in required:
        if name not in columns:
            report.error(1, f'the header has no "{name}" column; the columns are {", ".join(KNOWN_FIELDS)}')
            fine = False
    return fine


def _parse_txt(text: str, report: ImportReport, defaults: Mapping[str, str]) -> list[_Row]:
    first_line = next((line for line in text.splitlines() if line.strip()), "")
    return [_Row(None, {"title": defaults.get("title") or first_line, "text": text})]


# --- Checking ------------------------------------------------------------------


def _check_row(row: _Row, defaults: Mapping[str, str], report: ImportReport, checker: ArticleChecker) -> Article | None:
    """Build the article a row describes, or record every reason it can't be built."""
    data, metadata, problems = _form_data(row, defaults)
    article = None if problems else checker.article(data)
    if article is None:
        article = _checked_by_form(row.line, data, problems, report)
        if article is None:
            return None
    article.metadata = metadata
    # bulk_create and COPY bypass Article.save(), which is where the hash is set.
    article.text_sha256 = Article.hash_text(article.text)
    return article


def _form_data(row: _Row, defaults: Mapping[str, str]) -> tuple[dict[str, str], dict[str, Any], dict[str, str]]:
    """A row as the form's data, its metadata, and the problems the form can't see (field → message)."""
    data = {name: defaults.get(name, "") for name in FORM_FIELDS}
    problems: dict[str, str] = {}
    metadata: dict[str, Any] = {}
    for name, value in row.values.items():
        if name not in KNOWN_FIELDS:
            problems[name] = _unknown_field(name, "field")
        elif name == "metadata":
            metadata, problem = _check_metadata(value)
            if problem:
                problems[name] = f"metadata: {problem}"
        elif value is None or value == "":
            continue
        elif not isinstance(value, str):
            problems[name] = f"{name}: must be a string, not {_json_type(value)}"
        elif problem := _unencodable(value):
            problems[name] = f"{name}: {problem}"
        else:
            data[name] = value
    data["language"] = data["language"] or _DEFAULT_LANGUAGE
    if data["published_on"] and not _ISO_DATE.fullmatch(data["published_on"]):
        problems.setdefault("published_on", f"published_on: {_ISO_DATE_HINT}, not {data['published_on']!r}")
    return data, metadata, problems


def _checked_by_form(
    line: int | None, data: dict[str, str], problems: dict[str, str], report: ImportReport
) -> Article | None:
    """The form's article, or None with every problem of the row reported in the form's words."""
    form = ImportArticleForm(data=data)
    messages = list(problems.values())
    for name, errors in form.errors.items():
        # A field refused above reaches the form empty; "required" would only repeat it.
        if name in problems:
            continue
        label = "" if name == NON_FIELD_ERRORS else f"{name}: "
        # Only a field's first message: when the text field fails, Article.clean()
        # still checks the instance's never-filled text and adds "The article text
        # is empty." to a text that is not empty.
        messages.append(f"{label}{errors[0]}")
    for message in messages:
        report.error(line, message)
    return None if messages else form.instance


def _check_metadata(value: Any) -> tuple[dict[str, Any], str | None]:
    if value is None or value == "":
        return {}, None
    if isinstance(value, str):
        # A CSV cell carries metadata as JSON text.
        try:
            value = jsonreader.loads(value)
        except ValueError as error:
            return {}, jsonreader.problem(error)
    if not isinstance(value, dict):
        return {}, f'must be a JSON object such as {{"section": "world"}}, not {_json_type(value)}'
    problem = _unstorable_json(value)
    return (value, None) if problem is None else ({}, problem)


def _unstorable_json(value: Any) -> str | None:
    """Why PostgreSQL's jsonb would refuse ``value``, if it would."""
    if isinstance(value, dict):
        for key, item in value.items():
            problem = _unstorable_json(key) or _unstorable_json(item)
            if problem:
                return problem
    elif isinstance(value, list):
        for item in value:
            problem = _unstorable_json(item)
            if problem:
                return problem
    elif isinstance(value, str):
        if "\x00" in value:
            return "contains a NUL character (\\u0000), which the database can't store"
        return _unencodable(value)
    return None


def _unencodable(value: str) -> str | None:
    # JSON's "\ud83d" escapes decode to lone surrogates: half an emoji, usually
    # from a tool that counted UTF-16 units. Neither UTF-8 nor the database can
    # hold one, and the text hash would crash on it.
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as error:
        char = value[error.start]
        return (
            f"contains half of a UTF-16 surrogate pair (\\u{ord(char):04x}) at character {error.start}; "
            "the text was cut in the middle of an emoji or another character beyond U+FFFF"
        )
    return None


def _unknown_field(name: str, kind: str) -> str:
    guess = difflib.get_close_matches(name, KNOWN_FIELDS, n=1)
    hint = f'did you mean "{guess[0]}"?' if guess else f"the {kind}s are {', '.join(KNOWN_FIELDS)}"
    return f'unknown {kind} "{name}" ({hint})'


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "true or false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    if value is None:
        return "null"
    return "a string"


# --- Writing -------------------------------------------------------------------


def _chunks[T](items: list[T], size: int) -> Iterator[list[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _write(candidates: list[_Candidate], report: ImportReport, track: Track, batch_size: int) -> int:
    """Skip duplicates and insert the rest; the caller has checked every article."""
    with transaction.atomic():
        # Looked up inside the transaction so that what is skipped and what is
        # written agree; a concurrent import of the same text still trips the
        # unique constraint, which the caller reports.
        stored_hashes = _stored("text_sha256", {candidate.article.text_sha256 for candidate in candidates})
        stored_urls = _stored("url", {candidate.article.url for candidate in candidates if candidate.article.url})

        new: list[Article] = []
        line_of_hash: dict[str, int | None] = {}
        line_of_url: dict[str, int | None] = {}
        for candidate in candidates:
            reason = _duplicate_reason(candidate.article, stored_hashes, stored_urls, line_of_hash, line_of_url)
            if reason:
                report.skipped.append(LineNote(candidate.line, reason))
                continue
            line_of_hash[candidate.article.text_sha256] = candidate.line
            if candidate.article.url:
                line_of_url[candidate.article.url] = candidate.line
            new.append(candidate.article)

        batches = list(_chunks(new, batch_size))
        for batch in track(batches, len(batches), "writing"):
            _insert(batch)
        if new and settings.DETECT_ON_ARRIVAL:
            # The rows came back without ids (COPY): found again by their hashes.
            arrived: list[int] = []
            for batch in _chunks(new, 500):
                hashes = [article.text_sha256 for article in batch]
                arrived += Article.objects.filter(text_sha256__in=hashes).values_list("pk", flat=True)
            DetectionRun.objects.request_on_arrival(arrived, by=new[0].created_by)
    return len(new)


def _insert(articles: list[Article]) -> None:
    """Write the rows bulk_create would, through COPY on PostgreSQL.

    An INSERT of a batch is one long statement with every text quoted into
    it, which the server must then parse; COPY streams the rows as they are,
    several times faster. The articles get no primary keys back.
    """
    if connection.vendor != "postgresql":
        Article.objects.bulk_create(articles)
        return
    fields = [field for field in Article._meta.concrete_fields if not field.primary_key]
    # cast: only fields without a column (many-to-many) have column None, and those aren't concrete.
    columns = ", ".join(connection.ops.quote_name(cast(str, field.column)) for field in fields)
    statement = f"COPY {connection.ops.quote_name(Article._meta.db_table)} ({columns}) FROM STDIN"
    # wrap_database_errors: a refused row raises Django's IntegrityError, as bulk_create's would.
    with connection.wrap_database_errors, connection.cursor() as cursor, cursor.copy(statement) as copy:
        for article in articles:
            # As bulk_create prepares them: created_at set, metadata adapted as JSON.
            copy.write_row([field.get_db_prep_save(field.pre_save(article, True), connection) for field in fields])


def _stored(field_name: str, values: set[str]) -> dict[str, int]:
    """Stored articles whose ``field_name`` is one of ``values``, as value → pk.

    As few queries as the database's parameter limit allows: one on PostgreSQL,
    which also keeps an unindexed column (url) to one scan of the table.
    """
    ordered = sorted(values)
    size = max(1, connection.ops.bulk_batch_size([Article._meta.get_field(field_name)], ordered))
    found: dict[str, int] = {}
    for chunk in _chunks(ordered, size):
        found.update(Article.objects.filter(**{f"{field_name}__in": chunk}).values_list(field_name, "pk"))
    return found


def _duplicate_reason(
    article: Article,
    stored_hashes: Mapping[str, int],
    stored_urls: Mapping[str, int],
    line_of_hash: Mapping[str, int | None],
    line_of_url: Mapping[str, int | None],
) -> str | None:
    if article.text_sha256 in stored_hashes:
        return f"skipped: article {stored_hashes[article.text_sha256]} already has exactly this text"
    if article.url and article.url in stored_urls:
        return f"skipped: article {stored_urls[article.url]} already has the URL {article.url}"
    if article.text_sha256 in line_of_hash:
        return f"skipped: same text as line {line_of_hash[article.text_sha256]}"
    if article.url and article.url in line_of_url:
        return f"skipped: same URL as line {line_of_url[article.url]}"
    return None
