"""Exports (JSONL, CSV, W3C, doccano, Label Studio) and span imports (doccano,
Label Studio): their shapes, offsets that round-trip, inert strings, bounded
queries, the export_dataset and import_spans commands and the API endpoints."""

# Shared fixtures are imported from test_api_support by name, which pyflakes
# reads as unused imports shadowed by the test arguments.
# ruff: noqa: F401, F811

from __future__ import annotations

import csv
import datetime
import io
import json
import random
from collections import Counter

import factory
import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from annotations import exporters
from annotations.filters import QUOTE_ORDERINGS, ordering_exprs
from annotations.models import Article, Assignment, Quote
from annotations.offsets import codepoint_to_utf16
from annotations.serializers import QuoteSerializer
from annotations.span_importers import import_spans

from .factories import (
    ArticleFactory,
    AssignmentFactory,
    SpeakerFactory,
    SpeakerRoleFactory,
    StanceFactory,
    StanceLabelFactory,
    TargetFactory,
    UserFactory,
)
from .test_api_support import api, curated_article, curated_quote, isolated_media, raw_quote, seeded

pytestmark = pytest.mark.django_db

MIXED_TEXT = "Intro 😀 then “Shalom שלום to all” 🇮🇱 he said.\r\nNext line with café."


def export_bytes(queryset, fmt: str, **kwargs) -> bytes:
    return b"".join(exporters.export(queryset, fmt, **kwargs))


def export_text(queryset, fmt: str, **kwargs) -> str:
    return export_bytes(queryset, fmt, **kwargs).decode("utf-8")


def streamed(response) -> str:
    return b"".join(response.streaming_content).decode("utf-8")


def span(article: Article, words: str) -> dict[str, int]:
    start = article.text.index(words)
    return {"start": start, "end": start + len(words)}


@pytest.fixture
def mixed_article():
    """A curated article with emoji (astral), a flag (two astral code points) and Hebrew."""
    article = curated_article(text=MIXED_TEXT, title="Shalom")
    for words, kind in (("then", "direct"), ("Shalom שלום to all", "indirect"), ("🇮🇱 he", "mixed"), ("café", "direct")):
        curated_quote(article=article, kind=kind, **span(article, words))
    return article


# --- JSONL ------------------------------------------------------------------------


def test_jsonl_has_one_quote_per_line_as_the_api_returns_it(seeded, researcher, api):
    client = api(researcher)
    lines = streamed(client.get("/api/v1/quotes/export?format=jsonl")).splitlines()
    assert len(lines) == Quote.objects.curated().count() == 8
    first = json.loads(lines[0])
    assert first == client.get(f"/api/v1/quotes/{first['id']}/").json()
    assert first["offsets_convention"] == "unicode-code-points, end-exclusive"


def test_strings_stay_inert_data_in_json_exports(researcher, api):
    article = curated_article(title="<script>alert(1)</script>", url="https://example.org/a?x=1&y=2")
    Article.objects.filter(pk=article.pk).update(url="javascript:alert(1)")
    curated_quote(article=article, speaker=SpeakerFactory(name="</script><img src=x onerror=alert(1)>"))
    client = api(researcher)
    for fmt in ("jsonl", "w3c", "doccano", "labelstudio"):
        body = streamed(client.get(f"/api/v1/quotes/export?format={fmt}"))
        assert "<script>" not in body and "<img" not in body, fmt
        assert "\\u003cscript\\u003e" in body, fmt
    row = json.loads(streamed(client.get("/api/v1/quotes/export?format=jsonl")))
    assert row["article"]["title"] == "<script>alert(1)</script>"  # the same value, once parsed
    assert row["article"]["url"] == "javascript:alert(1)"
    assert row["speaker"]["name"] == "</script><img src=x onerror=alert(1)>"


def test_exports_are_attachments_that_are_never_sniffed(researcher, api):
    curated_quote()
    for fmt, media_type in [
        ("jsonl", "application/x-ndjson"),
        ("csv", "text/csv; charset=utf-8"),
        ("w3c", 'application/ld+json; profile="http://www.w3.org/ns/anno.jsonld"'),
        ("doccano", "application/x-ndjson"),
        ("labelstudio", "application/json"),
    ]:
        response = api(researcher).get(f"/api/v1/quotes/export?format={fmt}")
        assert response.status_code == 200
        assert response.streaming
        assert response["Content-Type"] == media_type
        assert response["Content-Disposition"].startswith('attachment; filename="demarche-quotes-curated-')
        assert response["X-Content-Type-Options"] == "nosniff"


