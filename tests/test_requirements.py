"""requirements.txt is what the app needs to serve; requirements-dev.txt adds the rest.

The container installs requirements.txt only, so everything the served code imports
must be there. Without a network to build a clean environment, the check reads the
imports themselves: every top-level module that annotations/, config/ and
manage.py import (at any depth, in functions too), every module settings name by
dotted path (apps, middleware, backends), the container's server and the cache's
Redis client, mapped to the distribution that installed it.
"""

from __future__ import annotations

import ast
import importlib.metadata
import importlib.util
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIRST_PARTY = {"annotations", "config"}

_spec = importlib.util.spec_from_file_location("image_check", ROOT / ".ci" / "image_check.py")
assert _spec is not None and _spec.loader is not None
image_check = importlib.util.module_from_spec(_spec)
sys.modules["image_check"] = image_check  # dataclasses look their module up there
_spec.loader.exec_module(image_check)

# Imported by name where no import statement shows it: the container's command runs
# gunicorn, and Django's RedisCache (REDIS_URL) imports redis when it is first used.
NAMED_ELSEWHERE = {"gunicorn", "redis"}
DOTTED = re.compile(r"^[a-z_][a-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+$")


def served_sources() -> list[Path]:
    return [*ROOT.glob("annotations/**/*.py"), *ROOT.glob("config/**/*.py"), ROOT / "manage.py"]


def top_level_imports(path: Path) -> set[str]:
    modules = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            modules |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules.add(node.module.split(".")[0])
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and DOTTED.match(node.value):
            # INSTALLED_APPS, MIDDLEWARE, backends; not "db.sqlite3" or "security.W021".
            top = node.value.split(".")[0]
            if path.name == "settings.py" and importlib.util.find_spec(top) is not None:
                modules.add(top)
    return modules


def third_party_modules() -> set[str]:
    modules = set().union(*(top_level_imports(path) for path in served_sources())) | NAMED_ELSEWHERE
    return {m for m in modules if m not in sys.stdlib_module_names and m not in FIRST_PARTY and m != "__future__"}


def distributions_of(modules: set[str]) -> dict[str, set[str]]:
    installed = importlib.metadata.packages_distributions()
    return {module: {image_check.canonical(d) for d in installed.get(module, [])} for module in modules}


def test_every_module_the_app_imports_comes_from_the_runtime_set():
    runtime = set(image_check.read_requirements(ROOT / "requirements.txt"))
    by_module = distributions_of(third_party_modules())
    assert {"django", "rest_framework", "whitenoise", "psycopg", "gunicorn"} <= by_module.keys()
    unknown = sorted(module for module, dists in by_module.items() if not dists)
    assert unknown == [], f"imported but installed by no distribution: {unknown}"
    missing = {module: sorted(dists) for module, dists in by_module.items() if not dists & runtime}
    assert missing == {}, f"the served code imports these, but requirements.txt lacks them: {missing}"


def test_the_settings_dotted_paths_are_read_too():
    assert {"whitenoise", "knox", "axes", "drf_spectacular"} <= top_level_imports(ROOT / "config" / "settings.py")


def test_the_dev_set_includes_the_runtime_set_and_adds_only_what_serving_doesnt_need():
    dev_file = (ROOT / "requirements-dev.txt").read_text().splitlines()
    first_requirement = next(line for line in dev_file if line.strip() and not line.startswith("#"))
    assert first_requirement == "-r requirements.txt"
    runtime = image_check.read_requirements(ROOT / "requirements.txt")
    everything = image_check.read_requirements(ROOT / "requirements-dev.txt")
    added = set(everything) - set(runtime)
    assert {"pytest", "playwright", "ruff", "mypy", "bandit", "pip-audit", "schemathesis"} <= added
    assert not [name for name in runtime if image_check.is_dev_tool(name)]
    assert len(everything) == len(set(everything)), "a package is pinned in both files"


def test_every_pin_is_exact():
    for name in ("requirements.txt", "requirements-dev.txt"):
        for line in (ROOT / name).read_text().splitlines():
            line = line.split("#")[0].strip()
            if line and not line.startswith("-r "):
                assert re.fullmatch(r"[A-Za-z0-9._\-\[\]]+==[A-Za-z0-9.]+", line), f"{name}: {line}"
