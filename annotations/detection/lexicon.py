"""The cue lexicons: one data file per language in ``lexicons/`` (sections are
described at the top of ``lexicons/en.txt``), read once per process."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

FOLDER = Path(__file__).parent / "lexicons"
SECTIONS = (
    "cues", "addressed", "trailing", "according", "naming", "that", "pronouns", "roles", "determiners",
    "connectors", "prepositions", "not-names", "abbreviations",
)  # fmt: skip


@dataclass(frozen=True)
class Lexicon:
    language: str
    cues: frozenset[str]
    addressed: frozenset[str]
    trailing: frozenset[str]
    according: frozenset[str]
    naming: frozenset[str]
    that: frozenset[str]
    pronouns: frozenset[str]
    roles: frozenset[str]
    determiners: frozenset[str]
    connectors: frozenset[str]
    prepositions: frozenset[str]
    not_names: frozenset[str]
    abbreviations: frozenset[str]
    # Every cue and "according to" phrase as words, by its first word, longest first
    # so "a-t-il déclaré" wins over "déclaré".
    phrases: dict[str, list[tuple[str, ...]]]

    def is_role(self, word: str) -> bool:
        """A role word, or (German) a compound ending in one: Verteidigungsminister."""
        word = word.lower()
        if word in self.roles:
            return True
        return self.language == "de" and any(word.endswith(role) for role in self.roles if len(role) >= 6)


def parse(language: str, content: str) -> Lexicon:
    sections: dict[str, set[str]] = {name: set() for name in SECTIONS}
    current: set[str] | None = None
    for raw in content.splitlines():
        line = raw.split("#", 1)[0].strip().lower()
        if not line:
            continue
        if line.startswith("[") and line.endswith("]"):
            name = line[1:-1]
            if name not in sections:
                raise ValueError(f"{language}: unknown section [{name}]")
            current = sections[name]
        elif current is None:
            raise ValueError(f"{language}: {line!r} comes before any section")
        else:
            current.add(line)
    phrases: dict[str, list[tuple[str, ...]]] = {}
    matched = sections["cues"] | sections["trailing"] | sections["according"] | sections["naming"]
    for phrase in sorted(matched, key=len, reverse=True):
        words = tuple(phrase.split())
        phrases.setdefault(words[0], []).append(words)
    return Lexicon(
        language=language,
        phrases=phrases,
        **{name.replace("-", "_"): frozenset(words) for name, words in sections.items()},
    )


def lexicon(language: str) -> Lexicon:
    """The lexicon of ``language`` ("en", "de-CH" → de); a language without a file
    gets an empty one (quotation marks are still found, cues are not)."""
    return _load(language.lower().split("-")[0].split("_")[0])


@functools.cache
def _load(base: str) -> Lexicon:
    path = FOLDER / f"{base}.txt"
    if not base.isalpha() or not path.is_file():
        return parse(base, "")
    return parse(base, path.read_text(encoding="utf-8"))
