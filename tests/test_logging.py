"""Each log line once; a refused request one line, a server error its traceback.

Logging is configured the way Django configures it at start-up (its defaults,
then settings.LOGGING) while stderr is captured, so every handler either of them
creates writes where the test reads — a line printed by two handlers shows twice.
"""

from __future__ import annotations

import contextlib
import io
import logging
from collections.abc import Iterator

import pytest
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.test import Client
from django.urls import path
from django.utils.log import configure_logging

from config.urls import urlpatterns as site_urlpatterns


def forbidden(request: HttpRequest) -> HttpResponse:
    raise PermissionDenied("not yours")


def missing(request: HttpRequest) -> HttpResponse:
    raise Http404("no such quote")


def broken(request: HttpRequest) -> HttpResponse:
    raise ZeroDivisionError("a bug")


# The site's own URLs too: the error pages link to them.
urlpatterns = [
    path("forbidden/", forbidden),
    path("missing/", missing),
    path("broken/", broken),
    *site_urlpatterns,
]


@pytest.fixture
def log(settings) -> Iterator[io.StringIO]:
    """What the configured handlers print, with DEBUG on as under `make run`."""
    settings.DEBUG = True  # Django's own console handler only prints with DEBUG on
    settings.ROOT_URLCONF = __name__
    output = io.StringIO()
    with contextlib.redirect_stderr(output):
        configure_logging(settings.LOGGING_CONFIG, settings.LOGGING)
    try:
        yield output
    finally:
        configure_logging(settings.LOGGING_CONFIG, settings.LOGGING)


def get(url: str) -> int:
    return Client(raise_request_exception=False).get(url).status_code


def test_a_log_line_is_printed_once(log):
    logging.getLogger("django.request").warning("one line")
    logging.getLogger("demarche.database").warning("another")
    assert log.getvalue() == "WARNING django.request: one line\nWARNING demarche.database: another\n"


def test_a_403_logs_one_line_without_a_traceback(log):
    assert get("/forbidden/") == 403
    assert log.getvalue() == "WARNING django.request: Forbidden (Permission denied): /forbidden/\n"


def test_a_404_logs_one_line_without_a_traceback(log):
    assert get("/missing/") == 404
    assert log.getvalue() == "WARNING django.request: Not Found: /missing/\n"


def test_a_500_logs_its_traceback_once(log):
    assert get("/broken/") == 500
    output = log.getvalue()
    first, second = output.splitlines()[:2]
    assert (first, second) == (
        "ERROR django.request: Internal Server Error: /broken/",
        "Traceback (most recent call last):",
    )
    assert output.count("Traceback") == 1
    assert output.rstrip().endswith("ZeroDivisionError: a bug")


def test_other_handlers_still_get_a_4xx_exception(log):
    seen: list[logging.LogRecord] = []
    tracker = logging.Handler()
    tracker.emit = seen.append  # type: ignore[method-assign]
    logging.getLogger().addHandler(tracker)
    try:
        get("/forbidden/")
    finally:
        logging.getLogger().removeHandler(tracker)
    assert [type(record.exc_info[1]) for record in seen if record.exc_info] == [PermissionDenied]


def test_the_dev_server_settings_print_each_line_once_too():
    assert settings.LOGGING["loggers"]["django"]["handlers"] == []
