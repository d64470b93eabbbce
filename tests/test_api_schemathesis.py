"""Property-based testing of the whole API from its own OpenAPI schema (schemathesis).

The schema is loaded from the WSGI application, and every case is sent to it
in-process, so requests run on the test database connection inside the test's
transaction: ``django_db`` is enough, no live server or ``transactional_db``.
One thing is needed, which Django's own test client does too: the real WSGI
handler closes "old" connections when a request starts and finishes, and a
connection inside the test's transaction (autocommit off) looks unusable to it.
On SQLite's in-memory test database closing is a no-op; on PostgreSQL it would
drop the test's transaction, so the signal handlers are disconnected meanwhile.
As a reviewer (a token), on the seed data, every operation gets schema-valid
cases and cases that break the schema; none may produce a 5xx.
"""

from __future__ import annotations

# Shared fixtures are imported from test_api_support by name.
# ruff: noqa: F401, F811
import collections

import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from rest_framework.throttling import UserRateThrottle
from schemathesis.generation import GenerationMode

from annotations import services
from annotations.models import Quote, Speaker
from config.wsgi import application

from .test_api_support import isolated_media, seeded, token_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def keep_the_test_connection():
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


# Per run: 20 operations × 2 modes, and 12 operations on existing rows, × 30 ≈ 1,560 cases.
EXAMPLES = 30
MINIMUM_CASES = 1000


def test_no_generated_request_makes_the_api_fail(keep_the_test_connection, seeded, reviewer, monkeypatch):
    # The fuzzer sends more requests than one user may in an hour.
    monkeypatch.setattr(UserRateThrottle, "THROTTLE_RATES", {"user": "100000/hour", "anon": "100000/hour"})
    token = token_for(reviewer)
    schema = schemathesis.openapi.from_wsgi("/api/schema/", application)
    counts: collections.Counter[str] = collections.Counter()
    statuses: collections.Counter[int] = collections.Counter()
    failures: list[str] = []

    def fuzz(operation, mode: GenerationMode, **fixed: dict) -> None:
        label = f"{operation.label} {mode}{' on existing rows' if fixed else ''}"

        @given(case=operation.as_strategy(generation_mode=mode, **fixed))
        @hypothesis_settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            derandomize=True,  # the same cases on every run: CI stays deterministic
            suppress_health_check=list(HealthCheck),
        )
        def send(case) -> None:
            response = case.call(headers={"Authorization": f"Token {token}"})
            counts[label] += 1
            statuses[response.status_code] += 1
            if response.status_code >= 500:
                failures.append(f"{label} → {response.status_code}: {case.as_curl_command()}")

        send()

    # Random ids mostly miss (404); a third run per operation aims at rows that exist.
    release = services.build_release(name="fuzz", note="", filters={}, user=reviewer)
    known = {
        "/api/v1/quotes/{id}/": {"id": Quote.objects.raw_layer().filter(article=seeded).first().pk},
        "/api/v1/articles/{id}/": {"id": seeded.pk},
        "/api/v1/speakers/{id}/": {"id": Speaker.objects.get(name="Ned Price").pk},
        "/api/v1/releases/{id}/": {"id": release.pk},
        "/api/v1/releases/{id}/files/{fmt}/": {"id": release.pk, "fmt": "jsonl"},
        "/api/v1/targets/{slug}/": {"slug": "iran-nuclear"},
        "/api/v1/stance-labels/{slug}/": {"slug": "oppose"},
    }
    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            fuzz(operation, mode)
        if operation.path in known:
            fuzz(operation, GenerationMode.POSITIVE, path_parameters=known[operation.path])

    total = sum(counts.values())
    print(f"schemathesis: {total} cases in {len(counts)} runs; statuses {dict(sorted(statuses.items()))}")
    assert not failures, "\n".join(failures[:10])
    assert total >= MINIMUM_CASES, counts
    operations = {label.split(" ")[0] + " " + label.split(" ")[1] for label in counts}
    assert len(operations) >= 20, operations
    assert statuses[200] + statuses[201] + statuses[204] > total / 5  # real work, not only refusals