def test_the_export_needs_a_known_format(researcher, api):
    response = api(researcher).get("/api/v1/quotes/export?format=ods")
    assert response.status_code == 400
    assert "format" in response.json()
    assert api(researcher).get("/api/v1/quotes/export").status_code == 400


def test_the_export_honours_the_filters_and_the_layer(researcher, reviewer, analyst, api):
    target = TargetFactory(slug="iran-nuclear")
    wanted = curated_quote()
    StanceFactory(quote=wanted, target=target)
    curated_quote()
    raw_quote(analyst)
    lines = streamed(api(researcher).get("/api/v1/quotes/export?format=jsonl&target=iran-nuclear")).splitlines()
    assert [json.loads(line)["id"] for line in lines] == [wanted.pk]
    raw = streamed(api(reviewer).get("/api/v1/quotes/export?format=jsonl&layer=raw")).splitlines()
    assert [json.loads(line)["layer"] for line in raw] == ["raw"]
    assert api(researcher).get("/api/v1/quotes/export?format=jsonl&speakr=1").status_code == 400


def test_the_slashless_export_url_works(researcher, api):
    curated_quote()
    response = api(researcher).get("/api/v1/quotes/export?format=jsonl")
    assert response.status_code == 200
    assert api(researcher).get("/api/v1/quotes/export/?format=jsonl").status_code == 200


# --- JSONL: the same bytes whichever way they are written ---------------------------------

# What JSON, COPY's text format and HTML treat specially, right-to-left scripts,
# a combining mark, and characters beyond U+FFFF.
AWKWARD = 'שלום مرحبا 😀🇮🇱 e\u0301 "quoted" back\\slash\ttab <script>&amp;</script> \u2028\u2029 \x01\x1f\x7f end'
# Confidences whose text could come out differently in PostgreSQL and Python:
# whole numbers, the switch to exponents below 1e-4, full 17-digit mantissas.
CONFIDENCES = [0.0, -0.0, 1.0, 0.5, 0.1 + 0.2, 1 / 3, 1e-4, 9.999999999999999e-05, 1e-05, 2.5e-07, 5e-324] + [
    random.Random(7).random() ** power for power in range(1, 24)
]
JSON_ESCAPES = str.maketrans({"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"})


def reference_line(quote: Quote) -> str:
    """A JSONL line as the export first wrote it: QuoteSerializer, compact json.dumps, inert characters escaped."""
    return json.dumps(QuoteSerializer(quote).data, ensure_ascii=False, separators=(",", ":")).translate(JSON_ESCAPES)


def reference_jsonl(queryset) -> str:
    return "".join(reference_line(quote) + "\n" for quote in exporters.optimise(queryset))


def reference_jsonl_of(ids: list[int]) -> str:
    quotes = {quote.pk: quote for quote in exporters.optimise(Quote.objects.filter(pk__in=ids))}
    return "".join(reference_line(quotes[pk]) + "\n" for pk in ids)


def spans_of(article: Article, words: str, **names: str) -> dict[str, object]:
    """start/end of ``words`` and, for each prefix named, its ``<prefix>_start/_end/_text``."""
    values: dict[str, object] = span(article, words)
    for prefix, part in names.items():
        start = article.text.index(part)
        values.update({f"{prefix}_start": start, f"{prefix}_end": start + len(part), f"{prefix}_text": part})
    return values


