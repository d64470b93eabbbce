"""/api/v1/quotes/: the representation, writes through the model, optimistic
locking, filters that can't reach other fields, cursor pagination, query counts."""

# Shared fixtures are imported from test_api_support by name, which pyflakes
# reads as unused imports shadowed by the test arguments.
# ruff: noqa: F401, F811

from __future__ import annotations

import datetime
from typing import Any

import jsonschema
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from annotations.models import Article, Quote, Stance
from annotations.serializers import quote_representations, quote_rows

from .factories import (
    ArticleFactory,
    AssignmentFactory,
    QuoteFactory,
    SpeakerFactory,
    SpeakerRoleFactory,
    StanceFactory,
    StanceLabelFactory,
    TargetFactory,
    UserFactory,
)
from .test_api_support import (
    api,
    curated_article,
    curated_quote,
    ids,
    isolated_media,
    raw_quote,
    results,
    seeded,
    with_stance,
)

pytestmark = pytest.mark.django_db

EMOJI_TEXT = "Intro 😀 then “Shalom שלום to all” 🇮🇱 he said."


@pytest.fixture
def taxonomy(db):
    parent = TargetFactory(slug="iran-nuclear", name="Iran nuclear issue")
    child = TargetFactory(slug="iran-nuclear-weapons", name="Iran acquiring nuclear weapons", parent=parent)
    other = TargetFactory(slug="russia-ukraine", name="Russia–Ukraine war")
    labels = {slug: StanceLabelFactory(slug=slug) for slug in ("support", "oppose", "neutral")}
    return {"parent": parent, "child": child, "other": other, **labels}


@pytest.fixture
def mine(analyst):
    """An article assigned to the analyst, with emoji and Hebrew in it."""
    return AssignmentFactory(annotator=analyst, article=ArticleFactory(pool=False, text=EMOJI_TEXT)).article


# --- Reading -------------------------------------------------------------------


def test_a_curated_quote_is_returned_whole(seeded, researcher, api):
    gallant = next(row for row in results(api(researcher).get("/api/v1/quotes/")) if row["start"] == 177)
    assert gallant["end"] == 362
    assert gallant["text"] == seeded.text[177:362]
    assert gallant["kind"] == "direct"
    assert gallant["mention"] == {"start": 365, "end": 372, "text": "Gallant"}
    assert gallant["cue_span"] == {"start": 373, "end": 377, "text": "said"}
    assert gallant["speaker"]["name"] == "Yoav Gallant"
    assert gallant["speaker"]["country"] == "IL"
    assert gallant["speaker"]["role"] == {"title": "Minister of Defense", "organisation": "Government of Israel"}
    stances = {stance["target"]["slug"]: stance for stance in gallant["stances"]}
    assert stances["iran-nuclear-weapons"]["label"] == "oppose"
    assert stances["iran-nuclear-weapons"]["intensity"] == 3
    assert stances["iran-nuclear-weapons"]["target"]["name"] == "Iran acquiring nuclear weapons"
    assert gallant["article"]["id"] == seeded.pk
    assert gallant["article"]["published_on"] == "2023-01-05"
    assert gallant["layer"] == "curated"
    assert gallant["annotator"] is None
    # The reviewer accepted the first analyst's version (the second analyst marked the same span too).
    accepted = Quote.objects.raw_layer().filter(article=seeded, start=177, annotator__username="analyst")
    assert set(gallant["curated_from"]) == set(accepted.values_list("pk", flat=True))
    assert gallant["offsets_convention"] == "unicode-code-points, end-exclusive"


def test_a_raw_quote_names_its_annotator(analyst, mine, api):
    quote = raw_quote(analyst, article=mine, start=15, end=33, text=EMOJI_TEXT[15:33])
    row = api(analyst).get(f"/api/v1/quotes/{quote.pk}/").json()
    assert row["annotator"] == "analyst"
    assert row["layer"] == "raw"
    assert row["curated_from"] == []


def test_the_detail_carries_the_version_as_etag(analyst, mine, api):
    quote = raw_quote(analyst, article=mine, start=0, end=5, text="Intro")
    response = api(analyst).get(f"/api/v1/quotes/{quote.pk}/")
    assert response["ETag"] == '"1"'


# --- Creating ------------------------------------------------------------------


