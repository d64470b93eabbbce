"""Quote detection: a pure function of an article's text and language.

No database, no network: ``detect`` returns candidate quotes with code-point
offsets (end exclusive), the content without its quotation marks, as DESIGN.md
counts them. Linking a candidate's speaker to the registry is a separate step
that does use the database (``annotations.detection.linking``).

Rule-based (no NLP library): quotation marks of every style (``marks``), cue
lexicons per language in data files (``lexicons/``), and the rules that tie a
quote to its cue and source (``rules``).
"""

from __future__ import annotations

from .candidates import KINDS, Candidate
from .rules import detect

VERSION = "rules-2"

__all__ = ["KINDS", "VERSION", "Candidate", "detect"]
