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
max_requests = 2000
max_requests_jitter = 200
accesslog = "-"
errorlog = "-"
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
# gunicorn ≥ 25.1 opens a control socket for gunicornc in $XDG_RUNTIME_DIR or
# ~/.gunicorn/ by default: a file outside the project that outlives a killed
# server and that two servers on one machine would both claim. Nothing uses it.
control_socket_disable = True
