"""API token names live in their own table (knox has no name field), outlive a token
knox deletes on expiry, and came over from the admin log where the page kept them."""

from __future__ import annotations

# Shared fixtures are imported from test_api_support by name.
# ruff: noqa: F401
import datetime

import pytest
from django.contrib.admin.models import ADDITION, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from knox.models import AuthToken

from annotations.models import ApiTokenName

from .test_api_support import isolated_media

URL = reverse("annotations:token-list")


def expire(token: str) -> None:
    AuthToken.objects.filter(token_key=token[:15]).update(expiry=timezone.now() - datetime.timedelta(minutes=1))


def use(token: str) -> int:
    return Client(headers={"Authorization": f"Token {token}"}).get("/api/v1/quotes/").status_code


@pytest.mark.django_db
def test_a_new_token_gets_its_name_prefix_and_expiry(researcher):
    record, token = ApiTokenName.issue(researcher, "lab server", datetime.timedelta(days=7))
    record.refresh_from_db()
    knox_token = AuthToken.objects.get(user=researcher)
    assert (record.name, record.user, record.token, record.digest) == (
        "lab server",
        researcher,
        knox_token,
        knox_token.digest,
    )
    assert record.prefix == token[:8]
    assert record.expiry == knox_token.expiry
    assert not record.is_expired()


@pytest.mark.django_db
def test_an_expired_token_stays_on_the_page_after_knox_deletes_it_on_use(login, researcher):
    _, token = ApiTokenName.issue(researcher, "old notebook", datetime.timedelta(days=1))
    expire(token)
    assert use(token) == 401  # knox refuses it and deletes its row
    assert not AuthToken.objects.exists()
    body = login(researcher).get(URL).content.decode()
    assert "old notebook" in body
    assert f"<code>{token[:8]}…</code>" in body
    assert "<strong>expired</strong>" in body
    assert ">Delete</button>" in body
    assert use(token) == 401  # and stays unusable


@pytest.mark.django_db
def test_a_live_token_has_a_revoke_button_and_no_expired_mark(login, researcher):
    ApiTokenName.issue(researcher, "fresh", datetime.timedelta(days=1))
    body = login(researcher).get(URL).content.decode()
    assert ">Revoke</button>" in body
    assert "<strong>expired</strong>" not in body


@pytest.mark.django_db
def test_the_owner_deletes_an_expired_token_from_the_page(login, researcher):
    record, token = ApiTokenName.issue(researcher, "old notebook", datetime.timedelta(days=1))
    expire(token)
    use(token)
    client = login(researcher)
    response = client.post(reverse("annotations:token-revoke", args=[record.digest]), follow=True)
    assert "Expired token “old notebook” deleted." in response.content.decode()
    assert not ApiTokenName.objects.exists()
    assert "old notebook" not in client.get(URL).content.decode()


@pytest.mark.django_db
def test_nobody_else_can_delete_an_expired_token(login, researcher, analyst):
    record, token = ApiTokenName.issue(researcher, "old notebook", datetime.timedelta(days=1))
    expire(token)
    use(token)
    response = login(analyst).post(reverse("annotations:token-revoke", args=[record.digest]))
    assert response.status_code == 404
    assert ApiTokenName.objects.filter(pk=record.pk).exists()


@pytest.mark.django_db
def test_an_expired_token_doesnt_count_against_the_limit(login, researcher, settings):
    settings.API_TOKENS_PER_USER = 1
    _, token = ApiTokenName.issue(researcher, "old", datetime.timedelta(days=1))
    expire(token)
    login(researcher).post(URL, {"name": "new", "days": 30})
    assert sorted(ApiTokenName.objects.values_list("name", flat=True)) == ["new", "old"]


@pytest.mark.django_db
def test_the_admin_lists_token_names_and_deleting_one_revokes_its_token(client, admin_user, researcher):
    record, token = ApiTokenName.issue(researcher, "lab server", datetime.timedelta(days=7))
    client.force_login(admin_user)
    changelist = reverse("admin:annotations_apitokenname_changelist")
    assert "lab server" in client.get(changelist).content.decode()
    client.post(changelist, {"action": "delete_selected", "_selected_action": [record.pk], "post": "yes"})
    assert not ApiTokenName.objects.exists()
    assert use(token) == 401


@pytest.mark.django_db(transaction=True)
def test_the_migration_carries_names_over_from_the_admin_log(researcher):
    named, _ = AuthToken.objects.create(user=researcher, expiry=datetime.timedelta(days=3))
    unnamed, _ = AuthToken.objects.create(user=researcher, expiry=None)
    LogEntry.objects.create(
        user=researcher,
        content_type=ContentType.objects.get_for_model(AuthToken),
        object_id=named.digest,
        object_repr="R notebook",
        action_flag=ADDITION,
    )
    ApiTokenName.objects.all().delete()  # as before 0009: tokens without names
    executor = MigrationExecutor(connection)
    executor.migrate([("annotations", "0008_api_token_names")])
    executor.loader.build_graph()
    executor.migrate([("annotations", "0009_api_token_names_from_admin_log")])
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes("annotations"))
    records = {record.digest: record for record in ApiTokenName.objects.all()}
    assert records[named.digest].name == "R notebook"
    assert records[named.digest].prefix == named.token_key[:8]
    assert records[named.digest].expiry == named.expiry
    assert records[unnamed.digest].name == "(unnamed)"
    assert records[unnamed.digest].user == researcher
