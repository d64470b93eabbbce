"""News-like English text with quotes, built together with the quotes' offsets.

Every article is assembled piece by piece, and each quote, source mention and
cue is recorded at the code-point offset where it lands, so that
``text[start:end]`` is the quote by construction (the database's offset
trigger checks it again on every row). Names are invented: the generated
quotes must not be attributed to real people. Some speakers have Hebrew or
Arabic names (written right to left), some quotes carry emoji (outside the
Basic Multilingual Plane), and the text uses typographic quotation marks.
Everything is NFC already, as ``normalise_text`` would leave it.
"""

from __future__ import annotations

import datetime
import random
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field

COUNTRIES = [
    ("US", "United States", "Washington", "American"),
    ("IL", "Israel", "Jerusalem", "Israeli"),
    ("IR", "Iran", "Tehran", "Iranian"),
    ("UA", "Ukraine", "Kyiv", "Ukrainian"),
    ("RU", "Russia", "Moscow", "Russian"),
    ("FR", "France", "Paris", "French"),
    ("DE", "Germany", "Berlin", "German"),
    ("GB", "the United Kingdom", "London", "British"),
    ("SA", "Saudi Arabia", "Riyadh", "Saudi"),
    ("AE", "the United Arab Emirates", "Abu Dhabi", "Emirati"),
    ("EG", "Egypt", "Cairo", "Egyptian"),
    ("JO", "Jordan", "Amman", "Jordanian"),
    ("TR", "Türkiye", "Ankara", "Turkish"),
    ("CN", "China", "Beijing", "Chinese"),
    ("IN", "India", "New Delhi", "Indian"),
    ("QA", "Qatar", "Doha", "Qatari"),
]
FIRST_NAMES = [
    "Daniel", "Miriam", "Tomas", "Anya", "Jonah", "Clara", "Marcus", "Ingrid", "Rafael", "Helena",
    "Viktor", "Amara", "Lukas", "Sofia", "Oren", "Nadia", "Felix", "Irene", "Matteo", "Elin",
]  # fmt: skip
LAST_NAMES = [
    "Hartwell", "Okafor", "Lindqvist", "Moreau", "Castellan", "Brennan", "Vasquez", "Kowalczyk",
    "Ashford", "Delacroix", "Petrenko", "Haldane", "Sørensen", "Marchetti", "Quinlan", "Ferreira",
    "Grünewald", "Albescu", "Thorne", "Navarro", "Çelik", "Yıldız",
]  # fmt: skip
FEMININE = {"Miriam", "Anya", "Clara", "Ingrid", "Helena", "Amara", "Sofia", "Nadia", "Irene", "Elin"}
FEMININE |= {"Noa", "Yael", "Leila", "Salma", "Shirin"}
# Invented right-to-left names: (transliteration, native script, country).
RTL_NAMES = [
    ("Noa Berger", "נועה ברגר", "IL"),
    ("David Almog", "דוד אלמוג", "IL"),
    ("Yael Shahar", "יעל שחר", "IL"),
    ("Uri Ben-Dor", "אורי בן־דור", "IL"),
    ("Leila Haddad", "ليلى حداد", "JO"),
    ("Omar Khalil", "عمر خليل", "EG"),
    ("Salma Nasser", "سلمى ناصر", "AE"),
    ("Karim Mansour", "كريم منصور", "SA"),
    ("Reza Farahani", "رضا فراهانی", "IR"),
    ("Shirin Kazemi", "شیرین کاظمی", "IR"),
]
ROLES = [
    ("Foreign Minister", "Ministry of Foreign Affairs"),
    ("Defense Minister", "Ministry of Defense"),
    ("Prime Minister", "Office of the Prime Minister"),
    ("Spokesperson", "Ministry of Foreign Affairs"),
    ("Ambassador to the United Nations", "Permanent Mission to the UN"),
    ("National Security Adviser", "National Security Council"),
    ("Deputy Foreign Minister", "Ministry of Foreign Affairs"),
    ("Special Envoy", "Office of the President"),
]
# Targets as propositions, under their topic: (slug, name, phrases a quote may use).
TOPICS = [
    (
        ("iran-nuclear", "Iran nuclear issue"),
        [
            (
                "iran-nuclear-weapons",
                "Iran acquiring nuclear weapons",
                ["a nuclear-armed Iran", "Tehran getting the bomb"],
            ),
            ("jcpoa-return", "Return to the JCPOA", ["a return to the 2015 nuclear deal", "reviving the JCPOA"]),
            ("iran-sanctions", "Sanctions on Iran", ["new sanctions on Tehran", "the oil embargo on Iran"]),
        ],
    ),
    (
        ("russia-ukraine", "Russia–Ukraine war"),
        [
            (
                "ukraine-military-aid",
                "Military aid to Ukraine",
                ["more air defence for Kyiv", "arms deliveries to Ukraine"],
            ),
            ("russia-sanctions", "Sanctions on Russia", ["the next sanctions package", "the price cap on Russian oil"]),
            (
                "ukraine-ceasefire",
                "A negotiated ceasefire in Ukraine",
                ["a ceasefire along the front", "talks with Moscow"],
            ),
        ],
    ),
    (
        ("israel-palestine", "Israeli–Palestinian conflict"),
        [
            ("two-state-solution", "A two-state solution", ["two states for two peoples", "a Palestinian state"]),
            ("settlement-expansion", "Settlement expansion", ["new settlement construction", "the E1 building plan"]),
            (
                "gaza-humanitarian-access",
                "Humanitarian access to Gaza",
                ["aid convoys into Gaza", "opening more crossings"],
            ),
        ],
    ),
    (
        ("normalisation", "Arab–Israeli normalisation"),
        [
            (
                "abraham-accords",
                "Expanding the Abraham Accords",
                ["widening the Abraham Accords", "new peace agreements"],
            ),
            (
                "saudi-israel-ties",
                "Saudi–Israeli diplomatic ties",
                ["ties between Riyadh and Jerusalem", "a Saudi deal"],
            ),
        ],
    ),
    (
        ("climate", "Climate diplomacy"),
        [
            ("coal-phase-out", "Phasing out coal", ["an end to coal power", "closing the last coal plants"]),
            (
                "climate-finance",
                "Climate finance for poorer countries",
                ["the loss and damage fund", "climate finance"],
            ),
        ],
    ),
    (
        ("trade", "Trade policy"),
        [
            ("tariffs-on-china", "Tariffs on Chinese goods", ["tariffs on Chinese steel", "new duties on Beijing"]),
            (
                "free-trade-agreement",
                "A new free-trade agreement",
                ["the free-trade agreement", "lower trade barriers"],
            ),
        ],
    ),
]
SUPPORT = ["we strongly support", "we will keep pressing for", "there is no alternative to", "we welcome", "we back"]
OPPOSE = ["we will not allow", "we firmly reject", "we cannot accept", "we will oppose", "there is no place for"]
NEUTRAL = ["we are studying", "we have taken note of", "the government will discuss", "we are following"]
UNCLEAR = ["it is too early to judge", "a lot depends on", "time will tell about", "we will see about"]
VERBS = {"support": SUPPORT, "oppose": OPPOSE, "neutral": NEUTRAL, "unclear": UNCLEAR}
TAILS = [
    "", " in the coming weeks", " at any price", " without delay", " as long as it takes",
    " together with our partners", " before the end of the year", " and we said so plainly",
]  # fmt: skip
CUES = ["said", "added", "stressed", "warned", "told reporters", "argued", "noted", "insisted", "wrote"]
EMOJI = ["🕊️", "🇺🇦", "🇮🇱", "🤝", "🌍", "🔥", "📢", "🙏", "✅", "🚫"]
FILLER = [
    "The meeting in {city} lasted more than two hours, according to officials familiar with it.",
    "Talks on {topic} resumed on {weekday} after a pause of several months.",
    "The {demonym} delegation arrived late on {weekday} and left without a joint statement.",
    "Diplomats in {city} described the atmosphere as businesslike but tense.",
    "Markets reacted calmly, with oil prices little changed by the afternoon.",
    "The exchange came a day before a scheduled vote at the United Nations Security Council.",
    "Neither side published a readout of the call until late in the evening.",
    "Analysts said the remarks reflected a wider debate about {topic}.",
    "The foreign ministry in {city} did not respond to a request for comment.",
    "Officials have met {number} times this year to discuss {topic}.",
]
WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
OUTLETS = ["The Daily Courier", "Global Affairs Wire", "Le Quotidien", "Levant Herald", "Gulf Observer", "Kyiv Ledger"]


