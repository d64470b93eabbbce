"""Django's cache is one every worker shares: the database's demarche_cache table by
default, Redis when REDIS_URL is set. The API's throttle counts are rows of their own
(tests/test_throttling.py), shared the same way, and never in the cache."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.db import connection
from django.test import override_settings

from annotations.models import ThrottleCount

from .test_api_support import api_client

ROOT = Path(__file__).resolve().parent.parent
DATABASE_CACHE = {"default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "demarche_cache"}}


def cache_backend(**env: str) -> subprocess.CompletedProcess:
    clean = {key: value for key, value in os.environ.items() if key not in {"CACHE_BACKEND", "REDIS_URL"}}
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from django.conf import settings; "
            "print(settings.CACHES['default']['BACKEND'], settings.CACHES['default'].get('LOCATION'))",
        ],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "config.settings", "DEBUG": "1", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_default_cache_is_the_database_table():
    result = cache_backend()
    assert result.stdout.split() == ["django.core.cache.backends.db.DatabaseCache", "demarche_cache"]


def test_redis_url_selects_djangos_redis_cache():
    result = cache_backend(REDIS_URL="redis://cache.internal:6379/0")
    assert result.stdout.split() == ["django.core.cache.backends.redis.RedisCache", "redis://cache.internal:6379/0"]


def test_an_unknown_cache_backend_is_refused_by_name():
    result = cache_backend(CACHE_BACKEND="memcached")
    assert result.returncode != 0
    assert "CACHE_BACKEND must be database or locmem" in result.stderr


@pytest.fixture
def database_cache(db):
    """The production default, in a suite that runs with the local-memory cache:
    0011's function run as a migration would (it reads only the editor's connection)."""
    with override_settings(CACHES=DATABASE_CACHE):
        migration = importlib.import_module("annotations.migrations.0011_cache_table")
        migration.create_cache_table(None, SimpleNamespace(connection=connection))
        yield


def test_the_migration_creates_the_cache_table(database_cache):
    assert "demarche_cache" in connection.introspection.table_names()


def test_api_throttle_counts_are_rows_in_the_database_not_cache_entries(database_cache, researcher):
    client = api_client(researcher)
    assert client.get("/api/v1/quotes/").status_code == 200
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM demarche_cache")
        assert cursor.fetchone()[0] == 0
    assert ThrottleCount.objects.get(key=f"throttle_user_{researcher.pk}").count == 1
