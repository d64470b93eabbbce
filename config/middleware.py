"""Answer clearly, and fast, when the database is away.

While PostgreSQL restarts or fails over, a request that reaches it raises
``OperationalError`` (or ``InterfaceError`` on a connection that just died).
Unhandled, that is a bare "Server Error (500)" that says nothing to the analyst
and looks like a bug to the operator. This middleware turns it into a 503
with ``Retry-After`` and a message that says what happened and what to do:
JSON for the API, a small page otherwise (rendered without templates, which
may themselves need the database). The worker stays up; Django drops the
broken connection before the next request (``CONN_HEALTH_CHECKS``), so the
app answers again as soon as the database does.

Place it last in ``MIDDLEWARE``: ``process_exception`` sees what views (and
the rendering of their template responses) raise.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.html import escape

logger = logging.getLogger("demarche.database")

RETRY_AFTER_SECONDS = 5
MESSAGE = (
    "Demarche can't reach its database just now. What you just did may not have been saved: "
    "wait a few seconds, reload, and check before doing it again."
)
PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Database unavailable — Demarche</title></head>
<body><h1>The database is unavailable</h1><p>{message}</p></body></html>
"""


class DatabaseUnavailableMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, OperationalError | InterfaceError):
            return None
        logger.warning("Database unavailable during %s %s: %s", request.method, request.path, exception)
        if request.path.startswith("/api/") or "application/json" in request.headers.get("Accept", ""):
            response: HttpResponse = JsonResponse({"detail": MESSAGE}, status=503)
        else:
            response = HttpResponse(PAGE.format(message=escape(MESSAGE)), status=503)
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        response["Cache-Control"] = "no-store"
        return response