def test_an_analyst_marks_a_quote_with_stances(analyst, mine, taxonomy, api):
    start = EMOJI_TEXT.index("Shalom")
    body = {
        "article": mine.pk,
        "start": start,
        "end": start + 16,
        "text": EMOJI_TEXT[start : start + 16],
        "kind": "direct",
        "stances": [
            {"target": "iran-nuclear-weapons", "label": "oppose", "intensity": 3, "confidence": 0.8, "note": "clear"}
        ],
    }
    response = api(analyst).post("/api/v1/quotes/", body, format="json")
    assert response.status_code == 201, response.content
    row = response.json()
    quote = Quote.objects.get(pk=row["id"])
    assert quote.text == "Shalom שלום to a"
    assert quote.annotator == analyst
    assert not quote.is_curated
    assert response["ETag"] == '"1"'
    assert response["Location"].endswith(f"/api/v1/quotes/{quote.pk}/")
    stance = quote.stances.get()
    assert (stance.target.slug, stance.label.slug, stance.intensity, stance.confidence, stance.note) == (
        "iran-nuclear-weapons",
        "oppose",
        3,
        0.8,
        "clear",
    )


def test_the_annotator_is_always_the_requesting_user(analyst, second_analyst, mine, api):
    body = {"article": mine.pk, "start": 0, "end": 5, "text": "Intro"}
    response = api(analyst).post("/api/v1/quotes/", body, format="json")
    assert response.status_code == 201
    assert Quote.objects.get(pk=response.json()["id"]).annotator == analyst


def test_a_body_naming_another_annotator_is_refused_not_obeyed(analyst, second_analyst, mine, api):
    # Once silently ignored; a read-only field in a body is now refused by name.
    body = {"article": mine.pk, "start": 0, "end": 5, "text": "Intro", "annotator": second_analyst.pk}
    response = api(analyst).post("/api/v1/quotes/", body, format="json")
    assert response.status_code == 400
    assert "read-only" in response.json()["annotator"][0].lower()
    assert not Quote.objects.exists()


def test_a_new_quote_is_never_curated_whatever_the_body_says(analyst, mine, api):
    # Refused by name (is_curated is unknown, layer is read-only), so nothing is stored curated.
    body = {"article": mine.pk, "start": 0, "end": 5, "text": "Intro", "is_curated": True, "layer": "curated"}
    response = api(analyst).post("/api/v1/quotes/", body, format="json")
    assert response.status_code == 400
    assert set(response.json()) == {"is_curated", "layer"}
    assert not Quote.objects.filter(is_curated=True).exists()


def test_utf16_offsets_are_converted_to_code_points(analyst, mine, api):
    # "😀" is two UTF-16 units: a browser measures "then" at 9, Python at 8.
    start_cp = EMOJI_TEXT.index("then")
    assert start_cp == 8
    body = {"article": mine.pk, "start": 9, "end": 13, "text": "then", "offset_unit": "utf16"}
    response = api(analyst).post("/api/v1/quotes/", body, format="json")
    assert response.status_code == 201, response.content
    assert (response.json()["start"], response.json()["end"]) == (8, 12)


def test_utf16_offsets_inside_a_surrogate_pair_are_refused(analyst, mine, api):
    body = {"article": mine.pk, "start": 7, "end": 13, "text": "x", "offset_unit": "utf16"}
    response = api(analyst).post("/api/v1/quotes/", body, format="json")
    assert response.status_code == 400
    assert "surrogate pair" in response.json()["start"][0]


def test_the_text_must_match_the_offsets(analyst, mine, api):
    body = {"article": mine.pk, "start": 0, "end": 5, "text": "Outro"}
    response = api(analyst).post("/api/v1/quotes/", body, format="json")
    assert response.status_code == 400
    assert "does not match" in response.json()["text"][0]
    assert not Quote.objects.exists()


def test_the_text_is_required(analyst, mine, api):
    response = api(analyst).post("/api/v1/quotes/", {"article": mine.pk, "start": 0, "end": 5}, format="json")
    assert response.status_code == 400
    assert "text" in response.json()


def test_code_point_offsets_count_the_emoji_once(analyst, mine, api):
    # The same span measured in UTF-16 units (9–13) is refused as code points.
    body = {"article": mine.pk, "start": 9, "end": 13, "text": "then"}
    response = api(analyst).post("/api/v1/quotes/", body, format="json")
    assert response.status_code == 400
    assert "text" in response.json()


