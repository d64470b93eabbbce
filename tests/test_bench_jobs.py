"""The detect-import bench job's pieces (bench/jobs.py): its figures from the runs' rows,
its import file and its clean-up. Not its timings, which only `make bench` measures."""

from __future__ import annotations

import datetime

import pytest

from annotations.models import DetectionRun
from bench.__main__ import JOBS, main
from bench.jobs import DETECT_IMPORT_URL, IMPORT_URL, forget_import, import_lines, split_samples, tally_runs

from .factories import ArticleFactory

T0 = datetime.datetime(2026, 1, 1, 12, 0, tzinfo=datetime.UTC)


def at(seconds: float) -> datetime.datetime:
    return T0 + datetime.timedelta(seconds=seconds)


def test_the_rate_is_the_runs_done_over_the_workers_busy_time_and_the_queue_empties_at_the_last_end() -> None:
    runs = [("done", 3), ("done", 0), ("done", None), ("failed", None)]
    tasks = [(at(2), at(3)), (at(3), at(4)), (at(4), at(6)), (at(6), at(7))]
    tally = tally_runs(runs, tasks, import_started=at(0))
    assert (tally.runs, tally.done, tally.failed, tally.unfinished) == (4, 3, 1, 0)
    assert tally.suggestions == 3
    assert tally.busy_seconds == 5  # from the first start (2 s) to the last end (7 s)
    assert tally.rate == pytest.approx(3 / 5)
    assert tally.empty_after == 7  # counted from the import's start, not the worker's


def test_the_queue_is_not_empty_while_a_run_is_queued_or_running() -> None:
    runs = [("done", 1), ("running", None), ("queued", None)]
    tasks = [(at(1), at(2)), (at(2), None), (None, None)]
    tally = tally_runs(runs, tasks, import_started=at(0))
    assert (tally.done, tally.unfinished, tally.empty_after) == (1, 2, None)
    assert tally.busy_seconds == 1


def test_no_run_gives_no_rate_rather_than_a_division_by_zero() -> None:
    tally = tally_runs([], [], import_started=at(0))
    assert (tally.runs, tally.busy_seconds, tally.empty_after) == (0, 0, None)
    assert tally.rate != tally.rate  # nan


def test_the_page_is_judged_on_the_requests_sent_while_the_worker_detected() -> None:
    samples = [
        (at(0.5).timestamp(), 0.9),
        (at(2).timestamp(), 0.05),
        (at(5).timestamp(), 0.06),
        (at(8).timestamp(), 0.04),
    ]
    during, before = split_samples(samples, at(2), at(7))
    assert during == [0.05, 0.06]  # from the first task's start to the last one's end, both included
    assert before == [0.9]  # the import running, the worker still idle; after the last end: neither
    assert split_samples(samples, None, None) == ([], [0.9, 0.05, 0.06, 0.04])  # nothing detected
    assert split_samples(samples, at(2), None)[0] == [0.05, 0.06, 0.04]  # still detecting when stopped


@pytest.mark.django_db
def test_the_detect_import_file_is_new_articles_under_its_own_urls() -> None:
    lines = import_lines(1, "detect", 5, url=DETECT_IMPORT_URL)
    import_job = import_lines(1, 0, 5)
    assert len({line["text"] for line in lines}) == 5
    assert all(line["url"].startswith(DETECT_IMPORT_URL) for line in lines)
    assert all(line["url"].startswith(IMPORT_URL) for line in import_job)
    assert not {line["text"] for line in lines} & {line["text"] for line in import_job}


@pytest.mark.django_db(transaction=True)
def test_forgetting_an_import_deletes_its_articles_and_the_tasks_their_arrival_queued(settings) -> None:
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    from django_tasks_db.models import DBTaskResult

    ours = [ArticleFactory(url=f"{DETECT_IMPORT_URL}1/detect/{n}") for n in range(2)]
    other = ArticleFactory(url="https://elsewhere.example.org/1")
    # Outside a transaction: enqueued now, a task per request (its runs batched together).
    DetectionRun.objects.request([article.pk for article in ours])
    DetectionRun.objects.request([other.pk])
    assert DBTaskResult.objects.count() == 2

    forget_import(DETECT_IMPORT_URL)

    remaining = DetectionRun.objects.get()
    assert remaining.article_id == other.pk
    assert [str(pk) for pk in DBTaskResult.objects.values_list("id", flat=True)] == [remaining.task_id]


def test_the_job_is_in_the_default_set_and_a_misspelt_one_is_refused(capsys) -> None:
    assert "detect-import" in JOBS
    with pytest.raises(SystemExit) as stopped:
        main(["--only", "detect_import"])
    assert stopped.value.code == 2
    assert "unknown jobs: detect_import" in capsys.readouterr().err
