"""Offsets under fire: whatever the script, a browser's selection lands on the
exact text, a span never splits a character as a reader sees it, and the
database holds no span that disagrees with its article.

The property tests are pure Python (no database), so they can afford 10,000
examples: text built from pieces that are each one whole grapheme cluster
(ZWJ emoji, skin tones, flags, right-to-left marks and embeddings, letters
with combining marks, CJK), whose cluster boundaries are therefore known
without asking the code under test.
"""

from __future__ import annotations

import io
import json

import pytest
import regex
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.db import connection
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from annotations.models import Quote
from annotations.offsets import check_span, codepoint_to_utf16, normalise_text, utf16_to_codepoint

from .factories import ArticleFactory, AssignmentFactory, QuoteFactory

# Each piece is exactly one extended grapheme cluster, starts with a base
# character and ends with no joiner, so cluster boundaries in any
# concatenation are exactly the boundaries between pieces.
CLUSTERS = [
    "a",
    "Z",
    " ",
    ".",
    "“",
    "\n",
    "é",  # precomposed
    "q\u0301",  # q + combining acute: no precomposed form, stays two code points under NFC
    "q\u0323\u0303",  # two combining marks, in canonical order
    "שָׁ",  # shin with qamats and shin dot
    "ל",
    "بِ",  # beh with kasra
    "ع",
    "\u200f",  # RIGHT-TO-LEFT MARK
    "\u202b",  # RIGHT-TO-LEFT EMBEDDING
    "\u202c",  # POP DIRECTIONAL FORMATTING
    "\u2067",  # RIGHT-TO-LEFT ISOLATE
    "中",
    "文",
    "😀",
    "𝔄",  # astral letter
    "👍🏽",  # thumbs up + skin tone modifier
    "👩‍💻",  # woman + ZWJ + laptop
    "👨‍👩‍👧",  # family: three people, two ZWJs
    "🏳️‍🌈",  # flag + VS16 + ZWJ + rainbow
    "🇮🇱",  # regional indicators I L
    "🇺🇸",
    "क्षि",  # Devanagari conjunct with a vowel sign
]


def utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def test_every_piece_is_one_cluster_and_stays_as_it_is():
    for cluster in CLUSTERS:
        assert normalise_text(cluster) == cluster, cluster
        assert regex.fullmatch(r"\X", cluster), cluster


# A piece is drawn as one letter of a string (Hypothesis draws a whole string
# at once, far faster than a list of choices), then looked up: 10,000
# examples take about 25 seconds instead of a minute.
KEYS = "".join(chr(ord("A") + index) for index in range(len(CLUSTERS)))
pieces = st.text(alphabet=KEYS, min_size=1, max_size=40).map(lambda keys: [CLUSTERS[KEYS.index(k)] for k in keys])


