"""Who may use which review page: role × view, as a full page, an htmx fragment and a no-JS post.

Reviewer-only pages answer 403 to any other logged-in user, whatever the object
(so the answer reveals nothing); pages about one quote answer 404 to whoever
may not see that quote. Anonymous visitors are sent to the login page.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from django.contrib.auth.models import AnonymousUser
from django.urls import reverse

from annotations.curation import load_curation
from annotations.models import Article, Assignment, Comment, Quote
from annotations.offsets import find_occurrence

from .factories import ArticleFactory, AssignmentFactory, QuoteFactory, StanceFactory, StanceLabelFactory, TargetFactory

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}
ROLES = ["anonymous", "outsider", "analyst", "second_analyst", "researcher", "reviewer"]


@pytest.fixture
def scene(analyst, second_analyst, reviewer, researcher, outsider):
    """An article both analysts submitted, with one curated quote made from their two."""
    article = ArticleFactory(title="Scene article", pool=False)
    label, target = StanceLabelFactory(slug="support"), TargetFactory()
    mine = QuoteFactory(article=article, annotator=analyst)
    theirs = QuoteFactory(article=article, annotator=second_analyst, speaker=mine.speaker)
    for quote in (mine, theirs):
        StanceFactory(quote=quote, target=target, label=label)
    # A second statement both marked alike, not curated yet.
    added = find_occurrence(article.text, "The spokesman added")
    for user in (analyst, second_analyst):
        QuoteFactory(article=article, annotator=user, start=added.start, end=added.end, speaker=mine.speaker)
    assignment = AssignmentFactory(article=article, annotator=analyst, status=Assignment.Status.SUBMITTED)
    AssignmentFactory(article=article, annotator=second_analyst, status=Assignment.Status.SUBMITTED)
    curated = mine.copy_as_curated(curator=reviewer, sources=[mine, theirs])
    return SimpleNamespace(
        article=article,
        other=ArticleFactory(title="Unassigned article"),
        mine=mine,
        theirs=theirs,
        curated=curated,
        assignment=assignment,
        target=target,
        label=label,
    )


def client_as(role: str, request, client):
    if role != "anonymous":
        client.force_login(request.getfixturevalue(role))
    return client


def state(scene) -> tuple:
    """What a refused request must leave untouched."""
    return (
        tuple(Quote.objects.order_by("pk").values_list("pk", "version")),
        Comment.objects.count(),
        tuple(Assignment.objects.order_by("pk").values_list("status", "comment")),
        tuple(Article.objects.order_by("pk").values_list("status", "annotators_needed")),
    )


# --- Pages (GET) ------------------------------------------------------------------------------

# Who is refused which page, action and method is the site's one table,
# tests/test_security_access_matrix.py. Here: that each page and action works
# for those allowed, as a whole page, as an htmx fragment and without JavaScript.

REVIEWER = ["reviewer"]
OWN_QUOTE = ["analyst", "reviewer"]
GET_PAGES = {
    "review-queue": (lambda s: [], REVIEWER),
    "review-assign": (lambda s: [], REVIEWER),
    "review-article": (lambda s: [s.article.pk], REVIEWER),
    "review-edit-quote": (lambda s: [s.curated.pk], REVIEWER),
    "review-agreement": (lambda s: [], ["reviewer", "researcher"]),
    "quote-history": (lambda s: [s.mine.pk], OWN_QUOTE),
    "quote-comments": (lambda s: [s.mine.pk], OWN_QUOTE),
}
ALLOWED_PAGES = [(name, role) for name, (_, roles) in GET_PAGES.items() for role in roles]


@pytest.mark.parametrize(("name", "role"), ALLOWED_PAGES)
@pytest.mark.parametrize("htmx", [False, True], ids=["page", "fragment"])
def test_each_review_page_opens_for_those_allowed(name, role, htmx, scene, request, client):
    args, _ = GET_PAGES[name]
    url = reverse(f"annotations:{name}", args=args(scene))
    response = client_as(role, request, client).get(url, **(HTMX if htmx else {}))
    assert response.status_code == 200
    body = response.content.decode()
    assert ("<html" in body) is not htmx, "a fragment for htmx, the whole page otherwise"


def test_an_analyst_may_not_read_the_history_or_comments_of_a_curated_quote(scene, login, analyst):
    client = login(analyst)
    assert client.get(reverse("annotations:quote-history", args=[scene.curated.pk])).status_code == 404
    assert client.get(reverse("annotations:quote-comments", args=[scene.curated.pk])).status_code == 404


def test_the_history_of_a_missing_quote_is_404_even_for_a_reviewer(scene, login, reviewer):
    assert login(reviewer).get(reverse("annotations:quote-history", args=[999_999])).status_code == 404


def test_the_curation_page_of_a_missing_article_is_404_for_a_reviewer_and_403_for_others(scene, login, reviewer):
    url = reverse("annotations:review-article", args=[999_999])
    assert login(reviewer).get(url).status_code == 404
    assert login(scene.mine.annotator).get(url).status_code == 403


# --- Actions (POST) ---------------------------------------------------------------------------


def edit_data(scene) -> dict:
    return {
        "start": scene.curated.start,
        "end": scene.curated.end,
        "speaker": scene.curated.speaker_id,
        "kind": "indirect",
        "cue": "said",
        "version": scene.curated.version,
        f"stance_{scene.target.pk}": scene.label.pk,
    }


POSTS = {
    "review-assign": (lambda s: [], lambda s: {"articles": [s.other.pk], "per_article": 1}),
    "review-accept": (lambda s: [s.article.pk], lambda s: {"quote": s.theirs.pk}),
    "review-accept-agreed": (lambda s: [s.article.pk], lambda s: {}),
    "review-add-quote": (
        lambda s: [s.article.pk],
        lambda s: {"exact": "talks were “at a dead end.”", "occurrence": 1, "kind": "indirect"},
    ),
    "review-send-back": (lambda s: [s.article.pk], lambda s: {"assignment": s.assignment.pk, "comment": "Look again"}),
    # Confirming the rows left undecided (asking first has its own tests in test_review_curation).
    "review-mark-curated": (
        lambda s: [s.article.pk],
        lambda s: {"confirm_undecided": str(len(load_curation(s.article).undecided_rows))},
    ),
    "review-edit-quote": (lambda s: [s.curated.pk], edit_data),
    "review-drop-quote": (lambda s: [s.curated.pk], lambda s: {"version": s.curated.version}),
}


@pytest.mark.parametrize("name", list(POSTS))
@pytest.mark.parametrize("htmx", [False, True], ids=["no-js", "htmx"])
def test_each_review_action_works_with_and_without_javascript(name, htmx, scene, request, client):
    args, data = POSTS[name]
    url = reverse(f"annotations:{name}", args=args(scene))
    before = state(scene)
    response = client_as("reviewer", request, client).post(url, data(scene), **(HTMX if htmx else {}))
    assert state(scene) != before, "the reviewer's action did something"
    if htmx:
        assert response.status_code == 200
        assert "<html" not in response.content.decode()
    else:
        assert response.status_code == 302
        assert not response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("role", OWN_QUOTE)
@pytest.mark.parametrize("htmx", [False, True], ids=["no-js", "htmx"])
def test_the_analyst_and_reviewers_comment_on_an_analysts_quote(role, htmx, scene, request, client):
    url = reverse("annotations:quote-comments", args=[scene.mine.pk])
    response = client_as(role, request, client).post(url, {"body": "Why direct?"}, **(HTMX if htmx else {}))
    assert response.status_code == (200 if htmx else 302)
    assert Comment.objects.filter(body="Why direct?").exists()


def test_anonymous_users_are_never_reviewers(scene):
    from annotations.models import is_reviewer

    assert not is_reviewer(AnonymousUser())
