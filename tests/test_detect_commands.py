"""The detector's commands: detect_quotes (JSONL in, JSONL out, no database
writes) and evaluate_detector (scores against gold, with floors)."""

from __future__ import annotations

import datetime
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from annotations.models import Article, Quote, Speaker

from .factories import SpeakerAliasFactory, SpeakerFactory, SpeakerRoleFactory

GOLD = Path(__file__).parent / "data" / "detector"
# Just under the figures measured when the sets were written (README, "Quote
# detection"); `make detector-eval` holds the same floors.
FLOORS = {
    "dev.jsonl": {"direct": 0.99, "all": 0.99, "source": 0.99},
    "holdout.jsonl": {"direct": 0.95, "all": 0.85, "source": 0.90},
    # Written by someone who never read the rules (tests/data/detector/README-gold.md).
    "dev2.jsonl": {"direct": 0.99, "all": 0.99, "source": 0.99},
    "blind.jsonl": {"direct": 0.95, "all": 0.94, "source": 0.96},
}
TEXT = "“We will not back down,” the minister said. Gallant said Iran would never get the bomb."


def write(tmp_path: Path, *lines: object) -> Path:
    path = tmp_path / "in.jsonl"
    path.write_text("".join((line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines))
    return path


def detect_quotes(path: Path, *args: str) -> tuple[list[dict], str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("detect_quotes", str(path), "--no-progress", *args, stdout=out, stderr=err)
    return [json.loads(line) for line in out.getvalue().splitlines()], err.getvalue()


def test_detect_quotes_writes_one_line_an_article_in_the_interfaces_shape(tmp_path):
    path = write(
        tmp_path, {"id": "a1", "text": TEXT, "language": "en"}, {"id": 7, "text": "No quotes.", "language": "de"}
    )
    lines, _ = detect_quotes(path)
    assert [line["id"] for line in lines] == ["a1", 7]
    first = lines[0]["quotes"][0]
    assert set(first) == {"start", "end", "kind", "cue", "source", "speaker", "confidence"}
    assert TEXT[first["start"] : first["end"]] == "We will not back down"
    assert first["kind"] == "direct"
    assert TEXT[first["cue"][0] : first["cue"][1]] == "said"
    assert TEXT[first["source"][0] : first["source"][1]] == "the minister"
    assert lines[1]["quotes"] == []


@pytest.mark.django_db
def test_detect_quotes_writes_nothing_to_the_database(tmp_path, django_assert_num_queries):
    path = write(tmp_path, {"id": 1, "text": TEXT, "language": "en", "published": "2023-01-05"})
    with django_assert_num_queries(0):
        detect_quotes(path)
    assert Article.objects.count() == Quote.objects.count() == 0


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("{not json", "line 1: not valid JSON"),
        ('["a list"]', "line 1: each line must be a JSON object"),
        ('{"id": 1, "language": "en"}', 'line 1: "text" is missing'),
        ('{"id": 1, "text": 5, "language": "en"}', 'line 1: "text" must be a string'),
        (
            '{"id": 1, "text": "x", "language": "en", "published": "5 January"}',
            'line 1: "published" must be YYYY-MM-DD',
        ),
    ],
)
def test_a_bad_line_is_named_on_stderr_and_the_command_fails(tmp_path, line, reason):
    path = write(tmp_path, line, {"id": 2, "text": TEXT, "language": "en"})
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(CommandError, match="1 line"):
        call_command("detect_quotes", str(path), "--no-progress", stdout=out, stderr=err)
    assert reason in err.getvalue()
    assert [json.loads(line)["id"] for line in out.getvalue().splitlines()] == [2]


def test_a_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(CommandError, match="no such file"):
        call_command("detect_quotes", str(tmp_path / "nowhere.jsonl"))


def test_bad_input_ends_with_a_message_and_exit_status_not_a_traceback(tmp_path):
    path = write(tmp_path, "{not json")
    env = {**os.environ, "DEBUG": "1"}
    run = subprocess.run(  # noqa: S603 (our own interpreter and manage.py)
        [sys.executable, "manage.py", "detect_quotes", str(path)], capture_output=True, text=True, env=env, check=False
    )
    assert run.returncode != 0
    assert "line 1: not valid JSON" in run.stderr
    assert "Traceback" not in run.stderr


