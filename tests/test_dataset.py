"""The dataset page: a researcher lands there, reads what is curated in figures,
exports it in every format the API offers, finds the releases and the token page."""

from __future__ import annotations

import datetime
import html
import io
import json
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.shortcuts import resolve_url
from django.urls import reverse

from annotations import exporters, services
from annotations.models import Article, Assignment, Quote, Release

from .factories import ArticleFactory, AssignmentFactory, QuoteFactory, StanceFactory, TargetFactory
from .test_api_support import isolated_media  # noqa: F401  # autouse: release files in a temporary folder

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(settings):
    settings.DEBUG = True
    call_command("seed_demo", stdout=io.StringIO())
    settings.DEBUG = False


def test_a_researcher_lands_on_the_dataset_page_not_on_a_queue(login, researcher):
    client = login(researcher)
    response = client.get(reverse("annotations:home"))
    assert response.status_code == 302
    assert response["Location"] == reverse("annotations:dataset")
    page = client.get(reverse("annotations:dataset")).content.decode()
    assert "The curated dataset" in page
    assert "My queue" not in page


def test_analysts_and_reviewers_still_land_on_their_queue(login, analyst, reviewer):
    for user in (analyst, reviewer):
        assert login(user).get(reverse("annotations:home")).status_code == 200


def test_the_dataset_page_counts_what_is_curated(demo, login, researcher):
    example = json.loads((settings.DEMO_DATA_DIR / "worked-example.json").read_text())
    response = login(researcher).get(reverse("annotations:dataset"))
    body = response.content.decode()
    speakers = {quote["speaker"] for quote in example["quotes"]}
    targets = {stance["target"] for quote in example["quotes"] for stance in quote["stances"]}
    expected = {"articles": 1, "quotes": len(example["quotes"]), "speakers": len(speakers), "targets": len(targets)}
    assert response.context["counts"] == expected
    for name, count in expected.items():
        assert f'data-count="{name}">{count}<' in body
    # The analysts' raw quotes and the invented articles waiting in the queue don't count.
    assert Article.objects.count() == 4


def test_the_dataset_page_offers_every_export_format_and_each_downloads(demo, login, researcher):
    client = login(researcher)
    body = client.get(reverse("annotations:dataset")).content.decode()
    links = re.findall(r'href="(/api/v1/quotes/export/?\?format=([a-z0-9]+))"', body)
    assert [fmt for _, fmt in links] == list(exporters.FORMATS)
    for url, fmt in links:
        response = client.get(url)
        assert response.status_code == 200, fmt
        assert b"".join(response.streaming_content), fmt


def test_the_dataset_page_lists_the_releases_and_links_to_the_token_page(login, researcher):
    Release.objects.create(name="v1-<b>", note="First release", quote_count=8, article_count=1, sha256="a" * 64)
    body = login(researcher).get(reverse("annotations:dataset")).content.decode()
    assert "v1-&lt;b&gt;" in body and "First release" in body
    assert f'href="{reverse("annotations:token-list")}"' in body
    assert f'href="{reverse("api:docs")}"' in body


def test_an_analyst_may_not_open_the_dataset_page(login, analyst):
    assert login(analyst).get(reverse("annotations:dataset")).status_code == 403


def curated_with_stance(article: Article | None = None, **kwargs) -> Quote:
    quote = QuoteFactory(
        article=article or ArticleFactory(status=Article.Status.CURATED), is_curated=True, annotator=None, **kwargs
    )
    StanceFactory(quote=quote, target=TargetFactory(slug=f"t-{quote.pk}"))
    Release.objects.create(name=f"r{quote.pk}", quote_count=1, article_count=1, citation="cff", bibtex="@misc{x}")
    return quote


# The session and user (with their roles on PostgreSQL, annotations.auth.ModelBackend;
# the roles a query of their own elsewhere), the filter form's targets, labels and
# outlets, the four counts, the six tables, the agreement's reads, the releases and
# their files, the article list and its count. With a target and a label: both looked
# up, and the target's subtopics (for the figures and for the agreement's stance units).
DATASET_QUERIES = 22 if connection.vendor == "postgresql" else 23
DATASET_QUERIES_FILTERED = DATASET_QUERIES + 4


