"""Headers and sessions: a strict Content-Security-Policy on every HTML page,
production cookies and transport headers, CSRF on every session POST (htmx
included), sessions that rotate at login and die at logout or deactivation,
and API tokens only from the Authorization header of an active user.

``manage.py check --deploy`` doesn't look at the CSP at all, so the first test
walks every URL pattern of the project and asks each page for itself.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from knox.models import AuthToken

from annotations.models import Assignment, Guidelines, Quote, Suggestion, Target

from .factories import ArticleFactory, AssignmentFactory, QuoteFactory, StanceFactory, TargetFactory, UserFactory

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parent.parent
HX = {"HTTP_HX_REQUEST": "true"}
PASSWORD = "correct-horse-battery-staple"  # the factories' password


# --- Content-Security-Policy on every page -----------------------------------------------------


def html_routes(patterns=None, prefix: str = "", namespace: str = "") -> list[tuple[str, str, list[str]]]:
    """(route, name, path parameters) of every URL pattern outside the admin and the JSON API."""
    found = []
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            if route.startswith(("admin/", "api/")):
                continue
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            found += html_routes(pattern.url_patterns, route, inner)
        elif isinstance(pattern, URLPattern):
            found.append((route, f"{namespace}{pattern.name}", sorted(pattern.pattern.converters)))
    return found


@pytest.fixture
def world(analyst, reviewer):
    """One of everything a page can be about: an article with a submitted
    annotation, a raw quote with a stance, a curated quote, a token."""
    article = ArticleFactory()
    assignment = AssignmentFactory(article=article, annotator=analyst)
    quote = QuoteFactory(article=article, annotator=analyst)
    StanceFactory(quote=quote)
    assignment.move_to(Assignment.Status.SUBMITTED)
    curated = quote.copy_as_curated(curator=reviewer)
    token, _ = AuthToken.objects.create(reviewer)
    guidelines = Guidelines.publish(body="# Quotes\n\nMark what the text says.", note="first", by=reviewer)
    suggestion = Suggestion.objects.create(
        article=article, start=0, end=5, text=article.text[:5], speaker_name="<i>x</i>", detector_version="rules-0"
    )
    proposal = Target.propose(name="Snapback of sanctions", parent=TargetFactory(), by=analyst)
    return {
        "annotations:target-proposal-accept": {"pk": proposal.pk},
        "annotations:target-proposal-merge": {"pk": proposal.pk},
        "annotations:guidelines-version": {"number": guidelines.number},
        "annotations:article-annotate": {"pk": article.pk},
        "annotations:quote-new": {"pk": article.pk},
        "annotations:article-submit": {"pk": article.pk},
        "annotations:article-detect": {"pk": article.pk},
        "annotations:suggestions-accept-all": {"pk": article.pk},
        "annotations:suggestion-detail": {"pk": suggestion.pk},
        "annotations:suggestion-accept": {"pk": suggestion.pk},
        "annotations:suggestion-reject": {"pk": suggestion.pk},
        "annotations:suggestion-correct": {"pk": suggestion.pk},
        "annotations:quote-edit": {"pk": quote.pk},
        "annotations:quote-delete": {"pk": quote.pk},
        "annotations:quote-undo": {"pk": quote.pk},
        "annotations:review-article": {"pk": article.pk},
        "annotations:review-accept": {"pk": article.pk},
        "annotations:review-accept-agreed": {"pk": article.pk},
        "annotations:review-add-quote": {"pk": article.pk},
        "annotations:review-send-back": {"pk": article.pk},
        "annotations:review-mark-curated": {"pk": article.pk},
        "annotations:review-edit-quote": {"pk": curated.pk},
        "annotations:review-drop-quote": {"pk": curated.pk},
        "annotations:review-undo-quote": {"pk": curated.pk},
        "annotations:quote-history": {"pk": quote.pk},
        "annotations:quote-comments": {"pk": quote.pk},
        "annotations:token-revoke": {"digest": token.digest},
        "annotations:speaker-detail": {"pk": quote.speaker_id},
        "annotations:speaker-edit": {"pk": quote.speaker_id},
        "annotations:speaker-alias-add": {"pk": quote.speaker_id},
        "annotations:speaker-role-add": {"pk": quote.speaker_id},
        "annotations:speaker-merge": {"pk": quote.speaker_id},
        "annotations:target-detail": {"slug": curated.stances.first().target.slug},
    }


def directives(policy: str) -> dict[str, list[str]]:
    parsed = {}
    for part in policy.split(";"):
        words = part.split()
        if words:
            parsed[words[0]] = words[1:]
    return parsed


class Tags(HTMLParser):
    """Every start tag with its attributes."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def tags_of(html: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = Tags()
    parser.feed(html)
    return parser.tags


