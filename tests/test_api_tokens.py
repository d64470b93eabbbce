"""The API tokens page: create a named token, see it once, list and revoke tokens."""

from __future__ import annotations

# Shared fixtures are imported from test_api_support by name.
# ruff: noqa: F401
import datetime
import re

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from knox.models import AuthToken

from .test_api_support import isolated_media

pytestmark = pytest.mark.django_db

URL = reverse("annotations:token-list")


def create(client: Client, name: str = "notebook", days: int = 30):
    return client.post(URL, {"name": name, "days": days})


def shown_token(response) -> str:
    match = re.search(r'id="new-token" type="text" readonly value="([0-9a-f]+)"', response.content.decode())
    assert match, "the new token is shown"
    return match.group(1)


def test_the_page_needs_a_login(client):
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("persona", ["analyst", "reviewer", "researcher", "outsider"])
def test_every_logged_in_user_can_open_the_page(request, login, persona):
    response = login(request.getfixturevalue(persona)).get(URL)
    assert response.status_code == 200
    assert "API tokens" in response.content.decode()


def test_a_new_token_is_shown_once_and_works(login, researcher):
    client = login(researcher)
    response = create(client, "R notebook", 30)
    assert response.status_code == 200
    token = shown_token(response)
    assert "no-store" in response["Cache-Control"]
    assert token not in client.get(URL).content.decode()  # never again
    api = Client(headers={"Authorization": f"Token {token}"})
    assert api.get("/api/v1/quotes/").status_code == 200


def test_only_a_hash_of_the_token_is_stored(login, researcher):
    token = shown_token(create(login(researcher)))
    stored = AuthToken.objects.get(user=researcher)
    assert token not in stored.digest
    assert len(stored.digest) == 128  # SHA-512


def test_the_list_shows_name_prefix_created_and_expiry(login, researcher):
    client = login(researcher)
    token = shown_token(create(client, "lab server", 7))
    body = client.get(URL).content.decode()
    assert "lab server" in body
    assert f"<code>{token[:8]}…</code>" in body
    expiry = AuthToken.objects.get(user=researcher).expiry
    assert timezone.now() + datetime.timedelta(days=6) < expiry < timezone.now() + datetime.timedelta(days=8)
    assert expiry.strftime("%Y-%m-%d") in body


@pytest.mark.parametrize("days", [0, 366, -1, "soon"])
def test_the_expiry_must_be_1_to_365_days(login, researcher, days):
    response = create(login(researcher), days=days)
    assert response.status_code == 422  # refused, as every other form here
    assert "errorlist" in response.content.decode()
    assert not AuthToken.objects.exists()


def test_a_name_is_required(login, researcher):
    create(login(researcher), name="")
    assert not AuthToken.objects.exists()


def test_the_name_is_escaped(login, researcher):
    client = login(researcher)
    create(client, name="<script>alert(1)</script>")
    body = client.get(URL).content.decode()
    assert "<script>alert(1)</script>" not in body
    assert "&lt;script&gt;" in body


def test_a_user_sees_only_their_own_tokens(login, researcher, analyst):
    create(login(analyst), "analyst's laptop")
    assert "analyst&#x27;s laptop" not in login(researcher).get(URL).content.decode()


def test_revoking_a_token_stops_it_working(login, researcher):
    client = login(researcher)
    token = shown_token(create(client))
    digest = AuthToken.objects.get(user=researcher).digest
    response = client.post(reverse("annotations:token-revoke", args=[digest]))
    assert response.status_code == 302
    assert not AuthToken.objects.exists()
    assert Client(headers={"Authorization": f"Token {token}"}).get("/api/v1/quotes/").status_code == 401
    assert "revoked" in client.get(URL).content.decode()


def test_nobody_can_revoke_someone_elses_token(login, researcher, analyst):
    create(login(analyst))
    digest = AuthToken.objects.get(user=analyst).digest
    response = login(researcher).post(reverse("annotations:token-revoke", args=[digest]))
    assert response.status_code == 404
    assert AuthToken.objects.filter(user=analyst).exists()


def test_revoking_needs_a_post(login, researcher):
    create(login(researcher))
    digest = AuthToken.objects.get(user=researcher).digest
    assert login(researcher).get(reverse("annotations:token-revoke", args=[digest])).status_code == 405


def test_an_expired_token_is_marked_and_refused(login, researcher):
    client = login(researcher)
    token = shown_token(create(client, days=1))
    AuthToken.objects.update(expiry=timezone.now() - datetime.timedelta(minutes=1))
    assert "expired" in client.get(URL).content.decode()
    assert Client(headers={"Authorization": f"Token {token}"}).get("/api/v1/quotes/").status_code == 401


def test_an_expired_token_is_deleted_when_presented_and_the_live_one_still_works(researcher):
    _, live = AuthToken.objects.create(user=researcher, expiry=datetime.timedelta(days=1))
    expired_row, expired = AuthToken.objects.create(user=researcher, expiry=datetime.timedelta(days=1))
    AuthToken.objects.filter(pk=expired_row.pk).update(expiry=timezone.now() - datetime.timedelta(minutes=1))
    assert Client(headers={"Authorization": f"Token {live}"}).get("/api/v1/quotes/").status_code == 200
    assert AuthToken.objects.filter(pk=expired_row.pk).exists()  # only the presented token is checked
    assert Client(headers={"Authorization": f"Token {expired}"}).get("/api/v1/quotes/").status_code == 401
    assert not AuthToken.objects.filter(pk=expired_row.pk).exists()
    assert Client(headers={"Authorization": f"Token {live}"}).get("/api/v1/quotes/").status_code == 200


def test_the_number_of_tokens_is_capped(login, researcher, settings):
    settings.API_TOKENS_PER_USER = 2
    client = login(researcher)
    create(client, "one")
    create(client, "two")
    response = create(client, "three")
    assert "revoke one" in response.content.decode()
    assert AuthToken.objects.count() == 2


def test_the_page_posts_with_csrf(researcher):
    client = Client(enforce_csrf_checks=True)
    client.force_login(researcher)
    assert create(client).status_code == 403


def test_creating_and_revoking_are_recorded_in_the_admin_log(login, researcher):
    from django.contrib.admin.models import LogEntry

    client = login(researcher)
    create(client, "audit me")
    digest = AuthToken.objects.get().digest
    client.post(reverse("annotations:token-revoke", args=[digest]))
    entries = list(LogEntry.objects.filter(object_id=digest).order_by("pk"))
    assert [(entry.user, entry.object_repr, entry.is_addition(), entry.is_deletion()) for entry in entries] == [
        (researcher, "audit me", True, False),
        (researcher, "audit me", False, True),
    ]
