"""The detector's output: one proposed quote (the detector issue's interface)."""

from __future__ import annotations

from dataclasses import dataclass

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
