"""A database that is away answers 503 with a clear message, not a bare 500 (config.middleware)."""

from __future__ import annotations

import json
from unittest import mock

import pytest
from django.db import InterfaceError, OperationalError
from django.test import Client, RequestFactory
from psycopg.errors import DeadlockDetected, SerializationFailure

from config.middleware import DatabaseUnavailableMiddleware


def middleware() -> DatabaseUnavailableMiddleware:
    return DatabaseUnavailableMiddleware(lambda request: None)


@pytest.mark.parametrize("error", [OperationalError("server closed the connection"), InterfaceError("gone")])
def test_a_page_gets_503_with_retry_after_and_a_message_that_says_what_to_do(error):
    response = middleware().process_exception(RequestFactory().post("/articles/1/quotes/new/"), error)
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    body = response.content.decode()
    assert "database" in body and "may not have been saved" in body
    assert "server closed the connection" not in body  # no internals for the user


def test_the_api_gets_the_message_as_json():
    response = middleware().process_exception(RequestFactory().get("/api/v1/quotes/"), OperationalError("x"))
    assert response.status_code == 503
    assert "reach its database" in json.loads(response.content)["detail"]


@pytest.mark.parametrize("cause", [DeadlockDetected("deadlock detected"), SerializationFailure("could not serialize")])
@pytest.mark.parametrize("path", ["/review/articles/1/accept/", "/api/v1/quotes/1/"])
def test_two_writes_that_collide_get_409_try_again_not_database_unavailable(cause, path):
    error = OperationalError("collided")
    error.__cause__ = cause
    response = middleware().process_exception(RequestFactory().post(path), error)
    assert response.status_code == 409
    body = response.content.decode()
    assert "collided" in body and "try again" in body
    assert "reach its database" not in body


def test_other_errors_are_left_to_django():
    assert middleware().process_exception(RequestFactory().get("/"), ValueError("a bug")) is None


def test_a_view_that_loses_the_database_answers_503_through_the_whole_stack():
    broken = mock.MagicMock()
    broken.cursor.side_effect = OperationalError("connection refused")
    with mock.patch("annotations.views.workspace.connection", broken):
        response = Client(raise_request_exception=False).get("/health/")
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
