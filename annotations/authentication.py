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
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from hmac import compare_digest
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ImproperlyConfigured
from django.db import connections, router
from django.utils import timezone
from drf_spectacular.contrib.knox_auth_token import KnoxTokenScheme
from knox.auth import TokenAuthentication as KnoxTokenAuthentication
from knox.crypto import hash_token
from knox.models import get_token_model
from knox.settings import CONSTANTS, knox_settings
from knox.signals import token_expired
from rest_framework import exceptions

from .roles import remember_roles, roles_read_beside, roles_subquery


class TokenAuthentication(KnoxTokenAuthentication):
    def authenticate_credentials(self, token: bytes) -> tuple[Any, Any]:
        """Knox's own steps, with the roles read beside the token."""
        if not token.isascii():
            raise exceptions.AuthenticationFailed("Invalid token: a token is ASCII letters and digits.")
        text = token.decode()
        key = text[: CONSTANTS.TOKEN_KEY_LENGTH]
        model = get_token_model()
        using = router.db_for_read(model)
        roles = roles_read_beside(using)
        if roles:
            found: Iterable[Any] = _tokens_with_roles(key, using)
        else:
            found = model.objects.using(using).filter(token_key=key).select_related("user")
        for auth_token in found:
            if self._cleanup_token(auth_token):
                continue
            try:
                digest = hash_token(text)
            except (TypeError, binascii.Error):
                raise exceptions.AuthenticationFailed("Invalid token.") from None
            if compare_digest(digest, auth_token.digest):
                if knox_settings.AUTO_REFRESH and auth_token.expiry:
                    self.renew_token(auth_token)
                if roles:
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


# The token's query on PostgreSQL (the token, its user and their roles), compiled once per
# database: building and compiling it took every API call ~1.5 ms, more than running it.
_KEY_STAND_IN = "token-key-stand-in"


@dataclass(frozen=True)
class _TokenQuery:
    sql: str
    params: tuple[Any, ...]
    key_at: int  # the parameter that is the token's key
    token_columns: tuple[int, ...]
    token_fields: tuple[str, ...]
    user_columns: tuple[int, ...]
    user_fields: tuple[str, ...]
    roles_column: int


_token_queries: dict[str, _TokenQuery] = {}


def _token_query(using: str) -> _TokenQuery:
    query = _token_queries.get(using)
    if query is not None:
        return query
    tokens = get_token_model().objects.using(using).filter(token_key=_KEY_STAND_IN).select_related("user")
    compiler = tokens.annotate(role_names=roles_subquery("user_id", using)).query.get_compiler(using=using)
    sql, params = compiler.as_sql()
    if list(params).count(_KEY_STAND_IN) != 1 or _KEY_STAND_IN in sql:
        raise ImproperlyConfigured("The token's query doesn't take its key as one parameter")
    # Which columns are the token's, the user's (select_related) and the roles, as Django reads them.
    token_info = compiler.klass_info
    if token_info is None or len(token_info["related_klass_infos"]) != 1:
        raise ImproperlyConfigured("The token's query doesn't read the token and its user")
    user_info = token_info["related_klass_infos"][0]

    def fields(columns: list[int]) -> tuple[str, ...]:
        return tuple(compiler.select[column][0].target.attname for column in columns)

    query = _TokenQuery(
        sql=sql,
        params=tuple(params),
        key_at=list(params).index(_KEY_STAND_IN),
        token_columns=tuple(token_info["select_fields"]),
        token_fields=fields(token_info["select_fields"]),
        user_columns=tuple(user_info["select_fields"]),
        user_fields=fields(user_info["select_fields"]),
        roles_column=compiler.annotation_col_map["role_names"],
    )
    _token_queries[using] = query
    return query


def _tokens_with_roles(key: str, using: str) -> Iterator[Any]:
    """The tokens with this key, each with its user and ``role_names``: the ORM's
    ``filter(token_key=key).select_related("user").annotate(role_names=…)``, compiled once."""
    query = _token_query(using)
    params = list(query.params)
    params[query.key_at] = key
    with connections[using].cursor() as cursor:
        cursor.execute(query.sql, params)
        rows = cursor.fetchall()
    model, user_model = get_token_model(), get_user_model()
    for row in rows:
        auth_token = model.from_db(using, query.token_fields, [row[column] for column in query.token_columns])
        auth_token.user = user_model.from_db(using, query.user_fields, [row[column] for column in query.user_columns])
        auth_token.role_names = row[query.roles_column]
        yield auth_token


class TokenScheme(KnoxTokenScheme):
    """The schema's description of these tokens: knox's, for this subclass."""

    target_class = "annotations.authentication.TokenAuthentication"
