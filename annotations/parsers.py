"""What the API reads and writes as JSON, hardened against hostile bodies.

Python's ``json`` decoder recurses once per level of nesting: a body of ten
thousand ``[`` is a RecursionError (a 500), and a few hundred levels already
cost a deep stack. So the depth is measured first, by scanning the brackets
outside strings, without recursing, and a body deeper than
``MAX_JSON_DEPTH`` is refused before it is decoded.

JSON itself is lax in three ways a client never means: a key given twice
(which value wins depends on the decoder), and ``NaN`` / ``Infinity`` (not
JSON at all, and not storable in PostgreSQL's jsonb), including a number such
as ``1e999`` that only decodes to infinity. All three are refused by name.
The rules and the bracket scanner are the import files' (``jsonreader``): one
reader for everything people send; this module only words its refusals for an
API client.

The renderer's one change: a message that echoes a client's string holding
half a surrogate pair (a JSON ``"\\ud83d"`` escape decodes to one) can't be
encoded as UTF-8; it is then written with ASCII escapes instead of failing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import IO, Any

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser
from rest_framework.renderers import JSONRenderer

from .jsonreader import MAX_JSON_DEPTH, json_depth, loads


def check_json_depth(text: str, limit: int = MAX_JSON_DEPTH) -> str | None:
    """Why a request body is too deeply nested to decode, said to an API client, or None."""
    depth = json_depth(text)
    if depth > limit:
        return f"The JSON is nested {depth} levels deep; the limit is {limit}."
    return None


def loads_strict(text: str) -> Any:
    """Decode ``text`` as JSON with the import files' rules (``jsonreader.loads``): deep
    nesting, a key given twice, NaN, Infinity and numbers too large to store are
    refused with a ValueError that names them."""
    problem = check_json_depth(text)
    if problem:
        raise ValueError(problem)
    return loads(text)


class StrictJSONParser(JSONParser):
    """DRF's JSON parser with the checks of ``loads_strict``: a 400 that says what is wrong."""

    def parse(self, stream: IO[bytes], media_type: str | None = None, parser_context: Mapping | None = None) -> Any:
        raw = stream.read() if stream is not None else b""
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as error:
            raise ParseError(
                f"The body is not UTF-8: byte 0x{raw[error.start]:02x} at position {error.start} "
                "can't be decoded. Send JSON encoded as UTF-8."
            ) from None
        try:
            return loads_strict(text.removeprefix("\ufeff"))
        except RecursionError:  # ``loads_strict`` measured first; kept as a last guard
            raise ParseError(f"The JSON is nested too deeply; the limit is {MAX_JSON_DEPTH}.") from None
        except ValueError as error:
            raise ParseError(f"JSON parse error - {error}") from None


class SafeJSONRenderer(JSONRenderer):
    """DRF's JSON renderer, falling back to ASCII escapes for text UTF-8 can't hold."""

    def render(
        self, data: Any, accepted_media_type: str | None = None, renderer_context: Mapping | None = None
    ) -> bytes:
        try:
            return super().render(data, accepted_media_type, renderer_context)
        except UnicodeEncodeError:
            return _AsciiJSONRenderer().render(data, accepted_media_type, renderer_context)


class _AsciiJSONRenderer(JSONRenderer):
    ensure_ascii = True
