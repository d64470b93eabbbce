"""Every export opens exactly in the tool it is for, loaded the way that tool reads it.

pandas reads the CSV and the XLSX, openpyxl the XLSX's cells, pyarrow's JSON
reader the curated and raw JSONL as one table (what ``datasets`` does under
the hood; ``datasets`` itself is too heavy a dependency for the test suite),
and the doccano, Label Studio and W3C exports are checked against what those
tools and the W3C Web Annotation Data Model require. The text is as hostile as
the news gets: flags, ZWJ sequences, skin tones, Hebrew and Arabic with their
vowel marks, Devanagari, stacked combining marks, newlines, and quotes that
start like spreadsheet formulas.
"""

# Shared fixtures are imported from test_api_support by name, which pyflakes
# reads as unused imports shadowed by the test arguments.
# ruff: noqa: F401, F811

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any

import openpyxl
import pandas
import pyarrow
import pyarrow.json
import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from annotations import exporters, services
from annotations.models import Article, Quote

from .factories import SpeakerFactory, StanceFactory, TargetFactory
from .test_api_support import api, curated_article, curated_quote, isolated_media, raw_quote

pytestmark = pytest.mark.django_db

# Written by Label Studio 1.23.2 itself; its README beside it says how.
LABEL_STUDIO_FIXTURE = Path(settings.BASE_DIR).parent / "shared" / "fixtures" / "label-studio-1.23.2-export.json"

HOSTILE_TEXT = (
    "=SUM(A1) said the envoy 🇮🇱🇺🇦 before 👩‍💻 typed 👍🏽.\n"
    "+972 is the code; -5 degrees; @cmd noted.\n"
    "שָׁלוֹם עֲלֵיכֶם, said one; مَرْحَبًا بِكُمْ said another.\n"
    "नमस्ते दुनिया — Z̷̢͎a̴͉l̶g̸o̵ text with à́̂ stacks.\n"
    "The spokesman said “we stay 🕊️ calm,” and left."
)

# The curated layer: formula-like starts, astral runs, RTL with vowel marks,
# combining stacks, and one quote across lines holding two others (nesting).
CURATED_SPANS = [
    "=SUM(A1)",
    "🇮🇱🇺🇦 before 👩‍💻 typed 👍🏽",
    "+972 is the code",
    "-5 degrees; @cmd noted.\nשָׁלוֹם עֲלֵיכֶם",
    "-5 degrees",
    "@cmd noted",
    "مَرْحَبًا بِكُمْ",
    "नमस्ते दुनिया — Z̷̢͎a̴͉l̶g̸o̵",
    "we stay 🕊️ calm,",
]
# Two analysts whose spans cross each other's (and one analyst's own nested pair).
RAW_SPANS = {
    "analyst": ["the envoy 🇮🇱🇺🇦 before", "שָׁלוֹם עֲלֵיכֶם, said one; مَرْحَبًا بِكُمْ", "مَرْحَبًا"],
    "analyst2": ["before 👩‍💻 typed 👍🏽", "Z̷̢͎a̴͉l̶g̸o̵ text with à́̂"],
}


def streamed(response) -> bytes:
    assert response.status_code == 200, response.content
    return b"".join(response.streaming_content)


def at(article: Article, words: str) -> dict[str, int]:
    start = article.text.index(words)
    return {"start": start, "end": start + len(words)}


@pytest.fixture
def hostile(analyst, second_analyst) -> Article:
    article = curated_article(text=HOSTILE_TEXT, title='=HYPERLINK("http://x") 🇮🇱 שָׁלוֹם', outlet="@outlet")
    article.refresh_from_db()
    sources = [
        raw_quote(user, article=article, **at(article, words))
        for user in (analyst, second_analyst)
        for words in RAW_SPANS[user.username]
    ]
    target = TargetFactory(slug="peace", name="-peace +now")
    for index, words in enumerate(CURATED_SPANS):
        quote = curated_quote(
            article=article, speaker=SpeakerFactory(name=f"+Speaker {index} 👩‍💻"), **at(article, words)
        )
        if index % 2 == 0:
            # Half with a confidence, half without; half with provenance: one column, one type.
            StanceFactory(quote=quote, target=target, confidence=0.5 if index % 4 == 0 else None, note="=1+1")
            quote.curated_from.add(sources[0])
    return article


