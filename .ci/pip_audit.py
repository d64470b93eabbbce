"""pip-audit, honest about what it could not check (`make security`).

pip-audit says "No known vulnerabilities found" even when the advisory service
answered for none of the packages (it lists them as skipped, in JSON only), and
fails with a traceback when the service can't be reached at all. This runs
pip-audit with `--format json` (any other arguments are passed on) and says:

- `VULNERABLE: name version: ID ...` for each finding, and exits 1;
- `NOT AUDITED: advisory service unreachable — N of M packages not checked`
  when packages could not be audited, and then never that nothing was found.
  Exits 0 for that alone: CI machines are offline, and a check that always
  fails there would be switched off;
- `No known vulnerabilities found in M packages` only when every package was checked.

Any other failure of pip-audit is passed on with its exit status.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from importlib import metadata
from typing import Any

# What a service that can't be reached looks like in pip-audit's output: its own
# "Could not connect" error, or requests' exceptions, which it lets through.
UNREACHABLE = (
    "Could not connect",
    "network may be blocking",
    "ConnectionError",
    "ProxyError",
    "Max retries exceeded",
    "NameResolutionError",
    "Failed to establish a new connection",
    "timed out",
)


@dataclass
class Outcome:
    exit_code: int
    lines: list[str]


def _installed_count(argv: list[str]) -> int:
    # pip-audit audits this interpreter's environment, or the --path it is given.
    paths = [argv[i + 1] for i, arg in enumerate(argv[:-1]) if arg == "--path"]
    names = {dist.metadata["Name"].lower() for dist in metadata.distributions(**({"path": paths} if paths else {}))}
    return len(names)


def summarize(returncode: int, stdout: str, stderr: str, installed: int) -> Outcome:
    """What to print and the exit status, from one run of `pip-audit --format json`."""
    try:
        report: dict[str, Any] = json.loads(stdout)
        dependencies: list[dict[str, Any]] = report["dependencies"]
    except (ValueError, KeyError, TypeError):
        return _without_report(returncode, stderr, installed)

    lines = []
    skipped = [dep for dep in dependencies if "skip_reason" in dep]
    vulnerable = [dep for dep in dependencies if dep.get("vulns")]
    for dep in vulnerable:
        for vuln in dep["vulns"]:
            aliases = f" ({', '.join(vuln['aliases'])})" if vuln.get("aliases") else ""
            fixed = ", ".join(vuln.get("fix_versions") or []) or "no fixed version yet"
            lines.append(f"VULNERABLE: {dep['name']} {dep['version']}: {vuln['id']}{aliases}, fixed in {fixed}")
            if vuln.get("description"):
                lines.append(f"  {vuln['description']}")
    if skipped:
        why = "advisory service unreachable" if len(skipped) == len(dependencies) else "no advisory answer"
        lines.append(f"NOT AUDITED: {why} — {len(skipped)} of {len(dependencies)} packages not checked")
        reasons = sorted({dep["skip_reason"].split(":")[0] for dep in skipped})
        lines.append(f"  pip-audit: {'; '.join(reasons)}")
        lines.append(f"  not checked: {', '.join(sorted(dep['name'] for dep in skipped))}")
    if vulnerable:
        count = sum(len(dep["vulns"]) for dep in vulnerable)
        lines.append(f"FOUND {count} known vulnerabilities in {len(vulnerable)} of {len(dependencies)} packages")
        return Outcome(1, lines)
    if not skipped:
        lines.append(f"No known vulnerabilities found in {len(dependencies)} packages")
    return Outcome(0, lines)


def _without_report(returncode: int, stderr: str, installed: int) -> Outcome:
    last = [line for line in stderr.strip().splitlines() if line.strip()][-1:] or [f"exit status {returncode}"]
    if any(marker in stderr for marker in UNREACHABLE):
        return Outcome(
            0,
            [
                f"NOT AUDITED: advisory service unreachable — {installed} of {installed} packages not checked",
                f"  pip-audit: {last[0][:300]}",
            ],
        )
    # Any other failure is pip-audit's to explain; never read as a pass.
    return Outcome(returncode or 1, [stderr.rstrip(), f"pip-audit failed (exit status {returncode})"])


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    command = [sys.executable, "-m", "pip_audit", "--format", "json", "--progress-spinner", "off", *argv]
    result = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603  # fixed command
    outcome = summarize(result.returncode, result.stdout, result.stderr, _installed_count(argv))
    print("\n".join(outcome.lines))
    return outcome.exit_code


if __name__ == "__main__":
    sys.exit(main())