def assert_strict_csp(response) -> None:
    """The policy forbids inline and eval'd script, and the page needs neither.

    A whole page (not an htmx fragment) loads its scripts with the request's nonce.
    """
    where = response.wsgi_request.get_full_path()
    full_page = response.status_code == 200 and response.content.lstrip()[:15].lower() == b"<!doctype html>"
    policy = response.headers.get("Content-Security-Policy")
    assert policy, f"{where}: no Content-Security-Policy"
    policy = directives(policy)
    script_src = policy.get("script-src", policy.get("default-src"))
    assert script_src, f"{where}: no script-src"
    assert "'unsafe-inline'" not in script_src and "'unsafe-eval'" not in script_src, where
    assert "*" not in script_src and "data:" not in script_src, where
    assert policy.get("object-src") == ["'none'"], where
    assert policy.get("base-uri") == ["'none'"], where
    assert policy.get("frame-ancestors") == ["'none'"], where
    nonces = [source[len("'nonce-") : -1] for source in script_src if source.startswith("'nonce-")]
    if full_page:
        assert len(nonces) == 1, f"{where}: script-src has no nonce: {script_src}"
    for tag, attrs in tags_of(response.content.decode()):
        if tag == "script" and attrs.get("type") not in {"application/json", "text/template"}:
            assert attrs.get("nonce") in nonces, f"{where}: a <script> without the nonce: {attrs}"
        handlers = [name for name in attrs if name.startswith("on") or name.startswith("hx-on")]
        assert not handlers, f"{where}: inline event handler on <{tag}>: {handlers}"
        for name in ("href", "src", "action", "formaction"):
            assert not (attrs.get(name) or "").strip().lower().startswith("javascript:"), f"{where}: {tag} {name}"


def test_every_html_page_carries_a_strict_content_security_policy(login, reviewer, world):
    client = login(reviewer)
    routes = [route for route in html_routes() if route[1] != "annotations:health"]
    missing = [name for _, name, params in routes if params and name not in world]
    assert not missing, f"add a sample object for these routes to the world fixture: {missing}"
    pages = 0
    statuses = {}
    for _route, name, params in routes:
        url = reverse(name, kwargs=world.get(name) if params else None)
        for headers in ({}, HX):
            response = client.get(url, **headers)
            statuses[(name, bool(headers))] = response.status_code
            if not response.get("Content-Type", "").startswith("text/html"):
                continue
            if response.status_code == 200:
                pages += 1
            assert_strict_csp(response)
    # Not vacuous: the pages a reviewer opens all answered (POST-only routes say 405).
    for name in ("annotations:home", "annotations:article-annotate", "annotations:review-article", "login"):
        assert statuses[(name, False)] == 200, (name, statuses[(name, False)])
    assert pages >= 30, statuses


def test_the_logged_out_pages_and_the_api_docs_carry_it_too(client):
    for url in (reverse("login"), "/api/docs/"):
        response = client.get(url)
        assert response.status_code == 200, url
        assert response.content.lstrip().lower().startswith(b"<!doctype html>"), url
        assert_strict_csp(response)


# --- Production settings, as the process starts with DEBUG off ---------------------------------