# --- CSV: pandas ----------------------------------------------------------------------


def read_csv(body: bytes) -> pandas.DataFrame:
    # Strings as strings, and an empty cell stays "" rather than becoming NaN:
    # how the README says to read the file.
    return pandas.read_csv(io.BytesIO(body), dtype=str, keep_default_na=False, encoding="utf-8")


def test_pandas_reads_back_from_the_csv_exactly_the_article_between_the_offsets(hostile, researcher, api):
    frame = read_csv(streamed(api(researcher).get("/api/v1/quotes/export/?format=csv")))
    assert list(frame.columns) == exporters.CSV_COLUMNS
    texts = [hostile.text[int(start) : int(end)] for start, end in zip(frame["start"], frame["end"], strict=True)]
    assert list(frame["text"]) == texts
    assert set(frame["text"]) == set(CURATED_SPANS)
    assert {"=SUM(A1)", "+972 is the code", "-5 degrees", "@cmd noted"} <= set(frame["text"])
    assert frame["article_title"][0] == hostile.title  # no apostrophe before "=HYPERLINK"
    assert set(frame["outlet"]) == {"@outlet"}
    assert set(frame["note"]) == {"=1+1", ""}
    assert set(frame["target_name"]) == {"-peace +now", ""}


# --- XLSX: pandas and openpyxl ----------------------------------------------------------

XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def test_the_xlsx_export_is_a_workbook_of_exact_strings_and_no_formulas(hostile, researcher, api):
    response = api(researcher).get("/api/v1/quotes/export/?format=xlsx")
    assert response["Content-Type"] == XLSX_MEDIA_TYPE
    assert response["Content-Disposition"].endswith('.xlsx"')
    body = streamed(response)

    frame = pandas.read_excel(io.BytesIO(body), engine="openpyxl", dtype=object)
    assert list(frame.columns) == exporters.CSV_COLUMNS
    texts = [hostile.text[start:end] for start, end in zip(frame["start"], frame["end"], strict=True)]
    assert list(frame["text"]) == texts
    assert set(frame["text"]) == set(CURATED_SPANS)
    assert frame["article_title"][0] == hostile.title

    workbook = openpyxl.load_workbook(io.BytesIO(body))
    sheet = workbook["quotes"]
    cells = [cell for row in sheet.iter_rows() for cell in row if cell.value is not None]
    assert not [cell.coordinate for cell in cells if cell.data_type == "f"]
    formula_like = [
        cell for cell in cells if isinstance(cell.value, str) and cell.value.startswith(("=", "+", "-", "@"))
    ]
    assert {cell.value for cell in formula_like} >= {"=SUM(A1)", "=1+1", "+972 is the code", "-5 degrees", "@outlet"}
    assert all(cell.data_type == "s" for cell in formula_like)
    # Offsets and ids are numbers a spreadsheet can sort and sum.
    header = [cell.value for cell in sheet[1]]
    assert isinstance(sheet.cell(row=2, column=header.index("start") + 1).value, int)


def test_the_raw_xml_of_the_xlsx_holds_inline_strings_not_formulas(hostile, researcher, api):
    import zipfile

    body = streamed(api(researcher).get("/api/v1/quotes/export/?format=xlsx"))
    sheet_xml = zipfile.ZipFile(io.BytesIO(body)).read("xl/worksheets/sheet1.xml").decode("utf-8")
    assert "<f>" not in sheet_xml and "<f " not in sheet_xml
    assert 't="inlineStr"' in sheet_xml


