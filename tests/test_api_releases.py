"""Releases: a reviewer freezes the curated dataset; the files never change."""

# Shared fixtures are imported from test_api_support by name, which pyflakes
# reads as unused imports shadowed by the test arguments.
# ruff: noqa: F401, F811

from __future__ import annotations

import hashlib
import json

import pytest

from annotations import services
from annotations.models import Quote, Release, ReleaseFile

from .factories import StanceFactory, TargetFactory
from .test_api_support import api, curated_quote, isolated_media, raw_quote, seeded

pytestmark = pytest.mark.django_db


def download(client, url: str) -> bytes:
    response = client.get(url)
    assert response.status_code == 200, url
    return b"".join(response.streaming_content)


def test_a_reviewer_freezes_the_curated_dataset(seeded, reviewer, researcher, api):
    response = api(reviewer).post(
        "/api/v1/releases/", {"name": "v1", "note": "First release: the worked example."}, format="json"
    )
    assert response.status_code == 201, response.content
    release = response.json()
    assert (release["name"], release["quote_count"], release["article_count"]) == ("v1", 8, 1)
    assert release["created_by"] == "reviewer"
    assert {file["format"] for file in release["files"]} == {
        *("jsonl", "csv", "xlsx", "w3c", "doccano", "labelstudio", "parquet"),
        *("datasheet", "cff", "bibtex"),
    }
    client = api(researcher)
    for file in release["files"]:
        body = download(client, file["url"])
        assert hashlib.sha256(body).hexdigest() == file["sha256"]
        assert len(body) == file["size"]
    jsonl = next(file for file in release["files"] if file["format"] == "jsonl")
    assert release["sha256"] == jsonl["sha256"]
    rows = [json.loads(line) for line in download(client, jsonl["url"]).decode().splitlines()]
    assert len(rows) == 8 and all(row["layer"] == "curated" for row in rows)


def test_a_release_file_is_served_byte_for_byte_even_after_the_data_changes(seeded, reviewer, researcher, api):
    release = services.build_release(name="v1", note="", filters={}, user=reviewer)
    url = f"/api/v1/releases/{release.pk}/files/jsonl"
    before = download(api(researcher), url)
    Quote.objects.curated().update(kind="mixed")
    response = api(researcher).get(url)
    after = b"".join(response.streaming_content)
    assert after == before
    assert response["X-Checksum-SHA256"] == hashlib.sha256(before).hexdigest()
    assert response["Content-Disposition"].startswith('attachment; filename="demarche-v1-jsonl.jsonl"')
    assert response["X-Content-Type-Options"] == "nosniff"


def test_a_release_can_freeze_a_filtered_dataset(reviewer, api):
    target = TargetFactory(slug="iran-nuclear")
    StanceFactory(quote=curated_quote(), target=target)
    curated_quote()
    response = api(reviewer).post(
        "/api/v1/releases/", {"name": "iran", "filters": {"target": "iran-nuclear"}}, format="json"
    )
    assert response.status_code == 201, response.content
    assert response.json()["quote_count"] == 1
    assert response.json()["filters"] == {"target": "iran-nuclear"}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "v1", "filters": {"annotator": "analyst"}}, "filters"),
        ({"name": "v1", "filters": {"layer": "raw"}}, "filters"),
        ({"name": "v1", "filters": {"target": "atlantis"}}, "filters"),
        ({"name": "../../etc"}, "name"),
        ({"name": ""}, "name"),
    ],
)
def test_bad_releases_are_refused_by_field(reviewer, api, body, field):
    curated_quote()
    response = api(reviewer).post("/api/v1/releases/", body, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert not Release.objects.exists()


def test_a_release_name_is_used_once(reviewer, api):
    curated_quote()
    assert api(reviewer).post("/api/v1/releases/", {"name": "v1"}, format="json").status_code == 201
    response = api(reviewer).post("/api/v1/releases/", {"name": "v1"}, format="json")
    assert response.status_code == 400
    assert "already exists" in response.json()["name"][0]


def test_a_release_of_nothing_is_refused(reviewer, analyst, api):
    raw_quote(analyst)  # only raw work: nothing curated to release
    response = api(reviewer).post("/api/v1/releases/", {"name": "v1"}, format="json")
    assert response.status_code == 400
    assert not Release.objects.exists()
    assert not ReleaseFile.objects.exists()


def test_a_failed_release_leaves_no_files_behind(reviewer, settings, monkeypatch):
    curated_quote()

    def broken(release, fmt, quotes):
        if fmt == "w3c":
            raise OSError("disk full")
        return original(release, fmt, quotes)

    original = services._write_file
    monkeypatch.setattr(services, "_write_file", broken)
    with pytest.raises(OSError):
        services.build_release(name="v1", note="", filters={}, user=reviewer)
    assert not Release.objects.exists()
    assert not any(path.is_file() for path in (settings.MEDIA_ROOT / "releases").rglob("*"))


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_releases_can_not_be_changed_or_deleted(reviewer, admin_user, api, method):
    curated_quote()
    release = services.build_release(name="v1", note="", filters={}, user=reviewer)
    for user in (reviewer, admin_user):
        response = getattr(api(user), method)(f"/api/v1/releases/{release.pk}/", {"note": "x"}, format="json")
        assert response.status_code == 405
    assert Release.objects.get().note == ""


def test_an_unknown_release_file_is_404(reviewer, api):
    curated_quote()
    release = services.build_release(name="v1", note="", filters={}, user=reviewer)
    assert api(reviewer).get(f"/api/v1/releases/{release.pk}/files/ods").status_code == 404
    assert api(reviewer).get("/api/v1/releases/999/files/jsonl").status_code == 404


def test_releases_are_listed_newest_first_with_file_urls(reviewer, researcher, api):
    curated_quote()
    services.build_release(name="v1", note="", filters={}, user=reviewer)
    services.build_release(name="v2", note="", filters={}, user=reviewer)
    rows = api(researcher).get("/api/v1/releases/").json()["results"]
    assert [row["name"] for row in rows] == ["v2", "v1"]
    assert rows[0]["files"][0]["url"].startswith("http://testserver/api/v1/releases/")
