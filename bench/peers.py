"""Demarche side by side with doccano 1.8.4: ``python -m bench.peers [--quick]`` (``make bench-peers``).

The same machine, the same PostgreSQL server, the same workload, the same load
tool and the same requests for both:

1. Installs doccano 1.8.4 in a virtualenv of its own (``bench/.peers/doccano-venv``,
   git-ignored, kept between runs). doccano 1.8.4 pins ``pandas<2``, which has
   no wheels and does not build on Python 3.12, so the virtualenv uses a
   Python 3.11 (``DOCCANO_PYTHON``, ``python3.11`` or pyenv's 3.11).
2. Gives each app a database of its own on the one server, named for the run
   and dropped at the end; migrates both; creates doccano's admin and a
   sequence-labelling project with the span labels DIRECT, INDIRECT and MIXED
   (Demarche's quote kinds), and a Demarche analyst. Both are served by gunicorn
   with 5 sync workers, DEBUG off, on 127.0.0.1; doccano's import and export
   run in its Celery worker (``doccano task``), as they do for its users.
3. Generates the workload with a fixed seed (``bench.corpus``: news-like
   English, about 3,000 characters and 10 spans a document) as one doccano
   JSONL file, and loads it into both the way a user would: doccano's upload
   (the file through ``/v1/fp/process/``, then ``/v1/projects/ID/upload`` and
   its Celery task), Demarche's ``manage.py import_spans`` (which creates the
   articles it does not find and the quotes). Then each database is vacuumed and
   analysed and the server checkpoints (``settle``), so that no job runs in the
   wake of the other app's bulk write.
4. Runs each request job against both, interleaved (doccano c=1, Demarche c=1,
   doccano c=8, Demarche c=8; three rounds), with one load generator: Python
   threads, one keep-alive ``http.client`` connection each (gunicorn's sync
   workers close it after every response, so each request reconnects on both).
5. Prints one Markdown table and writes everything as JSON to ``bench/results/``.
6. Stops both servers and the worker, drops both databases, removes the run's
   own directory; nothing else.

Reporting, never gating: the exit status is non-zero only when something fails
to run. The figures are as noisy as the machine is busy: the load average is
recorded before and after every step.
"""

# ruff: noqa: S311, S603  (seeded workload choices; our own venvs' programs, fixed arguments)
from __future__ import annotations

import argparse
import dataclasses
import datetime
import glob
import hashlib
import http.client
import io
import json
import os
import random
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.parse
import zipfile
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import corpus
from .client import percentile
from .server import ROOT, collectstatic, free_port, gunicorn

HERE = Path(__file__).resolve().parent
PEERS = HERE / ".peers"
DOCCANO_VENV = PEERS / "doccano-venv"
DOCCANO_REQUIREMENTS = ["doccano==1.8.4", "marshmallow<4", "numpy<2", "psycopg2-binary"]
RESULTS = HERE / "results"
DEFAULT_SERVER = "postgres://postgres@127.0.0.1:5432"
WORKERS = 5
LABELS = {"DIRECT": "#209cee", "INDIRECT": "#ff9f43", "MIXED": "#8e44ad"}
ANALYST = "peer-analyst"


def log(message: str) -> None:
    print(message, flush=True)


def load_average() -> float:
    return round(os.getloadavg()[0], 2)


@dataclass
class Sizes:
    documents: int
    spans_per_document: int
    seconds: float
    rounds: int
    export_runs: int
    concurrencies: tuple[int, ...] = (1, 8)


QUICK = Sizes(documents=300, spans_per_document=10, seconds=3, rounds=3, export_runs=1)
FULL = Sizes(documents=10_000, spans_per_document=10, seconds=10, rounds=3, export_runs=2)


# --- The workload --------------------------------------------------------------------


@dataclass
class Document:
    text: str
    spans: list[tuple[int, int, str]]

    def gaps(self, minimum: int = 24) -> list[tuple[int, int]]:
        """Stretches between spans where a new span overlaps none, in text order."""
        found, position = [], 0
        for start, end, _label in [*self.spans, (len(self.text), len(self.text), "")]:
            if start - position >= minimum:
                found.append((position, start))
            position = max(position, end)
        return found


def make_documents(count: int, spans: int, seed: int) -> list[Document]:
    """``count`` news-like documents of about 3,000 characters with ``spans`` quotes each, by ``seed``."""
    rng = random.Random(f"{seed}-peers")
    speakers = corpus.make_speakers(random.Random(seed), 200)
    slugs = [slug for _topic, children in corpus.TOPICS for slug, _name, _phrases in children]
    maker = corpus.ArticleMaker(rng, speakers, {slug: number for number, slug in enumerate(slugs, start=1)})
    documents, seen = [], set()
    while len(documents) < count:
        try:
            article = maker.article(spans, corpus.random_day(rng), filler=0.4, exact_chars=rng.randint(2800, 3200))
        except ValueError:  # ten quotes did not fit: draw again
            continue
        if article.text in seen:  # one text, one document: Demarche would match the two
            continue
        seen.add(article.text)
        labelled = [(quote.start, quote.end, quote.kind.upper()) for quote in article.quotes]
        documents.append(Document(article.text, labelled))
    return documents


def write_jsonl(documents: list[Document], path: Path) -> None:
    with path.open("w", encoding="utf-8") as output:
        for document in documents:
            record = {"text": document.text, "label": [list(span) for span in document.spans]}
            output.write(json.dumps(record, ensure_ascii=False) + "\n")


