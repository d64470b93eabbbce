"""The speakers API's figures, filters and orderings: the same as the speakers pages."""

# Shared fixtures are imported from test_api_support by name, which pyflakes
# reads as unused imports shadowed by the test arguments.
# ruff: noqa: F401, F811

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from annotations import tallies

from .factories import (
    QuoteFactory,
    SpeakerAliasFactory,
    SpeakerFactory,
    SpeakerRoleFactory,
    StanceFactory,
    StanceLabelFactory,
    TargetFactory,
)
from .test_api_support import api, curated_article, curated_quote, ids, isolated_media, results

pytestmark = pytest.mark.django_db


def quoted(speaker, published, **extra):
    return curated_quote(speaker=speaker, article=curated_article(published_on=published), **extra)


@pytest.fixture
def figures():
    """Price, quoted three times (one raw quote beside them); Cohen once; Quiet never."""
    oppose = StanceLabelFactory(slug="oppose", name="Oppose", order=2)
    support = StanceLabelFactory(slug="support", name="Support", order=1)
    price = SpeakerFactory(name="Ned Price", country="US")
    SpeakerAliasFactory(speaker=price, name="State Department Spokesman")
    SpeakerRoleFactory(speaker=price, title="Spokesperson")
    cohen = SpeakerFactory(name="Eli Cohen", country="IL", kind="government")
    SpeakerRoleFactory(speaker=cohen, title="Foreign Minister", country="IL")
    quiet = SpeakerFactory(name="Aaron Quiet", country="US")
    target = TargetFactory()
    for day in (datetime.date(2022, 3, 1), datetime.date(2022, 1, 1), datetime.date(2022, 2, 1)):
        StanceFactory(quote=quoted(price, day), target=target, label=oppose)
    StanceFactory(quote=quoted(cohen, datetime.date(2023, 6, 1)), target=target, label=support)
    QuoteFactory(speaker=quiet)  # raw: not counted
    tallies.rebuild()  # the rows above went in around the models (factories)
    return {"price": price, "cohen": cohen, "quiet": quiet}


def test_a_speaker_comes_with_counts_and_dates(figures, researcher, api):
    row = api(researcher).get(f"/api/v1/speakers/{figures['price'].pk}/").json()
    assert row["quote_count"] == 3
    assert (row["first_quoted"], row["last_quoted"]) == ("2022-01-01", "2022-03-01")
    assert row["stances"] == [{"label": "oppose", "count": 3}]
    silent = api(researcher).get(f"/api/v1/speakers/{figures['quiet'].pk}/").json()
    assert (silent["quote_count"], silent["first_quoted"], silent["last_quoted"], silent["stances"]) == (
        0,
        None,
        None,
        [],
    )


def test_the_list_has_the_same_figures(figures, researcher, api):
    rows = {row["name"]: row for row in results(api(researcher).get("/api/v1/speakers/"))}
    assert rows["Eli Cohen"]["quote_count"] == 1
    assert rows["Eli Cohen"]["stances"] == [{"label": "support", "count": 1}]
    assert rows["Ned Price"]["stances"] == [{"label": "oppose", "count": 3}]


def test_the_list_filters_as_the_index_page_does(figures, researcher, api):
    client = api(researcher)
    assert ids(client.get("/api/v1/speakers/?q=spokesman")) == [figures["price"].pk]
    assert ids(client.get("/api/v1/speakers/?country=IL")) == [figures["cohen"].pk]
    assert ids(client.get("/api/v1/speakers/?kind=government")) == [figures["cohen"].pk]
    assert ids(client.get("/api/v1/speakers/?role=foreign")) == [figures["cohen"].pk]
    assert ids(client.get("/api/v1/speakers/?role=spokes&country=us")) == [figures["price"].pk]


