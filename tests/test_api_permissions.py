"""What the API's permissions mean beyond the table: IDOR, messages, tokens, throttles.

Who may call which route with which verb is one table for the whole site,
tests/test_security_access_matrix.py; this module keeps what that table can't
say (which rows a list holds, what a refusal tells its reader, tokens and CSRF).
"""

# Shared fixtures are imported from test_api_support by name, which pyflakes
# reads as unused imports shadowed by the test arguments.
# ruff: noqa: F401

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from annotations import services
from annotations.models import Article, Assignment, Quote

from .factories import ArticleFactory, AssignmentFactory, QuoteFactory, StanceLabelFactory, TargetFactory
from .test_api_support import api_client, curated_quote, isolated_media, raw_quote, with_stance

pytestmark = pytest.mark.django_db

PERSONAS = ["anonymous", "outsider", "researcher", "analyst", "second_analyst", "reviewer", "admin_user"]


@pytest.fixture
def world(analyst, second_analyst, reviewer):
    """One of everything: the curated dataset, each analyst's raw work, a pooled article, a release."""
    target = TargetFactory(slug="iran-nuclear")
    label = StanceLabelFactory(slug="oppose")
    curated = with_stance(curated_quote(), target=target, label=label)
    mine_article = AssignmentFactory(annotator=analyst, article=ArticleFactory(pool=False)).article
    theirs_article = AssignmentFactory(annotator=second_analyst, article=ArticleFactory(pool=False)).article
    mine = raw_quote(analyst, article=mine_article)
    theirs = raw_quote(second_analyst, article=theirs_article)
    pooled = ArticleFactory(pool=True)
    release = services.build_release(name="v1", note="", filters={}, user=reviewer)
    return {
        "curated": curated.pk,
        "curated_article": curated.article_id,
        "mine": mine.pk,
        "mine_article": mine_article.pk,
        "theirs": theirs.pk,
        "pooled": pooled.pk,
        "release": release.pk,
        "new_quote": {
            "article": mine_article.pk,
            "start": 1,
            "end": 51,
            "text": mine_article.text[1:51],
            "kind": "direct",
            "stances": [{"target": "iran-nuclear", "label": "oppose"}],
        },
    }


def client_as(persona: str, request: pytest.FixtureRequest) -> Any:
    if persona == "anonymous":
        return api_client(None)
    return api_client(request.getfixturevalue(persona))


# --- IDOR: another analyst's quote id --------------------------------------------


@pytest.mark.parametrize("method", ["get", "patch", "delete"])
def test_another_analysts_quote_is_404_and_left_unchanged(world, second_analyst, method):
    before = Quote.objects.get(pk=world["mine"])
    body = None if method == "get" else {"kind": "mixed"}
    response = getattr(api_client(second_analyst), method)(
        f"/api/v1/quotes/{world['mine']}/", body, format="json", HTTP_IF_MATCH='"1"'
    )
    assert response.status_code == 404
    assert "analyst" not in response.content.decode()  # nothing about the owner leaks
    after = Quote.objects.get(pk=world["mine"])
    assert (after.kind, after.version, after.text) == (before.kind, before.version, before.text)


def test_a_missing_quote_and_a_forbidden_one_look_the_same(world, second_analyst):
    client = api_client(second_analyst)
    hidden = client.get(f"/api/v1/quotes/{world['mine']}/")
    missing = client.get("/api/v1/quotes/999999/")
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json() == missing.json()


def test_an_analyst_can_not_point_a_new_quote_at_an_article_they_can_not_see(world, second_analyst):
    response = api_client(second_analyst).post("/api/v1/quotes/", world["new_quote"], format="json")
    assert response.status_code == 400
    assert "article" in response.json()
    assert not Quote.objects.filter(annotator=second_analyst, article_id=world["mine_article"]).exists()


def test_an_analyst_can_not_nest_a_quote_in_another_analysts_quote(world, analyst):
    body = {**world["new_quote"], "parent": world["theirs"]}
    response = api_client(analyst).post("/api/v1/quotes/", body, format="json")
    assert response.status_code == 400
    assert "parent" in response.json()


def test_an_analyst_sees_only_their_own_raw_quotes(world, analyst):
    response = api_client(analyst).get("/api/v1/quotes/?layer=raw")
    assert [row["id"] for row in response.json()["results"]] == [world["mine"]]


def test_an_analyst_can_not_filter_the_raw_layer_by_someone_else_into_view(world, analyst):
    response = api_client(analyst).get("/api/v1/quotes/?layer=raw&annotator=analyst2")
    assert response.status_code == 200
    assert response.json()["results"] == []


def test_a_reviewer_sees_every_raw_quote(world, reviewer):
    response = api_client(reviewer).get("/api/v1/quotes/?layer=raw")
    assert sorted(row["id"] for row in response.json()["results"]) == sorted([world["mine"], world["theirs"]])


