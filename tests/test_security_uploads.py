"""Uploads: a size limit the page enforces itself, imported content served back
only as escaped text, and no code in Demarche that fetches a URL."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from annotations.models import Article

from .factories import ArticleFactory

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parent.parent
UPLOAD = "/articles/upload/"
SCRIPT = "<script>alert(1)</script>"
ESCAPED_SCRIPT = "&lt;script&gt;alert(1)&lt;/script&gt;"


def line(**values: object) -> str:
    record = {"title": "Talks resume", "text": "The minister said talks resume.", **values}
    return json.dumps(record, ensure_ascii=False)


def jsonl_file(*lines: str, name: str = "articles.jsonl") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, "\n".join(lines).encode(), content_type="application/x-ndjson")


# --- Size -------------------------------------------------------------------------------------


def test_a_file_over_the_limit_is_refused_with_413_and_nothing_is_written(login, reviewer, settings):
    settings.IMPORT_MAX_BYTES = 1_000
    body = line(text="x" * 1_100)
    assert len(body.encode()) > 1_000
    response = login(reviewer).post(UPLOAD, {"file": jsonl_file(body)})
    assert response.status_code == 413
    page = response.content.decode()
    assert "the limit is 1,000 bytes" in page
    assert "nothing was imported" in page
    assert not Article.objects.exists()


def test_the_default_limit_is_five_mebibytes_even_for_a_file_streamed_to_disk(login, reviewer, settings):
    assert settings.IMPORT_MAX_BYTES == 5 * 1024 * 1024
    # Past FILE_UPLOAD_MAX_MEMORY_SIZE Django writes the upload to a temporary
    # file instead of refusing it: the page must check the size itself.
    assert settings.IMPORT_MAX_BYTES + 1 > settings.FILE_UPLOAD_MAX_MEMORY_SIZE
    payload = (line(text="y" * 100) + "\n") * (settings.IMPORT_MAX_BYTES // 100)
    assert len(payload.encode()) > settings.IMPORT_MAX_BYTES
    upload = SimpleUploadedFile("big.jsonl", payload.encode(), content_type="application/x-ndjson")
    response = login(reviewer).post(UPLOAD, {"file": upload})
    assert response.status_code == 413
    assert not Article.objects.exists()


def test_a_file_at_the_limit_is_imported(login, reviewer, settings):
    body = line()
    settings.IMPORT_MAX_BYTES = len(body.encode())
    response = login(reviewer).post(UPLOAD, {"file": jsonl_file(body)})
    assert response.status_code == 200
    assert Article.objects.count() == 1


def test_only_reviewers_can_upload(login, analyst):
    response = login(analyst).post(UPLOAD, {"file": jsonl_file(line())})
    assert response.status_code == 403
    assert not Article.objects.exists()


# --- Imported content comes back as text -------------------------------------------------------


def test_a_script_in_an_imported_title_is_shown_escaped_on_the_queue(login, reviewer):
    hostile_url = 'https://example.org/a"><script>alert(2)</script>'
    # A valid URL (a path may hold any of these characters) that another article has:
    # the line is skipped, and the report repeats the URL.
    ArticleFactory(title="Already here", url=hostile_url)
    lines = [line(title=SCRIPT), line(title="Another", text="A different text.", url=hostile_url)]
    client = login(reviewer)
    report = client.post(UPLOAD, {"file": jsonl_file(*lines)})
    assert report.status_code == 200
    page = report.content.decode()
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in page  # the skipped line's URL, as text
    assert Article.objects.filter(title=SCRIPT).count() == 1  # stored as data, unchanged

    queue = client.get(reverse("annotations:home")).content.decode()
    assert SCRIPT not in queue
    assert ESCAPED_SCRIPT in queue
    annotate = client.get(Article.objects.get(title="Already here").annotate_url).content.decode()
    assert "<script>alert" not in annotate
    assert 'href="https://example.org/a&quot;&gt;&lt;script&gt;alert(2)&lt;/script&gt;"' in annotate


def test_a_refused_file_reports_its_problems_as_text(login, reviewer):
    response = login(reviewer).post(UPLOAD, {"file": jsonl_file(line(title=SCRIPT, published_on=SCRIPT))})
    assert response.status_code == 422
    assert SCRIPT not in response.content.decode()
    assert not Article.objects.exists()


@pytest.mark.parametrize("url", ["javascript:alert(1)", "data:text/html,<script>alert(1)</script>", "vbscript:x"])
def test_an_import_refuses_a_link_that_is_not_http(login, reviewer, url):
    response = login(reviewer).post(UPLOAD, {"file": jsonl_file(line(url=url))})
    assert response.status_code == 422
    assert not Article.objects.exists()


# --- No URL fetching anywhere ------------------------------------------------------------------

FETCHERS = re.compile(
    r"\burlopen\b|\burllib\.request\b|\bfrom urllib import request\b|\brequests\.(get|post|put|request|Session)\b"
    r"|\bimport requests\b|\bhttpx\b|\baiohttp\b|\bhttp\.client\b|\bpycurl\b|\bsocket\.create_connection\b"
)


def test_no_code_in_demarche_fetches_a_url():
    """Imports take files, never URLs: there is no server-side request to forge.
    Adding one must come with an SSRF guard (and an update to this test)."""
    sources = [*sorted((ROOT / "annotations").rglob("*.py")), *sorted((ROOT / "config").rglob("*.py"))]
    assert len(sources) > 20
    offenders = [
        f"{path.relative_to(ROOT)}:{number}: {text.strip()}"
        for path in sources
        for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if FETCHERS.search(text)
    ]
    assert not offenders, "\n".join(offenders)


def test_the_fetcher_pattern_catches_what_it_should():
    for text in ("urllib.request.urlopen(url)", "import requests", "requests.get(url)", "httpx.get(u)"):
        assert FETCHERS.search(text), text
    assert not FETCHERS.search("request.GET.get('url')")
