"""The probe of the shared PostgreSQL server (tests/shared_postgres.py, wired in conftest.py) finds what a run did.

Proved on a throwaway cluster standing in for the shared server: the probe's
own functions, then a whole pytest session pointed at the cluster whose test
restarts it and leaves a database behind, which must fail.
"""

# ruff: noqa: S603  (this interpreter running pytest, fixed arguments)
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from .shared_postgres import close_connections_to, problems, server_state
from .throwaway_postgres import Cluster, find_bindir, throwaway_cluster

ROOT = Path(__file__).resolve().parent.parent
STAND_IN = "DEMARCHE_PROBE_STAND_IN"  # the cluster the inner session restarts, as JSON

needs_postgres = pytest.mark.skipif(
    find_bindir() is None, reason="PostgreSQL's server programs (initdb, pg_ctl) are missing"
)


@pytest.fixture(scope="module")
def stand_in():
    """One cluster for the module: each test uses names of its own (another "pid") and compares states it read."""
    with throwaway_cluster() as cluster:
        yield cluster


def settings_for(cluster: Cluster) -> dict:
    return {"HOST": cluster.host, "PORT": cluster.port, "USER": cluster.user, "PASSWORD": ""}


def create(cluster: Cluster, *names: str) -> None:
    with psycopg.connect(cluster.url("postgres"), autocommit=True) as admin:
        for name in names:
            admin.execute(f'CREATE DATABASE "{name}"')


@needs_postgres
def test_a_run_that_touched_nothing_has_no_problem(stand_in):
    settings = settings_for(stand_in)
    before = server_state(settings)
    create(stand_in, "test_demarche_1001")
    with psycopg.connect(stand_in.url("postgres"), autocommit=True) as admin:
        admin.execute('DROP DATABASE "test_demarche_1001"')
    assert problems(before, server_state(settings), pid=1001, test_database="test_demarche_1001") == []


@needs_postgres
def test_a_restart_of_the_server_is_found(stand_in):
    settings = settings_for(stand_in)
    before = server_state(settings)
    stand_in.restart()
    [problem] = problems(before, server_state(settings), pid=2002, test_database="test_demarche_2002")
    assert "restarted during this run" in problem


@needs_postgres
def test_databases_this_run_left_are_named_and_no_one_elses(stand_in):
    create(stand_in, "demarche_bench_4242")  # made before the run by this pid's namesake: not this run's
    settings = settings_for(stand_in)
    before = server_state(settings)
    create(stand_in, "test_demarche_4242", "test_demarche_4242_restored", "demarche_smoke_4242", "test_demarche_777")
    [problem] = problems(before, server_state(settings), pid=4242, test_database="test_demarche_4242")
    assert problem.endswith(": demarche_smoke_4242, test_demarche_4242, test_demarche_4242_restored")


@needs_postgres
def test_connections_a_thread_left_open_are_closed_so_the_database_can_be_dropped(stand_in):
    create(stand_in, "test_demarche_3003")
    left_open = psycopg.connect(stand_in.url("test_demarche_3003"), application_name="forgotten-thread")
    try:
        with psycopg.connect(stand_in.url("postgres"), autocommit=True) as admin:
            with pytest.raises(psycopg.errors.ObjectInUse, match="being accessed by other users"):
                admin.execute('DROP DATABASE "test_demarche_3003"')
            [closed] = close_connections_to(settings_for(stand_in), "test_demarche_3003")
            assert "forgotten-thread" in closed
            admin.execute('DROP DATABASE "test_demarche_3003"')
    finally:
        left_open.close()


@needs_postgres
def test_a_session_that_restarts_the_server_and_leaves_a_database_fails_and_says_both(stand_in):
    cluster = {"bindir": str(stand_in.bindir), "folder": str(stand_in.folder), "port": stand_in.port}
    cluster["run_as"] = stand_in.run_as
    result = subprocess.run(
        [sys.executable, "-m", "pytest", f"{__file__}::test_inner_session", "-q", "-p", "no:cacheprovider"],
        cwd=ROOT,
        env={**os.environ, STAND_IN: json.dumps(cluster), "DATABASE_URL": stand_in.url("demarche")},
        capture_output=True,
        text=True,
        timeout=120,
    )
    output = result.stdout + result.stderr
    assert "1 passed" in output, output  # the test itself passed: the probe failed the run
    assert result.returncode == pytest.ExitCode.TESTS_FAILED, output
    assert "SHARED POSTGRESQL: the shared PostgreSQL server restarted during this run" in output
    assert "SHARED POSTGRESQL: this run left databases behind on the shared server: left_behind_" in output


@pytest.mark.skipif(STAND_IN not in os.environ, reason="run by the test above, in a session of its own")
def test_inner_session():
    """Does to the stand-in server what no test may do to the shared one."""
    cluster = Cluster(
        **{
            key: Path(value) if key in {"bindir", "folder"} else value
            for key, value in json.loads(os.environ[STAND_IN]).items()
        }
    )
    cluster.restart()
    create(cluster, f"left_behind_{os.getpid()}")
