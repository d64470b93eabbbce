"""The home page lists the articles a user can see; login works; health answers."""

from __future__ import annotations

import pytest
from django.urls import reverse

from .factories import ArticleFactory, AssignmentFactory, QuoteFactory

pytestmark = pytest.mark.django_db


def test_an_anonymous_visitor_is_sent_to_the_login_page(client):
    response = client.get(reverse("annotations:home"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_the_login_page_logs_a_user_in(client, analyst):
    page = client.get(reverse("login"))
    assert page.status_code == 200
    response = client.post(reverse("login"), {"username": "analyst", "password": "correct-horse-battery-staple"})
    assert response.status_code == 302
    assert client.get(reverse("annotations:home")).status_code == 200


def test_a_wrong_password_is_refused_with_a_message(client, analyst):
    response = client.post(reverse("login"), {"username": "analyst", "password": "nope"})
    assert response.status_code == 200
    assert "enter a correct username and password" in response.content.decode()


def test_the_analyst_sees_their_assigned_article_and_not_another_analysts(login, analyst, second_analyst):
    mine = AssignmentFactory(annotator=analyst, article=ArticleFactory(pool=False, title="Mine")).article
    AssignmentFactory(annotator=second_analyst, article=ArticleFactory(pool=False, title="Theirs"))
    QuoteFactory(article=mine, annotator=analyst)
    QuoteFactory(article=mine, annotator=second_analyst)
    response = login(analyst).get(reverse("annotations:home"))
    body = response.content.decode()
    assert "Mine" in body
    assert "Theirs" not in body
    assert response.context["page"].object_list[0].quote_count == 1


def test_an_analysts_queue_is_their_work_not_the_curated_articles_they_may_read(login, analyst, researcher):
    """Analysts may open every curated article, but their queue lists only their own
    (an article they worked on that was curated since) beside their assignments and the pool."""
    from annotations.models import Article, Assignment

    AssignmentFactory(annotator=analyst, article=ArticleFactory(pool=False, title="Assigned to me"))
    ArticleFactory(title="In the pool")
    mine = ArticleFactory(pool=False, title="Mine, curated", status=Article.Status.CURATED)
    AssignmentFactory(annotator=analyst, article=mine, status=Assignment.Status.REVIEWED)
    theirs = ArticleFactory(pool=False, title="Someone else's, curated", status=Article.Status.CURATED)
    # A curated article has its curated quotes (marking it curated needs one): the dataset lists it by them.
    for curated in (mine, theirs):
        QuoteFactory(article=curated, annotator=None, is_curated=True)
    titles = {article.title for article in login(analyst).get(reverse("annotations:home")).context["page"]}
    assert titles == {"Assigned to me", "In the pool", "Mine, curated"}
    assert Article.objects.visible_to(analyst).filter(title="Someone else's, curated").exists()
    researchers = {article.title for article in login(researcher).get(reverse("annotations:dataset")).context["page"]}
    assert researchers == {"Mine, curated", "Someone else's, curated"}


def test_an_outsider_sees_no_articles(login, outsider):
    ArticleFactory(title="Pooled")
    response = login(outsider).get(reverse("annotations:home"))
    assert "Pooled" not in response.content.decode()


def test_titles_are_escaped(login, reviewer):
    ArticleFactory(title="<script>alert(1)</script>")
    body = login(reviewer).get(reverse("annotations:home")).content.decode()
    assert "<script>alert(1)</script>" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body


def test_the_home_page_query_count_does_not_grow_with_articles(login, reviewer, django_assert_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = login(reviewer)
    ArticleFactory.create_batch(3)
    with CaptureQueriesContext(connection) as few:
        client.get(reverse("annotations:home"))
    ArticleFactory.create_batch(20)
    with CaptureQueriesContext(connection) as many:
        client.get(reverse("annotations:home"))
    assert len(many) == len(few)


def test_health_answers_ok(client):
    response = client.get(reverse("annotations:health"))
    assert response.status_code == 200
    assert response.content == b"ok"


def test_every_html_page_carries_a_nonce_based_csp(client):
    response = client.get(reverse("login"))
    policy = response["Content-Security-Policy"]
    assert "'nonce-" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