def new_spans(documents: list[Document], seed: int) -> Iterator[tuple[int, int, int, str]]:
    """The spans the "save one span" job posts, in order: (document index, start, end, label).

    Every gap between a document's spans is cut into pieces of up to 40
    characters, 4 apart; the job takes one piece per document in a seeded
    order, then a second round, and so on: no span overlaps an existing one or
    another new one, so that doccano (overlapping spans off) and Demarche
    accept every one. Three hundred documents give several thousand.
    """
    rng = random.Random(f"{seed}-new-spans")
    order = list(range(len(documents)))
    rng.shuffle(order)
    pieces = {index: list(_pieces(documents[index])) for index in order}
    labels = list(LABELS)
    for round_number in range(max((len(found) for found in pieces.values()), default=0)):
        for index in order:
            if round_number < len(pieces[index]):
                start, end = pieces[index][round_number]
                yield index, start, end, labels[index % len(labels)]


def _pieces(document: Document) -> Iterator[tuple[int, int]]:
    """A document's gaps cut into spans of 5 to 40 characters that neither start nor end in a space."""
    text = document.text
    for gap_start, gap_end in document.gaps():
        position = gap_start + 2
        while position < gap_end - 2:
            start, end = position, min(gap_end - 2, position + 40)
            position = end + 4
            while start < end and text[start].isspace():
                start += 1
            while end > start and text[end - 1].isspace():
                end -= 1
            if end - start >= 5:
                yield start, end


# --- The load generator (the same for both) ----------------------------------------------


@dataclass
class Call:
    method: str
    path: str
    body: bytes | None = None
    expect: int = 200


@dataclass
class KeepAlive:
    """One client's connection, kept open while the server keeps it, reopened when it closes."""

    host: str
    port: int
    headers: dict[str, str]
    connection: http.client.HTTPConnection | None = None

    def send(self, call: Call) -> tuple[int, float, bytes, str]:
        headers = {"Host": f"{self.host}:{self.port}", **self.headers}
        if call.body is not None:
            headers["Content-Type"] = "application/json"
        started = time.perf_counter()
        for attempt in range(2):
            reused = self.connection is not None
            if self.connection is None:
                self.connection = http.client.HTTPConnection(self.host, self.port, timeout=120)
            try:
                self.connection.request(call.method, call.path, body=call.body, headers=headers)
                response = self.connection.getresponse()
                body = response.read()
            except (OSError, http.client.HTTPException) as error:
                self.connection.close()
                self.connection = None
                if reused and attempt == 0:  # the server closed an idle connection: once more on a new one
                    continue
                return 0, time.perf_counter() - started, b"", f"{type(error).__name__}: {error}"
            if response.will_close:
                self.connection.close()
                self.connection = None
            return response.status, time.perf_counter() - started, body, ""
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None


