"""The API's rate limits (annotations.throttling): a sliding window counted in one
statement a request, with DRF's rates, keys, 429 and Retry-After."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from annotations import throttling
from annotations.models import ThrottleCount

from .test_api_support import api_client

pytestmark = pytest.mark.django_db

MINUTE = 60


@pytest.fixture
def clock(monkeypatch):
    """The throttles' time, set by the test: [seconds since the epoch]."""
    now = [1_000 * MINUTE]  # the start of a period
    monkeypatch.setattr(throttling.CountingThrottle, "timer", staticmethod(lambda: now[0]))
    return now


@pytest.fixture
def ten_a_minute(monkeypatch):
    monkeypatch.setattr(throttling.UserRateThrottle, "THROTTLE_RATES", {"user": "10/min", "anon": "2/min"})


def statuses(client, count: int) -> list[int]:
    return [client.get("/api/v1/stance-labels/").status_code for _ in range(count)]


def test_the_limit_holds_within_a_period_and_the_refusal_says_when_to_come_back(clock, ten_a_minute, researcher):
    client = api_client(researcher)
    assert statuses(client, 11) == [200] * 10 + [429]
    refused = client.get("/api/v1/stance-labels/")
    assert refused.status_code == 429
    # 12 counted in a period of 60 s that has just begun: the rest of it, then until
    # the weight of those 12 falls to the limit.
    assert int(refused["Retry-After"]) == 60 + 10
    assert "throttled" in refused.json()["detail"]


def test_the_previous_period_weighs_as_much_of_it_as_the_window_still_covers(clock, ten_a_minute, researcher):
    client = api_client(researcher)
    assert statuses(client, 10) == [200] * 10
    clock[0] += MINUTE + 45  # three quarters into the next period: 10 × ¼ = 2.5 still count
    assert statuses(client, 8) == [200] * 7 + [429]  # 2.5 + 7 ≤ 10 < 2.5 + 8
    row = ThrottleCount.objects.get(key=f"throttle_user_{researcher.pk}")
    assert (row.count, row.previous) == (8, 10)


def test_a_caller_back_after_a_silent_period_starts_afresh(clock, ten_a_minute, researcher):
    client = api_client(researcher)
    assert statuses(client, 11)[-1] == 429
    clock[0] += 2 * MINUTE  # a whole period without a request: nothing still counts
    assert statuses(client, 10) == [200] * 10
    row = ThrottleCount.objects.get(key=f"throttle_user_{researcher.pk}")
    assert (row.count, row.previous) == (10, 0)


def test_each_user_has_a_count_of_their_own(clock, ten_a_minute, researcher, reviewer):
    assert statuses(api_client(researcher), 11)[-1] == 429
    assert statuses(api_client(reviewer), 1) == [200]


def test_a_request_is_counted_in_one_statement(clock, researcher):
    client = api_client(researcher)
    client.get("/api/v1/stance-labels/")
    with CaptureQueriesContext(connection) as queries:
        client.get("/api/v1/stance-labels/")
    counting = [query["sql"] for query in queries.captured_queries if "throttle" in query["sql"]]
    assert len(counting) == 1
    assert counting[0].startswith('INSERT INTO "annotations_throttlecount"')
    assert ThrottleCount.objects.get(key=f"throttle_user_{researcher.pk}").count == 2


@pytest.mark.skipif(connection.vendor != "postgresql", reason="UNLOGGED is PostgreSQL's; SQLite has no WAL to skip")
def test_on_postgresql_the_counts_are_written_without_the_write_ahead_log():
    """Each count commits on its own: on a logged table the commit waits for the WAL to
    reach the disk (0.3–0.5 ms a request); counts lost in a crash are harmless."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT relpersistence FROM pg_class WHERE relname = %s", [ThrottleCount._meta.db_table])
        assert cursor.fetchone() == ("u",)


def test_an_anonymous_caller_cant_escape_the_count_by_changing_x_forwarded_for(clock, monkeypatch):
    monkeypatch.setattr(throttling.AnonRateThrottle, "THROTTLE_RATES", {"user": "10/min", "anon": "2/min"})
    client = api_client(None)
    answers = [client.get("/api/schema/", HTTP_X_FORWARDED_FOR=f"198.51.100.{n}").status_code for n in range(3)]
    assert answers == [200, 200, 429]
    assert ThrottleCount.objects.filter(key="throttle_anon_127.0.0.1").exists()


def test_behind_a_proxy_any_forwarded_address_is_a_key(clock, monkeypatch, settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    monkeypatch.setattr(throttling.AnonRateThrottle, "THROTTLE_RATES", {"user": "10/min", "anon": "2/min"})
    client = api_client(None)
    forwarded = "203.0.113.7" * 200 + "é\u2028"  # the proxy passes on what the client sent
    answers = [client.get("/api/schema/", HTTP_X_FORWARDED_FOR=forwarded).status_code for _ in range(3)]
    assert answers == [200, 200, 429]
    # DRF's user throttle counts an anonymous caller by address too: a row each.
    keys = sorted(ThrottleCount.objects.values_list("key", flat=True))
    assert [key[:14] for key in keys] == ["throttle_anon_", "throttle_user_"]
    assert all(len(key) <= 100 and key.isascii() and key.isprintable() for key in keys)


def test_a_request_drawn_for_housekeeping_forgets_its_rates_gone_callers(clock, monkeypatch, researcher):
    period = int(clock[0] // 3600)  # the user rate's periods (10,000 an hour)
    ThrottleCount.objects.hit("throttle_user_gone", period - 2)
    ThrottleCount.objects.hit("throttle_user_recent", period - 1)
    ThrottleCount.objects.hit("throttle_anon_10.0.0.1", 5)  # another rate's scale: left alone
    client = api_client(researcher)
    assert client.get("/api/v1/stance-labels/").status_code == 200  # not drawn (the suite's default)
    assert ThrottleCount.objects.filter(key="throttle_user_gone").exists()
    monkeypatch.setattr(throttling, "PRUNE_ONE_IN", 1)  # every request drawn
    assert client.get("/api/v1/stance-labels/").status_code == 200
    assert sorted(ThrottleCount.objects.values_list("key", flat=True)) == [
        "throttle_anon_10.0.0.1",
        f"throttle_user_{researcher.pk}",
        "throttle_user_recent",
    ]


def test_callers_gone_for_two_periods_are_forgotten_within_their_own_rate(clock):
    ThrottleCount.objects.hit("throttle_user_1", 99)
    ThrottleCount.objects.hit("throttle_user_2", 100)
    ThrottleCount.objects.hit("throttle_user_3", 101)
    ThrottleCount.objects.hit("throttle_anon_10.0.0.1", 5)  # another rate: its periods are another scale
    assert ThrottleCount.objects.forget_before(100, prefix="throttle_user_") == 1
    assert sorted(ThrottleCount.objects.values_list("key", flat=True)) == [
        "throttle_anon_10.0.0.1",
        "throttle_user_2",
        "throttle_user_3",
    ]


def test_hit_moves_a_row_on_to_the_next_period_keeping_the_last_count():
    hit = ThrottleCount.objects.hit
    assert [hit("k", 7), hit("k", 7), hit("k", 7)] == [(1, 0), (2, 0), (3, 0)]
    assert hit("k", 8) == (1, 3)
    assert hit("k", 8) == (2, 3)
    assert hit("k", 10) == (1, 0)