@pytest.fixture
def awkward_quotes(analyst):
    """Quotes in every shape a JSONL line takes, holding every character that needs care."""
    article = curated_article(
        text=f"Minister Awkward said: {AWKWARD}\n\nHe added, in a nested aside, that {AWKWARD} stands.",
        title=AWKWARD,
        outlet="",
        url="",
        published_on=None,
    )
    other = curated_article(url="https://example.org/news?id=1&lang=he", published_on=datetime.date(2023, 1, 5))
    speaker = SpeakerFactory(name=AWKWARD, country="IL", wikidata_qid="Q42")
    role = SpeakerRoleFactory(speaker=speaker, title=AWKWARD, organisation="")
    addressee = SpeakerFactory(name="Addressee 👋", country="", wikidata_qid="")
    normalised = article.text.split(": ", 1)[1].split("\n")[0]
    sources = [
        raw_quote(analyst, article=article, **span(article, normalised)),
        raw_quote(UserFactory(username="אנליסט_3", role="analyst"), article=article, **span(article, normalised)),
    ]
    main = curated_quote(
        article=article,
        speaker=speaker,
        speaker_role=role,
        addressee=addressee,
        cue="said",
        attribution_group="awkward-1",
        **spans_of(article, normalised, mention="Minister Awkward", cue="said"),
    )
    main.curated_from.set(reversed(sources))
    aside = span(article, "a nested aside")
    nested = curated_quote(article=article, speaker=None, parent=main, kind="indirect", **aside)
    plain = curated_quote(article=other, speaker=addressee, kind="mixed", **span(other, "We will not allow"))
    raw_quote(None, article=other, **span(other, "nuclear weapon"))

    labels = [StanceLabelFactory(slug=slug) for slug in ("support", "oppose", "neutral")]
    targets = TargetFactory.create_batch(len(CONFIDENCES), name=factory.Sequence(lambda n: f"{AWKWARD} {n}"))
    for index, target in enumerate(reversed(targets[:3])):  # ids of stances and targets in opposite orders
        StanceFactory(quote=main, target=target, label=labels[index], intensity=[None, 3, 1][index], note=AWKWARD)
    for index, (target, confidence) in enumerate(zip(targets, CONFIDENCES, strict=True)):
        StanceFactory(quote=plain, target=target, label=labels[index % 3], confidence=confidence, note="")
    # One quote made under guidelines, the others before any: both renderings write both.
    Quote.objects.filter(pk=plain.pk).update(guidelines_version=7)
    utc = datetime.UTC
    Quote.objects.filter(pk=main.pk).update(
        created_at=datetime.datetime(2023, 1, 5, 12, 0, tzinfo=utc),  # no fraction: isoformat leaves it out
        updated_at=datetime.datetime(2023, 1, 5, 12, 0, 0, 123, tzinfo=utc),
    )
    return {"main": main, "nested": nested, "plain": plain}


@pytest.mark.parametrize(
    "ordering",
    [None, "-id", "-published_on", "start"],
)
def test_jsonl_lines_are_byte_for_byte_what_the_serializer_writes(awkward_quotes, ordering):
    queryset = Quote.objects.all()  # both layers: annotators, provenance and their absence
    if ordering:
        queryset = queryset.order_by(*ordering_exprs(QUOTE_ORDERINGS[ordering]))

    exported = export_text(queryset, "jsonl")

    assert exported == reference_jsonl(queryset)
    assert len(exported.splitlines()) == 6
    assert "\\u003cscript\\u003e\\u0026amp;" in exported and "\\u2028\\u2029" in exported
    assert "\\u0001\\u001f\x7f" in exported and '\\"quoted\\" back\\\\slash\\ttab' in exported
    assert '"created_at":"2023-01-05T12:00:00Z","updated_at":"2023-01-05T12:00:00.000123Z"' in exported


def test_jsonl_through_the_api_is_byte_for_byte_what_the_serializer_writes(awkward_quotes, researcher, reviewer, api):
    target = awkward_quotes["main"].stances.order_by("id").first().target
    for user, query in [
        (researcher, ""),
        (researcher, f"&target={target.slug}&label=support"),
        (researcher, "&ordering=-published_on"),
        (researcher, "&q=nested"),
        (researcher, "&published_after=2023-01-01&kind=mixed"),
        (researcher, "&speaker_country=il"),
        (reviewer, "&layer=raw"),
    ]:
        exported = streamed(api(user).get(f"/api/v1/quotes/export?format=jsonl{query}"))
        listed = [row["id"] for row in api(user).get(f"/api/v1/quotes/?page_size=500{query}").json()["results"]]
        assert listed, query
        assert exported == reference_jsonl_of(listed), query


def test_postgresql_writes_the_jsonl_lines_in_one_statement(awkward_quotes):
    if connection.vendor != "postgresql":
        pytest.skip("the lines are built by the database on PostgreSQL only")
    with CaptureQueriesContext(connection) as queries:
        export_text(Quote.objects.all(), "jsonl")
    assert [query["sql"].split(" ", 1)[0] for query in queries] == ["COPY"]


