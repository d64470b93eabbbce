"""The API's quotes as PostgreSQL writes them: a page of the list and the answer to a
write come from the JSONL export's SQL (``exporters.rendered_quotes``) on PostgreSQL,
and must be, byte for byte, what the one rendering in Python
(``serializers.quote_representations`` through DRF's renderer) answers."""

# Shared fixtures are imported from other test modules by name, which pyflakes
# reads as unused imports shadowed by the test arguments.
# ruff: noqa: F401, F811

from __future__ import annotations

import json
from urllib.parse import urlsplit

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from annotations import exporters
from annotations.api import JSONText
from annotations.models import Assignment, Quote

from .factories import ArticleFactory, AssignmentFactory, SpeakerFactory, StanceLabelFactory, TargetFactory
from .test_api_support import api
from .test_exporters import AWKWARD, awkward_quotes, raw_quote, span

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL writes the quotes on PostgreSQL only"),
]


def in_python(monkeypatch):
    """From here on, the API renders its quotes in Python, as on SQLite."""
    monkeypatch.setattr(exporters, "postgresql_renders", lambda queryset: False)


def answers(client, url: str) -> tuple[int, str, bytes]:
    response = client.get(url)
    return response.status_code, response["Content-Type"], response.content


def path_of(link: str) -> str:
    parts = urlsplit(link)
    return f"{parts.path}?{parts.query}"


@pytest.mark.parametrize("ordering", ["", "&ordering=-id", "&ordering=-published_on", "&ordering=start"])
def test_every_page_of_the_list_is_byte_for_byte_what_python_writes(
    awkward_quotes, researcher, reviewer, analyst, api, monkeypatch, ordering
):
    raw_quote(analyst, article=awkward_quotes["main"].article, **span(awkward_quotes["main"].article, "nested"))
    cases = [
        (researcher, f"/api/v1/quotes/?page_size=2{ordering}"),
        (reviewer, f"/api/v1/quotes/?page_size=2&layer=raw{ordering}"),
        (analyst, f"/api/v1/quotes/?page_size=1&layer=raw{ordering}"),
        (researcher, f"/api/v1/quotes/?article={awkward_quotes['main'].article_id}{ordering}"),
        (researcher, "/api/v1/quotes/?article=999999"),  # nothing to list
    ]
    written = {}
    for user, first in cases:
        client, url, pages = api(user), first, 0
        while url:  # forward through every page, then back along the previous links
            written[user.username, url] = answers(client, url)
            body = json.loads(written[user.username, url][2])
            url = path_of(body["next"]) if body["next"] else None
            pages += 1
        assert pages >= (1 if "article=" in first else 2), first
        previous = json.loads(written[user.username, next(reversed(written))[1]][2])["previous"]
        if previous:
            written[user.username, path_of(previous)] = answers(client, path_of(previous))

    in_python(monkeypatch)
    for (username, url), answer in written.items():
        user = {researcher.username: researcher, reviewer.username: reviewer, analyst.username: analyst}[username]
        assert answer == answers(api(user), url), url
    # The hostile text went through both: the escapes are DRF's, not the export's.
    everything = b"".join(content for _, _, content in written.values())
    assert b"\\u2028\\u2029" in everything and b"<script>&amp;</script>" in everything


def test_a_page_is_one_query_past_authentication(awkward_quotes, researcher, api):
    with CaptureQueriesContext(connection) as queries:
        response = api(researcher).get("/api/v1/quotes/?page_size=500")
    assert response.status_code == 200 and len(response.json()["results"]) == 3
    page = [query["sql"] for query in queries.captured_queries if "annotations_quote" in query["sql"]]
    assert len(page) == 1, page


@pytest.fixture
def hostile_stage(analyst):
    """An article of the analyst's with hostile text everywhere a written quote shows it."""
    article = ArticleFactory(pool=False, title=AWKWARD, text=f"Minister Awkward said: {AWKWARD} and more.")
    AssignmentFactory(annotator=analyst, article=article, status=Assignment.Status.IN_PROGRESS)
    TargetFactory(slug="t1", name=AWKWARD)
    StanceLabelFactory(slug="support")
    return {"article": article, "speaker": SpeakerFactory(name=AWKWARD, country="IL")}


def test_the_answer_to_a_write_is_byte_for_byte_what_a_read_returns(hostile_stage, analyst, api, monkeypatch):
    article, client = hostile_stage["article"], api(analyst)
    article.refresh_from_db()
    hostile = article.text.split(": ", 1)[1].removesuffix(" and more.")  # AWKWARD, as the article stores it
    start = article.text.index(hostile)
    body = {
        "article": article.pk,
        "start": start,
        "end": start + len(hostile),
        "text": hostile,
        "speaker": hostile_stage["speaker"].pk,
        "stances": [{"target": "t1", "label": "support", "confidence": 0.1 + 0.2, "note": AWKWARD}],
    }
    created = client.post("/api/v1/quotes/", body, format="json")
    assert created.status_code == 201, created.content
    url = f"/api/v1/quotes/{created.json()['id']}/"
    changed = client.patch(url, {"kind": "indirect"}, format="json", HTTP_IF_MATCH=created["ETag"])
    assert changed.status_code == 200, changed.content

    in_python(monkeypatch)
    read = client.get(url)
    assert changed.content == read.content and changed["ETag"] == read["ETag"] == '"2"'
    assert changed["Content-Type"] == read["Content-Type"] == "application/json"
    # The creation's answer was version 1 of the same quote: only what the change changed differs.
    first, now = json.loads(created.content), json.loads(read.content)
    assert {key for key in now if first[key] != now[key]} == {"kind", "version", "updated_at"}
    assert b"\\u2028\\u2029" in created.content and created["ETag"] == '"1"'
    assert Quote.objects.get().stances.get().note == AWKWARD


