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

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
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


# --- Every answer under /api/ is JSON ------------------------------------------------------------

API_PREFIX = "/api/"
API_MESSAGES = {
    400: "The request is malformed and was not read.",
    404: "Nothing here: check the path (ids are whole numbers, slugs are letters, digits and hyphens). "
    "The endpoints are listed in /api/schema/.",
    405: "This endpoint does not answer that method.",
    413: "The body is too large.",
}


def body_limit_message() -> str:
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    return (
        f"The body is larger than the limit of {limit:,} bytes. Send fewer or shorter items per request; "
        "span files are uploaded as multipart to /api/v1/quotes/import/."
    )


def _declared_length(request: HttpRequest) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


def _too_big(request: HttpRequest) -> bool:
    # Uploaded files don't count towards DATA_UPLOAD_MAX_MEMORY_SIZE (Django
    # streams them to disk); the import checks its own limit.
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    multipart = request.META.get("CONTENT_TYPE", "").startswith("multipart/")
    return limit is not None and not multipart and _declared_length(request) > limit


class ApiErrorsMiddleware:
    """Under /api/, every error is JSON with a ``detail`` that says what to do.

    DRF answers its own errors in JSON; what it never sees is answered by
    Django in HTML: a path no route matches (an id that isn't a number, a
    misspelt resource), and a body larger than ``DATA_UPLOAD_MAX_MEMORY_SIZE``
    (Django's RequestDataTooBig, a 400 "Bad Request"). The latter is a 413
    here, for HTML pages too, decided from Content-Length before anything reads
    the body. Place it early in ``MIDDLEWARE`` (after SecurityMiddleware), to see every answer.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        api = request.path.startswith(API_PREFIX)
        if _too_big(request):
            return _too_large(request, api=api)
        response = self.get_response(request)
        if api and response.status_code >= 400 and not _is_json(response):
            return _as_json(response)
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        # A body without Content-Length (chunked) is measured only as it is read.
        if isinstance(exception, RequestDataTooBig):
            return _too_large(request, api=request.path.startswith(API_PREFIX))
        return None


def _is_json(response: HttpResponse) -> bool:
    return response.get("Content-Type", "").split(";")[0].strip().endswith("json")


def _as_json(response: HttpResponse) -> HttpResponse:
    status = response.status_code
    message = API_MESSAGES.get(status) or f"{status} {getattr(response, 'reason_phrase', '')}".strip()
    answer = JsonResponse({"detail": message}, status=status)
    # Keep what the rest of the stack set (Allow, WWW-Authenticate, CSP, cookies): only the body changes.
    for name, value in response.items():
        if name.lower() not in {"content-type", "content-length"}:
            answer[name] = value
    answer.cookies = response.cookies
    return answer


def _too_large(request: HttpRequest, *, api: bool) -> HttpResponse:
    message = body_limit_message()
    if api or "application/json" in request.headers.get("Accept", ""):
        return JsonResponse({"detail": message}, status=413)
    title = "The request is too large"
    return HttpResponse(PAGE.format(title=title, message=escape(message)), status=413)
