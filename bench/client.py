"""A small HTTP client for loopback load: sessions, CSRF, timing, percentiles.

Standard library only (``http.client`` and threads). gunicorn's sync workers
close the connection after each response, so every request opens its own
connection, as a browser's would against this server.
"""

from __future__ import annotations

import http.client
import importlib
import math
import statistics
import string
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from django.utils.crypto import get_random_string


@dataclass
class Reply:
    status: int
    seconds: float
    body: bytes
    headers: dict[str, str]
    error: str = ""

    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")


@dataclass
class Session:
    """Credentials for one user: a database session and a CSRF secret, or an API token."""

    session_key: str = ""
    csrf: str = ""
    token: str = ""

    def headers(self, origin: str) -> dict[str, str]:
        headers = {}
        if self.session_key:
            headers["Cookie"] = f"sessionid={self.session_key}; csrftoken={self.csrf}"
            headers["X-CSRFToken"] = self.csrf
            headers["Origin"] = origin
        if self.token:
            headers["Authorization"] = f"Token {self.token}"
        return headers


def login_session(user: Any) -> Session:
    """A logged-in session for ``user``, created directly in the session store (no password)."""
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY

    store = importlib.import_module(settings.SESSION_ENGINE).SessionStore()
    store[SESSION_KEY] = user._meta.pk.value_to_string(user)
    store[BACKEND_SESSION_KEY] = "annotations.auth.ModelBackend"  # what a login records
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.create()
    # A bare 32-character secret is a valid token as well as a cookie value.
    return Session(session_key=store.session_key, csrf=get_random_string(32, string.ascii_letters + string.digits))


def api_token(user: Any) -> Session:
    from knox.models import AuthToken

    _instance, token = AuthToken.objects.create(user=user)
    return Session(token=token)


@dataclass
class Client:
    host: str
    port: int
    session: Session = field(default_factory=Session)
    timeout: float = 30.0

    @property
    def origin(self) -> str:
        return f"http://{self.host}:{self.port}"

    def request(
        self,
        method: str,
        path: str,
        *,
        form: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        body: bytes | None = None,
    ) -> Reply:
        all_headers = {"Host": f"{self.host}:{self.port}", **self.session.headers(self.origin), **(headers or {})}
        if form is not None:
            body = urlencode(form).encode()
            all_headers["Content-Type"] = "application/x-www-form-urlencoded"
        started = time.perf_counter()
        connection = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        try:
            connection.request(method, path, body=body, headers=all_headers)
            response = connection.getresponse()
            data = response.read()
            return Reply(response.status, time.perf_counter() - started, data, dict(response.getheaders()))
        except (OSError, http.client.HTTPException) as error:
            return Reply(0, time.perf_counter() - started, b"", {}, error=f"{type(error).__name__}: {error}")
        finally:
            connection.close()

    def get(self, path: str, **kwargs: Any) -> Reply:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, form: dict[str, Any], **kwargs: Any) -> Reply:
        return self.request("POST", path, form=form, **kwargs)


# --- Statistics --------------------------------------------------------------------


def percentile(values: Iterable[float], fraction: float) -> float:
    """Nearest-rank percentile: the smallest value with ``fraction`` of the values at or below it."""
    ordered = sorted(values)
    if not ordered:
        return math.nan
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


def summary(values: list[float]) -> dict[str, float]:
    return {
        "n": len(values),
        "median": statistics.median(values) if values else math.nan,
        "min": min(values, default=math.nan),
        "max": max(values, default=math.nan),
        "p50": percentile(values, 0.50),
        "p95": percentile(values, 0.95),
        "p99": percentile(values, 0.99),
    }


# --- Load ------------------------------------------------------------------------


@dataclass
class Outcome:
    """One request of a load run."""

    kind: str
    status: int
    seconds: float
    started: float
    error: str = ""
    detail: Any = None


def run_load(
    workers: list[Callable[[], Outcome | None]],
    *,
    seconds: float,
    max_requests: int = 1_000_000,
) -> list[Outcome]:
    """Call each worker function in its own thread until ``seconds`` pass or ``max_requests`` are made.

    Bounded in time and count; stops by itself. A worker returning None is done early.
    """
    outcomes: list[Outcome] = []
    lock = threading.Lock()
    deadline = time.monotonic() + seconds
    made = [0]

    def loop(worker: Callable[[], Outcome | None]) -> None:
        while time.monotonic() < deadline:
            with lock:
                if made[0] >= max_requests:
                    return
                made[0] += 1
            outcome = worker()
            if outcome is None:
                return
            with lock:
                outcomes.append(outcome)

    threads = [threading.Thread(target=loop, args=(worker,), daemon=True) for worker in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(seconds + 120)
    return outcomes