def test_a_mention_and_cue_span_are_checked_like_the_quote(analyst, mine, api):
    said = EMOJI_TEXT.index("said")
    body = {
        "article": mine.pk,
        "start": 0,
        "end": 5,
        "text": "Intro",
        "cue_span": {"start": said, "end": said + 4, "text": "sad!"},
    }
    response = api(analyst).post("/api/v1/quotes/", body, format="json")
    assert response.status_code == 400
    assert "cue_span" in response.json()
    body["cue_span"]["text"] = "said"
    body["mention"] = {"start": said - 3, "end": said - 1, "text": "he"}
    response = api(analyst).post("/api/v1/quotes/", body, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["cue_span"] == {"start": said, "end": said + 4, "text": "said"}


def test_a_stance_on_an_unknown_target_is_refused_by_name(analyst, mine, taxonomy, api):
    body = {
        "article": mine.pk,
        "start": 0,
        "end": 5,
        "text": "Intro",
        "stances": [{"target": "oppose", "label": "oppose"}, {"target": "atlantis", "label": "support"}],
    }
    response = api(analyst).post("/api/v1/quotes/", body, format="json")
    assert response.status_code == 400
    errors = response.json()["stances"]
    assert errors["0"]["target"] == ["unknown target 'oppose'"]
    assert errors["1"]["target"] == ["unknown target 'atlantis'"]
    assert not Quote.objects.exists()


def test_an_unknown_label_and_a_bad_intensity_are_refused(analyst, mine, taxonomy, api):
    body = {
        "article": mine.pk,
        "start": 0,
        "end": 5,
        "text": "Intro",
        "stances": [
            {"target": "iran-nuclear", "label": "adore"},
            {"target": "russia-ukraine", "label": "oppose", "intensity": 4},
        ],
    }
    errors = api(analyst).post("/api/v1/quotes/", body, format="json").json()["stances"]
    assert "intensity" in errors["1"]  # a field error, found before the lookups
    body["stances"][1]["intensity"] = 3
    errors = api(analyst).post("/api/v1/quotes/", body, format="json").json()["stances"]
    assert errors == {"0": {"label": ["unknown label 'adore'"]}}


def test_two_stances_on_one_target_are_refused(analyst, mine, taxonomy, api):
    body = {
        "article": mine.pk,
        "start": 0,
        "end": 5,
        "text": "Intro",
        "stances": [{"target": "iran-nuclear", "label": "oppose"}, {"target": "iran-nuclear", "label": "support"}],
    }
    response = api(analyst).post("/api/v1/quotes/", body, format="json")
    assert response.status_code == 400
    assert "appears twice" in response.json()["stances"]["1"]["target"][0]


def test_the_speakers_role_on_the_article_date_is_recorded(analyst, mine, api):
    speaker = SpeakerFactory()
    SpeakerRoleFactory(
        speaker=speaker, title="Old job", start_date=datetime.date(2000, 1, 1), end_date=datetime.date(2010, 1, 1)
    )
    current = SpeakerRoleFactory(speaker=speaker, title="Minister", start_date=datetime.date(2022, 12, 29))
    body = {"article": mine.pk, "start": 0, "end": 5, "text": "Intro", "speaker": speaker.pk}
    response = api(analyst).post("/api/v1/quotes/", body, format="json")
    assert response.json()["speaker"]["role"]["title"] == "Minister"
    assert Quote.objects.get().speaker_role == current


def test_a_role_of_another_speaker_is_refused(analyst, mine, api):
    role = SpeakerRoleFactory()
    body = {
        "article": mine.pk,
        "start": 0,
        "end": 5,
        "text": "Intro",
        "speaker": SpeakerFactory().pk,
        "speaker_role": role.pk,
    }
    response = api(analyst).post("/api/v1/quotes/", body, format="json")
    assert response.status_code == 400
    assert "speaker_role" in response.json()


def test_a_lone_surrogate_is_refused_not_a_server_error(analyst, mine, api):
    body = '{"article": ARTICLE, "start": 0, "end": 5, "text": "Intro", "cue": "\\ud83d"}'.replace(
        "ARTICLE", str(mine.pk)
    )
    response = api(analyst).post("/api/v1/quotes/", body, content_type="application/json")
    assert response.status_code == 400
    assert "surrogate" in response.json()["cue"][0]


def test_a_body_that_is_not_an_object_is_refused(analyst, mine, api):
    response = api(analyst).post("/api/v1/quotes/", [1, 2], format="json")
    assert response.status_code == 400


# --- Changing and deleting: optimistic locking --------------------------------


def test_a_change_without_if_match_is_428(analyst, mine, api):
    quote = raw_quote(analyst, article=mine, start=0, end=5, text="Intro")
    response = api(analyst).patch(f"/api/v1/quotes/{quote.pk}/", {"kind": "mixed"}, format="json")
    assert response.status_code == 428
    assert "If-Match" in response.json()["detail"]
    quote.refresh_from_db()
    assert quote.kind == "direct"


def test_a_stale_version_is_412_with_the_current_version(analyst, mine, api):
    quote = raw_quote(analyst, article=mine, start=0, end=5, text="Intro")
    quote.save_with_version(1)  # someone else saved: now version 2
    response = api(analyst).patch(f"/api/v1/quotes/{quote.pk}/", {"kind": "mixed"}, format="json", HTTP_IF_MATCH='"1"')
    assert response.status_code == 412
    assert response.json()["current_version"] == 2
    quote.refresh_from_db()
    assert quote.kind == "direct"


def test_a_change_with_the_current_version_bumps_it(analyst, mine, taxonomy, api):
    quote = with_stance(raw_quote(analyst, article=mine, start=0, end=5, text="Intro"), target=taxonomy["other"])
    client = api(analyst)
    etag = client.get(f"/api/v1/quotes/{quote.pk}/")["ETag"]
    response = client.patch(
        f"/api/v1/quotes/{quote.pk}/",
        {"kind": "mixed", "stances": [{"target": "iran-nuclear", "label": "neutral"}]},
        format="json",
        HTTP_IF_MATCH=etag,
    )
    assert response.status_code == 200, response.content
    assert response["ETag"] == '"2"'
    assert response.json()["version"] == 2
    assert [(s["target"]["slug"], s["label"]) for s in response.json()["stances"]] == [("iran-nuclear", "neutral")]
    again = client.patch(f"/api/v1/quotes/{quote.pk}/", {"kind": "direct"}, format="json", HTTP_IF_MATCH=etag)
    assert again.status_code == 412


def test_a_weak_etag_is_accepted(analyst, mine, api):
    quote = raw_quote(analyst, article=mine, start=0, end=5, text="Intro")
    response = api(analyst).patch(
        f"/api/v1/quotes/{quote.pk}/", {"kind": "mixed"}, format="json", HTTP_IF_MATCH='W/"1"'
    )
    assert response.status_code == 200


def test_if_match_star_does_not_skip_the_check(analyst, mine, api):
    quote = raw_quote(analyst, article=mine, start=0, end=5, text="Intro")
    response = api(analyst).patch(f"/api/v1/quotes/{quote.pk}/", {"kind": "mixed"}, format="json", HTTP_IF_MATCH="*")
    assert response.status_code == 428


def test_moving_a_quote_needs_the_matching_text(analyst, mine, api):
    quote = raw_quote(analyst, article=mine, start=0, end=5, text="Intro")
    url = f"/api/v1/quotes/{quote.pk}/"
    response = api(analyst).patch(url, {"start": 8, "end": 12}, format="json", HTTP_IF_MATCH='"1"')
    assert response.status_code == 400
    assert "text" in response.json()
    response = api(analyst).patch(url, {"start": 8, "end": 12, "text": "then"}, format="json", HTTP_IF_MATCH='"1"')
    assert response.status_code == 200
    assert response.json()["text"] == "then"


def test_the_article_of_a_quote_can_not_be_changed(analyst, mine, api):
    quote = raw_quote(analyst, article=mine, start=0, end=5, text="Intro")
    other = ArticleFactory()
    response = api(analyst).patch(
        f"/api/v1/quotes/{quote.pk}/", {"article": other.pk}, format="json", HTTP_IF_MATCH='"1"'
    )
    # Refused by name rather than ignored: the client learns the article stays.
    assert response.status_code == 400
    assert "read-only" in response.json()["article"][0].lower()
    quote.refresh_from_db()
    assert quote.article == mine


def test_delete_needs_the_current_version(analyst, mine, api):
    quote = raw_quote(analyst, article=mine, start=0, end=5, text="Intro")
    client = api(analyst)
    assert client.delete(f"/api/v1/quotes/{quote.pk}/").status_code == 428
    assert client.delete(f"/api/v1/quotes/{quote.pk}/", HTTP_IF_MATCH='"7"').status_code == 412
    assert client.delete(f"/api/v1/quotes/{quote.pk}/", HTTP_IF_MATCH='"1"').status_code == 204
    assert not Quote.objects.filter(pk=quote.pk).exists()


def test_a_concurrent_change_between_read_and_write_is_caught(analyst, mine, api, monkeypatch):
    """The early version check passes; the conditional UPDATE then loses the race."""
    quote = raw_quote(analyst, article=mine, start=0, end=5, text="Intro")
    original = Quote.save_with_version

    def someone_else_first(self, expected):
        Quote.objects.filter(pk=self.pk).update(version=expected + 1)
        return original(self, expected)

    monkeypatch.setattr(Quote, "save_with_version", someone_else_first)
    response = api(analyst).patch(f"/api/v1/quotes/{quote.pk}/", {"kind": "mixed"}, format="json", HTTP_IF_MATCH='"1"')
    assert response.status_code == 412
    assert response.json()["current_version"] == 2


# --- Filters --------------------------------------------------------------------


@pytest.fixture
def dataset(taxonomy):
    """Curated quotes with known speakers, targets, labels, outlets and dates."""
    il, us = SpeakerFactory(country="IL", name="Gallant"), SpeakerFactory(country="US", name="Price")
    early = curated_article(outlet="Times of Israel", published_on=datetime.date(2023, 1, 5))
    late = curated_article(outlet="Reuters", published_on=datetime.date(2023, 6, 1))
    undated = curated_article(outlet="Reuters", published_on=None)
    text = early.text  # every factory article starts with the same two sentences

    def span(words: str) -> dict[str, int]:
        start = text.index(words)
        return {"start": start, "end": start + len(words)}

    oppose, support = taxonomy["oppose"], taxonomy["support"]
    quotes = {
        "a": with_stance(
            curated_quote(article=early, speaker=il, **span("We will not allow Iran to acquire a nuclear weapon")),
            target=taxonomy["child"],
            label=oppose,
        ),
        "b": with_stance(
            curated_quote(article=late, speaker=us, kind="indirect", **span("talks were")),
            target=taxonomy["parent"],
            label=support,
        ),
        "c": with_stance(
            curated_quote(article=late, speaker=us, **span("at a dead end.")), target=taxonomy["other"], label=oppose
        ),
        "d": curated_quote(article=undated, speaker=il, kind="mixed", **span("the minister said on Monday")),
    }
    StanceFactory(quote=quotes["b"], target=taxonomy["other"], label=taxonomy["neutral"])
    return {name: quote.pk for name, quote in quotes.items()} | {"il": il.pk, "us": us.pk, "late": late.pk}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", "abcd"),
        ("speaker={il}", "ad"),
        ("speaker_country=us", "bc"),
        ("target=iran-nuclear", "ab"),  # the parent topic includes its children
        ("target=iran-nuclear-weapons", "a"),
        ("label=oppose", "ac"),
        ("target=iran-nuclear&label=oppose", "a"),  # one stance carries both
        ("target=russia-ukraine&label=support", ""),
        ("kind=indirect", "b"),
        ("outlet=reuters", "bcd"),
        ("published_after=2023-02-01", "bc"),
        ("published_before=2023-02-01", "a"),
        ("article={late}", "bc"),
        ("q=allow", "a"),
        ("q=nuclear weapon", "a"),
        ("q=dead end", "c"),
        ("q=Monday", "d"),
        ("q=banana", ""),
    ],
)
def test_quote_filters(dataset, researcher, api, query, expected):
    response = api(researcher).get(f"/api/v1/quotes/?{query.format(**dataset)}")
    assert ids(response) == [dataset[name] for name in expected]


