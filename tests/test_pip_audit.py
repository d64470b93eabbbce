"""`make security`'s pip-audit (.ci/pip_audit.py) never calls unchecked packages safe.

The real pip-audit runs against a fake OSV advisory service on 127.0.0.1 (its
`--osv-url`) over a directory holding two installed distributions (its `--path`),
so the JSON read is pip-audit's own. The PyPI service's answer on a machine it
can't serve (every package skipped) is written by pip-audit's own JSON formatter.
"""

from __future__ import annotations

import http.server
import importlib.util
import json
import socket
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from packaging.version import Version
from pip_audit._format.json import JsonFormat
from pip_audit._service.interface import ResolvedDependency, SkippedDependency, VulnerabilityResult

ROOT = Path(__file__).resolve().parent.parent

_spec = importlib.util.spec_from_file_location("pip_audit_wrapper", ROOT / ".ci" / "pip_audit.py")
assert _spec is not None and _spec.loader is not None
wrapper = importlib.util.module_from_spec(_spec)
sys.modules["pip_audit_wrapper"] = wrapper  # dataclasses look their module up there
_spec.loader.exec_module(wrapper)

ADVISORY = {
    "id": "GHSA-aaaa-bbbb-cccc",
    "summary": "SQL injection in a lookup",
    "aliases": ["CVE-2026-0001"],
    "affected": [
        {
            "package": {"name": "django", "ecosystem": "PyPI"},
            "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "6.1.4"}]}],
        }
    ],
}


@pytest.fixture
def site(tmp_path: Path) -> Path:
    """Two installed distributions, as pip sees them."""
    for name, version in (("Django", "6.1.3"), ("gunicorn", "27.0.1")):
        info = tmp_path / "site" / f"{name.lower()}-{version}.dist-info"
        info.mkdir(parents=True)
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    return tmp_path / "site"


def osv_service(vulnerable: set[str]) -> Iterator[str]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            query = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            body = json.dumps({"vulns": [ADVISORY]} if query["package"]["name"] in vulnerable else {}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/v1/query"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def advisories_for_django() -> Iterator[str]:
    yield from osv_service({"django"})


@pytest.fixture
def no_advisories() -> Iterator[str]:
    yield from osv_service(set())


def audit(site: Path, url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = wrapper.main(["-s", "osv", "--osv-url", url, "--path", str(site), "--cache-dir", str(tmp_path / "c")])
    return code, capsys.readouterr().out


def test_a_known_vulnerability_fails_and_is_named(site, advisories_for_django, tmp_path, capsys):
    code, out = audit(site, advisories_for_django, tmp_path, capsys)
    assert code == 1
    assert "VULNERABLE: django 6.1.3: CVE-2026-0001 (GHSA-aaaa-bbbb-cccc), fixed in 6.1.4" in out
    assert "SQL injection in a lookup" in out
    assert "FOUND 1 known vulnerabilities in 1 of 2 packages" in out
    assert "No known vulnerabilities found" not in out


def test_every_package_checked_and_clean_passes(site, no_advisories, tmp_path, capsys):
    code, out = audit(site, no_advisories, tmp_path, capsys)
    assert (code, out) == (0, "No known vulnerabilities found in 2 packages\n")


def test_an_unreachable_service_is_said_loudly_and_passes(site, tmp_path, capsys):
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    code, out = audit(site, f"http://127.0.0.1:{port}/v1/query", tmp_path, capsys)
    assert code == 0
    assert out.startswith("NOT AUDITED: advisory service unreachable — 2 of 2 packages not checked\n")
    assert "No known vulnerabilities found" not in out


def pypi_report(dependencies: dict) -> str:
    """What `pip-audit --format json` prints, written by pip-audit's own formatter."""
    return JsonFormat(output_desc=True, output_aliases=True).format(dependencies, [])


def skipped(name: str, version: str) -> SkippedDependency:
    # pip-audit's PyPI service, when PyPI answers 404 for a package it can't serve.
    return SkippedDependency(
        name=name, skip_reason=f"Dependency not found on PyPI and could not be audited: {name} ({version})"
    )


def test_packages_the_service_skipped_are_not_called_safe():
    report = pypi_report(
        {skipped("django", "6.1.3"): [], skipped("gunicorn", "27.0.1"): [], skipped("redis", "8.1.0"): []}
    )
    # pip-audit itself says "No known vulnerabilities found" here, exit status 0.
    outcome = wrapper.summarize(0, report, "No known vulnerabilities found\n", installed=3)
    assert outcome.exit_code == 0
    assert outcome.lines[0] == "NOT AUDITED: advisory service unreachable — 3 of 3 packages not checked"
    assert "  not checked: django, gunicorn, redis" in outcome.lines
    assert not any("No known vulnerabilities" in line for line in outcome.lines)


def test_a_finding_beside_skipped_packages_still_fails():
    finding = VulnerabilityResult(
        id="PYSEC-2026-1", description="header injection", fix_versions=[Version("27.0.2")], aliases=set()
    )
    report = pypi_report(
        {ResolvedDependency(name="gunicorn", version=Version("27.0.1")): [finding], skipped("redis", "8.1.0"): []}
    )
    outcome = wrapper.summarize(1, report, "Found 1 known vulnerability in 1 package\n", installed=2)
    assert outcome.exit_code == 1
    assert "VULNERABLE: gunicorn 27.0.1: PYSEC-2026-1, fixed in 27.0.2" in outcome.lines
    assert "NOT AUDITED: no advisory answer — 1 of 2 packages not checked" in outcome.lines


def test_any_other_failure_of_pip_audit_is_passed_on(capsys):
    code = wrapper.main(["--no-such-option"])
    assert code != 0
    assert "pip-audit failed" in capsys.readouterr().out
