"""API authentication: knox tokens, refusing a malformed header as a bad token.

Headers reach Django as ISO-8859-1, so ``Token abc\\xe9`` is a legal header;
knox decodes the token as UTF-8 and a byte such as 0xE9 raised
UnicodeDecodeError, a 500. A token is URL-safe ASCII, so anything else is
simply not a valid token: 401, like any other.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.contrib.knox_auth_token import KnoxTokenScheme
from knox.auth import TokenAuthentication as KnoxTokenAuthentication
from rest_framework import exceptions


class TokenAuthentication(KnoxTokenAuthentication):
    def authenticate_credentials(self, token: bytes) -> tuple[Any, Any]:
        if not token.isascii():
            raise exceptions.AuthenticationFailed("Invalid token: a token is ASCII letters and digits.")
        return super().authenticate_credentials(token)


class TokenScheme(KnoxTokenScheme):
    """The schema's description of these tokens: knox's, for this subclass."""

    target_class = "annotations.authentication.TokenAuthentication"
