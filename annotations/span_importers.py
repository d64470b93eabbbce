"""Import span annotations from doccano (JSONL) and Label Studio (JSON), all or nothing.

Spans become raw quotes of the importing user, unattributed (no speaker yet),
with their label as the quote kind (DIRECT, INDIRECT, MIXED). Each record's
article is matched by the hash of its normalised text, or created through the
browser's ``ArticleForm``. As with the article importer, the whole file is
checked before anything is written and every bad line is named, so that a
person can fix the file in one pass; a refused file writes nothing.

Offsets: doccano and Label Studio both count Unicode code points (Python ``str``
indices), as Demarche does: Label Studio's own export of ``we stay 🕊️ calm,``
after three rockets says ``start 31, end 47``, which is ``text[31:47]``
(tests/test_span_imports.py reads that file). A span's ``text``, when the file
has one, must match the article text at those offsets. A text that is not yet
normalised (NFC, LF line ends) has its offsets mapped onto the normalised text.
A span that splits a character as a reader sees it (an emoji with its joiners
or skin tone, a flag) is refused on its line, as the model would refuse it.

Files are read by ``jsonreader``, as the article importer reads them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction

from . import jsonreader
from .importers import ArticleChecker, ImportArticleForm
from .models import Article, Assignment, Quote, record_creations
from .offsets import check_grapheme_boundaries, normalise_text

if TYPE_CHECKING:
    from django.contrib.auth.models import User

FORMATS = ("doccano", "labelstudio")
KINDS = {kind.upper(): kind for kind in Quote.Kind.values}
ARTICLE_FIELDS = ("title", "outlet", "url", "published_on", "language")
TITLE_CHARS = 120
# Values per IN (...) lookup (SQLite builds before 3.32 allow 999 parameters).
LOOKUP_CHUNK = 900
# Rows per INSERT when writing (quotes, articles and their history rows).
WRITE_BATCH = 1000

Track = Callable[[Iterable[Any], int, str], Iterable[Any]]


def _untracked(items: Iterable[Any], total: int, description: str) -> Iterable[Any]:
    return items


@dataclass(frozen=True)
class Note:
    """A problem or a skipped span, tied to the line (doccano) or task (Label Studio) to look at."""

    number: int | None
    message: str
    unit: str = "line"

    def __str__(self) -> str:
        return self.message if self.number is None else f"{self.unit} {self.number}: {self.message}"

    def as_dict(self) -> dict[str, Any]:
        return {"line": self.number, "unit": self.unit, "message": self.message}


@dataclass
class SpanImportReport:
    articles_created: int = 0
    articles_matched: int = 0
    quotes_created: int = 0
    skipped: list[Note] = field(default_factory=list)
    errors: list[Note] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "articles_created": self.articles_created,
            "articles_matched": self.articles_matched,
            "quotes_created": self.quotes_created,
            "skipped": [note.as_dict() for note in self.skipped],
            "errors": [note.as_dict() for note in self.errors],
        }


@dataclass
class _Span:
    start: int
    end: int
    kind: str


@dataclass
class _Record:
    number: int
    text: str  # normalised
    fields: dict[str, str]
    spans: list[_Span]
    article: Article | None = None  # set by _match_articles

    @property
    def matched_article(self) -> Article:
        """The article ``_match_articles`` found or prepared; nothing is written before it runs."""
        if self.article is None:
            raise RuntimeError(f"record {self.number} has no article: _match_articles must run first")
        return self.article


def import_spans(
    source: bytes | str | IO[bytes] | IO[str],
    fmt: str,
    *,
    user: User,
    track: Track | None = None,
) -> SpanImportReport:
    """Check a whole file and, if nothing is wrong, write its spans as ``user``'s raw quotes."""
    if fmt not in FORMATS:
        raise ValueError(f"Unknown span format {fmt!r}; use one of {', '.join(FORMATS)}.")
    track = track or _untracked
    unit = "line" if fmt == "doccano" else "task"
    report = SpanImportReport()
    if hasattr(source, "read"):
        source = source.read()
    try:
        records = _parse_doccano(source, report) if fmt == "doccano" else _parse_labelstudio(source, report)
    except jsonreader.BadEncoding as error:
        report.errors.append(Note(error.line, str(error)))
        return report
    if not records and not report.errors:
        report.errors.append(Note(None, "the file holds no records"))
    if not report.errors:
        _match_articles(records, user, report, unit)
    if report.errors:
        report.errors.sort(key=lambda note: note.number or 0)
        return report
    try:
        _write(records, user, report, unit, track)
    except PermissionDenied as refusal:
        report.articles_created = report.quotes_created = 0
        report.skipped.clear()
        report.errors.append(Note(None, f"{refusal} Nothing was written."))
    except IntegrityError as error:
        report.articles_created = report.quotes_created = 0
        report.skipped.clear()
        report.errors.append(
            Note(None, f"the database refused the import ({error}); nothing was written, so import it again.")
        )
    return report