@pytest.mark.django_db
def test_registry_links_speakers_by_name_alias_surname_and_role_on_the_date(tmp_path):
    gallant = SpeakerFactory(name="Yoav Gallant")
    price = SpeakerFactory(name="Ned Price")
    SpeakerAliasFactory(speaker=price, name="State Department Spokesman")
    cohen = SpeakerFactory(name="Eli Cohen")
    katz = SpeakerFactory(name="Israel Katz")
    SpeakerRoleFactory(
        speaker=katz, title="Minister of Defense", organisation="Government of Israel", country="IL",
        start_date=datetime.date(2024, 11, 7), end_date=None,
    )  # fmt: skip
    text = (
        "“Iran must never get the bomb,” Gallant said. "
        "The State Department Spokesman said the talks had stalled. "
        "Eli Cohen said the government would speak less about Ukraine. "
        "The Israeli defence minister warned that Hezbollah would pay a price. "
        "Dana Levi said the coalition would hold."
    )
    path = write(tmp_path, {"id": 1, "text": text, "language": "en", "published": "2025-01-05"})
    before = Speaker.objects.count()
    lines, _ = detect_quotes(path, "--registry")
    quotes = lines[0]["quotes"]
    assert [(q["speaker"], q["speaker_id"]) for q in quotes] == [
        ("Gallant", gallant.pk),
        ("State Department Spokesman", price.pk),
        ("Eli Cohen", cohen.pk),
        ("Israeli defence minister", katz.pk),
        ("Dana Levi", None),  # unknown to the registry: a new speaker to suggest
    ]
    assert Speaker.objects.count() == before


@pytest.mark.django_db
def test_a_role_not_held_on_the_articles_date_links_nobody(tmp_path):
    katz = SpeakerFactory(name="Israel Katz")
    SpeakerRoleFactory(
        speaker=katz, title="Minister of Defense", organisation="Government of Israel", country="IL",
        start_date=datetime.date(2024, 11, 7), end_date=None,
    )  # fmt: skip
    text = "The Israeli defence minister warned that Hezbollah would pay a price."
    path = write(tmp_path, {"id": 1, "text": text, "language": "en", "published": "2023-01-05"})
    lines, _ = detect_quotes(path, "--registry")
    assert lines[0]["quotes"][0]["speaker_id"] is None


def evaluate(path: Path, *args: str) -> str:
    out = io.StringIO()
    call_command("evaluate_detector", str(path), *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_evaluate_detector_prints_precision_recall_and_f1_for_direct_and_all_quotes_by_language():
    printed = evaluate(GOLD / "dev.jsonl")
    for label in ("direct, exact", "direct, overlap", "all, exact", "all, overlap", "source overlaps"):
        assert label in printed
    assert "\nen (" in printed and "\nde (" in printed and "\nfr (" in printed


def test_evaluate_detector_scores_a_perfect_and_an_empty_prediction(tmp_path):
    text = "“We will not back down,” the minister said."
    perfect = {"start": 1, "end": 22, "kind": "direct", "cue": [38, 42], "source": [25, 37]}
    missing = {"start": 0, "end": 4, "kind": "indirect", "cue": None, "source": None}
    path = write(tmp_path, {"id": 1, "text": text, "language": "en", "quotes": [perfect, missing]})
    report = json.loads(evaluate(path, "--json"))["reports"]["all"]
    assert report["direct"]["exact"]["f1"] == 1.0
    assert report["all"]["overlap"] == {
        "gold": 2, "predicted": 1, "matched": 1, "precision": 1.0, "recall": 0.5, "f1": 0.6667,
    }  # fmt: skip
    assert report["source_overlaps"] == {"share": 1.0, "of": 1}


def test_a_gold_span_outside_its_text_is_refused(tmp_path):
    path = write(tmp_path, {"id": 1, "text": "short", "language": "en", "quotes": [{"start": 0, "end": 99}]})
    err = io.StringIO()
    with pytest.raises(CommandError, match="nothing was scored"):
        call_command("evaluate_detector", str(path), stdout=io.StringIO(), stderr=err)
    assert "lies outside the text" in err.getvalue()


def test_a_figure_under_its_floor_fails_the_command():
    with pytest.raises(CommandError, match="under the floor: all quotes' overlap F1"):
        evaluate(GOLD / "holdout.jsonl", "--floor-all", "0.999")


@pytest.mark.parametrize("name", sorted(FLOORS))
def test_the_detector_holds_its_floors_on_our_gold_sets(name):
    floors = FLOORS[name]
    report = json.loads(evaluate(GOLD / name, "--json"))["reports"]["all"]
    assert report["direct"]["overlap"]["f1"] >= floors["direct"]
    assert report["all"]["overlap"]["f1"] >= floors["all"]
    assert report["source_overlaps"]["share"] >= floors["source"]


def test_the_gold_sets_spans_read_back_from_their_texts():
    for name in FLOORS:
        for line in (GOLD / name).read_text(encoding="utf-8").splitlines():
            article = json.loads(line)
            for quote in article["quotes"]:
                content = article["text"][quote["start"] : quote["end"]]
                assert content and content == content.strip(), (article["id"], content)
                assert not content.endswith(","), (article["id"], content)
