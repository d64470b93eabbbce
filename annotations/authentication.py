"""API authentication: knox tokens, refusing a malformed header as a bad token,
in one query.

Headers reach Django as ISO-8859-1, so ``Token abc\\xe9`` is a legal header;
knox decodes the token as UTF-8 and a byte such as 0xE9 raised
UnicodeDecodeError, a 500. A token is URL-safe ASCII, so anything else is
simply not a valid token: 401, like any other.

Knox also reads every token of the user on every request, to delete the other
tokens that have expired: a second query on the API's hot path, for rows that
are never accepted anyway (an expired token is refused, and deleted, when it is
presented; the tokens page lists only live ones). Only the presented token is
checked here.
"""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from drf_spectacular.contrib.knox_auth_token import KnoxTokenScheme
from knox.auth import TokenAuthentication as KnoxTokenAuthentication
from knox.signals import token_expired
from rest_framework import exceptions


class TokenAuthentication(KnoxTokenAuthentication):
    def authenticate_credentials(self, token: bytes) -> tuple[Any, Any]:
        if not token.isascii():
            raise exceptions.AuthenticationFailed("Invalid token: a token is ASCII letters and digits.")
        return super().authenticate_credentials(token)

    def _cleanup_token(self, auth_token: Any) -> bool:
        """True (and the token deleted) if the presented token has expired; the user's others are left alone."""
        if auth_token.expiry is None or auth_token.expiry >= timezone.now():
            return False
        username = auth_token.user.get_username()
        auth_token.delete()
        token_expired.send(sender=self.__class__, username=username, source="auth_token")
        return True


class TokenScheme(KnoxTokenScheme):
    """The schema's description of these tokens: knox's, for this subclass."""

    target_class = "annotations.authentication.TokenAuthentication"
