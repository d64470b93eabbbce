"""The throwaway PostgreSQL cluster (tests/throwaway_postgres.py): a server of its own, restarted and removed."""

from __future__ import annotations

import contextlib

import psycopg
import pytest

from .throwaway_postgres import find_bindir, throwaway_cluster

pytestmark = pytest.mark.skipif(
    find_bindir() is None, reason="PostgreSQL's server programs (initdb, pg_ctl) are missing"
)


def start_time(url: str):
    with psycopg.connect(url, autocommit=True) as connection:
        return connection.execute("SELECT pg_postmaster_start_time()").fetchone()[0]


def test_a_cluster_serves_loopback_with_trust_keeps_data_across_a_restart_and_is_gone_afterwards():
    with throwaway_cluster() as cluster:
        assert cluster.host == "127.0.0.1"
        with psycopg.connect(cluster.url("postgres"), autocommit=True) as admin:
            admin.execute("CREATE DATABASE kept")
            assert admin.execute("SHOW listen_addresses").fetchone() == ("127.0.0.1",)
            assert admin.execute("SHOW unix_socket_directories").fetchone() == ("",)
            assert admin.execute(
                "SELECT pg_encoding_to_char(encoding) FROM pg_database WHERE datname = 'kept'"
            ).fetchone() == ("UTF8",)
        with psycopg.connect(cluster.url("kept"), autocommit=True) as kept:
            kept.execute("CREATE TABLE t (word text)")
            kept.execute("INSERT INTO t VALUES ('שלום')")
        first = start_time(cluster.url("postgres"))

        cluster.restart()

        assert start_time(cluster.url("postgres")) > first
        with psycopg.connect(cluster.url("kept")) as kept:
            assert kept.execute("SELECT upper(word) FROM t").fetchall() == [("שלום",)]
        folder, port = cluster.folder, cluster.port
    assert not folder.exists()
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(f"postgres://postgres@127.0.0.1:{port}/postgres", connect_timeout=2)


def test_the_cluster_is_stopped_and_removed_even_when_the_test_inside_fails():
    with contextlib.suppress(RuntimeError), throwaway_cluster() as cluster:
        folder, port = cluster.folder, cluster.port
        assert cluster.is_running()
        raise RuntimeError("a failing test")
    assert not folder.exists()
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(f"postgres://postgres@127.0.0.1:{port}/postgres", connect_timeout=2)


def test_a_stopped_cluster_is_started_again_by_ensure_up():
    with throwaway_cluster() as cluster:
        cluster.stop()
        assert not cluster.accepts_connections()
        cluster.ensure_up()
        assert start_time(cluster.url("postgres"))
