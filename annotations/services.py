"""Operations that span several models: building a release, and the figures
that describe a set of curated quotes (the release's datasheet, the dataset page).

A release freezes the curated dataset as files in default storage, written
once and served byte for byte forever: one file per export format, and three
documents that describe and cite it (DATASHEET.md, CITATION.cff, release.bib).
Each file's SHA-256 is stored with it; the release's own checksum
(``Release.sha256``) is its JSONL file's, the reference rendering, and the
datasheet lists every data file's, so the checksum a paper cites pins all of them.
"""

from __future__ import annotations

import hashlib
import re
import tempfile
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import urlencode

from django.conf import settings
from django.core.files import File
from django.core.files.base import ContentFile
from django.db import connection, transaction
from django.db.models import Count, F, QuerySet
from django.db.models.functions import TruncMonth
from django.http import QueryDict
from django.urls import reverse

from . import exporters
from .agreement import SetAgreement, load_agreement
from .filters import QuoteFilter
from .models import Article, Guidelines, Quote, Release, ReleaseFile, Stance, StanceLabel

# Every format a release carries; JSONL is the reference (Release.sha256).
RELEASE_FORMATS = ("jsonl", "csv", "xlsx", "w3c", "doccano", "labelstudio", "parquet")


@dataclass(frozen=True)
class ReleaseDocument:
    """A file that describes a release rather than holding its rows."""

    format: str  # the ReleaseFile's format: /api/v1/releases/<id>/files/<format>
    filename: str
    media_type: str


RELEASE_DOCUMENTS = {
    document.format: document
    for document in [
        ReleaseDocument("datasheet", "DATASHEET.md", "text/markdown; charset=utf-8"),
        ReleaseDocument("cff", "CITATION.cff", "application/yaml; charset=utf-8"),
        ReleaseDocument("bibtex", "release.bib", "application/x-bibtex; charset=utf-8"),
    ]
}
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


def build_release(*, name: str, note: str, filters: Mapping[str, str], user: Any, base_url: str = "") -> Release:
    """Freeze the curated quotes that ``filters`` select as release ``name``: one file per
    format, then its datasheet and citations. ``base_url`` is the address the request came
    to; ``DATASET_URL``, when set, is the one citations give."""
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
            data_files = []
            for fmt in RELEASE_FORMATS:
                release_file = _write_file(release, fmt, quotes)
                # cast: FieldFile.save() has just set the name the storage chose.
                stored.append(cast(str, release_file.file.name))
                data_files.append(release_file)
                if fmt == "jsonl":
                    release.sha256 = release_file.sha256
            url = release_url(release, settings.DATASET_URL or base_url)
            release.datasheet = release_datasheet(release, quotes, files=data_files)
            release.citation = release_citation(release, url=url)
            release.bibtex = release_bibtex(release, url=url)
            for fmt, text in [("datasheet", release.datasheet), ("cff", release.citation), ("bibtex", release.bibtex)]:
                release_file = _write_document(release, RELEASE_DOCUMENTS[fmt], text)
                stored.append(cast(str, release_file.file.name))
            release.save(update_fields=["sha256", "datasheet", "citation", "bibtex"])
    except BaseException:
        # The rows roll back with the transaction; the files must go by hand.
        for path in stored:
            ReleaseFile.file.field.storage.delete(path)
        raise
    return release


# --- What a set of curated quotes holds ------------------------------------------


@dataclass
class Composition:
    """A set of quotes in figures: rows of (value, counts), largest first. One query each."""

    by_label: Sequence[Mapping[str, Any]]
    by_target: Sequence[Mapping[str, Any]]
    by_kind: Sequence[Mapping[str, Any]]
    by_language: Sequence[Mapping[str, Any]]
    by_outlet: Sequence[Mapping[str, Any]]
    by_month: Sequence[Mapping[str, Any]]


def _tally(rows: QuerySet[Any]) -> list[Mapping[str, Any]]:
    """Quotes and their articles per ``value``, most quotes first."""
    counts = rows.annotate(quotes=Count("id", distinct=True), articles=Count("article", distinct=True))
    return list(counts.order_by("-quotes", "value"))


