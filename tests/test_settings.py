"""Settings come from the environment; production refuses unsafe defaults."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
STRONG_KEY = "x" * 20 + "-settings-test-key-" + "y" * 20


def load_settings(**env: str) -> subprocess.CompletedProcess:
    clean = {key: value for key, value in os.environ.items() if key not in {"DEBUG", "SECRET_KEY", "ALLOWED_HOSTS"}}
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from django.conf import settings; print(settings.DEBUG)",
        ],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "config.settings", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_production_refuses_to_start_without_a_secret_key():
    result = load_settings(DEBUG="0", ALLOWED_HOSTS="example.org")
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_production_refuses_a_short_secret_key():
    result = load_settings(DEBUG="0", SECRET_KEY="short", ALLOWED_HOSTS="example.org")
    assert result.returncode != 0
    assert "too weak" in result.stderr


def test_production_refuses_to_start_without_allowed_hosts():
    result = load_settings(DEBUG="0", SECRET_KEY=STRONG_KEY)
    assert result.returncode != 0
    assert "ALLOWED_HOSTS is not set" in result.stderr


def test_production_starts_with_a_strong_key_and_hosts():
    result = load_settings(DEBUG="0", SECRET_KEY=STRONG_KEY, ALLOWED_HOSTS="example.org")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


def test_debug_off_is_the_default():
    result = load_settings(SECRET_KEY=STRONG_KEY, ALLOWED_HOSTS="example.org")
    assert result.stdout.strip() == "False"


def test_a_malformed_boolean_is_refused_by_name():
    result = load_settings(DEBUG="maybe")
    assert result.returncode != 0
    assert "DEBUG must be a boolean" in result.stderr


SETTINGS_READ = sorted(
    set(re.findall(r'env_(?:str|bool|int|list)\("([A-Z_]+)"', (ROOT / "config" / "settings.py").read_text()))
)


def test_every_variable_settings_read_is_found():
    assert {"DEBUG", "SECRET_KEY", "DATABASE_URL", "DISABLE_SERVER_SIDE_CURSORS", "LOG_LEVEL"} <= set(SETTINGS_READ)


@pytest.mark.parametrize("name", SETTINGS_READ)
def test_env_example_lists_every_variable(name):
    assert f"\n{name}=" in "\n" + (ROOT / ".env.example").read_text()


def unset(environ: os._Environ[str]) -> dict[str, str]:
    database = {"DATABASE_URL", "DATABASE_REPLICA_URL", "DISABLE_SERVER_SIDE_CURSORS", "CONN_MAX_AGE"}
    return {key: value for key, value in environ.items() if key not in database}


def database_flags(**env: str) -> str:
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from django.conf import settings as s; "
            'print(*(f\'{alias}:{db["DISABLE_SERVER_SIDE_CURSORS"]}:{db["CONN_MAX_AGE"]}\' '
            "for alias, db in s.DATABASES.items()))",
        ],
        cwd=ROOT,
        env={**unset(os.environ), "DJANGO_SETTINGS_MODULE": "config.settings", "DEBUG": "1", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


PG = "postgres://demarche@127.0.0.1:6432/demarche"


def test_server_side_cursors_stay_on_by_default():
    assert database_flags(DATABASE_URL=PG) == "default:False:60"


def test_behind_a_transaction_pooler_server_side_cursors_are_off_on_every_database():
    flags = database_flags(
        DATABASE_URL=PG, DATABASE_REPLICA_URL=PG + "_replica", DISABLE_SERVER_SIDE_CURSORS="1", CONN_MAX_AGE="0"
    )
    assert flags == "default:True:0 replica:True:0"


def test_gunicorn_recycles_no_worker_unless_asked_and_then_spreads_the_restarts(monkeypatch):
    """Workers' memory stays flat (config/gunicorn.conf.py says how it was measured);
    recycling, when turned on, spreads restarts over a whole cycle rather than 10% of one."""
    import runpy

    monkeypatch.delenv("GUNICORN_MAX_REQUESTS", raising=False)
    assert runpy.run_path(str(ROOT / "config" / "gunicorn.conf.py"))["max_requests"] == 0
    monkeypatch.setenv("GUNICORN_MAX_REQUESTS", "5000")
    config = runpy.run_path(str(ROOT / "config" / "gunicorn.conf.py"))
    assert (config["max_requests"], config["max_requests_jitter"]) == (5000, 5000)
