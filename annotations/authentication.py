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

On PostgreSQL the query that reads the token and its user reads the user's roles
too (``roles.roles_subquery``), which every request asks next: one query less
on every API call.
"""

from __future__ import annotations

import binascii
from hmac import compare_digest
from typing import Any

from django.utils import timezone
from drf_spectacular.contrib.knox_auth_token import KnoxTokenScheme
from knox.auth import TokenAuthentication as KnoxTokenAuthentication
from knox.crypto import hash_token
from knox.models import get_token_model
from knox.settings import CONSTANTS, knox_settings
from knox.signals import token_expired
from rest_framework import exceptions

from .roles import remember_roles, roles_subquery


class TokenAuthentication(KnoxTokenAuthentication):
    def authenticate_credentials(self, token: bytes) -> tuple[Any, Any]:
        """Knox's own steps, with the roles read beside the token."""
        if not token.isascii():
            raise exceptions.AuthenticationFailed("Invalid token: a token is ASCII letters and digits.")
        text = token.decode()
        tokens = get_token_model().objects.filter(token_key=text[: CONSTANTS.TOKEN_KEY_LENGTH]).select_related("user")
        roles = roles_subquery("user_id", tokens.db)
        for auth_token in tokens.annotate(role_names=roles) if roles is not None else tokens:
            if self._cleanup_token(auth_token):
                continue
            try:
                digest = hash_token(text)
            except (TypeError, binascii.Error):
                raise exceptions.AuthenticationFailed("Invalid token.") from None
            if compare_digest(digest, auth_token.digest):
                if knox_settings.AUTO_REFRESH and auth_token.expiry:
                    self.renew_token(auth_token)
                if roles is not None:
                    remember_roles(auth_token.user, auth_token.role_names)
                return self.validate_user(auth_token)
        raise exceptions.AuthenticationFailed("Invalid token.")

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
