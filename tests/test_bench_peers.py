"""The peer benchmark's workload: what both apps are given must be the same and valid for both."""

from __future__ import annotations

import json
from pathlib import Path

from bench.peers import Call, KeepAlive, make_documents, new_spans, run_load, write_jsonl
from bench.server import free_port


def test_the_workload_is_the_same_for_the_same_seed_and_differs_for_another() -> None:
    first = make_documents(20, 10, seed=3)
    again = make_documents(20, 10, seed=3)
    other = make_documents(20, 10, seed=4)
    assert [document.text for document in first] == [document.text for document in again]
    assert [document.text for document in first] != [document.text for document in other]


def test_every_document_is_about_3000_characters_with_ten_labelled_spans_that_match_its_text() -> None:
    documents = make_documents(30, 10, seed=1)
    assert len({document.text for document in documents}) == 30
    for document in documents:
        assert 2800 <= len(document.text) <= 3200
        assert len(document.spans) == 10
        previous_end = 0
        for start, end, label in document.spans:
            assert label in {"DIRECT", "INDIRECT", "MIXED"}
            assert previous_end <= start < end <= len(document.text)
            assert document.text[start:end].strip() == document.text[start:end]
            previous_end = end


def test_the_jsonl_file_is_doccano_s_format_with_code_point_offsets(tmp_path: Path) -> None:
    documents = make_documents(5, 10, seed=2)
    path = tmp_path / "documents.jsonl"
    write_jsonl(documents, path)
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert [set(record) for record in records] == [{"text", "label"}] * 5
    for record, document in zip(records, documents, strict=True):
        assert record["text"] == document.text
        assert record["label"] == [[start, end, label] for start, end, label in document.spans]


def test_the_spans_the_save_job_posts_overlap_no_existing_span_and_no_other_new_one() -> None:
    documents = make_documents(40, 10, seed=5)
    posted = list(new_spans(documents, seed=5))
    # Enough for the quick job's nine seconds at a few hundred posts a second: the job used to run
    # out after one round through the gaps, and every later run read 0 req/s for both apps.
    assert len(posted) >= 20 * len(documents)
    taken: dict[int, list[tuple[int, int]]] = {
        index: [(start, end) for start, end, _label in document.spans] for index, document in enumerate(documents)
    }
    for index, start, end, label in posted:
        text = documents[index].text
        assert 5 <= end - start <= 40
        assert not text[start].isspace() and not text[end - 1].isspace()
        assert label in {"DIRECT", "INDIRECT", "MIXED"}
        assert all(end <= other_start or other_end <= start for other_start, other_end in taken[index])
        taken[index].append((start, end))
    assert [item[:3] for item in posted] == [item[:3] for item in new_spans(documents, seed=5)]


def test_the_load_client_reports_a_refused_connection_instead_of_raising() -> None:
    status, seconds, body, error = KeepAlive("127.0.0.1", free_port(), {}).send(Call("GET", "/"))
    assert status == 0
    assert body == b""
    assert "ConnectionRefusedError" in error
    assert seconds >= 0


def test_a_load_run_that_runs_out_of_requests_says_so() -> None:
    calls = iter([Call("GET", "/")] * 3)
    run = run_load("127.0.0.1", free_port(), {}, lambda _client: next(calls), clients=1, seconds=5)
    assert run["errors"] == 4  # three refused connections, then the job's end
    assert all("ConnectionRefusedError" in example for example in run["error_examples"])
    assert run["seconds"] < 5
    empty = run_load("127.0.0.1", free_port(), {}, lambda _client: next(iter([])), clients=1, seconds=5)
    assert empty["errors"] == 1
    assert "ran out of requests" in empty["error_examples"][0]


def test_settling_vacuums_and_analyses_each_database_then_checkpoints() -> None:
    """Before the jobs, both apps' databases at rest (bench.peers.settle), on the real server."""
    import secrets

    import psycopg

    from bench.peers import DEFAULT_SERVER, create_database, drop_database, settle

    name = f"peers_settle_{secrets.token_hex(4)}"
    create_database(DEFAULT_SERVER, name)
    try:
        with psycopg.connect(f"{DEFAULT_SERVER}/{name}", autocommit=True) as connection:
            connection.execute("CREATE TABLE spans AS SELECT n FROM generate_series(1, 1000) AS n")
        seconds = settle(DEFAULT_SERVER, [name])
        assert set(seconds) == {name, "checkpoint"}
        with psycopg.connect(f"{DEFAULT_SERVER}/{name}") as connection:
            vacuumed, analysed = connection.execute(
                "SELECT last_vacuum, last_analyze FROM pg_stat_user_tables WHERE relname = 'spans'"
            ).fetchone()
        assert vacuumed is not None and analysed is not None
    finally:
        drop_database(DEFAULT_SERVER, name)