@dataclass
class SpeakerSpec:
    id: int
    name: str
    country: str
    kind: str
    aliases: list[str]
    roles: list[tuple[int, str, str, datetime.date | None, datetime.date | None]]  # (id, title, org, start, end)
    native: str = ""  # native-script name, mentioned beside the transliteration
    pronoun: str = "he"

    @property
    def surname(self) -> str:
        return self.aliases[0]

    def role_on(self, day: datetime.date) -> tuple[int, str, str, datetime.date | None, datetime.date | None] | None:
        held = [
            role for role in self.roles if (role[3] is None or role[3] <= day) and (role[4] is None or day <= role[4])
        ]
        return max(held, key=lambda role: role[3] or datetime.date.min, default=None)


@dataclass
class QuoteSpec:
    start: int
    end: int
    text: str
    kind: str
    speaker: SpeakerSpec
    role_id: int | None
    cue: str
    mention: tuple[int, int, str]
    cue_span: tuple[int, int, str]
    stances: list[tuple[int, str, int | None]]  # (target id, label slug, intensity)
    addressee_id: int | None = None
    group: str = ""


@dataclass
class ArticleSpec:
    title: str
    outlet: str
    published_on: datetime.date
    text: str
    quotes: list[QuoteSpec] = field(default_factory=list)