def test_jsonl_timestamps_follow_the_current_time_zone_as_the_api_does(awkward_quotes):
    with timezone.override("Asia/Jerusalem"):
        exported = export_text(Quote.objects.all(), "jsonl")
        assert exported == reference_jsonl(Quote.objects.all())
    assert '"created_at":"2023-01-05T14:00:00+02:00"' in exported


def test_a_queryset_that_can_match_nothing_exports_an_empty_jsonl_file(awkward_quotes):
    assert export_text(Quote.objects.none(), "jsonl") == ""
    assert export_text(Quote.objects.filter(pk__in=[]), "jsonl") == ""


@pytest.mark.django_db(transaction=True)
def test_a_jsonl_export_abandoned_halfway_leaves_the_connection_usable():
    article = curated_article(text="He said: " + "peace now, " * 2000)
    for start in range(9, 9 + 11 * 300, 11):
        curated_quote(article=article, start=start, end=start + 10)
    chunks = exporters.export(Quote.objects.all(), "jsonl")
    first = next(chunks)
    chunks.close()  # as when a client drops a streamed download
    assert 0 < first.count(b"\n") < 300
    assert Quote.objects.count() == 300


# --- CSV ----------------------------------------------------------------------------


def test_csv_has_one_row_per_quote_and_target_and_one_for_a_quote_without_stances(researcher, api):
    two = curated_quote()
    StanceFactory(quote=two, target=TargetFactory(slug="a"))
    StanceFactory(quote=two, target=TargetFactory(slug="b"))
    none = curated_quote()
    rows = list(csv.DictReader(io.StringIO(streamed(api(researcher).get("/api/v1/quotes/export?format=csv")))))
    assert [(int(row["quote_id"]), row["target_slug"]) for row in rows] == [(two.pk, "a"), (two.pk, "b"), (none.pk, "")]
    assert rows[2]["label"] == rows[2]["intensity"] == ""
    assert rows[0]["text"] == two.text
    assert (int(rows[0]["start"]), int(rows[0]["end"])) == (two.start, two.end)
    assert list(rows[0]) == exporters.CSV_COLUMNS


# Research data stays exact: a leading apostrophe against spreadsheet formulas
# made these quotes' text differ from the article between their offsets.
# Spreadsheet users take the XLSX (tests/test_exports_open_in_their_tools.py).
@pytest.mark.parametrize("formula", ["=1+1", "+SUM(A1)", "-2+3", "@cmd", '=HYPERLINK("http://x")'])
def test_csv_cells_that_look_like_formulas_stay_exactly_as_written(researcher, api, formula):
    article = curated_article(text=f"{formula} is what he said.", outlet=formula)
    curated_quote(article=article, start=0, end=len(formula), speaker=SpeakerFactory(name=formula))
    row = next(csv.DictReader(io.StringIO(streamed(api(researcher).get("/api/v1/quotes/export?format=csv")))))
    assert row["text"] == row["outlet"] == row["speaker_name"] == formula
    assert row["text"] == article.text[int(row["start"]) : int(row["end"])]
    assert row["start"] == "0"  # numbers are numbers


# --- W3C Web Annotation ---------------------------------------------------------------


def test_w3c_export_is_an_annotation_collection_with_both_selectors(seeded, researcher, api):
    document = json.loads(streamed(api(researcher).get("/api/v1/quotes/export?format=w3c")))
    assert document["@context"][0] == "http://www.w3.org/ns/anno.jsonld"
    assert document["type"] == "AnnotationCollection"
    assert document["dm:offsetsConvention"] == "unicode-code-points, end-exclusive"
    items = document["first"]["items"]
    assert document["total"] == len(items) == 8
    gallant = next(item for item in items if item["target"]["selector"][1]["start"] == 177)
    assert gallant["type"] == "Annotation"
    quote_selector, position = gallant["target"]["selector"]
    assert quote_selector["type"] == "TextQuoteSelector"
    assert quote_selector["exact"] == seeded.text[177:362]
    assert quote_selector["prefix"] == seeded.text[177 - 32 : 177]
    assert quote_selector["suffix"] == seeded.text[362 : 362 + 32]
    assert position == {"type": "TextPositionSelector", "start": 177, "end": 362}
    assert gallant["target"]["source"]["id"] == f"urn:x-demarche:article:{seeded.pk}"
    stances = [body for body in gallant["body"] if body["purpose"] == "tagging"]
    assert {(body["value"], body["dm:target"]["slug"]) for body in stances} == {
        ("oppose", "iran-nuclear-weapons"),
        ("support", "international-action-iran"),
    }
    speaker = next(body for body in gallant["body"] if body["purpose"] == "identifying")
    assert speaker["value"] == "Yoav Gallant"