@pytest.mark.parametrize(
    ("query", "expected"), [({}, DATASET_QUERIES), ({"target": "t-", "label": "support"}, DATASET_QUERIES_FILTERED)]
)
def test_the_dataset_page_query_count_does_not_grow_with_articles(
    login, researcher, analyst, django_assert_num_queries, query, expected
):
    client = login(researcher)
    first = [curated_with_stance() for _ in range(3)]
    if query:
        query = {**query, "target": f"t-{first[0].pk}"}
    client.get(reverse("annotations:dataset"), query)
    with django_assert_num_queries(expected):
        assert client.get(reverse("annotations:dataset"), query).status_code == 200
    for _ in range(10):
        quote = curated_with_stance()
        AssignmentFactory(article=quote.article, annotator=analyst, status=Assignment.Status.SUBMITTED)
        QuoteFactory(article=quote.article, annotator=analyst)
    with django_assert_num_queries(expected):
        client.get(reverse("annotations:dataset"), query)


def test_reviewers_get_one_navigation_bar(login, reviewer):
    client = login(reviewer)
    for name in ["annotations:review-queue", "annotations:review-assign", "annotations:review-agreement"]:
        body = client.get(reverse(name)).content.decode()
        navs = re.findall(r"<nav [^>]*aria-label=\"([^\"]+)\"", body)
        assert [label for label in navs if label != "Pages"] == ["Main"], name
        nav = re.search(r'<nav aria-label="Main">(.*?)</nav>', body, re.S).group(1)
        assert f'href="{reverse(name)}" aria-current="page"' in nav, name


# --- Filters, tables, agreement and citations --------------------------------------------

FILTERS = ["target", "label", "kind", "speaker_country", "outlet", "published_after", "published_before", "q"]


def export_links(body: str) -> list[str]:
    return [html.unescape(url) for url in re.findall(r'href="(/api/v1/quotes/export/?\?[^"]*)"', body)]


def test_the_filters_are_carried_into_every_export_url_and_the_files_follow_them(demo, login, researcher):
    client = login(researcher)
    query = {"target": "iran-nuclear-weapons", "kind": "direct", "published_after": "2023-01-01"}
    response = client.get(reverse("annotations:dataset"), query)
    assert response.status_code == 200
    links = export_links(response.content.decode())
    assert [parse_qs(urlsplit(url).query)["format"][0] for url in links] == list(exporters.FORMATS)
    for url in links:
        params = {name: values[0] for name, values in parse_qs(urlsplit(url).query).items()}
        assert params == {"format": params["format"], **query}
    jsonl = next(url for url in links if "format=jsonl" in url)
    rows = b"".join(client.get(jsonl).streaming_content).decode().splitlines()
    assert len(rows) == response.context["counts"]["quotes"] > 0
    assert all(json.loads(row)["kind"] == "direct" for row in rows)


def test_the_figures_and_tables_follow_the_filters(login, researcher):
    english = ArticleFactory(status=Article.Status.CURATED, outlet="Example Times", language="en")
    hebrew = ArticleFactory(
        status=Article.Status.CURATED, outlet="Haaretz", language="he", published_on=datetime.date(2023, 3, 1)
    )
    curated_with_stance(english)
    curated_with_stance(english, kind="indirect")
    curated_with_stance(hebrew)
    client = login(researcher)
    whole = client.get(reverse("annotations:dataset")).context
    assert whole["counts"] == {"articles": 2, "quotes": 3, "speakers": 3, "targets": 3}
    assert [(row["value"], row["quotes"], row["articles"]) for row in whole["composition"].by_language] == [
        ("en", 2, 1),
        ("he", 1, 1),
    ]
    response = client.get(reverse("annotations:dataset"), {"outlet": "Haaretz"})
    narrowed = response.context
    assert narrowed["counts"] == {"articles": 1, "quotes": 1, "speakers": 1, "targets": 1}
    assert [row["value"] for row in narrowed["composition"].by_outlet] == ["Haaretz"]
    assert [(f"{row['value']:%Y-%m}", row["quotes"]) for row in narrowed["composition"].by_month] == [("2023-03", 1)]
    body = response.content.decode()
    assert '<table class="tally" id="by-language">' in body and "<td hx-disable>he</td>" in body
    assert "<td hx-disable>en</td>" not in body
    assert response.context["page"].paginator.count == 1


