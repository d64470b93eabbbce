"""The access matrix: every URL of the project × every role × every method, against one table.

``TABLE`` below holds, for each route of the URLconf outside the admin, the
status each role gets for GET, POST, PUT, PATCH and DELETE, on the objects of
the first analyst (``analyst``). ``second_analyst`` asks for the same objects,
so the IDOR cells read 404. A cell is one request inside a savepoint that is
rolled back afterwards, so every cell starts from the same world; a request the
table expects to be refused (4xx, a redirect to the login page) or a read must
leave every row of the database byte-identical. HTML GETs run twice, as a page
and as an htmx fragment.

The admin (``admin/…``) is one family with one rule: every admin route, GET and
POST, sends each non-staff role to the admin login; the admin role opens the
index, the app list and, for each registered model, its changelist, add page,
change page and history page.

Static files are served by whitenoise's middleware, outside the URLconf, and
are public; there is no media route (release files are served only through the
API), which ``test_stored_release_files_are_not_served_outside_the_api`` checks.

``MATRIX_CELLS`` counts the requests the matrix makes (routes × roles × methods, HTML GETs
twice, plus the admin family); ``test_the_matrix_is_as_big_as_announced`` shows it in its id.

The tests after the matrix put the first analyst's ids in other people's query strings and
bodies, and fetch every list, fragment, search and export as the second analyst and as the
researcher, looking for markers planted in the first analyst's unreviewed work.

To add a route: add its entry to ``TABLE``, keyed by the route exactly as
``test_every_route_has_an_entry_and_every_entry_a_route`` prints it, with the
status of every role for every method; give it path parameters, and a body
when a write should succeed. The same test fails for a route without an entry
and for an entry whose route is gone.
"""

from __future__ import annotations

import copy
import datetime
import io
import json
import re
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from typing import Any

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.admin.models import LogEntry
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, transaction
from django.http import HttpResponse
from django.test import Client
from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart
from django.urls import URLPattern, URLResolver, get_resolver, resolve, reverse
from django_tasks_db.models import get_date_max
from knox.models import AuthToken

from annotations import services, tallies
from annotations.curation import load_curation
from annotations.exporters import FORMATS as EXPORT_FORMATS
from annotations.models import (
    Article,
    Assignment,
    Comment,
    DetectionRun,
    Guidelines,
    Quote,
    Release,
    ReleaseFile,
    Speaker,
    SpeakerAlias,
    SpeakerMerge,
    SpeakerRole,
    Stance,
    StanceLabel,
    Suggestion,
    Target,
    ThrottleCount,
)

from .factories import (
    ArticleFactory,
    AssignmentFactory,
    QuoteFactory,
    SpeakerAliasFactory,
    SpeakerFactory,
    SpeakerRoleFactory,
    StanceFactory,
    StanceLabelFactory,
    TargetFactory,
)

pytestmark = pytest.mark.django_db

User = get_user_model()

ROLES = ("anonymous", "analyst", "second_analyst", "reviewer", "researcher", "admin")
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
NON_STAFF = ROLES[:-1]

# Expected answers that are more than a status code.
LOGIN = "302 to the login page"
ADMIN_LOGIN = "302 to the admin login"
ADMIN_INDEX = "302 to the admin index"
Expect = int | str

# A marker planted in the first analyst's unreviewed work; nobody else may ever read it.
MARK = "LEAKMARK-7f3a"
# Every planted copy has a suffix naming its field (-title, -note…); a page that only echoes
# the search term back ("LEAKMARK-7f3a") shows no planted copy.
PLANTED = re.compile(rb"LEAKMARK-7f3a-[a-z]+(?:-[a-z]+)*")
# What the searches look for: one word, which PostgreSQL's full-text search and SQLite's
# containment both find in "LEAKMARK-7f3a-text" (PostgreSQL splits the hyphenated word).
SEARCH = "LEAKMARK"
HTMX = {"HTTP_HX_REQUEST": "true"}


# --- The world --------------------------------------------------------------------------------


@dataclass
class World:
    users: dict[str, Any]
    api_tokens: dict[str, str]
    target: Target
    proposal: Target  # an analyst's proposed target under ``target``
    label: StanceLabel
    speaker: Speaker
    mine_article: Article  # assigned to the first analyst only, in progress
    mine_quote: Quote
    mine_stance: Stance
    mine_suggestion: Suggestion  # the detector's, on the first analyst's draft
    theirs_article: Article  # the second analyst's own assigned article
    theirs_quote: Quote
    review_article: Article  # both analysts submitted; one curated quote, not yet marked curated
    review_mine: Quote
    review_theirs: Quote
    review_assignment: Assignment  # the first analyst's, submitted
    curated_article: Article
    curated_quote: Quote
    pool_article: Article
    release: Release
    analyst_token_digest: str  # made on the tokens page by the first analyst
    duplicate_speaker: Speaker  # a second "Yoav Gallant", for the merge page


MARKED_TEXT = (
    f"“{MARK}-text: we will not allow Iran to acquire a nuclear weapon,” the minister said on Monday.\n\n"
    "The spokesman added that talks were “at a dead end.”"
)


def span_of(text: str, words: str) -> tuple[int, int]:
    start = text.index(words)
    return start, start + len(words)


@pytest.fixture(autouse=True)
def isolated_media(settings, tmp_path):
    """Release files go to a temporary MEDIA_ROOT."""
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def world(analyst, second_analyst, reviewer, researcher, admin_user) -> World:
    users = {
        "analyst": analyst,
        "second_analyst": second_analyst,
        "reviewer": reviewer,
        "researcher": researcher,
        "admin": admin_user,
    }
    target = TargetFactory(slug="iran-nuclear", name="Iran acquiring nuclear weapons")
    # Every analyst sees proposed targets (so that nobody proposes one twice): no marker.
    proposal = Target.propose(name="Snapback of sanctions", parent=target, by=analyst)
    label = StanceLabelFactory(slug="oppose", colour="#c62828")
    speaker = SpeakerFactory(name="Yoav Gallant", country="IL")
    SpeakerAliasFactory(speaker=speaker, name="Gallant")
    role = SpeakerRoleFactory(speaker=speaker, title="Minister of Defense", country="IL")

    # The first analyst's draft: every field a stranger could see carries the marker.
    mine_article = ArticleFactory(
        title=f"{MARK}-title Draft article",
        outlet=f"{MARK}-outlet",
        metadata={"source": f"{MARK}-metadata"},
        text=MARKED_TEXT,
        pool=False,
    )
    AssignmentFactory(article=mine_article, annotator=analyst, status=Assignment.Status.IN_PROGRESS)
    start, end = span_of(MARKED_TEXT, f"{MARK}-text: we will not allow Iran to acquire a nuclear weapon")
    mine_quote = QuoteFactory(
        article=mine_article,
        start=start,
        end=end,
        annotator=analyst,
        speaker=speaker,
        speaker_role=role,
        cue=f"{MARK}-cue",
        attribution_group=f"{MARK}-group",
    )
    mine_stance = StanceFactory(quote=mine_quote, target=target, label=label, note=f"{MARK}-note")
    Comment.objects.create(quote=mine_quote, author=analyst, body=f"{MARK}-comment Is this direct?")

    theirs_article = ArticleFactory(title="The second analyst's article", pool=False)
    AssignmentFactory(article=theirs_article, annotator=second_analyst, status=Assignment.Status.IN_PROGRESS)
    theirs_quote = QuoteFactory(article=theirs_article, annotator=second_analyst, speaker=speaker)
    StanceFactory(quote=theirs_quote, target=target, label=label, note="the second analyst's note")

    # Submitted by both analysts, not reviewed: the first analyst's quote is still theirs alone.
    review_article = ArticleFactory(title="Article in review", pool=False)
    review_mine = QuoteFactory(
        article=review_article,
        annotator=analyst,
        speaker=speaker,
        cue=f"{MARK}-cue-submitted",
        attribution_group=f"{MARK}-group-submitted",
    )
    StanceFactory(quote=review_mine, target=target, label=label, note=f"{MARK}-note-submitted")
    Comment.objects.create(quote=review_mine, author=analyst, body=f"{MARK}-comment-submitted")
    review_theirs = QuoteFactory(article=review_article, annotator=second_analyst, speaker=speaker)
    StanceFactory(quote=review_theirs, target=target, label=label)
    added = span_of(review_article.text, "The spokesman added")
    for user in (analyst, second_analyst):
        QuoteFactory(article=review_article, annotator=user, start=added[0], end=added[1], speaker=speaker)
    review_assignment = AssignmentFactory(article=review_article, annotator=analyst, status=Assignment.Status.SUBMITTED)
    AssignmentFactory(article=review_article, annotator=second_analyst, status=Assignment.Status.SUBMITTED)
    review_theirs.copy_as_curated(curator=reviewer, sources=[review_mine, review_theirs])

    # The curated dataset and a release of it.
    curated_article = ArticleFactory(title="Curated article", status=Article.Status.CURATED, pool=False)
    AssignmentFactory(article=curated_article, annotator=analyst, status=Assignment.Status.REVIEWED)
    reviewed = QuoteFactory(article=curated_article, annotator=analyst, speaker=speaker)
    curated_quote = reviewed.copy_as_curated(curator=reviewer)
    StanceFactory(quote=curated_quote, target=target, label=label)
    Guidelines.publish(body="# Rules\n\nMark what is said.", note="First version", by=reviewer)
    release = services.build_release(name="v1", note="", filters={}, user=reviewer)

    pool_article = ArticleFactory(title="Pool article", pool=True)
    # A merge already made (the admin's SpeakerMerge pages open it) and a duplicate still to merge.
    speaker.merge(SpeakerFactory(name="Y. Gallant"), by=reviewer)
    duplicate_speaker = SpeakerFactory(name="Yoav Galant", country="IL")

    # The first analyst's token, made as the tokens page makes it (its name is in the log).
    page = shared_client()
    page.force_login(analyst)
    response = page.post(reverse("annotations:token-list"), {"name": f"{MARK}-token", "days": 30})
    assert response.status_code == 200
    digest = AuthToken.objects.get(user=analyst).digest

    api_tokens = {
        name: AuthToken.objects.create(user=user, expiry=datetime.timedelta(days=1))[1] for name, user in users.items()
    }
    # A row in each of the admin's tables, so that each has a change page to open.
    seen = {"user_agent": "test", "ip_address": "127.0.0.1", "username": "someone", "http_accept": "*/*"}
    apps.get_model("axes", "AccessAttempt").objects.create(**seen, get_data="", post_data="", failures_since_start=1)
    apps.get_model("axes", "AccessLog").objects.create(**seen)
    apps.get_model("axes", "AccessFailureLog").objects.create(**seen)
    # A background task's result (django-tasks-db's admin lists them: a failed detection's traceback).
    apps.get_model("django_tasks_database", "DBTaskResult").objects.create(
        args_kwargs={"args": [[0]], "kwargs": {}},
        task_path="annotations.tasks.detect_articles",
        backend_name="default",
        run_after=get_date_max(),
        exception_class_path="",
        traceback="",
    )
    # A finished detection and a decision on its suggestion, on the second analyst's article.
    DetectionRun.objects.create(article=theirs_article, status="done", suggestion_count=1, detector_version="rules-0")
    Suggestion.objects.create(
        article=theirs_article, start=1, end=51, text=theirs_article.text[1:51], detector_version="rules-0"
    ).decide("rejected", by=second_analyst)
    # The statistics' tally of the curated rows above (written around the models), and a caller's count.
    tallies.rebuild()
    ThrottleCount.objects.hit("throttle_user_0", 1)
    return World(
        users=users,
        api_tokens=api_tokens,
        target=target,
        proposal=proposal,
        label=label,
        speaker=speaker,
        mine_article=mine_article,
        mine_quote=mine_quote,
        mine_stance=mine_stance,
        mine_suggestion=Suggestion.objects.create(
            article=mine_article,
            start=span_of(MARKED_TEXT, "at a dead end.")[0],
            end=span_of(MARKED_TEXT, "at a dead end.")[1],
            text="at a dead end.",
            speaker_name="The spokesman",
            detector_version="rules-0",
        ),
        theirs_article=theirs_article,
        theirs_quote=theirs_quote,
        review_article=review_article,
        review_mine=review_mine,
        review_theirs=review_theirs,
        review_assignment=review_assignment,
        curated_article=curated_article,
        curated_quote=curated_quote,
        pool_article=pool_article,
        release=release,
        analyst_token_digest=digest,
        duplicate_speaker=duplicate_speaker,
    )