def composition(quotes: QuerySet[Quote]) -> Composition:
    """What ``quotes`` hold, by stance label and target (stances and quotes), and by kind,
    language, outlet and month of publication (quotes and articles): six queries."""
    quotes = quotes.order_by()
    stances = Stance.objects.filter(quote__in=quotes).order_by()
    by_label = list(
        stances.values(value=F("label__name"), slug=F("label__slug"), order=F("label__order"))
        .annotate(stances=Count("id"), quotes=Count("quote", distinct=True))
        .order_by("order", "value")
    )
    return Composition(
        by_label=by_label,
        by_target=list(
            stances.values(value=F("target__name"), slug=F("target__slug"))
            .annotate(stances=Count("id"), quotes=Count("quote", distinct=True))
            .order_by("-stances", "value")
        ),
        by_kind=_tally(quotes.values(value=F("kind"))),
        by_language=_tally(quotes.values(value=F("article__language"))),
        by_outlet=_tally(quotes.values(value=F("article__outlet"))),
        by_month=list(
            quotes.values(value=TruncMonth("article__published_on"))
            .annotate(quotes=Count("id", distinct=True), articles=Count("article", distinct=True))
            .order_by(F("value").asc(nulls_last=True))
        ),
    )


def annotators_per_article(figures: SetAgreement, article_count: int) -> dict[int, int]:
    """Number of annotators (submitted or reviewed) → number of articles that had that many."""
    counts = Counter(len(article.annotators) for article in figures.by_article.values())
    unannotated = article_count - sum(counts.values())
    if unannotated > 0:
        counts[0] += unannotated
    return dict(sorted(counts.items()))


def agreement_summary(figures: SetAgreement) -> list[tuple[str, float | None]]:
    """The agreement report's headline figures (``agreement.py`` defines each)."""
    return [
        ("Span F1, exact", figures.exact_f1),
        ("Span F1, overlap", figures.overlap_f1),
        ("Speaker agreement", figures.speaker_agreement),
        ("Stance α (Krippendorff, nominal)", figures.stance_alpha),
    ]


# --- The release's datasheet and citations ---------------------------------------


def _cell(value: Any) -> str:
    """A Markdown table cell: text as it is, but never a column break or a line break."""
    text = "—" if value in (None, "") else str(value)
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\r", " ").replace("\n", " ")


def _table(header: Iterable[str], rows: Iterable[Iterable[Any]]) -> list[str]:
    names = list(header)
    lines = ["| " + " | ".join(names) + " |", "|" + "---|" * len(names)]
    lines += ["| " + " | ".join(_cell(value) for value in row) + " |" for row in rows]
    return [*lines, ""]


def _figure(value: float | None) -> str:
    return "not computable" if value is None else f"{value:.3f}"


def release_authors(release: Release) -> list[str]:
    """``DATASET_AUTHORS``, or the reviewer who made the release."""
    if settings.DATASET_AUTHORS:
        return list(settings.DATASET_AUTHORS)
    user = release.created_by
    if user is None:
        return ["Demarche"]
    return [user.get_full_name().strip() or user.get_username()]


def release_url(release: Release, base_url: str) -> str:
    """The release's address in the API, absolute when the site's address is known."""
    path = reverse("api:release-detail", args=[release.pk])
    return base_url.rstrip("/") + path if base_url.startswith(("https://", "http://")) else ""


