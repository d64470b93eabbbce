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

The renderer's one change: a message that echoes a client's string holding
half a surrogate pair (a JSON ``"\\ud83d"`` escape decodes to one) can't be
encoded as UTF-8; it is then written with ASCII escapes instead of failing.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from itertools import accumulate
from typing import IO, Any

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser
from rest_framework.renderers import JSONRenderer

MAX_JSON_DEPTH = 64

# A JSON string, escapes included; possessive, so a long string costs no backtracking.
_JSON_STRING = re.compile(r'"(?:[^"\\]++|\\.)*+"', re.DOTALL)
_NOT_A_BRACKET = re.compile(r"[^\[\]{}]++")
_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}


def json_depth(text: str) -> int:
    """The deepest nesting of arrays and objects in ``text``, counted without decoding it.

    Brackets inside strings don't count. Text that isn't valid JSON gets some
    number; the decoder refuses it afterwards anyway.
    """
    brackets = _NOT_A_BRACKET.sub("", _JSON_STRING.sub("", text))
    return max(accumulate(_STEP[char] for char in brackets), default=0)


def check_json_depth(text: str, limit: int = MAX_JSON_DEPTH) -> str | None:
    """Why ``text`` is too deeply nested to decode, or None."""
    depth = json_depth(text)
    if depth > limit:
        return f"The JSON is nested {depth} levels deep; the limit is {limit}."
    return None


class DuplicateKey(ValueError):
    pass


def _refuse_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise DuplicateKey(f"The key {json.dumps(key)} appears twice in one object; send it once.")
        result[key] = value
    return result


def _refuse_constant(name: str) -> float:
    raise ValueError(f"{name} is not a JSON number; send a finite number or null.")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"The number {text[:40]} is too large to store; send a finite number.")
    return value


def loads_strict(text: str) -> Any:
    """Decode ``text`` as JSON, refusing deep nesting, duplicate keys, NaN and Infinity (ValueError)."""
    problem = check_json_depth(text)
    if problem:
        raise ValueError(problem)
    return json.loads(
        text,
        object_pairs_hook=_refuse_duplicate_keys,
        parse_constant=_refuse_constant,
        parse_float=_finite_float,
    )


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
            escaped = JSONRenderer()
            escaped.ensure_ascii = True
            return escaped.render(data, accepted_media_type, renderer_context)