# --- The database, byte for byte ---------------------------------------------------------------


def snapshot_tables() -> list[tuple[str, str]]:
    """(table, primary key column) of every domain table, its history included."""
    models = [
        Article,
        Assignment,
        Quote,
        Quote.curated_from.through,
        Stance,
        Comment,
        Speaker,
        SpeakerAlias,
        SpeakerRole,
        SpeakerMerge,
        Target,
        StanceLabel,
        Guidelines,
        Release,
        ReleaseFile,
        AuthToken,
        LogEntry,
        User,
        User.groups.through,
    ]
    models += [model.history.model for model in (Quote, Stance, Speaker, SpeakerRole, Assignment)]
    return [(model._meta.db_table, model._meta.pk.column) for model in models]


SNAPSHOT_TABLES = snapshot_tables()


def snapshot() -> dict[str, list[tuple]]:
    """Every row of every domain table, every column as the database stores it (versions and
    timestamps included). Plain SQL: the ORM would cost more than the request under test."""
    with connection.cursor() as cursor:
        rows = {}
        for table, pk in SNAPSHOT_TABLES:
            cursor.execute(f"SELECT * FROM {table} ORDER BY {pk}")  # noqa: S608 (names from the models)
            rows[table] = cursor.fetchall()
    return rows


def changed_tables(before: dict[str, list], after: dict[str, list]) -> list[str]:
    return [name for name in before if before[name] != after[name]]


# --- Requests ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    """One route: how to fill its URL, and what each role gets for each method."""

    name: str  # the URL name, for reverse()
    expect: dict[str, dict[str, Expect]]  # method → role → expected answer
    params: Callable[[World], dict[str, Any]] = lambda w: {}
    query: Callable[[World], str] = lambda w: ""  # for GET
    body: Callable[[World], dict[str, Any]] = lambda w: {}  # for the other methods
    headers: Callable[[World], dict[str, str]] = lambda w: {}
    multipart: bool = False  # the API's import takes a file; other API bodies are JSON


def roles(
    anonymous: Expect, analyst: Expect, second_analyst: Expect, reviewer: Expect, researcher: Expect, admin: Expect
) -> dict[str, Expect]:
    return dict(zip(ROLES, (anonymous, analyst, second_analyst, reviewer, researcher, admin), strict=True))


def allow(otherwise: dict[str, Expect], **methods: dict[str, Expect]) -> dict[str, dict[str, Expect]]:
    """The methods a view serves, and what every other method gets."""
    return {method: methods.get(method, otherwise) for method in METHODS}


#                    anon    A1   A2   rev  res  admin
EVERYONE_IN = roles(LOGIN, 200, 200, 200, 200, 200)
PAGE_405 = roles(LOGIN, 405, 405, 405, 405, 405)  # @login_required, then the method check
REVIEW_ACTION = roles(LOGIN, 403, 403, 302, 403, 302)  # @reviewer_required POSTs, back to the page
REVIEW_405 = roles(LOGIN, 403, 403, 405, 403, 405)  # @reviewer_required comes before the method check
ANALYSTS = roles(LOGIN, 200, 200, 200, 403, 200)  # @analyst_required: the wrong role gets 403
ANALYST_ACTION = roles(LOGIN, 302, 302, 302, 403, 302)  # @analyst_required POSTs
ANALYST_405 = roles(LOGIN, 405, 405, 405, 403, 405)  # @analyst_required comes before the method check
REVIEWERS = roles(LOGIN, 403, 403, 200, 403, 200)  # @reviewer_required pages
DRAFT = roles(LOGIN, 200, 404, 200, 404, 200)  # the first analyst's draft: theirs and the reviewers'
PUBLIC_405 = roles(405, 405, 405, 405, 405, 405)
API_READ = roles(401, 200, 200, 200, 200, 200)
API_405 = roles(401, 405, 405, 405, 405, 405)  # IsDemarcheMember
API_WRITE_405 = roles(401, 405, 405, 405, 403, 405)  # ReadOrAnnotate refuses researchers before the method check
RELEASE_READ = roles(401, 403, 403, 200, 200, 200)
RELEASE_405 = roles(401, 403, 403, 405, 403, 405)  # ReleaseAccess: only reviewers write
ASSIGNMENT_READ = roles(401, 200, 200, 200, 403, 200)  # AssignmentAccess: researchers have none
ASSIGNMENT_405 = roles(401, 403, 403, 405, 403, 405)  # only reviewers write (before the method check)
ASSIGNMENT_GET_405 = roles(401, 405, 405, 405, 403, 405)  # analysts may read, then the method check
ASSIGN = roles(401, 403, 403, 201, 403, 201)


def quote_form(w: World, quote: Quote | None = None, **extra: Any) -> dict[str, Any]:
    """The annotate page's quote form with an empty stance formset."""
    article = quote.article if quote else w.mine_article
    start, end = (quote.start, quote.end) if quote else span_of(article.text, "The spokesman added")
    data = {
        "start": start,
        "end": end,
        "text": article.text[start:end],
        "kind": "indirect",
        "stances-TOTAL_FORMS": 0,
        "stances-INITIAL_FORMS": 0,
        "stances-MIN_NUM_FORMS": 0,
        "stances-MAX_NUM_FORMS": 30,
    }
    if quote is not None:
        data["version"] = quote.version
    return {**data, **extra}


def doccano_file(w: World) -> dict[str, Any]:
    start, end = span_of(w.mine_article.text, "at a dead end.")
    line = json.dumps({"text": w.mine_article.text, "label": [[start, end, "DIRECT"]]})
    return {"file": SimpleUploadedFile("spans.jsonl", line.encode()), "format": "doccano"}


def new_api_quote(w: World) -> dict[str, Any]:
    start, end = span_of(w.mine_article.text, "at a dead end.")
    return {
        "article": w.mine_article.pk,
        "start": start,
        "end": end,
        "text": w.mine_article.text[start:end],
        "kind": "direct",
        "stances": [{"target": "iran-nuclear", "label": "oppose"}],
    }


def if_match(w: World) -> dict[str, str]:
    return {"HTTP_IF_MATCH": f'"{w.mine_quote.version}"'}