PRODUCTION_PROBE = r"""
import json
import django
from django.conf import settings
django.setup()
from django.core.management import call_command
from django.test import Client
from django.test.utils import override_settings, setup_test_environment

setup_test_environment()
call_command("migrate", verbosity=0)
from django.contrib.auth import get_user_model
get_user_model().objects.create_user("probe", password="a-real-password-for-the-probe")
out = {}
# The manifest of collected static files doesn't exist in a test checkout.
with override_settings(STORAGES={**settings.STORAGES, "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}):
    client = Client(HTTP_HOST="demarche.example.org")
    plain = client.get("/accounts/login/")
    out["http"] = [plain.status_code, plain.get("Location", "")]
    page = client.get("/accounts/login/", secure=True)
    out["page"] = {"status": page.status_code, "headers": dict(page.headers)}
    login = client.post("/accounts/login/", {"username": "probe", "password": "a-real-password-for-the-probe"},
                        secure=True)
    out["login"] = login.status_code
    out["cookies"] = {
        name: {"secure": bool(morsel["secure"]), "httponly": bool(morsel["httponly"]),
               "samesite": morsel["samesite"]}
        for name, morsel in client.cookies.items()
    }
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def production():
    env = {key: value for key, value in os.environ.items() if key not in {"DEBUG", "SECRET_KEY", "ALLOWED_HOSTS"}}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DEBUG="0",
        SECRET_KEY="security-test-" + "k" * 50,
        ALLOWED_HOSTS="demarche.example.org",
        DATABASE_URL="sqlite://:memory:",
    )
    for name in ("SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS", "SECURE_PROXY_SSL_HEADER"):
        env.pop(name, None)
    result = subprocess.run(  # noqa: S603 (our own interpreter and script)
        [sys.executable, "-c", PRODUCTION_PROBE], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_production_redirects_plain_http_to_https(production):
    status, location = production["http"]
    assert status == 301
    assert location.startswith("https://demarche.example.org/")


def test_production_sends_hsts_nosniff_a_referrer_policy_and_no_framing(production):
    headers = {name.lower(): value for name, value in production["page"]["headers"].items()}
    assert production["page"]["status"] == 200
    hsts = headers["strict-transport-security"]
    assert int(re.search(r"max-age=(\d+)", hsts).group(1)) >= 31_536_000
    assert "includeSubDomains" in hsts
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "same-origin"
    assert headers["x-frame-options"] == "DENY"
    assert headers["cross-origin-opener-policy"] == "same-origin"
    assert "'nonce-" in headers["content-security-policy"]


def test_production_cookies_are_secure_httponly_and_same_site(production):
    assert production["login"] == 302
    session = production["cookies"]["sessionid"]
    assert session == {"secure": True, "httponly": True, "samesite": "Lax"}
    csrf = production["cookies"]["csrftoken"]
    assert csrf["secure"] is True
    assert csrf["samesite"] == "Lax"


# --- CSRF on every session POST ----------------------------------------------------------------


def quote_post(article, start: int, end: int) -> dict:
    return {
        "start": start,
        "end": end,
        "text": article.text[start:end],
        "kind": "direct",
        "stances-TOTAL_FORMS": "0",
        "stances-INITIAL_FORMS": "0",
        "stances-MIN_NUM_FORMS": "0",
        "stances-MAX_NUM_FORMS": "30",
    }


@pytest.fixture
def strict_client(analyst):
    """A browser that sends no CSRF token unless told to."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(analyst)
    return client


def test_an_htmx_post_without_the_csrf_token_is_refused(strict_client, assigned_article):
    url = reverse("annotations:quote-new", args=[assigned_article.pk])
    response = strict_client.post(url, quote_post(assigned_article, 1, 51), **HX)
    assert response.status_code == 403
    assert not Quote.objects.exists()


def test_an_htmx_post_with_the_token_in_the_header_is_accepted(strict_client, assigned_article):
    # The page puts the token in hx-headers on <body>; htmx sends it as X-CSRFToken.
    page = strict_client.get(assigned_article.annotate_url)
    token = re.search(r'"X-CSRFToken": "([^"]+)"', page.content.decode()).group(1)
    url = reverse("annotations:quote-new", args=[assigned_article.pk])
    response = strict_client.post(url, quote_post(assigned_article, 1, 51), HTTP_X_CSRFTOKEN=token, **HX)
    assert response.status_code == 200, response.content[:500]
    assert Quote.objects.count() == 1


