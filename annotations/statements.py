"""Querysets built and compiled once per shape, then run with each request's values.

Building a queryset with a few ``Exists()`` and compiling it to SQL costs Django
2–3 ms, where PostgreSQL answers the query in a fraction of that: the annotate
page spent ~6 ms reading its article (``visible_to`` and ``with_annotatable``),
and a quote's save ~1.5 ms building the same lookup. A ``Statement`` builds its
queryset once for each shape, with stand-in values, compiles it, and keeps the
SQL; a request runs the kept SQL with its own values where the stand-ins were.
(SQLAlchemy calls these baked queries.) The SQL text is the same on every call,
so PostgreSQL's prepared statements serve it too.

The shape is what decides the queryset's form other than the values: the user's
roles (``visible_to`` branches on them), the database, and the shape arguments a
caller passes (a layer, a page size). The values are ids. The rule for a
builder: its queryset depends on its arguments, the user's roles and nothing
else. A value read while building (the time, a setting) would be kept with the
SQL; pass it as an argument instead. A stand-in that Django writes into the SQL
text rather than passing as a parameter, or drops from the query, is refused
when the statement is first compiled, so a builder that breaks the rule that way
fails in the tests (tests/test_statements.py).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.contrib.auth import get_user_model
from django.core.exceptions import EmptyResultSet, ImproperlyConfigured
from django.db import connections, router
from django.db.models import Model, QuerySet
from django.db.models.query import ModelIterable

from .roles import remember_roles, roles_of

if TYPE_CHECKING:
    from django.db.backends.base.base import BaseDatabaseWrapper
    from django.db.models.sql.compiler import SQLCompiler

    from .roles import AnyUser

# Stand-ins for the values: numbers no query is otherwise given, within a 32-bit
# integer's range (Django compiles a lookup past its column's range to "no rows",
# which would drop the slot; a slot that is dropped anyway is refused below).
_STAND_INS = tuple(2_000_000_000 + number for number in range(8))


@dataclass(frozen=True)
class _Compiled:
    sql: str
    # Each parameter: (n, its type) for the n-th value of a call, else (None, the value).
    # The type: Django hands PostgreSQL an integer column's value as psycopg's Int4 and the
    # like, not int, to type the parameter; a value takes its stand-in's type.
    params: tuple[tuple[int | None, Any], ...]
    # How a row becomes an instance (``instances``), as the ORM's compiler read the queryset:
    # the model's columns (their positions and attnames), the annotations', and each
    # column's converters with its expression. None for a query of values (``values_list``).
    reading: _Reading | None

    def bind(self, values: Sequence[int | None]) -> list[Any]:
        return [value if slot is None else _typed(value, values[slot]) for slot, value in self.params]


@dataclass(frozen=True)
class _Reading:
    field_columns: tuple[int, ...]
    attnames: tuple[str, ...]
    annotations: tuple[tuple[str, int], ...]
    converters: tuple[tuple[int, tuple[Any, ...], Any], ...]


def _typed(kind: type, value: int | None) -> Any:
    return value if kind is int or value is None else kind(value)


class Statement[M: Model]:
    """``build(user, *ids)``, a queryset of ``model``, compiled once per shape; ``rows``,
    ``instances`` and ``sql`` run it for a user and ids, and ``rows_read`` and
    ``instances_read`` hand it to ``read_together`` to run with other queries."""

    _cache_limit = 256

    def __init__(self, model: type[M], name: str, build: Callable[..., QuerySet[M, Any]]) -> None:
        self.model = model
        self.name = name
        self.build = build
        self._compiled: dict[Hashable, _Compiled] = {}
        self._lock = threading.Lock()

    def sql(
        self, user: AnyUser | None, *ids: int, shape: tuple[Hashable, ...] = (), using: str | None = None
    ) -> tuple[str, list[Any]]:
        """The SQL and parameters of ``build(user, *ids, *shape)``, compiled for this shape once.

        ``user``: None for a query that reads no user (``build`` is given None).
        ``shape``: arguments that decide the query's form rather than fill it (a layer, a page
        size, which Django writes into the SQL as LIMIT): few values, each compiled once."""
        compiled, params = self._compiled_for(user, ids, shape, using)
        return compiled.sql, params

    def _compiled_for(
        self, user: AnyUser | None, ids: tuple[int, ...], shape: tuple[Hashable, ...], using: str | None
    ) -> tuple[_Compiled, list[Any]]:
        if user is not None and not user.is_authenticated:
            raise ValueError(f"{self.name}: a statement is for a signed-in user, or none")
        # Where the queryset would have read (a replica, for the API's safe requests).
        using = using or router.db_for_read(self.model)
        if len(ids) >= len(_STAND_INS):
            raise ValueError(f"{self.name}: at most {len(_STAND_INS) - 1} values")
        if not all(type(value) is int for value in ids):
            raise TypeError(f"{self.name}: the values are ids (int), not {[type(value) for value in ids]}")
        if not all(-(2**63) <= value < 2**63 for value in ids):
            # The ORM reads an id past the column's range as matching nothing (or, excluded,
            # everything); a driver refuses it. The caller knows which it means.
            raise ValueError(f"{self.name}: a value past a 64-bit integer's range")
        who = None if user is None else (user.is_active, user.is_superuser, roles_of(user))
        key = (using, len(ids), shape, who)
        compiled = self._compiled.get(key)
        if compiled is None:
            compiled = self._compile(user, len(ids), shape, using)
            with self._lock:
                if len(self._compiled) >= self._cache_limit:
                    self._compiled.clear()
                self._compiled[key] = compiled
        return compiled, compiled.bind([None if user is None else user.pk, *ids])

    def rows(
        self, user: AnyUser | None, *ids: int, shape: tuple[Hashable, ...] = (), using: str | None = None
    ) -> list[tuple[Any, ...]]:
        """The rows of ``build(user, *ids)``, a ``values_list`` queryset, as tuples.

        Without the queryset's converters: for plain columns, which both databases' drivers
        already return as Python values (SQLite's converts by the declared type), not for
        expressions such as EXISTS (0 or 1 on SQLite) or JSON."""
        (rows,) = read_together(self.rows_read(user, *ids, shape=shape, using=using))
        return rows

    def instances(
        self, user: AnyUser | None, *ids: int, shape: tuple[Hashable, ...] = (), using: str | None = None
    ) -> list[M]:
        """The rows of ``build(user, *ids)`` as model instances, annotations set as attributes,
        every value converted as the queryset would convert it (an EXISTS is a bool on SQLite too).

        Built as the ORM builds them (``Model.from_db``), from what its compiler read of the
        queryset once: a raw queryset would work out the columns' fields again for every
        query, a tenth of a millisecond each time, four times on the annotate page."""
        (found,) = read_together(self.instances_read(user, *ids, shape=shape, using=using))
        return found

    def rows_read(
        self, user: AnyUser | None, *ids: int, shape: tuple[Hashable, ...] = (), using: str | None = None
    ) -> Read:
        """``rows``, to run with other reads (``read_together``)."""
        using = using or router.db_for_read(self.model)
        compiled, params = self._compiled_for(user, ids, shape, using)
        return Read(self.model, compiled.sql, params, None, using)

    def instances_read(
        self, user: AnyUser | None, *ids: int, shape: tuple[Hashable, ...] = (), using: str | None = None
    ) -> Read:
        """``instances``, to run with other reads (``read_together``)."""
        using = using or router.db_for_read(self.model)
        compiled, params = self._compiled_for(user, ids, shape, using)
        if compiled.reading is None:
            raise ImproperlyConfigured(
                f"{self.name}: a query of values has no instances (nor one with select_related); read its rows"
            )
        return Read(self.model, compiled.sql, params, compiled.reading, using)

    def _compile(self, user: AnyUser | None, count: int, shape: tuple[Hashable, ...], using: str) -> _Compiled:
        stand_in = None
        if user is not None:
            stand_in = get_user_model()(
                pk=_STAND_INS[0], is_active=user.is_active, is_superuser=user.is_superuser, is_staff=user.is_staff
            )
            remember_roles(stand_in, roles_of(user))
        queryset = self.build(stand_in, *_STAND_INS[1 : 1 + count], *shape)
        if queryset.model is not self.model:
            raise ImproperlyConfigured(f"{self.name}: built a queryset of {queryset.model}, not {self.model}")
        try:
            compiler = queryset.query.get_compiler(using=using)
            sql, params = compiler.as_sql()
            matches_nothing = False
        except EmptyResultSet:
            # A shape that can match nothing (a user without a role): a query with no rows.
            compiler = queryset.query.get_compiler(using=using, elide_empty=False)
            sql, params = compiler.as_sql()
            matches_nothing = True
        slots = {value: index for index, value in enumerate(_STAND_INS[: 1 + count])}
        for value in slots:
            if str(value) in sql:
                raise ImproperlyConfigured(f"{self.name}: Django wrote a value into the SQL; it can't be reused")
        # Every id reaches the query (the user need not: a reviewer's visible_to reads no user).
        for value in _STAND_INS[1 : 1 + count]:
            if value not in params and not matches_nothing:
                raise ImproperlyConfigured(f"{self.name}: a value is missing from the compiled query")
        reading = _reading(compiler) if queryset._iterable_class is ModelIterable else None
        return _Compiled(sql, tuple(_slot_or_value(value, slots) for value in params), reading)


def _reading(compiler: SQLCompiler) -> _Reading | None:
    """How ``instances`` reads a row of ``compiler``'s query of instances: None for one that
    reads related rows too (``select_related``), which a Statement doesn't build."""
    info = compiler.klass_info
    if info is None or info.get("related_klass_infos"):
        return None
    columns = tuple(info["select_fields"])
    converters = compiler.get_converters([expression for expression, _sql, _alias in compiler.select])
    return _Reading(
        field_columns=columns,
        attnames=tuple(compiler.select[column][0].target.attname for column in columns),
        annotations=tuple(compiler.annotation_col_map.items()),
        converters=tuple((index, tuple(found), expression) for index, (found, expression) in converters.items()),
    )


def _slot_or_value(value: Any, slots: dict[int, int]) -> tuple[int | None, Any]:
    if isinstance(value, int) and not isinstance(value, bool) and int(value) in slots:
        return slots[int(value)], type(value)
    return None, value


@dataclass(frozen=True)
class Read:
    """A statement's query with a call's values (``Statement.rows_read``, ``instances_read``)."""

    model: type[Model]
    sql: str
    params: list[Any]
    reading: _Reading | None  # None: the rows as tuples
    using: str

    def result(self, rows: list[tuple[Any, ...]], connection: BaseDatabaseWrapper) -> list[Any]:
        reading = self.reading
        if reading is None:
            return rows
        found = []
        for fetched in rows:
            row = list(fetched)
            for index, converters, expression in reading.converters:
                value = row[index]
                for converter in converters:
                    value = converter(value, expression, connection)
                row[index] = value
            instance = self.model.from_db(self.using, reading.attnames, [row[index] for index in reading.field_columns])
            for name, index in reading.annotations:
                setattr(instance, name, row[index])
            found.append(instance)
        return found


def read_together(*reads: Read) -> list[list[Any]]:
    """Each read's rows (or instances), in order, the queries sent together.

    On PostgreSQL in one round trip: psycopg's pipeline mode sends every query before
    reading any answer. A page that reads seven independent things waited seven times for
    the database; the wait is the larger part of a small query's time (a query after the
    process has been busy elsewhere takes 0.3–0.6 ms, most of it the round trip). Elsewhere
    (SQLite is in the process) one after the other. Every read is one query, as Django logs it.
    """
    if not reads:
        return []
    using = reads[0].using
    if any(read.using != using for read in reads):
        raise ValueError("read_together: the reads are for different databases")
    connection = connections[using]
    fetched: list[list[tuple[Any, ...]]] = []
    if connection.vendor == "postgresql" and len(reads) > 1:
        connection.ensure_connection()
        cursors = [connection.cursor() for _read in reads]
        try:
            with connection.wrap_database_errors, connection.connection.pipeline():
                for read, cursor in zip(reads, cursors, strict=True):
                    cursor.execute(read.sql, read.params)
            fetched = [cursor.fetchall() for cursor in cursors]
        finally:
            for cursor in cursors:
                cursor.close()
    else:
        for read in reads:
            with connection.cursor() as cursor:
                cursor.execute(read.sql, read.params)
                fetched.append(cursor.fetchall())
    return [read.result(rows, connection) for read, rows in zip(reads, fetched, strict=True)]
