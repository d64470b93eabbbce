"""Dataset exports: generators of ``str`` chunks, shared by the API, the
``export_dataset`` command and releases.

Quotes are read with ``.iterator(chunk_size=…)``: Django prefetches stances,
provenance and articles once per chunk, so the number of queries grows with
the number of chunks, not of quotes, and memory stays flat whatever the size.

Every format states its offset convention. Demarche's own (JSONL, CSV, W3C,
doccano) count Unicode code points, end exclusive — W3C's TextPositionSelector
and doccano (Python ``str`` offsets) count the same way. Label Studio's
browser counts UTF-16 code units, so its offsets are converted.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from itertools import groupby
from typing import Any

from django.db.models import Prefetch, QuerySet

from .models import Article, Quote, Stance
from .offsets import codepoint_to_utf16
from .serializers import OFFSETS_CONVENTION, QuoteSerializer

CHUNK_SIZE = 2000
# Bytes of output gathered before a chunk is handed on: fewer, larger writes
# to the socket or file, still a small, constant amount of memory.
FLUSH_AT = 64 * 1024
CONTEXT_CHARS = 32
W3C_CONTEXT = "http://www.w3.org/ns/anno.jsonld"
# Where the JSON-LD terms Demarche adds to Web Annotations are defined.
DEMARCHE_VOCAB = "urn:x-demarche:vocab#"

Progress = Callable[[int], None]


@dataclass(frozen=True)
class ExportFormat:
    name: str
    media_type: str
    extension: str
    writer: Callable[..., Iterator[str]]
    description: str


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
_JSON_ESCAPES = str.maketrans(
    {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
)


def _json(value: Any) -> str:
    # UTF-8, not \uXXXX escapes: Hebrew and Arabic stay readable in the file.
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).translate(_JSON_ESCAPES)


# --- JSONL: one quote per line, as the API returns it ---------------------------


def write_jsonl(
    queryset: QuerySet[Quote], *, chunk_size: int = CHUNK_SIZE, progress: Progress | None = None
) -> Iterator[str]:
    quotes = _iterate(optimise(queryset), chunk_size, progress)
    yield from _buffered(_json(QuoteSerializer(quote).data) + "\n" for quote in quotes)


# --- CSV: one row per quote × target, for pandas and spreadsheets --------------

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
# A cell starting with one of these is a formula to Excel, LibreOffice and
# Google Sheets ("=HYPERLINK(…)"); a leading apostrophe makes it text.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return "" if value is None else value


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
            for row in _csv_rows(quote):
                writer.writerow([csv_cell(value) for value in row])
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
        yield buffer.getvalue()

    yield from _buffered(lines())


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
    queryset: QuerySet[Quote], *, chunk_size: int = CHUNK_SIZE, progress: Progress | None = None
) -> Iterator[str]:
    def pieces() -> Iterator[str]:
        head = {
            "@context": [W3C_CONTEXT, {"dm": DEMARCHE_VOCAB}],
            "type": "AnnotationCollection",
            "label": "Demarche quotes: who said what, about what, with which stance",
            "dm:offsetsConvention": OFFSETS_CONVENTION,
            "total": queryset.count(),
        }
        opening = _json(head)[:-1] + ',"first":{"type":"AnnotationPage","startIndex":0,"items":['
        yield opening
        for index, quote in enumerate(_iterate(optimise(queryset, article_text=True), chunk_size, progress)):
            yield ("," if index else "") + "\n" + _json(w3c_annotation(quote))
        yield "\n]}}\n"

    yield from _buffered(pieces())


# --- doccano and Label Studio: one record per article ---------------------------


def _by_article(
    queryset: QuerySet[Quote], chunk_size: int, progress: Progress | None
) -> Iterator[tuple[Article, list[Quote]]]:
    ordered = optimise(queryset.order_by("article_id", "start", "-end", "id"), article_text=True)
    quotes = _iterate(ordered, chunk_size, progress)
    for _, group in groupby(quotes, key=lambda quote: quote.article_id):
        items = list(group)
        yield items[0].article, items


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
    """doccano sequence labelling JSONL: ``{"text", "label": [[start, end, "DIRECT"], …]}`` per article.

    doccano counts offsets in Python ``str`` indices, that is code points: no conversion.
    Extra keys (``article_id`` …) become the example's metadata on import.
    """

    def lines() -> Iterator[str]:
        for article, quotes in _by_article(queryset, chunk_size, progress):
            record = {
                "text": article.text,
                "label": [[quote.start, quote.end, span_label(quote)] for quote in quotes],
                **_article_meta(article),
                "quote_ids": [quote.pk for quote in quotes],
                "offsets_convention": OFFSETS_CONVENTION,
            }
            yield _json(record) + "\n"

    yield from _buffered(lines())


def _utf16(text: str, astral: bool, offset: int) -> int:
    return codepoint_to_utf16(text, offset) if astral else offset


def write_labelstudio(
    queryset: QuerySet[Quote], *, chunk_size: int = CHUNK_SIZE, progress: Progress | None = None
) -> Iterator[str]:
    """Label Studio tasks (a JSON array) for a ``<Labels name="label" toName="text">`` config.

    Label Studio measures text in the browser, in UTF-16 code units: offsets are
    converted, so emoji and other characters beyond U+FFFF count as two. Each
    annotator's quotes become one annotation (Label Studio's unit of agreement);
    curated quotes form one annotation of their own.
    """

    def pieces() -> Iterator[str]:
        yield "["
        for index, (article, quotes) in enumerate(_by_article(queryset, chunk_size, progress)):
            text = article.text
            astral = any(ord(char) > 0xFFFF for char in text)
            annotations: dict[str, list[dict[str, Any]]] = {}
            for quote in quotes:
                who = "curated" if quote.is_curated else (quote.annotator.get_username() if quote.annotator else "")
                annotations.setdefault(who, []).append(
                    {
                        "id": f"q{quote.pk}",
                        "from_name": "label",
                        "to_name": "text",
                        "type": "labels",
                        "value": {
                            "start": _utf16(text, astral, quote.start),
                            "end": _utf16(text, astral, quote.end),
                            "text": quote.text,
                            "labels": [span_label(quote)],
                        },
                        "meta": {"quote_id": quote.pk},
                    }
                )
            task = {
                "data": {"text": text, **_article_meta(article)},
                "annotations": [
                    {"result": result, "meta": {"annotator": who, "offsets_convention": "utf-16-code-units"}}
                    for who, result in annotations.items()
                ],
            }
            yield ("," if index else "") + "\n" + _json(task)
        yield "\n]\n"

    yield from _buffered(pieces())


FORMATS: dict[str, ExportFormat] = {
    fmt.name: fmt
    for fmt in [
        ExportFormat(
            "jsonl", "application/x-ndjson", "jsonl", write_jsonl, "One quote per line, as the API returns it."
        ),
        ExportFormat("csv", "text/csv; charset=utf-8", "csv", write_csv, "One row per quote × target."),
        ExportFormat(
            "w3c",
            'application/ld+json; profile="http://www.w3.org/ns/anno.jsonld"',
            "jsonld",
            write_w3c,
            "W3C Web Annotation AnnotationCollection (JSON-LD).",
        ),
        ExportFormat("doccano", "application/x-ndjson", "jsonl", write_doccano, "doccano JSONL, one line per article."),
        ExportFormat(
            "labelstudio", "application/json", "json", write_labelstudio, "Label Studio tasks, UTF-16 offsets."
        ),
    ]
}


def export(
    queryset: QuerySet[Quote], fmt: str, *, chunk_size: int = CHUNK_SIZE, progress: Progress | None = None
) -> Iterator[str]:
    """The quotes of ``queryset`` (already limited to what the reader may see) in format ``fmt``."""
    try:
        writer = FORMATS[fmt].writer
    except KeyError:
        raise ValueError(f"Unknown export format {fmt!r}; use one of {', '.join(FORMATS)}.") from None
    return writer(queryset, chunk_size=chunk_size, progress=progress)