def test_the_list_orders_by_quote_count_and_last_quoted(figures, researcher, api):
    client = api(researcher)
    price, cohen, quiet = figures["price"].pk, figures["cohen"].pk, figures["quiet"].pk
    assert ids(client.get("/api/v1/speakers/?ordering=-quote_count")) == [price, cohen, quiet]
    assert ids(client.get("/api/v1/speakers/?ordering=quote_count")) == [quiet, cohen, price]
    assert ids(client.get("/api/v1/speakers/?ordering=-last_quoted")) == [cohen, price, quiet]
    assert ids(client.get("/api/v1/speakers/?ordering=last_quoted")) == [price, cohen, quiet]


@pytest.mark.parametrize("ordering", ["-quote_count", "quote_count", "-last_quoted", "last_quoted", "id"])
def test_the_cursor_pages_through_every_ordering(ordering, researcher, api):
    for index in range(7):
        speaker = SpeakerFactory()
        for day in range(index % 3):
            quoted(speaker, datetime.date(2020, 1, 1 + index + day))
    client = api(researcher)
    everything = ids(client.get(f"/api/v1/speakers/?ordering={ordering}&page_size=100"))
    seen, url = [], f"/api/v1/speakers/?ordering={ordering}&page_size=2"
    while url:
        page = client.get(url).json()
        seen += [row["id"] for row in page["results"]]
        url = page["next"]
    assert seen == everything and len(seen) == 7


@pytest.mark.parametrize("query", ["?speakr=3", "?ordering=name", "?kind=alien", "?cursor=bogus", "?layer=raw"])
def test_unknown_or_bad_parameters_are_refused(query, researcher, api):
    response = api(researcher).get(f"/api/v1/speakers/{query}")
    assert response.status_code == 400


def test_the_page_and_the_api_give_the_same_numbers(figures, researcher, reviewer, api, login):
    for user in (researcher, reviewer):
        for speaker in figures.values():
            row = api(user).get(f"/api/v1/speakers/{speaker.pk}/").json()
            page = login(user).get(reverse("annotations:speaker-detail", args=[speaker.pk]))
            shown = page.context["speaker"]
            assert row["quote_count"] == shown.quote_count
            assert row["first_quoted"] == (shown.first_quoted.isoformat() if shown.first_quoted else None)
            assert row["last_quoted"] == (shown.last_quoted.isoformat() if shown.last_quoted else None)
            assert row["stances"] == [{"label": count.slug, "count": count.count} for count in page.context["by_label"]]
            assert f'<dd data-count="quotes">{row["quote_count"]}</dd>' in page.content.decode()
        listed = {row["id"]: row["quote_count"] for row in results(api(user).get("/api/v1/speakers/"))}
        index = login(user).get(reverse("annotations:speaker-index"))
        assert listed == {speaker.pk: speaker.quote_count for speaker in index.context["page"].object_list}


def test_an_analyst_counts_only_the_curated_dataset(figures, analyst, api):
    QuoteFactory(speaker=figures["price"], annotator=analyst)  # their own raw quote
    row = api(analyst).get(f"/api/v1/speakers/{figures['price'].pk}/").json()
    assert row["quote_count"] == 3


def test_the_list_costs_the_same_queries_for_few_or_many_speakers(researcher, api):
    client = api(researcher)
    label = StanceLabelFactory(slug="oppose")

    def add(count):
        for _ in range(count):
            speaker = SpeakerFactory()
            SpeakerAliasFactory(speaker=speaker)
            SpeakerRoleFactory(speaker=speaker)
            StanceFactory(quote=quoted(speaker, datetime.date(2023, 1, 1)), label=label)

    def queries():
        with CaptureQueriesContext(connection) as captured:
            assert client.get("/api/v1/speakers/?ordering=-quote_count").status_code == 200
        return len(captured)

    add(2)
    few = queries()
    add(20)
    assert queries() == few


def test_the_schema_describes_the_new_fields_and_parameters(researcher, api):
    schema = api(researcher).get("/api/schema/", HTTP_ACCEPT="application/json").json()
    speaker = schema["components"]["schemas"]["Speaker"]["properties"]
    assert {"quote_count", "first_quoted", "last_quoted", "stances"} <= set(speaker)
    parameters = {p["name"] for p in schema["paths"]["/api/v1/speakers/"]["get"]["parameters"]}
    assert {"q", "country", "kind", "role", "ordering"} <= parameters