# --- Reading ---------------------------------------------------------------------


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _article_fields(values: dict[str, Any]) -> dict[str, str]:
    return {name: values[name] for name in ARTICLE_FIELDS if isinstance(values.get(name), str) and values[name]}


def _normaliser(original: str) -> Callable[[int], int] | None:
    """Map offsets into ``original`` onto its normalised text, or None when it is already normal."""
    if normalise_text(original) == original:
        return None
    return lambda offset: len(normalise_text(original[:offset]))


def _check_spans(
    number: int,
    original: str,
    raw_spans: list[tuple[Any, Any, Any, str | None]],
    report: SpanImportReport,
    unit: str,
) -> tuple[str, list[_Span]]:
    """Validate (start, end, label, text-or-None) spans against ``original``; return the normalised text and spans."""
    text = normalise_text(original)
    remap = _normaliser(original)
    spans: list[_Span] = []
    for index, (start, end, label, quoted) in enumerate(raw_spans, start=1):
        where = f"span {index}"
        if not (_is_int(start) and _is_int(end)):
            report.errors.append(Note(number, f"{where}: start and end must be whole numbers", unit))
            continue
        kind = KINDS.get(str(label).strip().upper()) if isinstance(label, str) else None
        if kind is None:
            report.errors.append(Note(number, f"{where}: unknown label {label!r}; use one of {', '.join(KINDS)}", unit))
            continue
        if not 0 <= start < end <= len(original):
            report.errors.append(
                Note(
                    number,
                    f"{where}: {start}–{end} is not a span of the text ({len(original)} characters); "
                    "a span must be at least one character long",
                    unit,
                )
            )
            continue
        if quoted is not None and original[start:end] != quoted:
            report.errors.append(
                Note(
                    number,
                    f"{where}: the text at {start}–{end} is {original[start:end][:40]!r}, "
                    f"but the span says {quoted[:40]!r}",
                    unit,
                )
            )
            continue
        if remap is not None:
            new_start, new_end = remap(start), remap(end)
            if text[new_start:new_end] != normalise_text(original[start:end]):
                report.errors.append(
                    Note(
                        number,
                        f"{where}: {start}–{end} cuts through a character that normalisation (NFC, CRLF → LF) "
                        "merges; fix the offsets",
                        unit,
                    )
                )
                continue
            start, end = new_start, new_end
        try:
            check_grapheme_boundaries(text, start, end)
        except ValidationError as error:
            report.errors.append(Note(number, f"{where}: {' '.join(error.messages)}", unit))
            continue
        spans.append(_Span(start, end, kind))
    return text, spans