@settings(max_examples=10_000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(parts=pieces, first=st.integers(0, 39), length=st.integers(1, 40), inside=st.integers(0, 10_000))
def test_a_browser_selection_round_trips_to_the_exact_text(parts, first, length, inside):
    text = "".join(parts)
    assert normalise_text(text) == text
    boundaries = [0]
    for part in parts:
        boundaries.append(boundaries[-1] + len(part))
    # The selection: whole pieces, as a browser selects whole characters.
    first = first % len(parts)
    last = min(first + length, len(parts))
    start, end = boundaries[first], boundaries[last]
    exact = "".join(parts[first:last])

    # What the browser sends: UTF-16 units up to each edge of the selection.
    u_start, u_end = utf16_length(text[:start]), utf16_length(text[:end])
    assert (codepoint_to_utf16(text, start), codepoint_to_utf16(text, end)) == (u_start, u_end)
    # What the server makes of it.
    cp_start, cp_end = utf16_to_codepoint(text, u_start), utf16_to_codepoint(text, u_end)
    assert (cp_start, cp_end) == (start, end)
    assert text[cp_start:cp_end] == exact
    check_span(text, cp_start, cp_end, exact)

    # A UTF-16 offset strictly inside a piece never makes it through: it splits
    # a surrogate pair (refused on conversion) or a cluster (refused by check_span).
    unit_boundaries = {utf16_length(text[:boundary]) for boundary in boundaries}
    cuts = [unit for unit in range(utf16_length(text)) if unit not in unit_boundaries]
    if cuts:
        cut = cuts[inside % len(cuts)]
        for as_start in (True, False):
            with pytest.raises(ValidationError) as refused:
                point = utf16_to_codepoint(text, cut)
                if as_start:
                    check_span(text, point, len(text), text[point:])
                else:
                    check_span(text, 0, point, text[:point])
            assert refused.value.code in {"offset_splits_surrogate", "span_splits_grapheme"}


# Arbitrary text, including what no piece above makes: a lone combining mark,
# a lone regional indicator, a dangling joiner, CRLF.
HOSTILE = ["a", "b", " ", "\n", "\r", "\u0301", "\u200d", "\U0001f1ee", "\U0001f1f1", "\U0001f3fd", *CLUSTERS]
HOSTILE_KEYS = "".join(chr(ord("A") + index) for index in range(len(HOSTILE)))
hostile_text = st.text(alphabet=HOSTILE_KEYS, min_size=1, max_size=40).map(
    lambda keys: "".join(HOSTILE[HOSTILE_KEYS.index(k)] for k in keys)
)


@settings(max_examples=1_000, deadline=None)
@given(raw=hostile_text, data=st.data())
def test_check_span_accepts_exactly_the_spans_on_cluster_boundaries(raw, data):
    text = normalise_text(raw)
    start = data.draw(st.integers(0, len(text) - 1))
    end = data.draw(st.integers(start + 1, len(text)))
    # The oracle segments the whole text; check_span looks only at the lines around the span.
    boundaries = {0} | {match.end() for match in regex.finditer(r"\X", text)}
    try:
        check_span(text, start, end, text[start:end])
    except ValidationError as error:
        assert error.code == "span_splits_grapheme"
        assert not {start, end} <= boundaries
    else:
        assert {start, end} <= boundaries


def test_the_refusal_names_the_character_and_where_to_cut_instead():
    text = "Peace 👍🏽 now"
    with pytest.raises(ValidationError) as error:
        check_span(text, 6, 7, "👍", name="quote")
    message = error.value.messages[0]
    assert "The quote ends at 7, inside the character '👍🏽' (U+1F44D U+1F3FD) at 6–8" in message
    assert "Ends at 6 or 8 instead." in message


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("He said 👨‍👩‍👧 twice", 8, 9),  # the man without his family
        ("He said 👨‍👩‍👧 twice", 9, 14),  # the family without the man
        ("Flag 🇮🇱 up", 6, 8),  # half a flag
        ("Cafq\u0301 open", 0, 4),  # the q without its accent
        ("Cafq\u0301 open", 4, 10),  # starting on a bare combining mark
        ("Skin 👍🏽", 6, 7),  # the tone alone
    ],
)
def test_a_span_that_splits_a_cluster_is_refused(text, start, end):
    with pytest.raises(ValidationError, match="can't split one character"):
        check_span(text, start, end, text[start:end])


def test_marks_and_isolates_are_characters_of_their_own():
    text = "a\u200fb \u2067שלום\u2069"
    for start in range(len(text)):
        for end in range(start + 1, len(text) + 1):
            check_span(text, start, end, text[start:end])


# --- Every write path refuses a split cluster ------------------------------------------------

SPLIT_TEXT = "Minister: “we agree 👍🏽” today, said 🇮🇱 officials."
THUMB = SPLIT_TEXT.index("👍")


@pytest.mark.django_db
def test_the_model_refuses_a_quote_that_splits_a_cluster():
    article = ArticleFactory(text=SPLIT_TEXT)
    quote = Quote(article=article, start=THUMB - 6, end=THUMB + 1, text=SPLIT_TEXT[THUMB - 6 : THUMB + 1])
    with pytest.raises(ValidationError, match="can't split one character"):
        quote.full_clean()
    with pytest.raises(ValidationError, match="can't split one character"):
        quote.save()
    assert not Quote.objects.exists()


@pytest.mark.django_db
def test_the_model_refuses_a_mention_or_cue_that_splits_a_cluster():
    article = ArticleFactory(text=SPLIT_TEXT)
    flag = SPLIT_TEXT.index("🇮🇱")
    quote = QuoteFactory(article=article, start=0, end=8)
    quote.mention_start, quote.mention_end = flag, flag + 1
    quote.mention_text = SPLIT_TEXT[flag : flag + 1]
    with pytest.raises(ValidationError) as error:
        quote.full_clean()
    assert "can't split one character" in " ".join(error.value.message_dict["mention_text"])


