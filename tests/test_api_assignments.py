"""Assignments through the API: what the review page's assign form does, scripted.

Reviewers list, assign one article to one analyst or many in bulk, and send
submitted work back; an analyst reads and submits their own; researchers and
accounts without a role have none. The rules are the review page's
(``AssignmentQuerySet.assign``): only analysts, only open articles, never a
duplicate — each refusal a 400 that names what to fix.
"""

# Shared fixtures are imported from test_api_support by name.
# ruff: noqa: F401

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from annotations.models import Article, Assignment

from .factories import ArticleFactory, AssignmentFactory, UserFactory
from .test_api_support import api_client, isolated_media

pytestmark = pytest.mark.django_db

LIST = "/api/v1/assignments/"
BULK = "/api/v1/assignments/bulk/"


def detail(assignment: Assignment) -> str:
    return f"/api/v1/assignments/{assignment.pk}/"


def post(user: Any, path: str, body: dict[str, Any] | None = None) -> Any:
    return api_client(user).post(path, body or {}, format="json")


@pytest.fixture
def third_analyst(db):
    return UserFactory(username="analyst3", role="analyst")


@pytest.fixture
def work(analyst, second_analyst, reviewer):
    """The analyst's two assignments (one submitted), the second analyst's one."""
    return {
        "mine": AssignmentFactory(annotator=analyst, article=ArticleFactory(title="Mine"), assigned_by=reviewer),
        "mine_done": AssignmentFactory(
            annotator=analyst, article=ArticleFactory(title="Mine, done"), status=Assignment.Status.SUBMITTED
        ),
        "theirs": AssignmentFactory(annotator=second_analyst, article=ArticleFactory(title="Theirs")),
    }


def ids(response: Any) -> set[int]:
    assert response.status_code == 200, response.content[:300]
    return {row["id"] for row in response.json()["results"]}


# --- Reading --------------------------------------------------------------------------------


def test_a_reviewer_lists_every_assignment(reviewer, work):
    assert ids(api_client(reviewer).get(LIST)) == {assignment.pk for assignment in work.values()}


def test_an_analyst_lists_only_their_own_assignments(analyst, work):
    assert ids(api_client(analyst).get(LIST)) == {work["mine"].pk, work["mine_done"].pk}


def test_an_assignment_reads_as_its_article_analyst_status_and_who_assigned_it(reviewer, work):
    body = api_client(reviewer).get(detail(work["mine"])).json()
    assert body["article"]["id"] == work["mine"].article_id
    assert body["article"]["title"] == "Mine"
    assert (body["annotator"], body["status"], body["assigned_by"]) == ("analyst", "assigned", "reviewer")
    assert body["submitted_at"] is None
    assert set(body) == {
        "id",
        "article",
        "annotator",
        "status",
        "comment",
        "assigned_by",
        "created_at",
        "updated_at",
        "submitted_at",
    }


@pytest.mark.parametrize(("persona", "status"), [("researcher", 403), ("outsider", 403)])
def test_researchers_and_accounts_without_a_role_have_no_assignments(request, persona, status, work):
    client = api_client(request.getfixturevalue(persona))
    for path in (LIST, detail(work["mine"])):
        response = client.get(path)
        assert response.status_code == status
        assert "detail" in response.json()


def test_an_anonymous_caller_is_asked_to_authenticate(work):
    assert api_client(None).get(LIST).status_code == 401


def test_another_analysts_assignment_answers_as_a_missing_one(second_analyst, work):
    client = api_client(second_analyst)
    hidden = client.get(detail(work["mine"]))
    missing = client.get("/api/v1/assignments/999999999/")
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json() == missing.json()


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("?status=submitted", {"mine_done"}),
        ("?annotator=analyst2", {"theirs"}),
        ("?annotator=analyst&status=assigned", {"mine"}),
        ("?annotator=nobody", set()),
    ],
)
def test_a_reviewer_filters_by_annotator_username_and_status(reviewer, work, query, expected):
    assert ids(api_client(reviewer).get(LIST + query)) == {work[name].pk for name in expected}


def test_filtering_by_article_finds_its_assignments(reviewer, work):
    article = work["theirs"].article
    assert ids(api_client(reviewer).get(f"{LIST}?article={article.pk}")) == {work["theirs"].pk}