def _parse_doccano(content: bytes | str, report: SpanImportReport) -> list[_Record]:
    records: list[_Record] = []
    for number, line in enumerate(jsonreader.text_lines(content), start=1):
        if not line.strip():
            continue
        try:
            values = jsonreader.loads(line)
        except ValueError as error:
            report.errors.append(Note(number, jsonreader.problem(error)))
            continue
        if not isinstance(values, dict):
            report.errors.append(Note(number, "each line must be a JSON object"))
            continue
        original = values.get("text")
        if not isinstance(original, str) or not original.strip():
            report.errors.append(Note(number, 'no "text", or an empty one'))
            continue
        raw_spans: list[tuple[Any, Any, Any, str | None]] = []
        labels = values.get("label", values.get("labels"))
        entities = values.get("entities")
        if labels is not None:
            if not isinstance(labels, list) or not all(isinstance(item, list) and len(item) == 3 for item in labels):
                report.errors.append(Note(number, '"label" must be a list of [start, end, "LABEL"]'))
                continue
            raw_spans = [(start, end, label, None) for start, end, label in labels]
        elif entities is not None:
            if not isinstance(entities, list) or not all(isinstance(item, dict) for item in entities):
                report.errors.append(Note(number, '"entities" must be a list of objects'))
                continue
            raw_spans = [
                (item.get("start_offset"), item.get("end_offset"), item.get("label"), None) for item in entities
            ]
        else:
            report.errors.append(Note(number, 'no "label" (or "entities") list of spans'))
            continue
        text, spans = _check_spans(number, original, raw_spans, report, "line")
        records.append(_Record(number, text, _article_fields(values), spans))
    return records


def _parse_labelstudio(content: bytes | str, report: SpanImportReport) -> list[_Record]:
    try:
        tasks = jsonreader.loads(jsonreader.decode(content))
    except jsonreader.BadEncoding:
        raise
    except ValueError as error:
        report.errors.append(Note(None, f"{jsonreader.problem(error)}; Label Studio exports a JSON array of tasks"))
        return []
    if isinstance(tasks, dict):
        tasks = [tasks]
    if not isinstance(tasks, list):
        report.errors.append(Note(None, "a Label Studio export is a JSON array of tasks"))
        return []
    records: list[_Record] = []
    for number, task in enumerate(tasks, start=1):
        data = task.get("data") if isinstance(task, dict) else None
        original = data.get("text") if isinstance(data, dict) else None
        if not isinstance(data, dict) or not isinstance(original, str) or not original.strip():
            report.errors.append(Note(number, 'no "data.text", or an empty one', "task"))
            continue
        annotations = task.get("annotations") or []
        if not isinstance(annotations, list):
            report.errors.append(Note(number, '"annotations" must be a list', "task"))
            continue
        raw_spans: list[tuple[Any, Any, Any, str | None]] = []
        ignored: dict[str, int] = {}
        for annotation in annotations:
            results = annotation.get("result", []) if isinstance(annotation, dict) else None
            if not isinstance(results, list):
                report.errors.append(Note(number, '"result" must be a list', "task"))
                continue
            for result in results:
                kind = result.get("type") if isinstance(result, dict) else None
                if kind != "labels":
                    ignored[str(kind)] = ignored.get(str(kind), 0) + 1
                    continue
                value = result.get("value") or {}
                labels = value.get("labels") if isinstance(value, dict) else None
                if not isinstance(labels, list) or len(labels) != 1:
                    report.errors.append(Note(number, "each labels result needs exactly one label", "task"))
                    continue
                quoted = value.get("text")
                raw_spans.append(
                    (value.get("start"), value.get("end"), labels[0], quoted if isinstance(quoted, str) else None)
                )
        for kind, count in sorted(ignored.items()):
            report.skipped.append(
                Note(number, f"{count} result(s) of type {kind!r} ignored: only span labels are imported", "task")
            )
        text, spans = _check_spans(number, original, raw_spans, report, "task")
        records.append(_Record(number, text, {**_article_fields(data), **_article_fields(task)}, spans))
    return records


# --- Articles --------------------------------------------------------------------


def _default_title(text: str) -> str:
    first = next((line.strip() for line in text.split("\n") if line.strip()), "Imported text")
    return first if len(first) <= TITLE_CHARS else first[: TITLE_CHARS - 1] + "…"


