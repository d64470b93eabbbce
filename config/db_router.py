"""Read replicas: the API's reads and the exports go to ``DATABASE_REPLICA_URL`` when it is set.

Off by default: without a ``replica`` database in settings every query goes to
the primary, as before. With one (``DATABASE_REPLICA_URL``, see the end of
``config/settings.py`` and ``docs/deployment.md``):

- ``replica_reads`` (middleware) sends the reads of safe API requests (GET and
  HEAD under ``/api/``) to the replica, including a streamed export, whose
  queries run while the response is sent;
- ``reading_from_replica()`` does the same for any block of code: an export
  command or a worker's job;
- everything else, and every write, stays on the primary. The annotators'
  pages must see what an analyst saved a moment ago; a replica lags by its
  replication delay (usually well under a second, more under heavy writes).

Django's routers see a model and never the request, so the choice is carried
by a context variable, set per request or per block.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, cast

from django.db import DEFAULT_DB_ALIAS, connections
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse

REPLICA = "replica"
SAFE_METHODS = frozenset({"GET", "HEAD"})

_reads_from_replica: contextvars.ContextVar[bool] = contextvars.ContextVar("demarche_reads_from_replica", default=False)


def has_replica() -> bool:
    return REPLICA in connections.settings


@contextmanager
def reading_from_replica() -> Iterator[None]:
    """Within the block, reads go to the replica (when there is one); writes stay on the primary."""
    token = _reads_from_replica.set(True)
    try:
        yield
    finally:
        _reads_from_replica.reset(token)


class ReplicaRouter:
    def db_for_read(self, model: type, **hints: Any) -> str | None:
        # The database cache holds throttle counts: read them where they are
        # written, or a lagging replica would undercount.
        if cast(Any, model)._meta.app_label == "django_cache":  # not a Model: DatabaseCache's CacheEntry
            return DEFAULT_DB_ALIAS
        if _reads_from_replica.get() and has_replica():
            return REPLICA
        return None

    def db_for_write(self, model: type, **hints: Any) -> str:
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool:
        return True  # the replica holds the same rows as the primary

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool:
        return db == DEFAULT_DB_ALIAS  # a replica follows the primary's schema by replication


def _streamed_from_replica(chunks: Iterator[bytes]) -> Iterator[bytes]:
    with reading_from_replica():
        yield from chunks


def replica_reads(get_response: Callable[[HttpRequest], HttpResponse]) -> Callable[[HttpRequest], HttpResponse]:
    """Middleware: safe API requests read from the replica, their streamed bodies too."""

    def middleware(request: HttpRequest) -> HttpResponse:
        if request.method not in SAFE_METHODS or not request.path.startswith("/api/") or not has_replica():
            return get_response(request)
        with reading_from_replica():
            response = get_response(request)
        if isinstance(response, StreamingHttpResponse):
            response.streaming_content = _streamed_from_replica(iter(response.streaming_content))
        return response

    return middleware
