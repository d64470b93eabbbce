"""Start gunicorn on loopback with the production configuration, and the tasks worker, for benchmarks and
resilience tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Server:
    host: str
    port: int
    process: subprocess.Popen
    log: Path

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def collectstatic(env: dict[str, str]) -> None:
    """DEBUG off serves hashed static files from the manifest, which collectstatic writes."""
    subprocess.run([sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)


@contextmanager
def gunicorn(env: dict[str, str], *, workers: int | None = None, startup: float = 60) -> Iterator[Server]:
    """gunicorn with ``config/gunicorn.conf.py`` on 127.0.0.1, stopped (its whole process group) on exit.

    Its log (a temporary file) is deleted then, unless the body raised.
    """
    port = free_port()
    server_env = {**env, "GUNICORN_BIND": f"127.0.0.1:{port}"}
    if workers is not None:
        server_env["WEB_CONCURRENCY"] = str(workers)
    handle, name = tempfile.mkstemp(prefix="demarche-gunicorn-", suffix=".log")
    os.close(handle)
    log = Path(name)
    with log.open("wb") as output:
        process = subprocess.Popen(  # noqa: S603 (our own venv's gunicorn, fixed arguments)
            [str(VENV_BIN / "gunicorn"), "--config", "config/gunicorn.conf.py", "config.wsgi:application"],
            cwd=ROOT,
            env=server_env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = Server("127.0.0.1", port, process, log)
    failed = True
    try:
        deadline = time.monotonic() + startup
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"gunicorn exited early:\n{server.log_tail()}")
            try:
                with urllib.request.urlopen(f"{server.url}/health/", timeout=2) as response:  # noqa: S310
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"gunicorn did not answer /health/ within {startup:.0f} s:\n{server.log_tail()}")
            time.sleep(0.2)
        yield server
        failed = False
    finally:
        stop(process)
        # Kept to read when something went wrong; otherwise nothing is left in the temporary folder.
        if not failed:
            log.unlink(missing_ok=True)


def stop(process: subprocess.Popen, grace: float = 30) -> None:
    """End a process started with ``start_new_session`` and its children: SIGTERM to its
    process group, SIGKILL after ``grace`` seconds."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


@dataclass
class Worker:
    process: subprocess.Popen
    log: Path

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


@contextmanager
def db_worker(env: dict[str, str], *, startup: float = 60) -> Iterator[Worker]:
    """One ``manage.py db_worker`` (the tasks worker, as compose's ``worker`` service runs it),
    yielded once it says it has started, and stopped (its whole process group) on exit. Its
    log is deleted then, unless the body raised."""
    handle, name = tempfile.mkstemp(prefix="demarche-worker-", suffix=".log")
    os.close(handle)
    log = Path(name)
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "manage.py", "db_worker"],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    worker = Worker(process, log)
    failed = True
    try:
        deadline = time.monotonic() + startup
        # django_tasks_db logs this at INFO (the worker's verbosity 1) before it first looks for a task.
        while "Starting worker" not in worker.log_tail():
            if process.poll() is not None:
                raise RuntimeError(f"db_worker exited early:\n{worker.log_tail()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"db_worker did not start within {startup:.0f} s:\n{worker.log_tail()}")
            time.sleep(0.2)
        yield worker
        failed = False
    finally:
        stop(process)
        if not failed:
            log.unlink(missing_ok=True)
