"""A database that is away answers 503 with a clear message, not a bare 500 (config.middleware)."""

from __future__ import annotations

import json
from unittest import mock

import pytest
from django.db import InterfaceError, OperationalError
from django.test import Client, RequestFactory

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


def test_other_errors_are_left_to_django():
    assert middleware().process_exception(RequestFactory().get("/"), ValueError("a bug")) is None


def test_a_view_that_loses_the_database_answers_503_through_the_whole_stack():
    broken = mock.MagicMock()
    broken.cursor.side_effect = OperationalError("connection refused")
    with mock.patch("annotations.views.workspace.connection", broken):
        response = Client(raise_request_exception=False).get("/health/")
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