def test_a_plain_form_post_without_the_token_is_refused(strict_client, assigned_article):
    response = strict_client.post(
        reverse("annotations:quote-new", args=[assigned_article.pk]), quote_post(assigned_article, 1, 51)
    )
    assert response.status_code == 403


def test_a_session_api_write_without_the_token_is_refused(strict_client, assigned_article):
    body = {"article": assigned_article.pk, "start": 1, "end": 51, "text": assigned_article.text[1:51]}
    response = strict_client.post("/api/v1/quotes/", body, content_type="application/json")
    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]
    assert not Quote.objects.exists()


def test_logging_out_without_the_token_is_refused(strict_client):
    assert strict_client.post(reverse("logout")).status_code == 403
    assert strict_client.get(reverse("annotations:home")).status_code == 200


# --- Sessions: rotate at login, die at logout or deactivation ----------------------------------


def test_the_session_key_rotates_at_login(analyst):
    client = Client()
    before = client.session
    before["seen_login_page"] = True
    before.save()
    old_key = before.session_key
    response = client.post(reverse("login"), {"username": "analyst", "password": PASSWORD})
    assert response.status_code == 302
    new_key = client.cookies["sessionid"].value
    assert new_key != old_key
    assert not Session.objects.filter(session_key=old_key).exists()
    # Someone who planted the old key (session fixation) is not logged in.
    planted = Client()
    planted.cookies["sessionid"] = old_key
    assert planted.get(reverse("annotations:home")).status_code == 302


def test_logout_is_post_only_and_ends_the_session(analyst):
    client = Client()
    client.post(reverse("login"), {"username": "analyst", "password": PASSWORD})
    key = client.cookies["sessionid"].value
    assert client.get(reverse("logout")).status_code == 405
    assert client.get(reverse("annotations:home")).status_code == 200
    assert client.post(reverse("logout")).status_code == 302
    assert not Session.objects.filter(session_key=key).exists()
    stolen = Client()
    stolen.cookies["sessionid"] = key
    response = stolen.get(reverse("annotations:home"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_a_deactivated_users_session_stops_working_at_once(login, analyst, assigned_article):
    client = login(analyst)
    assert client.get(reverse("annotations:home")).status_code == 200
    analyst.is_active = False
    analyst.save(update_fields=["is_active"])
    for url, headers in ((reverse("annotations:home"), {}), (assigned_article.annotate_url, HX)):
        response = client.get(url, **headers)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("login"))
    response = client.post(
        reverse("annotations:quote-new", args=[assigned_article.pk]), quote_post(assigned_article, 1, 51)
    )
    assert response.status_code == 302
    assert client.get("/api/v1/quotes/").status_code == 401
    assert not Quote.objects.exists()


# --- API tokens --------------------------------------------------------------------------------


def test_a_deactivated_users_api_token_is_refused(analyst):
    _, token = AuthToken.objects.create(analyst)
    api = Client(headers={"Authorization": f"Token {token}"})
    assert api.get("/api/v1/quotes/").status_code == 200
    analyst.is_active = False
    analyst.save(update_fields=["is_active"])
    response = api.get("/api/v1/quotes/")
    # Refused by the authentication itself, before any permission is asked.
    assert response.status_code == 401
    assert "inactive" in response.json()["detail"].lower()


@pytest.mark.parametrize("parameter", ["token", "auth_token", "access_token", "api_key"])
def test_a_token_in_the_query_string_is_ignored(analyst, parameter):
    _, token = AuthToken.objects.create(analyst)
    response = Client().get(f"/api/v1/quotes/?{parameter}={token}")
    assert response.status_code == 401
    assert Client(headers={"Authorization": f"Token {token}"}).get("/api/v1/quotes/").status_code == 200


def test_a_token_of_another_user_or_a_made_up_one_is_refused(analyst):
    for header in ("Token " + "0" * 64, "Bearer whatever", "Token"):
        assert Client(headers={"Authorization": header}).get("/api/v1/quotes/").status_code == 401, header
    outsider = UserFactory(username="outsider-with-token")
    _, token = AuthToken.objects.create(outsider)
    # A valid token of an account with no Demarche role reads nothing.
    assert Client(headers={"Authorization": f"Token {token}"}).get("/api/v1/quotes/").status_code == 403
