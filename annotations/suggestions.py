"""Pre-fill a new quote from its selection: kind, cue, speaker and mention.

Heuristics over the text near the selection, never trusted blindly: the analyst
sees and can change every suggestion before saving.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass

from django.db.models import Q

from .models import Article, Quote, Speaker, SpeakerAlias, SpeakerRole

OPENING_MARKS = "“‘«„‚\"'‹「『"
CLOSING_MARKS = "”’»“‘\"'›」』"
QUOTE_MARKS = set(OPENING_MARKS + CLOSING_MARKS)
TRAILING_PUNCTUATION = ",.;:!?…"

CUE_VERBS = (
    "said|says|added|adds|told|tells|telling|stated|states|announced|noted|warned|insisted|argued|"
    "explained|emphasized|emphasised|stressed|declared|claimed|asserted|wrote|replied|responded|"
    "acknowledged|according to"
)
# Matched without regard to case, then kept only with a verb's case: lower case, or
# capitalised at the start of a sentence ("States" in "United States" is no cue).
CUE_PATTERN = re.compile(rf"\b({CUE_VERBS})\b", re.IGNORECASE)
# Apostrophes that are also closing single quotation marks: inside a word
# (Korea's, Israel’s) they are apostrophes.
APOSTROPHES = "'’"
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


def is_quotation_mark(text: str, index: int) -> bool:
    """Whether ``text[index]`` is a quotation mark, not an apostrophe between two
    letters (Korea's) or outside the text."""
    if not 0 <= index < len(text) or text[index] not in QUOTE_MARKS:
        return False
    if text[index] in APOSTROPHES:
        before = text[index - 1] if index > 0 else ""
        after = text[index + 1] if index + 1 < len(text) else ""
        return not (before.isalnum() and after.isalnum())
    return True


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
    names = _known_names(text[para_start:para_end])
    best: tuple[int, int, int, Speaker] | None = None
    mentions = [
        (para_start + match.start(), para_start + match.end(), speaker)
        for name, speaker in names
        for match in re.finditer(rf"(?<!\w){re.escape(name)}(?!\w)", text[para_start:para_end])
    ]
    mentions += _role_mentions(text, para_start, para_end, article.published_on)
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
            earlier = _known_names(text[: pronoun.start()])
            last: tuple[int, Speaker] | None = None
            for name, speaker in earlier:
                position = text.rfind(name, 0, pronoun.start())
                if position != -1 and (last is None or position > last[0]):
                    last = (position, speaker)
            if last is not None:
                suggestion.speaker = last[1]
    return suggestion


def _short_names(speaker: Speaker) -> list[str]:
    """How a text names a person after the first mention: first and last name
    ("Antony Blinken" for Antony J. Blinken) and the surname alone ("Blinken")."""
    if speaker.kind != Speaker.Kind.PERSON:
        return []
    parts = speaker.name.split()
    if len(parts) < 2:
        return []
    return [f"{parts[0]} {parts[-1]}", parts[-1]] if len(parts) > 2 else [parts[-1]]


def _known_names(passage: str) -> list[tuple[str, Speaker]]:
    """Speaker names, aliases and people's short names that occur in ``passage``
    (two queries). A surname two registered people share names neither."""
    if not passage.strip():
        return []
    found: list[tuple[str, Speaker]] = []
    words = set(re.findall(r"\w+", passage))
    short: dict[str, set[Speaker]] = {}
    for speaker in Speaker.objects.all().only("id", "name", "kind"):
        if set(re.findall(r"\w+", speaker.name)) <= words and speaker.name in passage:
            found.append((speaker.name, speaker))
        for name in _short_names(speaker):
            short.setdefault(name, set()).add(speaker)
    for name, speakers in short.items():
        if len(speakers) == 1 and set(name.split()) <= words:
            found.append((name, next(iter(speakers))))
    for alias in SpeakerAlias.objects.select_related("speaker").only("name", "speaker__id", "speaker__name"):
        if alias.name in passage:
            found.append((alias.name, alias.speaker))
    return found


# Spellings that differ across English (the role is "Minister of Defense", the
# article's "defence minister"), and words a title phrase can do without.
SPELLINGS = {"defence": "defense", "labour": "labor", "programme": "program", "organisation": "organization"}
FILLERS = {"of", "the", "for", "and", "on", "de"}
WORD = re.compile(r"[^\W\d_]+(?:[.’'-][^\W\d_]+)*\.?")


def _norm(word: str) -> str:
    word = word.lower().replace(".", "")  # U.S. → us
    return SPELLINGS.get(word, word)


def _place_forms(word: str) -> set[str]:
    """A place word and the country or organisation names it may stand for:
    Israeli → israel, Russian → russia, Chinese → china."""
    word = _norm(word)
    forms = {word}
    for suffix, replacements in (("i", [""]), ("ian", ["ia", "a"]), ("an", ["a", ""]), ("ese", ["a", ""])):
        if word.endswith(suffix) and len(word) > len(suffix) + 2:
            forms.update(word[: -len(suffix)] + replacement for replacement in replacements)
    return forms


def _role_mentions(
    text: str, para_start: int, para_end: int, day: datetime.date | None
) -> list[tuple[int, int, Speaker]]:
    """Mentions of a speaker by a role they held on the article's date: "the Israeli
    defence minister" for the Minister of Defense of the Government of Israel.

    Every word of the title (less fillers, spellings aligned) must appear together,
    in any order; a capitalised place word right before them ("Israeli") must name
    the role's organisation or country, or it is somebody else's minister.
    """
    if day is None:
        return []
    roles = SpeakerRole.objects.filter(
        Q(start_date__isnull=True) | Q(start_date__lte=day), Q(end_date__isnull=True) | Q(end_date__gte=day)
    ).select_related("speaker")
    words = [(m.start(), m.end(), m.group(0)) for m in WORD.finditer(text, para_start, para_end)]
    found: list[tuple[int, int, Speaker]] = []
    for role in roles:
        places = {_norm(word) for word in WORD.findall(f"{role.organisation} {role.country}")} - FILLERS
        # "President of the United States": the place may come before the title
        # ("the US president"), so the title's own place words are not required.
        title = {_norm(word) for word in WORD.findall(role.title)} - FILLERS
        title = title - places or title
        if not title:
            continue
        for first in range(len(words)):
            if _norm(words[first][2]) not in title:
                continue
            seen: set[str] = set()
            last = None
            for index in range(first, min(len(words), first + len(title) + 2)):
                word = _norm(words[index][2])
                if word not in title and word not in FILLERS:
                    break
                seen.add(word)
                if seen >= title:
                    last = index
                    break
            if last is None:
                continue
            start = words[first][0]
            qualifier = words[first - 1][2] if first > 0 else ""
            if qualifier[:1].isupper() and _norm(qualifier) not in FILLERS:
                if not _place_forms(qualifier) & places:
                    continue
                start = words[first - 1][0]
            end = words[last][1] - words[last][2].endswith(".")  # a full stop ends the sentence, not the title
            found.append((start, end, role.speaker))
    return found
