"""The read-replica router (config/db_router.py): API reads and exports to the replica, all else to the primary."""

from __future__ import annotations

from unittest import mock

from django.db import DEFAULT_DB_ALIAS, connections
from django.http import HttpResponse, StreamingHttpResponse
from django.test import RequestFactory

from annotations.models import Quote
from config import db_router
from config.db_router import REPLICA, ReplicaRouter, reading_from_replica, replica_reads

REPLICA_SETTINGS = {**connections.settings[DEFAULT_DB_ALIAS], "TEST": {"MIRROR": DEFAULT_DB_ALIAS}}


def with_replica():
    return mock.patch.dict(connections.settings, {REPLICA: REPLICA_SETTINGS})


def routed_reads(request) -> list[str | None]:
    """Where the router sends reads while the middleware handles ``request`` (and streams its body)."""
    seen: list[str | None] = []

    def view(request):
        seen.append(ReplicaRouter().db_for_read(Quote))
        if request.path.endswith("/export"):
            return StreamingHttpResponse(seen.append(ReplicaRouter().db_for_read(Quote)) or b"x" for _ in range(1))
        return HttpResponse()

    response = replica_reads(view)(request)
    if response.streaming:
        b"".join(response.streaming_content)
    return seen


def test_without_a_replica_everything_goes_to_the_primary():
    with reading_from_replica():
        assert ReplicaRouter().db_for_read(Quote) is None
    assert routed_reads(RequestFactory().get("/api/v1/quotes/")) == [None]


def test_api_reads_go_to_the_replica():
    with with_replica():
        assert routed_reads(RequestFactory().get("/api/v1/quotes/")) == [REPLICA]


def test_a_streamed_export_reads_from_the_replica_while_it_streams():
    with with_replica():
        assert routed_reads(RequestFactory().get("/api/v1/quotes/export")) == [REPLICA, REPLICA]
    assert db_router._reads_from_replica.get() is False


def test_writes_and_the_annotators_pages_stay_on_the_primary():
    with with_replica():
        assert routed_reads(RequestFactory().post("/api/v1/quotes/")) == [None]
        assert routed_reads(RequestFactory().get("/articles/1/annotate/")) == [None]
        with reading_from_replica():
            assert ReplicaRouter().db_for_write(Quote) == DEFAULT_DB_ALIAS
    assert ReplicaRouter().allow_migrate(REPLICA, "annotations") is False
    assert ReplicaRouter().allow_migrate(DEFAULT_DB_ALIAS, "annotations") is True
