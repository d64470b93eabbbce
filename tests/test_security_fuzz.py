"""The fuzzer: every route × a catalogue of hostile inputs × every role; never a 5xx.

The routes come from the URL resolver, as in the access matrix
(``tests/test_security_access_matrix.py``), whose ``TABLE`` says how to fill
each route's path and, for each method, which role gets through; a route added
later is fuzzed as soon as the resolver knows it (as the admin until the matrix
has its entry, which the matrix itself insists on). The admin family is left to
the matrix: Django's own forms.

Each route gets, as the role that gets through (the first analyst for their own
draft, a reviewer for curation, a token for the API):

- query strings: every parameter the route reads (the API's filters, paging,
  ordering, include, layer, format; the pages' filters and searches) set to
  invalid UTF-8, a UTF-8-encoded surrogate, NUL, a number too large for any
  column, and on the API also negative numbers, ``1e999``, ``NaN``, a BOM, a
  long string, brackets; raw non-ASCII bytes, repeated and unknown parameters;
- path parameters too large for any integer column, zero, bad bytes;
- headers with bytes that are not UTF-8 or values out of range: those that can
  end a request early (Authorization, Cookie, Host, Accept, Content-Length) one
  at a time, the rest (If-Match, HX-*, Content-Type, X-Forwarded-For,
  User-Agent, Origin, Referer, Accept-Language) all at once — every header one
  at a time on the home page, the login page and the quote list;
- bodies, for each method that reads one: JSON nested far past the limit, huge
  numbers, ``1e999``, NaN and Infinity, every value of the route's valid body
  replaced by each JSON type in turn and each field by a list, unknown fields,
  duplicate keys, lone surrogates in values and keys, invalid UTF-8, BOMs, NUL,
  empty and non-object documents, truncated JSON, wrong and missing content
  types, malformed multipart, a body over the size limit; form bodies
  (urlencoded and multipart) with the same values as raw bytes, repeated
  fields, and import files that are deep, invalid, empty or NaN.

Every other role gets a smaller set (a malformed token and hostile bodies), so
that the refusal paths (401, 403, 404) are fuzzed too; a second route to a view
already fuzzed (``quotes/export`` without its slash) gets a few inputs. A cell
fails on any 5xx (or exception), and on any domain row changed by a request that
was refused (4xx); each request runs in a savepoint rolled back afterwards, so
every cell starts from the same world.
"""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, NoReturn
from urllib.parse import quote_from_bytes

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, transaction
from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart
from django.urls import resolve, reverse

from annotations import filters as filtersets
from annotations.models import ThrottleCount

from .test_security_access_matrix import (
    LOGIN,
    TABLE,
    World,
    changed_tables,
    fill,
    is_admin,
    isolated_media,  # noqa: F401 (an autouse fixture)
    read,
    shared_client,
    snapshot,
    url_routes,
    world,  # noqa: F401 (a fixture, asked for by name)
)

ROLES = ("anonymous", "analyst", "reviewer", "researcher", "admin")
# Who is tried first for the full catalogue: the first analyst owns the drafts.
THROUGH_ORDER = ("analyst", "reviewer", "admin", "researcher", "anonymous")
WRITES = ("POST", "PUT", "PATCH", "DELETE")
HUGE = "99999999999999999999999"
LIMIT_BYTES = 6 * 1024 * 1024  # over DATA_UPLOAD_MAX_MEMORY_SIZE (5 MiB)

# --- The catalogue -----------------------------------------------------------------------------

# Query-string values, already percent-encoded as they travel.
QUERY_VALUES = {
    "invalid UTF-8": "%FF%FE",
    "UTF-8-encoded surrogate": "%ED%A0%80",
    "NUL": "a%00b",
    "huge number": HUGE,
    "negative": "-1",
    "1e999": "1e999",
    "NaN": "NaN",
    "BOM": "%EF%BB%BF1",
    "long": "x" * 5000,
    "empty": "",
    "brackets": "%5B%5D%7B%7D",
}
# Pages render a whole page for each; these cover decoding, numbers and length.
PAGE_QUERY_VALUES = {"invalid UTF-8", "UTF-8-encoded surrogate", "NUL", "huge number"}
# Parameters the pages read (django-filter forms, searches, the quote form's preselection).
PAGE_PARAMETERS = sorted(
    {
        name
        for filterset in (filtersets.QuoteFilter, filtersets.ArticleFilter, filtersets.SpeakerFilter)
        for name in filterset.base_filters
    }
    | {"q", "page", "start", "end", "article", "status", "annotator", "ordering", "sort", "next", "layer"}
)

