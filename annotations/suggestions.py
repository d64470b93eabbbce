"""Pre-fill a new quote from its selection: kind, cue, speaker and mention.

Heuristics over the text near the selection, never trusted blindly: the analyst
sees and can change every suggestion before saving.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .models import Article, Quote, Speaker, SpeakerAlias

OPENING_MARKS = "“‘«„‚\"'‹「『"
CLOSING_MARKS = "”’»“‘\"'›」』"
QUOTE_MARKS = set(OPENING_MARKS + CLOSING_MARKS)
TRAILING_PUNCTUATION = ",.;:!?…"

CUE_VERBS = (
    "said|says|added|adds|told|tells|telling|stated|states|announced|noted|warned|insisted|argued|"
    "explained|emphasized|emphasised|stressed|declared|claimed|asserted|wrote|replied|responded|"
    "acknowledged|according to"
)
CUE_PATTERN = re.compile(rf"\b({CUE_VERBS})\b", re.IGNORECASE)
PRONOUNS = re.compile(r"\b(he|she|they)\b", re.IGNORECASE)
WINDOW = 120


@dataclass
class Suggestion:
    kind: str
    cue: str = ""
    cue_start: int | None = None
    cue_end: int | None = None
    speaker: Speaker | None = None
    mention_start: int | None = None
    mention_end: int | None = None

    @property
    def cue_text(self) -> str:
        return self.cue

    @property
    def has_mention(self) -> bool:
        return self.mention_start is not None


def suggest_kind(text: str, start: int, end: int) -> str:
    """Direct when the selection sits inside quotation marks; mixed when it
    contains some; indirect otherwise."""
    before = text[start - 1] if start > 0 else ""
    after = text[end : end + 2].lstrip(TRAILING_PUNCTUATION)[:1]
    if before in QUOTE_MARKS and after in QUOTE_MARKS:
        return Quote.Kind.DIRECT
    if any(char in QUOTE_MARKS for char in text[start:end]):
        return Quote.Kind.MIXED
    return Quote.Kind.INDIRECT


def _paragraph_bounds(text: str, start: int, end: int) -> tuple[int, int]:
    left = text.rfind("\n", 0, start) + 1
    right = text.find("\n", end)
    return left, len(text) if right == -1 else right


def suggest(article: Article, start: int, end: int) -> Suggestion:
    text = article.text
    suggestion = Suggestion(kind=suggest_kind(text, start, end))
    para_start, para_end = _paragraph_bounds(text, start, end)

    # The cue: the nearest attribution verb after the quote, else before it,
    # within the paragraph.
    after = CUE_PATTERN.search(text, end, min(para_end, end + WINDOW))
    before = None
    for match in CUE_PATTERN.finditer(text, max(para_start, start - WINDOW), start):
        before = match
    cue = after or before
    if cue is not None:
        suggestion.cue = cue.group(0)
        suggestion.cue_start, suggestion.cue_end = cue.start(), cue.end()

    # The speaker: a known name or alias nearest the cue (or the quote) in the
    # paragraph; a pronoun points back to the last speaker named before it.
    anchor = cue.start() if cue is not None else start
    names = _known_names(text[para_start:para_end])
    best: tuple[int, int, int, Speaker] | None = None
    for name, speaker in names:
        for match in re.finditer(re.escape(name), text[para_start:para_end]):
            m_start, m_end = para_start + match.start(), para_start + match.end()
            if start <= m_start < end:
                continue
            distance = anchor - m_end if m_end <= anchor else m_start - anchor
            # Prefer the nearest mention, and the longest name at the same place.
            key = (distance, -(m_end - m_start))
            if best is None or key < (best[0], best[1]):
                best = (distance, -(m_end - m_start), m_start, speaker)
                suggestion.mention_start, suggestion.mention_end = m_start, m_end
    if best is not None:
        suggestion.speaker = best[3]
    elif cue is not None:
        pronoun = None
        for match in PRONOUNS.finditer(text, max(para_start, cue.start() - 20), min(para_end, cue.end() + 20)):
            pronoun = match
        if pronoun is not None:
            suggestion.mention_start, suggestion.mention_end = pronoun.start(), pronoun.end()
            earlier = _known_names(text[: pronoun.start()])
            last: tuple[int, Speaker] | None = None
            for name, speaker in earlier:
                position = text.rfind(name, 0, pronoun.start())
                if position != -1 and (last is None or position > last[0]):
                    last = (position, speaker)
            if last is not None:
                suggestion.speaker = last[1]
    return suggestion


def _known_names(passage: str) -> list[tuple[str, Speaker]]:
    """Speaker names and aliases that occur in ``passage`` (two queries)."""
    if not passage.strip():
        return []
    found: list[tuple[str, Speaker]] = []
    words = set(re.findall(r"\w+", passage.lower()))
    for speaker in Speaker.objects.all().only("id", "name"):
        if set(re.findall(r"\w+", speaker.name.lower())) <= words and speaker.name in passage:
            found.append((speaker.name, speaker))
    for alias in SpeakerAlias.objects.select_related("speaker").only("name", "speaker__id", "speaker__name"):
        if alias.name in passage:
            found.append((alias.name, alias.speaker))
    return found