def test_a_full_text_search_uses_web_search_syntax_on_postgresql(dataset, researcher, api):
    response = api(researcher).get('/api/v1/quotes/?q="allow Iran"')
    assert ids(response) == [dataset["a"]]


@pytest.mark.parametrize(
    "query",
    [
        "annotator__password__startswith=p",
        "article__text__contains=nuclear",
        "speaker__name=Gallant",
        "is_curated=false",
        "speakr=1",
        "format=json",
    ],
)
def test_unknown_query_parameters_are_refused_by_name(dataset, researcher, api, query):
    response = api(researcher).get(f"/api/v1/quotes/?{query}")
    assert response.status_code == 400
    name = query.split("=")[0]
    assert name in response.json()["detail"]
    assert "results" not in response.json()


def test_a_lookup_on_the_password_leaks_nothing_whatever_the_guess(dataset, reviewer, analyst, api):
    client = api(reviewer)
    bodies = {
        client.get(f"/api/v1/quotes/?layer=raw&annotator__password__startswith={guess}").content for guess in "pmx"
    }
    assert len(bodies) == 1  # the same refusal, whatever the prefix


def test_the_annotator_filter_needs_the_raw_layer(dataset, reviewer, api):
    response = api(reviewer).get("/api/v1/quotes/?annotator=analyst")
    assert response.status_code == 400
    assert "layer=raw" in response.json()["annotator"][0]