# Headers, one at a time: (name, META key, value). WSGI hands Django headers as
# ISO-8859-1 text, so "\xe9" here is the byte 0xE9 on the wire.
HEADERS: list[tuple[str, str, str]] = [
    ("Authorization: non-UTF-8 token", "HTTP_AUTHORIZATION", "Token abc\xe9"),
    ("Authorization: binary token", "HTTP_AUTHORIZATION", "Token \xff\xfe\x80"),
    ("Authorization: long token", "HTTP_AUTHORIZATION", "Token " + "a" * 5000),
    ("Authorization: three words", "HTTP_AUTHORIZATION", "Token a b"),
    ("Authorization: Basic non-UTF-8", "HTTP_AUTHORIZATION", "Basic \xe9\xe9=="),
    ("Authorization: bare scheme", "HTTP_AUTHORIZATION", "Token"),
    ("If-Match: non-UTF-8", "HTTP_IF_MATCH", '"\xe9"'),
    ("If-Match: huge version", "HTTP_IF_MATCH", f'"{HUGE}"'),
    ("If-Match: negative", "HTTP_IF_MATCH", 'W/"-1"'),
    ("If-Match: list", "HTTP_IF_MATCH", '"1", "2"'),
    ("HX-Request: non-UTF-8", "HTTP_HX_REQUEST", "\xe9"),
    ("HX-Current-URL: non-UTF-8", "HTTP_HX_CURRENT_URL", "http://\xe9\xff/"),
    ("HX-Target: non-UTF-8", "HTTP_HX_TARGET", "\xe9\xff"),
    ("HX-Trigger-Name: NUL", "HTTP_HX_TRIGGER_NAME", "a\x00b"),
    ("HX-Prompt: broken autoencoded", "HTTP_HX_PROMPT", "%FF%ED%A0%80"),
    ("Accept: non-UTF-8", "HTTP_ACCEPT", "\xe9/\xff"),
    ("Accept: huge indent", "HTTP_ACCEPT", f"application/json; indent={HUGE}"),
    ("Accept: q=NaN", "HTTP_ACCEPT", "text/html;q=NaN, application/json;q=1e999"),
    ("Accept: nothing acceptable", "HTTP_ACCEPT", "image/png"),
    ("Content-Type: non-UTF-8 charset", "CONTENT_TYPE", 'application/json; charset="\xe9"'),
    ("Content-Type: unknown charset", "CONTENT_TYPE", "application/x-www-form-urlencoded; charset=nope-42"),
    ("Content-Type: multipart without boundary", "CONTENT_TYPE", "multipart/form-data"),
    ("Content-Length: negative", "CONTENT_LENGTH", "-1"),
    ("Content-Length: not a number", "CONTENT_LENGTH", "abc"),
    ("Content-Length: huge", "CONTENT_LENGTH", HUGE),
    ("Cookie: non-UTF-8", "HTTP_COOKIE", "sessionid=\xe9\xff; csrftoken=\xe9"),
    ("Cookie: malformed", "HTTP_COOKIE", '=;;; "sessionid=\x00'),
    ("X-Forwarded-For: non-UTF-8", "HTTP_X_FORWARDED_FOR", "\xe9, 256.1.1.1"),
    ("User-Agent: NUL and non-UTF-8", "HTTP_USER_AGENT", "a\x00\xe9"),
    ("Origin: non-UTF-8", "HTTP_ORIGIN", "http://\xe9"),
    ("Referer: non-UTF-8", "HTTP_REFERER", "https://\xe9/\xff"),
    ("Host: not allowed", "HTTP_HOST", "\xe9.example"),
    ("Accept-Language: non-UTF-8", "HTTP_ACCEPT_LANGUAGE", "\xe9;q=NaN"),
]


