"""Logins: lockout after repeated failures (per username, whatever address the
client claims), no self-registration, and the published demo passwords refused
on a real deployment (DEBUG off) with a message that says what to do."""

from __future__ import annotations

import datetime
import html

import pytest
from axes.models import AccessAttempt
from django.conf import settings as django_settings
from django.contrib.auth import authenticate
from django.test import Client, RequestFactory
from django.urls import Resolver404, URLPattern, URLResolver, get_resolver, resolve, reverse
from django.utils import timezone

from annotations.demo import DEMO_USERS

from .factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery-staple"  # the factories' password
LOGIN = "/accounts/login/"


def attempt(client: Client, username: str, password: str, **meta) -> object:
    return client.post(LOGIN, {"username": username, "password": password}, **meta)


def fail_until_locked(username: str) -> None:
    client = Client()
    for number in range(django_settings.AXES_FAILURE_LIMIT):
        response = attempt(client, username, f"wrong-{number}", REMOTE_ADDR="203.0.113.7")
        assert response.status_code in {200, 429}


# --- Lockout -----------------------------------------------------------------------------------


def test_five_wrong_passwords_lock_the_account_with_a_clear_page(analyst):
    client = Client()
    for number in range(4):
        response = attempt(client, "analyst", f"wrong-{number}")
        assert response.status_code == 200
        assert "correct username and password" in html.unescape(response.content.decode())
    response = attempt(client, "analyst", "wrong-4")
    assert response.status_code == 429
    page = html.unescape(response.content.decode())
    assert "Account locked for now" in page
    assert "after 5 wrong passwords in a row" in page
    assert "for 15 minutes" in page
    # The right password is refused too, and nobody is logged in.
    response = attempt(client, "analyst", PASSWORD)
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


def test_the_lockout_holds_whatever_address_the_client_claims(analyst):
    fail_until_locked("analyst")
    for meta in (
        {"HTTP_X_FORWARDED_FOR": "198.51.100.99"},
        {"HTTP_X_FORWARDED_FOR": "198.51.100.99, 203.0.113.7", "HTTP_X_REAL_IP": "198.51.100.1"},
        {"REMOTE_ADDR": "192.0.2.44"},  # really another address: still the same account
    ):
        response = attempt(Client(), "analyst", PASSWORD, **meta)
        assert response.status_code == 429, meta
    assert Client().get(reverse("annotations:home")).status_code == 302


def test_a_forged_forwarded_for_header_is_not_recorded_as_the_address(analyst):
    attempt(Client(), "analyst", "wrong", REMOTE_ADDR="203.0.113.7", HTTP_X_FORWARDED_FOR="198.51.100.99")
    assert list(AccessAttempt.objects.values_list("ip_address", flat=True)) == ["203.0.113.7"]


def test_the_lock_is_per_account_and_ends_after_the_cool_off(analyst, second_analyst):
    fail_until_locked("analyst")
    assert attempt(Client(), "analyst2", PASSWORD).status_code == 302
    assert attempt(Client(), "analyst", PASSWORD).status_code == 429
    AccessAttempt.objects.update(attempt_time=timezone.now() - datetime.timedelta(minutes=16))
    assert attempt(Client(), "analyst", PASSWORD).status_code == 302


def test_the_lockout_page_escapes_the_username_it_repeats(analyst):
    hostile = '<script>alert("locked")</script>'
    fail_until_locked(hostile)
    response = attempt(Client(), hostile, PASSWORD)
    assert response.status_code == 429
    assert b"<script>alert" not in response.content
    assert b"&lt;script&gt;alert(&quot;locked&quot;)&lt;/script&gt;" in response.content


def test_the_admin_login_is_locked_out_too(admin_user):
    fail_until_locked("admin")
    response = Client().post("/admin/login/?next=/admin/", {"username": "admin", "password": PASSWORD})
    assert response.status_code == 429


# --- No self-registration ----------------------------------------------------------------------


def all_routes(patterns=None, prefix: str = "") -> list[str]:
    routes = []
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            routes += all_routes(pattern.url_patterns, route)
        elif isinstance(pattern, URLPattern):
            routes.append(route)
    return routes


@pytest.mark.parametrize("path", ["/accounts/signup/", "/accounts/register/", "/signup/", "/register/"])
def test_there_is_no_signup_page(path):
    with pytest.raises(Resolver404):
        resolve(path)


def test_no_route_lets_anyone_make_an_account():
    routes = all_routes()
    assert any("login" in route for route in routes)  # the walk reaches the accounts routes
    words = ("signup", "sign-up", "sign_up", "register", "registration", "join", "create-account")
    assert not [route for route in routes if any(word in route.lower() for word in words)]


# --- Demo passwords on a real deployment -------------------------------------------------------


@pytest.fixture
def demo_accounts(db):
    """The demo accounts with their published passwords, as a copied demo database has them."""
    users = {}
    for username, role, password in DEMO_USERS:
        user = UserFactory(username=username, role=role, password=password)
        if role is None:
            user.is_staff = user.is_superuser = True
            user.save()
        users[username] = (user, password)
    return users


def test_a_demo_password_is_refused_with_debug_off_and_the_page_says_why(settings, demo_accounts):
    settings.DEBUG = False
    for username, (_user, password) in demo_accounts.items():
        client = Client()
        response = attempt(client, username, password)
        assert response.status_code == 200, username
        page = html.unescape(response.content.decode())
        assert "one of the demo passwords published with Demarche" in page
        assert "set a real password" in page
        assert "_auth_user_id" not in client.session


def test_any_published_demo_password_is_refused_for_any_account(settings, analyst):
    settings.DEBUG = False
    analyst.set_password("demo-reviewer-pass")
    analyst.save()
    client = Client()
    assert attempt(client, "analyst", "demo-reviewer-pass").status_code == 200
    assert "_auth_user_id" not in client.session


def test_the_admin_login_refuses_a_demo_password_too(settings, demo_accounts):
    settings.DEBUG = False
    response = Client().post("/admin/login/?next=/admin/", {"username": "admin", "password": "demo-admin-pass"})
    assert response.status_code == 200
    assert "one of the demo passwords published with Demarche" in html.unescape(response.content.decode())


def test_authenticate_itself_refuses_a_demo_password_on_every_path(settings, demo_accounts):
    settings.DEBUG = False
    request = RequestFactory().post(LOGIN)
    assert authenticate(request, username="analyst", password="demo-analyst-pass") is None


def test_demo_passwords_work_in_development(settings, demo_accounts):
    settings.DEBUG = True
    assert attempt(Client(), "analyst", "demo-analyst-pass").status_code == 302


def test_a_real_password_logs_in_with_debug_off(settings, analyst):
    settings.DEBUG = False
    assert attempt(Client(), "analyst", PASSWORD).status_code == 302


def test_no_api_endpoint_trades_a_password_for_a_token():
    """Tokens are made on the tokens page, behind the login form; no API view takes a
    password (a knox LoginView or DRF's obtain_auth_token would need the demo-password rule)."""
    from knox.views import LoginView as KnoxLoginView
    from rest_framework.authtoken.views import ObtainAuthToken

    def views(patterns):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                yield from views(pattern.url_patterns)
            else:
                yield getattr(pattern.callback, "cls", None) or getattr(pattern.callback, "view_class", None)

    for view in views(get_resolver().url_patterns):
        assert not (isinstance(view, type) and issubclass(view, KnoxLoginView | ObtainAuthToken)), view
    classes = django_settings.REST_FRAMEWORK["DEFAULT_AUTHENTICATION_CLASSES"]
    assert "rest_framework.authentication.BasicAuthentication" not in classes