def test_an_analyst_filtering_by_another_analyst_finds_nothing(analyst, work):
    assert ids(api_client(analyst).get(LIST + "?annotator=analyst2")) == set()
    assert ids(api_client(analyst).get(f"{LIST}?article={work['theirs'].article_id}")) == set()


@pytest.mark.parametrize(
    ("query", "field"),
    [("?annotatr=analyst", "detail"), ("?status=done", "status"), ("?article=abc", "article"), ("?ordering=x", None)],
)
def test_an_unknown_or_malformed_query_parameter_is_refused(reviewer, work, query, field):
    response = api_client(reviewer).get(LIST + query)
    assert response.status_code == 400
    if field:
        assert field in response.json()


def test_the_list_pages_by_cursor_through_every_assignment_once(reviewer, work):
    for _ in range(4):
        AssignmentFactory()
    client = api_client(reviewer)
    seen: list[int] = []
    url = LIST + "?page_size=2&ordering=-id"
    while url:
        page = client.get(url).json()
        assert len(page["results"]) <= 2
        seen += [row["id"] for row in page["results"]]
        url = page["next"]
    assert seen == sorted(Assignment.objects.values_list("pk", flat=True), reverse=True)


def test_the_list_costs_the_same_queries_for_three_assignments_or_thirty(reviewer):
    client = api_client(reviewer)
    client.get(LIST)  # authentication's first-request work out of the way
    for _ in range(3):
        AssignmentFactory()
    with CaptureQueriesContext(connection) as few:
        assert client.get(LIST).status_code == 200
    for _ in range(27):
        AssignmentFactory()
    with CaptureQueriesContext(connection) as many:
        assert len(client.get(LIST).json()["results"]) == 30
    assert len(many) == len(few)


# --- Assigning one ------------------------------------------------------------------------


def test_a_reviewer_assigns_an_open_article_to_an_analyst(reviewer, analyst):
    article = ArticleFactory()
    response = post(reviewer, LIST, {"article": article.pk, "annotator": "analyst"})
    assert response.status_code == 201, response.content
    assignment = Assignment.objects.get(article=article)
    assert (assignment.annotator, assignment.assigned_by, assignment.status) == (analyst, reviewer, "assigned")
    assert response.json()["id"] == assignment.pk
    assert response["Location"].endswith(detail(assignment))


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({"annotator": "reviewer"}, "annotator", "not an active analyst"),
        ({"annotator": "researcher"}, "annotator", "not an active analyst"),
        ({"annotator": "inactive"}, "annotator", "not an active analyst"),
        ({"annotator": "nobody"}, "annotator", "No user is named 'nobody'"),
        ({"article": 999999999}, "article", "No article has id 999999999"),
        ({"article": "curated"}, "article", "is curated"),
        ({"article": "1.5"}, "article", "valid integer"),
        ({"annotator": 7}, "annotator", "No user is named '7'"),
        ({"annotater": "analyst"}, "annotater", "Unknown field"),
        ({"status": "submitted"}, "status", "Unknown field"),
    ],
)
def test_assigning_refuses_what_the_review_page_refuses_with_a_message_naming_it(
    reviewer, analyst, researcher, body, field, words
):
    UserFactory(username="inactive", role="analyst", is_active=False)
    article = ArticleFactory()
    curated = ArticleFactory(status=Article.Status.CURATED)
    sent = {"article": article.pk, "annotator": "analyst", **body}
    if sent["article"] == "curated":
        sent["article"] = curated.pk
    response = post(reviewer, LIST, sent)
    assert response.status_code == 400, response.content
    assert words in " ".join(response.json()[field])
    assert not Assignment.objects.exists()


def test_assigning_the_same_analyst_twice_names_the_assignment_they_have(reviewer, analyst):
    existing = AssignmentFactory(annotator=analyst, status=Assignment.Status.IN_PROGRESS)
    response = post(reviewer, LIST, {"article": existing.article_id, "annotator": "analyst"})
    assert response.status_code == 400
    message = response.json()["annotator"][0]
    assert f"assignment {existing.pk}" in message and "in progress" in message
    assert Assignment.objects.count() == 1


