"""Check the container image's inputs without Docker (`make image-check`).

Docker can't run on the CI machines, so this checks what decides the image:

1. the build context, computed from .dockerignore the way Docker computes it
   (moby's patternmatcher: `*`, `?`, `**`, `!` exceptions, last match wins, a
   file is excluded when it or a parent directory matches), must hold no
   virtualenv, no git data, no database file, no test artifacts, and stay
   under a size bound;
2. what the final stage installs (the requirement files the Dockerfile names,
   following `-r`) must hold no development tool;
3. the final stage must run as a non-root USER, and docker-compose.yml's web
   service must run the image's command (after its migrate).

Standard library only: it runs before (and without) the virtualenv.
Exits 1 and says why on any failure.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import sys
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

ROOT = Path(__file__).resolve().parent.parent
MAX_CONTEXT_BYTES = 5 * 1024 * 1024

# Tools that only tests, benchmarks and CI use; none belongs in the image. Names
# are canonical (PEP 503): lower case, runs of -_. as one "-".
DEV_TOOLS = {
    "bandit",
    "coverage",
    "datasets",
    "factory-boy",
    "hypothesis",
    "mypy",
    "pandas",
    "pip-audit",
    "playwright",
    "ruff",
    "schemathesis",
}
# pyarrow is not one either: the server writes Parquet exports and release files.
# django-stubs-ext is not one: it is a small runtime helper (django-tasks-db imports it);
# the stubs themselves end in "-stubs".
DEV_PREFIXES = ("pytest", "types-")

# Paths that must never reach the build context: a virtualenv, git data, a
# database, what tests and benchmarks leave behind.
FORBIDDEN = [
    (re.compile(r"(^|/)\.venv(/|$)|(^|/)venv(/|$)|(^|/)pyvenv\.cfg$"), "a virtualenv"),
    (re.compile(r"(^|/)\.git(/|$)"), "git data"),
    (re.compile(r"(^|/)[^/]*\.(sqlite3?|db)(-wal|-shm|-journal)?$"), "a database file"),
    (
        re.compile(r"(^|/)(test-artifacts|\.pytest_cache|\.hypothesis|\.mypy_cache|\.ruff_cache)(/|$)"),
        "test artifacts",
    ),
    (re.compile(r"^bench/(results|\.peers)/"), "benchmark output"),
]


# --- .dockerignore ----------------------------------------------------------------


@dataclass
class Pattern:
    text: str
    exclusion: bool  # a "!" line: re-includes what it matches
    regex: re.Pattern[str] = field(init=False)
    parts: list[str] = field(init=False)

    def __post_init__(self) -> None:
        self.regex = re.compile(_pattern_regex(self.text))
        self.parts = self.text.split("/")

    def matches(self, path: str) -> bool:
        """The path or one of its parent directories matches (moby's MatchesOrParentMatches)."""
        parts = path.split("/")
        return any(self.regex.match("/".join(parts[:n])) for n in range(1, len(parts) + 1))


def _clean(pattern: str) -> str:
    # filepath.Clean, then relative to the context's root as Docker reads it.
    cleaned = os.path.normpath(pattern).replace(os.sep, "/")
    cleaned = cleaned.lstrip("/")
    return "" if cleaned == "." else cleaned


def _pattern_regex(pattern: str) -> str:
    """moby/patternmatcher's translation of a pattern into a regular expression."""
    out, i = "^", 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "*":
            if pattern[i + 1 : i + 2] == "*":
                i += 1
                if pattern[i + 1 : i + 2] == "/":
                    i += 1
                # "**" at the end matches everything below; "**/" zero or more directories.
                out += ".*" if i + 1 >= len(pattern) else "(.*/)?"
            else:
                out += "[^/]*"
        elif ch == "?":
            out += "[^/]"
        elif ch == "\\" and i + 1 < len(pattern):
            i += 1
            out += re.escape(pattern[i])
        elif ch == "[":
            end = pattern.find("]", i + 1)
            if end == -1:
                out += re.escape(ch)
            else:
                body = pattern[i + 1 : end]
                out += "[" + ("^" + body[1:] if body.startswith("^") else body) + "]"
                i = end
        else:
            out += re.escape(ch)
        i += 1
    return out + "$"


def read_dockerignore(text: str) -> list[Pattern]:
    patterns = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        exclusion = line.startswith("!")
        if exclusion:
            line = line[1:].strip()
        cleaned = _clean(line)
        if cleaned:
            patterns.append(Pattern(cleaned, exclusion))
    return patterns


def is_excluded(path: str, patterns: list[Pattern]) -> bool:
    excluded = False
    for pattern in patterns:  # the last matching line decides
        if pattern.matches(path):
            excluded = not pattern.exclusion
    return excluded


def _exception_may_reach_below(directory: str, patterns: list[Pattern]) -> bool:
    # Docker still walks an excluded directory when a "!" line may re-include
    # something inside it.
    dir_parts = directory.split("/")
    for pattern in patterns:
        if not pattern.exclusion:
            continue
        if "**" in pattern.text:
            return True
        prefix = "/".join(pattern.parts[: len(dir_parts)])
        if len(pattern.parts) > len(dir_parts) and re.match(_pattern_regex(prefix), directory):
            return True
    return False


@dataclass
class Context:
    files: list[tuple[str, int]]  # (path relative to the root, bytes)

    @property
    def size(self) -> int:
        return sum(size for _, size in self.files)


def build_context(root: Path) -> Context:
    """The files `docker build` sends for this directory. Symbolic links are sent as links."""
    ignore = root / ".dockerignore"
    patterns = read_dockerignore(ignore.read_text()) if ignore.exists() else []
    files: list[tuple[str, int]] = []
    for current, dirnames, filenames in os.walk(root):
        base = Path(current).relative_to(root).as_posix()
        base = "" if base == "." else base + "/"
        kept = []
        for name in sorted(dirnames):
            path = base + name
            if (Path(current) / name).is_symlink():
                filenames.append(name)  # a link to a directory is one entry, not followed
            elif not is_excluded(path, patterns) or _exception_may_reach_below(path, patterns):
                kept.append(name)
        dirnames[:] = kept
        for name in sorted(filenames):
            path = base + name
            # The builder always receives these two (it doesn't COPY them when excluded).
            if path in ("Dockerfile", ".dockerignore") or not is_excluded(path, patterns):
                files.append((path, (Path(current) / name).lstat().st_size))
    return Context(sorted(files))


def context_problems(context: Context, max_bytes: int) -> list[str]:
    problems = []
    for regex, what in FORBIDDEN:
        hits = [path for path, _ in context.files if regex.search(path)]
        if hits:
            shown = ", ".join(hits[:5]) + (f" and {len(hits) - 5} more" if len(hits) > 5 else "")
            problems.append(f"the build context holds {what}: {shown}")
    if context.size > max_bytes:
        problems.append(f"the build context is {_mb(context.size)}, over the {_mb(max_bytes)} bound")
    return problems


def _mb(size: int) -> str:
    return f"{size / 1024 / 1024:.2f} MB"


# --- Dockerfile -------------------------------------------------------------------


def dockerfile_instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    instructions, pending = [], ""
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("#") or (not line and not pending):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line, pending = pending + line, ""
        keyword, _, args = line.partition(" ")
        instructions.append((keyword.upper(), args.strip()))
    return instructions


def stages(text: str) -> list[list[tuple[str, str]]]:
    result: list[list[tuple[str, str]]] = []
    for instruction in dockerfile_instructions(text):
        if instruction[0] == "FROM":
            result.append([])
        if result:
            result[-1].append(instruction)
    return result


def final_stage_user(text: str) -> str | None:
    """The user the final stage runs as; None when it never says (root)."""
    all_stages = stages(text)
    users = [args for keyword, args in all_stages[-1] if keyword == "USER"] if all_stages else []
    return users[-1] if users else None


def final_stage_command(text: str) -> str | None:
    """The final stage's CMD as one shell line (exec form or shell form)."""
    all_stages = stages(text)
    commands = [args for keyword, args in all_stages[-1] if keyword == "CMD"] if all_stages else []
    if not commands:
        return None
    try:
        words = json.loads(commands[-1])
    except ValueError:
        return commands[-1]
    return " ".join(words)


def is_root(user: str | None) -> bool:
    if user is None:
        return True
    name = user.split(":")[0].strip()
    return name in ("root", "0", "")


def requirement_files(text: str) -> list[str]:
    """The requirement files the final stage's RUN lines install from."""
    files: list[str] = []
    all_stages = stages(text)
    for keyword, args in all_stages[-1] if all_stages else []:
        if keyword != "RUN":
            continue
        words = shlex.split(args, posix=True)
        for i, word in enumerate(words):
            if word in ("-r", "--requirement") and i + 1 < len(words):
                files.append(words[i + 1])
            elif word.startswith("--requirement="):
                files.append(word.split("=", 1)[1])
    return list(dict.fromkeys(files))


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def read_requirements(path: Path, seen: set[Path] | None = None) -> list[str]:
    """The pinned lines of a requirements file, following `-r` includes (canonical names)."""
    seen = set() if seen is None else seen
    path = path.resolve()
    if path in seen:
        return []
    seen.add(path)
    names = []
    for raw in path.read_text().splitlines():
        line = raw.split(" #")[0].strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith(("-r ", "--requirement ")) or line.startswith("--requirement="):
            included = re.split(r"[= ]", line, maxsplit=1)[1].strip()
            names += read_requirements(path.parent / included, seen)
        elif not line.startswith("-"):
            match = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", line)
            if match:
                names.append(canonical(match.group(0)))
    return names


def is_dev_tool(name: str) -> bool:
    return name in DEV_TOOLS or name.startswith(DEV_PREFIXES) or name.endswith("-stubs")


def image_packages(root: Path, dockerfile_text: str) -> tuple[list[str], list[str]]:
    """(requirement files, packages) the image installs."""
    files = requirement_files(dockerfile_text)
    names: list[str] = []
    for name in files:
        # COPY puts the file at the WORKDIR; it comes from the context's root.
        names += read_requirements(root / PurePosixPath(name).name)
    return files, sorted(set(names))


# --- main -------------------------------------------------------------------------


def check(root: Path, max_bytes: int = MAX_CONTEXT_BYTES) -> tuple[list[str], list[str]]:
    """(report lines, problems); no problems means the image's inputs pass."""
    report, problems = [], []

    context = build_context(root)
    report.append(f"build context: {len(context.files)} files, {_mb(context.size)} (bound {_mb(max_bytes)})")
    largest = sorted(context.files, key=lambda item: -item[1])[:3]
    report.append("  largest: " + ", ".join(f"{path} ({size / 1024:.0f} kB)" for path, size in largest))
    problems += context_problems(context, max_bytes)

    dockerfile = (root / "Dockerfile").read_text()
    files, packages = image_packages(root, dockerfile)
    if not files:
        problems.append("the Dockerfile installs from no requirements file (-r FILE)")
    report.append(f"final stage installs ({', '.join(files)}): {len(packages)} packages")
    report.append("  " + ", ".join(packages))
    dev = [name for name in packages if is_dev_tool(name)]
    if dev:
        problems.append(f"the image would install development tools: {', '.join(dev)}")

    command = final_stage_command(dockerfile)
    report.append(f"container command: {command}")
    compose = root / "docker-compose.yml"
    if compose.exists() and command and command not in " ".join(compose.read_text().split()):
        problems.append(f"docker-compose.yml's web command doesn't run the image's command ({command})")

    user = final_stage_user(dockerfile)
    report.append(f"final stage runs as: {user or 'root (no USER)'}")
    if is_root(user):
        problems.append("the Dockerfile's final stage runs as root: add a USER that is not root")
    return report, problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=ROOT)
    parser.add_argument("--max-bytes", type=int, default=MAX_CONTEXT_BYTES)
    args = parser.parse_args(argv)
    report, problems = check(args.root, args.max_bytes)
    print("\n".join(report))
    for problem in problems:
        print(f"FAIL: {problem}")
    if not problems:
        print("image check: context, packages and user are fit for the image")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
