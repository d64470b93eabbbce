"""Linking a mention to the speaker registry: by name, alias, a person's short
names (surname) and the role a speaker held on the article's date. The
analyst's pre-fill (``annotations.suggestions``) and the detector's ``link``
share these rules, so a name is found the same way in both."""

from __future__ import annotations

import datetime
import re
from collections.abc import Sequence

from django.db.models import Q

from annotations.models import Speaker, SpeakerAlias, SpeakerRole

from .candidates import Candidate


def link(candidates: Sequence[Candidate], published: datetime.date | None) -> list[int | None]:
    """The registry's speaker id for each candidate's speaker as written, or None
    (no speaker, or one the registry doesn't know yet: a new speaker to suggest).
    The longest registered name inside the mention wins ("Ned Price" over "Price");
    failing a name, a role held on ``published`` ("Israeli defence minister").
    Three queries whatever the number of candidates."""
    written = [candidate.speaker or "" for candidate in candidates]
    passage = "\n".join(written)
    names = known_names(passage)
    roles = role_mentions(passage, 0, len(passage), published)
    found: list[int | None] = []
    offset = 0
    for mention in written:
        best: tuple[int, Speaker] | None = None
        for name, speaker in names:
            if re.search(rf"(?<!\w){re.escape(name)}(?!\w)", mention) and (best is None or len(name) > best[0]):
                best = (len(name), speaker)
        if best is None and mention:
            held = [speaker for start, end, speaker in roles if offset <= start and end <= offset + len(mention)]
            best = (0, held[0]) if held else None
        found.append(best[1].pk if best else None)
        offset += len(mention) + 1
    return found


def _short_names(speaker: Speaker) -> list[str]:
    """How a text names a person after the first mention: first and last name
    ("Antony Blinken" for Antony J. Blinken) and the surname alone ("Blinken")."""
    if speaker.kind != Speaker.Kind.PERSON:
        return []
    parts = speaker.name.split()
    if len(parts) < 2:
        return []
    return [f"{parts[0]} {parts[-1]}", parts[-1]] if len(parts) > 2 else [parts[-1]]


def known_names(passage: str) -> list[tuple[str, Speaker]]:
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


def role_mentions(
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
