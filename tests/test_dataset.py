"""The dataset page: a researcher lands there, reads what is curated in figures,
exports it in every format the API offers, finds the releases and the token page."""

from __future__ import annotations

import io
import json
import re

import pytest
from django.conf import settings
from django.core.management import call_command
from django.urls import reverse

from annotations import exporters
from annotations.models import Article, Release

from .factories import ArticleFactory, QuoteFactory

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


def test_the_dataset_page_query_count_does_not_grow_with_articles(login, researcher, django_assert_max_num_queries):
    client = login(researcher)
    for _ in range(3):
        QuoteFactory(article=ArticleFactory(status=Article.Status.CURATED), is_curated=True, annotator=None)
    client.get(reverse("annotations:dataset"))
    with django_assert_max_num_queries(14) as few:
        client.get(reverse("annotations:dataset"))
    for _ in range(10):
        QuoteFactory(article=ArticleFactory(status=Article.Status.CURATED), is_curated=True, annotator=None)
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(reverse("annotations:dataset"))


def test_reviewers_get_one_navigation_bar(login, reviewer):
    client = login(reviewer)
    for name in ["annotations:review-queue", "annotations:review-assign", "annotations:review-agreement"]:
        body = client.get(reverse(name)).content.decode()
        navs = re.findall(r"<nav [^>]*aria-label=\"([^\"]+)\"", body)
        assert [label for label in navs if label != "Pages"] == ["Main"], name
        nav = re.search(r'<nav aria-label="Main">(.*?)</nav>', body, re.S).group(1)
        assert f'href="{reverse(name)}" aria-current="page"' in nav, name
