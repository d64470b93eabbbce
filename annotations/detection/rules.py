"""The rules: quotation marks make direct quotes, a cue verb with its reported
clause makes an indirect one (mixed when the clause holds a quotation), and the
mention next to the cue is the source.

Offsets are code points of ``text`` (Python's own string indices). Nothing here
reads a database or the network; lexicons come from ``lexicons/*.txt``.
"""

from __future__ import annotations

import bisect
import datetime
import re
from dataclasses import dataclass, replace
from typing import NamedTuple

from .candidates import Candidate
from .lexicon import Lexicon, lexicon
from .marks import Quotation, paragraphs, quotations

WORD = re.compile(r"\w+(?:[-’'.]\w+)*")
# Where a sentence ends: terminal punctuation, then any closing marks or brackets,
# before a space or a line's end.
TERMINATOR = re.compile(r"[.!?…]+[”’\"»«“‘›‹)\]]*(?=\s|$)")
# "said that was a decision": before these, "that" is the clause's subject.
THAT_AS_SUBJECT = {"was", "is", "would", "will", "has", "had", "could", "should", "may", "might", "must", "wasn’t"}
# A finite verb before any "that" means the clause has begun: "the sanctions were “a hostile act” that …".
CLAUSE_BEGUN = THAT_AS_SUBJECT | {"were", "are", "can"}
# Elided articles written onto the next word: l’Élysée, d’Orsay.
ELISION = re.compile(r"^(?:l|d|qu)['’]", re.IGNORECASE)
# Direct quotes whose content ends a sentence take an attribution only this close
# to its sentence's end ("“No.” he said." but not "“No.” Lavrov said the talks…").
SHORT_TAIL = 4
WINDOW = 8  # words between a cue and what it governs (a clause's "that", a quote's colon)
MIN_WORDS = 3  # a reported clause or an unattributed quotation shorter than this is no quote
FULL_NAME = 2  # name words a pronoun's antecedent needs when no candidate precedes it
# A wire dateline that opens an article: "ISTANBUL (Reuters) – ".
DATELINE = re.compile(r"[A-ZÄÖÜ][A-ZÄÖÜ .,'/-]+(?:\([^)\n]{1,30}\))?\s*[–—-]\s+")
# Words that join a second cue to the first one's subject ("… and said", "…, but warned that").
CONJUNCTIONS = {"and", "but", "while", "as", "und", "aber", "sowie"}
# Lower-case words before a source's head, after the comma that ends a clause ("…, port officials said").
MODIFIERS = re.compile(r",((?:\s+[a-z][\w’'-]*){1,2})\s+$")
# Clauses that report no content ("has not said whether …", "sagte nicht, ob …").
NO_CONTENT = {"whether", "if", "ob"}
# Where a reporter's gloss starts after the reported clause ("…, which ended the 2006 war").
GLOSS = re.compile(r",\s+(?:which|who|with|a|an)\s|\s—\s")
# "… and that …": a second reported clause of the same cue.
AND_THAT = re.compile(r",?\s+(?:and|und)\s+(?:that|dass)\s+")
# "auszuweisen", "fortzusetzen": a zu-infinitive ends a directive, not a reported clause.
ZU_INFINITIVE = re.compile(r"^[a-zäöü]+zu[a-zäöü]+en$")
# Words that go on a German source after its noun ("einem Sprecher des Ministeriums").
GENITIVE = {"vom", "von", "aus"}
# Speech verbs after which a question in marks is a reporter's, not a quote.
ASKING = {"asked", "asks", "fragte", "fragt"}
NAMING_CLASSES = ("name", "role", "determiner", "connector")
ACRONYM = re.compile(r"\s*\([A-Z]{2,6}\)\s*$")
# "spokesperson Mark Delaney was asked about …": the subject is asked, not speaking.
PASSIVE = {"was", "were", "is", "are", "been", "being", "wurde", "wurden"}
# A lower-case plural right before a cue is its subject ("as insurers warned that …").
PLURAL_NOUN = re.compile(r"^[a-z]{3,}[^su]s$")
NOT_PLURAL_NOUNS = {
    "perhaps",
    "always",
    "sometimes",
    "nevertheless",
    "thus",
    "whereas",
    "unless",
    "afterwards",
    "besides",
}
# Who asks reporters' questions (matched inside a source: "Journalistin", "One reporter").
REPORTERS = ("reporter", "journalist", "correspondent", "korrespondent")
# Of words in -te, only these endings are Konjunktiv ("arbeite", "erwarte"), not the
# past tense ("endete", "sagte", "führte", "hatte").
KONJUNKTIV_TE = ("ite", "arte", "orte")
# German Konjunktiv forms that carry reported speech on into a sentence with no cue.
KONJUNKTIV = {
    "sei", "seien", "habe", "hätten", "hätte", "werde", "würden", "würde", "wäre", "wären", "könne", "könnten",
    "müsse", "müssten", "solle", "wolle", "dürfe", "dürften", "gebe", "stehe", "liege", "gehe", "komme",
}  # fmt: skip


class Token(NamedTuple):  # a tuple: a text has thousands and a dataclass costs more to build
    start: int
    end: int
    word: str


