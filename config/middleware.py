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

A deadlock or serialization failure is an ``OperationalError`` too, but the
database is fine: two writes collided and PostgreSQL undid one. That one gets
409 and "try again", not a message about an unavailable database.

Place it last in ``MIDDLEWARE``: ``process_exception`` sees what views (and
the rendering of their template responses) raise.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.html import escape
from psycopg.errors import DeadlockDetected, SerializationFailure

logger = logging.getLogger("demarche.database")

RETRY_AFTER_SECONDS = 5
MESSAGE = (
    "Demarche can't reach its database just now. What you just did may not have been saved: "
    "wait a few seconds, reload, and check before doing it again."
)
COLLIDED = "Your change collided with someone else's at the same moment and was not saved: reload and try again."
PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title} — Demarche</title></head>
<body><h1>{title}</h1><p>{message}</p></body></html>
"""


class DatabaseUnavailableMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, OperationalError | InterfaceError):
            return None
        if isinstance(exception.__cause__, DeadlockDetected | SerializationFailure):
            # The database is fine: two writes collided and it undid this one.
            return _answer(request, COLLIDED, status=409)
        logger.warning("Database unavailable during %s %s: %s", request.method, request.path, exception)
        return _answer(request, MESSAGE, status=503)


def _answer(request: HttpRequest, message: str, *, status: int) -> HttpResponse:
    if request.path.startswith("/api/") or "application/json" in request.headers.get("Accept", ""):
        response: HttpResponse = JsonResponse({"detail": message}, status=status)
    else:
        title = "Try again" if status == 409 else "The database is unavailable"
        response = HttpResponse(PAGE.format(title=title, message=escape(message)), status=status)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS if status == 503 else 1)
    response["Cache-Control"] = "no-store"
    return response