def test_w3c_positions_count_code_points_like_the_spec(mixed_article, researcher, api):
    document = json.loads(streamed(api(researcher).get("/api/v1/quotes/export?format=w3c")))
    for item in document["first"]["items"]:
        exact, position = item["target"]["selector"]
        assert MIXED_TEXT.replace("\r\n", "\n")[position["start"] : position["end"]] == exact["exact"]


def test_an_empty_w3c_export_is_still_valid_json(researcher, api):
    document = json.loads(streamed(api(researcher).get("/api/v1/quotes/export?format=w3c")))
    assert document["total"] == 0
    # A page holds one or more annotations (W3C), so an empty collection has no page.
    assert "first" not in document


# --- doccano and Label Studio ------------------------------------------------------------


def test_doccano_has_one_line_per_article_with_code_point_labels(mixed_article, researcher, api):
    lines = streamed(api(researcher).get("/api/v1/quotes/export?format=doccano")).splitlines()
    assert len(lines) == 1
    record = json.loads(lines[0])
    assert record["text"] == mixed_article.text
    labels = record["label"]
    assert [record["text"][start:end] for start, end, _ in labels] == ["then", "Shalom שלום to all", "🇮🇱 he", "café"]
    assert [label for _, _, label in labels] == ["DIRECT", "INDIRECT", "MIXED", "DIRECT"]


# Label Studio 1.23.2 counts code points (its own export, in /work/shared/fixtures,
# stores a region after three emoji as Python's text[31:47]); this export
# counted UTF-16 units, and every region after an emoji was off in Label Studio.
def test_label_studio_offsets_count_code_points(mixed_article, researcher, api):
    tasks = json.loads(streamed(api(researcher).get("/api/v1/quotes/export?format=labelstudio")))
    assert len(tasks) == 1
    text = tasks[0]["data"]["text"]
    results = tasks[0]["annotations"][0]["result"]
    for result in results:
        value = result["value"]
        assert result["type"] == "labels"
        assert text[value["start"] : value["end"]] == value["text"]
    shalom = next(result["value"] for result in results if result["value"]["text"].startswith("Shalom"))
    assert shalom["start"] == text.index("Shalom") != codepoint_to_utf16(text, text.index("Shalom"))


def test_label_studio_groups_raw_quotes_by_annotator(reviewer, analyst, second_analyst, api):
    article = ArticleFactory()
    raw_quote(analyst, article=article)
    raw_quote(second_analyst, article=article)
    tasks = json.loads(streamed(api(reviewer).get("/api/v1/quotes/export?format=labelstudio&layer=raw")))
    assert [annotation["meta"]["annotator"] for annotation in tasks[0]["annotations"]] == ["analyst", "analyst2"]


# --- Streaming and queries -------------------------------------------------------------


@pytest.mark.parametrize("fmt", list(exporters.FORMATS))
def test_export_queries_grow_with_chunks_not_quotes(fmt):
    target = TargetFactory()
    article = curated_article()
    for _ in range(5):
        StanceFactory(quote=curated_quote(article=article), target=target)
    queryset = Quote.objects.curated()
    with CaptureQueriesContext(connection) as few:
        export_bytes(queryset, fmt, chunk_size=2000)
    for _ in range(45):
        StanceFactory(quote=curated_quote(article=article), target=target)
    with CaptureQueriesContext(connection) as many:
        export_bytes(queryset, fmt, chunk_size=2000)
    assert len(many) == len(few)
    with CaptureQueriesContext(connection) as chunked:
        export_bytes(queryset, fmt, chunk_size=10)
    # Five chunks of ten: the per-chunk queries five times over, never one per quote.
    per_chunk = len(few) - (1 if fmt == "w3c" else 0)
    assert len(chunked) <= 5 * per_chunk + 1
    assert len(chunked) < 50


def test_an_export_is_a_stream_of_chunks_not_one_string():
    for _ in range(3):
        curated_quote()
    chunks = exporters.export(Quote.objects.curated(), "jsonl")
    assert iter(chunks) is chunks  # a generator: nothing is built until it is read
    assert len(b"".join(chunks).splitlines()) == 3