@dataclass(frozen=True)
class Cue:
    start: int
    end: int
    role: str  # "verb", "trailing" (only after its clause) or "according"


@dataclass(frozen=True)
class Mention:
    start: int
    end: int
    speaker: str | None
    pronoun: bool


@dataclass(frozen=True)
class Attribution:
    cue: Cue
    source: Mention | None


class Reader:
    """One text read with one language's lexicon: its words, sentences,
    quotations and cues, and the rules that need them."""

    def __init__(self, text: str, lex: Lexicon) -> None:
        self.text = text
        self.lex = lex
        self.tokens = [Token(m.start(), m.end(), m.group(0)) for m in WORD.finditer(text)]
        self.starts = [token.start for token in self.tokens]
        self.quotations = quotations(text)
        self.opens = [quote.open for quote in self.quotations]
        self.lines = paragraphs(text)
        self.line_starts = [start for start, _ in self.lines]
        self.boundaries = self._boundaries()
        self.cues = self._cues()

    # --- the text's pieces ---------------------------------------------------------

    def _boundaries(self) -> list[int]:
        """Sentence ends (offsets just past them), never inside a quotation."""
        ends = set()
        for match in TERMINATOR.finditer(self.text):
            end = match.end()
            if self.inside_quotation(end) and end < self.quotations[bisect.bisect_right(self.opens, end) - 1].close - 1:
                continue
            if match.group(0).startswith(".") and self._abbreviation(match.start()):
                continue
            ends.add(end)
        ends.update(end + 1 for _, end in self.lines)
        return sorted(ends)

    def _abbreviation(self, dot: int) -> bool:
        index = bisect.bisect_left(self.starts, dot) - 1
        if index < 0 or self.tokens[index].end != dot:
            return False
        word = self.tokens[index].word
        return "." in word or (len(word) == 1 and word.isupper()) or word.lower() in self.lex.abbreviations

    def _cues(self) -> list[Cue]:
        """Cue phrases as whole words, outside quotations; a verb in lower case only
        ("Asked about …," opens a sentence), "according to" in either case."""
        cues = []
        tokens = self.tokens
        for index, token in enumerate(tokens):
            candidates = self.lex.phrases.get(token.word.lower())
            if not candidates or self.inside_quotation(token.start):
                continue
            for words in candidates:
                last = index + len(words) - 1
                if last >= len(tokens) or any(
                    tokens[index + k].word.lower() != word
                    or (k and not self._joined(tokens[index + k - 1], tokens[index + k]))
                    for k, word in enumerate(words)
                ):
                    continue
                start, end = token.start, tokens[last].end
                phrase = " ".join(words)
                written = self.text[start:end]
                if phrase in self.lex.according:
                    cues.append(Cue(start, end, "according"))
                elif written == written.lower():
                    role = "naming" if phrase in self.lex.naming else "verb"
                    role = "trailing" if phrase in self.lex.trailing else role
                    cues.append(Cue(start, end, role))
                break
        return cues

    def reporters_question(self, attribution: Attribution, quote: Quotation) -> bool:
        """'One reporter asked: “Is …?”': a question in marks asked by a reporter."""
        cue = attribution.cue
        asker = self.text[self.sentence(cue.start)[0] : cue.start]
        if attribution.source is not None:
            asker += " " + self.text[attribution.source.start : attribution.source.end]
        return (
            self.text[cue.start : cue.end].lower() in ASKING
            and self.text[quote.start : quote.end].rstrip().endswith("?")
            and any(word in asker.lower() for word in REPORTERS)
        )

    def titled(self, quote: Quotation) -> bool:
        """Marked words that name something: a title after a determiner or a German
        noun ("dem Motto „…“"), or words all capitalised (the “Ukraine Resilience Facility”)."""
        inner = self.tokens_between(quote.open, quote.close)
        if self.lex.language == "en" and inner and all(token.word[0].isupper() for token in inner):
            return True
        before = self.tokens_between(self.line(quote.open)[0], quote.open)[-1:]
        if not before or not self._joined(before[0], Token(quote.open, quote.open, "")):
            return False
        word = before[0].word
        return self.lex.language == "de" and word[0].isupper() and self.word_class(before[0]) != "role"

    def inside_quotation(self, offset: int) -> bool:
        index = bisect.bisect_right(self.opens, offset) - 1
        return index >= 0 and offset < self.quotations[index].close

    def sentence(self, offset: int) -> tuple[int, int]:
        index = bisect.bisect_right(self.boundaries, offset)
        start = self.boundaries[index - 1] if index else 0
        end = self.boundaries[index] if index < len(self.boundaries) else len(self.text)
        line = self.line(offset)
        return max(start, line[0]), min(end, line[1])

    def line(self, offset: int) -> tuple[int, int]:
        return self.lines[bisect.bisect_right(self.line_starts, offset) - 1]

    def tokens_between(self, start: int, end: int) -> list[Token]:
        return self.tokens[bisect.bisect_left(self.starts, start) : bisect.bisect_left(self.starts, end)]

    def words(self, start: int, end: int) -> int:
        return len(self.tokens_between(start, end))

    # --- mentions ------------------------------------------------------------------

    def word_class(self, token: Token) -> str | None:
        bare = ELISION.sub("", token.word) or token.word
        word = bare.lower()
        if word in self.lex.pronouns:
            return "pronoun"
        if bare.islower() and word.endswith(("’s", "'s")) and word not in ("it’s", "it's", "that’s", "that's"):
            return "determiner"  # "the navy’s chief"
        if word in self.lex.determiners:
            return "determiner"
        if word in self.lex.connectors:
            return "connector"
        if self.lex.is_role(word):
            return "role"
        if bare[0].isupper() and word not in self.lex.not_names:
            return "name"
        return None

    def _joined(self, left: Token, right: Token) -> bool:
        between = self.text[left.end : right.start]
        if between.startswith(".") and "." in left.word:
            between = between[1:]  # "U.N. officials"
        return not between.strip()

    def mention(self, run: list[Token]) -> Mention | None:
        """The source a run of words can be: trimmed of connectors at its ends,
        holding a name, a role or a single pronoun."""
        classes = [self.word_class(token) for token in run]
        if len(run) == 1 and classes[0] == "pronoun":
            return Mention(run[0].start, run[0].end, None, True)
        while run and classes[0] == "connector":
            run, classes = run[1:], classes[1:]
        while run and classes[-1] in ("connector", "determiner"):
            run, classes = run[:-1], classes[:-1]
        if not run or not {"name", "role"} & set(classes) or "pronoun" in classes:
            return None
        first = 0
        while classes[first] == "determiner":
            first += 1
        roles = [index for index, kind in enumerate(classes) if kind == "role"]
        after_role = roles[-1] + 1 if roles else first
        names = [index for index in range(after_role, len(run)) if classes[index] == "name"]
        named_from = names[0] if names else first
        speaker = self.text[run[named_from].start : run[-1].end]
        return Mention(run[0].start, run[-1].end, speaker, False)

    def run_before(self, offset: int, floor: int) -> Mention | None:
        """The mention that ends right before ``offset`` ("Gallant said"), with an
        acronym in brackets after it ("the Joint Chiefs of Staff (JCS) said")."""
        acronym = ACRONYM.search(self.text, floor, offset)
        if acronym is not None:
            found = self.run_before(acronym.start(), floor)
            return (
                replace(found, end=acronym.end() - len(acronym.group(0)) + len(acronym.group(0).rstrip()))
                if found
                else None
            )
        tokens = self.tokens_between(floor, offset)
        if not tokens or self.text[tokens[-1].end : offset].strip():
            return None
        if self.word_class(tokens[-1]) == "pronoun":
            return self.mention(tokens[-1:])
        index = len(tokens) - 1
        while index >= 0 and self.word_class(tokens[index]) not in (None, "pronoun"):
            if index < len(tokens) - 1 and not self._joined(tokens[index], tokens[index + 1]):
                break
            index -= 1
        return self.mention(tokens[index + 1 :])

    def run_after(self, offset: int, ceiling: int) -> Mention | None:
        """The mention that starts right after ``offset`` ("said Lavrov")."""
        tokens = self.tokens_between(offset, ceiling)
        if not tokens or self.text[offset : tokens[0].start].strip():
            return None
        if self.word_class(tokens[0]) == "pronoun":
            return self.mention(tokens[:1])
        index = 0
        while index < len(tokens) and (
            self.word_class(tokens[index]) not in (None, "pronoun") or self._adjective(tokens, index)
        ):
            if index and not self._joined(tokens[index - 1], tokens[index]):
                break
            index += 1
        return self.mention(tokens[:index])

    def _adjective(self, tokens: list[Token], index: int) -> bool:
        """A lower-case word between a determiner and a role or name ("der
        luxemburgische Minister", "the outgoing president")."""
        return (
            0 < index < len(tokens) - 1
            and tokens[index].word.islower()
            and self.word_class(tokens[index - 1]) in ("determiner", "role")
            and self.word_class(tokens[index + 1]) in ("role", "name")
        )

    def rightmost_before(self, offset: int, floor: int) -> Mention | None:
        """The last mention in the sentence before ``offset`` that no preposition
        governs ("Ned Price at a briefing on Tuesday said" → Ned Price)."""
        tokens = self.tokens_between(floor, offset)
        runs: list[tuple[bool, list[Token]]] = []
        for index, token in enumerate(tokens):
            kind = self.word_class(token)
            if kind is None or kind == "pronoun":
                continue
            previous = tokens[index - 1] if index else None
            if runs and previous is runs[-1][1][-1] and self._joined(previous, token):
                runs[-1][1].append(token)
            else:
                governed = previous is not None and previous.word.lower() in self.lex.prepositions
                runs.append((governed, [token]))
        for governed, run in reversed(runs):
            found = None if governed else self.mention(run)
            if found is not None:
                return found
        return None

    def source(self, cue: Cue, floor: int, ceiling: int) -> tuple[Mention | None, bool]:
        """The cue's source and whether it follows the cue ("said Lavrov")."""
        lead = self.text[floor : cue.start].rstrip()
        earlier = [c for c in self.cues if floor <= c.start < cue.start and c.role in ("verb", "naming")]
        last_word = lead.rsplit(None, 1)[-1].lower() if lead else ""
        participle = self.lex.language == "en" and self.text[cue.start : cue.end].endswith("ing")
        if earlier and (last_word in CONJUNCTIONS or (lead.endswith(",") and participle)):
            # "Gorski called … and said …", "…, adding that …": the earlier cue's subject.
            return self.source(earlier[-1], floor, cue.start)
        before = self.run_before(cue.start, floor)
        if before is not None:
            return before, False
        previous = self.tokens_between(floor, cue.start)[-1:]
        if (
            previous
            and self.lex.language == "en"
            and self._joined(previous[0], Token(cue.start, cue.end, ""))
            and PLURAL_NOUN.match(previous[0].word)
            and previous[0].word not in NOT_PLURAL_NOUNS
        ):
            return Mention(previous[0].start, previous[0].end, previous[0].word, False), False  # "insurers warned"
        if cue.role == "trailing" and not lead.endswith(","):
            return None, False
        appositive = self.appositive(floor, lead)
        if appositive is not None:
            return appositive, False
        if cue.role == "trailing":
            # "…, so die Sprecherin", "…, hieß es am Donnerstag aus Diplomatenkreisen": the first mention after it.
            for token in self.tokens_between(cue.end, ceiling):
                if self.word_class(token) in ("name", "role", "pronoun"):
                    previous = self.tokens_between(cue.end, token.start)
                    determined = previous and self.word_class(previous[-1]) == "determiner"
                    start = previous[-1].start if determined else token.start
                    found = self.run_after(start, ceiling)
                    if found is not None:
                        return found, True
        if not lead or lead[-1] in ',”’"»«“‘›‹':
            # "…, said Colonel Dubois": inverted after a clause or a quote.
            after = self.run_after(cue.end, ceiling)
            if after is not None:
                return after, True
        subject = self.rightmost_before(cue.start, floor)
        if subject is not None:
            return subject, False
        after = self.run_after(cue.end, ceiling)
        return after, after is not None

    def appositive(self, floor: int, lead: str) -> Mention | None:
        """The source of "Colonel Marc Dubois, a spokesman for …, said" (the name) and
        of "the Kremlin’s spokesman, Yuri Vetrov, said" (role and name)."""
        if not lead.endswith(","):
            return None
        second = floor + len(lead) - 1
        first = self.text.rfind(",", floor, second)
        if first == -1:
            return None
        segment = self.tokens_between(first + 1, second)
        if not segment or len(segment) > 12:
            return None
        head = self.run_before(first, floor)
        if head is None or self.text[max(floor, self.text.rfind(",", floor, head.start) + 1) : head.start].strip():
            return None
        classes = [self.word_class(token) for token in segment]
        if all(kind == "name" for kind in classes):
            last = self.tokens_between(head.start, head.end)[-1]
            if self.word_class(last) == "role":
                return Mention(head.start, segment[-1].end, self.text[segment[0].start : segment[-1].end], False)
            return None
        if classes[0] in ("determiner", "role") or segment[0].word.lower() in ("who", "der", "die"):
            return head if head.speaker and not head.pronoun else None
        return None

    def noun_phrase_after(self, offset: int, ceiling: int) -> tuple[Mention, int] | None:
        """The source after "according to" up to its comma or the sentence's end,
        or (German "Laut einem Sprecher des Ministeriums sollen …") up to the verb;
        with where the clause after it starts."""
        tokens = self.tokens_between(offset, ceiling)[: WINDOW + 2]
        if not tokens:
            return None
        comma = self.text.find(",", offset, ceiling)
        if self.lex.language == "de":
            seen_noun = False
            for index, token in enumerate(tokens):
                if comma != -1 and token.start > comma:
                    break
                if token.word[0].isupper() or token.word[0].isdigit():
                    seen_noun = True
                elif seen_noun and token.word.lower() not in self.lex.connectors | self.lex.determiners | GENITIVE:
                    if index == 0:
                        return None
                    return self._phrase(tokens[:index]), token.start
            if comma == -1:
                return None
        stop = comma if comma != -1 else ceiling
        run = [token for token in tokens if token.end <= stop]
        if not run or self.words(offset, stop) > WINDOW:
            return None
        return self._phrase(run), stop

    def _phrase(self, run: list[Token]) -> Mention:
        found = self.mention(run)
        speaker = found.speaker if found is not None else self.text[run[0].start : run[-1].end]
        return Mention(run[0].start, run[-1].end, speaker, False)

    # --- direct quotes ---------------------------------------------------------------

    def attribution_after(self, quote: Quotation) -> Attribution | None:
        line = self.line(quote.open)
        cue = next((cue for cue in self.cues if quote.close <= cue.start < line[1] and cue.role == "verb"), None)
        if cue is None:
            return None
        between = self.text[quote.close : cue.start]
        ends = bisect.bisect_right(self.boundaries, quote.close) < bisect.bisect_right(self.boundaries, cue.start)
        if between.strip(" ,;—–-") and (ends or any(mark in between for mark in "!?:")):
            return None
        run = self.tokens_between(quote.close, cue.start)
        comma = between.find(",", 1)
        if comma != -1 and run and run[0].start < quote.close + comma:
            # "“…,” Kenyan negotiator Grace Wanjiru, who …, said": the name before the comma.
            head = self.tokens_between(quote.close, quote.close + comma)
            if len(head) <= WINDOW and all(self.word_class(token) in NAMING_CLASSES for token in head):
                run = head
        if run and (len(run) > WINDOW + 2 or self.mention(run) is None):
            return None
        if run and len(run) > 6 and not all(self.word_class(token) in NAMING_CLASSES for token in run):
            return None
        if (
            self.text[quote.end - 1 : quote.end] in ".!?"
            and self.words(cue.end, self.sentence(cue.start)[1]) > SHORT_TAIL
        ):
            return None
        source = self.mention(run) if run else self.run_after(cue.end, self.sentence(cue.start)[1])
        return Attribution(cue, source)

    def attribution_before(self, quote: Quotation) -> Attribution | None:
        line = self.line(quote.open)
        floor = line[0]
        if not self.text[line[0] : quote.open].strip():
            # "… said in her address:" ends the paragraph before.
            earlier = [start for start, end in self.lines if end < line[0] and self.text[start:end].strip()]
            floor = earlier[-1] if earlier else floor
        lead = self.text[floor : quote.open].rstrip()
        if not lead.endswith((":", ",")):
            return None
        sentence_start = self.sentence(max(floor, quote.open - 1))[0] if lead.endswith(",") else floor
        cues = [cue for cue in self.cues if max(floor, sentence_start) <= cue.start < quote.open and cue.role == "verb"]
        if not cues or self.words(cues[-1].end, quote.open) > WINDOW:
            return None
        cue = cues[-1]
        start = self.sentence(cue.start)[0]
        source, _ = self.source(cue, start, quote.open)
        return Attribution(cue, source)

    # --- indirect quotes ---------------------------------------------------------------

    def clause_after(self, cue: Cue, start: int, end: int) -> tuple[int, int] | None:
        tokens = self.tokens_between(start, end)
        comma = self.text.find(",", start, end)
        if self.lex.language == "de" and comma != -1 and self.words(start, comma) <= WINDOW:
            # "sagte im Gespräch mit der „Rheinischen Post“, die Regierung habe …", "erklärte, dass …"
            start = comma + 1
            opening = self.tokens_between(start, end)[:1]
            if opening and opening[0].word.lower() in self.lex.that:
                start = opening[0].end
            tokens = []
        reach = WINDOW + 2 if self.text[cue.start : cue.end].lower() in self.lex.addressed else WINDOW
        other_cues = {other.start for other in self.cues}
        for index, token in enumerate(tokens[:reach]):
            if token.word.lower() in CLAUSE_BEGUN or self.inside_quotation(token.start) or token.start in other_cues:
                tokens = []
                break
            if token.word.lower() in self.lex.that:
                following = tokens[index + 1].word.lower() if index + 1 < len(tokens) else ""
                start = token.start if following in THAT_AS_SUBJECT else token.end
                break
        else:
            if self.text[cue.start : cue.end].lower() in self.lex.addressed and tokens:
                if any(token.word == "to" for token in tokens[:4]):
                    return None  # "urged the council to impose …": a directive
                start = tokens[0].end
            elif tokens and tokens[0].word.lower() in self.lex.prepositions and self.lex.language == "en":
                # "said on Monday it was …", "said in a statement it …"
                index = 1
                while index < len(tokens) and self.word_class(tokens[index]) == "determiner":
                    index += 1
                index += 1
                if index < len(tokens) and (
                    tokens[index].word.lower() in self.lex.pronouns | self.lex.determiners | {"it"}
                    or tokens[index].word[0].isupper()
                ):
                    start = tokens[index].start
                else:
                    return None  # "was asked about the sanctions package": no clause
        for other in self.cues:
            if other.role == "according" and start < other.start < end:
                comma = self.text.rfind(",", start, other.start)
                if comma != -1 and not self.text[comma + 1 : other.start].strip():
                    end = comma
        end = self.coordinated(start, end)
        gloss = GLOSS.search(self.text, start, end) if self.lex.language == "en" else None
        if gloss is not None and self.words(start, gloss.start()) >= MIN_WORDS:
            end = gloss.start()
        return self.trim(start, end)

    def coordinated(self, start: int, end: int) -> int:
        """Where a reported clause ends before a second cue: "… and predicted that",
        "…, but added that", "…, and a senior official said", "…, adding that"."""
        for other in self.cues:
            if other.role not in ("verb", "naming") or not start < other.start < end:
                continue
            subject = self.run_before(other.start, start)
            for point in (other.start, subject.start if subject is not None else other.start):
                lead = self.text[start:point].rstrip()
                words = lead.rsplit(None, 1)
                if len(words) == 2 and words[1].lower() in CONJUNCTIONS:
                    lead = words[0].rstrip()
                elif not lead.endswith(","):
                    continue
                if self.words(start, start + len(lead)) >= MIN_WORDS:
                    return start + len(lead.rstrip(","))
        return end

    def trim(self, start: int, end: int) -> tuple[int, int] | None:
        dateline = DATELINE.match(self.text, start, end)
        if dateline is not None and start == self.line(start)[0]:
            start = dateline.end()
        while start < end and (self.text[start].isspace() or self.text[start] in ",:;"):
            start += 1
        while end > start and (self.text[end - 1].isspace() or self.text[end - 1] in ".,;:!?…"):
            end -= 1
        if self.words(start, end) < MIN_WORDS:
            return None
        first = self.tokens_between(start, end)[0].word.lower()
        if first in NO_CONTENT:
            return None
        last = self.tokens_between(start, end)[-1]
        if (
            self.lex.language == "de"
            and "," not in self.text[start:end]
            and (ZU_INFINITIVE.match(last.word) or self.tokens_between(start, last.start)[-1:][0].word == "zu")
        ):
            return None  # "forderte, den Botschafter auszuweisen": a directive, no reported clause
        if self.lex.language == "en" and first in ("to", "not"):
            return None  # "who asked not to be named": no reported clause
        return start, end

    def indirect(self, cue: Cue) -> tuple[tuple[int, int], Mention | None] | None:
        """The reported clause a cue governs and its source."""
        sentence = self.sentence(cue.start)
        if cue.role == "according":
            return self.according(cue, sentence)
        if cue.role == "naming":
            return self.naming(cue, sentence)
        source, follows = self.source(cue, sentence[0], sentence[1])
        anchor = source.start if source is not None and not follows else cue.start
        tail = source.end if source is not None and follows else cue.end
        rest = self.text[tail : sentence[1]]
        before = self.text[sentence[0] : anchor].rstrip()
        modifiers = MODIFIERS.search(self.text, sentence[0], anchor) if source is not None and not follows else None
        if (
            modifiers is not None
            and source is not None
            and not {w.lower() for w in modifiers.group(1).split()} & (CONJUNCTIONS | self.lex.that | {"wie"})
        ):
            source = replace(
                source, start=modifiers.start(1) + len(modifiers.group(1)) - len(modifiers.group(1).lstrip())
            )
            before = self.text[sentence[0] : modifiers.start() + 1]
        words = before.rsplit(None, 1)
        if len(words) == 2 and words[1].lower() in ("wie", "as"):
            before = words[0].rstrip()  # "…, wie die Agentur mitteilte", "…, as the ministry said"
        following = self.tokens_between(tail, sentence[1])[:WINDOW]
        passive = (
            source is not None
            and not follows
            and PASSIVE & {t.word.lower() for t in self.tokens_between(source.end, cue.start)}
        )
        if (
            before.endswith(",")
            and not passive
            and (
                cue.role == "trailing"
                or follows
                or len(following) <= SHORT_TAIL - 1
                or rest.lstrip().startswith(",")
                or (
                    following[0].word.lower() in self.lex.prepositions
                    and not any(
                        token.word.lower() in self.lex.that
                        for token in following
                        if "," not in self.text[tail : token.start]
                    )
                )
            )
        ):
            clause = self.trim(sentence[0], sentence[0] + len(before) - 1)
            if clause is not None:
                return clause, source
        if cue.role == "trailing" or follows:
            return None
        clause = self.clause_after(cue, cue.end, sentence[1])
        return (clause, source) if clause else None

    def according(self, cue: Cue, sentence: tuple[int, int]) -> tuple[tuple[int, int], Mention | None] | None:
        before = self.text[sentence[0] : cue.start].rstrip()
        if before.endswith(",") and self.words(sentence[0], cue.start) >= MIN_WORDS:
            # "…, according to rights groups": the clause comes first.
            clause = self.trim(sentence[0], sentence[0] + len(before))
            if clause is None or any(c.role == "verb" and clause[0] <= c.start < clause[1] for c in self.cues):
                return None  # "X said …, according to a readout": the readout is the channel, not the source
            phrase = self.noun_phrase_after(cue.end, sentence[1])
            return clause, phrase[0] if phrase else self.run_after(cue.end, sentence[1])
        phrase = self.noun_phrase_after(cue.end, sentence[1])
        if phrase is not None:
            clause = self.trim(phrase[1], sentence[1])
            return (clause, phrase[0]) if clause else None
        source = self.run_after(cue.end, sentence[1])
        after = source.end if source else cue.end
        rest = self.text[after : sentence[1]].lstrip()
        if rest[:1] in ("", ".") or self.words(after, sentence[1]) < MIN_WORDS:
            return None
        comma = self.text.find(",", cue.end, sentence[1])
        if comma != -1 and self.words(cue.end, comma) <= WINDOW:
            after = comma + 1
        clause = self.trim(after, sentence[1])
        return (clause, source) if clause else None

    def naming(self, cue: Cue, sentence: tuple[int, int]) -> tuple[tuple[int, int], Mention | None] | None:
        """ "called the expulsions “baseless”", "bezeichnete die Konferenz als „…“": the
        object and the quoted predicate, marks included."""
        tokens = self.tokens_between(cue.end, sentence[1])
        if not tokens or tokens[0].word.lower() in self.lex.prepositions | {"upon", "off"}:
            return None  # "called for a ceasefire", "called on Israel to …"
        index = bisect.bisect_left(self.opens, cue.end)
        if index >= len(self.quotations):
            return None
        quote = self.quotations[index]
        if quote.open >= sentence[1] or self.words(cue.end, quote.open) > WINDOW or not quote.closed:
            return None
        if any(cue.end < other.start < quote.open for other in self.cues):
            return None
        inner = self.tokens_between(quote.open, quote.close)
        if self.lex.language == "en" and inner and all(token.word[0].isupper() for token in inner):
            return None  # a name or a title: dubbed the “Ukraine Resilience Facility”
        end = quote.close
        after = self.tokens_between(end, sentence[1])
        if after and after[0].word.lower() in self.lex.that and self.text[end : after[0].start].strip() == "":
            clause = self.clause_after(cue, end, sentence[1])
            end = clause[1] if clause else end
        source, _ = self.source(cue, sentence[0], sentence[1])
        return (tokens[0].start, end), source