def run_load(
    host: str, port: int, headers: dict[str, str], next_call: Callable[[int], Call], clients: int, seconds: float
) -> dict[str, Any]:
    """``clients`` threads, each sending ``next_call(client)`` back to back for ``seconds``."""
    latencies: list[float] = []
    errors: list[str] = []
    sizes: list[int] = []  # the body of one answer per client, in bytes
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def loop(number: int) -> None:
        connection = KeepAlive(host, port, headers)
        mine, bad, size = [], [], 0
        try:
            while time.monotonic() < deadline:
                try:
                    call = next_call(number)
                except StopIteration:  # the job ran out of requests to send: say so, don't die silently
                    bad.append("the job ran out of requests before its time was up")
                    break
                status, elapsed, body, error = connection.send(call)
                if status != call.expect:
                    bad.append(f"{call.method} {call.path}: {status or error} {body[:300]!r}")
                else:
                    mine.append(elapsed)
                    size = size or len(body)
        finally:
            connection.close()
        with lock:
            latencies.extend(mine)
            errors.extend(bad)
            sizes.append(size)

    started = time.perf_counter()
    threads = [threading.Thread(target=loop, args=(number,), daemon=True) for number in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(seconds + 180)
    elapsed = time.perf_counter() - started
    return {
        "requests": len(latencies),
        "errors": len(errors),
        "error_examples": errors[:3],
        "seconds": round(elapsed, 3),
        "rate": len(latencies) / elapsed,
        "response_bytes": max(sizes, default=0),
        "latencies": latencies,
    }


# --- Processes, databases, memory ----------------------------------------------------------


def admin_connection(server: str) -> Any:
    import psycopg

    return psycopg.connect(f"{server}/postgres", autocommit=True)


def create_database(server: str, name: str) -> None:
    with admin_connection(server) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')


def drop_database(server: str, name: str) -> None:
    with admin_connection(server) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def settle(server: str, names: list[str]) -> dict[str, float]:
    """After the loads, before the jobs: each database vacuumed and analysed, then a
    checkpoint. The same for both apps: what is measured is each app at rest, not the minute
    after it wrote 100,000 rows (autovacuum and the checkpoint of that write otherwise land on
    whichever job runs first, and every commit waits behind them)."""
    import psycopg

    seconds = {}
    for name in names:
        began = time.monotonic()
        with psycopg.connect(f"{server}/{name}", autocommit=True) as connection:
            connection.execute("VACUUM (ANALYZE)")
        seconds[name] = round(time.monotonic() - began, 1)
    began = time.monotonic()
    with admin_connection(server) as admin:
        admin.execute("CHECKPOINT")
    seconds["checkpoint"] = round(time.monotonic() - began, 1)
    return seconds


def worker_memory(master_pid: int) -> dict[str, float]:
    """Resident memory (MiB) of a gunicorn master's worker processes, read from /proc."""
    sizes = []
    for status in glob.glob("/proc/[0-9]*/status"):
        try:
            fields = dict(line.split(":", 1) for line in Path(status).read_text().splitlines() if ":" in line)
        except OSError:
            continue
        if int(fields.get("PPid", "0").strip()) == master_pid and "VmRSS" in fields:
            sizes.append(int(fields["VmRSS"].split()[0]) / 1024)
    return {
        "workers": len(sizes),
        "total_mib": round(sum(sizes), 1),
        "max_mib": round(max(sizes, default=0), 1),
    }


def stop(process: subprocess.Popen) -> None:
    """Stop a process we started, with its whole process group (its own session)."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


def wait_for_http(url: str, process: subprocess.Popen, log_path: Path, seconds: float = 90) -> None:
    """Until ``url`` answers at all (any status below 500)."""
    deadline = time.monotonic() + seconds
    parsed = urllib.parse.urlsplit(url)
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"{url}: the server exited early:\n{tail(log_path)}")
        try:
            connection = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=5)
            connection.request("GET", parsed.path)
            if connection.getresponse().status < 500:
                connection.close()
                return
            connection.close()
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{url} did not answer within {seconds:.0f} s:\n{tail(log_path)}")
        time.sleep(0.3)


def tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def http_json(
    host: str, port: int, method: str, path: str, headers: dict[str, str], payload: Any = None, expect: int = 200
) -> Any:
    connection = KeepAlive(host, port, headers)
    body = json.dumps(payload).encode() if payload is not None else None
    status, _seconds, data, error = connection.send(Call(method, path, body, expect))
    connection.close()
    if status != expect:
        raise RuntimeError(f"{method} {path}: expected {expect}, got {status or error}: {data[:1000]!r}")
    return json.loads(data) if data else None


# --- doccano -------------------------------------------------------------------------------


def find_python311() -> str:
    candidates = [os.environ.get("DOCCANO_PYTHON", ""), shutil.which("python3.11") or ""]
    candidates += sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.11*/bin/python3.11")), reverse=True)
    candidates += ["/usr/bin/python3.11"]
    for candidate in candidates:
        if not candidate:
            continue
        try:
            version = subprocess.run(
                [candidate, "-c", "import sys; print(sys.version_info[:2] == (3, 11))"],
                capture_output=True,
                text=True,
                check=False,
                timeout=30,
            ).stdout.strip()
        except OSError:
            continue
        if version == "True":
            return candidate
    raise SystemExit(
        "doccano 1.8.4 needs Python 3.11 (its pandas<2 pin has no wheels for 3.12): "
        "set DOCCANO_PYTHON to a python3.11, or install one (pyenv install 3.11)."
    )


def install_doccano() -> Path:
    """doccano 1.8.4 in its own virtualenv, created once and kept (git-ignored)."""
    digest = hashlib.sha256(" ".join(DOCCANO_REQUIREMENTS).encode()).hexdigest()[:12]
    marker = DOCCANO_VENV / f".installed-{digest}"
    if marker.exists():
        return DOCCANO_VENV
    python = find_python311()
    log(f"Installing doccano 1.8.4 with {python} into {DOCCANO_VENV.relative_to(ROOT)} (once) …")
    if DOCCANO_VENV.exists():
        shutil.rmtree(DOCCANO_VENV)
    subprocess.run([python, "-m", "venv", str(DOCCANO_VENV)], check=True)
    pip = [str(DOCCANO_VENV / "bin" / "python"), "-m", "pip", "install", "--quiet"]
    subprocess.run([*pip, "--upgrade", "pip"], check=True)
    subprocess.run([*pip, *DOCCANO_REQUIREMENTS], check=True)
    marker.touch()
    return DOCCANO_VENV


def multipart(field_name: str, filename: str, content: bytes, fields: dict[str, str]) -> tuple[bytes, str]:
    boundary = secrets.token_hex(16)
    parts = []
    for name, value in fields.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{field_name}"; filename="{filename}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n".encode()
        + content
        + b"\r\n"
    )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


@dataclass
class Doccano:
    name = "doccano"
    server: str
    database: str
    home: Path
    host: str = "127.0.0.1"
    port: int = 0
    token: str = ""
    migrate_seconds: float = 0.0
    project: int = 0
    labels: dict[str, int] = field(default_factory=dict)
    ids: list[int] = field(default_factory=list)
    processes: list[subprocess.Popen] = field(default_factory=list)
    web: subprocess.Popen | None = None
    password: str = field(default_factory=lambda: secrets.token_urlsafe(16))

    @property
    def bin(self) -> Path:
        return DOCCANO_VENV / "bin"

    @property
    def backend(self) -> Path:
        found = glob.glob(str(DOCCANO_VENV / "lib" / "python3.*" / "site-packages" / "backend"))
        return Path(found[0])

    def env(self) -> dict[str, str]:
        # doccano asks for SSL unless the URL says otherwise; loopback has none.
        return {
            **{key: value for key, value in os.environ.items() if not key.startswith(("DJANGO_", "DATABASE_"))},
            "DATABASE_URL": f"{self.server}/{self.database}?sslmode=disable",
            "DJANGO_SETTINGS_MODULE": "config.settings.production",
            "DEBUG": "False",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "DOCCANO_HOME": str(self.home),
            "MEDIA_ROOT": str(self.home / "media"),
            "STANDALONE": "True",
        }

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Token {self.token}", "Accept": "application/json"}

    def start(self, stack: ExitStack) -> None:
        env = self.env()
        create_database(self.server, self.database)
        stack.callback(drop_database, self.server, self.database)
        started = time.monotonic()
        # From the run's directory: in the checkout, Demarche's own `config` package would shadow doccano's.
        setup_log = self.home / "doccano-setup.log"
        with setup_log.open("ab") as output:
            quiet = {"cwd": self.home, "env": env, "stdout": output, "stderr": subprocess.STDOUT}
            for command in (["init"], ["createuser", "--username", "admin", "--password", self.password]):
                if subprocess.run([str(self.bin / "doccano"), *command], check=False, **quiet).returncode:
                    raise RuntimeError(f"doccano {command[0]} failed:\n{tail(setup_log)}")
        self.migrate_seconds = time.monotonic() - started
        self.port = free_port()
        web_log, task_log = self.home / "gunicorn.log", self.home / "celery.log"
        with web_log.open("wb") as output:
            # What `doccano webserver` runs, bound to loopback, with Demarche's gunicorn settings.
            self.web = subprocess.Popen(
                [
                    str(self.bin / "gunicorn"),
                    "--chdir", str(self.backend),
                    "--bind", f"127.0.0.1:{self.port}",
                    "--workers", str(WORKERS),
                    "--worker-class", "sync",
                    "--timeout", "60",
                    "--max-requests", "2000",
                    "--max-requests-jitter", "200",
                    "--access-logfile", "-",
                    "config.wsgi",
                ],
                cwd=self.home,
                env=env,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        stack.callback(stop, self.web)
        with task_log.open("wb") as output:
            worker = subprocess.Popen(
                [str(self.bin / "doccano"), "task", "--concurrency", "1"],
                cwd=self.home,
                env=env,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.processes.append(worker)
        stack.callback(stop, worker)
        wait_for_http(f"http://{self.host}:{self.port}/v1/health/", self.web, web_log)
        reply = http_json(
            self.host, self.port, "POST", "/v1/auth/login/", {}, {"username": "admin", "password": self.password}
        )
        self.token = reply["key"]
        project = http_json(
            self.host,
            self.port,
            "POST",
            "/v1/projects",
            self.headers,
            {
                "name": "Demarche peers",
                "description": "Quotes in diplomatic news",
                "guideline": "",
                "project_type": "SequenceLabeling",
                "resourcetype": "SequenceLabelingProject",
                "random_order": False,
                "collaborative_annotation": False,
                "allow_overlapping": False,
                "grapheme_mode": False,
                "use_relation": False,
                "tags": [],
            },
            expect=201,
        )
        self.project = project["id"]
        for text, colour in LABELS.items():
            label = http_json(
                self.host,
                self.port,
                "POST",
                f"/v1/projects/{self.project}/span-types",
                self.headers,
                {"text": text, "background_color": colour, "text_color": "#ffffff"},
                expect=201,
            )
            self.labels[text] = label["id"]

    def load(self, path: Path, documents: list[Document]) -> dict[str, Any]:
        """The upload a user makes in doccano's "Import Dataset" page: filepond, then the import task."""
        started = time.perf_counter()
        body, content_type = multipart("filepond", path.name, path.read_bytes(), {"fp_upload_field": "filepond"})
        # KeepAlive sends JSON; the upload is multipart, so it goes by hand.
        connection = http.client.HTTPConnection(self.host, self.port, timeout=600)
        # No "Accept: application/json": filepond answers the upload id as plain text.
        upload_headers = {"Authorization": f"Token {self.token}", "Content-Type": content_type}
        connection.request("POST", "/v1/fp/process/", body=body, headers=upload_headers)
        response = connection.getresponse()
        upload_id = response.read().decode().strip()
        connection.close()
        if response.status != 200:
            raise RuntimeError(f"doccano upload: HTTP {response.status}: {upload_id[:500]}")
        uploaded = time.perf_counter() - started
        task = http_json(
            self.host,
            self.port,
            "POST",
            f"/v1/projects/{self.project}/upload",
            self.headers,
            {
                "format": "JSONL",
                "task": "SequenceLabeling",
                "uploadIds": [upload_id],
                "column_data": "text",
                "column_label": "label",
                "delimiter": ",",
                "encoding": "utf_8",
            },
        )["task_id"]
        while True:
            state = http_json(self.host, self.port, "GET", f"/v1/tasks/status/{task}", self.headers)
            if state.get("ready"):
                break
            if time.perf_counter() - started > 3600:
                raise RuntimeError("doccano's import did not finish within an hour")
            time.sleep(0.25)
        seconds = time.perf_counter() - started
        if state.get("error") or (state.get("result") or {}).get("error"):
            raise RuntimeError(f"doccano's import failed: {json.dumps(state)[:2000]}")
        self.ids = self.map_ids(documents)
        spans = sum(self.count_spans(self.ids[index]) for index in (0, len(documents) - 1))
        return {
            "seconds": round(seconds, 2),
            "upload_seconds": round(uploaded, 2),
            "path": "upload: POST /v1/fp/process/ then POST /v1/projects/ID/upload (Celery task), "
            "polled at /v1/tasks/status/ID every 0.25 s",
            "spans_in_first_and_last": spans,
        }

    def map_ids(self, documents: list[Document]) -> list[int]:
        by_text: dict[str, int] = {}
        offset = 0
        while True:
            page = http_json(
                self.host,
                self.port,
                "GET",
                f"/v1/projects/{self.project}/examples?limit=1000&offset={offset}",
                self.headers,
            )
            for example in page["results"]:
                by_text[example["text"]] = example["id"]
            if not page.get("next"):
                break
            offset += 1000
        return [by_text[document.text] for document in documents]

    def count_spans(self, example: int) -> int:
        return len(self.spans_of(example))

    def spans_of(self, example: int) -> list[Any]:
        return http_json(
            self.host, self.port, "GET", f"/v1/projects/{self.project}/examples/{example}/spans", self.headers
        )

    # The jobs' requests.
    def one_document(self, index: int) -> Call:
        return Call("GET", f"/v1/projects/{self.project}/examples/{self.ids[index]}/spans")

    def save_span(self, documents: list[Document], index: int, start: int, end: int, label: str) -> Call:
        body = {"start_offset": start, "end_offset": end, "label": self.labels[label]}
        return Call(
            "POST", f"/v1/projects/{self.project}/examples/{self.ids[index]}/spans", json.dumps(body).encode(), 201
        )

    def list_documents(self) -> Call:
        return Call("GET", f"/v1/projects/{self.project}/examples?limit=100&offset=0")

    def export(self) -> dict[str, Any]:
        """doccano's "Export Dataset": a Celery task writes a zip, which the browser then downloads."""
        started = time.perf_counter()
        task = http_json(
            self.host,
            self.port,
            "POST",
            f"/v1/projects/{self.project}/download",
            self.headers,
            {"format": "JSONL", "exportApproved": False},
        )["task_id"]
        while True:
            connection = http.client.HTTPConnection(self.host, self.port, timeout=600)
            connection.request("GET", f"/v1/projects/{self.project}/download?taskId={task}", headers=self.headers)
            response = connection.getresponse()
            data = response.read()
            connection.close()
            if response.status != 200:
                raise RuntimeError(f"doccano export: HTTP {response.status}: {data[:500]!r}")
            if not response.getheader("Content-Type", "").startswith("application/json"):
                break
            if time.perf_counter() - started > 3600:
                raise RuntimeError("doccano's export did not finish within an hour")
            time.sleep(0.25)
        seconds = time.perf_counter() - started
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            lines = [line for name in archive.namelist() for line in archive.read(name).splitlines() if line.strip()]
        spans = sum(len(json.loads(line).get("label", [])) for line in lines)
        return {"seconds": round(seconds, 2), "bytes": len(data), "file": "zip of JSONL", "records": len(lines)} | {
            "spans": spans
        }


# --- Demarche ------------------------------------------------------------------------------


@dataclass
class Demarche:
    name = "Demarche"
    server: str
    database: str
    home: Path
    host: str = "127.0.0.1"
    port: int = 0
    token: str = ""
    migrate_seconds: float = 0.0
    session: Any = None
    ids: list[int] = field(default_factory=list)
    web: subprocess.Popen | None = None

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            # bench.settings: production settings with the API throttle's rates raised (see there).
            "DJANGO_SETTINGS_MODULE": "bench.settings",
            "DATABASE_URL": f"{self.server}/{self.database}",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "DEBUG": "0",
            "ALLOWED_HOSTS": "127.0.0.1",
            "SECURE_SSL_REDIRECT": "0",
            "LOG_LEVEL": "WARNING",
        }

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Token {self.token}", "Accept": "application/json"}

    def start(self, stack: ExitStack) -> None:
        env = self.env()
        create_database(self.server, self.database)
        stack.callback(drop_database, self.server, self.database)
        started = time.monotonic()
        subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)
        self.migrate_seconds = time.monotonic() - started
        # The runner itself talks to this database (users, a session, a token).
        os.environ.update(env)
        import django

        django.setup()
        from django.contrib.auth import get_user_model
        from django.contrib.auth.models import Group

        from .client import api_token, login_session

        analyst = get_user_model().objects.create_user(ANALYST, password=secrets.token_urlsafe(16))
        analyst.groups.add(Group.objects.get(name="analyst"))
        self.token = api_token(analyst).token
        session = login_session(analyst)
        self.session = session
        collectstatic(env)
        server = stack.enter_context(gunicorn(env, workers=WORKERS))
        self.port = server.port
        self.web = server.process

    def load(self, path: Path, documents: list[Document]) -> dict[str, Any]:
        """``manage.py import_spans``: doccano's JSONL as the analyst's quotes, creating the articles."""
        started = time.perf_counter()
        result = subprocess.run(
            [sys.executable, "manage.py", "import_spans", "--user", ANALYST, "--no-progress", str(path)],
            cwd=ROOT,
            env=self.env(),
            capture_output=True,
            text=True,
            check=False,
        )
        seconds = time.perf_counter() - started
        if result.returncode != 0:
            raise RuntimeError(f"import_spans failed:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}")
        # What of that is Django starting: the same command, asked only for its help.
        began = time.perf_counter()
        subprocess.run(
            [sys.executable, "manage.py", "import_spans", "--help"],
            cwd=ROOT,
            env=self.env(),
            capture_output=True,
            check=True,
        )
        startup = time.perf_counter() - began
        from annotations.models import Article, Quote

        by_hash = dict(Article.objects.values_list("text_sha256", "id"))
        self.ids = [by_hash[hashlib.sha256(document.text.encode()).hexdigest()] for document in documents]
        return {
            "seconds": round(seconds, 2),
            "path": "manage.py import_spans --user ANALYST FILE.jsonl (creates the articles and the quotes; "
            "Django's start-up included)",
            "startup_seconds": round(startup, 2),
            "output": result.stdout.strip()[-500:],
            "quotes": Quote.objects.count(),
            "articles": Article.objects.count(),
        }

    # The jobs' requests.
    def one_document(self, index: int) -> Call:
        # layer=raw: the imported spans are the analyst's own quotes, not yet curated.
        return Call("GET", f"/api/v1/quotes/?article={self.ids[index]}&layer=raw")

    def annotate_page(self, index: int) -> Call:
        return Call("GET", f"/articles/{self.ids[index]}/annotate/")

    def save_span(self, documents: list[Document], index: int, start: int, end: int, label: str) -> Call:
        text = documents[index].text
        body = {"article": self.ids[index], "start": start, "end": end, "text": text[start:end], "kind": label.lower()}
        return Call("POST", "/api/v1/quotes/", json.dumps(body).encode(), 201)

    def list_documents(self) -> Call:
        return Call("GET", "/api/v1/articles/?page_size=100")

    def export(self) -> dict[str, Any]:
        started = time.perf_counter()
        connection = http.client.HTTPConnection(self.host, self.port, timeout=3600)
        connection.request("GET", "/api/v1/quotes/export/?format=jsonl&layer=raw", headers=self.headers)
        response = connection.getresponse()
        data = response.read()
        connection.close()
        if response.status != 200:
            raise RuntimeError(f"Demarche export: HTTP {response.status}: {data[:500]!r}")
        seconds = time.perf_counter() - started
        records = sum(1 for line in data.splitlines() if line.strip())
        return {"seconds": round(seconds, 2), "bytes": len(data), "file": "JSONL, raw layer", "records": records}


