"""Settings come from the environment; production refuses unsafe defaults."""

from __future__ import annotations

import json
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


def default_storage(*expressions: str, **env: str) -> subprocess.CompletedProcess:
    """Settings imported with ``env`` (and no STORAGE_* or AWS_* from this process), printing ``expressions``."""
    clean = {key: value for key, value in os.environ.items() if not key.startswith(("STORAGE_", "AWS_"))}
    return subprocess.run(  # noqa: S603 (our own interpreter; the expressions are this module's)
        [
            sys.executable,
            "-c",
            "import json, django; django.setup(); from django.conf import settings; "
            "from django.core.files.storage import default_storage; "
            f"print(json.dumps([{', '.join(expressions)}]))",
        ],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "config.settings", "DEBUG": "1", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_release_files_stay_in_the_local_folder_without_a_bucket():
    result = default_storage('settings.STORAGES["default"]')
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [{"BACKEND": "django.core.files.storage.FileSystemStorage"}]


def test_with_a_bucket_release_files_go_to_private_object_storage():
    result = default_storage(
        'settings.STORAGES["default"]',
        "default_storage.__class__.__name__",
        STORAGE_BUCKET="demarche-releases",
        STORAGE_ENDPOINT_URL="https://minio.example.org:9000",
        STORAGE_REGION="eu-west-3",
        STORAGE_ACCESS_KEY_ID="release-writer",
        STORAGE_SECRET_ACCESS_KEY="release-writer-secret",
        STORAGE_PREFIX="/demarche/",
    )
    assert result.returncode == 0, result.stderr
    storage, backend = json.loads(result.stdout)
    assert storage == {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": "demarche-releases",
            "endpoint_url": "https://minio.example.org:9000",
            "region_name": "eu-west-3",
            "access_key": "release-writer",
            "secret_key": "release-writer-secret",
            "location": "demarche",
            "default_acl": None,
            "querystring_auth": True,
            "querystring_expire": 300,
            "signature_version": "s3v4",
            "file_overwrite": False,
            "max_memory_size": 5 * 1024 * 1024,
        },
    }
    assert backend == "S3Storage"


def test_without_storage_keys_boto3s_own_aws_variables_are_used():
    result = default_storage(
        'sorted(settings.STORAGES["default"]["OPTIONS"])',
        "default_storage.access_key",
        STORAGE_BUCKET="demarche-releases",
        AWS_ACCESS_KEY_ID="from-the-aws-variables",
        AWS_SECRET_ACCESS_KEY="aws-secret",
    )
    assert result.returncode == 0, result.stderr
    options, access_key = json.loads(result.stdout)
    assert "access_key" not in options and "endpoint_url" not in options
    assert access_key == "from-the-aws-variables"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"STORAGE_ENDPOINT_URL": "https://minio.example.org"}, "STORAGE_BUCKET is empty"),
        ({"STORAGE_BUCKET": "b", "STORAGE_ACCESS_KEY_ID": "k"}, "together, or neither"),
    ],
)
def test_half_an_object_storage_configuration_is_refused(env, message):
    result = default_storage("1", **env)
    assert result.returncode != 0
    assert message in result.stderr


def database_options(**env: str) -> dict:
    clean = {key: value for key, value in os.environ.items() if key not in {"DEBUG", "SECRET_KEY", "ALLOWED_HOSTS"}}
    clean.pop("DISABLE_SERVER_SIDE_CURSORS", None)
    clean.pop("DATABASE_PREPARED_STATEMENTS", None)
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django, json; django.setup(); from django.conf import settings; "
            "print(json.dumps({name: db.get('OPTIONS', {}) for name, db in settings.DATABASES.items()}))",
        ],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "config.settings", "DEBUG": "1", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


PG = "postgres://demarche@db.example:5432/demarche"
PREPARED = {"server_side_binding": True, "prepare_threshold": 2}


@pytest.mark.parametrize(
    ("env", "prepared"),
    [
        ({}, True),
        ({"DISABLE_SERVER_SIDE_CURSORS": "1"}, False),  # a transaction pooler: off unless asked
        ({"DISABLE_SERVER_SIDE_CURSORS": "1", "DATABASE_PREPARED_STATEMENTS": "1"}, True),
        ({"DATABASE_PREPARED_STATEMENTS": "0"}, False),
    ],
)
def test_postgresql_prepares_repeated_queries_unless_a_pooler_or_the_setting_says_not(env, prepared):
    options = database_options(DATABASE_URL=PG, DATABASE_REPLICA_URL=PG.replace("db.", "replica."), **env)
    for name in ("default", "replica"):
        assert (options[name].items() >= PREPARED.items()) == prepared, (name, options[name])


def test_sqlite_takes_no_postgresql_options():
    options = database_options(DATABASE_URL="sqlite:///demo.sqlite3")
    assert not {"server_side_binding", "prepare_threshold"} & set(options["default"])
