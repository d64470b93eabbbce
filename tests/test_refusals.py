"""One refusal rule, and the pages that say it.

The wrong role gets 403 (whatever the object, so the answer reveals nothing about
it); a stranger's object gets 404; an anonymous visitor goes to the login page.
The 403, 404 and 500 pages are the site's own, in its layout, with a way back.
The navigation offers a page exactly when that page opens for the user.
"""

from __future__ import annotations

import re

import pytest
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import HttpRequest, HttpResponse
from django.test import Client, RequestFactory
from django.urls import include, path, reverse
from django.views.defaults import server_error

from annotations.forms import SearchField
from annotations.roles import (
    analyst_required,
    is_researcher,
    is_reviewer,
    researcher_required,
    reviewer_required,
    role_required,
)

from .factories import ArticleFactory, AssignmentFactory
from .test_security_headers import assert_strict_csp

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def boom(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("a bug")


# This module is also a URLconf (for the 500 test): the project's routes plus one that fails.
urlpatterns = [path("boom/", boom), path("", include("config.urls"))]


def upload() -> dict:
    return {"file": SimpleUploadedFile("articles.jsonl", b'{"title": "Uploaded", "text": "An uploaded text."}\n')}


# The routes that answered 404 to a logged-in user without the role; they now say 403.
# (route name, method, body, the role that is refused)
FORMERLY_404 = [
    ("annotations:article-upload", "get", None, "analyst"),
    ("annotations:article-upload", "post", upload, "analyst"),
    ("annotations:article-upload", "get", None, "researcher"),
    ("annotations:target-new", "get", None, "analyst"),
    ("annotations:target-new", "post", lambda: {"name": "Return to the JCPOA", "slug": "jcpoa-return"}, "analyst"),
    ("annotations:target-new", "get", None, "researcher"),
    ("annotations:speaker-search", "get", None, "researcher"),
    ("annotations:speaker-new", "get", None, "researcher"),
    ("annotations:speaker-new", "post", lambda: {"name": "Ned Price", "kind": "person"}, "researcher"),
    ("annotations:target-search", "get", None, "researcher"),
    ("annotations:article-new", "get", None, "researcher"),
    ("annotations:next-article", "post", lambda: {}, "researcher"),
    ("annotations:article-upload", "get", None, "outsider"),
    ("annotations:speaker-new", "get", None, "outsider"),
    ("annotations:next-article", "post", lambda: {}, "outsider"),
]


def in_the_layout_with_a_way_home(body: str) -> None:
    assert body.lstrip().lower().startswith("<!doctype html>")
    assert 'class="site-header"' in body, "the page is in the site's layout"
    assert re.search(r'<a class="button primary" href="/">Back to my queue</a>', body), "a link back home"


def case_ids(cases: list[tuple]) -> list[str]:
    return [f"{role}-{method}-{name.split(':')[1]}" for name, method, _body, role in cases]


@pytest.mark.parametrize(("name", "method", "body", "role"), FORMERLY_404, ids=case_ids(FORMERLY_404))
def test_the_wrong_role_gets_403_in_the_sites_layout(name, method, body, role, request, login):
    user = request.getfixturevalue(role)
    client = login(user)
    response = getattr(client, method)(reverse(name), body() if body else None)
    assert response.status_code == 403
    page = response.content.decode()
    in_the_layout_with_a_way_home(page)
    assert "Only " in page, "the page says who the page is for"
    assert user.username in page, "the header shows who is logged in"
    assert_strict_csp(response)


@pytest.mark.parametrize(("name", "method", "body", "role"), FORMERLY_404[:6], ids=case_ids(FORMERLY_404[:6]))
def test_anonymous_visitors_are_still_sent_to_the_login_page(name, method, body, role, client):
    response = getattr(client, method)(reverse(name), body() if body else None)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_the_403_page_says_why_and_offers_the_pages_the_user_may_open(login, researcher):
    body = login(researcher).get(reverse("annotations:review-queue")).content.decode()
    assert "Only reviewers can do this." in body
    assert f'href="{reverse("annotations:review-agreement")}"' in body, "the researcher's own pages stay in the nav"
    assert f'href="{reverse("annotations:review-queue")}"' not in body


def test_an_htmx_request_with_the_wrong_role_gets_403_too(login, analyst):
    response = login(analyst).get(reverse("annotations:target-new"), **HTMX)
    assert response.status_code == 403


def test_a_strangers_article_is_404_in_the_layout_and_names_nothing(login, analyst, second_analyst):
    theirs = AssignmentFactory(annotator=second_analyst, article=ArticleFactory(pool=False, title="Secret title"))
    response = login(analyst).get(reverse("annotations:article-annotate", args=[theirs.article.pk]))
    assert response.status_code == 404
    body = response.content.decode()
    in_the_layout_with_a_way_home(body)
    assert "Secret title" not in body
    assert "Nothing here" in body
    assert_strict_csp(response)


def test_a_missing_article_reads_the_same_as_a_strangers(login, analyst, second_analyst):
    theirs = AssignmentFactory(annotator=second_analyst, article=ArticleFactory(pool=False)).article
    client = login(analyst)
    stranger = client.get(reverse("annotations:article-annotate", args=[theirs.pk]))
    missing = client.get(reverse("annotations:article-annotate", args=[theirs.pk + 1000]))
    assert stranger.status_code == missing.status_code == 404
    main = re.compile(r"<main.*</main>", re.S)
    assert main.search(stranger.content.decode()).group() == main.search(missing.content.decode()).group()


def test_an_unknown_address_is_404_in_the_layout_for_anonymous_visitors_too(client):
    response = client.get("/no/such/page/")
    assert response.status_code == 404
    body = response.content.decode()
    in_the_layout_with_a_way_home(body)
    assert 'aria-label="Main"' not in body, "no navigation for somebody not logged in"


def test_the_500_page_renders_without_a_request_or_the_database(django_assert_num_queries):
    with django_assert_num_queries(0):
        response = server_error(RequestFactory().get("/"))
    assert response.status_code == 500
    body = response.content.decode()
    in_the_layout_with_a_way_home(body)
    assert "<script" not in body, "no nonce without a request, so no scripts"


@pytest.mark.urls(__name__)
def test_an_unhandled_error_answers_the_500_page(login, analyst):
    client = Client(raise_request_exception=False)
    client.force_login(analyst)
    response = client.get("/boom/")
    assert response.status_code == 500
    in_the_layout_with_a_way_home(response.content.decode())


# --- The navigation asks the same predicates as the views ------------------------------------

GUARDED_LINKS = [
    "annotations:home",
    "annotations:review-queue",
    "annotations:review-assign",
    "annotations:review-agreement",
    "annotations:dataset",
]


@pytest.mark.parametrize("role", ["analyst", "reviewer", "researcher", "outsider", "admin_user"])
def test_the_navigation_offers_a_page_exactly_when_it_opens(role, request, login):
    client = login(request.getfixturevalue(role))
    # A researcher's home is the dataset page (a redirect), so their navigation is read there.
    home = client.get(reverse("annotations:home"), follow=True).content.decode()
    nav = re.search(r'<nav aria-label="Main">(.*?)</nav>', home, re.S).group(1)
    for name in GUARDED_LINKS:
        url = reverse(name)
        opens = client.get(url).status_code == 200  # the researcher's home redirects: it does not open
        assert (f'href="{url}"' in nav) is opens, (role, name)


@pytest.mark.parametrize("role", ["analyst", "reviewer", "researcher", "outsider"])
def test_the_queues_buttons_appear_exactly_for_those_they_open_for(role, request, login):
    client = login(request.getfixturevalue(role))
    toolbar = re.search(
        r'<div class="toolbar">(.*?)</div>',
        client.get(reverse("annotations:home"), follow=True).content.decode(),
        re.S,
    )
    for name in ["annotations:article-new", "annotations:article-upload", "annotations:next-article"]:
        url = reverse(name)
        opens = (client.get(url) if name != "annotations:next-article" else client.post(url)).status_code in {200, 302}
        assert (f'action="{url}"' in toolbar.group(1) or f'href="{url}"' in toolbar.group(1)) is opens, (role, name)


# --- The decorators ---------------------------------------------------------------------------


def page(request: HttpRequest) -> HttpResponse:
    return HttpResponse("in")


def with_user(user) -> HttpRequest:
    request = RequestFactory().get("/")
    request.user = user
    return request


def test_each_role_decorator_lets_its_role_in_and_refuses_the_others(analyst, reviewer, researcher, outsider):
    doors = {analyst_required: {analyst, reviewer}, reviewer_required: {reviewer}, researcher_required: {researcher}}
    for decorator, allowed in doors.items():
        view = decorator(page)
        for user in (analyst, reviewer, researcher, outsider):
            if user in allowed:
                assert view(with_user(user)).status_code == 200
            else:
                with pytest.raises(PermissionDenied):
                    view(with_user(user))


def test_role_required_lets_in_anyone_with_one_of_the_roles(analyst, reviewer, researcher):
    view = role_required(is_reviewer, is_researcher, refusal="Not for analysts.")(page)
    assert view(with_user(reviewer)).status_code == 200
    assert view(with_user(researcher)).status_code == 200
    with pytest.raises(PermissionDenied, match="Not for analysts"):
        view(with_user(analyst))


# --- The search box ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "searched"),
    [
        ("  Haaretz ", "Haaretz"),
        ("Haa\x00retz", "Haaretz"),
        ("\x00 ", ""),
        ("", ""),
        (None, ""),
        ("x" * 300, "x" * 200),
    ],
    ids=["spaces", "nul", "only-nul", "empty", "missing", "long"],
)
def test_the_search_field_cleans_what_was_typed_into_a_safe_term(typed, searched):
    assert SearchField().clean(typed) == searched


def test_a_long_search_on_the_home_page_is_cut_not_refused(login, analyst):
    ArticleFactory(title="x" * 250)
    response = login(analyst).get(reverse("annotations:home"), {"q": "x" * 300})
    assert response.status_code == 200
    assert response.context["query"] == "x" * 200
    assert len(response.context["page"].object_list) == 1