def test_the_agreement_figures_follow_the_filters_and_link_to_the_report(demo, login, researcher):
    client = login(researcher)
    whole = client.get(reverse("annotations:dataset"))
    assert whole.context["agreement"].compared_articles == 1  # the worked example, double-coded
    exact = whole.context["agreement_summary"][0]
    assert exact[0] == "Span F1, exact" and exact[1] is not None
    assert f'href="{reverse("annotations:review-agreement")}"' in whole.content.decode()
    response = client.get(reverse("annotations:dataset"), {"outlet": "Nowhere Gazette"})
    assert response.status_code == 400  # not an outlet of the dataset
    response = client.get(reverse("annotations:dataset"), {"published_before": "1990-01-01"})
    assert response.context["agreement"].compared_articles == 0
    assert all(value is None for _, value in response.context["agreement_summary"])
    assert "?published_to=1990-01-01" in response.context["report_url"]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"target": "atlantis"}, "unknown target"),
        ({"label": "<b>furious</b>"}, "unknown label &#x27;&lt;b&gt;furious&lt;/b&gt;&#x27;"),
        ({"kind": "shouted"}, "Select a valid choice"),
        ({"published_after": "yesterday"}, "Enter a valid date"),
        ({"speaker_country": "ISRAEL"}, "at most 2 characters"),
        ({"q": "x" * 201}, "at most 200 characters"),
    ],
)
def test_invalid_filters_get_a_clear_message_and_the_whole_dataset(demo, login, researcher, query, message):
    response = login(researcher).get(reverse("annotations:dataset"), query)
    assert response.status_code == 400
    body = response.content.decode()
    assert 'role="alert"' in body and message in body
    assert "figures below are of the whole curated dataset" in body
    assert response.context["counts"]["quotes"] == 8
    assert all(urlsplit(url).query.startswith("format=") and "&" not in url for url in export_links(body))
    assert "<b>" not in body


def test_hostile_filter_values_are_escaped_in_the_page_and_encoded_in_the_urls(demo, login, researcher):
    hostile = '"><script>alert(1)</script>'
    response = login(researcher).get(reverse("annotations:dataset"), {"q": hostile})
    assert response.status_code == 200
    body = response.content.decode()
    assert "<script>alert(1)" not in body
    for url in export_links(body):
        assert parse_qs(urlsplit(url).query)["q"] == [hostile]


def test_the_page_shows_each_release_with_its_citation_to_copy(demo, login, researcher, reviewer, settings):
    settings.DATASET_AUTHORS = ["Doe, <Jane>"]
    release = services.build_release(name="v1", note="", filters={}, user=reviewer)
    body = login(researcher).get(reverse("annotations:dataset")).content.decode()
    assert f'<pre id="cff-{release.pk}"' in body and f'<pre id="bib-{release.pk}"' in body
    assert html.escape(release.citation) in body
    assert html.escape(release.bibtex) in body
    assert "&lt;Jane&gt;" in body and "<Jane>" not in body
    assert f'data-copy="cff-{release.pk}"' in body
    for fmt in ("parquet", "datasheet", "cff", "bibtex"):
        assert f'href="{reverse("api:release-file", args=[release.pk, fmt])}"' in body


@pytest.mark.parametrize(
    ("persona", "status"),
    [("researcher", 200), ("reviewer", 200), ("analyst", 403), ("outsider", 403), (None, 302)],
)
def test_who_may_open_the_dataset_page_with_filters(request, client, login, persona, status):
    viewer = login(request.getfixturevalue(persona)) if persona else client
    response = viewer.get(reverse("annotations:dataset"), {"kind": "direct", "q": "Iran"})
    assert response.status_code == status
    if status == 302:
        assert response["Location"].startswith(resolve_url(settings.LOGIN_URL))


def test_a_reviewer_counts_the_curated_layer_only_never_the_raw_quotes(demo, login, reviewer):
    response = login(reviewer).get(reverse("annotations:dataset"), {"kind": "direct"})
    assert response.context["counts"]["quotes"] == Quote.objects.curated().filter(kind="direct").count()
