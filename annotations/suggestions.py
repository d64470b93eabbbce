"""Pre-fill a new quote from its selection: kind, cue, speaker and mention.

Heuristics over the text near the selection, never trusted blindly: the analyst
sees and can change every suggestion before saving.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .detection.lexicon import lexicon
from .detection.linking import known_names, role_mentions
from .detection.marks import is_quotation_mark
from .models import Article, Quote, Speaker

TRAILING_PUNCTUATION = ",.;:!?…"

# The English cue lexicon the detector reads (annotations/detection/lexicons/en.txt),
# longest phrase first. Matched without regard to case, then kept only with a verb's
# case: lower case, or capitalised at the start of a sentence ("States" in "United
# States" is no cue).
CUE_PATTERN = re.compile(
    r"\b({})\b".format(
        "|".join(re.escape(cue) for cue in sorted(lexicon("en").cues | lexicon("en").according, key=len, reverse=True))
    ),
    re.IGNORECASE,
)
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
    after = end
    while after < len(text) and after < end + 2 and text[after] in TRAILING_PUNCTUATION:
        after += 1
    if is_quotation_mark(text, start - 1) and is_quotation_mark(text, after):
        return Quote.Kind.DIRECT
    if any(is_quotation_mark(text, index) for index in range(start, end)):
        return Quote.Kind.MIXED
    return Quote.Kind.INDIRECT


def _is_cue(text: str, match: re.Match[str]) -> bool:
    word = match.group(0)
    if word == word.lower():
        return True
    if word[0].isupper() and word[1:] == word[1:].lower():
        before = text[: match.start()].rstrip(" \t\"“”‘’'«»")
        return not before or before[-1] in ".!?\n:"
    return False


def _cues(text: str, start: int, end: int) -> list[re.Match[str]]:
    return [match for match in CUE_PATTERN.finditer(text, start, end) if _is_cue(text, match)]


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
    following = _cues(text, end, min(para_end, end + WINDOW))
    preceding = _cues(text, max(para_start, start - WINDOW), start)
    cue = following[0] if following else (preceding[-1] if preceding else None)
    if cue is not None:
        suggestion.cue = cue.group(0)
        suggestion.cue_start, suggestion.cue_end = cue.start(), cue.end()

    # The speaker: a known name or alias nearest the cue (or the quote) in the
    # paragraph; a pronoun points back to the last speaker named before it.
    anchor = cue.start() if cue is not None else start
    names = known_names(text[para_start:para_end])
    best: tuple[int, int, int, Speaker] | None = None
    mentions = [
        (para_start + match.start(), para_start + match.end(), speaker)
        for name, speaker in names
        for match in re.finditer(rf"(?<!\w){re.escape(name)}(?!\w)", text[para_start:para_end])
    ]
    mentions += role_mentions(text, para_start, para_end, article.published_on)
    for m_start, m_end, speaker in mentions:
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
            earlier = known_names(text[: pronoun.start()])
            last: tuple[int, Speaker] | None = None
            for name, speaker in earlier:
                position = text.rfind(name, 0, pronoun.start())
                if position != -1 and (last is None or position > last[0]):
                    last = (position, speaker)
            if last is not None:
                suggestion.speaker = last[1]
    return suggestion