def speaker(w: World) -> dict[str, Any]:
    return {"pk": w.speaker.pk}


def mine_article(w: World) -> dict[str, Any]:
    return {"pk": w.mine_article.pk}


def mine_suggestion(w: World) -> dict[str, Any]:
    return {"pk": w.mine_suggestion.pk}


def mine_quote(w: World) -> dict[str, Any]:
    return {"pk": w.mine_quote.pk}


def review_article(w: World) -> dict[str, Any]:
    return {"pk": w.review_article.pk}


def curated_quote(w: World) -> dict[str, Any]:
    return {"pk": w.curated_quote.pk}


def release_file(w: World) -> dict[str, Any]:
    return {"pk": w.release.pk, "fmt": "jsonl"}


def mine_assignment(w: World) -> dict[str, Any]:
    """The first analyst's open assignment, on their draft."""
    return {"pk": Assignment.objects.get(article=w.mine_article, annotator=w.users["analyst"]).pk}


def review_assignment(w: World) -> dict[str, Any]:
    """The first analyst's submitted assignment."""
    return {"pk": w.review_assignment.pk}


TABLE: dict[str, Entry] = {
    # --- Public: health check, login and logout.
    "health/": Entry("annotations:health", allow(PUBLIC_405, GET=roles(200, 200, 200, 200, 200, 200))),
    "accounts/login/": Entry(
        "login",
        allow(
            PUBLIC_405,
            GET=roles(200, 200, 200, 200, 200, 200),
            # An empty form is shown again with its errors; Django's FormView treats PUT as POST.
            POST=roles(200, 200, 200, 200, 200, 200),
            PUT=roles(200, 200, 200, 200, 200, 200),
        ),
    ),
    "accounts/logout/": Entry("logout", allow(PUBLIC_405, POST=roles(LOGIN, LOGIN, LOGIN, LOGIN, LOGIN, LOGIN))),
    # --- The workspace.
    # A researcher has no queue: they land on the dataset page.
    "": Entry("annotations:home", allow(PAGE_405, GET=roles(LOGIN, 200, 200, 200, 302, 200))),
    # --- The guidelines: every member reads (role check before the method check), reviewers write.
    "guidelines/": Entry("annotations:guidelines", allow(PAGE_405, GET=EVERYONE_IN)),
    "guidelines/v<int:number>/": Entry(
        "annotations:guidelines-version", allow(PAGE_405, GET=EVERYONE_IN), lambda w: {"number": 1}
    ),
    "guidelines/edit/": Entry(
        "annotations:guidelines-edit",
        allow(REVIEW_405, GET=REVIEWERS, POST=REVIEW_ACTION),
        body=lambda w: {"body": "# Rules\n\nMark what is said.", "note": "Second version"},
    ),
    "dataset/": Entry(
        "annotations:dataset",
        allow(roles(LOGIN, 403, 403, 405, 405, 405), GET=roles(LOGIN, 403, 403, 200, 200, 200)),
    ),
    # --- Stance statistics: whoever reads curated quotes (analysts, reviewers, researchers); read-only.
    "compare/": Entry("annotations:compare", allow(PAGE_405, GET=EVERYONE_IN)),
    "targets/<slug:slug>/": Entry(
        "annotations:target-detail", allow(PAGE_405, GET=EVERYONE_IN), lambda w: {"slug": w.target.slug}
    ),
    "next/": Entry("annotations:next-article", allow(ANALYST_405, POST=ANALYST_ACTION)),
    "articles/new/": Entry(
        "annotations:article-new",
        allow(ANALYST_405, GET=ANALYSTS, POST=ANALYST_ACTION),
        body=lambda w: {"title": "A new article", "text": "A new article's text.", "language": "en"},
    ),
    "articles/upload/": Entry(
        "annotations:article-upload",
        allow(REVIEW_405, GET=REVIEWERS, POST=REVIEWERS),
        body=lambda w: {
            "file": SimpleUploadedFile("articles.jsonl", b'{"title": "Uploaded", "text": "An uploaded text."}\n')
        },
    ),
    "articles/<int:pk>/annotate/": Entry("annotations:article-annotate", allow(PAGE_405, GET=DRAFT), mine_article),
    "articles/<int:pk>/quotes/new/": Entry(
        "annotations:quote-new",
        allow(PAGE_405, GET=DRAFT, POST=roles(LOGIN, 302, 404, 302, 404, 302)),
        mine_article,
        query=lambda w: "?start=1&end=5",
        body=quote_form,
    ),
    "articles/<int:pk>/submit/": Entry(
        "annotations:article-submit",
        # Only the article's own annotator has an assignment to submit.
        allow(PAGE_405, GET=roles(LOGIN, 200, 404, 404, 404, 404), POST=roles(LOGIN, 302, 404, 404, 404, 404)),
        mine_article,
    ),
    # The detector's suggestion on the first analyst's draft: theirs and the reviewers' to decide.
    "suggestions/<int:pk>/": Entry(
        "annotations:suggestion-detail",
        allow(ANALYST_405, GET=roles(LOGIN, 200, 404, 200, 403, 200)),
        mine_suggestion,
    ),
    "suggestions/<int:pk>/accept/": Entry(
        "annotations:suggestion-accept",
        allow(ANALYST_405, POST=roles(LOGIN, 302, 404, 302, 403, 302)),
        mine_suggestion,
    ),
    "suggestions/<int:pk>/reject/": Entry(
        "annotations:suggestion-reject",
        allow(ANALYST_405, POST=roles(LOGIN, 302, 404, 302, 403, 302)),
        mine_suggestion,
    ),
    "suggestions/<int:pk>/correct/": Entry(
        "annotations:suggestion-correct",
        allow(ANALYST_405, GET=roles(LOGIN, 200, 404, 200, 403, 200), POST=roles(LOGIN, 302, 404, 302, 403, 302)),
        mine_suggestion,
        body=quote_form,
    ),
    "articles/<int:pk>/suggestions/accept-all/": Entry(
        "annotations:suggestions-accept-all",
        allow(ANALYST_405, GET=roles(LOGIN, 200, 404, 200, 403, 200), POST=roles(LOGIN, 302, 404, 302, 403, 302)),
        mine_article,
        body=lambda w: {"count": 1},
    ),
    "articles/<int:pk>/detect/": Entry(
        "annotations:article-detect",
        allow(ANALYST_405, GET=roles(LOGIN, 200, 404, 200, 403, 200), POST=roles(LOGIN, 302, 404, 302, 403, 302)),
        mine_article,
    ),
    "quotes/<int:pk>/": Entry(
        "annotations:quote-edit",
        allow(PAGE_405, GET=DRAFT, POST=roles(LOGIN, 302, 404, 302, 404, 302)),
        mine_quote,
        # No speaker: the edit makes the quote unattributed, which a quote may be.
        body=lambda w: quote_form(w, w.mine_quote),
    ),
    "quotes/<int:pk>/delete/": Entry(
        "annotations:quote-delete",
        allow(PAGE_405, GET=DRAFT, POST=roles(LOGIN, 302, 404, 302, 404, 302)),
        mine_quote,
        body=lambda w: {"version": w.mine_quote.version},
    ),
    # The world's quote was made by a factory, so its last change is nobody's to undo:
    # those who may see it are sent back with the refusal; a stranger gets 404.
    "quotes/<int:pk>/undo/": Entry(
        "annotations:quote-undo",
        allow(ANALYST_405, POST=roles(LOGIN, 302, 404, 302, 403, 302)),
        mine_quote,
        body=lambda w: {"change": Quote.last_change_id(w.mine_quote.pk)},
    ),
    "quotes/<int:pk>/comments/": Entry(
        "annotations:quote-comments",
        allow(PAGE_405, GET=DRAFT, POST=roles(LOGIN, 302, 404, 302, 404, 302)),
        mine_quote,
        body=lambda w: {"body": "Why direct?"},
    ),
    "speakers/search/": Entry(
        "annotations:speaker-search",
        allow(ANALYST_405, GET=ANALYSTS),
        query=lambda w: f"?q=Gallant&article={w.mine_article.pk}",
    ),
    "speakers/new/": Entry(
        "annotations:speaker-new",
        allow(ANALYST_405, GET=ANALYSTS, POST=ANALYST_ACTION),
        body=lambda w: {"name": "Ned Price", "kind": "person", "country": "US"},
    ),
    # --- The speakers: whoever reads curated quotes reads them (role check first); reviewers correct.
    "speakers/": Entry("annotations:speaker-index", allow(PAGE_405, GET=EVERYONE_IN), query=lambda w: "?q=gall"),
    "speakers/<int:pk>/": Entry(
        "annotations:speaker-detail", allow(PAGE_405, GET=EVERYONE_IN), speaker, query=lambda w: "?label=oppose"
    ),
    "speakers/<int:pk>/edit/": Entry(
        "annotations:speaker-edit",
        allow(REVIEW_405, POST=REVIEW_ACTION),
        speaker,
        body=lambda w: {"edit-name": "Yoav Gallant", "edit-kind": "person", "edit-country": "IL"},
    ),
    "speakers/<int:pk>/aliases/": Entry(
        "annotations:speaker-alias-add",
        allow(REVIEW_405, POST=REVIEW_ACTION),
        speaker,
        body=lambda w: {"alias-name": "Y. G."},
    ),
    "speakers/<int:pk>/roles/": Entry(
        "annotations:speaker-role-add",
        allow(REVIEW_405, POST=REVIEW_ACTION),
        speaker,
        body=lambda w: {"role-title": "Major General"},
    ),
    "speakers/<int:pk>/merge/": Entry(
        "annotations:speaker-merge",
        allow(REVIEW_405, GET=REVIEWERS, POST=REVIEW_ACTION),
        speaker,
        query=lambda w: f"?duplicate={w.duplicate_speaker.pk}",
        body=lambda w: {"duplicate": w.duplicate_speaker.pk},
    ),
    "targets/search/": Entry("annotations:target-search", allow(ANALYST_405, GET=ANALYSTS), query=lambda w: "?q=iran"),
    "targets/new/": Entry(
        "annotations:target-new",
        allow(REVIEW_405, GET=REVIEWERS, POST=REVIEW_ACTION),
        body=lambda w: {"name": "Return to the JCPOA", "slug": "jcpoa-return"},
    ),
    "targets/propose/": Entry(
        "annotations:target-propose",
        allow(ANALYST_405, GET=ANALYSTS, POST=ANALYST_ACTION),
        body=lambda w: {"name": "Return to the JCPOA", "parent": w.target.pk},
    ),
    "labels.css": Entry("annotations:label-styles", allow(PAGE_405, GET=EVERYONE_IN)),
    # --- Review, curation and agreement.
    "review/": Entry("annotations:review-queue", allow(REVIEW_405, GET=roles(LOGIN, 403, 403, 200, 403, 200))),
    "review/assign/": Entry(
        "annotations:review-assign",
        allow(REVIEW_405, GET=roles(LOGIN, 403, 403, 200, 403, 200), POST=REVIEW_ACTION),
        body=lambda w: {"articles": [w.pool_article.pk], "per_article": 1},
    ),
    "review/agreement/": Entry(
        "annotations:review-agreement",
        # Reviewers and researchers (@role_required, before the method check).
        allow(roles(LOGIN, 403, 403, 405, 405, 405), GET=roles(LOGIN, 403, 403, 200, 200, 200)),
    ),
    "review/targets/": Entry("annotations:target-proposals", allow(REVIEW_405, GET=REVIEWERS)),
    "review/targets/<int:pk>/accept/": Entry(
        "annotations:target-proposal-accept",
        allow(REVIEW_405, POST=REVIEW_ACTION),
        lambda w: {"pk": w.proposal.pk},
        body=lambda w: {f"t{w.proposal.pk}-name": "Snapback of UN sanctions", f"t{w.proposal.pk}-parent": w.target.pk},
    ),
    "review/targets/<int:pk>/merge/": Entry(
        "annotations:target-proposal-merge",
        allow(REVIEW_405, POST=REVIEW_ACTION),
        lambda w: {"pk": w.proposal.pk},
        body=lambda w: {"into": w.target.pk},
    ),
    "review/detector/": Entry(
        "annotations:review-detector",
        allow(REVIEW_405, GET=REVIEWERS),
    ),
    "review/articles/<int:pk>/": Entry(
        "annotations:review-article",
        allow(REVIEW_405, GET=roles(LOGIN, 403, 403, 200, 403, 200)),
        review_article,
    ),
    "review/articles/<int:pk>/accept/": Entry(
        "annotations:review-accept",
        allow(REVIEW_405, POST=REVIEW_ACTION),
        review_article,
        body=lambda w: {"quote": w.review_mine.pk},
    ),
    "review/articles/<int:pk>/accept-agreed/": Entry(
        "annotations:review-accept-agreed", allow(REVIEW_405, POST=REVIEW_ACTION), review_article
    ),
    "review/articles/<int:pk>/add/": Entry(
        "annotations:review-add-quote",
        allow(REVIEW_405, POST=REVIEW_ACTION),
        review_article,
        body=lambda w: {"exact": "talks were “at a dead end.”", "occurrence": 1, "kind": "indirect"},
    ),
    "review/articles/<int:pk>/send-back/": Entry(
        "annotations:review-send-back",
        allow(REVIEW_405, POST=REVIEW_ACTION),
        review_article,
        body=lambda w: {"assignment": w.review_assignment.pk, "comment": "Look at row 2 again."},
    ),
    "review/articles/<int:pk>/mark-curated/": Entry(
        "annotations:review-mark-curated",
        allow(REVIEW_405, POST=REVIEW_ACTION),
        review_article,
        # The reviewer confirms the rows left undecided (without it the page asks, 422).
        body=lambda w: {"confirm_undecided": str(len(load_curation(w.review_article).undecided_rows))},
    ),
    "review/curated/<int:pk>/edit/": Entry(
        "annotations:review-edit-quote",
        allow(REVIEW_405, GET=roles(LOGIN, 403, 403, 200, 403, 200), POST=REVIEW_ACTION),
        curated_quote,
        body=lambda w: {
            "start": w.curated_quote.start,
            "end": w.curated_quote.end,
            "speaker": w.speaker.pk,
            "kind": "indirect",
            "cue": "said",
            "version": w.curated_quote.version,
            f"stance_{w.target.pk}": w.label.pk,
        },
    ),
    "review/curated/<int:pk>/drop/": Entry(
        "annotations:review-drop-quote",
        allow(REVIEW_405, POST=REVIEW_ACTION),
        curated_quote,
        body=lambda w: {"version": w.curated_quote.version},
    ),
    # As on the annotate page, the curated quote's last change is nobody's to undo:
    # reviewers are sent back with the refusal, every other role refused outright.
    "review/curated/<int:pk>/undo/": Entry(
        "annotations:review-undo-quote",
        allow(REVIEW_405, POST=REVIEW_ACTION),
        curated_quote,
        body=lambda w: {"change": Quote.last_change_id(w.curated_quote.pk)},
    ),
    "review/quotes/<int:pk>/history/": Entry("annotations:quote-history", allow(PAGE_405, GET=DRAFT), mine_quote),
    # --- API tokens: everyone has their own; the first analyst's token is theirs alone.
    "tokens/": Entry(
        "annotations:token-list",
        allow(PAGE_405, GET=EVERYONE_IN, POST=EVERYONE_IN),
        body=lambda w: {"name": "lab server", "days": 30},
    ),
    "tokens/<str:digest>/revoke/": Entry(
        "annotations:token-revoke",
        allow(PAGE_405, POST=roles(LOGIN, 302, 404, 404, 404, 404)),
        lambda w: {"digest": w.analyst_token_digest},
    ),
    # --- The API: a token for every role; anonymous callers get 401.
    "api/v1/": Entry("api:api-root", allow(API_405, GET=API_READ)),
    "api/schema/": Entry("api:schema", allow(PUBLIC_405, GET=roles(200, 200, 200, 200, 200, 200))),
    "api/docs/": Entry("api:docs", allow(PUBLIC_405, GET=roles(200, 200, 200, 200, 200, 200))),
    "api/v1/articles/$": Entry(
        "api:article-list",
        allow(API_WRITE_405, GET=API_READ, POST=roles(401, 201, 201, 201, 403, 201)),
        body=lambda w: {"title": "Posted", "text": "An article posted through the API."},
    ),
    "api/v1/articles/(?P<pk>[0-9]+)/$": Entry(
        "api:article-detail",
        allow(API_WRITE_405, GET=roles(401, 200, 404, 200, 404, 200)),
        mine_article,
        query=lambda w: "?include=text,quotes",
    ),
    "api/v1/quotes/$": Entry(
        "api:quote-list",
        # The second analyst can't point a quote at an article they can't see: "does not exist".
        allow(API_WRITE_405, GET=API_READ, POST=roles(401, 201, 400, 201, 403, 201)),
        body=new_api_quote,
    ),
    "api/v1/quotes/(?P<pk>[0-9]+)/$": Entry(
        "api:quote-detail",
        allow(
            API_WRITE_405,
            GET=roles(401, 200, 404, 200, 404, 200),
            PATCH=roles(401, 200, 404, 200, 403, 200),
            DELETE=roles(401, 204, 404, 204, 403, 204),
        ),
        mine_quote,
        body=lambda w: {"kind": "indirect"},
        headers=if_match,
    ),
    "api/v1/quotes/export/$": Entry(
        "api:quote-export", allow(API_WRITE_405, GET=API_READ), query=lambda w: "?format=jsonl"
    ),
    "api/v1/quotes/export": Entry(
        "api:quote-export-alias", allow(API_WRITE_405, GET=API_READ), query=lambda w: "?format=csv"
    ),
    "api/v1/quotes/import/$": Entry(
        "api:quote-import-spans",
        # The second analyst's file names the first analyst's article (by its text): refused, nothing written.
        allow(API_WRITE_405, GET=API_405, POST=roles(401, 201, 400, 201, 403, 201)),
        body=doccano_file,
        multipart=True,
    ),
    "api/v1/quotes/import": Entry(
        "api:quote-import-alias",
        allow(API_WRITE_405, GET=API_405, POST=roles(401, 201, 400, 201, 403, 201)),
        body=doccano_file,
        multipart=True,
    ),
    "api/v1/speakers/$": Entry("api:speaker-list", allow(API_405, GET=API_READ)),
    "api/v1/speakers/(?P<pk>[0-9]+)/$": Entry(
        "api:speaker-detail", allow(API_405, GET=API_READ), lambda w: {"pk": w.speaker.pk}
    ),
    "api/v1/targets/$": Entry("api:target-list", allow(API_405, GET=API_READ)),
    "api/v1/targets/(?P<slug>[-a-zA-Z0-9_]+)/$": Entry(
        "api:target-detail", allow(API_405, GET=API_READ), lambda w: {"slug": w.target.slug}
    ),
    "api/v1/stats/stance/": Entry("api:stats-stance", allow(API_WRITE_405, GET=API_READ)),
    "api/v1/stance-labels/$": Entry("api:stance-label-list", allow(API_405, GET=API_READ)),
    "api/v1/stance-labels/(?P<slug>[-a-zA-Z0-9_]+)/$": Entry(
        "api:stance-label-detail", allow(API_405, GET=API_READ), lambda w: {"slug": w.label.slug}
    ),
    "api/v1/releases/$": Entry(
        "api:release-list",
        allow(RELEASE_405, GET=RELEASE_READ, POST=roles(401, 403, 403, 201, 403, 201)),
        body=lambda w: {"name": "v2", "note": "Second release."},
    ),
    "api/v1/releases/(?P<pk>[0-9]+)/$": Entry(
        "api:release-detail", allow(RELEASE_405, GET=RELEASE_READ), lambda w: {"pk": w.release.pk}
    ),
    "api/v1/releases/(?P<pk>[0-9]+)/files/(?P<fmt>[a-z0-9]+)/$": Entry(
        "api:release-file", allow(RELEASE_405, GET=RELEASE_READ), release_file
    ),
    "api/v1/releases/<int:pk>/files/<str:fmt>": Entry(
        "api:release-file-alias", allow(RELEASE_405, GET=RELEASE_READ), release_file
    ),
    # Assignments: reviewers all, an analyst their own (another's is a 404), researchers none.
    "api/v1/assignments/$": Entry(
        "api:assignment-list",
        allow(ASSIGNMENT_405, GET=ASSIGNMENT_READ, POST=ASSIGN),
        body=lambda w: {"article": w.pool_article.pk, "annotator": "analyst2"},
    ),
    "api/v1/assignments/(?P<pk>[0-9]+)/$": Entry(
        "api:assignment-detail",
        allow(ASSIGNMENT_405, GET=roles(401, 200, 404, 200, 403, 200)),
        mine_assignment,
    ),
    "api/v1/assignments/bulk/$": Entry(
        "api:assignment-bulk",
        allow(ASSIGNMENT_405, GET=ASSIGNMENT_GET_405, POST=ASSIGN),
        body=lambda w: {"articles": [w.pool_article.pk], "per_article": 1},
    ),
    "api/v1/assignments/(?P<pk>[0-9]+)/send-back/$": Entry(
        "api:assignment-send-back",
        allow(ASSIGNMENT_405, GET=ASSIGNMENT_GET_405, POST=roles(401, 403, 403, 200, 403, 200)),
        review_assignment,
        body=lambda w: {"comment": "Look at row 2 again."},
    ),
    "api/v1/assignments/(?P<pk>[0-9]+)/submit/$": Entry(
        "api:assignment-submit",
        # Only the assignment's own analyst submits it: the second analyst can't see it (404), a
        # reviewer sees it but sends work back instead (403).
        allow(ASSIGNMENT_405, GET=ASSIGNMENT_GET_405, POST=roles(401, 200, 404, 403, 403, 403)),
        mine_assignment,
    ),
}