def test_the_annotator_filter_on_the_raw_layer(reviewer, analyst, second_analyst, api):
    mine = raw_quote(analyst)
    raw_quote(second_analyst)
    response = api(reviewer).get("/api/v1/quotes/?layer=raw&annotator=analyst")
    assert ids(response) == [mine.pk]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("target=atlantis", "target"),
        ("label=adore", "label"),
        ("kind=shouted", "kind"),
        ("layer=draft", "layer"),
        ("published_after=yesterday", "published_after"),
        ("speaker=abc", "speaker"),
        ("speaker=1.5", "speaker"),
        ("speaker=99999999999999999999999", "speaker"),
        ("ordering=text", "ordering"),
        ("page_size=0", "page_size"),
        ("cursor=bm9wZQ", "cursor"),
    ],
)
def test_invalid_filter_values_are_400_naming_the_field(dataset, researcher, api, query, field):
    response = api(researcher).get(f"/api/v1/quotes/?{query}")
    assert response.status_code == 400
    assert field in response.json()


def test_the_unknown_target_filter_says_so(dataset, researcher, api):
    response = api(researcher).get("/api/v1/quotes/?target=atlantis")
    assert response.json()["target"] == ["unknown target 'atlantis'"]


# --- Ordering and cursor pagination --------------------------------------------


