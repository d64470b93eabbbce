"""What a test run on PostgreSQL may not do to the server it shares with others.

Other suites, a developer's ``make run`` and CI may use the same server: a run
must not restart it (their connections would drop) and must not leave its
databases behind. conftest.py reads the server's state at the start and at the
end of every PostgreSQL session and fails the run on either.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class ServerState:
    started: datetime  # pg_postmaster_start_time(): changes when the server restarts
    databases: frozenset[str]


def connect(settings: dict[str, Any]) -> Any:
    """The server's maintenance database, with Django's connection settings."""
    import psycopg

    return psycopg.connect(
        dbname="postgres",
        host=settings.get("HOST") or "127.0.0.1",
        port=settings.get("PORT") or 5432,
        user=settings.get("USER") or "postgres",
        password=settings.get("PASSWORD") or None,
        autocommit=True,
        connect_timeout=10,
    )


def server_state(settings: dict[str, Any]) -> ServerState:
    with connect(settings) as admin:
        started = admin.execute("SELECT pg_postmaster_start_time()").fetchone()[0]
        databases = frozenset(row[0] for row in admin.execute("SELECT datname FROM pg_database"))
    return ServerState(started, databases)


def made_by_this_run(name: str, *, pid: int, test_database: str | None) -> bool:
    """The test database (``test_<name>_<pid>``, conftest.py), its copies, and anything else named for this process."""
    if test_database and (name == test_database or name.startswith(f"{test_database}_")):
        return True
    return re.search(rf"_{pid}(?:_|$)", name) is not None


def problems(before: ServerState, after: ServerState, *, pid: int, test_database: str | None) -> list[str]:
    """What this run did to the shared server that it must not: each as a sentence, none when all is well."""
    found = []
    if after.started != before.started:
        found.append(
            f"the shared PostgreSQL server restarted during this run (up since {before.started:%H:%M:%S.%f}, "
            f"now since {after.started:%H:%M:%S.%f}): every other client lost its connections"
        )
    # Databases that existed before the run belong to someone else, whatever their name.
    left = sorted(
        name
        for name in after.databases - before.databases
        if made_by_this_run(name, pid=pid, test_database=test_database)
    )
    if left:
        found.append(f"this run left databases behind on the shared server: {', '.join(left)}")
    return found


def close_connections_to(settings: dict[str, Any], database: str) -> list[str]:
    """Terminate every other session connected to ``database`` and wait until they are gone.

    A thread or a subprocess that kept a connection open to the test database
    makes its DROP DATABASE fail ("being accessed by other users") and leaves
    the database behind. Returns what was connected, for the run to report.
    """
    import time

    with connect(settings) as admin:
        found = admin.execute(
            "SELECT pid, coalesce(application_name, ''), coalesce(state, ''), left(coalesce(query, ''), 80) "
            "FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            [database],
        ).fetchall()
        for pid, *_ in found:
            admin.execute("SELECT pg_terminate_backend(%s)", [pid])
        for _ in range(50):
            if not admin.execute("SELECT 1 FROM pg_stat_activity WHERE datname = %s", [database]).fetchone():
                break
            time.sleep(0.1)
    return [
        f"pid {pid} ({application or 'no application name'}, {state}): {query}"
        for pid, application, state, query in found
    ]