@pytest.mark.parametrize("persona", ["analyst", "researcher", "outsider"])
def test_only_reviewers_assign(request, persona, analyst):
    article = ArticleFactory()
    response = post(request.getfixturevalue(persona), LIST, {"article": article.pk, "annotator": "analyst"})
    assert response.status_code == 403
    assert not Assignment.objects.exists()


# --- Assigning in bulk ----------------------------------------------------------------------


def test_bulk_without_per_article_gives_every_article_to_every_analyst_named(reviewer, analyst, second_analyst):
    first, second = ArticleFactory(), ArticleFactory()
    AssignmentFactory(article=first, annotator=analyst)
    response = post(reviewer, BULK, {"articles": [first.pk, second.pk], "annotators": ["analyst", "analyst2"]})
    assert response.status_code == 201, response.content
    body = response.json()
    made = {(row["article"]["id"], row["annotator"]) for row in body["created"]}
    assert made == {(first.pk, "analyst2"), (second.pk, "analyst"), (second.pk, "analyst2")}
    assert body["skipped"] == [f"analyst already has “{first.title}”."]
    assert Assignment.objects.count() == 4
    assert all(row["assigned_by"] == "reviewer" for row in body["created"])


def test_bulk_per_article_balances_the_load_and_records_how_many_are_needed(
    reviewer, analyst, second_analyst, third_analyst
):
    AssignmentFactory(annotator=analyst)  # the analyst is the busiest
    articles = [ArticleFactory(), ArticleFactory()]
    response = post(reviewer, BULK, {"articles": [article.pk for article in articles], "per_article": 2})
    assert response.status_code == 201, response.content
    for article in articles:
        article.refresh_from_db()
        assert article.annotators_needed == 2
        assert article.assignments.count() == 2
    loads = {user.username: user.assignments.count() for user in (analyst, second_analyst, third_analyst)}
    # The first article goes to the two idle analysts; then all three have one open
    # assignment, and the ties go by username.
    assert loads == {"analyst": 2, "analyst2": 2, "analyst3": 1}
    assert not response.json()["skipped"]


def test_bulk_skips_a_curated_article_and_says_why(reviewer, analyst):
    curated = ArticleFactory(title="Closed", status=Article.Status.CURATED)
    open_article = ArticleFactory()
    response = post(reviewer, BULK, {"articles": [curated.pk, open_article.pk], "annotators": ["analyst"]})
    assert response.status_code == 201
    assert response.json()["skipped"] == ["“Closed” is already curated."]
    assert list(Assignment.objects.values_list("article_id", flat=True)) == [open_article.pk]


def test_bulk_where_everything_is_skipped_answers_200(reviewer, analyst):
    existing = AssignmentFactory(annotator=analyst)
    response = post(reviewer, BULK, {"articles": [existing.article_id], "annotators": ["analyst"]})
    assert response.status_code == 200
    assert response.json()["created"] == []
    assert len(response.json()["skipped"]) == 1


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({"articles": [999999999], "annotators": ["analyst"]}, "articles", "No article has id 999999999"),
        ({"articles": "open", "annotators": ["nobody", "reviewer"]}, "annotators", "No user is named 'nobody'"),
        ({"articles": "open", "annotators": ["reviewer"]}, "annotators", "Not an active analyst: 'reviewer'"),
        ({"articles": "open"}, "non_field_errors", "Name annotators, or give per_article"),
        ({"articles": "open", "per_article": 11}, "per_article", "less than or equal to 10"),
        ({"articles": [], "per_article": 1}, "articles", "Name at least one article"),
        ({"articles": "open", "per_article": 1, "analysts": ["analyst"]}, "analysts", "Unknown field"),
    ],
)
def test_bulk_refuses_a_bad_body_whole_and_names_the_problem(reviewer, analyst, body, field, words):
    article = ArticleFactory()
    if body["articles"] == "open":
        body = {**body, "articles": [article.pk]}
    response = post(reviewer, BULK, body)
    assert response.status_code == 400, response.content
    assert words in " ".join(response.json()[field])
    assert not Assignment.objects.exists()
    article.refresh_from_db()
    assert article.annotators_needed == 1