def test_researchers_are_told_why_the_raw_layer_is_refused(world, researcher):
    response = api_client(researcher).get("/api/v1/quotes/?layer=raw")
    assert response.status_code == 403
    assert "curated layer" in response.json()["detail"]


def test_researchers_are_told_they_can_only_read(world, researcher):
    response = api_client(researcher).post("/api/v1/quotes/", world["new_quote"], format="json")
    assert response.status_code == 403
    assert "read-only" in response.json()["detail"]


def test_an_account_without_a_role_is_told_so(world, outsider):
    response = api_client(outsider).get("/api/v1/quotes/")
    assert response.status_code == 403
    assert "no Demarche role" in response.json()["detail"]


def test_an_analyst_can_not_add_quotes_to_an_article_they_submitted(world, analyst):
    Assignment.objects.filter(annotator=analyst).update(status=Assignment.Status.SUBMITTED)
    response = api_client(analyst).post("/api/v1/quotes/", world["new_quote"], format="json")
    assert response.status_code == 403
    assert "submitted" in response.json()["detail"]
    assert Quote.objects.filter(annotator=analyst).count() == 1


def test_an_analyst_can_not_change_a_quote_of_a_submitted_article(world, analyst):
    Assignment.objects.filter(annotator=analyst).update(status=Assignment.Status.SUBMITTED)
    response = api_client(analyst).patch(
        f"/api/v1/quotes/{world['mine']}/", {"kind": "mixed"}, format="json", HTTP_IF_MATCH='"1"'
    )
    assert response.status_code == 403
    assert Quote.objects.get(pk=world["mine"]).kind == "direct"


def test_an_inactive_users_token_stops_working(world, analyst):
    client = api_client(analyst)
    analyst.is_active = False
    analyst.save()
    assert client.get("/api/v1/quotes/").status_code == 401


# --- Transport rules --------------------------------------------------------------


def test_a_token_in_the_query_string_is_ignored(world, researcher):
    from .test_api_support import token_for

    token = token_for(researcher)
    assert Client().get(f"/api/v1/quotes/?token={token}").status_code == 401
    assert Client().get(f"/api/v1/quotes/?auth_token={token}").status_code == 401
    assert Client(headers={"Authorization": f"Token {token}"}).get("/api/v1/quotes/").status_code == 200


def test_a_revoked_or_wrong_token_is_401(world, researcher):
    assert Client(headers={"Authorization": "Token nope"}).get("/api/v1/quotes/").status_code == 401


def test_a_session_write_needs_the_csrf_token(world, analyst):
    client = Client(enforce_csrf_checks=True)
    client.force_login(analyst)
    response = client.post("/api/v1/quotes/", world["new_quote"], content_type="application/json")
    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]


def test_a_session_can_read(world, researcher):
    client = Client()
    client.force_login(researcher)
    assert client.get("/api/v1/quotes/").status_code == 200


def test_cross_origin_requests_get_no_cors_headers(world, researcher):
    client = api_client(researcher)
    response = client.get("/api/v1/quotes/", HTTP_ORIGIN="https://evil.example")
    assert response.status_code == 200
    assert "Access-Control-Allow-Origin" not in response
    preflight = client.options(
        "/api/v1/quotes/", HTTP_ORIGIN="https://evil.example", HTTP_ACCESS_CONTROL_REQUEST_METHOD="GET"
    )
    assert "Access-Control-Allow-Origin" not in preflight
    assert "Access-Control-Allow-Credentials" not in preflight


def test_users_are_throttled_with_a_clear_message(world, researcher, monkeypatch):
    from rest_framework.throttling import UserRateThrottle

    monkeypatch.setattr(UserRateThrottle, "THROTTLE_RATES", {"user": "3/hour", "anon": "100/hour"})
    client = api_client(researcher)
    codes = [client.get("/api/v1/stance-labels/").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    last = client.get("/api/v1/stance-labels/")
    assert "throttled" in last.json()["detail"]
    assert "Retry-After" in last


def test_anonymous_callers_of_the_public_schema_are_throttled(monkeypatch):
    # The data endpoints refuse anonymous callers (401) before any throttle counts.
    from rest_framework.throttling import AnonRateThrottle

    monkeypatch.setattr(AnonRateThrottle, "THROTTLE_RATES", {"user": "100/hour", "anon": "2/hour"})
    client = api_client(None)
    assert [client.get("/api/schema/").status_code for _ in range(3)] == [200, 200, 429]


def test_the_quote_of_an_open_article_is_not_in_the_curated_layer(world, reviewer):
    # A curated quote on an article not yet marked curated is work in progress.
    article = Article.objects.get(pk=world["pooled"])
    QuoteFactory(article=article, is_curated=True, annotator=reviewer)
    response = api_client(reviewer).get("/api/v1/quotes/")
    assert [row["id"] for row in response.json()["results"]] == [world["curated"]]