def test_a_write_is_answered_in_one_read_of_the_quote(hostile_stage, analyst, api):
    article = hostile_stage["article"]
    body = {"article": article.pk, "start": 0, "end": 8, "text": article.text[:8]}
    with CaptureQueriesContext(connection) as queries:
        response = api(analyst).post("/api/v1/quotes/", body, format="json")
    assert response.status_code == 201
    reads = [query["sql"] for query in queries.captured_queries if query["sql"].startswith("SELECT (")]
    assert len(reads) == 1 and '"annotations_quote"."id" = ' in reads[0], reads
    assert not [query for query in queries.captured_queries if 'FROM "annotations_stance"' in query["sql"]]


def test_a_client_can_not_forge_the_slot_the_json_goes_into(awkward_quotes, researcher, api):
    response = JSONText({"before": "slot-0", "results": JSONText.SLOT, "after": '"slot-'}, "[1]")
    assert response.marker.startswith("slot-") and len(response.marker) == 37
    assert response.data == {"before": "slot-0", "results": response.marker, "after": '"slot-'}
    # Through a view: a query that looks like a slot stays text in the links.
    answer = api(researcher).get(f"/api/v1/quotes/?page_size=1&q=slot-{'0' * 32}")
    assert answer.status_code == 200 and answer.json()["results"] == []


def test_one_articles_page_from_its_statement_is_byte_for_byte_the_general_answer(
    awkward_quotes, researcher, reviewer, analyst, second_analyst, api, monkeypatch
):
    main = awkward_quotes["main"].article
    for start in range(0, 12, 3):
        raw_quote(analyst, article=main, start=start, end=start + 2, text=main.text[start : start + 2])
    article = main.pk
    urls = [
        f"/api/v1/quotes/?article={article}",
        f"/api/v1/quotes/?article={article}&layer=raw",
        f"/api/v1/quotes/?article={article}&layer=curated&page_size=1",
        f"/api/v1/quotes/?layer=raw&page_size=2&article={article}",
        f"/api/v1/quotes/?article={article}&page_size=500",
        "/api/v1/quotes/?article=999999999",
        # Refused or odd: the general way answers these, whichever path looked first.
        "/api/v1/quotes/?article=0",
        "/api/v1/quotes/?article=-1",
        "/api/v1/quotes/?article=%D9%A3",  # an Arabic-Indic digit: isdigit() but not an id
        f"/api/v1/quotes/?article={2**63}",
        f"/api/v1/quotes/?article={article}&layer=nonsense",
        f"/api/v1/quotes/?article={article}&page_size=0",
        f"/api/v1/quotes/?article={article}&page_size=501",
        f"/api/v1/quotes/?article={article}&page_size=x",
    ]
    users = [researcher, reviewer, analyst, second_analyst]
    written = {}
    for user in users:
        for url in urls:
            written[user.pk, url] = answers(api(user), url)
            status, _, content = written[user.pk, url]
            following = json.loads(content)["next"] if status == 200 else None
            if following:
                written[user.pk, path_of(following)] = answers(api(user), path_of(following))
    assert sum(1 for status, _, _ in written.values() if status == 200) >= 4 * 6
    assert sum(1 for status, _, _ in written.values() if status == 400) >= 4 * 5

    monkeypatch.setattr("annotations.api.QuoteViewSet._one_articles_page", lambda view, request: None)
    for (user_pk, url), answer in written.items():
        user = next(user for user in users if user.pk == user_pk)
        assert answer == answers(api(user), url), url


def test_one_articles_page_is_one_query_past_authentication_and_builds_no_queryset(
    awkward_quotes, analyst, api, monkeypatch
):
    article = awkward_quotes["main"].article
    raw_quote(analyst, article=article, start=0, end=2, text=article.text[:2])
    api(analyst).get(f"/api/v1/quotes/?article={article.pk}&layer=raw")  # compiled for this shape
    monkeypatch.setattr("annotations.api.QuoteViewSet.filter_queryset", None)  # the general way would fail
    monkeypatch.setattr("annotations.api.QuoteFilter", None)
    with CaptureQueriesContext(connection) as queries:
        response = api(analyst).get(f"/api/v1/quotes/?article={article.pk}&layer=raw")
    # The fixture's raw quote of the analyst's on that article, and this one.
    assert response.status_code == 200 and len(response.json()["results"]) == 2
    page = [query["sql"] for query in queries.captured_queries if "annotations_quote" in query["sql"]]
    assert len(page) == 1, page