@pytest.mark.parametrize("persona", ["analyst", "researcher"])
def test_only_reviewers_assign_in_bulk(request, persona, analyst):
    article = ArticleFactory()
    response = post(request.getfixturevalue(persona), BULK, {"articles": [article.pk], "per_article": 1})
    assert response.status_code == 403
    assert not Assignment.objects.exists()


# --- Sending back and submitting -------------------------------------------------------------


def test_a_reviewer_sends_a_submitted_assignment_back_with_a_comment(reviewer, work):
    done = work["mine_done"]
    response = post(reviewer, detail(done) + "send-back/", {"comment": "Look at the second quote again."})
    assert response.status_code == 200, response.content
    done.refresh_from_db()
    assert (done.status, done.comment) == ("in_progress", "Look at the second quote again.")
    assert response.json()["status"] == "in_progress"


def test_an_assignment_not_submitted_can_not_be_sent_back(reviewer, work):
    response = post(reviewer, detail(work["mine"]) + "send-back/", {"comment": "Again."})
    assert response.status_code == 409
    assert "Only a submitted assignment is sent back" in response.json()["detail"]
    work["mine"].refresh_from_db()
    assert work["mine"].status == "assigned"


@pytest.mark.parametrize("body", [{}, {"comment": ""}, {"comment": "   "}, {"comment": "ok", "status": "reviewed"}])
def test_sending_back_needs_a_comment_and_nothing_else(reviewer, work, body):
    response = post(reviewer, detail(work["mine_done"]) + "send-back/", body)
    assert response.status_code == 400
    work["mine_done"].refresh_from_db()
    assert work["mine_done"].status == "submitted"


def test_an_analyst_can_not_send_their_own_work_back(analyst, work):
    response = post(analyst, detail(work["mine_done"]) + "send-back/", {"comment": "I want it back."})
    assert response.status_code == 403
    work["mine_done"].refresh_from_db()
    assert work["mine_done"].status == "submitted"


def test_an_analyst_submits_their_assignment_and_its_quotes_lock(analyst, work):
    response = post(analyst, detail(work["mine"]) + "submit/")
    assert response.status_code == 200, response.content
    work["mine"].refresh_from_db()
    assert work["mine"].status == "submitted" and work["mine"].submitted_at is not None
    assert not Article.objects.annotatable_by(analyst).filter(pk=work["mine"].article_id).exists()


def test_submitting_twice_is_a_conflict(analyst, work):
    response = post(analyst, detail(work["mine_done"]) + "submit/")
    assert response.status_code == 409
    assert response.json()["detail"] == (
        "An assignment that is submitted can't become submitted. A reviewer can send it back."
    )


def test_a_reviewed_assignment_can_not_be_submitted_again(analyst):
    reviewed = AssignmentFactory(annotator=analyst, status=Assignment.Status.REVIEWED)
    response = post(analyst, detail(reviewed) + "submit/")
    assert response.status_code == 409
    assert response.json()["detail"] == "An assignment that is reviewed can't become submitted."


def test_submitting_takes_no_fields(analyst, work):
    response = post(analyst, detail(work["mine"]) + "submit/", {"status": "reviewed"})
    assert response.status_code == 400
    assert "Unknown field" in response.json()["status"][0]
    work["mine"].refresh_from_db()
    assert work["mine"].status == "assigned"


@pytest.mark.parametrize(("persona", "status"), [("second_analyst", 404), ("reviewer", 403), ("researcher", 403)])
def test_only_the_assignments_analyst_submits_it(request, persona, status, work):
    response = post(request.getfixturevalue(persona), detail(work["mine"]) + "submit/")
    assert response.status_code == status
    work["mine"].refresh_from_db()
    assert work["mine"].status == "assigned"


def test_the_schema_documents_the_assignment_routes(client):
    paths = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()["paths"]
    assert {"get", "post"} <= set(paths["/api/v1/assignments/"])
    assert set(paths["/api/v1/assignments/bulk/"]) == {"post"}
    for action in ("send-back", "submit"):
        assert "409" in paths[f"/api/v1/assignments/{{id}}/{action}/"]["post"]["responses"]