def is_api(route: str) -> bool:
    return route.startswith("api/")


def cells_of(route: str, entry: Entry) -> Iterator[tuple[str, str, bool]]:
    """(method, role, as htmx) for every cell of a route; HTML GETs also run as htmx fragments."""
    for method in METHODS:
        for role in ROLES:
            yield method, role, False
            if method == "GET" and not is_api(route):
                yield method, role, True


# --- The URLconf ------------------------------------------------------------------------------


def url_routes() -> dict[str, URLPattern]:
    """Every route of the URLconf, as ``ResolverMatch.route`` spells it, with its pattern."""
    routes: dict[str, URLPattern] = {}

    def walk(patterns: list, prefix: str) -> None:
        for pattern in patterns:
            route = URLResolver._join_route(prefix, str(pattern.pattern))
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, route)
            else:
                routes[route] = pattern

    walk(get_resolver().url_patterns, "")
    return routes


def is_admin(route: str) -> bool:
    return route.startswith("admin/")


ADMIN_VALUES = {"app_label": "annotations", "url": "no-such-page/"}


def fill(route: str) -> str:
    """A URL for any route, its parameters filled with harmless values (for the admin family)."""
    url = re.sub(r"\(\?P<(\w+)>[^)]*\)", lambda m: ADMIN_VALUES.get(m.group(1), "1"), route)
    url = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: ADMIN_VALUES.get(m.group(1), "1"), url)
    url = re.sub(r"\([^)]*\)", "1", url)
    return "/" + url.replace("^", "").replace("$", "")


