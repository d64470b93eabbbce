"""Span imports (doccano, Label Studio) and the JSON reader both importers share.

Offsets in both tools are code points; a span that splits a user-perceived
character is refused on its line (it was a 500); the reader refuses what JSON
doesn't allow, and nesting deeper than MAX_JSON_DEPTH without recursing.
"""

# Shared fixtures are imported from test_api_support by name, which pyflakes
# reads as unused imports shadowed by the test arguments.
# ruff: noqa: F401, F811
from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command

from annotations import jsonreader
from annotations.importers import import_articles
from annotations.models import Article, Quote
from annotations.span_importers import import_spans

from .factories import AssignmentFactory
from .test_api_support import api, isolated_media

pytestmark = pytest.mark.django_db

FIXTURES = Path(settings.BASE_DIR).parent / "shared" / "fixtures"
CODER = "She wrote 👩‍💻 code."  # woman, zero-width joiner, laptop: one character, three code points
INSIDE_THE_CODER = CODER.index("👩") + 1  # just after the woman, before the joiner


def doccano_line(text: str, start: int, end: int, label: str = "DIRECT") -> str:
    return json.dumps({"text": text, "label": [[start, end, label]]}, ensure_ascii=False)


def label_studio(text: str, start: int, end: int, label: str = "DIRECT") -> str:
    value = {"start": start, "end": end, "labels": [label]}
    return json.dumps([{"data": {"text": text}, "annotations": [{"result": [{"type": "labels", "value": value}]}]}])


# --- Label Studio counts code points ----------------------------------------------------


def test_the_export_label_studio_1_23_2_wrote_itself_imports_at_its_code_point_offsets(analyst):
    content = (FIXTURES / "label-studio-1.23.2-export.json").read_bytes()
    report = import_spans(content, "labelstudio", user=analyst)
    assert report.ok, [str(note) for note in report.errors]
    quote = Quote.objects.get()
    assert (quote.start, quote.end, quote.text, quote.kind) == (31, 47, "we stay 🕊️ calm,", "direct")
    assert quote.article.text == "Intro 🚀🚀🚀 now.\nThe envoy said “we stay 🕊️ calm,” and left."


def test_label_studio_offsets_counted_in_utf16_units_are_refused_naming_the_text_there(analyst):
    text = "🚀 Peace now."
    task = json.loads(label_studio(text, 3, 8))  # UTF-16 units of "Peace"; code points would be 2–7
    task[0]["annotations"][0]["result"][0]["value"]["text"] = "Peace"
    report = import_spans(json.dumps(task), "labelstudio", user=analyst)
    assert [str(note) for note in report.errors] == [
        "task 1: span 1: the text at 3–8 is 'eace ', but the span says 'Peace'"
    ]
    assert not Article.objects.exists()


# --- A span that splits a character ---------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "content", "where"),
    [
        ("doccano", doccano_line(CODER, INSIDE_THE_CODER, len(CODER) - 1), "line 1"),
        ("labelstudio", label_studio(CODER, INSIDE_THE_CODER, len(CODER) - 1), "task 1"),
    ],
)
def test_a_span_splitting_a_zwj_emoji_is_reported_on_its_line_and_nothing_is_written(analyst, fmt, content, where):
    report = import_spans(content, fmt, user=analyst)
    assert not report.ok
    assert [str(note).split(":")[0] for note in report.errors] == [where]
    assert "can't split one character" in report.errors[0].message
    assert "'👩\\u200d💻'" in report.errors[0].message
    assert not Quote.objects.exists() and not Article.objects.exists()


@pytest.mark.parametrize("cluster", ["👍🏽", "🇮🇱"])
def test_a_span_ending_inside_a_skin_tone_or_a_flag_is_refused_too(analyst, cluster):
    text = f"Good {cluster} news."
    good = doccano_line("Another text entirely.", 0, 7)
    split = doccano_line(text, 0, text.index(cluster) + 1)
    report = import_spans(f"{good}\n{split}", "doccano", user=analyst)
    assert [note.number for note in report.errors] == [2]
    assert not Quote.objects.exists() and not Article.objects.exists()


def test_the_import_endpoint_answers_a_split_character_with_400_and_the_line(analyst, api):
    upload = SimpleUploadedFile("spans.jsonl", doccano_line(CODER, INSIDE_THE_CODER, len(CODER) - 1).encode())
    response = api(analyst).post("/api/v1/quotes/import", {"file": upload, "format": "doccano"}, format="multipart")
    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert error["line"] == 1 and "can't split one character" in error["message"]
    assert not Quote.objects.exists()


def test_the_command_refuses_a_split_character_naming_the_line(reviewer, tmp_path, capsys):
    path = tmp_path / "spans.json"
    path.write_text(label_studio(CODER, INSIDE_THE_CODER, len(CODER) - 1), encoding="utf-8")
    with pytest.raises(CommandError, match="refused"):
        call_command("import_spans", str(path), "--user", "reviewer", "--no-progress")
    assert "task 1: span 1: The span starts at" in capsys.readouterr().err
    assert not Quote.objects.exists()


def test_a_span_around_the_whole_emoji_is_imported(analyst):
    start = CODER.index("👩")
    report = import_spans(doccano_line(CODER, start, start + 3), "doccano", user=analyst)
    assert report.ok, report.errors
    assert Quote.objects.get().text == "👩‍💻"


