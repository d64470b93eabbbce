"""The API's rate limits, counted in one statement a request.

DRF's throttles keep a list of every request's timestamp per caller in the
cache and rewrite it on each request: at 10,000 an hour the list is up to 90 KB,
pickled, read and written back (five statements with the database cache) on
every API call, and the cost grows with the rate. These count instead: a row per
caller (``ThrottleCount``) with this period's count and the previous period's,
moved on by one atomic UPSERT. The limit is a sliding window, estimated as
Cloudflare's rate limiter does: the previous period's count weighted by how much
of it still lies in the last ``duration`` seconds, plus this period's.

On PostgreSQL the table is UNLOGGED (migration 0021): each count commits on its
own, and on a logged table that commit waited for the write-ahead log to reach
the disk, a sixth of a small API request. A crash empties it; counts starting
again from zero are harmless.

The rates, the scopes and the keys are DRF's (``DEFAULT_THROTTLE_RATES``,
``throttle_user_<id>``, ``throttle_anon_<ip>``), and so is the 429 with its
Retry-After. A refused request counts too: a caller who keeps hammering stays
refused until their rate falls under the limit.
"""

from __future__ import annotations

import hashlib
import random
from typing import Any

from rest_framework import throttling

from .models import ThrottleCount

# One request in this many also drops the rows of callers gone for two periods
# (a caller's row is only ever updated in place, but every new address adds one).
# 0: never (the test suite, whose query counts must not depend on chance).
PRUNE_ONE_IN = 1000


def storable(key: str) -> str:
    """The key as the row's primary key: as it is if short and printable; else its scope and a digest.

    An anonymous caller's key carries X-Forwarded-For as sent, which can be
    long or hold any character."""
    if len(key) <= 100 and key.isascii() and key.isprintable():
        return key
    return f"{key[:35]}~{hashlib.sha256(key.encode('utf-8', 'surrogatepass')).hexdigest()}"


class CountingThrottle(throttling.SimpleRateThrottle):
    # Set by SimpleRateThrottle.__init__ from the rate (the stubs don't declare them).
    num_requests: int
    duration: int
    estimate: float = 0.0
    elapsed: float = 0.0
    previous: int = 0
    count: int = 0

    def allow_request(self, request: Any, view: Any) -> bool:
        if self.rate is None:
            return True
        key = self.get_cache_key(request, view)
        if key is None:
            return True
        self.key = storable(key)
        now = self.timer()
        period = int(now // self.duration)
        self.count, self.previous = ThrottleCount.objects.hit(self.key, period)
        self.elapsed = now - period * self.duration
        self.estimate = self.previous * (1 - self.elapsed / self.duration) + self.count
        if PRUNE_ONE_IN and random.randrange(PRUNE_ONE_IN) == 0:  # noqa: S311  # nosec B311 (housekeeping, not security)
            # This rate's callers only: another rate's periods are numbered on another scale.
            ThrottleCount.objects.forget_before(period - 1, prefix=f"throttle_{self.scope}_")
        return self.estimate <= self.num_requests

    def wait(self) -> float | None:
        """Seconds until the estimate falls back to the limit (no new requests meanwhile)."""
        if self.count > self.num_requests:
            # This period alone is over: the rest of it, then the weight of this
            # period's count (now previous) must fall enough.
            over = self.count - self.num_requests
            return (self.duration - self.elapsed) + self.duration * over / self.count
        # previous × (1 − t / duration) + count ≤ limit, for t the time into this period.
        allowed_at = self.duration * (1 - (self.num_requests - self.count) / self.previous)
        return max(allowed_at - self.elapsed, 1.0)


class UserRateThrottle(CountingThrottle, throttling.UserRateThrottle):
    """A signed-in caller's requests (DRF's ``user`` scope), counted per user."""


class AnonRateThrottle(CountingThrottle, throttling.AnonRateThrottle):
    """An anonymous caller's requests (DRF's ``anon`` scope), counted per address."""
