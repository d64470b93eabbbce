"""Bench-only middleware (see ``bench.settings``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import connection
from django.http import HttpRequest, HttpResponse


def count_queries(get_response: Callable[[HttpRequest], HttpResponse]) -> Callable[[HttpRequest], HttpResponse]:
    """Report the number of SQL queries a request ran, in X-Bench-Queries, when asked.

    Only a request with an ``X-Bench-Count-Queries`` header is counted, so the
    timed requests run exactly the production code path.
    """

    def middleware(request: HttpRequest) -> HttpResponse:
        if "HTTP_X_BENCH_COUNT_QUERIES" not in request.META:
            return get_response(request)
        statements: list[str] = []

        def record(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: dict[str, Any]) -> Any:
            statements.append(sql)
            return execute(sql, params, many, context)

        # Template responses are rendered inside get_response, so their queries count too.
        with connection.execute_wrapper(record):
            response = get_response(request)
        response["X-Bench-Queries"] = str(len(statements))
        return response

    return middleware
