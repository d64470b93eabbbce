"""Release files in an S3-compatible bucket: built and served as from a local folder.

moto's S3 server runs on 127.0.0.1 (a real HTTP endpoint, as MinIO would be); the
default storage points at it with the options settings build from STORAGE_*
(``config.settings.object_storage``), and the release goes through the normal
service and the normal download endpoint.
"""

# Shared fixtures are imported from test_api_support by name, which pyflakes
# reads as unused imports shadowed by the test arguments.
# ruff: noqa: F401, F811

from __future__ import annotations

import hashlib
import socket
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from django.core.files.storage import default_storage
from moto.server import ThreadedMotoServer
from storages.backends.s3 import S3Storage

from annotations import exporters, services
from annotations.models import Quote, Release, ReleaseFile
from config.settings import object_storage

from .test_api_support import api, curated_quote, isolated_media

pytestmark = pytest.mark.django_db

REGION = "eu-west-3"
KEYS = {"access_key": "moto-test-key", "secret_key": "moto-test-secret"}  # moto accepts any


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def s3(s3_endpoint: str) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=s3_endpoint,
        region_name=REGION,
        aws_access_key_id=KEYS["access_key"],
        aws_secret_access_key=KEYS["secret_key"],
    )


@pytest.fixture
def bucket(s3: Any, s3_endpoint: str, settings: Any) -> str:
    """A fresh bucket, and the default storage pointed at it as STORAGE_* would."""
    name = f"demarche-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})
    default = object_storage(name, endpoint_url=s3_endpoint, region_name=REGION, location="demarche", **KEYS)
    settings.STORAGES = {**settings.STORAGES, "default": default}
    return name


def stored_keys(s3: Any, bucket: str) -> list[str]:
    return sorted(item["Key"] for item in s3.list_objects_v2(Bucket=bucket).get("Contents", []))


def download(response: Any) -> bytes:
    assert response.status_code == 200, response.content
    return b"".join(response.streaming_content)


def test_the_default_storage_is_the_bucket_and_has_no_local_path(bucket):
    assert isinstance(default_storage, S3Storage)
    with pytest.raises(NotImplementedError):
        default_storage.path("releases/x.jsonl")


def test_a_release_is_written_to_the_bucket_and_served_byte_for_byte(bucket, s3, reviewer, researcher, api, settings):
    curated_quote()
    curated_quote()
    release = services.build_release(name="v1", note="", filters={}, user=reviewer)
    # What the export produces for the same rows, now: the release froze exactly this.
    expected = b"".join(
        exporters.export(Quote.objects.curated().order_by("id"), "jsonl", iri=exporters.release_iri(release.name))
    )

    keys = stored_keys(s3, bucket)
    assert len(keys) == len(services.RELEASE_FORMATS) + len(services.RELEASE_DOCUMENTS)
    assert all(key.startswith(f"demarche/releases/{release.pk}-v1/") for key in keys)
    assert {
        f"demarche/releases/{release.pk}-v1/{name}" for name in ("DATASHEET.md", "CITATION.cff", "release.bib")
    } <= set(keys)
    assert not (settings.MEDIA_ROOT / "releases").exists()

    response = api(researcher).get(f"/api/v1/releases/{release.pk}/files/jsonl")
    body = download(response)
    assert body == expected
    assert response["X-Checksum-SHA256"] == hashlib.sha256(body).hexdigest() == release.sha256
    assert response["Content-Length"] == str(len(body))
    assert response["Content-Disposition"].startswith('attachment; filename="demarche-v1-jsonl.jsonl"')
    for release_file in ReleaseFile.objects.filter(release=release):
        served = download(api(reviewer).get(f"/api/v1/releases/{release.pk}/files/{release_file.format}"))
        assert hashlib.sha256(served).hexdigest() == release_file.sha256
        assert len(served) == release_file.size


def test_release_files_in_the_bucket_are_private(bucket, s3, reviewer):
    curated_quote()
    services.build_release(name="v1", note="", filters={}, user=reviewer)
    for key in stored_keys(s3, bucket):
        grants = s3.get_object_acl(Bucket=bucket, Key=key)["Grants"]
        assert not [grant for grant in grants if "URI" in grant["Grantee"]], (
            key,
            grants,
        )  # AllUsers, AuthenticatedUsers
    # Where the storage hands out a URL (the admin's link), it is signed and short-lived.
    url = default_storage.url(ReleaseFile.objects.first().file.name)
    assert "X-Amz-Signature=" in url and "X-Amz-Expires=300" in url


def test_the_download_is_refused_as_before(bucket, reviewer, analyst, outsider, api):
    curated_quote()
    release = services.build_release(name="v1", note="", filters={}, user=reviewer)
    url = f"/api/v1/releases/{release.pk}/files/jsonl"
    assert api(None).get(url).status_code == 401
    assert api(analyst).get(url).status_code == 403  # releases are for reviewers and researchers
    assert api(outsider).get(url).status_code == 403
    assert api(reviewer).get(f"/api/v1/releases/{release.pk}/files/ods").status_code == 404
    assert api(reviewer).get(f"/api/v1/releases/{release.pk + 1}/files/jsonl").status_code == 404


def test_a_failed_release_leaves_nothing_in_the_bucket(bucket, s3, reviewer, monkeypatch):
    curated_quote()
    original = services._write_file

    def broken(release, fmt, quotes):
        if fmt == "w3c":
            raise OSError("bucket unreachable")
        return original(release, fmt, quotes)

    monkeypatch.setattr(services, "_write_file", broken)
    with pytest.raises(OSError):
        services.build_release(name="v1", note="", filters={}, user=reviewer)
    assert not Release.objects.exists()
    assert stored_keys(s3, bucket) == []