# --- Span imports: round trips ------------------------------------------------------------


def _offsets(article: Article, user) -> list[tuple[int, int, str]]:
    return sorted(Quote.objects.raw_layer().filter(article=article, annotator=user).values_list("start", "end", "kind"))


def _curated_offsets(article: Article) -> list[tuple[int, int, str]]:
    return sorted(Quote.objects.curated().filter(article=article).values_list("start", "end", "kind"))


@pytest.mark.parametrize("fmt", ["doccano", "labelstudio"])
def test_the_seed_article_round_trips_with_identical_offsets(seeded, reviewer, fmt):
    exported = export_text(Quote.objects.curated().filter(article=seeded), fmt)
    report = import_spans(exported.encode(), fmt, user=reviewer)
    assert report.ok, [str(note) for note in report.errors]
    assert (report.articles_matched, report.articles_created, report.quotes_created) == (1, 0, 8)
    assert _offsets(seeded, reviewer) == _curated_offsets(seeded)
    again = import_spans(exported.encode(), fmt, user=reviewer)
    assert again.quotes_created == 0 and len(again.skipped) == 8  # importing twice changes nothing


@pytest.mark.parametrize("fmt", ["doccano", "labelstudio"])
def test_emoji_and_hebrew_round_trip_with_identical_offsets(mixed_article, reviewer, fmt):
    exported = export_text(Quote.objects.curated(), fmt)
    report = import_spans(exported, fmt, user=reviewer)
    assert report.ok, [str(note) for note in report.errors]
    assert _offsets(mixed_article, reviewer) == _curated_offsets(mixed_article)
    for quote in Quote.objects.raw_layer().filter(annotator=reviewer):
        assert quote.text == mixed_article.text[quote.start : quote.end]


def test_an_import_creates_the_article_and_makes_the_spans_the_importers_raw_quotes(analyst):
    text = "Ambassador 😀 said: “שלום, peace.”"
    start = text.index("שלום")
    line = json.dumps({"text": text, "label": [[start, start + 4, "direct"]], "title": "Imported", "outlet": "X"})
    report = import_spans(line, "doccano", user=analyst)
    assert report.ok, report.errors
    quote = Quote.objects.get()
    assert (quote.text, quote.kind, quote.annotator, quote.is_curated, quote.speaker) == (
        "שלום",
        "direct",
        analyst,
        False,
        None,
    )
    assert (quote.article.title, quote.article.outlet, quote.article.created_by) == ("Imported", "X", analyst)
    assert report.articles_created == 1


def test_label_studio_offsets_count_code_points_and_are_checked_against_the_text(analyst):
    text = "😀😀 Peace now."
    task = {
        "data": {"text": text},
        "annotations": [
            {"result": [{"type": "labels", "value": {"start": 3, "end": 8, "text": "Peace", "labels": ["Direct"]}}]}
        ],
    }
    report = import_spans(json.dumps([task]), "labelstudio", user=analyst)
    assert report.ok, report.errors
    assert Quote.objects.get().text == "Peace"
    assert (Quote.objects.get().start, Quote.objects.get().end) == (3, 8)


def test_a_label_studio_text_mismatch_refuses_the_whole_file_naming_the_task(analyst):
    good = {
        "data": {"text": "First text here."},
        "annotations": [{"result": [{"type": "labels", "value": {"start": 0, "end": 5, "labels": ["DIRECT"]}}]}],
    }
    # UTF-16 units given where Label Studio writes code points: the text no longer matches.
    bad = {
        "data": {"text": "😀 Peace now."},
        "annotations": [
            {"result": [{"type": "labels", "value": {"start": 3, "end": 8, "text": "Peace", "labels": ["DIRECT"]}}]}
        ],
    }
    report = import_spans(json.dumps([good, bad]), "labelstudio", user=analyst)
    assert not report.ok
    assert [str(note) for note in report.errors] == [
        "task 2: span 1: the text at 3–8 is 'eace ', but the span says 'Peace'"
    ]
    assert not Quote.objects.exists() and not Article.objects.exists()


