"""Every `# nosec` in the served code names its rule and still suppresses a finding.

Bandit warns "nosec encountered (B608), but no failed test" for waivers that are
live (it checks each AST node on the line, and most nodes don't fail), so its
warnings can't tell a stale waiver from a live one. This removes the waivers from
a copy of each file and asks bandit again: every rule a waiver names must then be
reported on that waiver's statement.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BANDIT = shutil.which("bandit", path=str(Path(sys.executable).parent))
WAIVER = re.compile(r"#[ \t]*nosec\b(?P<rules>[^#\n]*)")


def waivers() -> dict[Path, dict[int, set[str]]]:
    found: dict[Path, dict[int, set[str]]] = {}
    for path in sorted([*ROOT.glob("annotations/**/*.py"), *ROOT.glob("config/**/*.py")]):
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            match = WAIVER.search(line)
            if match:
                found.setdefault(path, {})[number] = set(re.findall(r"B\d{3}", match.group("rules")))
    return found


WAIVERS = waivers()


def test_there_are_waivers_to_check():
    assert sum(len(lines) for lines in WAIVERS.values()) >= 4


@pytest.mark.parametrize("path", list(WAIVERS), ids=lambda path: str(path.relative_to(ROOT)))
def test_each_waiver_names_its_rule(path):
    for number, rules in WAIVERS[path].items():
        assert rules, f"{path.name}:{number}: a bare # nosec waives every rule; name it (# nosec B608)"


@pytest.mark.skipif(BANDIT is None, reason="bandit is not installed")
@pytest.mark.parametrize("path", list(WAIVERS), ids=lambda path: str(path.relative_to(ROOT)))
def test_each_waiver_still_suppresses_what_it_names(path, tmp_path):
    assert BANDIT is not None
    unwaived = tmp_path / path.name
    unwaived.write_text(WAIVER.sub("", path.read_text()))
    result = subprocess.run(  # noqa: S603  # bandit from this environment, on a copy
        [BANDIT, "-q", "-f", "json", str(unwaived)], capture_output=True, text=True, check=False
    )
    findings = json.loads(result.stdout)["results"]
    for number, rules in WAIVERS[path].items():
        reported = {f["test_id"] for f in findings if number in f["line_range"] or f["line_number"] == number}
        stale = rules - reported
        assert not stale, f"{path.name}:{number}: # nosec {' '.join(sorted(stale))} suppresses nothing: remove it"
