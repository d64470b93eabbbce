"""The speakers index and a speaker's page: what they show (the curated layer the
user may read), who opens them, the reviewers' corrections, and their query counts."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from annotations import tallies
from annotations.models import Article, Speaker, SpeakerAlias, SpeakerRole

from .factories import (
    ArticleFactory,
    QuoteFactory,
    SpeakerAliasFactory,
    SpeakerFactory,
    SpeakerRoleFactory,
    StanceFactory,
    StanceLabelFactory,
    TargetFactory,
)

pytestmark = pytest.mark.django_db
HX = {"HTTP_HX_REQUEST": "true"}


def curated_quote(speaker, *, published=datetime.date(2023, 1, 5), text=None, **extra):
    """A curated quote on a curated article (the dataset researchers read)."""
    article = ArticleFactory(status=Article.Status.CURATED, published_on=published, **({"text": text} if text else {}))
    return QuoteFactory(article=article, speaker=speaker, is_curated=True, **extra)


@pytest.fixture
def gallant():
    speaker = SpeakerFactory(name="Yoav Gallant", country="IL", wikidata_qid="Q2569427")
    SpeakerAliasFactory(speaker=speaker, name="Gallant")
    SpeakerRoleFactory(
        speaker=speaker, title="Minister of Defense", organisation="Israel", start_date=datetime.date(2022, 12, 29)
    )
    return speaker


@pytest.fixture
def stances():
    return {
        "iran": TargetFactory(slug="iran-nuclear", name="Iran acquiring nuclear weapons"),
        "oppose": StanceLabelFactory(slug="oppose", name="Oppose", order=2),
        "support": StanceLabelFactory(slug="support", name="Support", order=1),
    }


# --- Who opens them ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "status"),
    [("analyst", 200), ("reviewer", 200), ("researcher", 200), ("outsider", 403), (None, 302)],
)
def test_the_index_and_a_page_open_for_whoever_reads_curated_quotes(role, status, request, login, gallant):
    user = request.getfixturevalue(role) if role else None
    client = login(user)
    for url in (reverse("annotations:speaker-index"), gallant.get_absolute_url()):
        response = client.get(url)
        assert response.status_code == status
        if status == 302:
            assert response["Location"].startswith(reverse("login"))


def test_a_speaker_that_does_not_exist_is_a_404(login, researcher):
    assert login(researcher).get(reverse("annotations:speaker-detail", args=[987654])).status_code == 404


def test_the_search_and_new_speaker_routes_still_answer_as_before(login, analyst, gallant):
    client = login(analyst)
    assert b"Yoav Gallant" in client.get(reverse("annotations:speaker-search"), {"q": "Gall"}).content
    assert client.get(reverse("annotations:speaker-new")).status_code == 200
    assert client.get("/speakers/search-nothing/").status_code == 404


@pytest.mark.parametrize("role", ["analyst", "researcher", "reviewer"])
def test_the_navigation_offers_speakers_to_readers(role, request, login):
    page = login(request.getfixturevalue(role)).get(reverse("annotations:guidelines")).content.decode()
    assert f'href="{reverse("annotations:speaker-index")}"' in page


def test_the_navigation_hides_speakers_from_an_outsider(login, outsider):
    page = login(outsider).get(reverse("annotations:token-list")).content.decode()
    assert reverse("annotations:speaker-index") not in page


@pytest.mark.parametrize(
    ("url_name", "body"),
    [
        ("annotations:speaker-edit", {"edit-name": "Y. Gallant", "edit-kind": "person"}),
        ("annotations:speaker-alias-add", {"alias-name": "Yoav"}),
        ("annotations:speaker-role-add", {"role-title": "Minister"}),
        ("annotations:speaker-merge", {"duplicate": "1"}),
    ],
)
@pytest.mark.parametrize("role", ["analyst", "researcher", "outsider"])
def test_only_reviewers_change_a_speaker(url_name, body, role, request, login, gallant):
    before = (Speaker.objects.count(), SpeakerAlias.objects.count(), SpeakerRole.objects.count())
    client = login(request.getfixturevalue(role))
    url = reverse(url_name, args=[gallant.pk])
    assert client.post(url, body).status_code == 403
    assert client.get(url).status_code == 403
    gallant.refresh_from_db()
    assert gallant.name == "Yoav Gallant"
    assert before == (Speaker.objects.count(), SpeakerAlias.objects.count(), SpeakerRole.objects.count())


def test_anonymous_posts_go_to_the_login_page(client, gallant):
    response = client.post(reverse("annotations:speaker-edit", args=[gallant.pk]), {"edit-name": "X"})
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_the_editing_forms_are_shown_to_reviewers_only(login, reviewer, researcher, gallant):
    assert b'id="merge-form"' in login(reviewer).get(gallant.get_absolute_url()).content
    assert b'id="merge-form"' not in login(researcher).get(gallant.get_absolute_url()).content


# --- The speaker's page ----------------------------------------------------------------


def test_the_page_shows_who_they_are(login, researcher, gallant):
    page = login(researcher).get(gallant.get_absolute_url()).content.decode()
    assert "Yoav Gallant" in page and "Gallant</span>" in page
    assert 'href="https://www.wikidata.org/wiki/Q2569427"' in page
    assert "Minister of Defense" in page and "2022-12-29" in page


def test_the_counts_are_of_the_curated_dataset_only(login, researcher, reviewer, gallant, stances):
    first = curated_quote(gallant, published=datetime.date(2023, 1, 5))
    last = curated_quote(gallant, published=datetime.date(2024, 3, 1))
    StanceFactory(quote=first, target=stances["iran"], label=stances["oppose"])
    StanceFactory(quote=last, target=stances["iran"], label=stances["oppose"])
    StanceFactory(quote=last, target=TargetFactory(), label=stances["support"])
    QuoteFactory(speaker=gallant)  # an annotator's raw quote: not in the dataset
    in_curation = ArticleFactory()  # a reviewer's curated quote on an article still in curation
    QuoteFactory(article=in_curation, speaker=gallant, is_curated=True)
    tallies.rebuild()  # the rows above went in around the models (factories)
    for user in (researcher, reviewer):
        response = login(user).get(gallant.get_absolute_url())
        page = response.content.decode()
        assert '<dd data-count="quotes">2</dd>' in page
        assert '<dd data-count="first">2023-01-05</dd>' in page
        assert '<dd data-count="last">2024-03-01</dd>' in page
        labels = [(row.slug, row.count) for row in response.context["by_label"]]
        assert labels == [("support", 1), ("oppose", 2)]


def test_the_timeline_marks_the_quote_in_its_escaped_context(login, researcher, gallant):
    text = "Before <b>bold</b> “We will <script>alert(1)</script> act,” he said & left."
    start = text.index("We will")
    end = text.index(" act,”") + len(" act")
    curated_quote(gallant, text=text, start=start, end=end)
    page = login(researcher).get(gallant.get_absolute_url()).content.decode()
    assert (
        "Before &lt;b&gt;bold&lt;/b&gt; “<mark>We will &lt;script&gt;alert(1)&lt;/script&gt; act</mark>,” "
        "he said &amp; left." in page
    )
    assert "<script>alert(1)" not in page


def test_a_long_article_is_cut_at_words_around_the_quote(login, researcher, gallant):
    text = "word " * 100 + "“THE QUOTE”" + " tail" * 100
    start = text.index("THE QUOTE")
    quote = curated_quote(gallant, text=text, start=start, end=start + len("THE QUOTE"))
    response = login(researcher).get(gallant.get_absolute_url())
    shown = str(response.context["timeline"]["page"].object_list[0].excerpt)
    assert shown.startswith("…word ") and shown.endswith(" tail…")
    assert f"<mark>{quote.text}</mark>" in shown
    assert len(shown) < 400


def test_the_timeline_is_newest_first_and_filtered_by_target_with_children_and_label(
    login, researcher, gallant, stances
):
    child = TargetFactory(slug="jcpoa-return", parent=stances["iran"])
    old = curated_quote(gallant, published=datetime.date(2022, 1, 1))
    new = curated_quote(gallant, published=datetime.date(2024, 1, 1))
    other = curated_quote(gallant, published=datetime.date(2023, 1, 1))
    StanceFactory(quote=old, target=child, label=stances["oppose"])
    StanceFactory(quote=new, target=stances["iran"], label=stances["support"])
    StanceFactory(quote=other, target=TargetFactory(), label=stances["oppose"])
    client = login(researcher)

    def shown(**query):
        response = client.get(gallant.get_absolute_url(), query)
        return [quote.pk for quote in response.context["timeline"]["page"].object_list]

    assert shown() == [new.pk, other.pk, old.pk]
    assert shown(target="iran-nuclear") == [new.pk, old.pk]
    assert shown(target="iran-nuclear", label="oppose") == [old.pk]
    assert shown(label="oppose") == [other.pk, old.pk]


def test_an_unknown_target_is_a_clear_message_not_an_error(login, researcher, gallant):
    curated_quote(gallant)
    response = login(researcher).get(gallant.get_absolute_url(), {"target": "no-such<b>", "page": "x"})
    assert response.status_code == 200
    assert "unknown target &#x27;no-such&lt;b&gt;&#x27;" in response.content.decode()
    assert not response.context["timeline"]["page"].object_list


def test_the_timeline_is_paginated_and_swaps_as_a_fragment(login, researcher, gallant):
    for day in range(25):
        curated_quote(gallant, published=datetime.date(2023, 1, 1) + datetime.timedelta(days=day))
    client = login(researcher)
    second = client.get(gallant.get_absolute_url(), {"page": 2})
    assert len(second.context["timeline"]["page"].object_list) == 5
    fragment = client.get(gallant.get_absolute_url(), {"page": 2}, **HX, HTTP_HX_TARGET="timeline").content.decode()
    assert fragment.lstrip().startswith('<div id="timeline">') and "<h1" not in fragment


def test_a_researcher_never_sees_an_annotators_quote_in_the_timeline(login, researcher, gallant):
    raw = QuoteFactory(speaker=gallant)
    response = login(researcher).get(gallant.get_absolute_url())
    assert raw.pk not in [quote.pk for quote in response.context["timeline"]["page"].object_list]


def test_their_stance_over_time_is_the_apis_count_toward_the_target_filtered_by(login, researcher, gallant, stances):
    other = TargetFactory(slug="jcpoa", name="Return to the JCPOA")
    for month, label in ((1, "oppose"), (1, "oppose"), (3, "support")):
        quote = curated_quote(gallant, published=datetime.date(2023, month, 5))
        StanceFactory(quote=quote, target=stances["iran"], label=stances[label])
    StanceFactory(
        quote=curated_quote(gallant, published=datetime.date(2023, 2, 5)), target=other, label=stances["oppose"]
    )
    tallies.rebuild()  # the rows above went in around the models (factories)
    client = login(researcher)
    for query, expected in (({}, 4), ({"target": "iran-nuclear"}, 3)):
        response = client.get(gallant.get_absolute_url(), query)
        over_time = response.context["over_time"]
        api = client.get(reverse("api:stats-stance"), {"speaker": gallant.pk, **query}).json()
        counted = {
            (period.isoformat()[:7], series.key): count
            for period, (_name, counts, _total) in zip(over_time.periods, over_time.table, strict=True)
            for series, count in zip(over_time.series, counts, strict=True)
            if count
        }
        from_api = {(row["period"][:7], row["label"]): row["count"] for row in api["results"]}
        assert over_time.total == expected == sum(from_api.values())
        assert counted == from_api
        body = response.content.decode()
        assert 'id="over-time-heading"' in body
        assert response.context["over_time_api"]["url"].startswith(reverse("api:stats-stance") + "?speaker=")


def test_a_speakers_name_is_escaped_everywhere(login, reviewer):
    hostile = SpeakerFactory(name='<img src=x onerror="alert(1)"> hx-get="/"')
    SpeakerAliasFactory(speaker=hostile, name="<script>alias</script>")
    client = login(reviewer)
    for url in (hostile.get_absolute_url(), reverse("annotations:speaker-index")):
        page = client.get(url).content.decode()
        assert "<img src=x" not in page and "<script>alias" not in page
        assert "&lt;img src=x" in page


# --- The index ---------------------------------------------------------------------


def test_the_index_searches_names_and_aliases(login, researcher, gallant):
    SpeakerFactory(name="Ned Price")
    client = login(researcher)

    def names(**query):
        response = client.get(reverse("annotations:speaker-index"), query)
        return [speaker.name for speaker in response.context["page"].object_list]

    assert names(q="gallant") == ["Yoav Gallant"]
    assert names(q="ned") == ["Ned Price"]
    SpeakerAliasFactory(speaker=gallant, name="The Defense Minister")
    assert names(q="defense") == ["Yoav Gallant"]
    assert names(country="il") == ["Yoav Gallant"]
    assert names(kind="government") == []
    assert names(role="minister") == ["Yoav Gallant"]
    assert names(q="nobody at all") == []


def test_the_index_sorts_by_quote_count_and_last_quoted(login, researcher, gallant):
    price = SpeakerFactory(name="Ned Price")
    quiet = SpeakerFactory(name="Aaron Quiet")
    curated_quote(gallant, published=datetime.date(2023, 1, 1))
    curated_quote(price, published=datetime.date(2022, 1, 1))
    curated_quote(price, published=datetime.date(2022, 2, 1))
    tallies.rebuild()  # the rows above went in around the models (factories)
    client = login(researcher)

    def names(ordering):
        response = client.get(reverse("annotations:speaker-index"), {"ordering": ordering})
        return [speaker.name for speaker in response.context["page"].object_list]

    assert names("") == ["Aaron Quiet", "Ned Price", "Yoav Gallant"]
    assert names("-quote_count") == ["Ned Price", "Yoav Gallant", "Aaron Quiet"]
    assert names("-last_quoted") == ["Yoav Gallant", "Ned Price", "Aaron Quiet"]
    assert quiet.pk


def test_a_bad_filter_is_named_not_an_error(login, researcher, gallant):
    response = login(researcher).get(reverse("annotations:speaker-index"), {"kind": "alien", "ordering": "x"})
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()


def test_the_index_filters_as_an_htmx_fragment(login, researcher, gallant):
    fragment = login(researcher).get(
        reverse("annotations:speaker-index"), {"q": "gall"}, **HX, HTTP_HX_TARGET="speakers"
    )
    assert fragment.content.decode().lstrip().startswith('<div id="speakers">')


# --- Query counts -----------------------------------------------------------------------


def count_queries(client, url, query=None):
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url, query or {}).status_code == 200
    return len(queries)


def test_the_index_costs_the_same_queries_for_three_speakers_or_thirty(login, researcher):
    client = login(researcher)
    speakers = [SpeakerFactory() for _ in range(3)]
    for speaker in speakers:
        SpeakerAliasFactory(speaker=speaker)
        SpeakerRoleFactory(speaker=speaker)
        curated_quote(speaker)
    url = reverse("annotations:speaker-index")
    few = count_queries(client, url, {"ordering": "-quote_count"})
    for _ in range(27):
        speaker = SpeakerFactory()
        SpeakerAliasFactory(speaker=speaker)
        SpeakerRoleFactory(speaker=speaker)
        curated_quote(speaker)
    assert count_queries(client, url, {"ordering": "-quote_count"}) == few


def test_a_speakers_page_costs_the_same_queries_for_two_quotes_or_twenty(login, reviewer, gallant, stances):
    client = login(reviewer)
    for _ in range(2):
        StanceFactory(quote=curated_quote(gallant), target=stances["iran"], label=stances["oppose"])
    few = count_queries(client, gallant.get_absolute_url())
    for _ in range(18):
        StanceFactory(quote=curated_quote(gallant), target=stances["iran"], label=stances["support"])
        SpeakerRoleFactory(speaker=gallant)
    assert count_queries(client, gallant.get_absolute_url()) == few
    assert few <= 16


# --- Reviewers' corrections -------------------------------------------------------------


def test_a_reviewer_edits_the_speaker(login, reviewer, gallant):
    url = reverse("annotations:speaker-edit", args=[gallant.pk])
    body = {"edit-name": " Yoav  Gallant ", "edit-kind": "person", "edit-country": "il", "edit-wikidata_qid": "q42"}
    response = login(reviewer).post(url, body)
    assert response.status_code == 302 and response["Location"] == gallant.get_absolute_url()
    gallant.refresh_from_db()
    assert (gallant.name, gallant.country, gallant.wikidata_qid) == ("Yoav Gallant", "IL", "Q42")
    assert gallant.history.first().history_user == reviewer


def test_a_qid_another_speaker_has_is_refused_with_a_way_out(login, reviewer, gallant):
    other = SpeakerFactory(name="Someone", wikidata_qid="Q7")
    url = reverse("annotations:speaker-edit", args=[gallant.pk])
    response = login(reviewer).post(
        url, {"edit-name": "Yoav Gallant", "edit-kind": "person", "edit-wikidata_qid": "Q7"}
    )
    assert response.status_code == 422
    assert f"“Someone” (speaker {other.pk}) already has Q7" in response.content.decode()
    gallant.refresh_from_db()
    assert gallant.wikidata_qid == "Q2569427"


def test_a_bad_country_and_qid_are_shown_at_the_form(login, reviewer, gallant):
    url = reverse("annotations:speaker-edit", args=[gallant.pk])
    body = {"edit-name": "", "edit-kind": "alien", "edit-country": "Israel", "edit-wikidata_qid": "42"}
    page = login(reviewer).post(url, body).content.decode()
    assert "A Wikidata QID looks like Q42." in page
    assert "Select a valid choice" in page


def test_a_reviewer_adds_an_alias_once(login, reviewer, gallant):
    client = login(reviewer)
    url = reverse("annotations:speaker-alias-add", args=[gallant.pk])
    assert client.post(url, {"alias-name": "Y. Gallant"}).status_code == 302
    assert set(gallant.aliases.values_list("name", flat=True)) == {"Gallant", "Y. Gallant"}
    again = client.post(url, {"alias-name": "Gallant"})
    assert again.status_code == 422
    assert "“Gallant” is already one of their names." in again.content.decode()
    assert client.post(url, {"alias-name": "Yoav Gallant"}).status_code == 422


def test_a_reviewer_adds_a_role_with_dates_in_order(login, reviewer, gallant):
    client = login(reviewer)
    url = reverse("annotations:speaker-role-add", args=[gallant.pk])
    body = {"role-title": "Major General", "role-start_date": "2010-01-01", "role-end_date": "2005-01-01"}
    refused = client.post(url, body)
    assert refused.status_code == 422
    assert "A role can&#x27;t end before it starts." in refused.content.decode()
    body["role-end_date"] = "2015-01-01"
    assert client.post(url, body).status_code == 302
    assert gallant.roles.filter(title="Major General", end_date=datetime.date(2015, 1, 1)).exists()