@dataclass(frozen=True)
class Body:
    name: str
    content: bytes
    content_type: str


def json_bytes(value: Any) -> bytes:
    return json.dumps(value).encode()


# Bodies that need no knowledge of the route.
GENERIC_BODIES = [
    Body("JSON nested 10,000 arrays deep", b"[" * 10_000 + b"]" * 10_000, "application/json"),
    Body("JSON nested 10,000 objects deep", b'{"a":' * 10_000 + b"1" + b"}" * 10_000, "application/json"),
    Body(
        "JSON nested 65 deep inside a string-free object", b'{"a":' + b"[" * 65 + b"]" * 65 + b"}", "application/json"
    ),
    Body("invalid UTF-8 in JSON", b'{"title": "\xff\xfe", "text": "\xc3"}', "application/json"),
    Body("CESU surrogate bytes in JSON", b'{"title": "\xed\xa0\x80"}', "application/json"),
    Body("empty JSON body", b"", "application/json"),
    Body("JSON null", b"null", "application/json"),
    Body("JSON array", b"[1, 2]", "application/json"),
    Body("JSON string", b'"x"', "application/json"),
    Body("JSON number 1e999", b"1e999", "application/json"),
    Body("truncated JSON", b'{"title": ', "application/json"),
    Body("BOM only", b"\xef\xbb\xbf", "application/json"),
    Body("lone surrogate keys", b'{"\\ud800": 1, "\\udc00x": "\\ud800"}', "application/json"),
    Body("no content type", b'{"title": "x"}', ""),
    Body("XML", b"<a><b/></a>", "application/xml"),
    Body("JSON as UTF-16", '{"title": "x"}'.encode("utf-16"), "application/json; charset=utf-16"),
    Body("form with invalid UTF-8", b"title=%FF%FE&text=\xff\xfe&%FF=1", "application/x-www-form-urlencoded"),
    Body("form with broken escapes", b"a=%&b=%G1&=&&c", "application/x-www-form-urlencoded"),
    Body("form with many fields", b"&".join(b"f%d=1" % n for n in range(1200)), "application/x-www-form-urlencoded"),
    Body("multipart with garbage", b"--XYZ\r\ngarbage\r\n\r\n--", "multipart/form-data; boundary=XYZ"),
    Body("multipart without boundary", b"--XYZ\r\n\r\n--XYZ--", "multipart/form-data"),
    Body("multipart with a non-UTF-8 field name", b"", "multipart/form-data; boundary=\xe9"),
]


def oversized_body() -> Body:
    return Body("a body over the size limit", b'{"title": "' + b"x" * LIMIT_BYTES + b'"}', "application/json")


# JSON values that replace every value of a route's valid body in turn.
JSON_VALUES: dict[str, Any] = {
    "list": [1, [2]],
    "object": {"a": {"b": 1}},
    "null": None,
    "string": "not a number",
    "2**64": 2**64,
    "a 400-digit number": 10**400,
    "lone surrogate": "\ud800",
    "NUL": "a\x00b",
    "leading BOM": "\ufeffx",
    "empty": "",
    "long string": "x" * 20_000,
}
# Raw JSON tokens that json.dumps can't produce.
JSON_TOKENS = {"1e999": "1e999", "NaN": "NaN", "-Infinity": "-Infinity"}
PLACEHOLDER = "__fuzz_value__"

# Form values (bytes, percent-encoded on the way).
FORM_VALUES: dict[str, bytes] = {
    "invalid UTF-8": b"\xff\xfe",
    "UTF-8-encoded surrogate": b"\xed\xa0\x80",
    "NUL": b"a\x00b",
    "huge number": HUGE.encode(),
    "NaN": b"NaN",
    "BOM and a long string": b"\xef\xbb\xbf" + b"x" * 20_000,
}


