"""Parse docker-compose.yml and run the web service's command without Docker.

Docker can't run on the CI machines, so this checks what can be checked: the
compose file parses and has the parts the README promises, and the exact
command the container runs (migrate, then gunicorn) serves the app against
the local PostgreSQL.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    db, web = compose["services"]["db"], compose["services"]["web"]
    assert "pg_isready" in " ".join(db["healthcheck"]["test"]), "db needs a pg_isready health check"
    assert any(volume.endswith("/var/lib/postgresql/data") for volume in db["volumes"]), "db needs a volume"
    assert web["depends_on"]["db"]["condition"] == "service_healthy", "web must wait for a healthy db"
    command = web["command"]
    assert "migrate" in command and "gunicorn" in command, command

    port = os.environ.get("SMOKE_PORT", "8765")
    env = {
        **os.environ,
        "DATABASE_URL": os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/demarche_smoke"),
        "SECRET_KEY": "ci-compose-smoke-0123456789-abcdefghijklmnopqrstuvwxyz-ABCDEFG",
        "DEBUG": "0",
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "0",
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": "2",
        "PATH": f"{ROOT / '.venv' / 'bin'}:{os.environ['PATH']}",
    }
    subprocess.run([sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)
    server = subprocess.Popen(command, shell=True, cwd=ROOT, env=env, start_new_session=True)  # noqa: S602
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health/", timeout=2) as response:
                    body = response.read()
                if response.status == 200 and body == b"ok":
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/accounts/login/", timeout=5) as page:
                        assert page.status == 200
                        assert "Content-Security-Policy" in page.headers
                    print(f"compose smoke: `{command}` served /health/ and the login page on PostgreSQL")
                    return 0
            except OSError:
                time.sleep(0.5)
            if server.poll() is not None:
                print("compose smoke: the web command exited early", file=sys.stderr)
                return 1
        print("compose smoke: no answer from gunicorn within 60 s", file=sys.stderr)
        return 1
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


if __name__ == "__main__":
    sys.exit(main())
