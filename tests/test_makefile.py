"""`make test` installs no system package: it says what is missing and how to get it."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MAKE = shutil.which("make")

pytestmark = pytest.mark.skipif(MAKE is None, reason="make is not installed")


def make(*args: str) -> subprocess.CompletedProcess:
    assert MAKE is not None
    # The project's own Makefile with fixed arguments; -n runs nothing but sub-makes, themselves dry.
    return subprocess.run(  # noqa: S603
        [MAKE, "--no-print-directory", *args], cwd=ROOT, capture_output=True, text=True, timeout=60
    )


def test_a_missing_chromium_is_named_with_the_commands_that_install_it():
    result = make("browser", "CHROMIUM_PATH=/nonexistent/chromium")
    assert result.returncode != 0
    assert "/nonexistent/chromium" in result.stdout
    assert "sudo apt-get install chromium" in result.stdout
    assert "brew install --cask chromium" in result.stdout


def test_the_browser_check_never_installs_anything():
    dry_run = make("-n", "browser", "CHROMIUM_PATH=/nonexistent/chromium").stdout
    recipe = [line for line in dry_run.splitlines() if "echo" not in line]
    assert not any("apt-get" in line or "brew" in line for line in recipe)


def test_make_test_checks_for_chromium_before_running_pytest():
    dry_run = make("-n", "test", "CHROMIUM_PATH=/nonexistent/chromium").stdout
    assert dry_run.index("/nonexistent/chromium") < dry_run.index("-m pytest")


def test_make_ci_runs_cis_steps_in_cis_order():
    dry_run = make("-n", "ci").stdout
    steps = [line.split('"')[-2] for line in dry_run.splitlines() if line.startswith("printf '\\n== %s ==\\n'")]
    assert steps == [
        "Lint",
        "Container image inputs",
        "Types",
        "Migrations and deploy checks",
        "Security scans",
        "Compose file and the container's command on PostgreSQL",
        "OpenAPI schema",
        "Quote detector on its gold sets",
        "Tests on SQLite",
        "Tests on PostgreSQL",
        "Benchmarks (quick)",
        "Beside doccano (quick; reporting, never failing CI)",
        "Resilience",
    ]


def test_the_run_beside_doccano_reports_but_never_fails_or_stalls_ci():
    recipe = (ROOT / "Makefile").read_text().split("\nci:\n", 1)[1].split("\n\n", 1)[0]
    (line,) = [line.strip() for line in recipe.splitlines() if "bench.peers" in line]
    # make ignores the step's exit status ("-"), and timeout ends it, then kills it if it lingers.
    assert line.startswith("-timeout --kill-after=") and line.endswith("-m bench.peers --quick")


def test_make_detector_eval_scores_both_gold_sets_against_floors():
    dry_run = make("-n", "detector-eval").stdout.replace("\\\n", " ")
    for gold in ("tests/data/detector/dev.jsonl", "tests/data/detector/holdout.jsonl"):
        line = next(line for line in dry_run.splitlines() if gold in line)
        assert "evaluate_detector" in line and "--floor-all" in line and "--floor-direct" in line


def test_make_install_installs_the_dev_set_and_reinstalls_when_either_file_changes():
    dry_run = make("-n", "-B", "install").stdout  # -B: as if out of date
    stamp = make("-p", "-n", "install").stdout
    assert "pip install --quiet -r requirements-dev.txt" in dry_run
    rule = next(line for line in stamp.splitlines() if line.startswith(".venv/.installed-") and ":" in line)
    assert "requirements.txt" in rule and "requirements-dev.txt" in rule


@pytest.mark.parametrize(("args", "port"), [((), "8000"), (("PORT=8123",), "8123")])
def test_make_run_serves_on_port_and_prints_that_url(args, port, monkeypatch):
    monkeypatch.delenv("PORT", raising=False)  # make reads the environment's PORT too
    dry_run = make("-n", "run", *args).stdout
    assert f'echo "Demarche is at http://127.0.0.1:{port}/"' in dry_run
    assert f"manage.py runserver 127.0.0.1:{port}" in dry_run


@pytest.mark.parametrize(
    ("target", "prefix"), [("security", "demarche_offsets_"), ("compose-smoke", "demarche_smoke_")]
)
def test_the_databases_make_creates_are_named_for_the_run_and_dropped_by_a_trap(target, prefix):
    recipe = make("-n", target).stdout
    database_line = next(line for line in recipe.splitlines() if prefix in line)
    assert f"db={prefix}$$;" in database_line  # the shell's pid: two runs never share (or drop) one
    assert "DROP DATABASE IF EXISTS $db WITH (FORCE)" in recipe  # only $db: the one this line created
    assert (
        recipe.index("CREATE DATABASE $db")
        < recipe.index("trap '")
        < recipe.index("manage.py" if target == "security" else "compose_smoke.py")
    )