# --- The jobs --------------------------------------------------------------------------------


def summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    rates = [run["rate"] for run in runs]
    latencies = [value for run in runs for value in run["latencies"]]
    return {
        "rate_median": round(statistics.median(rates), 1),
        "rate_min": round(min(rates), 1),
        "rate_max": round(max(rates), 1),
        "p50_ms": round(percentile(latencies, 0.50) * 1000, 1),
        "p95_ms": round(percentile(latencies, 0.95) * 1000, 1),
        "p99_ms": round(percentile(latencies, 0.99) * 1000, 1),
        "requests": sum(run["requests"] for run in runs),
        "response_bytes": max(run["response_bytes"] for run in runs),
        "errors": sum(run["errors"] for run in runs),
        "error_examples": [example for run in runs for example in run["error_examples"]][:3],
        "runs": [
            {key: value for key, value in run.items() if key != "latencies"} | {"rate": round(run["rate"], 1)}
            for run in runs
        ],
    }


@dataclass
class Job:
    name: str
    doccano: str  # what is measured on doccano's side
    demarche: str
    calls: dict[str, Callable[[], Callable[[int], Call]]]  # app name → a factory of next_call functions
    headers: dict[str, dict[str, str]]


def run_job(job: Job, apps: dict[str, Any], sizes: Sizes) -> dict[str, Any]:
    """Interleaved: per round, for each concurrency, each app in turn; a short warm-up first."""
    runs: dict[tuple[str, int], list[dict[str, Any]]] = {}
    steps = []
    for name in job.calls:
        app = apps[name]
        run_load(app.host, app.port, job.headers[name], job.calls[name](), 2, min(2.0, sizes.seconds))
    for round_number in range(sizes.rounds):
        for clients in sizes.concurrencies:
            for name in job.calls:
                app = apps[name]
                before = load_average()
                run = run_load(app.host, app.port, job.headers[name], job.calls[name](), clients, sizes.seconds)
                after = load_average()
                runs.setdefault((name, clients), []).append(run)
                steps.append(
                    {"round": round_number + 1, "app": name, "clients": clients, "rate": round(run["rate"], 1)}
                    | {"load_before": before, "load_after": after, "errors": run["errors"]}
                )
                log(
                    f"  {job.name}: {name} c={clients} round {round_number + 1}: {run['rate']:,.1f} req/s, "
                    f"{run['errors']} errors; load {before} → {after}"
                )
                if run["errors"]:
                    log(f"    e.g. {run['error_examples'][0][:400]}")
    return {
        "job": job.name,
        "doccano_request": job.doccano,
        "demarche_request": job.demarche,
        "results": {f"{name} c={clients}": summarise(found) for (name, clients), found in runs.items()},
        "steps": steps,
    }