ADMIN_ROUTES = sorted(route for route in url_routes() if is_admin(route))
# What a non-staff role gets on these admin routes; every other admin route sends it to the admin login.
ADMIN_EXCEPTIONS: dict[tuple[str, str], Expect] = {
    ("admin/login/", "GET"): 200,
    ("admin/login/", "POST"): 200,  # the empty form again, with its errors
    ("admin/logout/", "GET"): ADMIN_INDEX,  # which then asks for the login
    ("admin/logout/", "POST"): ADMIN_INDEX,
}
# Tables the admin shows but never adds to by hand: django-axes' lockout records, and releases
# (frozen, made through the API).
ADMIN_NO_ADD = {
    "axes.AccessAttempt",
    "axes.AccessLog",
    "axes.AccessFailureLog",
    "annotations.Release",
    "django_tasks_database.DBTaskResult",  # results are written by the tasks backend, never by hand
    "annotations.ReleaseFile",
    "annotations.ApiTokenName",  # made on the tokens page, which shows the raw token once
    "annotations.Guidelines",  # a new version per save on the guidelines page
    "annotations.SpeakerMerge",  # a record of a merge made on the speaker's page
    "annotations.DetectionRun",  # written by detection, retried on the article's page
    "annotations.Suggestion",  # written by the detector
    "annotations.SuggestionDecision",  # made on the annotate page
    "annotations.CountryTally",  # moved by every change to the curated layer
    "annotations.SpeakerStanceTally",  # likewise
    "annotations.SpeakerQuoteTally",  # likewise
    "annotations.ThrottleCount",  # each API request counts itself
}


@dataclass(frozen=True)
class AdminPage:
    name: str
    model: type | None = None  # the change and history pages open the model's first row
    app_label: str = ""
    expected: Expect = 200


def admin_pages() -> list[AdminPage]:
    """The admin role's pages: index, app list, and four pages per registered model."""
    pages = [AdminPage("admin:index"), AdminPage("admin:app_list", app_label="annotations")]
    for model in admin.site._registry:
        prefix = f"admin:{model._meta.app_label}_{model._meta.model_name}"
        for page in ("changelist", "add", "change", "history"):
            no_add = page == "add" and model._meta.label in ADMIN_NO_ADD
            pages.append(AdminPage(f"{prefix}_{page}", model, expected=403 if no_add else 200))
    return pages


def admin_path(page: AdminPage) -> str:
    if page.app_label:
        return reverse(page.name, kwargs={"app_label": page.app_label})
    if page.name.endswith(("_change", "_history")):
        row = page.model._default_manager.order_by("pk").first()
        assert row is not None, f"the world has no {page.model._meta.label} to open"
        return reverse(page.name, args=[row.pk])
    return reverse(page.name)


MATRIX_CELLS = (
    sum(1 for route, entry in TABLE.items() for _ in cells_of(route, entry))
    + len(ADMIN_ROUTES) * len(NON_STAFF) * 2
    + len(admin_pages())
)
MATRIX_FLOOR = 3000


# --- Running cells ----------------------------------------------------------------------------


@dataclass
class Outcome:
    status: int
    location: str = ""
    content: bytes = b""
    changed: list[str] = field(default_factory=list)
    error: str = ""

    def describe(self) -> str:
        if self.error:
            return f"an exception: {self.error}"
        where = f" → {self.location}" if self.location else ""
        excerpt = f" {self.content[:200]!r}" if self.status >= 500 or self.status == 400 else ""
        return f"{self.status}{where}{excerpt}"


_shared: list[Client] = []


def shared_client() -> Client:
    """One test client for the whole module: a new one loads the middleware again, and
    whitenoise's scan of the static files then costs more than the request."""
    if not _shared:
        _shared.append(Client())
    client = _shared[0]
    client.cookies = SimpleCookie()
    return client