def encode_form(pairs: list[tuple[str, bytes]]) -> bytes:
    return "&".join(
        f"{quote_from_bytes(k.encode(), safe='')}={quote_from_bytes(v, safe='')}" for k, v in pairs
    ).encode()


def json_bodies(valid: dict[str, Any]) -> Iterator[Body]:
    """Mutations of a route's valid JSON body."""
    fields = list(valid) or ["title", "text", "start", "end", "article", "name"]
    for label, value in JSON_VALUES.items():
        yield Body(f"every field {label}", json_bytes(dict.fromkeys(fields, value)), "application/json")
    for label, token in JSON_TOKENS.items():
        text = json.dumps(dict.fromkeys(fields, PLACEHOLDER)).replace(f'"{PLACEHOLDER}"', token)
        yield Body(f"every field {label}", text.encode(), "application/json")
    for name in fields:  # one field of the wrong type, the others valid: the deepest validation
        yield Body(f"{name} as a list", json_bytes({**valid, name: [valid.get(name)]}), "application/json")
    yield Body("an unknown field", json_bytes({**valid, "speakr": 1, "stance": []}), "application/json")
    yield Body("an unknown field holding a surrogate", json_bytes({**valid, "\udcff": "\udcff"}), "application/json")
    text = json.dumps(valid)
    if valid:
        first = next(iter(valid))
        yield Body(
            "a duplicate key", (text[:-1] + f', "{first}": {json.dumps(valid[first])}}}').encode(), "application/json"
        )
    yield Body("leading BOM", b"\xef\xbb\xbf" + text.encode(), "application/json")
    yield Body("valid JSON as text/plain", text.encode(), "text/plain")
    yield Body("valid JSON as a form", text.encode(), "application/x-www-form-urlencoded")
    yield Body("valid JSON, latin-1 charset", text.encode(), "application/json; charset=latin-1")


def form_bodies(valid: dict[str, Any]) -> Iterator[Body]:
    """Mutations of a route's valid form body, urlencoded (files left out) and multipart."""
    pairs = [(k, str(v).encode()) for k, v in valid.items() if not isinstance(v, SimpleUploadedFile | list)]
    names = [k for k, _ in pairs] or ["title", "text", "start", "end", "name", "q"]
    urlencoded = "application/x-www-form-urlencoded"
    for label, value in FORM_VALUES.items():
        yield Body(f"every form field {label}", encode_form([(name, value) for name in names]), urlencoded)
    repeated = [(name, value) for name in names for value in (b"1", b"2")]
    yield Body("every form field repeated", encode_form([*pairs, *repeated]), urlencoded)
    yield Body("form with an unknown field", encode_form([*pairs, ("speakr", b"1")]), urlencoded)
    yield Body(
        "form field with a surrogate name",
        encode_form([*pairs, ("\udcff".encode("utf-8", "surrogatepass").decode("latin-1"), b"1")]),
        urlencoded,
    )
    files = {k: v for k, v in valid.items() if isinstance(v, SimpleUploadedFile)}
    for label, content in {
        "deep JSON": b'{"text":' + b"[" * 5000 + b"]" * 5000 + b"}\n",
        "invalid UTF-8": b'{"title": "\xff", "text": "\xfe"}\n',
        "NUL": b'{"title": "a\x00", "text": "b\x00"}\n',
        "empty": b"",
        "BOM only": b"\xef\xbb\xbf",
        "NaN": b'{"title": NaN, "text": Infinity}\n',
        "duplicate keys": b'{"title": "a", "title": "b", "text": "c"}\n',
        "a huge number": b'{"text": "x", "label": [[0, ' + HUGE.encode() + b', "DIRECT"]]}\n',
        "Label Studio nonsense": b'[{"data": {"text": 5}, "annotations": [[]]}]',
    }.items():
        if not files:
            break
        data = {**{k: v.decode("latin-1") for k, v in pairs}}
        for name in files:
            data[name] = SimpleUploadedFile("fuzz.jsonl", content)
        yield Body(f"multipart with a file of {label}", encode_multipart(BOUNDARY, data), MULTIPART_CONTENT)
    hostile = dict.fromkeys(names, "\x00\ufeff" + HUGE)
    yield Body("multipart with hostile fields and no file", encode_multipart(BOUNDARY, hostile), MULTIPART_CONTENT)