@pytest.mark.django_db
def test_the_annotate_page_refuses_a_selection_that_splits_a_cluster(login, analyst):
    article = AssignmentFactory(annotator=analyst, article=ArticleFactory(pool=False, text=SPLIT_TEXT)).article
    start, end = SPLIT_TEXT.index("we"), THUMB + 1
    data = {
        "start": start,
        "end": end,
        "text": SPLIT_TEXT[start:end],
        "kind": "direct",
        "stances-TOTAL_FORMS": "0",
        "stances-INITIAL_FORMS": "0",
        "stances-MIN_NUM_FORMS": "0",
        "stances-MAX_NUM_FORMS": "30",
    }
    response = login(analyst).post(reverse("annotations:quote-new", args=[article.pk]), data, HTTP_HX_REQUEST="true")
    assert response.status_code == 422
    assert "split one character as a reader sees it" in response.content.decode()
    assert not Quote.objects.exists()


@pytest.mark.django_db
def test_the_api_refuses_utf16_offsets_that_split_a_cluster(analyst):
    from django.core.cache import cache
    from knox.models import AuthToken
    from rest_framework.test import APIClient

    cache.clear()
    article = AssignmentFactory(annotator=analyst, article=ArticleFactory(pool=False, text=SPLIT_TEXT)).article
    _, token = AuthToken.objects.create(analyst)
    client = APIClient(headers={"Authorization": f"Token {token}"})
    # Between the thumb and its skin tone: a valid UTF-16 offset (no surrogate
    # pair is split), and a valid code-point offset, but half a character.
    u_start = codepoint_to_utf16(SPLIT_TEXT, SPLIT_TEXT.index("we"))
    u_end = codepoint_to_utf16(SPLIT_TEXT, THUMB + 1)
    body = {
        "article": article.pk,
        "start": u_start,
        "end": u_end,
        "text": SPLIT_TEXT[SPLIT_TEXT.index("we") : THUMB + 1],
        "offset_unit": "utf16",
    }
    response = client.post("/api/v1/quotes/", body, format="json")
    assert response.status_code == 400, response.content
    assert "can't split one character" in json.dumps(response.json(), ensure_ascii=False)
    assert not Quote.objects.exists()


# --- The audit: the database's own substr() against every stored span -----------------------


@pytest.mark.django_db
def test_check_offsets_finds_nothing_wrong_in_sound_data():
    article = ArticleFactory(text=SPLIT_TEXT)
    QuoteFactory(article=article, start=THUMB - 9, end=THUMB + 2)
    out = io.StringIO()
    call_command("check_offsets", stdout=out)
    assert "1 quote" in out.getvalue()
    assert "no mismatch" in out.getvalue()


def _disable_span_trigger() -> None:
    """Let a wrong span into the table, as a restore with triggers off or raw SQL could.

    Inside the test's transaction, so the trigger is back for the next test.
    """
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Deferred foreign-key checks are pending events, which ALTER TABLE refuses to run past.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("ALTER TABLE annotations_quote DISABLE TRIGGER quote_spans_match_article")
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        else:
            cursor.execute("DROP TRIGGER quote_spans_match_article_update")


@pytest.mark.django_db
@pytest.mark.corrupts_offsets
def test_check_offsets_fails_on_a_span_the_database_reads_differently():
    article = ArticleFactory(text=SPLIT_TEXT)
    sound = QuoteFactory(article=article, start=0, end=8)
    broken = QuoteFactory(article=article, start=THUMB - 9, end=THUMB + 2)
    _disable_span_trigger()
    # Same length (the CHECK constraint holds), different text: only the audit sees it.
    Quote.objects.filter(pk=broken.pk).update(text="X" * (broken.end - broken.start))
    out = io.StringIO()
    with pytest.raises(CommandError, match="1 quote"):
        call_command("check_offsets", stdout=out)
    assert f"quote {broken.pk}" in out.getvalue()
    assert f"quote {sound.pk}" not in out.getvalue()


@pytest.mark.django_db
@pytest.mark.corrupts_offsets
def test_check_offsets_fails_on_a_cue_span_that_disagrees():
    article = ArticleFactory(text=SPLIT_TEXT)
    said = SPLIT_TEXT.index("said")
    quote = QuoteFactory(article=article, start=0, end=8, cue_start=said, cue_end=said + 4, cue_text="said")
    _disable_span_trigger()
    Quote.objects.filter(pk=quote.pk).update(cue_text="sai!")
    with pytest.raises(CommandError):
        call_command("check_offsets", stdout=io.StringIO())