def test_control_characters_an_xlsx_cannot_hold_are_written_as_ooxml_escapes():
    article = curated_article(text="He said \x0bvertical\x0b tab.")
    article.refresh_from_db()
    curated_quote(article=article, **at(article, "\x0bvertical\x0b"))
    body = b"".join(exporters.export(Quote.objects.curated(), "xlsx"))
    sheet = openpyxl.load_workbook(io.BytesIO(body))["quotes"]
    header = [cell.value for cell in sheet[1]]
    assert sheet.cell(row=2, column=header.index("text") + 1).value == "_x000B_vertical_x000B_"


def test_rows_past_a_sheets_limit_go_on_to_another_sheet_with_the_header(hostile, monkeypatch):
    monkeypatch.setattr(exporters, "XLSX_MAX_ROWS", 4)  # the header and three rows a sheet
    body = b"".join(exporters.export(Quote.objects.curated().order_by("id"), "xlsx"))
    sheets = pandas.read_excel(io.BytesIO(body), engine="openpyxl", sheet_name=None, dtype=object)
    assert list(sheets) == ["quotes", "quotes 2", "quotes 3"]
    assert all(list(frame.columns) == exporters.CSV_COLUMNS for frame in sheets.values())
    frame = pandas.concat(sheets.values(), ignore_index=True)
    assert list(frame["text"]) == [quote.text for quote in Quote.objects.curated().order_by("id")]


# --- JSONL: pyarrow -------------------------------------------------------------------------


def read_jsonl(body: bytes) -> pyarrow.Table:
    return pyarrow.json.read_json(io.BytesIO(body))


def test_pyarrow_reads_the_curated_and_the_raw_jsonl_together_as_one_table(hostile, reviewer, api):
    client = api(reviewer)
    curated = streamed(client.get("/api/v1/quotes/export/?format=jsonl"))
    raw = streamed(client.get("/api/v1/quotes/export/?format=jsonl&layer=raw"))
    for first, second in ((curated, raw), (raw, curated)):
        table = read_jsonl(first + second)
        assert table.num_rows == len(CURATED_SPANS) + sum(len(spans) for spans in RAW_SPANS.values())
        assert table.schema.field("annotator").type == pyarrow.string()
        assert table.schema.field("curated_from").type == pyarrow.list_(pyarrow.int64())
        assert table.schema.field("start").type == pyarrow.int64()
        rows = table.to_pylist()
        assert {row["annotator"] for row in rows} == {None, "analyst", "analyst2"}
        assert all(row["text"] == HOSTILE_TEXT[row["start"] : row["end"]] for row in rows)


def test_each_jsonl_field_has_one_json_type_in_every_line_of_both_layers(hostile, reviewer, api):
    client = api(reviewer)
    lines = [
        json.loads(line)
        for layer in ("curated", "raw")
        for line in streamed(client.get(f"/api/v1/quotes/export/?format=jsonl&layer={layer}")).splitlines()
    ]
    assert len({tuple(line) for line in lines}) == 1  # the same fields, in the same order, on every line
    for name in lines[0]:
        kinds = {type(line[name]).__name__ for line in lines if line[name] is not None}
        assert len(kinds) <= 1, (name, kinds)
    assert {type(line["annotator"]) for line in lines} == {str, type(None)}


def readme_quote_schema() -> pyarrow.Schema:
    """The QUOTE_SCHEMA the README gives researchers for ``datasets``: the test reads the README's own code."""
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    block = next(block for block in re.findall(r"```python\n(.*?)```", readme, re.S) if "QUOTE_SCHEMA" in block)
    namespace: dict[str, Any] = {}
    exec(block, namespace)  # noqa: S102  # the project's own README
    return namespace["QUOTE_SCHEMA"]