def cycling(paths: list[Call]) -> Callable[[], Callable[[int], Call]]:
    """Each client walks the same list from its own offset."""

    def factory() -> Callable[[int], Call]:
        positions: dict[int, int] = {}

        def next_call(client: int) -> Call:
            position = positions.get(client, client * 7)
            positions[client] = position + 1
            return paths[position % len(paths)]

        return next_call

    return factory


def build_jobs(doccano: Doccano, demarche: Demarche, documents: list[Document], seed: int) -> list[Job]:
    rng = random.Random(f"{seed}-requests")
    chosen = rng.sample(range(len(documents)), min(50, len(documents)))
    spans = new_spans(documents, seed)
    posted: list[tuple[int, int, int, str]] = []
    lock = threading.Lock()

    def span_number(number: int) -> tuple[int, int, int, str]:
        with lock:
            while len(posted) <= number:
                posted.append(next(spans))
            return posted[number]

    def saver(app: Any) -> Callable[[], Callable[[int], Call]]:
        # One cursor per app for the whole job: each app posts the same spans in the same order,
        # none twice (a repeated span would be refused as a duplicate or an overlap).
        cursor = [0]

        def factory() -> Callable[[int], Call]:
            def next_call(_client: int) -> Call:
                with lock:
                    number = cursor[0]
                    cursor[0] += 1
                return app.save_span(documents, *span_number(number))

            return next_call

        return factory

    token = {"doccano": doccano.headers, "Demarche": demarche.headers}
    session = demarche.session
    page_headers = {"Cookie": f"sessionid={session.session_key}; csrftoken={session.csrf}", "Accept": "text/html"}
    return [
        Job(
            "one document's spans",
            "GET /v1/projects/P/examples/ID/spans (token)",
            "GET /api/v1/quotes/?article=ID&layer=raw (token)",
            {
                "doccano": cycling([doccano.one_document(index) for index in chosen]),
                "Demarche": cycling([demarche.one_document(index) for index in chosen]),
            },
            token,
        ),
        Job(
            "the annotate page (10 quotes)",
            "GET /v1/projects/P/examples/ID/spans (token), what doccano's page loads",
            "GET /articles/ID/annotate/ (session), the whole HTML page",
            {
                "doccano": cycling([doccano.one_document(index) for index in chosen]),
                "Demarche": cycling([demarche.annotate_page(index) for index in chosen]),
            },
            {"doccano": doccano.headers, "Demarche": page_headers},
        ),
        Job(
            "save one span",
            "POST /v1/projects/P/examples/ID/spans (token)",
            "POST /api/v1/quotes/ (token)",
            {"doccano": saver(doccano), "Demarche": saver(demarche)},
            token,
        ),
        Job(
            "list 100 documents",
            "GET /v1/projects/P/examples?limit=100&offset=0 (token)",
            "GET /api/v1/articles/?page_size=100 (token)",
            {"doccano": cycling([doccano.list_documents()]), "Demarche": cycling([demarche.list_documents()])},
            token,
        ),
        # doccano's list always carries each document's text; Demarche's leaves it out unless asked.
        Job(
            "list 100 documents, with their text",
            "GET /v1/projects/P/examples?limit=100&offset=0 (token)",
            "GET /api/v1/articles/?page_size=100&include=text (token)",
            {
                "doccano": cycling([doccano.list_documents()]),
                "Demarche": cycling([Call("GET", "/api/v1/articles/?page_size=100&include=text")]),
            },
            token,
        ),
    ]


