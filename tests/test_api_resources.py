"""Articles, speakers, targets and stance labels through the API."""

from __future__ import annotations

# Shared fixtures are imported from test_api_support by name.
# ruff: noqa: F401, F811
import pytest

from annotations.models import Article

from .factories import (
    ArticleFactory,
    AssignmentFactory,
    SpeakerAliasFactory,
    SpeakerFactory,
    SpeakerRoleFactory,
    TargetFactory,
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
)

pytestmark = pytest.mark.django_db


# --- Articles -------------------------------------------------------------------


def test_articles_are_listed_without_text_unless_asked(seeded, researcher, api):
    client = api(researcher)
    row = results(client.get("/api/v1/articles/"))[0]
    assert row["text"] is None and row["quotes"] is None
    assert row["title"] == "Austin and Gallant hold first call, focus on Iran"
    row = results(client.get("/api/v1/articles/?include=text,quotes"))[0]
    assert row["text"] == seeded.text
    assert [quote["start"] for quote in row["quotes"]] == [177, 897, 991, 1097, 1220, 1900, 2055, 2097]
    assert all(quote["layer"] == "curated" for quote in row["quotes"])


def test_one_article_comes_with_its_text(seeded, researcher, api):
    row = api(researcher).get(f"/api/v1/articles/{seeded.pk}/").json()
    assert row["text"] == seeded.text
    assert row["quotes"] is None


def test_include_accepts_only_text_and_quotes(seeded, researcher, api):
    response = api(researcher).get("/api/v1/articles/?include=text,metadata")
    assert response.status_code == 400
    assert "metadata" in response.json()["include"][0]


def test_included_quotes_follow_the_layer_and_visibility(analyst, second_analyst, reviewer, api):
    article = AssignmentFactory(annotator=analyst, article=ArticleFactory(pool=True)).article
    mine = raw_quote(analyst, article=article)
    raw_quote(second_analyst, article=article)
    row = api(analyst).get(f"/api/v1/articles/{article.pk}/?include=quotes&layer=raw").json()
    assert [quote["id"] for quote in row["quotes"]] == [mine.pk]
    row = api(reviewer).get(f"/api/v1/articles/{article.pk}/?include=quotes&layer=raw").json()
    assert len(row["quotes"]) == 2
    assert api(reviewer).get(f"/api/v1/articles/{article.pk}/?include=quotes").json()["quotes"] == []


def test_researchers_can_not_include_the_raw_layer(seeded, researcher, api):
    response = api(researcher).get("/api/v1/articles/?include=quotes&layer=raw")
    assert response.status_code == 403


def test_article_filters(researcher, api):
    a = curated_article(outlet="Reuters", language="he")
    b = curated_article(outlet="AP", title="Talks on Iran resume")
    client = api(researcher)
    assert ids(client.get("/api/v1/articles/?outlet=reuters")) == [a.pk]
    assert ids(client.get("/api/v1/articles/?language=he")) == [a.pk]
    assert ids(client.get("/api/v1/articles/?q=Iran")) == [b.pk]
    assert client.get("/api/v1/articles/?text__contains=x").status_code == 400


def test_an_analyst_adds_an_article_through_the_browsers_form(analyst, api):
    body = {"title": "  Talks   resume ", "text": "Cafe\u0301 diplomacy.\r\nMore.", "published_on": "2023-01-05"}
    response = api(analyst).post("/api/v1/articles/", body, format="json")
    assert response.status_code == 201, response.content
    article = Article.objects.get()
    assert article.title == "Talks resume"  # ArticleForm's cleaning
    assert article.text == "Café diplomacy.\nMore."
    assert article.created_by == analyst
    assert article.language == "en"
    assert response.json()["text"] == article.text
    assert response["Location"].endswith(f"/api/v1/articles/{article.pk}/")


