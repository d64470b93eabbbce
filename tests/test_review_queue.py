"""The review queue: articles someone submitted, how far along they are, their agreement."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from annotations.models import Article, Assignment

from .factories import ArticleFactory, AssignmentFactory, QuoteFactory, StanceFactory, UserFactory

pytestmark = pytest.mark.django_db


def submitted_article(analysts, *, title: str = "", status=Assignment.Status.SUBMITTED, spans=((1, 51),)) -> Article:
    article = ArticleFactory(**({"title": title} if title else {}))
    for analyst in analysts:
        AssignmentFactory(article=article, annotator=analyst, status=status)
        for start, end in spans:
            StanceFactory(quote=QuoteFactory(article=article, annotator=analyst, start=start, end=end))
    return article


def test_the_queue_lists_only_articles_someone_submitted(login, reviewer, analyst):
    submitted_article([analyst], title="Handed in")
    AssignmentFactory(article=ArticleFactory(title="Still being worked on"), annotator=analyst)
    ArticleFactory(title="Nobody touched it")
    body = login(reviewer).get(reverse("annotations:review-queue")).content.decode()
    assert "Handed in" in body
    assert "Still being worked on" not in body
    assert "Nobody touched it" not in body


def test_the_queue_shows_done_over_assigned_and_the_overlap_f1(login, reviewer, analyst, second_analyst):
    # analyst marks [1, 51); analyst2 marks [1, 40): one overlap match, F1 = 2·1/(1+1) = 1.0.
    # A third analyst is assigned but hasn't submitted: 2 done of 3.
    article = submitted_article([analyst], title="Double coded")
    AssignmentFactory(article=article, annotator=second_analyst, status=Assignment.Status.SUBMITTED)
    QuoteFactory(article=article, annotator=second_analyst, start=1, end=40)
    AssignmentFactory(article=article)
    response = login(reviewer).get(reverse("annotations:review-queue"))
    row = response.context["page"].object_list[0]
    assert (row.done_count, row.assigned_count) == (2, 3)
    assert row.agreement.overlap_f1 == 1.0
    assert row.agreement.exact_f1 == 0.0
    body = response.content.decode()
    assert "2 / 3" in body
    assert "1.00" in body


def test_a_single_annotator_article_shows_a_dash(login, reviewer, analyst):
    submitted_article([analyst])
    response = login(reviewer).get(reverse("annotations:review-queue"))
    assert response.context["page"].object_list[0].agreement.overlap_f1 is None
    assert 'title="One annotator: nothing to compare">—<' in response.content.decode()


def test_the_queue_filters_by_status(login, reviewer, analyst):
    submitted_article([analyst], title="Waiting")
    curated = submitted_article([analyst], title="Done with", status=Assignment.Status.REVIEWED)
    Article.objects.filter(pk=curated.pk).update(status=Article.Status.CURATED)
    client = login(reviewer)
    body = client.get(reverse("annotations:review-queue"), {"status": "curated"}).content.decode()
    assert "Done with" in body and "Waiting" not in body
    body = client.get(reverse("annotations:review-queue"), {"status": "open"}).content.decode()
    assert "Waiting" in body and "Done with" not in body
    everything = client.get(reverse("annotations:review-queue")).context["page"].object_list
    assert [article.title for article in everything] == ["Waiting", "Done with"], "open ones first"


def test_the_queue_is_paginated_and_keeps_the_filter(login, reviewer, analyst):
    for _ in range(26):
        submitted_article([analyst])
    client = login(reviewer)
    first = client.get(reverse("annotations:review-queue"), {"status": "open"})
    assert len(first.context["page"].object_list) == 25
    assert "?status=open&amp;page=2" in first.content.decode()
    assert len(client.get(reverse("annotations:review-queue"), {"page": 2}).context["page"].object_list) == 1


def test_the_htmx_filter_returns_only_the_list(login, reviewer, analyst):
    submitted_article([analyst], title="Waiting")
    response = login(reviewer).get(reverse("annotations:review-queue"), {"status": "open"}, HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert body.lstrip().startswith('<div id="queue">')
    assert "Waiting" in body


def test_the_queue_query_count_does_not_grow_with_articles(login, reviewer):
    analysts = [UserFactory(role="analyst") for _ in range(3)]
    client = login(reviewer)
    for _ in range(3):
        submitted_article(analysts, spans=((1, 51), (54, 70)))
    with CaptureQueriesContext(connection) as few:
        assert client.get(reverse("annotations:review-queue")).status_code == 200
    for _ in range(17):
        submitted_article(analysts, spans=((1, 51), (54, 70)))
    with CaptureQueriesContext(connection) as many:
        response = client.get(reverse("annotations:review-queue"))
    assert len(response.context["page"].object_list) == 20
    assert len(many) == len(few)
    assert len(many) <= 10, [query["sql"] for query in many.captured_queries]