def release_datasheet(release: Release, quotes: QuerySet[Quote], *, files: Iterable[ReleaseFile] = ()) -> str:
    """The release's README in Markdown, in the sections of "Datasheets for Datasets"
    (Gebru et al., 2021), filled from the data: its composition, how it was annotated
    (guidelines versions, annotators per article, agreement), the label definitions,
    its licence and files, and the exact filter that made it."""
    counts = dict(
        quotes.order_by()
        .values_list("guidelines_version")
        .annotate(quotes=Count("id"))
        .values_list("guidelines_version", "quotes")
    )
    versions = {g.number: g for g in Guidelines.objects.filter(number__in=[n for n in counts if n is not None])}
    figures = composition(quotes)
    agreement = load_agreement(Article.objects.filter(pk__in=quotes.values("article_id")))
    lines = [
        f"# Demarche release {release.name}",
        "",
        f"{release.quote_count} curated quotes from {release.article_count} articles, "
        f"released {release.created_at:%Y-%m-%d} under {settings.DATASET_LICENSE}. "
        "The sections follow \u201cDatasheets for Datasets\u201d (Gebru et al., 2021).",
        "",
        "## Motivation",
        "",
        "Who said what, about what, with which stance, in diplomatic news: each quote is a span of a "
        "news article attributed to its speaker, with the speaker's stance toward one or more targets. "
        f"Made with Demarche by {'; '.join(release_authors(release))}.",
        "",
        "## Composition",
        "",
        "One instance is one curated quote: its span in the article (Unicode code points, end exclusive), "
        "kind, speaker and role, cue, and a stance (label, intensity 1–3, confidence) per target it "
        "addresses. No stance on a target means the quote does not address it.",
        "",
        "### Stances by label",
        "",
        *_table(["Label", "Stances", "Quotes"], [(r["value"], r["stances"], r["quotes"]) for r in figures.by_label]),
        "### Stances by target",
        "",
        *_table(["Target", "Stances", "Quotes"], [(r["value"], r["stances"], r["quotes"]) for r in figures.by_target]),
        "### Quotes by kind",
        "",
        *_table(["Kind", "Quotes", "Articles"], [(r["value"], r["quotes"], r["articles"]) for r in figures.by_kind]),
        "### By language",
        "",
        *_table(
            ["Language", "Quotes", "Articles"], [(r["value"], r["quotes"], r["articles"]) for r in figures.by_language]
        ),
        "### By outlet",
        "",
        *_table(
            ["Outlet", "Quotes", "Articles"], [(r["value"], r["quotes"], r["articles"]) for r in figures.by_outlet]
        ),
        "### By month of publication",
        "",
        *_table(
            ["Month", "Quotes", "Articles"],
            [(r["value"] and f"{r['value']:%Y-%m}", r["quotes"], r["articles"]) for r in figures.by_month],
        ),
        "## Collection process",
        "",
        "Analysts read each article and marked its quotes in the Demarche annotation tool, blind to each "
        "other's work; an article may be coded by several analysts (double coding).",
        "",
        "### Annotators per article",
        "",
        *_table(
            ["Annotators", "Articles"],
            annotators_per_article(agreement, release.article_count).items(),
        ),
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
    lines += [
        "",
        "## Preprocessing, cleaning and labeling",
        "",
        "Article text is stored once, normalised (Unicode NFC, `\\r\\n` as `\\n`), and never changes once a "
        "quote points into it. Reviewers compared the analysts' submitted quotes and made the curated "
        "version released here; each curated quote's `curated_from` lists the analysts' quotes it came from.",
        "",
        "### Agreement between annotators",
        "",
        f"Over the {agreement.compared_articles} released articles that two or more analysts coded "
        f"({len(agreement.annotators)} annotators), before curation; the definitions are those of "
        "Demarche's agreement report (`/review/agreement/`).",
        "",
        *_table(["Figure", "Value"], [(name, _figure(value)) for name, value in agreement_summary(agreement)]),
        "### Stance labels",
        "",
        *_table(
            ["Label", "Slug", "SemEval", "Definition"],
            StanceLabel.objects.order_by("order", "name").values_list("name", "slug", "semeval", "definition"),
        ),
        "## Uses",
        "",
        "For research on how officials and governments position themselves toward issues in the news: "
        "stance detection, quotation attribution, comparisons across outlets, languages and time. A quote is "
        "what an outlet reported someone said, not a verified statement: don't use it to judge a person.",
        "",
        "## Distribution",
        "",
        f"Licence: {settings.DATASET_LICENSE}. Cite the release with `CITATION.cff` or `release.bib`. "
        "The release's checksum is the SHA-256 of its JSONL file; every data file's is below, "
        "and each download answers with its own in `X-Checksum-SHA256`.",
        "",
        f"Release checksum (SHA-256 of the JSONL file): `{release.sha256}`",
        "",
        *_table(
            ["File", "Format", "Bytes", "SHA-256"],
            [(release_filename(release, f.format), f.format, f.size, f"`{f.sha256}`") for f in files],
        ),
        "## Maintenance",
        "",
        "A release never changes: its files are served byte for byte as frozen. Corrections come as a "
        "new release under a new name, whose changelog says what changed.",
    ]
    if release.note:
        lines += ["", "## Changes", "", release.note]
    lines += ["", "## Filters", ""]
    if release.filters:
        lines += [f"- `{name}` = `{value}`" for name, value in sorted(release.filters.items())]
        query = urlencode(sorted(release.filters.items()))
        lines += ["", f"The same quotes, from the live API: `GET /api/v1/quotes/?{query}` (curated layer)."]
    else:
        lines.append("None: every curated quote the releasing reviewer could read.")
    return "\n".join(lines) + "\n"


def _yaml_string(text: str) -> str:
    """A YAML double-quoted scalar: printable characters as they are, the rest escaped."""
    out = []
    for char in text:
        code = ord(char)
        if char in '"\\':
            out.append("\\" + char)
        elif code < 0x20 or 0x7F <= code <= 0x9F or 0xD800 <= code <= 0xDFFF or code in (0xFEFF, 0xFFFE, 0xFFFF):
            out.append(f"\\u{code:04x}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def _cff_author(name: str) -> list[str]:
    # "Family, Given" is a person; any other name an entity (a team, an institution).
    if "," in name:
        family, given = (part.strip() for part in name.split(",", 1))
        return [f"  - family-names: {_yaml_string(family)}", f"    given-names: {_yaml_string(given)}"]
    return [f"  - name: {_yaml_string(name)}"]


def release_citation(release: Release, *, url: str = "") -> str:
    """CITATION.cff: the release in Citation File Format 1.2.0."""
    lines = [
        "cff-version: 1.2.0",
        'message: "If you use this dataset, please cite it as below."',
        "type: dataset",
        f"title: {_yaml_string(release_title(release))}",
        f"version: {_yaml_string(release.name)}",
        f"date-released: {release.created_at:%Y-%m-%d}",
        "authors:",
        *(line for name in release_authors(release) for line in _cff_author(name)),
        f"license: {_yaml_string(settings.DATASET_LICENSE)}",
    ]
    if url:
        lines.append(f"url: {_yaml_string(url)}")
    lines += [
        f"abstract: {_yaml_string(_abstract(release))}",
        "identifiers:",
        "  - type: other",
        f"    value: {_yaml_string(f'sha256:{release.sha256}')}",
        '    description: "SHA-256 of the release\'s JSONL file"',
        "keywords:",
        '  - "stance detection"',
        '  - "quotation attribution"',
        '  - "diplomacy"',
    ]
    return "\n".join(lines) + "\n"


def release_title(release: Release) -> str:
    return f"Demarche release {release.name}: quotes, speakers and stances in diplomatic news"


def _abstract(release: Release) -> str:
    articles = "news article" if release.article_count == 1 else "news articles"
    return f"{release.quote_count} curated quotes from {release.article_count} {articles}."


_BIBTEX_SPECIALS = {char: f"\\{char}" for char in "&%$#_{}"} | {
    "\\": "\\textbackslash{}",
    "~": "\\textasciitilde{}",
    "^": "\\textasciicircum{}",
}


def _bibtex(text: str) -> str:
    return "".join(_BIBTEX_SPECIALS.get(char, char) for char in text.replace("\n", " "))


def release_bibtex(release: Release, *, url: str = "") -> str:
    """release.bib: the release as a BibTeX ``@misc`` entry (every BibTeX style knows it)."""
    key = "demarche-" + (re.sub(r"[^A-Za-z0-9]+", "-", release.name).strip("-") or str(release.pk))
    # An entity's name in braces, so that BibTeX doesn't split it into given and family names.
    authors = " and ".join(
        _bibtex(name) if "," in name else "{" + _bibtex(name) + "}" for name in release_authors(release)
    )
    fields = [
        ("title", "{" + _bibtex(release_title(release)) + "}"),
        ("author", authors),
        ("year", f"{release.created_at:%Y}"),
        ("version", _bibtex(release.name)),
        ("howpublished", "Demarche dataset release"),
    ]
    if url:
        fields.append(("url", url.replace("%", "\\%")))
    fields.append(
        (
            "note",
            _bibtex(f"{_abstract(release)} Licence {settings.DATASET_LICENSE}. ")
            + f"SHA-256 of the JSONL file: {release.sha256}",
        )
    )
    body = ",\n".join(f"  {name} = {{{value}}}" for name, value in fields)
    return f"@misc{{{key},\n{body}\n}}\n"


def release_filename(release: Release, fmt: str) -> str:
    """The name a release file is stored and downloaded under."""
    document = RELEASE_DOCUMENTS.get(fmt)
    if document is not None:
        return document.filename
    spec = exporters.FORMATS.get(fmt)
    return f"demarche-{release.name}-{fmt}.{spec.extension if spec else fmt}"


def release_media_type(fmt: str) -> str:
    document = RELEASE_DOCUMENTS.get(fmt)
    if document is not None:
        return document.media_type
    spec = exporters.FORMATS.get(fmt)
    return spec.media_type if spec else "application/octet-stream"


def _write_file(release: Release, fmt: str, quotes: QuerySet[Quote]) -> ReleaseFile:
    digest = hashlib.sha256()
    size = 0
    with tempfile.TemporaryFile() as spool:
        for data in exporters.export(quotes, fmt, iri=exporters.release_iri(release.name)):
            digest.update(data)
            spool.write(data)
            size += len(data)
        spool.seek(0)
        release_file = ReleaseFile(release=release, format=fmt, sha256=digest.hexdigest(), size=size)
        release_file.file.save(f"{release.pk}-{release.name}/{release_filename(release, fmt)}", File(spool), save=False)
    release_file.save()
    return release_file


def _write_document(release: Release, document: ReleaseDocument, text: str) -> ReleaseFile:
    data = text.encode("utf-8")
    release_file = ReleaseFile(
        release=release, format=document.format, sha256=hashlib.sha256(data).hexdigest(), size=len(data)
    )
    release_file.file.save(f"{release.pk}-{release.name}/{document.filename}", ContentFile(data), save=False)
    release_file.save()
    return release_file
