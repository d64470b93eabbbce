"""Quote detection: a pure function of an article's text and language.

No database, no network: ``detect`` returns candidate quotes with code-point
offsets (end exclusive), the content without its quotation marks, as DESIGN.md
counts them. Linking a candidate's speaker to the registry is a separate step
that does use the database (``annotations.detection.linking``).

This first version finds direct quotes between double quotation marks only;
the rules for every mark style, indirect quotes and attribution replace it.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass

VERSION = "rules-0"

KINDS = ("direct", "indirect", "mixed")


@dataclass(frozen=True)
class Candidate:
    """One proposed quote. ``cue`` and ``source`` are (start, end) spans or None;
    ``speaker`` is the source's name as written (None when there is no source or
    it is a pronoun left unresolved); ``group`` links the parts of a split quote."""

    start: int
    end: int
    kind: str
    cue: tuple[int, int] | None
    source: tuple[int, int] | None
    speaker: str | None
    confidence: float
    group: int | None = None

    def as_json(self) -> dict[str, object]:
        """The shape ``detect_quotes`` writes (the detector issue's interface)."""
        return {
            "start": self.start,
            "end": self.end,
            "kind": self.kind,
            "cue": list(self.cue) if self.cue else None,
            "source": list(self.source) if self.source else None,
            "speaker": self.speaker,
            "confidence": round(self.confidence, 3),
        }


_DOUBLE = re.compile(r"[“\"]([^“”\"\n]+)[”\"]")


def detect(text: str, language: str, published: datetime.date | None = None) -> list[Candidate]:
    """The candidate quotes in ``text``, in text order."""
    return [
        Candidate(start=m.start(1), end=m.end(1), kind="direct", cue=None, source=None, speaker=None, confidence=0.5)
        for m in _DOUBLE.finditer(text)
        if len(m.group(1).split()) >= 3
    ]