def _walk(client, url):
    seen, pages = [], 0
    while url:
        body = client.get(url).json()
        seen += [row["id"] for row in body["results"]]
        url = body["next"]
        pages += 1
    return seen, pages


@pytest.mark.parametrize("ordering", ["id", "-id", "start", "-start", "published_on", "-published_on"])
def test_paging_through_any_ordering_visits_every_quote_once(dataset, researcher, api, ordering):
    client = api(researcher)
    everything = ids(client.get(f"/api/v1/quotes/?ordering={ordering}&page_size=500"))
    seen, pages = _walk(client, f"/api/v1/quotes/?ordering={ordering}&page_size=1")
    assert seen == everything
    assert sorted(seen) == sorted(dataset[name] for name in "abcd")
    assert pages == 4


def test_published_on_ordering_puts_undated_articles_last(dataset, researcher, api):
    client = api(researcher)
    assert ids(client.get("/api/v1/quotes/?ordering=published_on"))[-1] == dataset["d"]
    assert ids(client.get("/api/v1/quotes/?ordering=-published_on"))[-1] == dataset["d"]
    assert ids(client.get("/api/v1/quotes/?ordering=-published_on"))[0] in {dataset["b"], dataset["c"]}


def test_the_previous_link_goes_back(dataset, researcher, api):
    client = api(researcher)
    first = client.get("/api/v1/quotes/?page_size=2&ordering=published_on").json()
    assert first["previous"] is None
    second = client.get(first["next"]).json()
    back = client.get(second["previous"]).json()
    assert [row["id"] for row in back["results"]] == [row["id"] for row in first["results"]]
    assert back["previous"] is None


def test_a_cursor_survives_inserts(dataset, researcher, api):
    client = api(researcher)
    first = client.get("/api/v1/quotes/?page_size=2").json()
    curated_quote()  # a new quote lands at the end; nothing shifts
    second = client.get(first["next"]).json()
    assert [row["id"] for row in second["results"]] == [dataset["c"], dataset["d"]]


def test_a_cursor_keeps_the_filters(dataset, researcher, api):
    client = api(researcher)
    first = client.get("/api/v1/quotes/?page_size=1&outlet=reuters").json()
    assert "outlet=reuters" in first["next"]
    seen, _ = _walk(client, "/api/v1/quotes/?page_size=1&outlet=reuters")
    assert seen == [dataset["b"], dataset["c"], dataset["d"]]


def test_page_size_past_500_is_refused_naming_the_maximum(researcher, api):
    # Refused, not clamped: the schema says at most 500, as every strict query parameter is.
    for _ in range(3):
        curated_quote()
    client = api(researcher)
    for size in ("501", "100000", "99999999999999999999"):
        response = client.get(f"/api/v1/quotes/?page_size={size}")
        assert response.status_code == 400
        assert "500" in response.json()["page_size"][0]
    response = client.get("/api/v1/quotes/?page_size=500")
    assert response.status_code == 200
    assert len(response.json()["results"]) == 3


def test_a_cursor_from_another_ordering_is_refused(dataset, researcher, api):
    client = api(researcher)
    cursor = client.get("/api/v1/quotes/?page_size=1&ordering=start").json()["next"].split("cursor=")[1].split("&")[0]
    response = client.get(f"/api/v1/quotes/?page_size=1&ordering=id&cursor={cursor}")
    assert response.status_code == 400