def test_the_readme_schema_reads_each_layer_alone_to_the_same_table_type(hostile, reviewer, api):
    schema = readme_quote_schema()
    # Every field the export writes is in the schema: an unknown one is an error, not a guess.
    options = pyarrow.json.ParseOptions(explicit_schema=schema, unexpected_field_behavior="error")
    client = api(reviewer)
    tables = [
        pyarrow.json.read_json(
            io.BytesIO(streamed(client.get(f"/api/v1/quotes/export/?format=jsonl&layer={layer}"))),
            parse_options=options,
        )
        for layer in ("curated", "raw")
    ]
    assert tables[0].schema == tables[1].schema == schema
    both = pyarrow.concat_tables(tables)
    assert both.num_rows == len(CURATED_SPANS) + sum(len(spans) for spans in RAW_SPANS.values())
    assert list(schema.names) == list(
        json.loads(streamed(client.get("/api/v1/quotes/export/?format=jsonl")).splitlines()[0])
    )


def test_hugging_face_datasets_loads_both_layers_in_one_call_with_the_readme_schema(
    hostile, reviewer, api, tmp_path, monkeypatch
):
    """The way a researcher loads the files: ``datasets.load_dataset("json", data_files=[…])``.

    ``datasets`` fixes each column's type from the first file it reads, so a column
    that is null on every line of that file (``annotator`` in the curated layer,
    ``parent`` where nothing nests) can't take the next file's values: the README
    gives the schema, and with it both files load in either order.
    """
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "cache"))
    import datasets

    client = api(reviewer)
    files = {}
    for layer in ("curated", "raw"):
        files[layer] = tmp_path / f"{layer}.jsonl"
        files[layer].write_bytes(streamed(client.get(f"/api/v1/quotes/export/?format=jsonl&layer={layer}")))
    features = datasets.Features.from_arrow_schema(readme_quote_schema())
    for order in (["curated", "raw"], ["raw", "curated"]):
        loaded = datasets.load_dataset(
            "json",
            data_files=[str(files[layer]) for layer in order],
            features=features,
            split="train",
            cache_dir=str(tmp_path / "cache"),
        )
        assert loaded.num_rows == len(CURATED_SPANS) + sum(len(spans) for spans in RAW_SPANS.values())
        rows = loaded.to_list()
        assert {row["annotator"] for row in rows} == {None, "analyst", "analyst2"}
        assert all(row["text"] == HOSTILE_TEXT[row["start"] : row["end"]] for row in rows)


# --- doccano ------------------------------------------------------------------------------


def doccano_records(body: bytes) -> list[dict[str, Any]]:
    return [json.loads(line) for line in body.decode("utf-8").splitlines()]


def crossing(spans: list[list[Any]]) -> list[tuple[Any, Any]]:
    """Pairs of spans that overlap without one holding the other."""
    return [(a, b) for a in spans for b in spans if a is not b and a[0] < b[0] < a[1] < b[1]]


def test_doccano_has_one_record_per_article_and_annotator_with_no_crossing_spans(hostile, reviewer, api):
    body = streamed(api(reviewer).get("/api/v1/quotes/export/?format=doccano&layer=raw"))
    records = doccano_records(body)
    assert [(record["article_id"], record["layer"], record["annotator"]) for record in records] == [
        (hostile.pk, "raw", "analyst"),
        (hostile.pk, "raw", "analyst2"),
    ]
    for record in records:
        assert set(record) >= {"text", "label"}
        assert record["text"] == hostile.text
        assert [record["text"][start:end] for start, end, _ in record["label"]] == sorted(
            RAW_SPANS[record["annotator"]], key=lambda words: (hostile.text.index(words), -len(words))
        )
        assert not crossing(record["label"])
        assert all(label in {"DIRECT", "INDIRECT", "MIXED"} for _, _, label in record["label"])
    # Together they cross: one record would have lost spans in a project without overlapping spans.
    assert crossing([span for record in records for span in record["label"]])


