"""gunicorn settings shared by the container and CI (`.ci/run` runs the same command).

Sized for one small machine: workers = 2 × cores + 1 unless WEB_CONCURRENCY says
otherwise. Each worker holds one persistent database connection (CONN_MAX_AGE).
"""

import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2 + 1))
worker_class = "sync"
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = 20
# No worker recycling by default. Measured (issue 13, DEBUG off, two workers,
# recycling off, PostgreSQL): 20,000 requests of the API's quote lists and
# article, the annotate page and the queue; then 6,000 with half of them a
# quote written and deleted over the API. Each worker's RSS settles at ~100 MB
# within its first thousand requests and stays flat: 102 → 103 MB from request
# 4,000 to 20,000, 100 → 101 MB over the writes. With nothing to reclaim,
# recycling only cost a cold worker (imports, connection, template cache)
# every 2,000 requests, and a jitter of 200 restarted every worker within a few
# seconds of the others under even load.
# GUNICORN_MAX_REQUESTS turns it back on should a leak appear, with jitter as
# large as the limit so that restarts spread over a whole cycle.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "0"))
max_requests_jitter = max_requests
accesslog = "-"
errorlog = "-"
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
# gunicorn ≥ 25.1 opens a control socket for gunicornc in $XDG_RUNTIME_DIR or
# ~/.gunicorn/ by default: a file outside the project that outlives a killed
# server and that two servers on one machine would both claim. Nothing uses it.
control_socket_disable = True