# --- Query counts ------------------------------------------------------------------


def _make_quotes(count: int, taxonomy) -> None:
    speaker = SpeakerFactory()
    role = SpeakerRoleFactory(speaker=speaker)
    source = raw_quote(UserFactory(role="analyst"))
    for _ in range(count):
        quote = curated_quote(speaker=speaker, speaker_role=role, addressee=speaker)
        StanceFactory(quote=quote, target=taxonomy["parent"], label=taxonomy["oppose"])
        StanceFactory(quote=quote, target=taxonomy["other"], label=taxonomy["support"])
        quote.curated_from.add(source)


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/quotes/?page_size=100",
        "/api/v1/quotes/?page_size=100&target=iran-nuclear&label=oppose",
        "/api/v1/articles/?page_size=100&include=text,quotes",
        "/api/v1/articles/?page_size=100",
        "/api/v1/speakers/?page_size=100",
        "/api/v1/targets/?page_size=100",
    ],
)
def test_list_endpoints_issue_the_same_queries_for_5_or_50_quotes(reviewer, taxonomy, api, url):
    client = api(reviewer)
    _make_quotes(5, taxonomy)
    client.get(url)  # warm the content-type and similar caches
    with CaptureQueriesContext(connection) as few:
        assert client.get(url).status_code == 200
    _make_quotes(45, taxonomy)
    with CaptureQueriesContext(connection) as many:
        response = client.get(url)
    assert response.status_code == 200
    assert len(many) == len(few), [query["sql"][:120] for query in many.captured_queries]


def test_the_quote_list_query_count(reviewer, taxonomy, api):
    """Auth (the token with its user, the roles), the throttle's count, the page as values
    (article, speaker, role and annotator joined), then stances and provenance. PostgreSQL
    reads the roles with the token and writes the page with its stances and provenance."""
    client = api(reviewer)
    _make_quotes(50, taxonomy)
    client.get("/api/v1/quotes/")
    with CaptureQueriesContext(connection) as queries:
        client.get("/api/v1/quotes/?page_size=50")
    expected = 3 if connection.vendor == "postgresql" else 6
    assert len(queries) == expected, [query["sql"][:100] for query in queries.captured_queries]


def every_shape_of_quote(analyst, taxonomy) -> dict[str, list[Quote]]:
    """Curated and raw quotes with every optional part set on one and missing on another:
    non-Latin names, no date, URL or outlet, spans, an addressee, stances with and without
    intensity, confidence and note, provenance, a parent."""
    speaker = SpeakerFactory(name="יואב גלנט", country="IL", wikidata_qid="Q1")
    role = SpeakerRoleFactory(speaker=speaker, title="Minister <of> “Defense”")
    text = EMOJI_TEXT + "\n" + EMOJI_TEXT
    article = curated_article(text=text, published_on=None, url="", outlet="")
    said = text.index("said")
    whole = curated_quote(
        article=article,
        speaker=speaker,
        speaker_role=role,
        addressee=SpeakerFactory(),
        cue_start=said,
        cue_end=said + 4,
        cue_text="said",
        mention_start=said - 3,
        mention_end=said - 1,
        mention_text="he",
        attribution_group="g1",
    )
    StanceFactory(quote=whole, target=taxonomy["parent"], label=taxonomy["oppose"], intensity=3, confidence=0.25)
    StanceFactory(quote=whole, target=taxonomy["other"], label=taxonomy["support"], note="hedged\nreally")
    sources = [raw_quote(analyst, article=article), raw_quote(analyst, article=article)]
    whole.curated_from.add(*sources)
    bare = curated_quote(article=article, speaker=None, speaker_role=None, addressee=None)
    mine = raw_quote(analyst, article=article, speaker=speaker, parent=sources[0])
    StanceFactory(quote=mine, target=taxonomy["child"], label=taxonomy["neutral"], confidence=1.0)
    return {"curated": [whole, bare], "raw": [*sources, mine]}


@pytest.mark.parametrize("layer", ["curated", "raw"])
def test_the_list_and_the_detail_answer_the_same_quote_for_quote(reviewer, analyst, taxonomy, api, layer):
    """Both go through the one rendering (serializers.quote_representations): whatever
    is set or missing, a listed quote is what its detail returns."""
    expected = every_shape_of_quote(analyst, taxonomy)[layer]
    listed = results(api(reviewer).get(f"/api/v1/quotes/?layer={layer}&page_size=500"))
    assert [item["id"] for item in listed] == [quote.pk for quote in expected]
    for item in listed:
        detail = api(reviewer).get(f"/api/v1/quotes/{item['id']}/")
        assert detail.status_code == 200
        assert item == detail.json()