def same_spans(doccano: Doccano, demarche: Demarche, documents: list[Document], index: int) -> dict[str, Any]:
    """Both apps hold the document's spans at the same offsets, before anything is timed."""
    expected = sorted((start, end) for start, end, _label in documents[index].spans)
    theirs = sorted((span["start_offset"], span["end_offset"]) for span in doccano.spans_of(doccano.ids[index]))
    page = http_json(demarche.host, demarche.port, "GET", demarche.one_document(index).path, demarche.headers)
    mine = sorted((quote["start"], quote["end"]) for quote in page["results"])
    if not expected == theirs == mine:
        raise RuntimeError(f"document {index}: spans differ: file {expected}, doccano {theirs}, Demarche {mine}")
    listed = {
        "doccano": len(
            http_json(doccano.host, doccano.port, "GET", doccano.list_documents().path, doccano.headers)["results"]
        ),
        "Demarche": len(
            http_json(demarche.host, demarche.port, "GET", demarche.list_documents().path, demarche.headers)["results"]
        ),
    }
    if len(set(listed.values())) != 1 or listed["doccano"] != min(100, len(documents)):
        raise RuntimeError(f"the lists of 100 documents differ: {listed}")
    # The page's quote list links each quote once; a warning, not a failure, as the markup may change.
    session = demarche.session
    cookie = {"Cookie": f"sessionid={session.session_key}; csrftoken={session.csrf}"}
    page = KeepAlive(demarche.host, demarche.port, cookie).send(demarche.annotate_page(index))
    linked = page[2].count(b'data-quote="')
    if page[0] != 200 or linked != len(expected):
        log(f"  warning: the annotate page answered {page[0]} and links {linked} quotes, not {len(expected)}")
    return {"document": index, "spans": len(expected), "listed": listed, "annotate_page_quote_links": linked}