def test_an_article_added_through_the_api_is_the_adders_not_the_pools(analyst, second_analyst, api):
    """As on the page: another analyst must not see (or claim) what one analyst added."""
    response = api(analyst).post("/api/v1/articles/", {"title": "Mine", "text": "My own text."}, format="json")
    assert response.status_code == 201, response.content
    article = Article.objects.get()
    assert article.pool is False
    assert list(article.assignments.values_list("annotator", "assigned_by")) == [(analyst.pk, analyst.pk)]
    assert api(second_analyst).get(f"/api/v1/articles/{article.pk}/").status_code == 404
    assert api(analyst).get(f"/api/v1/articles/{article.pk}/").status_code == 200


def test_a_duplicate_article_is_refused_with_the_forms_message(analyst, api):
    ArticleFactory(text="Same text.")
    response = api(analyst).post("/api/v1/articles/", {"title": "Again", "text": "Same text."}, format="json")
    assert response.status_code == 400
    assert response.json()["text"] == ["An article with exactly this text already exists."]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"text": "No title."}, "title"),
        ({"title": "No text"}, "text"),
        ({"title": "Bad date", "text": "x", "published_on": "last week"}, "published_on"),
        ({"title": "Bad language", "text": "x", "language": "english!"}, "language"),
        ({"title": "Bad url", "text": "x", "url": "javascript:alert(1)"}, "url"),
    ],
)
def test_bad_articles_are_refused_by_field(analyst, api, body, field):
    response = api(analyst).post("/api/v1/articles/", body, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert not Article.objects.exists()


# --- Speakers and taxonomy -----------------------------------------------------------


def test_speakers_come_with_aliases_and_roles(seeded, researcher, api):
    gallant = next(row for row in results(api(researcher).get("/api/v1/speakers/")) if row["name"] == "Yoav Gallant")
    assert set(gallant["aliases"]) == {"Gallant", "יואב גלנט"}
    assert gallant["roles"][0]["title"] == "Minister of Defense"
    assert gallant["roles"][0]["start_date"] == "2022-12-29"
    assert gallant["country"] == "IL"


def test_speakers_are_found_by_alias_and_country(researcher, api):
    cohen = SpeakerFactory(name="Eli Cohen", country="IL")
    SpeakerAliasFactory(speaker=cohen, name="אלי כהן")
    SpeakerFactory(name="Ned Price", country="US")
    client = api(researcher)
    assert ids(client.get("/api/v1/speakers/?q=כהן")) == [cohen.pk]
    assert ids(client.get("/api/v1/speakers/?country=il")) == [cohen.pk]


def test_targets_come_with_their_parent(seeded, researcher, api):
    client = api(researcher)
    child = client.get("/api/v1/targets/jcpoa-return/").json()
    assert child["parent"] == "iran-nuclear"
    children = results(client.get("/api/v1/targets/?parent=russia-ukraine"))
    assert {row["slug"] for row in children} == {
        "support-for-ukraine",
        "israel-low-profile-russia-ukraine",
        "israel-russia-relations",
    }


def test_stance_labels_in_their_order(seeded, researcher, api):
    rows = results(api(researcher).get("/api/v1/stance-labels/"))
    assert [(row["slug"], row["semeval"]) for row in rows] == [
        ("support", "FAVOR"),
        ("oppose", "AGAINST"),
        ("neutral", "NONE"),
        ("unclear", "NONE"),
    ]
    assert api(researcher).get("/api/v1/stance-labels/oppose/").json()["name"] == "Oppose"


def test_an_unknown_slug_is_404(researcher, api):
    assert api(researcher).get("/api/v1/targets/atlantis/").status_code == 404
    assert api(researcher).get("/api/v1/speakers/abc/").status_code == 404


def test_speaker_role_history_is_kept(researcher, api):
    speaker = SpeakerFactory()
    SpeakerRoleFactory(speaker=speaker, title="Ambassador")
    row = api(researcher).get(f"/api/v1/speakers/{speaker.pk}/").json()
    assert [role["title"] for role in row["roles"]] == ["Ambassador"]
