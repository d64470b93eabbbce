"""`make image-check` (.ci/image_check.py): the image's inputs, checked without Docker."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

_spec = importlib.util.spec_from_file_location("image_check", ROOT / ".ci" / "image_check.py")
assert _spec is not None and _spec.loader is not None
image_check = importlib.util.module_from_spec(_spec)
sys.modules["image_check"] = image_check  # dataclasses look their module up there
_spec.loader.exec_module(image_check)

GOOD_DOCKERFILE = """\
FROM python:3.12-slim AS build
COPY requirements.txt .
RUN pip wheel --wheel-dir /wheels -r requirements.txt

FROM python:3.12-slim
RUN useradd --system demarche
COPY requirements.txt .
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \\
    pip install --no-index --find-links /wheels -r requirements.txt
COPY . .
USER demarche
CMD ["gunicorn", "config.wsgi:application"]
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A small project that passes: an app file, runtime and dev requirements, a .dockerignore."""
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "views.py").write_text("x = 1\n")
    (tmp_path / "Dockerfile").write_text(GOOD_DOCKERFILE)
    (tmp_path / "requirements.txt").write_text("Django==6.1.3\npsycopg[binary]==3.3.9  # driver\n")
    (tmp_path / "requirements-dev.txt").write_text("-r requirements.txt\npytest==9.2.0\nruff==0.17.5\n")
    (tmp_path / ".dockerignore").write_text(".venv\n.git\n**/__pycache__\n*.sqlite3\n")
    return tmp_path


def context_paths(root: Path) -> list[str]:
    return [path for path, _ in image_check.build_context(root).files]


def problems(root: Path, **kwargs: int) -> list[str]:
    return image_check.check(root, **kwargs)[1]


def test_the_projects_own_image_inputs_pass():
    report, found = image_check.check(ROOT)
    assert found == []
    assert any(line.startswith("final stage runs as: demarche") for line in report)


def test_a_small_project_passes(project):
    assert problems(project) == []
    assert context_paths(project) == [
        ".dockerignore",
        "Dockerfile",
        "app/views.py",
        "requirements-dev.txt",
        "requirements.txt",
    ]


def test_a_virtualenv_in_the_context_fails(project):
    (project / ".venv" / "bin").mkdir(parents=True)
    (project / ".venv" / "bin" / "python").write_text("#!")
    (project / ".dockerignore").write_text("*.sqlite3\n")
    assert any("a virtualenv: .venv/bin/python" in problem for problem in problems(project))


def test_a_virtualenv_linked_into_the_context_fails_without_being_followed(project, tmp_path_factory):
    elsewhere = tmp_path_factory.mktemp("shared-venv")
    (elsewhere / "big").write_bytes(b"x" * 1000)
    (project / ".venv").symlink_to(elsewhere)
    (project / ".dockerignore").write_text("")
    assert ".venv" in context_paths(project)
    assert "big" not in " ".join(context_paths(project))
    assert any("a virtualenv: .venv" in problem for problem in problems(project))


def test_git_data_and_a_database_in_the_context_fail(project):
    (project / ".dockerignore").write_text("")
    (project / ".git").write_text("gitdir: /elsewhere\n")
    (project / "db.sqlite3-wal").write_bytes(b"")
    found = problems(project)
    assert any("git data: .git" in problem for problem in found)
    assert any("a database file: db.sqlite3-wal" in problem for problem in found)


def test_test_artifacts_in_the_context_fail(project):
    (project / "test-artifacts").mkdir()
    (project / "test-artifacts" / "trace.zip").write_bytes(b"")
    assert any("test artifacts: test-artifacts/trace.zip" in problem for problem in problems(project))


def test_a_context_over_the_bound_fails_and_says_its_size(project):
    (project / "app" / "blob.bin").write_bytes(b"x" * 3000)
    found = problems(project, max_bytes=2000)
    assert any("over the 0.00 MB bound" in problem for problem in found)


def test_ignore_patterns_match_as_dockers_do(project):
    (project / "app" / "__pycache__").mkdir()
    (project / "app" / "__pycache__" / "views.cpython-312.pyc").write_bytes(b"")
    (project / "app" / "notes").mkdir()
    (project / "app" / "notes" / "a.md").write_text("")
    (project / "app" / "notes" / "keep.md").write_text("")
    (project / "local.sqlite3").write_bytes(b"")
    (project / "app" / "nested.sqlite3").write_bytes(b"")
    (project / ".dockerignore").write_text(
        "# a comment\n"
        "**/__pycache__\n"  # any depth
        "*.sqlite3\n"  # the root only: * never crosses a /
        "/app/notes\n"  # a directory excludes what it holds; a leading / is the root
        "!app/notes/keep.md\n"  # ... but a later ! line re-includes
    )
    paths = context_paths(project)
    assert "app/__pycache__/views.cpython-312.pyc" not in paths
    assert "local.sqlite3" not in paths
    assert "app/nested.sqlite3" in paths
    assert "app/notes/a.md" not in paths
    assert "app/notes/keep.md" in paths


def test_the_last_matching_line_decides(project):
    (project / "a.txt").write_text("")
    (project / ".dockerignore").write_text("!a.txt\n*.txt\n")
    assert "a.txt" not in context_paths(project)
    (project / ".dockerignore").write_text("*.txt\n!a.txt\n")
    assert "a.txt" in context_paths(project)


@pytest.mark.parametrize(
    ("pattern", "path", "excluded"),
    [
        ("**", "a/b/c", True),
        ("a/**/c", "a/c", True),
        ("a/**/c", "a/x/y/c", True),
        ("a/*/c", "a/x/y/c", False),
        ("?.py", "a.py", True),
        ("?.py", "ab.py", False),
        ("*.py[co]", "x.pyc", True),
        ("docs", "docs/img/a.png", True),
        ("docs", "sub/docs/a.png", False),
    ],
)
def test_one_pattern(pattern, path, excluded):
    assert image_check.is_excluded(path, image_check.read_dockerignore(pattern)) is excluded


def test_a_dev_tool_in_the_runtime_set_fails_and_is_named(project, capsys):
    (project / "requirements.txt").write_text("-r base.txt\nDjango==6.1.3\n")
    (project / "base.txt").write_text("gunicorn==27.0.1\npytest_django==4.14.0\nplaywright==1.65.2\n")
    assert image_check.main(["--root", str(project)]) == 1
    out = capsys.readouterr().out
    assert "django, gunicorn, playwright, pytest-django" in out
    assert "FAIL: the image would install development tools: playwright, pytest-django" in out


def test_installing_the_dev_set_in_the_final_stage_fails(project):
    (project / "Dockerfile").write_text(
        GOOD_DOCKERFILE.replace("/wheels -r requirements.txt", "-r requirements-dev.txt")
    )
    assert any("pytest, ruff" in problem for problem in problems(project))


@pytest.mark.parametrize("user_line", ["", "USER root\n", "USER 0:0\n", "USER demarche\nUSER root\n"])
def test_a_final_stage_running_as_root_fails(project, user_line):
    dockerfile = GOOD_DOCKERFILE.replace("USER demarche\n", user_line)
    (project / "Dockerfile").write_text(dockerfile)
    assert any("runs as root" in problem for problem in problems(project))


def test_a_user_in_the_build_stage_only_leaves_the_final_stage_root(project):
    dockerfile = GOOD_DOCKERFILE.replace("USER demarche\n", "").replace("AS build\n", "AS build\nUSER builder\n")
    (project / "Dockerfile").write_text(dockerfile)
    assert any("runs as root" in problem for problem in problems(project))


def test_the_report_prints_size_file_count_packages_and_user(project, capsys):
    assert image_check.main(["--root", str(project)]) == 0
    out = capsys.readouterr().out
    assert "build context: 5 files" in out
    assert "django, psycopg" in out
    assert "final stage runs as: demarche" in out


def test_a_compose_file_that_runs_another_command_fails(project):
    (project / "docker-compose.yml").write_text(
        "services:\n  web:\n    command: >-\n"
        '      sh -c "python manage.py migrate\n      && gunicorn config.wsgi:application"\n'
    )
    assert problems(project) == []
    (project / "docker-compose.yml").write_text("services:\n  web:\n    command: python manage.py runserver\n")
    assert any("doesn't run the image's command (gunicorn config.wsgi:application)" in p for p in problems(project))
