"""The bench's database (bench/__main__.py): named for the run, and never someone else's dropped or forced.

On a throwaway cluster standing in for a shared server; only the refusals,
which stop before the workload generator runs.
"""

from __future__ import annotations

import argparse
import contextlib

import psycopg
import pytest

from bench.__main__ import REUSED_DATABASE, database_spec, prepare_database

from .throwaway_postgres import find_bindir, throwaway_cluster

pytestmark = pytest.mark.skipif(
    find_bindir() is None, reason="PostgreSQL's server programs (initdb, pg_ctl) are missing"
)


@pytest.fixture(scope="module")
def server():
    with throwaway_cluster() as cluster:
        yield cluster


def bench_args(server, database: str, *, reuse: bool) -> argparse.Namespace:
    return argparse.Namespace(
        server=f"postgres://{server.user}@{server.host}:{server.port}", database=database, reuse=reuse, size=10, seed=1
    )


def databases(server) -> set[str]:
    with psycopg.connect(server.url("postgres"), autocommit=True) as admin:
        return {row[0] for row in admin.execute("SELECT datname FROM pg_database")}


def make_database(server, name: str, comment: str | None = None) -> None:
    with psycopg.connect(server.url("postgres"), autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        if comment:
            admin.execute(f"COMMENT ON DATABASE \"{name}\" IS '{comment}'")


def prepare(args: argparse.Namespace) -> None:
    with contextlib.ExitStack() as cleanup:
        prepare_database(args, {}, cleanup)


def test_a_run_never_takes_over_an_existing_database_of_its_name(server):
    make_database(server, "demarche_bench_4242")
    with pytest.raises(SystemExit, match="already exists and is not this run's"):
        prepare(bench_args(server, "demarche_bench_4242", reuse=False))
    assert "demarche_bench_4242" in databases(server)


def test_reuse_refuses_a_database_the_bench_did_not_generate(server):
    make_database(server, "someones_work")
    with pytest.raises(SystemExit, match="the bench did not generate it"):
        prepare(bench_args(server, "someones_work", reuse=True))
    assert "someones_work" in databases(server)


def test_reuse_never_forces_another_run_off_a_bench_database_of_another_spec(server):
    other_spec = database_spec(bench_args(server, REUSED_DATABASE, reuse=True)).replace("size=10", "size=99")
    make_database(server, REUSED_DATABASE, f"{other_spec} {{}}")
    still_using = psycopg.connect(server.url(REUSED_DATABASE))  # another run
    try:
        with pytest.raises(SystemExit, match="in use by another session"):
            prepare(bench_args(server, REUSED_DATABASE, reuse=True))
    finally:
        still_using.close()
    assert REUSED_DATABASE in databases(server)