class Requester:
    """Sends one request as one role, inside a savepoint that is rolled back afterwards."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.cookies: dict[str, SimpleCookie] = {}
        for role in ROLES:
            client = shared_client()
            if role != "anonymous":
                client.force_login(world.users[role])
            self.cookies[role] = client.cookies
        self.baseline = snapshot()  # after the logins, which set last_login

    def client(self, role: str, *, api: bool) -> Client:
        client = shared_client()
        if not api:
            client.cookies = copy.deepcopy(self.cookies[role])  # a logout must not reach the next cell
        return client

    def send(
        self,
        role: str,
        method: str,
        path: str,
        *,
        body: dict[str, Any] | None = None,
        api: bool | None = None,
        multipart: bool = False,
        headers: dict[str, str] | None = None,
    ) -> Outcome:
        api = path.startswith("/api/") if api is None else api
        headers = dict(headers or {})
        client = self.client(role, api=api)
        if api and role != "anonymous":
            headers["HTTP_AUTHORIZATION"] = f"Token {self.world.api_tokens[role]}"
        try:
            with transaction.atomic():
                if method == "GET":
                    response = client.get(path, **headers)
                elif api and not multipart:
                    response = client.generic(
                        method, path, json.dumps(body or {}), content_type="application/json", **headers
                    )
                else:
                    data = encode_multipart(BOUNDARY, body or {})
                    response = client.generic(method, path, data, content_type=MULTIPART_CONTENT, **headers)
                outcome = Outcome(response.status_code, response.get("Location", ""), read(response))
                outcome.changed = changed_tables(self.baseline, snapshot())
                transaction.set_rollback(True)
        except Exception as error:  # a 500: the cell reports it instead of stopping the run
            return Outcome(500, error=f"{type(error).__name__}: {error}")
        return outcome


def read(response: HttpResponse) -> bytes:
    # The test client closes a response itself (at the end of a streamed one); closing it again
    # here would fire request_finished, which closes the database connection of the test.
    content = b"".join(response.streaming_content) if response.streaming else response.content
    if response.get("Content-Type") == EXPORT_FORMATS["xlsx"].media_type and response.status_code == 200:
        # An XLSX is a zip, compressed: its parts' XML, where a leaked marker would show.
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            return b"".join(archive.read(name) for name in archive.namelist())
    return content


def meets(expected: Expect, outcome: Outcome) -> bool:
    if outcome.error:
        return False
    if expected == LOGIN:
        return outcome.status == 302 and outcome.location.startswith(reverse("login"))
    if expected == ADMIN_LOGIN:
        return outcome.status == 302 and outcome.location.startswith(reverse("admin:login"))
    if expected == ADMIN_INDEX:
        return outcome.status == 302 and outcome.location == reverse("admin:index")
    if outcome.status != expected:
        return False
    if outcome.status == 302:  # a logged-in user sent to a login page was refused, not served
        return not outcome.location.startswith((reverse("login"), reverse("admin:login")))
    return True


def refused(expected: Expect) -> bool:
    return expected in (LOGIN, ADMIN_LOGIN, ADMIN_INDEX) or (isinstance(expected, int) and expected >= 400)


def check_cell(
    requester: Requester,
    failures: list[str],
    label: str,
    role: str,
    method: str,
    expected: Expect,
    path: str,
    **options: Any,
) -> None:
    outcome = requester.send(role, method, path, **options)
    if not meets(expected, outcome):
        failures.append(f"{label} | {method} | {role}: expected {expected}, got {outcome.describe()}")
    # A read, or a write that is refused, leaves every row as it was.
    if outcome.changed and (method == "GET" or refused(expected)):
        failures.append(
            f"{label} | {method} | {role}: answered {outcome.status} but changed {', '.join(outcome.changed)}"
        )


# --- The tests ---------------------------------------------------------------------------------


def test_every_route_has_an_entry_and_every_entry_a_route():
    routes = {route for route in url_routes() if not is_admin(route)}
    missing = sorted(routes - set(TABLE))
    stale = sorted(set(TABLE) - routes)
    assert not (missing or stale), (
        f"Routes without an entry in TABLE (add one per route): {missing}; "
        f"entries in TABLE for routes that no longer exist: {stale}"
    )


def test_every_entry_names_every_role_for_every_method():
    incomplete = [
        f"{route} {method}"
        for route, entry in TABLE.items()
        for method in METHODS
        if set(entry.expect.get(method, {})) != set(ROLES)
    ]
    assert not incomplete
    assert set().union(*(entry.expect for entry in TABLE.values())) == set(METHODS)


def test_every_entry_reaches_its_own_route(world):
    wrong = {}
    for route, entry in TABLE.items():
        path = reverse(entry.name, kwargs=entry.params(world))
        if resolve(path).route != route:
            wrong[route] = resolve(path).route
    assert not wrong, f"entry → the route its URL reaches instead: {wrong}"


def test_every_admin_url_reaches_its_own_route():
    wrong = {route: resolve(fill(route)).route for route in ADMIN_ROUTES if resolve(fill(route)).route != route}
    assert not wrong


@pytest.mark.parametrize("cells", [MATRIX_CELLS], ids=[f"{MATRIX_CELLS} cells"])
def test_the_matrix_is_as_big_as_announced(cells):
    """Routes × roles × methods actually requested (HTML GETs twice), admin family included."""
    assert cells >= MATRIX_FLOOR, f"the matrix shrank to {cells} cells"


@pytest.mark.parametrize("route", list(TABLE))
def test_access_matrix(route, world):
    entry = TABLE[route]
    requester = Requester(world)
    path = reverse(entry.name, kwargs=entry.params(world))
    failures: list[str] = []
    for method, role, htmx in cells_of(route, entry):
        headers = {**entry.headers(world), **(HTMX if htmx else {})}
        check_cell(
            requester,
            failures,
            route + (" (htmx)" if htmx else ""),
            role,
            method,
            entry.expect[method][role],
            path + (entry.query(world) if method == "GET" else ""),
            body=None if method == "GET" else entry.body(world),
            api=is_api(route),
            multipart=entry.multipart,
            headers=headers,
        )
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("role", NON_STAFF)
def test_the_admin_sends_everyone_but_the_admin_to_its_login(role, world):
    requester = Requester(world)
    failures: list[str] = []
    for route in ADMIN_ROUTES:
        for method in ("GET", "POST"):
            expected = ADMIN_EXCEPTIONS.get((route, method), ADMIN_LOGIN)
            check_cell(requester, failures, route, role, method, expected, fill(route), body={}, api=False)
    assert not failures, "\n".join(failures)


def test_the_admin_opens_every_registered_models_pages(world):
    requester = Requester(world)
    failures: list[str] = []
    for page in admin_pages():
        check_cell(requester, failures, page.name, "admin", "GET", page.expected, admin_path(page), api=False)
    assert not failures, "\n".join(failures)


# --- A curated article: every role reads it, only reviewers write to it ----------------------------
#
# One rule for the curated dataset: whoever reads curated quotes (analysts, reviewers, researchers)
# reads the curated articles they sit on. Analysts still can't annotate one (annotatable_by keeps to
# open articles), and it is not work in their queue. The second analyst never worked on it; the
# first analyst's assignment on it is reviewed, which locks it for them too.


def curated_quote_form(w: World) -> dict[str, Any]:
    text = w.curated_article.text
    return {**quote_form(w), "start": 0, "end": 12, "text": text[:12]}


def curated_api_quote(w: World) -> dict[str, Any]:
    text = w.curated_article.text
    return {"article": w.curated_article.pk, "start": 0, "end": 12, "text": text[:12], "kind": "direct"}


CURATED_CELLS: list[tuple[str, Callable[[World], str], Callable[[World], dict[str, Any]] | None, dict[str, Expect]]] = [
    (
        "GET",
        lambda w: f"/api/v1/articles/{w.curated_article.pk}/?include=text,quotes",
        None,
        roles(401, 200, 200, 200, 200, 200),
    ),
    ("GET", lambda w: f"/articles/{w.curated_article.pk}/annotate/", None, roles(LOGIN, 200, 200, 200, 200, 200)),
    (
        "GET",
        lambda w: f"/articles/{w.curated_article.pk}/annotate/?layer=curated",
        None,
        roles(LOGIN, 200, 200, 200, 200, 200),
    ),
    # Reviewers may add quotes to any article (annotatable_by); nobody else to a curated one.
    (
        "POST",
        lambda w: f"/articles/{w.curated_article.pk}/quotes/new/",
        curated_quote_form,
        roles(LOGIN, 404, 404, 302, 404, 302),
    ),
    # The API says why: the article can be read, not annotated.
    ("POST", lambda w: "/api/v1/quotes/", curated_api_quote, roles(401, 403, 403, 201, 403, 201)),
]


@pytest.mark.parametrize("cell", range(len(CURATED_CELLS)), ids=lambda i: f"{CURATED_CELLS[i][0]} {i}")
def test_a_curated_article_is_read_by_every_role_and_annotated_only_by_reviewers(cell, world):
    method, path, body, expected = CURATED_CELLS[cell]
    requester = Requester(world)
    failures: list[str] = []
    for role in ROLES:
        check_cell(
            requester,
            failures,
            path(world),
            role,
            method,
            expected[role],
            path(world),
            body=body(world) if body else None,
        )
    assert not failures, "\n".join(failures)


def test_an_analyst_reads_the_curated_article_with_its_curated_quotes_and_no_form(world):
    requester = Requester(world)
    page = requester.send("second_analyst", "GET", f"/articles/{world.curated_article.pk}/annotate/")
    assert page.status == 200
    assert f"quote-{world.curated_quote.pk}".encode() in page.content
    assert b"quote-form" not in page.content and b"can't add quotes" in page.content
    api = requester.send("second_analyst", "GET", f"/api/v1/articles/{world.curated_article.pk}/?include=quotes")
    assert [quote["id"] for quote in json_of(api)["quotes"]] == [world.curated_quote.pk]
    assert world.curated_article.pk in ids_of(requester.send("second_analyst", "GET", "/api/v1/articles/"))


def test_a_curated_article_is_not_work_in_an_analysts_queue(world):
    requester = Requester(world)
    title = world.curated_article.title.encode()
    assert title not in requester.send("second_analyst", "GET", "/").content
    assert title in requester.send("analyst", "GET", "/").content  # theirs: they annotated it
    assert title in requester.send("researcher", "GET", "/dataset/").content


# --- IDOR: another analyst's ids in query strings ------------------------------------------------

NOWHERE = 999_999_999  # an id no row has


def json_of(outcome: Outcome) -> Any:
    assert outcome.status < 500, outcome.describe()
    return json.loads(outcome.content)


def ids_of(outcome: Outcome) -> set[int]:
    return {row["id"] for row in json_of(outcome)["results"]}


def visible_quote_ids(user: Any, *, raw: bool) -> set[int]:
    return set(Quote.objects.visible_to(user).filter(is_curated=not raw).values_list("pk", flat=True))


@pytest.mark.parametrize(
    "query",
    [
        "/api/v1/quotes/?article={mine_article}",
        "/api/v1/quotes/?layer=raw&article={mine_article}",
        "/api/v1/quotes/?layer=raw&annotator={analyst}",
        "/api/v1/quotes/export?format=jsonl&layer=raw&article={mine_article}",
        "/api/v1/quotes/export?format=csv&article={mine_article}",
        "/api/v1/articles/?q={title_word}",
        "/speakers/search/?q=Gallant&article={mine_article}",
    ],
)
def test_a_stranger_id_in_a_query_answers_as_an_id_that_does_not_exist(query, world):
    """The second analyst filters by the first analyst's article, username or title: the answer is
    the one a missing id gets (an empty list), so it tells nothing, and no row changes."""
    requester = Requester(world)
    values = {"mine_article": world.mine_article.pk, "analyst": "analyst", "title_word": f"{MARK}-title"}
    missing = {"mine_article": NOWHERE, "analyst": "nobody-at-all", "title_word": "no-such-title-word"}
    hidden = requester.send("second_analyst", "GET", query.format(**values))
    absent = requester.send("second_analyst", "GET", query.format(**missing))
    assert hidden.status == absent.status == 200
    assert hidden.content.replace(str(NOWHERE).encode(), b"") == absent.content.replace(str(NOWHERE).encode(), b"")
    assert not PLANTED.search(hidden.content)
    assert not hidden.changed


def test_the_raw_layer_of_a_shared_article_holds_only_the_second_analysts_own_quotes(world):
    requester = Requester(world)
    second = world.users["second_analyst"]
    own = visible_quote_ids(second, raw=True)
    article = requester.send(
        "second_analyst", "GET", f"/api/v1/articles/{world.review_article.pk}/?include=quotes&layer=raw"
    )
    assert {quote["id"] for quote in json_of(article)["quotes"]} == own & set(
        world.review_article.quotes.values_list("pk", flat=True)
    )
    by_speaker = requester.send("second_analyst", "GET", f"/api/v1/quotes/?layer=raw&speaker={world.speaker.pk}")
    assert ids_of(by_speaker) == own
    assert world.review_mine.pk not in ids_of(by_speaker)
    page = requester.send("second_analyst", "GET", f"/articles/{world.review_article.pk}/annotate/?layer=raw")
    assert page.status == 200
    assert f"quote-{world.review_mine.pk}".encode() not in page.content
    assert f"quote-{world.review_theirs.pk}".encode() in page.content


@pytest.mark.parametrize(
    ("role", "query", "status"),
    [
        ("second_analyst", "/api/v1/quotes/?annotator=analyst", 400),  # the annotator filter needs layer=raw
        ("researcher", "/api/v1/quotes/?layer=raw&annotator=analyst", 403),
        ("researcher", "/api/v1/quotes/export?format=jsonl&layer=raw&article={mine_article}", 403),
        ("researcher", "/api/v1/articles/{review_article}/?include=quotes&layer=raw", 403),
        ("second_analyst", "/api/v1/quotes/?quote={mine_quote}", 400),  # unknown parameters are refused
        ("second_analyst", "/api/v1/quotes/?parent={mine_quote}", 400),
        ("second_analyst", "/api/v1/quotes/?annotator__username=analyst&layer=raw", 400),
        ("second_analyst", "/articles/{mine_article}/quotes/new/?start=1&end=20", 404),
        ("second_analyst", "/articles/{mine_article}/annotate/?layer=curated", 404),
    ],
)
def test_a_stranger_id_in_a_query_is_refused(role, query, status, world):
    requester = Requester(world)
    path = query.format(
        mine_article=world.mine_article.pk, mine_quote=world.mine_quote.pk, review_article=world.review_article.pk
    )
    outcome = requester.send(role, "GET", path)
    assert outcome.status == status, outcome.describe()
    assert not PLANTED.search(outcome.content)
    assert not outcome.changed


# --- IDOR: another analyst's ids in bodies -------------------------------------------------------


def stance_row(w: World, stance: Stance, **extra: Any) -> dict[str, Any]:
    """A stance formset with one existing row: the id of ``stance``."""
    return {
        "stances-TOTAL_FORMS": 1,
        "stances-INITIAL_FORMS": 1,
        "stances-0-id": stance.pk,
        "stances-0-target": w.target.pk,
        "stances-0-label": w.label.pk,
        "stances-0-intensity": 3,
        "stances-0-note": "rewritten by the second analyst",
        **extra,
    }


# A row whose id is not one of the quote's own stances refuses the whole form with 422 and a
# message to act on: nothing is written, neither the stance nor the rest of the form.
UNKNOWN_STANCE = b"refers to a stance this quote"


@pytest.mark.parametrize("delete", [False, True], ids=["change", "delete"])
def test_a_stance_id_of_the_first_analyst_in_the_second_analysts_quote_form_changes_nothing(delete, world):
    requester = Requester(world)
    url = reverse("annotations:quote-edit", args=[world.theirs_quote.pk])
    extra = {"stances-0-DELETE": "on"} if delete else {}
    body = {**quote_form(world, world.theirs_quote), **stance_row(world, world.mine_stance, **extra)}
    body["speaker"] = world.speaker.pk
    outcome = requester.send("second_analyst", "POST", url, body=body)
    assert outcome.status == 422, outcome.describe()
    assert UNKNOWN_STANCE in outcome.content
    assert not outcome.changed, outcome.changed


def test_a_stance_id_of_the_first_analyst_in_a_new_quote_changes_nothing(world):
    requester = Requester(world)
    url = reverse("annotations:quote-new", args=[world.theirs_article.pk])
    start, end = span_of(world.theirs_article.text, "The spokesman added")
    body = {**quote_form(world), "start": start, "end": end, "text": world.theirs_article.text[start:end]}
    outcome = requester.send("second_analyst", "POST", url, body={**body, **stance_row(world, world.mine_stance)})
    assert outcome.status == 422, outcome.describe()
    assert UNKNOWN_STANCE in outcome.content
    assert not outcome.changed, outcome.changed


def test_a_new_quote_belongs_to_its_author_whatever_the_form_says(world):
    """Mass assignment: annotator, curated flag and article are not the form's to set."""
    requester = Requester(world)
    second = world.users["second_analyst"]
    start, end = span_of(world.theirs_article.text, "The spokesman added")
    body = {
        **quote_form(world),
        "start": start,
        "end": end,
        "text": world.theirs_article.text[start:end],
        "annotator": world.users["analyst"].pk,
        "is_curated": "on",
        "article": world.mine_article.pk,
    }
    with transaction.atomic():
        response = requester.client("second_analyst", api=False).post(
            reverse("annotations:quote-new", args=[world.theirs_article.pk]), body
        )
        assert response.status_code == 302, response.content[:300]
        quote = Quote.objects.order_by("-pk").first()
        assert (quote.annotator, quote.is_curated, quote.article) == (second, False, world.theirs_article)
        transaction.set_rollback(True)


