"""Personas and shared fixtures: analyst, second analyst, reviewer, researcher, outsider."""

from __future__ import annotations

import contextlib
import os

import pytest
from django.test import Client

from annotations import throttling

from . import shared_postgres
from .factories import ArticleFactory, AssignmentFactory, UserFactory


@pytest.fixture(autouse=True)
def tasks_run_immediately(settings):
    """Background tasks run in the request that enqueues them (once its transaction
    commits): no worker in most tests. tests/test_suggestions.py runs the real one."""
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}


@pytest.fixture
def analyst(db):
    return UserFactory(username="analyst", role="analyst")


@pytest.fixture
def second_analyst(db):
    return UserFactory(username="analyst2", role="analyst")


@pytest.fixture
def reviewer(db):
    return UserFactory(username="reviewer", role="reviewer")


@pytest.fixture
def researcher(db):
    return UserFactory(username="researcher", role="researcher")


@pytest.fixture
def outsider(db):
    """Logged in, but in no Demarche group."""
    return UserFactory(username="outsider")


@pytest.fixture
def admin_user(db):
    return UserFactory(username="admin", is_staff=True, is_superuser=True)


@pytest.fixture
def article(db):
    return ArticleFactory()


@pytest.fixture
def assigned_article(analyst):
    """An article assigned to the analyst."""
    return AssignmentFactory(annotator=analyst, article=ArticleFactory(pool=False)).article


def client_for(user) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


@pytest.fixture
def login():
    return client_for


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix):
    """A PostgreSQL test database of this run's own: two suites on one server
    (two developers, CI beside a developer) would otherwise both use, and drop,
    ``test_demarche``."""
    from django.conf import settings

    database = settings.DATABASES["default"]
    if database["ENGINE"] != "django.db.backends.sqlite3":
        test = database.setdefault("TEST", {})
        test["NAME"] = f"{test.get('NAME') or 'test_' + database['NAME']}_{os.getpid()}"


# --- The shared PostgreSQL server, untouched -------------------------------------------

SHARED_SERVER = pytest.StashKey[tuple[dict, shared_postgres.ServerState] | None]()
STRAY_CONNECTIONS: list[str] = []


def _postgresql_settings() -> dict | None:
    from django.conf import settings

    database = settings.DATABASES["default"]
    return dict(database) if database["ENGINE"] == "django.db.backends.postgresql" else None


def pytest_sessionstart(session):
    """On PostgreSQL: the server's start time and databases, before any test ran."""
    database = _postgresql_settings()
    state = None
    if database is not None:
        try:
            state = shared_postgres.server_state(database)
        except Exception as error:  # the suite itself will say the server is unreachable
            print(f"\nShared PostgreSQL server not checked (unreachable at session start: {error})")
    session.stash[SHARED_SERVER] = (database, state) if state else None


@pytest.hookimpl(wrapper=True)
def pytest_sessionfinish(session, exitstatus):
    """After the test database is dropped: the run fails if the server restarted or a database of this run is left."""
    result = yield
    recorded = session.stash.get(SHARED_SERVER, None)
    if recorded is None:
        return result
    database, before = recorded
    from django.conf import settings

    test_database = settings.DATABASES["default"].get("TEST", {}).get("NAME")
    try:
        after = shared_postgres.server_state(database)
    except Exception as error:
        found = [f"the shared PostgreSQL server can't be reached at the end of this run ({error})"]
    else:
        found = shared_postgres.problems(before, after, pid=os.getpid(), test_database=test_database)
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write("\n")  # after the progress line
        for problem in found:
            reporter.write_line(f"SHARED POSTGRESQL: {problem}", red=True, bold=True)
        if not found:
            reporter.write_line(
                f"Shared PostgreSQL server: up since {before.started:%Y-%m-%d %H:%M:%S.%f %Z} throughout; "
                "no database of this run left on it"
            )
    if found and session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    return result


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup):
    """pytest-django's test database; before it is dropped, nothing may still be connected to it.

    A connection a thread or a subprocess left open would make DROP DATABASE
    fail and leave the database on the shared server: they are closed here and
    named at the end of the run, to be fixed where they were opened.
    """
    yield
    from django.db import connection, connections

    connections.close_all()  # this thread's own
    if connection.vendor == "postgresql":
        STRAY_CONNECTIONS.extend(
            shared_postgres.close_connections_to(connection.settings_dict, connection.settings_dict["NAME"])
        )


def pytest_terminal_summary(terminalreporter):
    if STRAY_CONNECTIONS:
        terminalreporter.write_sep("-", "connections left open to the test database (closed before dropping it)")
        for line in STRAY_CONNECTIONS:
            terminalreporter.write_line(line, yellow=True)


@pytest.fixture(autouse=True)
def no_throttle_housekeeping_by_chance(monkeypatch):
    """The API throttle drops stale callers' rows on one request in 1,000, drawn at
    random: one more query in a test that counts them, once in a while. Off here;
    tests/test_throttling.py turns it on for every request where it tests it."""
    monkeypatch.setattr(throttling, "PRUNE_ONE_IN", 0)


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """PBKDF2 is slow by design; tests don't need it to be."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


# --- The offset invariant, after every test -------------------------------------------


SETUP_FAILED = pytest.StashKey[bool]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item):
    try:
        return (yield)
    except BaseException:
        # Skipped or failed before its fixtures ran: it never had the database to check.
        item.stash[SETUP_FAILED] = True
        raise


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item, nextitem):
    """After every test that used the database, before its data is rolled back or
    flushed: the database's own substr() reads every stored span back as stored.

    Whatever a test did through the models, the pages or the API, no quote may be
    left pointing at other text. Tests that corrupt a span on purpose (to prove
    the audit finds it) say so with ``@pytest.mark.corrupts_offsets``.
    """
    mismatches = []
    checked = _used_the_database(item) and not item.stash.get(SETUP_FAILED, False)
    if checked and not item.get_closest_marker("corrupts_offsets"):
        from django.db import DatabaseError, connection

        from annotations.management.commands.check_offsets import span_mismatches

        if connection.connection is not None and not connection.needs_rollback:
            # A test that left its transaction aborted on purpose has nothing readable.
            with contextlib.suppress(DatabaseError):
                mismatches = span_mismatches()
    result = yield
    assert not mismatches, f"{item.nodeid} left quote spans the database reads differently: {mismatches}"
    return result


def _used_the_database(item) -> bool:
    names = set(getattr(item, "fixturenames", ()))
    return bool(names & {"db", "transactional_db", "django_db_reset_sequences", "django_db_serialized_rollback"}) or (
        item.get_closest_marker("django_db") is not None
    )
