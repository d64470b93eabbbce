"""Assignments: bulk assigning by reviewers, and analysts claiming pool articles."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, transaction
from django.urls import reverse

from annotations.models import Article, Assignment

from .factories import ArticleFactory, AssignmentFactory, UserFactory

pytestmark = pytest.mark.django_db


# --- Claiming from the pool ------------------------------------------------------------------


def test_needing_annotators_counts_assignments_against_the_number_needed(analyst, second_analyst):
    full = ArticleFactory(title="full", annotators_needed=1)
    AssignmentFactory(article=full, annotator=analyst)
    half = ArticleFactory(title="half", annotators_needed=2)
    AssignmentFactory(article=half, annotator=analyst)
    ArticleFactory(title="kept out of the pool", pool=False)
    ArticleFactory(title="curated", status=Article.Status.CURATED)
    fresh = ArticleFactory(title="fresh")
    assert set(Article.objects.needing_annotators()) == {half, fresh}
    assert Article.objects.needing_annotators().get(pk=half.pk).assignment_count == 1


def test_claim_next_takes_the_oldest_article_the_analyst_has_not_done(analyst, second_analyst):
    older = ArticleFactory(title="older", annotators_needed=2)
    ArticleFactory(title="newer")
    AssignmentFactory(article=older, annotator=analyst, status=Assignment.Status.SUBMITTED)
    claimed = Assignment.objects.claim_next(analyst)
    assert claimed.article.title == "newer"
    assert (claimed.annotator, claimed.status) == (analyst, Assignment.Status.ASSIGNED)
    assert Assignment.objects.claim_next(second_analyst).article == older
    assert Assignment.objects.claim_next(second_analyst) is None  # "newer" needed only one


def test_claim_next_is_for_analysts_only(researcher, outsider):
    ArticleFactory()
    assert Assignment.objects.claim_next(researcher) is None
    assert Assignment.objects.claim_next(outsider) is None
    assert not Assignment.objects.exists()


def test_next_for_prefers_the_analysts_own_open_assignment(analyst):
    mine = AssignmentFactory(annotator=analyst, article=ArticleFactory(pool=False))
    ArticleFactory(title="in the pool")
    assert Assignment.objects.next_for(analyst) == mine
    mine.move_to(Assignment.Status.SUBMITTED)
    assert Assignment.objects.next_for(analyst).article.title == "in the pool"


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="SQLite has no row locks: its writes are serialised by the database lock."
)
@pytest.mark.django_db(transaction=True)
def test_two_analysts_claiming_at_once_take_different_articles(analyst, second_analyst):
    """While one claim holds the oldest article's row lock, another skips it (PostgreSQL)."""
    first, second = ArticleFactory(title="first"), ArticleFactory(title="second")
    locked, release = threading.Event(), threading.Event()

    def hold_first() -> None:
        with transaction.atomic():
            Article.objects.select_for_update().get(pk=first.pk)
            locked.set()
            release.wait(10)
        connection.close()

    holder = threading.Thread(target=hold_first)
    holder.start()
    try:
        assert locked.wait(10)
        assert Assignment.objects.claim_next(second_analyst).article == second
    finally:
        release.set()
        holder.join()
    assert Assignment.objects.claim_next(analyst).article == first


# --- Bulk assigning ----------------------------------------------------------------------------


def test_assigning_articles_to_chosen_analysts_skips_existing_pairs(reviewer, analyst, second_analyst):
    one, two = ArticleFactory(title="One"), ArticleFactory(title="Two")
    AssignmentFactory(article=one, annotator=analyst)
    created, skipped = Assignment.objects.assign([one, two], [analyst, second_analyst], assigned_by=reviewer)
    assert sorted((a.article.title, a.annotator.username) for a in created) == [
        ("One", "analyst2"),
        ("Two", "analyst"),
        ("Two", "analyst2"),
    ]
    assert skipped == ["analyst already has “One”."]
    assert {a.assigned_by for a in created} == {reviewer}
    assert Article.objects.get(pk=two.pk).annotators_needed == 1  # unchanged without a number


def test_n_per_article_goes_to_the_analysts_with_the_fewest_open_assignments(reviewer):
    busy, idle, middling = (UserFactory(username=name, role="analyst") for name in ["busy", "idle", "middling"])
    for _ in range(3):
        AssignmentFactory(annotator=busy)
    AssignmentFactory(annotator=middling)
    AssignmentFactory(annotator=idle, status=Assignment.Status.SUBMITTED)  # done: not open
    articles = [ArticleFactory(title=f"A{n}") for n in range(3)]
    created, skipped = Assignment.objects.assign(articles, [busy, idle, middling], per_article=2)
    # Loads before: busy 3, middling 1, idle 0. A0 → idle (0), middling (1); now idle 1, middling 2.
    # A1 → idle (1), middling (2); now idle 2, middling 3. A2 → idle (2), then busy (3) and
    # middling (3) tie: by username, busy.
    assert [(a.article.title, a.annotator.username) for a in created] == [
        ("A0", "idle"),
        ("A0", "middling"),
        ("A1", "idle"),
        ("A1", "middling"),
        ("A2", "idle"),
        ("A2", "busy"),
    ]
    assert skipped == []
    assert set(Article.objects.filter(pk__in=[a.pk for a in articles]).values_list("annotators_needed", flat=True)) == {
        2
    }


