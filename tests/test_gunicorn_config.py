"""gunicorn under config/gunicorn.conf.py writes nothing outside the project (no control socket in the home folder)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time

from bench.server import ROOT, VENV_BIN, free_port


def test_gunicorn_opens_no_control_socket_in_the_home_folder(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    port = free_port()
    env = {key: value for key, value in os.environ.items() if key != "XDG_RUNTIME_DIR"}
    env.update(HOME=str(home), DEBUG="1", GUNICORN_BIND=f"127.0.0.1:{port}", WEB_CONCURRENCY="1")
    server = subprocess.Popen(  # noqa: S603 (our own venv's gunicorn, fixed arguments)
        [str(VENV_BIN / "gunicorn"), "--config", "config/gunicorn.conf.py", "config.wsgi:application"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            assert server.poll() is None, "gunicorn exited"
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "gunicorn never listened"
                time.sleep(0.2)
        time.sleep(1)  # the arbiter has started its control server by the time workers answer, if it has one
        assert list(home.rglob("*")) == []
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
