"""A researcher's session from end to end, on the seed data, as a script would run it.

Log in, make a token on the tokens page, then with the token alone: list the
curated quotes of one speaker with one label, page through them with the
cursor, export JSONL and CSV and parse them, export W3C and check its shape,
and round-trip the article through doccano and Label Studio with identical
offsets (the import itself is a reviewer's, since researchers only read).
"""

from __future__ import annotations

# Shared fixtures are imported from test_api_support by name.
# ruff: noqa: F401, F811
import csv
import io
import json
import re

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from annotations.models import Quote, Speaker

from .test_api_support import isolated_media, seeded, token_for

pytestmark = pytest.mark.django_db


def worked_example() -> dict:
    return json.loads((settings.DEMO_DATA_DIR / "worked-example.json").read_text(encoding="utf-8"))


def read(client: Client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, response.content[:300]
    return b"".join(response.streaming_content).decode("utf-8")


def test_a_researchers_session(seeded):
    # 1. Log in with a password and make a token on the tokens page.
    browser = Client()
    assert (
        browser.post(reverse("login"), {"username": "researcher", "password": "demo-researcher-pass"}).status_code
        == 302
    )
    page = browser.post(reverse("annotations:token-list"), {"name": "my notebook", "days": 30})
    token = re.search(r'id="new-token" type="text" readonly value="([0-9a-f]+)"', page.content.decode()).group(1)

    # 2. From here on only the token: no cookies.
    api = Client(headers={"Authorization": f"Token {token}"})
    assert api.get("/api/v1/quotes/?layer=raw").status_code == 403

    price = Speaker.objects.get(name="Ned Price")
    expected = sorted(
        (row["start"], row["end"])
        for row in worked_example()["quotes"]
        if row["speaker"] == "Ned Price" and any(stance["label"] == "oppose" for stance in row.get("stances", []))
    )
    assert expected, "the worked example has Price opposing something"
    listing = api.get(f"/api/v1/quotes/?speaker={price.pk}&label=oppose").json()
    assert sorted((row["start"], row["end"]) for row in listing["results"]) == expected
    for row in listing["results"]:
        assert row["text"] == seeded.text[row["start"] : row["end"]]
        assert row["speaker"]["name"] == "Ned Price"

    # 3. Page through all of Price's quotes two at a time with the cursor.
    url, pages, seen = f"/api/v1/quotes/?speaker={price.pk}&page_size=2", 0, []
    while url:
        body = api.get(url).json()
        seen += body["results"]
        url, pages = body["next"], pages + 1
    price_quotes = [row for row in worked_example()["quotes"] if row["speaker"] == "Ned Price"]
    assert len(seen) == len(price_quotes) == 5
    assert pages == 3
    assert len({row["id"] for row in seen}) == 5

    # 4. Export JSONL and CSV; both describe the same quotes as the listing.
    lines = [
        json.loads(line) for line in read(api, f"/api/v1/quotes/export?format=jsonl&speaker={price.pk}").splitlines()
    ]
    assert sorted(row["id"] for row in lines) == sorted(row["id"] for row in seen)
    assert {row["offsets_convention"] for row in lines} == {"unicode-code-points, end-exclusive"}
    rows = list(csv.DictReader(io.StringIO(read(api, f"/api/v1/quotes/export?format=csv&speaker={price.pk}"))))
    assert {int(row["quote_id"]) for row in rows} == {row["id"] for row in seen}
    stance_count = sum(max(1, len(row["stances"])) for row in lines)
    assert len(rows) == stance_count  # one row per quote × target
    for row in rows:
        start, end = int(row["start"]), int(row["end"])
        assert seeded.text[start:end] == row["text"]

    # 5. W3C Web Annotation: a collection whose selectors point back into the text.
    document = json.loads(read(api, "/api/v1/quotes/export?format=w3c"))
    assert document["type"] == "AnnotationCollection"
    assert document["total"] == 8
    for item in document["first"]["items"]:
        exact, position = item["target"]["selector"]
        assert seeded.text[position["start"] : position["end"]] == exact["exact"]
        assert seeded.text[: position["start"]].endswith(exact["prefix"])

    # 6. doccano and Label Studio: a reviewer imports what the researcher exported.
    reviewer = get_user_model().objects.get(username="reviewer")
    reviewer_api = Client(headers={"Authorization": f"Token {token_for(reviewer)}"})
    curated = sorted(Quote.objects.curated().filter(article=seeded).values_list("start", "end"))
    # The second import lands on exactly the spans of the first: all 8 skipped as already there.
    for fmt, name, created in (("doccano", "spans.jsonl", 8), ("labelstudio", "tasks.json", 0)):
        exported = read(api, f"/api/v1/quotes/export?format={fmt}")
        upload = io.BytesIO(exported.encode("utf-8"))
        upload.name = name
        response = reviewer_api.post("/api/v1/quotes/import", {"file": upload, "format": fmt})
        assert response.status_code == 201, response.content
        report = response.json()
        assert (report["quotes_created"], len(report["skipped"])) == (created, 8 - created)
        imported = sorted(
            Quote.objects.raw_layer().filter(article=seeded, annotator__username="reviewer").values_list("start", "end")
        )
        assert imported == curated, fmt