@pytest.mark.parametrize(
    ("field", "status"),
    [
        ("quote", 422),  # the first analyst's draft quote, on another article
        ("assignment", 422),  # the second analyst's assignment on another article
    ],
)
def test_a_reviewer_can_not_reach_another_articles_rows_through_one_articles_form(field, status, world):
    requester = Requester(world)
    body = {
        "quote": {"quote": world.mine_quote.pk},
        "assignment": {
            "assignment": Assignment.objects.get(article=world.theirs_article).pk,
            "comment": "Look again.",
        },
    }[field]
    name = {"quote": "annotations:review-accept", "assignment": "annotations:review-send-back"}[field]
    outcome = requester.send("reviewer", "POST", reverse(name, args=[world.review_article.pk]), body=body, headers=HTMX)
    assert outcome.status == status, outcome.describe()
    assert not outcome.changed, outcome.changed


def test_the_api_refuses_a_stranger_article_as_it_refuses_a_missing_one(world):
    requester = Requester(world)
    hidden = requester.send("second_analyst", "POST", "/api/v1/quotes/", body=new_api_quote(world))
    absent = requester.send(
        "second_analyst", "POST", "/api/v1/quotes/", body={**new_api_quote(world), "article": NOWHERE}
    )
    assert hidden.status == absent.status == 400
    hidden_errors = json.dumps(json_of(hidden)).replace(str(world.mine_article.pk), "ID")
    assert hidden_errors == json.dumps(json_of(absent)).replace(str(NOWHERE), "ID")
    assert not hidden.changed