def test_every_bad_line_is_named_and_nothing_is_written(analyst):
    lines = [
        json.dumps({"text": "Good text.", "label": [[0, 4, "DIRECT"]]}),
        "{not json",
        json.dumps({"text": "Short.", "label": [[0, 40, "DIRECT"]]}),
        json.dumps({"text": "Label.", "label": [[0, 5, "SHOUTED"]]}),
        json.dumps({"label": [[0, 5, "DIRECT"]]}),
    ]
    report = import_spans("\n".join(lines), "doccano", user=analyst)
    assert [note.number for note in report.errors] == [2, 3, 4, 5]
    assert "unknown label 'SHOUTED'" in report.errors[2].message
    assert not Quote.objects.exists() and not Article.objects.exists()


def test_offsets_into_a_text_that_is_not_yet_normalised_are_mapped(analyst):
    original = "Cafe\u0301 talks.\r\nHe said “yes”."
    start = original.index("yes")
    report = import_spans(
        json.dumps({"text": original, "label": [[start, start + 3, "DIRECT"]]}), "doccano", user=analyst
    )
    assert report.ok, report.errors
    quote = Quote.objects.get()
    assert quote.text == "yes"
    assert quote.article.text == "Café talks.\nHe said “yes”."


def test_an_analyst_can_not_import_into_an_article_they_submitted(analyst):
    article = AssignmentFactory(annotator=analyst, article=ArticleFactory(pool=False)).article
    Assignment.objects.filter(article=article).update(status=Assignment.Status.SUBMITTED)
    report = import_spans(json.dumps({"text": article.text, "label": [[1, 5, "DIRECT"]]}), "doccano", user=analyst)
    assert not report.ok
    assert "can't add quotes" in report.errors[0].message
    assert not Quote.objects.exists()


def test_a_submission_between_the_check_and_the_write_stops_the_import(analyst, monkeypatch):
    """The file is checked, then written: an article submitted in between takes no quotes,
    as on the pages (Assignment.hold_open), and the report says why."""
    from annotations import span_importers

    article = AssignmentFactory(annotator=analyst, article=ArticleFactory(pool=False)).article
    checked = span_importers._match_articles

    def check_then_submit(*args, **kwargs):
        checked(*args, **kwargs)
        Assignment.objects.get(article=article, annotator=analyst).move_to(Assignment.Status.SUBMITTED)

    monkeypatch.setattr(span_importers, "_match_articles", check_then_submit)
    report = import_spans(json.dumps({"text": article.text, "label": [[1, 5, "DIRECT"]]}), "doccano", user=analyst)
    assert not report.ok
    assert "submitted this article meanwhile" in report.errors[0].message
    assert "Nothing was written" in report.errors[0].message
    assert not Quote.objects.exists()


def test_an_analyst_can_not_import_into_an_article_they_can_not_see(analyst, second_analyst):
    article = AssignmentFactory(annotator=second_analyst, article=ArticleFactory(pool=False)).article
    report = import_spans(json.dumps({"text": article.text, "label": [[1, 5, "DIRECT"]]}), "doccano", user=analyst)
    assert not report.ok
    assert not Quote.objects.exists()


def test_doccano_entities_are_read_too(analyst):
    line = {"text": "Peace now.", "entities": [{"start_offset": 0, "end_offset": 5, "label": "INDIRECT"}]}
    assert import_spans(json.dumps(line), "doccano", user=analyst).ok
    assert Quote.objects.get().kind == "indirect"


# --- The import endpoint and the commands ----------------------------------------------------


def test_the_import_endpoint_reports_what_it_did(analyst, api):
    upload = SimpleUploadedFile("spans.jsonl", json.dumps({"text": "Peace now.", "label": [[0, 5, "DIRECT"]]}).encode())
    response = api(analyst).post("/api/v1/quotes/import", {"file": upload, "format": "doccano"}, format="multipart")
    assert response.status_code == 201, response.content
    assert response.json()["quotes_created"] == 1
    assert response.json()["articles_created"] == 1


def test_the_import_endpoint_refuses_a_bad_file_with_the_report(analyst, api):
    upload = SimpleUploadedFile("spans.jsonl", b'{"text": "x", "label": [[0, 9, "DIRECT"]]}')
    response = api(analyst).post("/api/v1/quotes/import/", {"file": upload, "format": "doccano"}, format="multipart")
    assert response.status_code == 400
    assert response.json()["errors"][0]["line"] == 1
    assert not Quote.objects.exists()