# --- Routes -----------------------------------------------------------------------------------


@dataclass
class Route:
    route: str
    path: str
    api: bool
    query: str  # the entry's own query string, without "?"
    through: dict[str, str]  # method → the role that gets through
    body: dict[str, Any]
    headers: dict[str, str]
    multipart: bool
    parameters: list[str]  # what its query string may hold
    path_variants: list[str] = field(default_factory=list)


def gets_through(expected: Any) -> bool:
    return isinstance(expected, int) and expected < 400 and expected != LOGIN


def query_parameters(path: str, api: bool) -> list[str]:
    if not api:
        return PAGE_PARAMETERS
    view = resolve(path.split("?")[0]).func
    cls = getattr(view, "cls", None)
    if cls is None:
        return ["format"]
    names = {"cursor", "page_size", "ordering", "layer", "include", "format"}
    filterset = getattr(cls, "filterset_class", None)
    if filterset is not None:
        names |= set(filterset.base_filters)
    return sorted(names)


def path_variants(route: str, entry: Any, w: World) -> list[str]:
    """The route with each path parameter out of range or malformed."""
    params = entry.params(w) if entry else {}
    variants = []
    for name in params:
        for bad in (HUGE, "0", "%FF"):
            try:
                variants.append(reverse(entry.name, kwargs={**params, name: bad}))
            except Exception:  # noqa: S112 (a converter that refuses the value: not a route)
                continue
    return variants


def routes(w: World) -> list[Route]:
    found = []
    for route in sorted(url_routes()):
        if is_admin(route):
            continue
        entry = TABLE.get(route)
        api = route.startswith("api/")
        if entry is None:  # the matrix fails for it; fuzz it anyway, as the admin
            path = fill(route)
            through = dict.fromkeys(("GET", *WRITES), "admin")
            body, headers, query, multipart = {}, {}, "", False
        else:
            path = reverse(entry.name, kwargs=entry.params(w))
            through = {}
            for method, expected in entry.expect.items():
                role = next((role for role in THROUGH_ORDER if gets_through(expected[role])), None)
                if role is not None:
                    through[method] = role
            body, headers = entry.body(w), entry.headers(w)
            query, multipart = entry.query(w).lstrip("?"), entry.multipart
        found.append(
            Route(
                route,
                path,
                api,
                query,
                through,
                body,
                headers,
                multipart,
                query_parameters(path, api),
                path_variants(route, entry, w),
            )
        )
    return found


# --- Sending ----------------------------------------------------------------------------------


@dataclass
class Cell:
    role: str
    method: str
    path: str
    what: str
    status: int = 0
    error: str = ""
    changed: list[str] = field(default_factory=list)

    def describe(self) -> str:
        outcome = self.error or str(self.status)
        changed = f", changed {', '.join(self.changed)}" if self.changed else ""
        return f"{self.method} {self.path[:120]} as {self.role} with {self.what}: {outcome}{changed}"


class Fuzzer:
    def __init__(self, w: World) -> None:
        self.world = w
        self.cookies = {}
        for role in ROLES:
            client = shared_client()
            if role != "anonymous":
                client.force_login(w.users[role])
            self.cookies[role] = client.cookies
        self.baseline = snapshot()
        self.sent = 0
        self.failures: list[str] = []

    def send(
        self,
        role: str,
        method: str,
        path: str,
        what: str,
        *,
        api: bool,
        body: Body | None = None,
        meta: dict[str, str] | None = None,
    ) -> Cell:
        cell = Cell(role, method, path, what)
        client = shared_client()
        client.cookies = copy.deepcopy(self.cookies[role])
        extra: dict[str, str] = {}
        if api and role != "anonymous":
            extra["HTTP_AUTHORIZATION"] = f"Token {self.world.api_tokens[role]}"
        extra.update(meta or {})
        self.sent += 1
        fresh_throttle_counts()
        try:
            with transaction.atomic():
                writes_before = writes_counted()
                if body is None:
                    response = client.generic(method, path, b"", **extra)
                else:
                    content_type = extra.pop("CONTENT_TYPE", body.content_type)
                    response = client.generic(method, path, body.content, content_type=content_type, **extra)
                read(response)
                cell.status = response.status_code
                if 400 <= cell.status < 500 and writes_counted() != writes_before:
                    cell.changed = changed_tables(self.baseline, snapshot())
                transaction.set_rollback(True)
        except Exception as error:  # a 500 in the test client: record it and go on
            cell.status, cell.error = 500, f"{type(error).__name__}: {str(error)[:300]}"
        if cell.status >= 500 or cell.changed:
            self.failures.append(cell.describe())
        return cell