def test_n_per_article_counts_who_is_already_on_the_article(analyst, second_analyst):
    article = ArticleFactory(title="Half done")
    AssignmentFactory(article=article, annotator=analyst)
    full = ArticleFactory(title="Full")
    AssignmentFactory(article=full, annotator=analyst)
    AssignmentFactory(article=full, annotator=second_analyst)
    created, skipped = Assignment.objects.assign([article, full], [analyst, second_analyst], per_article=2)
    assert [(a.article.title, a.annotator.username) for a in created] == [("Half done", "analyst2")]
    assert skipped == ["“Full” already has 2 analysts."]


def test_n_per_article_reports_a_shortfall(analyst):
    created, skipped = Assignment.objects.assign([ArticleFactory(title="Needy")], [analyst], per_article=3)
    assert len(created) == 1
    assert skipped == ["“Needy” needs 3 more analysts, but only 1 of those chosen are free."]


def test_a_curated_article_is_not_assigned(analyst):
    created, skipped = Assignment.objects.assign(
        [ArticleFactory(title="Closed", status=Article.Status.CURATED)], [analyst]
    )
    assert (created, skipped) == ([], ["“Closed” is already curated."])


# --- The assignments page ------------------------------------------------------------------------


def test_the_page_lists_open_articles_and_analysts_with_their_load(login, reviewer, analyst):
    ArticleFactory(title="Open one")
    ArticleFactory(title="Closed one", status=Article.Status.CURATED)
    AssignmentFactory(annotator=analyst)
    body = login(reviewer).get(reverse("annotations:review-assign")).content.decode()
    assert "Open one" in body and "Closed one" not in body
    assert 'analyst <span class="meta">(1 open)</span>' in body


def test_the_search_narrows_the_articles_and_htmx_gets_only_the_list(login, reviewer):
    ArticleFactory(title="Iran talks")
    ArticleFactory(title="Ukraine aid", outlet="Kyiv Post")
    client = login(reviewer)
    body = client.get(reverse("annotations:review-assign"), {"q": "kyiv"}).content.decode()
    assert "Ukraine aid" in body and "Iran talks" not in body
    fragment = client.get(
        reverse("annotations:review-assign"), {"q": "iran"}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="article-choices"
    ).content.decode()
    assert fragment.lstrip().startswith('<div id="article-choices">')
    assert "Iran talks" in fragment and "Ukraine aid" not in fragment


def test_assigning_from_the_page_reports_what_was_skipped(login, reviewer, analyst, second_analyst):
    article = ArticleFactory(title="Shared")
    AssignmentFactory(article=article, annotator=analyst)
    client = login(reviewer)
    response = client.post(
        reverse("annotations:review-assign"),
        {"articles": [article.pk], "analysts": [analyst.pk, second_analyst.pk]},
        HTTP_HX_REQUEST="true",
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert body.lstrip().startswith('<div id="assign">')
    assert "Created 1 assignment." in body
    assert "Skipped: analyst already has “Shared”." in body
    assert Assignment.objects.get(article=article, annotator=second_analyst).assigned_by == reviewer


def test_assigning_needs_articles_and_analysts_or_a_number(login, reviewer, analyst):
    client = login(reviewer)
    article = ArticleFactory()
    response = client.post(reverse("annotations:review-assign"), {"articles": [article.pk]})
    assert response.status_code == 422
    assert "Pick analysts, or give a number of analysts per article." in response.content.decode()
    response = client.post(reverse("annotations:review-assign"), {"analysts": [analyst.pk]})
    assert response.status_code == 422
    assert "Pick at least one article." in response.content.decode()
    assert not Assignment.objects.exists()


def test_a_number_without_analysts_picks_among_all_analysts(login, reviewer, analyst, second_analyst):
    article = ArticleFactory()
    response = login(reviewer).post(reverse("annotations:review-assign"), {"articles": [article.pk], "per_article": 2})
    assert response.status_code == 302
    assert set(Assignment.objects.values_list("annotator__username", flat=True)) == {"analyst", "analyst2"}
    assert "reviewer" not in set(Assignment.objects.values_list("annotator__username", flat=True))