def test_the_curated_layer_is_one_doccano_record_in_code_points(hostile, researcher, api):
    records = doccano_records(streamed(api(researcher).get("/api/v1/quotes/export/?format=doccano")))
    assert len(records) == 1
    record = records[0]
    assert (record["layer"], record["annotator"]) == ("curated", None)
    assert sorted(record["text"][start:end] for start, end, _ in record["label"]) == sorted(CURATED_SPANS)
    assert not crossing(record["label"])  # the nested quote holds two others; none cross
    assert record["offsets_convention"] == "unicode-code-points, end-exclusive"


# --- Label Studio ------------------------------------------------------------------------


def shape(value: Any) -> Any:
    """The keys and value types of a JSON document, its lists reduced to their first item."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    return type(value).__name__


def test_label_studio_export_has_the_shape_label_studio_itself_writes(hostile, researcher, api):
    ours = json.loads(streamed(api(researcher).get("/api/v1/quotes/export/?format=labelstudio")))
    theirs = json.loads(LABEL_STUDIO_FIXTURE.read_text(encoding="utf-8"))
    our_result, their_result = ours[0]["annotations"][0]["result"][0], theirs[0]["annotations"][0]["result"][0]
    assert shape(our_result) == {key: shape(their_result[key]) for key in our_result}
    assert set(our_result) == {"id", "from_name", "to_name", "type", "value"} <= set(their_result)
    assert shape(our_result["value"]) == shape(their_result["value"])
    assert isinstance(ours[0]["data"]["text"], str) and isinstance(theirs[0]["data"]["text"], str)


def test_label_studio_offsets_count_code_points_as_label_studio_does(hostile, researcher, api):
    theirs = json.loads(LABEL_STUDIO_FIXTURE.read_text(encoding="utf-8"))[0]
    their_value = theirs["annotations"][0]["result"][0]["value"]
    assert theirs["data"]["text"][their_value["start"] : their_value["end"]] == their_value["text"]

    article = curated_article(text=theirs["data"]["text"])
    article.refresh_from_db()
    curated_quote(article=article, **at(article, their_value["text"]))
    tasks = json.loads(streamed(api(researcher).get(f"/api/v1/quotes/export/?format=labelstudio&article={article.pk}")))
    value = tasks[0]["annotations"][0]["result"][0]["value"]
    assert (value["start"], value["end"], value["text"]) == (31, 47, their_value["text"])


def test_every_label_studio_region_is_its_text_in_code_points(hostile, reviewer, api):
    for layer in ("curated", "raw"):
        tasks = json.loads(streamed(api(reviewer).get(f"/api/v1/quotes/export/?format=labelstudio&layer={layer}")))
        for task in tasks:
            text = task["data"]["text"]
            for annotation in task["annotations"]:
                assert annotation["meta"]["offsets_convention"] == "unicode-code-points, end-exclusive"
                for result in annotation["result"]:
                    value = result["value"]
                    assert text[value["start"] : value["end"]] == value["text"]
    raw = json.loads(streamed(api(reviewer).get("/api/v1/quotes/export/?format=labelstudio&layer=raw")))
    assert [annotation["meta"]["annotator"] for annotation in raw[0]["annotations"]] == ["analyst", "analyst2"]


# --- W3C Web Annotation Data Model: its MUSTs ----------------------------------------------

W3C_CONTEXT = "http://www.w3.org/ns/anno.jsonld"
# IRI per RFC 3987, loosely: a scheme, then no spaces or characters IRIs exclude.
IRI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:[^\s<>\"{}|\\^`]+$")
MOTIVATIONS = {
    "assessing",
    "bookmarking",
    "classifying",
    "commenting",
    "describing",
    "editing",
    "highlighting",
    "identifying",
    "linking",
    "moderating",
    "questioning",
    "replying",
    "tagging",
}


def types_of(node: dict[str, Any]) -> list[str]:
    value = node.get("type")
    return value if isinstance(value, list) else [value]


def is_non_negative_integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def check_context(document: dict[str, Any]) -> None:
    context = document["@context"]
    # One or more values, the Web Annotation context among them; a single value is a string.
    assert context == W3C_CONTEXT or (isinstance(context, list) and W3C_CONTEXT in context and len(context) > 1)


def check_selector(selector: dict[str, Any], text: str) -> None:
    kind = selector["type"]
    if kind == "TextQuoteSelector":
        assert isinstance(selector["exact"], str) and selector["exact"]
        for side in ("prefix", "suffix"):
            assert isinstance(selector.get(side, ""), str)
    elif kind == "TextPositionSelector":
        assert is_non_negative_integer(selector["start"]) and is_non_negative_integer(selector["end"])
        assert selector["start"] <= selector["end"] <= len(text)
    else:
        raise AssertionError(f"unexpected selector {kind}")


def check_annotation(annotation: dict[str, Any], texts: dict[str, str], ids: set[str]) -> None:
    assert IRI.match(annotation["id"]), annotation["id"]
    assert annotation["id"] not in ids  # each annotation has its own IRI
    ids.add(annotation["id"])
    assert "Annotation" in types_of(annotation)
    motivations = annotation.get("motivation", [])
    assert set(motivations if isinstance(motivations, list) else [motivations]) <= MOTIVATIONS
    bodies = annotation.get("body", [])
    for body in bodies if isinstance(bodies, list) else [bodies]:
        if "TextualBody" in types_of(body):
            assert isinstance(body["value"], str)  # exactly one value
        assert body.get("purpose", "classifying") in MOTIVATIONS
    targets = annotation["target"]  # one or more targets: MUST
    for target in targets if isinstance(targets, list) else [targets]:
        if isinstance(target, str):
            assert IRI.match(target)
            continue
        source = target["source"]  # a SpecificResource has exactly one source
        assert IRI.match(source["id"])
        selectors = target["selector"]
        selectors = selectors if isinstance(selectors, list) else [selectors]
        text = texts[source["id"]]
        for selector in selectors:
            check_selector(selector, text)
        # The selectors of one target describe the same segment.
        exact = next(selector for selector in selectors if selector["type"] == "TextQuoteSelector")
        position = next(selector for selector in selectors if selector["type"] == "TextPositionSelector")
        assert text[position["start"] : position["end"]] == exact["exact"]
        assert text[: position["start"]].endswith(exact.get("prefix", ""))
        assert text[position["end"] :].startswith(exact.get("suffix", ""))
    for stamp in ("created", "modified"):
        if stamp in annotation:
            assert re.search(r"(Z|[+-]\d\d:\d\d)$", annotation[stamp]), annotation[stamp]  # with a time zone
    creator = annotation.get("creator")
    if creator is not None:
        assert "Person" in types_of(creator) or "Software" in types_of(creator) or "Organization" in types_of(creator)


def check_collection(document: dict[str, Any], texts: dict[str, str]) -> list[dict[str, Any]]:
    """Every MUST of the data model's collections (section 5) and annotations; returns the annotations."""
    check_context(document)
    assert IRI.match(document["id"]), document["id"]
    assert "AnnotationCollection" in types_of(document)
    assert is_non_negative_integer(document["total"])
    items: list[dict[str, Any]] = []
    page = document.get("first")
    if document["total"] == 0:
        assert page is None  # a page holds one or more annotations, so an empty collection has none
    pages = 0
    while page is not None:
        pages += 1
        assert IRI.match(page["id"]) and page["id"] != document["id"]
        assert "AnnotationPage" in types_of(page)
        assert page.get("partOf", document["id"]) in (document["id"], document)
        assert is_non_negative_integer(page.get("startIndex", 0))
        assert page.get("startIndex", 0) == len(items)
        assert isinstance(page["items"], list) and page["items"]  # one or more
        items += page["items"]
        page = page.get("next")
        assert page is None or isinstance(page, dict)  # this export embeds its pages
    assert len(items) == document["total"]
    ids: set[str] = set()
    for annotation in items:
        check_annotation(annotation, texts, ids)
    return items