def _only_punctuation(text: str, start: int, end: int) -> bool:
    return not text[start:end].strip(".,;:!? ")


def _overlaps(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def detect(text: str, language: str, published: datetime.date | None = None) -> list[Candidate]:
    """The candidate quotes in ``text``, in text order. ``published`` is accepted
    for the interface's sake: no rule depends on the date (linking does)."""
    reader = Reader(text, lexicon(language))
    found: list[Candidate] = []
    used_cues: set[Cue] = set()
    embedded: list[Quotation] = []

    chains: dict[int, list[Quotation]] = {}
    for quote in reader.quotations:
        chains.setdefault(quote.chain, []).append(quote)
    previous: tuple[Quotation, Attribution | None] | None = None
    for parts in chains.values():
        first, last = parts[0], parts[-1]
        attribution = (reader.attribution_after(last) if last.closed else None) or reader.attribution_before(first)
        confidence = 0.9
        earlier, inherited = previous if previous is not None else (None, None)
        if attribution is None and earlier is not None and inherited is not None:
            # "“…,” Price added. “Even though …”": the second part is the same statement.
            same_line = reader.line(earlier.open) == reader.line(first.open)
            gap = reader.tokens_between(earlier.close, first.open)
            if same_line and len(gap) <= 2 * WINDOW and earlier.close <= inherited.cue.start < first.open:
                attribution, confidence = inherited, 0.85
        sentence = reader.sentence(first.open)
        standalone = not reader.text[sentence[0] : first.open].strip(" \t\"“”„«»‚‘’'‹›")
        if attribution is None and not standalone:
            embedded.extend(parts)
            continue
        if attribution is None:
            if first.words(text) < MIN_WORDS:
                continue  # a word or two in marks, standing alone: a title or a scare quote
            confidence = 0.5
        elif reader.reporters_question(attribution, last):
            used_cues.add(attribution.cue)
            continue  # 'One reporter asked: “Is …?”': a reporter's question is no quote
        for part in parts:
            found.append(_candidate(part.start, part.end, "direct", attribution, confidence))
        if attribution is not None:
            used_cues.add(attribution.cue)
        previous = (last, attribution)

    for cue in reader.cues:
        if cue in used_cues:
            continue
        reported = reader.indirect(cue)
        if reported is None:
            continue
        clause, source = reported
        if any(_overlaps(clause, (c.start, c.end)) for c in found):
            continue
        # "said that … and that …": one quote per reported clause, sharing the cue.
        cuts = [
            match
            for match in AND_THAT.finditer(text, clause[0], clause[1])
            if not reader.inside_quotation(match.start())
        ]
        pieces = [(clause[0], cuts[0].start())] if cuts else [clause]
        pieces += [
            (match.end(), cuts[k + 1].start() if k + 1 < len(cuts) else clause[1]) for k, match in enumerate(cuts)
        ]
        for piece in pieces:
            _add_reported(reader, found, embedded, piece, Attribution(cue, source))
        used_cues.add(cue)

    if reader.lex.language == "de":
        _continued(reader, found, embedded)

    for quote in embedded:
        if quote.words(text) < MIN_WORDS or reader.titled(quote):
            continue  # a scare quote or a title: the "roadmap", the so-called “peace plan”, dem Motto „…“
        # Longer words in marks inside a sentence with no cue ("called the speech “too
        # little, too late”"): a mixed quote of the marked words, marks included, low
        # confidence, attributed to the sentence's subject.
        source = reader.rightmost_before(quote.open, reader.sentence(quote.open)[0])
        found.append(
            Candidate(
                start=quote.open,
                end=quote.close,
                kind="mixed",
                cue=None,
                source=(source.start, source.end) if source else None,
                speaker=source.speaker if source else None,
                confidence=0.3,
            )
        )
    return _resolved(reader, sorted(found, key=lambda c: (c.start, c.end)))


def _add_reported(
    reader: Reader, found: list[Candidate], embedded: list[Quotation], clause: tuple[int, int], attribution: Attribution
) -> None:
    """One reported clause as a candidate: mixed when it holds quotations that no
    cue claimed, direct when it is one quotation ('He said “we will win.”')."""
    text = reader.text
    inside = [q for q in embedded if clause[0] <= q.open and q.close <= clause[1] + 1]
    kind = "mixed" if inside else "indirect"
    if len(inside) == 1 and inside[0].open <= clause[0] + 1 and _only_punctuation(text, inside[0].close, clause[1]):
        clause, kind = (inside[0].start, inside[0].end), "direct"
    for quote in inside:
        embedded.remove(quote)
    confidence = {"indirect": 0.6, "mixed": 0.7, "direct": 0.8}[kind]
    found.append(_candidate(clause[0], clause[1], kind, attribution, confidence))


def _continued(reader: Reader, found: list[Candidate], embedded: list[Quotation]) -> None:
    """German reported speech that goes on in Konjunktiv in the sentences after an
    attributed quote ("…, sagte Brenner. Die Bundesregierung erwarte …"): one
    indirect quote per sentence, sharing the cue and source."""
    text = reader.text
    for candidate in sorted(found, key=lambda c: c.start):
        if candidate.cue is None or candidate.kind == "direct":
            continue
        attribution = Attribution(
            Cue(candidate.cue[0], candidate.cue[1], "verb"),
            Mention(candidate.source[0], candidate.source[1], candidate.speaker, False) if candidate.source else None,
        )
        line = reader.line(candidate.start)
        end = reader.sentence(max(candidate.end, candidate.cue[1]) - 1)[1]
        while end < line[1]:
            start = end
            while start < line[1] and text[start].isspace():
                start += 1
            if start >= line[1] or text[start] in "„“”\"»«‚‘’'‹›":
                break
            sentence = reader.sentence(start)
            if any(sentence[0] <= cue.start < sentence[1] for cue in reader.cues) or any(
                _overlaps(sentence, (c.start, c.end)) for c in found
            ):
                break
            if not _konjunktiv(reader, reader.tokens_between(sentence[0], sentence[1])[:6]):
                break
            clause = reader.trim(sentence[0], sentence[1])
            if clause is None:
                break
            _add_reported(reader, found, embedded, clause, attribution)
            end = sentence[1]


def _konjunktiv(reader: Reader, tokens: list[Token]) -> bool:
    """A Konjunktiv verb among a sentence's first words: a known form, or a lower-case
    word in -e after the subject and before a lower-case word ("Man arbeite aber")."""
    for index, token in enumerate(tokens):
        word = token.word
        if word in KONJUNKTIV:
            return True
        if (
            0 < index < len(tokens) - 1
            and word.endswith("e")
            and len(word) > 3
            and (not word.endswith("te") or word.endswith(KONJUNKTIV_TE))
            and word.islower()
            and word not in reader.lex.determiners
            and (tokens[index - 1].word[0].isupper() or tokens[index - 1].word in ("es", "man"))
            and tokens[index + 1].word[0].islower()
        ):
            return True
    return False


def _candidate(start: int, end: int, kind: str, attribution: Attribution | None, confidence: float) -> Candidate:
    if attribution is None:
        return Candidate(start, end, kind, None, None, None, confidence)
    source = attribution.source
    return Candidate(
        start=start,
        end=end,
        kind=kind,
        cue=(attribution.cue.start, attribution.cue.end),
        source=(source.start, source.end) if source else None,
        speaker=source.speaker if source else None,
        confidence=confidence if source else confidence - 0.2,
    )


def _resolved(reader: Reader, candidates: list[Candidate]) -> list[Candidate]:
    """Pronouns resolved to the nearest person named before them, and the parts
    of one statement (the same cue) given one group."""
    named = sorted(((c.source[0], c.speaker) for c in candidates if c.source and c.speaker), key=lambda n: n[0])
    by_cue: dict[tuple[int, int], int] = {}
    for candidate in candidates:
        if candidate.cue is not None:
            by_cue[candidate.cue] = by_cue.get(candidate.cue, 0) + 1
    groups: dict[tuple[int, int], int] = {}
    resolved = []
    for candidate in candidates:
        speaker = candidate.speaker
        if candidate.source and speaker is None:
            earlier = [name for start, name in named if start < candidate.source[0]]
            speaker = earlier[-1] if earlier else _last_full_name(reader, candidate.source[0])
        group = None
        if candidate.cue is not None and by_cue[candidate.cue] > 1:
            group = groups.setdefault(candidate.cue, len(groups) + 1)
        resolved.append(replace(candidate, speaker=speaker, group=group))
    return resolved


def _last_full_name(reader: Reader, offset: int) -> str | None:
    """The last name of at least two capitalised words before ``offset``."""
    tokens = reader.tokens_between(0, offset)
    index = len(tokens) - 1
    while index >= 0:
        run: list[Token] = []
        while index >= 0 and reader.word_class(tokens[index]) in ("name", "role", "determiner", "connector"):
            run.insert(0, tokens[index])
            index -= 1
        mention = reader.mention(run) if run else None
        if mention is not None and mention.speaker and len(mention.speaker.split()) >= FULL_NAME:
            return mention.speaker
        index -= 1
    return None
