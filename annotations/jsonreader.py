"""Reading JSON and JSONL files that people upload: one reader for every importer.

The article importer and the span importers (doccano, Label Studio) read the
same kinds of file and must judge them the same way: UTF-8 with the bad byte
named by line, a byte-order mark tolerated, a key given twice refused (json
keeps the last one silently), NaN and Infinity refused (JSON and PostgreSQL's
jsonb have neither), and nesting bounded so that a hostile file can't make the
parser recurse until Python gives up.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Iterator
from itertools import accumulate
from typing import Any

BOM = "\ufeff"
# Deeper than any file Demarche reads (a Label Studio export nests about six
# levels); far below the depth at which json's C parser hits Python's recursion limit.
MAX_JSON_DEPTH = 64

# A JSON string, escapes included (possessive: a long string costs no
# backtracking), and any run of characters that are not brackets.
_JSON_STRING = re.compile(r'"(?:[^"\\]++|\\.)*+"', re.DOTALL)
_NOT_A_BRACKET = re.compile(r"[^\[\]{}]++")
_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}


class BadEncoding(ValueError):
    """A file that is not UTF-8, with the line and the byte a person must look at."""

    def __init__(self, line: int, byte: int, column: int) -> None:
        self.line = line
        super().__init__(
            f"not valid UTF-8 (byte 0x{byte:02X} at byte {column} of the line); "
            "save the file as UTF-8 and import it again"
        )


def json_depth(text: str) -> int:
    """The deepest nesting of arrays and objects in ``text``, counted without decoding it.

    Brackets are counted by a scan, before any parsing: the parser itself would
    have to recurse that deep to find out. Brackets inside strings don't count;
    malformed JSON gets some number and is left to the parser.
    """
    brackets = _NOT_A_BRACKET.sub("", _JSON_STRING.sub("", text))
    return max(accumulate(_STEP[char] for char in brackets), default=0)


def check_json_depth(text: str, limit: int = MAX_JSON_DEPTH) -> str | None:
    """Why ``text`` nests deeper than ``limit`` arrays and objects, or None when it doesn't."""
    if text.count("[") + text.count("{") <= limit:  # the common case, at C speed
        return None
    if json_depth(text) > limit:
        return f"nested deeper than {limit} levels of arrays and objects"
    return None


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # dict() first: this runs for every object of every line, and a repeated key is rare.
    result = dict(pairs)
    if len(result) < len(pairs):
        seen = set()
        for key, _ in pairs:
            if key in seen:
                raise ValueError(f'the key "{key}" appears twice')
            seen.add(key)
    return result


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not a JSON value")


def _finite_float(text: str) -> float:
    # 1e999 decodes to infinity, which jsonb can't hold either.
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"the number {text[:40]} is too large to store")
    return value


def loads(text: str, *, limit: int = MAX_JSON_DEPTH) -> Any:
    """Parse one JSON document strictly; a ValueError says what is wrong (see ``problem``)."""
    too_deep = check_json_depth(text, limit)
    if too_deep is not None:
        raise ValueError(too_deep)
    return json.loads(text, object_pairs_hook=_object, parse_constant=_refuse_constant, parse_float=_finite_float)


def problem(error: ValueError) -> str:
    """A parsing error as a person reads it in an import report."""
    if isinstance(error, json.JSONDecodeError):
        return f"not valid JSON ({error.msg} at column {error.colno})"
    return f"not valid JSON ({error})"


def decode(content: bytes | str) -> str:
    """A whole file as text, without its byte-order mark; BadEncoding names the bad line and byte."""
    if isinstance(content, str):
        return content.removeprefix(BOM)
    data = bytes(content).removeprefix(BOM.encode())
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        column = error.start - data.rfind(b"\n", 0, error.start)
        raise BadEncoding(line, data[error.start], column) from None


def lines(content: bytes | str) -> Iterator[bytes | str]:
    """The lines of a file, one at a time, without their "\\n" (and without a BOM).

    Split on "\\n" only: str.splitlines() also breaks at U+2028, U+0085 and
    friends, which JSON allows unescaped inside strings.
    """
    if isinstance(content, str):
        return _split(content, "\n", BOM)
    return _split(content, b"\n", BOM.encode())


def _split[Text: (bytes, str)](content: Text, newline: Text, bom: Text) -> Iterator[Text]:
    start = len(bom) if content.startswith(bom) else 0
    while start <= len(content):
        end = content.find(newline, start)
        if end < 0:
            end = len(content)
        yield content[start:end]
        start = end + 1


def text_lines(content: bytes | str) -> Iterable[str]:
    """The lines of a JSONL file as text; BadEncoding names the first line that is not UTF-8.

    The whole file is checked before any line is handed out, so a file in the
    wrong encoding gets that one message, not a JSON complaint about every line
    before the bad byte. Lines are decoded one at a time, never the whole file
    at once: a single emoji makes Python hold a decoded file at four bytes a
    character, and only the parsed values need to be kept.
    """
    if isinstance(content, str):
        return _split(content, "\n", BOM)
    for number, line in enumerate(_split(content, b"\n", BOM.encode()), start=1):
        try:
            line.decode("utf-8")
        except UnicodeDecodeError as error:
            raise BadEncoding(number, line[error.start], error.start + 1) from None
    return (line.decode("utf-8") for line in _split(content, b"\n", BOM.encode()))
