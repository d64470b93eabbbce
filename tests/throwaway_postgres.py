"""A PostgreSQL cluster of a test's own: initdb into a temporary folder, served on a free loopback port.

Tests that restart or stop PostgreSQL (tests/test_resilience.py) do it to this
cluster, never to the machine's server, whose other clients (another suite, a
developer's ``make run``) would lose their connections. ``throwaway_cluster()``
stops the server and deletes its folder on exit, whatever happened inside.

PostgreSQL's server programs refuse to run as root: as root, they run as the
``postgres`` OS user (``runuser``), which owns the temporary folder.
"""

# ruff: noqa: S603  (PostgreSQL's own programs, found below, with fixed arguments)
from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

SERVER_PROGRAMS = ("initdb", "pg_ctl")


def find_bindir() -> Path | None:
    """Where initdb and pg_ctl are: PG_BINDIR, PATH, or Debian's newest /usr/lib/postgresql/<version>/bin."""
    named = os.environ.get("PG_BINDIR")
    candidates = [Path(named)] if named else []
    on_path = shutil.which("initdb")
    if on_path:
        candidates.append(Path(on_path).resolve().parent)
    debian = Path("/usr/lib/postgresql")
    if debian.is_dir():
        versions = [path for path in debian.iterdir() if path.name.isdigit()]
        candidates += [path / "bin" for path in sorted(versions, key=lambda path: int(path.name), reverse=True)]
    for bindir in candidates:
        if all((bindir / program).is_file() for program in SERVER_PROGRAMS):
            return bindir
    return None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Cluster:
    """A running throwaway cluster: superuser ``postgres``, trust authentication, TCP on 127.0.0.1 only."""

    bindir: Path
    folder: Path  # owns everything: data/, server.log
    port: int
    run_as: str | None  # the OS user PostgreSQL's programs run as (None: this process's)
    host: str = "127.0.0.1"
    user: str = "postgres"

    @property
    def data(self) -> Path:
        return self.folder / "data"

    @property
    def log(self) -> Path:
        return self.folder / "server.log"

    def url(self, database: str) -> str:
        return f"postgres://{self.user}@{self.host}:{self.port}/{database}"

    def tool(self, name: str) -> str:
        """A client program (pg_dump, createdb…) of the server's own version."""
        return str(self.bindir / name)

    def connect_args(self) -> list[str]:
        return ["-h", self.host, "-p", str(self.port), "-U", self.user]

    def _run(self, program: str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        command = [str(self.bindir / program), *args]
        if self.run_as:
            command = ["runuser", "-u", self.run_as, "--", *command]
        # PG* variables of the caller (PGDATA, PGPORT…) must not redirect these programs.
        env = {key: value for key, value in os.environ.items() if not key.startswith("PG")}
        result = subprocess.run(
            command, cwd=self.folder, env=env, capture_output=True, text=True, timeout=timeout, check=False
        )
        if result.returncode != 0:
            raise RuntimeError(f"{program} {' '.join(args)} failed:\n{result.stdout}{result.stderr}{self.log_tail()}")
        return result

    def log_tail(self, lines: int = 20) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        return ""

    def initdb(self) -> None:
        self._run(
            "initdb",
            f"--pgdata={self.data}",
            f"--username={self.user}",
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C.UTF-8",  # as Debian's clusters: upper(), lower() and ILIKE know every script
            "--no-sync",  # a throwaway cluster needn't survive a power cut; restarts flush it anyway
        )

    def start(self) -> None:
        options = " ".join(
            [
                "-c listen_addresses=127.0.0.1",
                f"-c port={self.port}",
                "-c unix_socket_directories=''",  # nothing in the machine's /var/run/postgresql
                "-c max_connections=200",
            ]
        )
        self._run(
            "pg_ctl", "start", "--wait", "--timeout=60", f"--pgdata={self.data}", f"--log={self.log}", "-o", options
        )

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "stop", "--wait", "--timeout=60", f"--pgdata={self.data}", f"--mode={mode}")

    def restart(self) -> None:
        """``pg_ctl restart``: every connection dropped, the server back once it accepts them again."""
        # --log again: without it the new postmaster would write to (and hold open) this process's pipe.
        self._run(
            "pg_ctl", "restart", "--wait", "--timeout=60", f"--pgdata={self.data}", f"--log={self.log}", "--mode=fast"
        )

    def is_running(self) -> bool:
        command = [str(self.bindir / "pg_ctl"), "status", f"--pgdata={self.data}"]
        if self.run_as:
            command = ["runuser", "-u", self.run_as, "--", *command]
        return subprocess.run(command, cwd=self.folder, capture_output=True, check=False).returncode == 0

    def accepts_connections(self) -> bool:
        with contextlib.suppress(OSError), socket.create_connection((self.host, self.port), timeout=1):
            return True
        return False

    def ensure_up(self) -> None:
        if not self.is_running():
            self.start()

    def postmaster_pid(self) -> int | None:
        with contextlib.suppress(OSError, ValueError, IndexError):
            return int((self.data / "postmaster.pid").read_text().splitlines()[0])
        return None

    def destroy(self) -> None:
        """Stop the server (fast, then immediate, then SIGKILL) and delete its folder."""
        for mode in ("fast", "immediate"):
            if not self.is_running():
                break
            with contextlib.suppress(RuntimeError, subprocess.TimeoutExpired):
                self.stop(mode)
        pid = self.postmaster_pid()
        if pid and self.is_running():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            time.sleep(1)
        shutil.rmtree(self.folder, ignore_errors=True)


def server_user() -> str | None:
    """Root can't run PostgreSQL's server: its programs then run as ``postgres``."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam("postgres")
    except KeyError as missing:
        raise RuntimeError("running as root, and there is no 'postgres' OS user to run PostgreSQL as") from missing
    return "postgres"


@contextlib.contextmanager
def throwaway_cluster(*, attempts: int = 3) -> Iterator[Cluster]:
    """A fresh cluster, started; stopped and deleted on exit, even when the body raised."""
    bindir = find_bindir()
    if bindir is None:
        raise RuntimeError(
            "initdb and pg_ctl are missing (PostgreSQL's server programs): install them "
            "(Debian/Ubuntu: sudo apt-get install postgresql; macOS: brew install postgresql@15) "
            "or name their folder with PG_BINDIR"
        )
    run_as = server_user()
    folder = Path(tempfile.mkdtemp(prefix="demarche-pg-"))
    if run_as:
        account = pwd.getpwnam(run_as)
        os.chown(folder, account.pw_uid, account.pw_gid)
    cluster = Cluster(bindir, folder, free_port(), run_as)
    try:
        cluster.initdb()
        for attempt in range(attempts):
            try:
                cluster.start()
                break
            except RuntimeError:
                # Another process took the free port between the probe and the start.
                if attempt == attempts - 1:
                    raise
                cluster.port = free_port()
        yield cluster
    finally:
        cluster.destroy()