# --- The report ------------------------------------------------------------------------------


def ratio(mine: float, theirs: float) -> str:
    return f"{mine / theirs:.2f}×" if theirs else "–"


def rate_cell(results: dict[str, Any], key: str) -> str:
    found = results.get(key)
    if not found:
        return "–"
    text = f"{found['rate_median']:,.1f} ({found['rate_min']:,.1f}–{found['rate_max']:,.1f})"
    return text + (f", {found['errors']} errors" if found["errors"] else "")


def median_rate(results: dict[str, Any], key: str) -> float:
    return results.get(key, {}).get("rate_median", 0.0)


def p95(results: dict[str, Any], key: str) -> str:
    return f"{results[key]['p95_ms']:,.1f}" if key in results else "–"


def answer_bytes(results: dict[str, Any], key: str) -> str:
    return f"{results[key]['response_bytes']:,}" if key in results else "–"


def table(report: dict[str, Any]) -> str:
    lines = [
        "| job | doccano req/s c=1 | doccano req/s c=8 | Demarche req/s c=1 | Demarche req/s c=8 "
        "| Demarche ÷ doccano c=1 | c=8 | p95 ms c=1 doccano / Demarche | p95 ms c=8 doccano / Demarche "
        "| bytes an answer doccano / Demarche |",
        "|" + " --- |" * 10,
    ]
    for job in report["jobs"]:
        results = job["results"]
        lines.append(
            f"| {job['job']} | {rate_cell(results, 'doccano c=1')} | {rate_cell(results, 'doccano c=8')} "
            f"| {rate_cell(results, 'Demarche c=1')} | {rate_cell(results, 'Demarche c=8')} "
            f"| {ratio(median_rate(results, 'Demarche c=1'), median_rate(results, 'doccano c=1'))} "
            f"| {ratio(median_rate(results, 'Demarche c=8'), median_rate(results, 'doccano c=8'))} "
            f"| {p95(results, 'doccano c=1')} / {p95(results, 'Demarche c=1')} "
            f"| {p95(results, 'doccano c=8')} / {p95(results, 'Demarche c=8')} "
            f"| {answer_bytes(results, 'doccano c=1')} / {answer_bytes(results, 'Demarche c=1')} |"
        )
    load = report["load"]
    lines.append(
        f"| load {report['documents']:,} docs, {report['spans']:,} spans (s) | {load['doccano']['seconds']:,.1f} s | "
        f"| {load['Demarche']['seconds']:,.1f} s "
        f"({load['Demarche']['startup_seconds']:,.1f} s of it Django's start-up) "
        "| | doccano ÷ Demarche time: "
        f"{ratio(load['doccano']['seconds'], load['Demarche']['seconds'])} | | | | |"
    )
    exports = report["export"]
    if exports.get("doccano") and exports.get("Demarche"):
        theirs = statistics.median(run["seconds"] for run in exports["doccano"])
        mine = statistics.median(run["seconds"] for run in exports["Demarche"])
        lines.append(
            f"| export the whole dataset (s, median of {len(exports['Demarche'])}) | {theirs:,.1f} s | "
            f"| {mine:,.1f} s | | doccano ÷ Demarche time: {ratio(theirs, mine)} | | | | |"
        )
    memory = report["worker_memory"]
    lines.append(
        f"| worker memory after the jobs (5 workers, total / largest MiB) | "
        f"{memory['doccano']['total_mib']:,.0f} / {memory['doccano']['max_mib']:,.0f} | "
        f"| {memory['Demarche']['total_mib']:,.0f} / {memory['Demarche']['max_mib']:,.0f} | | | | | | |"
    )
    return "\n".join(lines)


