"""A quote's history (who changed what, when) and its comment thread."""

from __future__ import annotations

import pytest
from django.urls import reverse

from annotations.models import Assignment, Comment, Quote, Stance

from .factories import (
    ArticleFactory,
    AssignmentFactory,
    QuoteFactory,
    SpeakerFactory,
    StanceFactory,
    StanceLabelFactory,
)

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def quote(analyst):
    article = ArticleFactory()
    AssignmentFactory(article=article, annotator=analyst, status=Assignment.Status.SUBMITTED)
    return QuoteFactory(article=article, annotator=analyst, speaker=SpeakerFactory(name="Ned Price"))


# --- History ------------------------------------------------------------------------------------


def test_the_history_shows_who_changed_what_and_when(login, analyst, reviewer, quote):
    stance = StanceFactory(quote=quote, label=StanceLabelFactory(slug="support"))
    quote.speaker = SpeakerFactory(name="Antony Blinken")
    quote._history_user = reviewer  # as HistoryRequestMiddleware does for a request
    quote.save_with_version(quote.version)
    stance.label = StanceLabelFactory(slug="oppose")
    stance._history_user = reviewer
    stance.save()

    response = login(analyst).get(reverse("annotations:quote-history", args=[quote.pk]))
    assert response.status_code == 200
    entries = [(e.what, e.subject, e.who.username if e.who else None) for e in response.context["entries"]]
    assert entries == [
        ("Created", "quote", None),
        ("Created", f"stance on {stance.target.name}", None),
        ("Changed", "quote", "reviewer"),
        ("Changed", f"stance on {stance.target.name}", "reviewer"),
    ]
    changed = response.context["entries"][2].changes
    assert ("Speaker", "Ned Price", "Antony Blinken") in changed
    assert all(field != "Version" for field, _, _ in changed), "the version bump is noise"
    body = response.content.decode()
    assert "<del>Support</del> → <ins>Oppose</ins>" in body


def test_a_change_made_through_a_page_records_the_user(login, reviewer, quote):
    curated = quote.copy_as_curated(curator=reviewer)
    client = login(reviewer)
    client.post(reverse("annotations:review-drop-quote", args=[curated.pk]), {"version": curated.version})
    response = client.get(reverse("annotations:quote-history", args=[curated.pk]))
    assert response.status_code == 200, "a dropped quote keeps its history page"
    last = response.context["entries"][-1]
    assert (last.what, last.who) == ("Deleted", reviewer)
    assert "This quote was deleted; its history stays." in response.content.decode()


def test_the_history_reads_a_fixed_number_of_queries(login, reviewer, quote, django_assert_max_num_queries):
    for n in range(10):
        quote.kind = ["direct", "indirect"][n % 2]
        quote.save_with_version(quote.version)
        StanceFactory(quote=quote)
    client = login(reviewer)
    with django_assert_max_num_queries(12):
        response = client.get(reverse("annotations:quote-history", args=[quote.pk]))
    assert len(response.context["entries"]) == 21


def test_the_htmx_history_is_the_table_only(login, reviewer, quote):
    body = login(reviewer).get(reverse("annotations:quote-history", args=[quote.pk]), **HTMX).content.decode()
    assert body.lstrip().startswith('<div id="history">')


# --- Comments -------------------------------------------------------------------------------------


def test_an_analyst_comments_on_their_own_quote_and_the_reviewer_answers(login, analyst, reviewer, quote):
    url = reverse("annotations:quote-comments", args=[quote.pk])
    response = login(analyst).post(url, {"body": "Is this direct or mixed?"}, **HTMX)
    assert response.status_code == 200
    assert response.content.decode().lstrip().startswith(f'<div id="thread-{quote.pk}" class="thread">')
    login(reviewer).post(url, {"body": "Mixed: only part is in quotation marks."})
    thread = login(analyst).get(url)
    assert [(c.author.username, c.body) for c in thread.context["comments"]] == [
        ("analyst", "Is this direct or mixed?"),
        ("reviewer", "Mixed: only part is in quotation marks."),
    ]


def test_an_empty_comment_is_refused_with_a_clear_message(login, analyst, quote):
    response = login(analyst).post(reverse("annotations:quote-comments", args=[quote.pk]), {"body": "   \n "}, **HTMX)
    assert response.status_code == 422
    assert "Write something before posting: the comment is empty." in response.content.decode()
    assert not Comment.objects.exists()


def test_a_comment_over_2000_characters_is_refused(login, analyst, quote):
    response = login(analyst).post(reverse("annotations:quote-comments", args=[quote.pk]), {"body": "x" * 2001})
    assert response.status_code == 422
    assert "Keep a comment under 2,000 characters (it has 2001)." in response.content.decode()
    assert "<html" in response.content.decode()


def test_comments_are_escaped(login, analyst, reviewer, quote):
    Comment.objects.create(quote=quote, author=analyst, body="<script>alert(1)</script>")
    body = login(reviewer).get(reverse("annotations:quote-comments", args=[quote.pk])).content.decode()
    assert "<script>alert(1)</script>" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body


def test_without_javascript_posting_returns_to_the_page_it_came_from(login, analyst, quote):
    client = login(analyst)
    url = reverse("annotations:quote-comments", args=[quote.pk])
    response = client.post(url, {"body": "Noted", "next": quote.article.annotate_url})
    assert response["Location"] == quote.article.annotate_url
    response = client.post(url, {"body": "Again", "next": "https://evil.example/"})
    assert response["Location"] == url


def test_the_curation_page_shows_each_quotes_comments(login, analyst, reviewer, quote):
    Comment.objects.create(quote=quote, author=analyst, body="Unsure about the speaker here")
    body = login(reviewer).get(quote.article.review_url).content.decode()
    assert "Unsure about the speaker here" in body
    assert f'id="thread-{quote.pk}"' in body


def test_deleting_stances_through_a_cascade_is_recorded(reviewer, quote):
    StanceFactory(quote=quote)
    curated = quote.copy_as_curated(curator=reviewer)
    curated_id = curated.pk
    curated.delete()
    assert Stance.history.filter(quote_id=curated_id, history_type="-").count() == 1
    # Created, its curated_from set (recorded since curated_from joined the history), deleted.
    assert list(Quote.history.filter(id=curated_id).order_by("history_id").values_list("history_type", flat=True)) == [
        "+",
        "~",
        "-",
    ]