@pytest.mark.parametrize("method", ["POST", "PATCH"])
def test_the_api_refuses_a_stranger_quote_as_parent(method, world):
    requester = Requester(world)
    start, end = span_of(world.theirs_article.text, "The spokesman added")
    body = {
        "article": world.theirs_article.pk,
        "start": start,
        "end": end,
        "text": world.theirs_article.text[start:end],
        "parent": world.mine_quote.pk,
    }
    path = "/api/v1/quotes/"
    headers = {}
    if method == "PATCH":
        path = f"/api/v1/quotes/{world.theirs_quote.pk}/"
        body = {"parent": world.mine_quote.pk}
        headers = {"HTTP_IF_MATCH": f'"{world.theirs_quote.version}"'}
    outcome = requester.send("second_analyst", method, path, body=body, headers=headers)
    assert outcome.status == 400, outcome.describe()
    assert "parent" in json_of(outcome)
    assert not outcome.changed, outcome.changed


def test_the_api_never_moves_a_quote_to_another_article_nor_gives_it_away(world):
    """PATCH can't set article (read-only once made), annotator or the curated flag: it is refused
    naming each, and nothing changes (these fields were once ignored and the rest applied)."""
    requester = Requester(world)
    body = {
        "article": world.mine_article.pk,
        "annotator": world.users["analyst"].pk,
        "is_curated": True,
        "layer": "curated",
        "kind": "mixed",
    }
    headers = {"HTTP_IF_MATCH": f'"{world.theirs_quote.version}"'}
    client = requester.client("second_analyst", api=True)
    with transaction.atomic():
        response = client.patch(
            f"/api/v1/quotes/{world.theirs_quote.pk}/",
            json.dumps(body),
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Token {world.api_tokens['second_analyst']}",
            **headers,
        )
        assert response.status_code == 400, response.content[:300]
        assert {"article", "annotator", "is_curated", "layer"} <= set(response.json())
        quote = Quote.objects.get(pk=world.theirs_quote.pk)
        second = world.users["second_analyst"]
        assert (quote.article, quote.annotator, quote.is_curated, quote.kind) == (
            world.theirs_article,
            second,
            False,
            world.theirs_quote.kind,
        )
        mine = snapshot()["annotations_article"]
        transaction.set_rollback(True)
    assert mine == requester.baseline["annotations_article"]


def test_a_span_file_naming_a_stranger_article_writes_nothing(world):
    requester = Requester(world)
    outcome = requester.send(
        "second_analyst", "POST", "/api/v1/quotes/import", body=doccano_file(world), multipart=True
    )
    assert outcome.status == 400, outcome.describe()
    report = json_of(outcome)
    assert report["quotes_created"] == 0
    assert not PLANTED.search(outcome.content)
    assert not outcome.changed, outcome.changed


# --- No leak: lists, fragments, searches and exports ---------------------------------------------


def leak_paths(w: World, role: str) -> list[tuple[str, bool]]:
    """(path, as htmx) of every list, fragment, search and export a role can ask for."""
    own_article = w.theirs_article if role == "second_analyst" else w.curated_article
    pages = [
        "/",
        "/dataset/",
        f"/?q={SEARCH}",
        "/?q=7f3a",
        "/review/",
        "/review/agreement/",
        f"/speakers/search/?q=Gallant&article={w.mine_article.pk}",
        f"/speakers/search/?speaker_query=Gallant&article={w.review_article.pk}",
        f"/speakers/search/?q={SEARCH}",
        "/speakers/",
        f"/speakers/?q={SEARCH}",
        "/speakers/?ordering=-quote_count&q=Gallant",
        f"/speakers/{w.speaker.pk}/",
        f"/speakers/{w.speaker.pk}/?target=iran-nuclear&label=oppose",
        "/targets/search/?q=iran",
        f"/targets/search/?q={SEARCH}",
        "/labels.css",
        "/tokens/",
        f"/articles/{own_article.pk}/annotate/",
        f"/articles/{own_article.pk}/annotate/?layer=curated",
        f"/articles/{own_article.pk}/annotate/?fragment=quote-list",
        f"/articles/{own_article.pk}/annotate/?fragment=article-text",
        f"/articles/{w.review_article.pk}/annotate/",
        f"/articles/{w.review_article.pk}/annotate/?fragment=quote-list",
        f"/articles/{w.mine_article.pk}/annotate/",
        f"/quotes/{w.theirs_quote.pk}/",
        f"/quotes/{w.review_theirs.pk}/",
        f"/quotes/{w.review_theirs.pk}/comments/",
        f"/review/quotes/{w.review_theirs.pk}/history/",
        f"/quotes/{w.mine_quote.pk}/",
        f"/quotes/{w.review_mine.pk}/comments/",
        f"/review/quotes/{w.review_mine.pk}/history/",
    ]
    api = [
        "/api/v1/articles/",
        "/api/v1/articles/?include=text,quotes",
        "/api/v1/articles/?include=text,quotes&layer=raw",
        f"/api/v1/articles/?q={SEARCH}",
        f"/api/v1/articles/{w.review_article.pk}/?include=text,quotes&layer=raw",
        f"/api/v1/articles/{w.curated_article.pk}/?include=text,quotes",
        "/api/v1/quotes/",
        "/api/v1/quotes/?layer=raw",
        f"/api/v1/quotes/?q={SEARCH}",
        f"/api/v1/quotes/?layer=raw&q={SEARCH}",
        f"/api/v1/quotes/?layer=raw&article={w.review_article.pk}",
        "/api/v1/quotes/?layer=raw&annotator=analyst",
        f"/api/v1/quotes/?layer=raw&speaker={w.speaker.pk}",
        f"/api/v1/quotes/{w.review_mine.pk}/",
        "/api/v1/speakers/",
        "/api/v1/speakers/?q=Gallant",
        "/api/v1/speakers/?ordering=-quote_count",
        f"/api/v1/speakers/{w.speaker.pk}/",
        "/api/v1/targets/",
        "/api/v1/stance-labels/",
        "/api/v1/releases/",
        f"/api/v1/releases/{w.release.pk}/",
        *(f"/api/v1/releases/{w.release.pk}/files/{fmt}" for fmt in services.RELEASE_FORMATS),
    ]
    for fmt in EXPORT_FORMATS:
        api += [
            f"/api/v1/quotes/export?format={fmt}",
            f"/api/v1/quotes/export?format={fmt}&layer=raw",
            f"/api/v1/quotes/export?format={fmt}&layer=raw&q={SEARCH}",
        ]
    return [(path, htmx) for path in pages for htmx in (False, True)] + [(path, False) for path in api]


@pytest.mark.parametrize("role", ["second_analyst", "researcher"])
def test_no_list_fragment_search_or_export_shows_the_first_analysts_unreviewed_work(role, world):
    requester = Requester(world)
    leaks, served = [], 0
    for path, htmx in leak_paths(world, role):
        outcome = requester.send(role, "GET", path, headers=HTMX if htmx else {})
        assert outcome.status < 500, f"{path}: {outcome.describe()}"
        served += outcome.status == 200
        found = sorted(set(PLANTED.findall(outcome.content)))
        if found:
            leaks.append(f"{path}{' (htmx)' if htmx else ''}: {[marker.decode() for marker in found]}")
    assert not leaks, "\n".join(leaks)
    assert served >= 40, "most of these are the role's own lists, served with 200"


OWNER_SEES = {
    f"/?q={SEARCH}": f"{MARK}-title",
    "/api/v1/quotes/?layer=raw": f"{MARK}-note",
    f"/api/v1/quotes/?layer=raw&q={SEARCH}": f"{MARK}-text",
    f"/api/v1/articles/?q={SEARCH}": f"{MARK}-title",
    f"/api/v1/quotes/export?format=labelstudio&layer=raw&q={SEARCH}": f"{MARK}-outlet",
    "/api/v1/quotes/export?format=csv&layer=raw": f"{MARK}-group",
    "/api/v1/quotes/export?format=xlsx&layer=raw": f"{MARK}-group",
    "/api/v1/quotes/export?format=jsonl&layer=raw": f"{MARK}-cue-submitted",
    "/api/v1/articles/?include=text,quotes&layer=raw": f"{MARK}-metadata",
    "/tokens/": f"{MARK}-token",
}


@pytest.mark.parametrize("path", list(OWNER_SEES))
def test_the_first_analyst_finds_the_markers_where_the_others_do_not(path, world):
    """The markers are findable: the test above could see a leak if there were one."""
    outcome = Requester(world).send("analyst", "GET", path)
    assert outcome.status == 200
    assert OWNER_SEES[path].encode() in outcome.content


def test_the_first_analysts_comment_is_in_their_own_thread(world):
    outcome = Requester(world).send("analyst", "GET", f"/quotes/{world.mine_quote.pk}/comments/")
    assert outcome.status == 200
    assert f"{MARK}-comment".encode() in outcome.content


@pytest.mark.parametrize("role", ROLES)
def test_stored_release_files_are_not_served_outside_the_api(role, world):
    requester = Requester(world)
    stored = ReleaseFile.objects.filter(release=world.release).first()
    for path in (f"/media/{stored.file.name}", f"/{stored.file.name}", "/media/"):
        outcome = requester.send(role, "GET", path, api=False)
        assert outcome.status == 404, f"{path}: {outcome.describe()}"