class Writer:
    """Appends text and answers the code-point offset where each piece lands."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.length = 0

    def add(self, piece: str) -> tuple[int, int]:
        start = self.length
        self.parts.append(piece)
        self.length += len(piece)
        return start, self.length

    def paragraph(self) -> None:
        """End the paragraph: drop the space after the last sentence, add a blank line."""
        if self.parts and self.parts[-1].endswith(" "):
            self.parts[-1] = self.parts[-1][:-1]
            self.length -= 1
        self.add("\n\n")

    def text(self) -> str:
        return "".join(self.parts)


def make_speakers(rng: random.Random, count: int, first_role_id: int = 1) -> list[SpeakerSpec]:
    """``count`` invented speakers with aliases and one or two roles; ids from 1."""
    speakers = []
    role_id = first_role_id
    for index in range(count):
        native = ""
        if index % 7 == 3:
            name, native, country = RTL_NAMES[(index // 7) % len(RTL_NAMES)]
            if index >= 7 * len(RTL_NAMES):
                name = f"{name} {rng.choice(LAST_NAMES)}"
        else:
            name = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
            country = rng.choice(COUNTRIES)[0]
        surname = name.split()[-1]
        aliases = [surname]
        if native:
            aliases.append(native)
        kind = "person"
        if index % 50 == 49:
            kind = "government"
            country_name = next(row for row in COUNTRIES if row[0] == country)[1]
            name, aliases = (
                f"The government of {country_name.removeprefix('the ')}",
                [country_name.removeprefix("the ")],
            )
        title, org = ROLES[index % len(ROLES)]
        roles = [
            (role_id, f"Deputy {title}" if not title.startswith("Deputy") else title, org, datetime.date(2016, 1, 1),
             datetime.date(2021, 12, 31)),
            (role_id + 1, title, org, datetime.date(2022, 1, 1), None),
        ]  # fmt: skip
        role_id += 2
        pronoun = "she" if name.split()[0] in FEMININE else "he"
        speakers.append(SpeakerSpec(index + 1, name, country, kind, aliases, roles, native=native, pronoun=pronoun))
    return speakers


class ArticleMaker:
    """Builds articles: paragraphs of filler and quote sentences, offsets recorded as it goes."""

    def __init__(self, rng: random.Random, speakers: Sequence[SpeakerSpec], targets: dict[str, int]) -> None:
        self.rng = rng
        self.speakers = speakers
        # Zipf-like weights: a few speakers are quoted a lot, as in real coverage.
        self.weights = [1.0 / (rank + 1) ** 0.8 for rank in range(len(speakers))]
        self.cumulative = []
        total = 0.0
        for weight in self.weights:
            total += weight
            self.cumulative.append(total)
        self.targets = [
            (targets[slug], phrases)
            for _topic, children in TOPICS
            for slug, _name, phrases in children
            if slug in targets
        ]
        self.serial = 0
        self.seen: set[int] = set()

    def speaker(self) -> SpeakerSpec:
        return self.rng.choices(self.speakers, cum_weights=self.cumulative, k=1)[0]

    def filler(self) -> str:
        rng = self.rng
        country = rng.choice(COUNTRIES)
        template = rng.choice(FILLER)
        return template.format(
            city=country[2],
            topic=rng.choice(TOPICS)[0][1].lower().replace("iran", "Iran"),
            weekday=rng.choice(WEEKDAYS),
            demonym=country[3],
            number=rng.randint(2, 14),
        )

    def content(self) -> tuple[str, list[tuple[int, str, int | None]]]:
        """What is said, and the stances it takes (one or two targets)."""
        rng = self.rng
        target_id, phrases = rng.choice(self.targets)
        label = rng.choices(["support", "oppose", "neutral", "unclear"], weights=[40, 40, 12, 8])[0]
        words = f"{rng.choice(VERBS[label])} {rng.choice(phrases)}{rng.choice(TAILS)}"
        stances = [(target_id, label, rng.choice([None, 1, 2, 3]))]
        if rng.random() < 0.3:
            other_id, other_phrases = rng.choice(self.targets)
            if other_id != target_id:
                other = rng.choice(["support", "oppose"])
                words += f", and {rng.choice(VERBS[other])} {rng.choice(other_phrases)}"
                stances.append((other_id, other, rng.choice([None, 2, 3])))
        if rng.random() < 0.15:
            stances = []  # an attribution without a labelled stance is still data
        return words, stances

    def quote_sentence(self, out: Writer, speaker: SpeakerSpec, day: datetime.date, first: bool) -> QuoteSpec:
        """One sentence carrying one quote: direct, indirect or mixed."""
        rng = self.rng
        role = speaker.role_on(day)
        if first:
            title = role[1] if role else ""
            mention = f"{title} {speaker.name}".strip() if speaker.kind == "person" else speaker.name
            mention_tail = f" ({speaker.native})" if speaker.native else ""
        else:
            mention = rng.choice([speaker.surname, speaker.pronoun.capitalize()])
            mention_tail = ""
        cue_phrase = rng.choice(CUES)
        cue_word = cue_phrase.split()[0]
        words, stances = self.content()
        style = rng.random()
        if style < 0.45:  # “Content,” Mention said.
            content = words[0].upper() + words[1:]
            if rng.random() < 0.05:
                content += " " + rng.choice(EMOJI)
            out.add("“")
            q_start, q_end = out.add(content)
            out.add(",” ")
            mention_text = mention.lower() if mention in {"He", "She"} else mention
            if mention_text.startswith("The "):
                mention_text = "the " + mention_text[4:]
            m_start, m_end = out.add(mention_text)
            out.add(mention_tail + " ")
            c_start, c_end = out.add(cue_word)
            out.add(cue_phrase[len(cue_word) :] + ".")
            kind, text = "direct", content
            mention = mention_text
        elif style < 0.75:  # Mention said that content.
            m_start, m_end = out.add(mention)
            out.add(mention_tail + " ")
            c_start, c_end = out.add(cue_word)
            out.add(cue_phrase[len(cue_word) :] + " that ")
            content = words.replace("we ", f"{speaker.pronoun if speaker.kind == 'person' else 'it'} ", 1)
            q_start, q_end = out.add(content)
            out.add(".")
            kind, text = "indirect", content
        else:  # Mention said that the plan was “dead.”
            m_start, m_end = out.add(mention)
            out.add(mention_tail + " ")
            c_start, c_end = out.add(cue_word)
            out.add(cue_phrase[len(cue_word) :] + " that ")
            word = rng.choice(["dead", "a mistake", "overdue", "non-negotiable", "premature", "historic"])
            content = f"{rng.choice(self.targets)[1][0]} was “{word}.”"
            q_start, q_end = out.add(content)
            kind, text = "mixed", content
        out.add(" ")
        self.serial += 1
        return QuoteSpec(
            start=q_start,
            end=q_end,
            text=text,
            kind=kind,
            speaker=speaker,
            role_id=role[0] if role else None,
            cue=cue_word,
            mention=(m_start, m_end, mention),
            cue_span=(c_start, c_end, cue_word),
            stances=stances,
        )

    def article(
        self, quotes: int, day: datetime.date, *, filler: float = 0.5, exact_chars: int | None = None
    ) -> ArticleSpec:
        """An article with ``quotes`` quotes; ``exact_chars`` pads it with filler to exactly that length."""
        rng = self.rng
        out = Writer()
        cast = [self.speaker() for _ in range(rng.randint(1, 4))]
        mentioned: set[int] = set()
        specs: list[QuoteSpec] = []
        a, b = rng.sample(COUNTRIES, 2)
        topic = rng.choice(TOPICS)[0][1]
        title = f"{a[1].removeprefix('the ')} and {b[1].removeprefix('the ')} discuss {topic.lower()}"
        title = title[0].upper() + title[1:]
        out.add(f"{a[2].upper()} — " + self.filler() + " ")
        for _ in range(quotes):
            speaker = rng.choice(cast)
            spec = self.quote_sentence(out, speaker, day, first=speaker.id not in mentioned)
            mentioned.add(speaker.id)
            if specs and specs[-1].speaker.id == speaker.id and not specs[-1].group and rng.random() < 0.2:
                specs[-1].group = spec.group = f"g{self.serial}"
            others = [other.id for other in cast if other.id != speaker.id]
            if others and rng.random() < 0.1:
                spec.addressee_id = rng.choice(others)
            specs.append(spec)
            if rng.random() < filler:
                out.add(self.filler() + " ")
            if rng.random() < 0.35:
                out.paragraph()
        padded = exact_chars or rng.randint(1200, 4000)
        while out.length < padded:
            if rng.random() < 0.3:
                out.paragraph()
            out.add(self.filler() + " ")
        text = out.text()
        if exact_chars is None:
            text = text.rstrip()
            while hash(text) in self.seen:  # filler is repetitive: never two articles with one text
                text += " " + self.filler()
            self.seen.add(hash(text))
        else:
            if specs and specs[-1].end > exact_chars:
                raise ValueError(f"{quotes} quotes don't fit in {exact_chars} characters")
            text = text[:exact_chars]
            if text[-1].isspace():
                text = text[:-1] + "."
        if not unicodedata.is_normalized("NFC", text):
            raise ValueError("generated text is not NFC")
        return ArticleSpec(title=title, outlet=rng.choice(OUTLETS), published_on=day, text=text, quotes=specs)


def random_day(rng: random.Random) -> datetime.date:
    return datetime.date(2019, 1, 1) + datetime.timedelta(days=rng.randrange(6 * 365))
