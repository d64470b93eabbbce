"""Reading the detector commands' JSONL input: one article a line,
``{"id": any, "text": str, "language": str, "published": "YYYY-MM-DD" (optional)}``,
and for ``evaluate_detector`` its gold ``"quotes"`` besides."""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from annotations import jsonreader

from .evaluation import Quote


@dataclass
class InputArticle:
    line: int
    id: Any
    text: str
    language: str
    published: datetime.date | None
    quotes: list[Quote] = field(default_factory=list)


class BadLine(ValueError):
    def __init__(self, line: int, reason: str) -> None:
        self.line = line
        super().__init__(f"line {line}: {reason}")


def _span(value: Any, text: str, what: str) -> None:
    if value is None:
        return
    if not (isinstance(value, list) and len(value) == 2 and all(type(v) is int for v in value)):
        raise ValueError(f"{what} must be [start, end] or null")
    if not 0 <= value[0] <= value[1] <= len(text):
        raise ValueError(f"{what} {value} lies outside the text ({len(text)} code points)")


def _quotes(value: Any, text: str) -> list[Quote]:
    if not isinstance(value, list):
        raise ValueError('"quotes" must be a list')
    quotes = []
    for number, data in enumerate(value, 1):
        if not isinstance(data, dict) or type(data.get("start")) is not int or type(data.get("end")) is not int:
            raise ValueError(f'quote {number} needs integer "start" and "end"')
        _span([data["start"], data["end"]], text, f"quote {number}")
        if data.get("kind") not in (None, "direct", "indirect", "mixed"):
            raise ValueError(f'quote {number}: "kind" must be direct, indirect, mixed or null')
        _span(data.get("cue"), text, f'quote {number}\'s "cue"')
        _span(data.get("source"), text, f'quote {number}\'s "source"')
        quotes.append(Quote.from_json(data))
    return quotes


def parse(raw: bytes | str, line: int, *, gold: bool = False) -> InputArticle:
    """One line as an article; BadLine says what is wrong with it."""
    try:
        text = jsonreader.decode(raw)
        data = jsonreader.loads(text)
    except ValueError as error:
        raise BadLine(
            line, jsonreader.problem(error) if not isinstance(error, jsonreader.BadEncoding) else str(error)
        ) from None
    try:
        if not isinstance(data, dict):
            raise ValueError("each line must be a JSON object")
        for key in ("id", "text", "language"):
            if key not in data:
                raise ValueError(f'"{key}" is missing')
        if not isinstance(data["text"], str):
            raise ValueError('"text" must be a string')
        if not isinstance(data["language"], str) or not data["language"]:
            raise ValueError('"language" must be a language code such as "en"')
        published = None
        if data.get("published") is not None:
            try:
                published = datetime.date.fromisoformat(str(data["published"]))
            except ValueError:
                raise ValueError(f'"published" must be YYYY-MM-DD, not {data["published"]!r}') from None
        # Offsets count code points of the text as given: a gold file's spans were
        # counted on it, so it is not normalised here (the importer normalises).
        quotes = _quotes(data.get("quotes"), data["text"]) if gold else []
    except ValueError as error:
        raise BadLine(line, str(error)) from None
    return InputArticle(line, data["id"], data["text"], data["language"], published, quotes)


def read(path: Path, *, gold: bool = False) -> Iterator[InputArticle | BadLine]:
    """Every non-blank line of the file as an article or the reason it isn't one."""
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, 1):
            stripped = raw.rstrip(b"\r\n")
            if not stripped.strip():
                continue
            if number == 1:
                stripped = stripped.removeprefix(jsonreader.BOM.encode())
            try:
                yield parse(stripped, number, gold=gold)
            except BadLine as error:
                yield error
