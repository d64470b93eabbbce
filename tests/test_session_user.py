"""A session's user read with their roles (annotations.auth.ModelBackend): one query on
PostgreSQL, the same user and roles as Django's backend gives, sessions Django's backend
logged in still good, and a wrong password checked once."""

from __future__ import annotations

import pytest
from django.contrib.auth import BACKEND_SESSION_KEY, authenticate, get_user_model
from django.db import connection
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from annotations.auth import ModelBackend
from annotations.roles import Role, roles_of

pytestmark = pytest.mark.django_db
PASSWORD = "correct-horse-battery-staple"  # the factories' (tests/factories.py)


def session_client(user, backend: str) -> Client:
    client = Client()
    client.force_login(user, backend=backend)
    return client


def user_queries(queries: CaptureQueriesContext) -> list[str]:
    return [query["sql"] for query in queries.captured_queries if 'FROM "auth_' in query["sql"]]


def test_a_login_records_this_backend_and_a_page_reads_the_user_with_their_roles(reviewer):
    client = Client()
    assert client.post(reverse("login"), {"username": "reviewer", "password": PASSWORD}).status_code == 302
    assert client.session[BACKEND_SESSION_KEY] == "annotations.auth.ModelBackend"
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("annotations:review-queue"))  # reviewers only
    assert response.status_code == 200
    assert response.wsgi_request.user == reviewer
    read = user_queries(queries)
    assert len(read) == (1 if connection.vendor == "postgresql" else 2), read


def test_the_backend_gives_the_user_and_roles_djangos_gives(analyst, reviewer, researcher, outsider):
    for user in (analyst, reviewer, researcher, outsider):
        found = ModelBackend().get_user(str(user.pk))
        assert found == user
        fresh = get_user_model().objects.get(pk=user.pk)
        assert roles_of(found) == roles_of(fresh)
    assert roles_of(ModelBackend().get_user(reviewer.pk)) == {Role.REVIEWER}
    for nobody in ("0", "-1", "x", str(2**63), "99999999"):
        assert ModelBackend().get_user(nobody) is None
    reviewer.is_active = False
    reviewer.save()
    assert ModelBackend().get_user(reviewer.pk) is None


def test_a_session_djangos_backend_logged_in_is_still_good(reviewer):
    client = session_client(reviewer, "django.contrib.auth.backends.ModelBackend")
    response = client.get(reverse("annotations:review-queue"))
    assert response.status_code == 200 and response.wsgi_request.user == reviewer


def test_a_wrong_password_is_checked_once_and_refused(reviewer, monkeypatch):
    checked = []
    original = get_user_model().check_password

    def counting(self, raw):
        checked.append(raw)
        return original(self, raw)

    monkeypatch.setattr(get_user_model(), "check_password", counting)
    request = RequestFactory().post("/accounts/login/")
    assert authenticate(request, username="reviewer", password="wrong") is None
    assert checked == ["wrong"]
    assert authenticate(request, username="reviewer", password=PASSWORD) == reviewer
