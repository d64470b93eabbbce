"""Settings for the benchmarks: production settings plus the bench's own URLs.

``config.settings`` is loaded unchanged (DEBUG off, a real SECRET_KEY, the same
middleware, database and gunicorn setup); this module only adds what exists
for the bench and must never exist in production: the floor views under
``/bench/`` and a query counter that answers only when asked.
"""

from config.settings import *  # noqa: F403
from config.settings import MIDDLEWARE, REST_FRAMEWORK

ROOT_URLCONF = "bench.urls"

# Outermost, so that it counts the queries of every middleware too. Inert unless
# a request carries X-Bench-Count-Queries (the runner sends it once per job).
MIDDLEWARE = ["bench.middleware.count_queries", *MIDDLEWARE]

# The API's per-user throttle (2,000 requests an hour) would refuse a throughput
# run after a few seconds. The throttle classes stay in place, so their cost is
# measured; only the rates are raised.
REST_FRAMEWORK = {
    **REST_FRAMEWORK,
    "DEFAULT_THROTTLE_RATES": {"anon": "1000000/hour", "user": "1000000/hour"},
}