def test_the_w3c_export_meets_every_must_of_the_web_annotation_data_model(hostile, reviewer, api):
    texts = {f"urn:x-demarche:article:{hostile.pk}": hostile.text}
    document = json.loads(streamed(api(reviewer).get("/api/v1/quotes/export/?format=w3c")))
    items = check_collection(document, texts)
    assert sorted(item["target"]["selector"][0]["exact"] for item in items) == sorted(CURATED_SPANS)
    raw = json.loads(streamed(api(reviewer).get("/api/v1/quotes/export/?format=w3c&layer=raw")))
    items = check_collection(raw, texts)
    assert {item["creator"]["nickname"] for item in items} == {"analyst", "analyst2"}


def test_the_w3c_collection_is_named_by_its_export_url_with_its_filters(hostile, researcher, api):
    client = api(researcher)
    url = f"/api/v1/quotes/export/?kind=direct&format=w3c&article={hostile.pk}"
    document = json.loads(streamed(client.get(url)))
    expected = f"http://testserver/api/v1/quotes/export/?article={hostile.pk}&format=w3c&kind=direct"
    assert document["id"] == expected
    assert document["first"]["id"] == expected + "#page-1"
    assert document["first"]["partOf"] == expected
    # The same filters in another order, or through the slashless alias: the same collection.
    again = json.loads(streamed(client.get(f"/api/v1/quotes/export?format=w3c&article={hostile.pk}&kind=direct")))
    assert again["id"] == expected