# --- Spans already stored -------------------------------------------------------------------------


def test_a_span_the_importer_already_has_is_skipped_naming_the_quote(analyst):
    line = doccano_line("Peace now, he said.", 0, 5)
    import_spans(line, "doccano", user=analyst)
    first = Quote.objects.get()
    again = import_spans(f"{line}\n{line}", "doccano", user=analyst)
    assert again.ok and again.quotes_created == 0
    assert [str(note) for note in again.skipped] == [
        f"line 1: skipped: you already have quote {first.pk} at 0–5",
        f"line 2: skipped: you already have quote {first.pk} at 0–5",
    ]
    assert Quote.objects.count() == 1


def test_the_same_span_twice_in_one_file_is_written_once(analyst):
    report = import_spans(
        json.dumps({"text": "Peace now.", "label": [[0, 5, "DIRECT"], [0, 5, "DIRECT"]]}), "doccano", user=analyst
    )
    assert (report.ok, report.quotes_created) == (True, 1)
    assert f"you already have quote {Quote.objects.get().pk} at 0–5" in report.skipped[0].message


def test_an_imported_span_does_not_start_the_assignment(analyst):
    """Imports hold the assignments open but leave their status to the analyst's work on the page."""
    assignment = AssignmentFactory(annotator=analyst)
    report = import_spans(doccano_line(assignment.article.text, 1, 5), "doccano", user=analyst)
    assert report.ok, report.errors
    assignment.refresh_from_db()
    assert assignment.status == "assigned"


# --- The JSON reader, as both importers use it ---------------------------------------------------


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ('{"text": "Peace.", "text": "War.", "label": []}', 'the key "text" appears twice'),
        ('{"text": "Peace.", "label": [[0, NaN, "DIRECT"]]}', "NaN is not a JSON value"),
        ('{"text": "Peace.", "label": [[0, Infinity, "DIRECT"]]}', "Infinity is not a JSON value"),
    ],
)
def test_doccano_lines_are_read_as_strictly_as_article_lines(analyst, line, problem):
    span_report = import_spans(line, "doccano", user=analyst)
    assert [str(note) for note in span_report.errors] == [f"line 1: not valid JSON ({problem})"]
    article_report = import_articles(line.replace('"label"', '"outlet"').encode(), "jsonl")
    assert [str(note) for note in article_report.errors] == [f"line 1: not valid JSON ({problem})"]


@pytest.mark.parametrize("fmt", ["doccano", "labelstudio"])
def test_a_file_nested_past_the_limit_is_refused_without_recursing(analyst, fmt):
    deep = "[" * 200_000 + "]" * 200_000  # far past the parser's recursion limit
    content = (
        deep if fmt == "labelstudio" else json.dumps({"text": "Peace.", "label": []})[:-1] + ', "x": ' + deep + "}"
    )
    report = import_spans(content, fmt, user=analyst)
    assert not report.ok
    assert f"nested deeper than {jsonreader.MAX_JSON_DEPTH} levels" in report.errors[0].message


def test_an_article_line_nested_past_the_limit_is_refused_naming_the_limit():
    metadata = "[" * 65 + "]" * 65
    report = import_articles(f'{{"title": "T", "text": "Peace.", "metadata": {metadata}}}'.encode(), "jsonl")
    assert [str(note) for note in report.errors] == [
        "line 1: not valid JSON (nested deeper than 64 levels of arrays and objects)"
    ]


def test_a_bom_is_tolerated_and_a_bad_byte_is_named_by_line_in_span_imports(analyst):
    first = doccano_line("Peace now.", 0, 5).encode()
    assert import_spans(b"\xef\xbb\xbf" + first, "doccano", user=analyst).ok
    bad = first + b"\n" + b'{"text": "caf\xe9", "label": []}'
    report = import_spans(bad, "doccano", user=analyst)
    assert [str(note) for note in report.errors] == [
        "line 2: not valid UTF-8 (byte 0xE9 at byte 14 of the line); save the file as UTF-8 and import it again"
    ]


def test_a_label_studio_file_with_a_bad_byte_names_its_line(analyst):
    content = b'[{"data": {"text": "Peace"},\n "annotations": [\xff]}]'
    report = import_spans(content, "labelstudio", user=analyst)
    assert [(note.number, note.message[:28]) for note in report.errors] == [(2, "not valid UTF-8 (byte 0xFF a")]


class TestCheckJsonDepth:
    def test_nesting_at_the_limit_passes(self):
        assert jsonreader.check_json_depth("[" * 64 + "]" * 64, 64) is None

    def test_nesting_past_the_limit_names_the_limit(self):
        assert jsonreader.check_json_depth('{"a": ' * 65 + "1" + "}" * 65, 64) == (
            "nested deeper than 64 levels of arrays and objects"
        )

    def test_brackets_inside_strings_do_not_count(self):
        text = json.dumps({"text": "[" * 100 + '\\"{' * 100, "list": [[1]]})
        assert jsonreader.check_json_depth(text, 3) is None

    def test_depth_is_counted_not_the_number_of_brackets(self):
        assert jsonreader.check_json_depth(json.dumps([[1]] * 1000), 2) is None
        assert jsonreader.check_json_depth(json.dumps([[[1]]] * 1000), 2) is not None