def writes_counted() -> int:
    """Rows written so far by this connection (SQLite) or transaction (PostgreSQL).

    Unchanged means nothing was written, so the full snapshot (every row of
    every domain table) is compared only after a request that wrote something.
    """
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("SELECT total_changes()")
        else:
            cursor.execute("SELECT coalesce(sum(n_tup_ins + n_tup_upd + n_tup_del), 0) FROM pg_stat_xact_user_tables")
        return int(cursor.fetchone()[0])


def fresh_throttle_counts() -> None:
    """Anonymous callers get 100 requests an hour; the fuzzer sends more."""
    ThrottleCount.objects.all().delete()


def query_strings(route: Route) -> Iterator[tuple[str, str]]:
    """(label, query string): API parameters one at a time with a few values, then all at once."""
    base = f"{route.query}&" if route.query else ""
    if route.api:
        for name in route.parameters:
            yield f"?{name}=huge number", f"{base}{name}={HUGE}"
    for label, value in QUERY_VALUES.items():
        if route.api or label in PAGE_QUERY_VALUES:
            yield f"every parameter {label}", base + "&".join(f"{name}={value}" for name in route.parameters)
    yield "raw non-ASCII bytes in the query", base + "q=\xe9\xff&\xff=1"
    yield "a parameter repeated", base + "&".join(f"{name}=1&{name}=2" for name in route.parameters[:5])
    yield "an unknown parameter", base + "speakr=1"


EVERYONES_HEADERS = {"Authorization: non-UTF-8 token", "Authorization: Basic non-UTF-8", "Cookie: non-UTF-8"}
EVERYONES_BODIES = {"JSON nested 10,000 arrays deep", "invalid UTF-8 in JSON"}
# What pages read themselves (django-htmx, content negotiation, the session); every other
# header is read by middleware the same way on every page, so pages get those all at once.
# Headers that end a request early (credentials, host, framing, content negotiation) go one at a
# time; the rest are read by middleware and views the same way everywhere and go all at once.
EARLY_HEADERS = {"HTTP_HOST", "HTTP_COOKIE", "CONTENT_LENGTH", "HTTP_AUTHORIZATION", "HTTP_ACCEPT"}
COMBINED_HEADERS = {key: value for _, key, value in HEADERS if key not in EARLY_HEADERS}
EARLY = [
    header
    for header in HEADERS
    if header[1] in EARLY_HEADERS
    and header[0] in EVERYONES_HEADERS | {"Host: not allowed", "Accept: nothing acceptable", "Content-Length: huge"}
]
# Pages read no token: one malformed Authorization is enough to show middleware ignores it.
PAGE_EARLY = [header for header in EARLY if header[0] != "Authorization: Basic non-UTF-8"]
# On these routes every header goes one at a time.
FULL_HEADER_ROUTES = {"", "accounts/login/", "api/v1/quotes/$"}
# Headers that matter to a write: the body's framing, the version, the credentials.
WRITE_HEADERS = [header for header in HEADERS if header[1] in {"CONTENT_TYPE", "CONTENT_LENGTH", "HTTP_IF_MATCH"}]
PAGE_WRITE_HEADERS = [
    header
    for header in HEADERS
    if header[0] in {"Content-Type: multipart without boundary", "Content-Length: not a number"}
]
# Bodies a page might be sent: forms, multipart, and JSON where a form is expected.
PAGE_BODIES = [
    body for body in GENERIC_BODIES if body.content_type.startswith(("application/x-www-form-urlencoded", "multipart/"))
]
PAGE_BODIES += [body for body in GENERIC_BODIES if body.name in EVERYONES_BODIES]
# Every other role: the credentials, and the bodies that need no knowledge of the route.
HEADERS_FOR_EVERYONE = [header for header in HEADERS if header[0] in EVERYONES_HEADERS]
BODIES_FOR_EVERYONE = [body for body in GENERIC_BODIES if body.name in EVERYONES_BODIES]
SLOW_SECONDS = 0.25  # a page this slow (the schema) gets its query strings and a few headers only