def _match_articles(records: list[_Record], user: Any, report: SpanImportReport, unit: str) -> None:
    """Find each record's article by text hash, or check that it can be created."""
    hashes = sorted({Article.hash_text(record.text) for record in records})
    stored: dict[str, Article] = {}
    # The browser's rule for adding quotes: assigned or pooled, open, not submitted.
    open_to_user: set[int] = set()
    for index in range(0, len(hashes), LOOKUP_CHUNK):
        chunk = hashes[index : index + LOOKUP_CHUNK]
        stored.update((article.text_sha256, article) for article in Article.objects.filter(text_sha256__in=chunk))
        open_to_user.update(
            Article.objects.annotatable_by(user).filter(text_sha256__in=chunk).values_list("pk", flat=True)
        )
    pending: dict[str, Article] = {}
    checker = ArticleChecker()
    for record in records:
        digest = Article.hash_text(record.text)
        if digest in stored:
            article = stored[digest]
            if article.pk not in open_to_user:
                report.errors.append(
                    Note(
                        record.number,
                        "an article with this text exists, but you can't add quotes to it "
                        "(it is not assigned to you, you have submitted it, or it is curated)",
                        unit,
                    )
                )
                continue
            record.article = article
            continue
        if digest in pending:
            record.article = pending[digest]
            continue
        data = {"title": _default_title(record.text), "language": "en", **record.fields, "text": record.text}
        # The browser's rules, without the form's per-article duplicate query (the texts
        # were looked up for the whole file above), run without a form for each article
        # as the article importer runs them; a form says what is wrong with one that fails.
        created = checker.article(data)
        if created is None:
            form = ImportArticleForm(data=data)
            if not form.is_valid():
                for name, errors in form.errors.items():
                    report.errors.append(Note(record.number, f"article {name}: {errors[0]}", unit))
                continue
            created = form.save(commit=False)
        created.created_by = user
        pending[digest] = record.article = created


# --- Writing ---------------------------------------------------------------------


def _write(records: list[_Record], user: Any, report: SpanImportReport, unit: str, track: Track) -> None:
    """Write the checked file in one transaction, set-based: the new articles, then
    the quotes, each with their history rows, a batch per INSERT."""
    with transaction.atomic():
        matched = {record.matched_article.pk for record in records if record.matched_article.pk is not None}
        # As the pages do: an article submitted since the file was checked takes no new quotes.
        Assignment.hold_open(matched, user)
        report.articles_matched = len(matched)
        # Two records with one new text share one article (_match_articles).
        new_articles = list(
            {
                id(record.matched_article): record.matched_article
                for record in records
                if record.matched_article.pk is None
            }.values()
        )
        for article in new_articles:
            # What Article.save() does, which a bulk insert skips; ImportArticleForm has normalised the text.
            article.text_sha256 = Article.hash_text(article.text)
        Article.objects.bulk_create(new_articles, batch_size=WRITE_BATCH)
        record_creations(Article, [article.pk for article in new_articles], by=user)
        report.articles_created = len(new_articles)
        article_ids = sorted({record.matched_article.pk for record in records})
        # The write path's duplicate rule, for the whole file in a few queries:
        # a span the importer already has is skipped, so importing twice changes nothing.
        existing: dict[tuple[int, int, int], int] = {}
        for index in range(0, len(article_ids), LOOKUP_CHUNK):
            mine = Quote.objects.raw_layer().filter(
                article_id__in=article_ids[index : index + LOOKUP_CHUNK], annotator=user
            )
            existing.update(
                ((article_id, start, end), pk)
                for article_id, start, end, pk in mine.values_list("article_id", "start", "end", "pk")
            )
        # A span repeated in the file is skipped as one already stored, naming the
        # quote the earlier line makes; its id exists only once the quotes are written.
        wanted: dict[tuple[int, int, int], str] = {}
        repeats: list[tuple[int, _Span, tuple[int, int, int]]] = []
        total = sum(len(record.spans) for record in records)
        for record, span in track(((r, s) for r in records for s in r.spans), total, "checking"):
            key = (record.matched_article.pk, span.start, span.end)
            if key in existing or key in wanted:
                repeats.append((record.number, span, key))
            else:
                wanted[key] = span.kind
        existing.update(Quote.annotate_many([(*key, kind) for key, kind in wanted.items()], by=user))
        for number, span, key in repeats:
            report.skipped.append(
                Note(number, f"skipped: you already have quote {existing[key]} at {span.start}–{span.end}", unit)
            )
        report.quotes_created = len(wanted)