# --- Main --------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.peers", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="300 documents, 3-second runs: a few minutes")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--documents", type=int, help="documents to generate (default 10,000; 300 with --quick)")
    parser.add_argument("--seconds", type=float, help="seconds a run (default 10; 3 with --quick)")
    parser.add_argument("--server", default=os.environ.get("BENCH_POSTGRES", DEFAULT_SERVER), help="PostgreSQL URL")
    parser.add_argument("--table", type=Path, metavar="JSON", help="only print the table of an earlier run")
    args = parser.parse_args(argv)
    if args.table:
        print(table(json.loads(args.table.read_text())))
        return 0
    sizes = dataclasses.replace(
        QUICK if args.quick else FULL,
        **({"documents": args.documents} if args.documents else {}),
        **({"seconds": args.seconds} if args.seconds else {}),
    )
    mode = "quick" if args.quick else "full"
    # Stopped from outside (CI's time limit): unwind as on an error, so the servers stop and the
    # run's databases are dropped rather than left behind.
    signal.signal(signal.SIGTERM, lambda _signum, _frame: sys.exit(143))
    started = time.monotonic()
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
    suffix = f"{stamp.lower()}_{os.getpid()}"
    install_doccano()
    PEERS.mkdir(exist_ok=True)
    home = Path(tempfile.mkdtemp(prefix=f"run-{suffix}-", dir=PEERS))
    report: dict[str, Any] = {
        "mode": mode,
        "seed": args.seed,
        "documents": sizes.documents,
        "cpus": os.cpu_count(),
        "gunicorn_workers": WORKERS,
        "load_average_start": os.getloadavg(),
        "sizes": sizes.__dict__,
        "jobs": [],
        "load": {},
        "export": {},
        "worker_memory": {},
        "steps": [],
    }
    failed: list[str] = []

    def step(name: str, action: Callable[[], Any]) -> Any:
        before = load_average()
        began = time.perf_counter()
        log(f"{name} (load {before}) …")
        try:
            return action()
        except Exception:
            failed.append(name)
            traceback.print_exc()
            return None
        finally:
            report["steps"].append(
                {"step": name, "seconds": round(time.perf_counter() - began, 1), "load_before": before}
                | {"load_after": load_average()}
            )

    try:
        with ExitStack() as stack:
            stack.callback(shutil.rmtree, home, ignore_errors=True)
            documents = make_documents(sizes.documents, sizes.spans_per_document, args.seed)
            report["spans"] = sum(len(document.spans) for document in documents)
            report["mean_characters"] = round(statistics.mean(len(document.text) for document in documents))
            path = home / "documents.jsonl"
            write_jsonl(documents, path)
            log(
                f"Workload: {len(documents):,} documents, {report['spans']:,} spans, "
                f"{report['mean_characters']:,} characters on average, "
                f"{path.stat().st_size / 1e6:.1f} MB (seed {args.seed})"
            )
            doccano = Doccano(args.server, f"peers_doccano_{suffix}", home)
            demarche = Demarche(args.server, f"peers_demarche_{suffix}", home)
            step("start doccano (init, admin, project, gunicorn, Celery worker)", lambda: doccano.start(stack))
            step("start Demarche (migrate, analyst, gunicorn)", lambda: demarche.start(stack))
            if failed:
                raise RuntimeError(f"could not start: {', '.join(failed)}")
            from django.db import connection

            with connection.cursor() as cursor:
                cursor.execute("SELECT version()")
                report["postgresql"] = cursor.fetchone()[0].split(" on ")[0]
            connection.close()  # the runner holds no connection while the servers are measured
            for app in (doccano, demarche):
                report["load"][app.name] = step(f"load into {app.name}", lambda app=app: app.load(path, documents))
                log(f"  {app.name}: {json.dumps(report['load'][app.name])[:400]}")
            if failed:
                raise RuntimeError(f"could not load: {', '.join(failed)}")
            connection.close()
            report["settle_seconds"] = step(
                "settle (VACUUM ANALYZE each database, CHECKPOINT)",
                lambda: settle(args.server, [doccano.database, demarche.database]),
            )
            report["same_spans"] = [
                same_spans(doccano, demarche, documents, index) for index in (0, len(documents) - 1)
            ]
            apps = {"doccano": doccano, "Demarche": demarche}
            for job in build_jobs(doccano, demarche, documents, args.seed):
                found = step(f"job: {job.name}", lambda job=job: run_job(job, apps, sizes))
                if found:
                    report["jobs"].append(found)
            report["worker_memory"] = {app.name: worker_memory(app.web.pid) for app in (doccano, demarche)}
            for number in range(sizes.export_runs):
                for app in (doccano, demarche):
                    found = step(f"export from {app.name} ({number + 1})", app.export)
                    if found:
                        report["export"].setdefault(app.name, []).append(found)
                        log(f"  {app.name}: {found['seconds']:.1f} s, {found['bytes'] / 1e6:.1f} MB")
    except Exception:
        traceback.print_exc()
        failed.append("run")
    report["load_average_end"] = os.getloadavg()
    report["seconds"] = round(time.monotonic() - started, 1)
    report["failed"] = failed
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"{stamp}-peers-{mode}.json"
    out.write_text(json.dumps(report, indent=2, ensure_ascii=False, default=str))
    print()
    print(
        f"Demarche vs doccano 1.8.4 ({mode}): {report['documents']:,} documents, {report.get('spans', 0):,} spans; "
        f"{WORKERS} sync gunicorn workers each; {report['cpus']} cores; {report.get('postgresql', '')}; "
        f"load average {report['load_average_start'][0]:.1f} at the start, {report['load_average_end'][0]:.1f} "
        f"at the end; {report['seconds']:.0f} s in all."
    )
    try:
        print(table(report))
    except (KeyError, TypeError, statistics.StatisticsError):
        print("(no table: a step failed; see above)")
    print(f"\nWritten to {out.relative_to(ROOT)}")
    if failed:
        print(f"Failed: {', '.join(failed)}")
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
