"""Pre-fill a new quote from its selection: kind, cue, speaker and mention.

Heuristics over the text near the selection, never trusted blindly: the analyst
sees and can change every suggestion before saving.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .detection.lexicon import lexicon
from .detection.linking import known_names, role_mentions
from .detection.marks import is_quotation_mark
from .models import Article, Quote, Speaker, Stance, Target

if TYPE_CHECKING:
    from .models import AnyUser

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


# --- The target -------------------------------------------------------------------------

# Words that say nothing about what a target is about, in the languages the detector reads.
FUNCTION_WORDS = frozenset(
    (  # noqa: SIM905 (a word list reads better as words than as 90 quoted strings)
        "the a an of on to in for and or with from by at as is are was were be been its it this that these those "
        "about against over under into than not no new their his her our your they them we you he she who which "
        "der die das den dem des ein eine einer eines und oder mit von zu im in auf für über gegen nicht "
        "le la les un une des du de et ou avec pour sur dans contre"
    ).split()
)
TARGET_WORD = re.compile(r"[^\W\d_]{3,}")


def _stem(word: str) -> str:
    """A crude stem, enough to match "sanctions" with "sanction" and "talks" with "talk"."""
    word = word.lower().removesuffix("’s").removesuffix("'s")
    for suffix in ("ing", "ed", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            return word[: -len(suffix)]
    return word


def _stems(text: str) -> set[str]:
    return {_stem(word) for word in TARGET_WORD.findall(text) if word.lower() not in FUNCTION_WORDS}


def _sentence_bounds(text: str, start: int, end: int) -> tuple[int, int]:
    """The sentences the span sits in, within its paragraph."""
    para_start, para_end = _paragraph_bounds(text, start, end)
    left = max(text.rfind(stop, para_start, start) for stop in (". ", "? ", "! "))
    right = [position for stop in (". ", "? ", "! ") if (position := text.find(stop, end, para_end)) != -1]
    return (left + 2 if left >= para_start else para_start), (min(right) + 1 if right else para_end)


def suggest_target(article: Article, start: int, end: int, annotator: AnyUser) -> Target | None:
    """The target a new quote most likely takes a stance toward, or None.

    Two signals, two queries: the words of each target's name found in the
    selection (twice the weight) or in its sentence, a word that few targets
    share counting more; and the targets of the analyst's own quotes on this
    article, the nearest in the text most. A topic with targets under it counts
    less than its children, which say more. Only a clear winner is suggested:
    the analyst sees it in the stance row and can change it.
    """
    text = article.text
    selected = _stems(text[start:end])
    sentence_start, sentence_end = _sentence_bounds(text, start, end)
    around = _stems(text[sentence_start:sentence_end])
    # The targets of the analyst's own quotes near this one: news stays on one
    # topic for a stretch, so the nearest quote's targets are the likeliest.
    nearby: dict[int, float] = {}
    if getattr(annotator, "pk", None) is not None:
        stances = Stance.objects.filter(
            quote__article=article, quote__annotator_id=annotator.pk, quote__is_curated=False
        ).values_list("quote__start", "quote__end", "target_id")
        for quote_start, quote_end, target_id in stances:
            distance = max(start - quote_end, quote_start - end, 0)
            bonus = 0.8 if distance < 400 else 0.4 if distance < 1200 else 0.2
            nearby[target_id] = max(nearby.get(target_id, 0.0), bonus)
    targets = list(Target.objects.only("id", "name", "parent_id", "status"))
    parents = {target.parent_id for target in targets if target.parent_id}
    words_of = {target.pk: _stems(target.name) for target in targets}
    # A word many targets share ("Iran") tells them apart less than one only a few have ("deal").
    shared: dict[str, int] = {}
    for words in words_of.values():
        for word in words:
            shared[word] = shared.get(word, 0) + 1
    weight = {word: math.log((len(targets) + 1) / count) for word, count in shared.items()}
    scores: dict[int, float] = {}
    for target in targets:
        words = words_of[target.pk]
        total = sum(weight[word] for word in words)
        if not total:
            continue
        found = sum(weight[word] * (2.0 if word in selected else 1.0 if word in around else 0.0) for word in words)
        score = found / total**0.5
        score += nearby.get(target.pk, 0.0)
        if target.pk in parents:
            score -= 0.3
        scores[target.pk] = score
    if not scores:
        return None
    ranked = sorted(scores.items(), key=lambda item: item[1], reverse=True)
    best, best_score = ranked[0]
    runner_up = ranked[1][1] if len(ranked) > 1 else 0.0
    if best_score < 1.5 or best_score - runner_up < 0.25:
        return None
    return next(target for target in targets if target.pk == best)