def valid_body(route: Route) -> Body:
    if not route.body or route.multipart:
        return Body("an empty body", b"", "application/json" if route.api else "application/x-www-form-urlencoded")
    if route.api:
        return Body("a valid body", json_bytes(route.body), "application/json")
    form = [(k, str(v).encode()) for k, v in route.body.items() if not isinstance(v, list)]
    return Body("a valid body", encode_form(form), "application/x-www-form-urlencoded")


def fuzz_route(fuzzer: Fuzzer, route: Route, *, everyone: bool) -> None:
    """The full catalogue as the role that gets through; with ``everyone``, a smaller one for the rest."""
    role = route.through.get("GET", "admin")
    clock = time.monotonic()
    fuzzer.send(role, "GET", route.path, "no hostile input", api=route.api, meta=route.headers)
    slow = time.monotonic() - clock > SLOW_SECONDS
    for label, query in query_strings(route):
        if slow and not label.startswith("every"):
            continue
        fuzzer.send(role, "GET", f"{route.path}?{query}", label, api=route.api, meta={"QUERY_STRING": query})
    for path in route.path_variants:
        fuzzer.send(role, "GET", path, "a malformed path parameter", api=route.api)
    one_by_one = HEADERS if route.route in FULL_HEADER_ROUTES else EARLY if route.api else PAGE_EARLY
    for label, key, value in one_by_one[:3] if slow else one_by_one:
        fuzzer.send(role, "GET", route.path, label, api=route.api, meta={**route.headers, key: value})
    combined = {**route.headers, **COMBINED_HEADERS}
    fuzzer.send(role, "GET", route.path, "every other hostile header at once", api=route.api, meta=combined)

    writes = [method for method in WRITES if method in route.through]
    for method in writes:
        role = route.through[method]
        if route.api:
            bodies = [*GENERIC_BODIES, oversized_body()]
            bodies += form_bodies(route.body) if route.multipart else json_bodies(route.body)
        else:
            bodies = [*PAGE_BODIES, oversized_body(), *form_bodies(route.body)]
        for body in bodies if method != "DELETE" else []:  # a DELETE's body is never read
            fuzzer.send(role, method, route.path, body.name, api=route.api, body=body, meta=route.headers)
        valid = valid_body(route)
        headers = WRITE_HEADERS if route.api else PAGE_WRITE_HEADERS
        for label, key, value in headers + (EARLY if route.route in FULL_HEADER_ROUTES else []):
            meta = {**route.headers, key: value}
            fuzzer.send(role, method, route.path, f"{label} and {valid.name}", api=route.api, body=valid, meta=meta)
        meta = {**route.headers, **COMBINED_HEADERS}
        fuzzer.send(role, method, route.path, "every other hostile header", api=route.api, body=valid, meta=meta)

    if not everyone:
        return
    label, key, value = HEADERS_FOR_EVERYONE[0]
    for other in ROLES:
        for method in ("GET", *writes):
            if route.through.get(method) == other:
                continue
            if method == "GET":
                fuzzer.send(other, method, route.path, label, api=route.api, meta={**route.headers, key: value})
            else:
                body = BODIES_FOR_EVERYONE[(ROLES.index(other) + len(method)) % len(BODIES_FOR_EVERYONE)]
                fuzzer.send(other, method, route.path, body.name, api=route.api, body=body, meta=route.headers)