def json_schema(node: Any) -> Any:
    """An OpenAPI 3.0 schema as JSON Schema: ``nullable`` becomes a null alternative, and
    an object with properties takes no other keys (a rendered key the schema doesn't
    declare fails, as does a declared one that is missing: drf-spectacular lists every
    read-only field as required)."""
    if isinstance(node, list):
        return [json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: json_schema(value) for key, value in node.items()}
    if "properties" in node:
        node.setdefault("additionalProperties", False)
    if node.pop("nullable", False):
        return {"anyOf": [node, {"type": "null"}]}
    return node


def test_the_one_rendering_is_what_the_schema_declares(reviewer, analyst, taxonomy, api):
    """QuoteSerializer declares the schema and quote_representations renders: every key,
    type, enum and null of each rendered quote must be what /api/schema/ says."""
    quotes = every_shape_of_quote(analyst, taxonomy)
    schema = api(None).get("/api/schema/", HTTP_ACCEPT="application/json").json()
    validator = jsonschema.Draft202012Validator(
        {"$ref": "#/components/schemas/Quote", "components": json_schema(schema["components"])},
        format_checker=jsonschema.FormatChecker(),
    )
    rendered = quote_representations(list(quote_rows(Quote.objects.order_by("id"))))
    assert [quote["id"] for quote in rendered] == sorted(quote.pk for quote in quotes["curated"] + quotes["raw"])
    for quote in rendered:
        errors = [f"{list(error.absolute_path)}: {error.message}" for error in validator.iter_errors(quote)]
        assert not errors, (quote["id"], errors)
    required = set(schema["components"]["schemas"]["Quote"]["required"])
    assert required == set(rendered[0]), "every declared field is rendered, and only those"
    undeclared = dict(rendered[0], surprise=1)
    assert not validator.is_valid(undeclared), "the check would notice a key the schema doesn't declare"


# --- Layers ------------------------------------------------------------------------


def test_the_default_layer_is_curated_even_for_reviewers(reviewer, analyst, api):
    curated = curated_quote()
    raw_quote(analyst)
    assert ids(api(reviewer).get("/api/v1/quotes/")) == [curated.pk]
    assert ids(api(reviewer).get("/api/v1/quotes/?layer=curated")) == [curated.pk]


def test_stances_of_a_quote_are_counted_once_in_a_target_filter(researcher, taxonomy, api):
    quote = curated_quote()
    StanceFactory(quote=quote, target=taxonomy["parent"], label=taxonomy["oppose"])
    StanceFactory(quote=quote, target=taxonomy["child"], label=taxonomy["oppose"])
    assert ids(api(researcher).get("/api/v1/quotes/?target=iran-nuclear")) == [quote.pk]


def test_a_curated_article_with_an_open_status_hides_its_quotes_from_researchers(researcher, api):
    quote = curated_quote()
    Article.objects.filter(pk=quote.article_id).update(status=Article.Status.OPEN)
    assert ids(api(researcher).get("/api/v1/quotes/")) == []
    assert api(researcher).get(f"/api/v1/quotes/{quote.pk}/").status_code == 404


def test_stance_rows_are_not_duplicated_by_the_label_filter(researcher, taxonomy, api):
    quote = curated_quote()
    StanceFactory(quote=quote, target=taxonomy["parent"], label=taxonomy["oppose"])
    StanceFactory(quote=quote, target=taxonomy["other"], label=taxonomy["oppose"])
    assert ids(api(researcher).get("/api/v1/quotes/?label=oppose")) == [quote.pk]
    assert Stance.objects.count() == 2
    assert QuoteFactory._meta.model.objects.count() == 1


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/quotes/99999999999999999999999/",
        "/api/v1/articles/99999999999999999999999/",
        "/api/v1/speakers/99999999999999999999999/",
        "/api/v1/releases/99999999999999999999999/",
    ],
)
def test_an_id_too_large_for_the_database_is_404(reviewer, api, url):
    assert api(reviewer).get(url).status_code == 404


def test_a_speaker_id_too_large_for_the_database_is_400_not_500(analyst, mine, api):
    body = {"article": mine.pk, "start": 0, "end": 5, "text": "Intro", "speaker": 10**22}
    response = api(analyst).post("/api/v1/quotes/", body, format="json")
    assert response.status_code == 400
    assert "speaker" in response.json()