def test_an_empty_w3c_collection_is_valid_without_a_page(researcher, api):
    document = json.loads(streamed(api(researcher).get("/api/v1/quotes/export/?format=w3c")))
    assert check_collection(document, {}) == []
    assert document["total"] == 0 and "first" not in document


def test_the_w3c_export_of_the_command_is_named_from_its_base_url_or_a_urn(hostile, tmp_path):
    output = tmp_path / "quotes.jsonld"
    call_command("export_dataset", "--format", "w3c", "--output", str(output), "--kind", "direct")
    document = json.loads(output.read_text(encoding="utf-8"))
    check_collection(document, {f"urn:x-demarche:article:{hostile.pk}": hostile.text})
    assert document["id"] == "urn:x-demarche:export:quotes:format=w3c&kind=direct"
    call_command(
        "export_dataset",
        "--format",
        "w3c",
        "--output",
        str(output),
        "--kind",
        "direct",
        "--base-url",
        "https://demarche.example.org/",
    )
    document = json.loads(output.read_text(encoding="utf-8"))
    assert document["id"] == "https://demarche.example.org/api/v1/quotes/export/?format=w3c&kind=direct"


def test_a_release_names_its_w3c_collection_after_the_release(hostile, reviewer, researcher, api):
    release = services.build_release(name="v1", note="", filters={}, user=reviewer)
    document = json.loads(streamed(api(researcher).get(f"/api/v1/releases/{release.pk}/files/w3c")))
    check_collection(document, {f"urn:x-demarche:article:{hostile.pk}": hostile.text})
    assert document["id"] == "urn:x-demarche:release:v1"
    workbook = streamed(api(researcher).get(f"/api/v1/releases/{release.pk}/files/xlsx"))
    frame = pandas.read_excel(io.BytesIO(workbook), engine="openpyxl", dtype=object)
    assert set(frame["text"]) == set(CURATED_SPANS)


def test_the_command_writes_an_xlsx_file_but_not_to_standard_output(hostile, tmp_path):
    output = tmp_path / "quotes.xlsx"
    call_command("export_dataset", "--format", "xlsx", "--output", str(output))
    frame = pandas.read_excel(output, engine="openpyxl", dtype=object)
    assert set(frame["text"]) == set(CURATED_SPANS)
    with pytest.raises(CommandError, match="binary"):
        call_command("export_dataset", "--format", "xlsx", "--output", "-")
