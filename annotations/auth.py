"""Logging in: the demo-password rule, the client address lockouts record, and the
backend that reads a session's user with their roles (``ModelBackend``).

The demo accounts' passwords are published (README, ``annotations.demo.DEMO_USERS``).
``seed_demo`` never creates those accounts with DEBUG off, but a database
copied from a demo, or an administrator who reuses a password from the README,
could still carry one. So with DEBUG off a published demo password never logs
anyone in: the login forms say why and what to do, and a backend refuses it on
every other path that calls ``authenticate()`` (the admin's login, a future
API login), whoever the account.

Repeated failures lock an account out for a while (django-axes, configured in
settings: per username, so a client can't get round it by changing the address
it claims). The address axes records comes from ``REMOTE_ADDR`` alone:
``X-Forwarded-For`` is whatever the client wants it to be.
"""

from __future__ import annotations

import math
from typing import Any

from axes.helpers import get_client_username, get_cool_off, get_failure_limit
from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend as DjangoModelBackend
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import router
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from .demo import DEMO_USERS
from .roles import remember_roles, roles_read_beside, roles_subquery
from .statements import Statement

DEMO_PASSWORDS = frozenset(password for _username, _role, password in DEMO_USERS)

DEMO_LOGIN_REFUSED = (
    "That is one of the demo passwords published with Demarche, and they can't be used on a real "
    "deployment. Ask an administrator to set a real password for your account "
    "(python manage.py changepassword USERNAME), then log in with it."
)


def is_refused_demo_password(password: str | None) -> bool:
    """Whether ``password`` is a published demo password that this deployment refuses."""
    return not settings.DEBUG and password in DEMO_PASSWORDS


class LoginForm(AuthenticationForm):
    """The login page's form.

    Checked before authenticating, so the person reads why, not "wrong password".
    """

    def clean(self) -> dict[str, Any]:
        if is_refused_demo_password(self.cleaned_data.get("password")):
            raise ValidationError(DEMO_LOGIN_REFUSED, code="demo_password")
        return super().clean()


class AdminLoginForm(LoginForm, AdminAuthenticationForm):
    """The admin site's login form: the same refusal, with the admin's messages and staff check."""


class RefuseDemoPasswordsBackend:
    """Stops ``authenticate()`` for a published demo password when DEBUG is off.

    Listed before ModelBackend: raising PermissionDenied ends authentication
    (Django tries no further backend) and counts as a failed login. It has no
    ``get_user``, so it is never the backend a session is bound to.
    """

    def authenticate(
        self, request: HttpRequest | None, username: str | None = None, password: str | None = None, **kwargs: Any
    ) -> None:
        if is_refused_demo_password(password):
            raise PermissionDenied(DEMO_LOGIN_REFUSED)
        return None


class ModelBackend(DjangoModelBackend):
    """Django's ModelBackend, which reads a session's user with their roles in one query.

    Every page asks who the user is (the session's user id → the user) and then what
    roles they have (their groups): two queries in a row, each waiting for the other.
    On PostgreSQL the user's row comes with their groups' names as an array
    (``roles.roles_subquery``), the query compiled once (``statements.Statement``).

    Listed in place of Django's, which stays listed after it for the sessions made
    before (a session names the backend that logged it in). So that a wrong password
    isn't checked twice, this one ends ``authenticate()`` when it refuses a username
    and password, as ``RefuseDemoPasswordsBackend`` does: Django's is never asked one.
    """

    def authenticate(
        self, request: HttpRequest | None, username: str | None = None, password: str | None = None, **kwargs: Any
    ) -> Any:
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is None and password is not None:
            raise PermissionDenied("Wrong username or password.")
        return user

    def get_user(self, user_id: Any) -> Any:
        model = get_user_model()
        try:
            pk = model._meta.pk.to_python(user_id)
        except ValidationError:
            return None
        if type(pk) is not int or not 0 < pk < 2**63:  # no such user (a statement takes 64-bit ids)
            return None
        using = router.db_for_read(model)
        if not roles_read_beside(using):
            return super().get_user(pk)
        user = next(iter(_SESSION_USER.instances(None, pk, shape=(using,), using=using)), None)
        if user is None:
            return None
        remember_roles(user, getattr(user, "role_names", None) or ())
        return user if self.user_can_authenticate(user) else None


def _session_user_query(_user: None, pk: int, using: str) -> QuerySet[Any]:
    return get_user_model().objects.filter(pk=pk).annotate(role_names=roles_subquery("pk", using))


_SESSION_USER = Statement(get_user_model(), "a session's user with their roles", _session_user_query)


def client_ip(request: HttpRequest) -> str | None:
    """The address a login attempt came from, for django-axes: the socket's peer.

    Never a header the client can set. Behind a reverse proxy this is the
    proxy's address; lockouts are per username, so that doesn't weaken them.
    """
    return request.META.get("REMOTE_ADDR")


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None = None, credentials: dict | None = None
) -> HttpResponse:
    """The page a locked-out login gets: what happened, for how long, what to do (429, not an error page)."""
    cool_off = get_cool_off(request)
    context = {
        "username": get_client_username(request, credentials) or "",
        "failure_limit": get_failure_limit(request, credentials),
        "minutes": math.ceil(cool_off.total_seconds() / 60) if cool_off else None,
    }
    return render(request, "registration/locked_out.html", context, status=429)