def test_researchers_can_not_import(researcher, api):
    upload = SimpleUploadedFile("spans.jsonl", b'{"text": "Peace now.", "label": [[0, 5, "DIRECT"]]}')
    response = api(researcher).post("/api/v1/quotes/import", {"file": upload, "format": "doccano"}, format="multipart")
    assert response.status_code == 403


def test_export_dataset_writes_the_same_bytes_as_the_api(seeded, researcher, api, tmp_path, capsys):
    for fmt in exporters.FORMATS:
        output = tmp_path / f"out.{fmt}"
        # With the site's address, the W3C collection has the id the API gives it.
        call_command("export_dataset", "--format", fmt, "--output", str(output), "--base-url", "http://testserver")
        response = api(researcher).get(f"/api/v1/quotes/export?format={fmt}")
        from_api = b"".join(response.streaming_content)
        if fmt == "xlsx":
            # A workbook records when it was written: compare the cells.
            assert xlsx_rows(output.read_bytes()) == xlsx_rows(from_api)
        else:
            assert output.read_bytes() == from_api, fmt
    assert "Exported 8 quotes" in capsys.readouterr().err


def xlsx_rows(body: bytes) -> list[tuple[object, ...]]:
    return list(openpyxl.load_workbook(io.BytesIO(body), read_only=True)["quotes"].values)


def test_export_dataset_filters_and_refuses_bad_values(seeded, tmp_path):
    output = tmp_path / "price.jsonl"
    call_command(
        "export_dataset", "--format", "jsonl", "--output", str(output), "--target", "iran-nuclear", "--label", "oppose"
    )
    rows = [json.loads(line) for line in output.read_text().splitlines()]
    assert rows and all(any(stance["label"] == "oppose" for stance in row["stances"]) for row in rows)
    with pytest.raises(CommandError, match="unknown target 'atlantis'"):
        call_command("export_dataset", "--format", "jsonl", "--output", str(output), "--target", "atlantis")


def test_export_dataset_raw_layer_and_as_user(seeded, tmp_path, analyst, researcher):
    output = tmp_path / "raw.csv"
    call_command("export_dataset", "--format", "csv", "--output", str(output), "--layer", "raw")
    rows = list(csv.DictReader(output.open()))
    # Both demo analysts' readings: the first analyst's 8 quotes, the second's 7 (one missed).
    assert Counter(row["annotator"] for row in {row["quote_id"]: row for row in rows}.values()) == {
        "analyst": 8,
        "analyst2": 7,
    }
    call_command(
        "export_dataset", "--format", "csv", "--output", str(output), "--layer", "raw", "--as-user", "researcher"
    )
    assert list(csv.DictReader(output.open())) == []


def test_export_dataset_leaves_no_partial_file_when_it_fails(seeded, tmp_path, monkeypatch):
    def broken(*args, **kwargs):
        yield "partial"
        raise RuntimeError("disk full")

    monkeypatch.setitem(
        exporters.FORMATS, "jsonl", exporters.FORMATS["jsonl"].__class__("jsonl", "", "jsonl", broken, "")
    )
    output = tmp_path / "out.jsonl"
    with pytest.raises(RuntimeError):
        call_command("export_dataset", "--format", "jsonl", "--output", str(output))
    assert list(tmp_path.iterdir()) == []


def test_import_spans_command(reviewer, tmp_path, capsys):
    path = tmp_path / "spans.jsonl"
    path.write_text(json.dumps({"text": "Peace now.", "label": [[0, 5, "DIRECT"]]}), encoding="utf-8")
    call_command("import_spans", str(path), "--user", "reviewer")
    assert "1 quote(s) imported" in capsys.readouterr().out
    bad = tmp_path / "bad.json"
    bad.write_text("[{}]", encoding="utf-8")
    with pytest.raises(CommandError, match="refused"):
        call_command("import_spans", str(bad), "--user", "reviewer")
    assert Quote.objects.count() == 1


def test_the_import_endpoint_refuses_a_file_over_the_limit(analyst, api, settings):
    settings.IMPORT_MAX_BYTES = 100
    line = json.dumps({"text": "Peace now. " * 20, "label": [[0, 5, "DIRECT"]]}).encode()
    upload = SimpleUploadedFile("spans.jsonl", line)
    response = api(analyst).post("/api/v1/quotes/import", {"file": upload, "format": "doccano"}, format="multipart")
    assert response.status_code == 413
    assert "limit" in response.json()["detail"]
    assert not Quote.objects.exists()