def smoke_route(fuzzer: Fuzzer, route: Route) -> None:
    """A second route to a view already fuzzed (an alias): a few inputs, to show it is the same view."""
    role = route.through.get("GET", "admin")
    label, query = next(query_strings(route))
    fuzzer.send(role, "GET", f"{route.path}?{query}", label, api=route.api, meta={"QUERY_STRING": query})
    label, key, value = HEADERS_FOR_EVERYONE[0]
    fuzzer.send(role, "GET", route.path, label, api=route.api, meta={**route.headers, key: value})
    for method in WRITES:
        if method in route.through:
            for body in BODIES_FOR_EVERYONE:
                fuzzer.send(route.through[method], method, route.path, body.name, api=route.api, body=body)


def view_of(route: Route) -> tuple[Any, ...]:
    """What answers a route: its view and, for a viewset, its actions."""
    func = resolve(route.path).func
    actions = getattr(func, "actions", None)
    return (getattr(func, "cls", func), tuple(sorted((actions or {}).items())))


# Paths no route matches; under /api/ they answer JSON.
UNROUTED = ["/api/v1/quotes/abc/", "/api/v1/nothing/", "/api/v2/", "/api/v1/quotes/1/%FF/", "/api/v1/articles/-1/"]


# --- The tests --------------------------------------------------------------------------------


def test_the_fuzzer_covers_every_route_but_the_admin(db, request):
    w = request.getfixturevalue("world")
    fuzzed = {route.route for route in routes(w)}
    assert fuzzed == {route for route in url_routes() if not is_admin(route)}
    writable = [route.route for route in routes(w) if set(route.through) & set(WRITES)]
    assert "api/v1/quotes/$" in writable and "articles/<int:pk>/quotes/new/" in writable


def test_no_hostile_input_on_any_route_makes_a_5xx_or_changes_a_row_when_refused(db, request, capsys):
    w = request.getfixturevalue("world")
    fuzzer = Fuzzer(w)
    started = time.monotonic()
    seen: set[tuple[Any, ...]] = set()
    for route in routes(w):
        view = view_of(route)
        if view in seen:
            smoke_route(fuzzer, route)
        else:
            seen.add(view)
            fuzz_route(fuzzer, route, everyone=True)
    for path in UNROUTED:
        for method in ("GET", "POST", "TRACE"):
            cell = fuzzer.send("analyst", method, path, "a path no route matches", api=True)
            if cell.status < 500:
                assert cell.status in {404, 405}, cell.describe()
    elapsed = time.monotonic() - started
    with capsys.disabled():
        print(f"\nfuzzer: {fuzzer.sent} requests in {elapsed:.1f} s")
    assert not fuzzer.failures, f"{len(fuzzer.failures)} of {fuzzer.sent} requests failed:\n" + "\n".join(
        fuzzer.failures[:80]
    )


def test_the_fuzzer_reports_a_server_error_and_a_row_changed_by_a_refusal(db, request, monkeypatch):
    from rest_framework.exceptions import ValidationError

    from annotations import api
    from annotations.models import Speaker

    fuzzer = Fuzzer(request.getfixturevalue("world"))

    def crash(self: Any, request: Any, *args: Any, **kwargs: Any) -> NoReturn:
        raise RuntimeError("a bug")

    monkeypatch.setattr(api.SpeakerViewSet, "list", crash)
    cell = fuzzer.send("analyst", "GET", "/api/v1/speakers/", "a crashing view", api=True)
    assert cell.status == 500 and "RuntimeError" in cell.error

    def write_then_refuse(self: Any, request: Any, *args: Any, **kwargs: Any) -> NoReturn:
        Speaker.objects.create(name="Written by a refusal")
        raise ValidationError("refused")

    monkeypatch.setattr(api.TargetViewSet, "list", write_then_refuse)
    cell = fuzzer.send("analyst", "GET", "/api/v1/targets/", "a refusal that writes", api=True)
    assert cell.status == 400 and "annotations_speaker" in cell.changed
    assert len(fuzzer.failures) == 2
