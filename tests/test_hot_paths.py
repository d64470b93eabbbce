"""The analyst's hot paths, by their SQL queries: saving a quote (API and page),
listing an article's quotes, the annotate page, and a span import's batch.

Counts leave out authentication (the session or token, the user, their roles)
and savepoint statements: in a test every transaction is a savepoint inside
the test's own, where production runs BEGIN and COMMIT, which Django doesn't
log. The budgets are the queries each path needs: reading what it checks,
locking the assignment, the duplicate-span lookup, the writes with their
history rows, and the answer rendered once.
"""

# Shared fixtures are imported from test_api_support by name, which pyflakes
# reads as unused imports shadowed by the test arguments.
# ruff: noqa: F401, F811

from __future__ import annotations

import json
import logging

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from annotations.models import Assignment, Quote, StanceValues
from annotations.span_importers import import_spans

from .factories import (
    ArticleFactory,
    AssignmentFactory,
    QuoteFactory,
    SpeakerFactory,
    StanceFactory,
    StanceLabelFactory,
    TargetFactory,
)
from .test_api_support import api, isolated_media
from .test_workspace import quote_post, with_stance

pytestmark = pytest.mark.django_db
HX = {"HTTP_HX_REQUEST": "true"}
# Who is asking, and the API's rate limit (its count, one statement).
AUTHENTICATION = (
    'FROM "django_session"',
    'FROM "auth_user"',
    'FROM "knox_authtoken"',
    'FROM "auth_group"',
    'INTO "annotations_throttlecount"',
)


def work(queries: CaptureQueriesContext) -> list[str]:
    """The queries a request made past authentication, savepoints left out."""
    return [
        query["sql"]
        for query in queries.captured_queries
        if not any(marker in query["sql"] for marker in AUTHENTICATION)
        and not query["sql"].startswith(("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT"))
    ]


def assert_at_most(budget: int, queries: CaptureQueriesContext) -> None:
    done = work(queries)
    assert len(done) <= budget, "\n".join(f"{n}. {sql[:160]}" for n, sql in enumerate(done, start=1))
    assert not any('AS "_check"' in sql for sql in done), "a CHECK constraint asked of the database again"


@pytest.fixture
def stage(analyst, assigned_article):
    """The analyst at work on their article (assignment in progress), two targets, two labels, a speaker."""
    Assignment.objects.filter(article=assigned_article).update(status=Assignment.Status.IN_PROGRESS)
    return {
        "article": assigned_article,
        "targets": [TargetFactory(slug="t1"), TargetFactory(slug="t2")],
        "labels": [StanceLabelFactory(slug="support"), StanceLabelFactory(slug="oppose")],
        "speaker": SpeakerFactory(),
    }


def api_body(stage: dict, start: int = 1, end: int = 51) -> dict:
    article = stage["article"]
    return {
        "article": article.pk,
        "start": start,
        "end": end,
        "text": article.text[start:end],
        "speaker": stage["speaker"].pk,
        "stances": [{"target": "t1", "label": "support"}, {"target": "t2", "label": "oppose", "intensity": 2}],
    }


# --- Saving a quote ------------------------------------------------------------------


def test_an_api_post_with_two_stances_takes_at_most_13_queries(analyst, stage, api):
    """Article (with may-annotate), speaker, its roles, targets, labels; the assignment
    lock and the duplicate lookup; quote, its history, stances, theirs; the answer (2)."""
    client = api(analyst)
    with CaptureQueriesContext(connection) as queries:
        response = client.post("/api/v1/quotes/", api_body(stage), format="json")
    assert response.status_code == 201, response.content
    assert Quote.objects.get().stances.count() == 2
    assert_at_most(13, queries)


def test_an_api_post_of_a_plain_span_takes_5_queries_on_postgresql_7_elsewhere(analyst, stage, api):
    """The article (with may-annotate), the assignment lock, the duplicate lookup, the
    quote with its history row (one statement on PostgreSQL, two elsewhere), the answer
    (written by PostgreSQL; two reads elsewhere): what the bench's save job posts."""
    article = stage["article"]
    body = {"article": article.pk, "start": 1, "end": 51, "text": article.text[1:51], "kind": "indirect"}
    client = api(analyst)
    with CaptureQueriesContext(connection) as queries:
        response = client.post("/api/v1/quotes/", body, format="json")
    assert response.status_code == 201, response.content
    quote = Quote.objects.get()
    assert quote.kind == Quote.Kind.INDIRECT
    assert_at_most(5 if connection.vendor == "postgresql" else 7, queries)
    # The history row written with it is the quote as stored, by its writer.
    (record,) = quote.history.all()
    assert (record.history_type, record.history_user, record.kind, record.text, record.version) == (
        "+",
        analyst,
        Quote.Kind.INDIRECT,
        article.text[1:51],
        1,
    )
    assert record.created_at == quote.created_at
    assert response.json()["id"] == quote.pk


@pytest.mark.skipif(connection.vendor != "postgresql", reason="pipeline mode is PostgreSQL's")
def test_a_saves_lock_and_duplicate_lookup_go_in_one_round_trip_on_postgresql(analyst, stage, api):
    """The assignment's lock and the duplicate-span lookup are sent together; the lookup
    still finds a duplicate, and the lock still refuses a submitted article before the
    duplicate is named."""
    from psycopg import pq

    article = stage["article"]
    body = {"article": article.pk, "start": 1, "end": 51, "text": article.text[1:51]}
    client = api(analyst)
    pipelined = []

    def note(execute, sql, params, many, context):
        pipelined.append((connection.connection.pgconn.pipeline_status == pq.PipelineStatus.ON, sql))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(note):
        assert client.post("/api/v1/quotes/", body, format="json").status_code == 201
    together = [sql for on, sql in pipelined if on]
    assert len(together) == 2, [(on, sql[:80]) for on, sql in pipelined]
    assert "FOR UPDATE" in together[0] and 'FROM "annotations_quote"' in together[1]

    again = client.post("/api/v1/quotes/", body, format="json")
    assert again.status_code == 400 and "You already have this quote" in again.content.decode()
    # Submitted after the request's check: the lock refuses the write.
    Assignment.objects.filter(article=article, annotator=analyst).update(status=Assignment.Status.SUBMITTED)
    late = Quote(article=article, start=1, end=51, text=article.text[1:51], annotator=analyst)
    with pytest.raises(PermissionDenied, match="submitted this article meanwhile"):
        late.annotate(by=analyst)
    assert Quote.objects.count() == 1


def test_the_first_quote_on_a_pool_article_starts_the_assignment_in_one_more_query_on_postgresql(analyst, api):
    """The assignment, in progress, with its history row in the same statement (two elsewhere),
    as get_or_create and simple_history wrote them in five queries."""
    article = ArticleFactory(pool=True)
    body = {"article": article.pk, "start": 1, "end": 51, "text": article.text[1:51]}
    client = api(analyst)
    with CaptureQueriesContext(connection) as queries:
        response = client.post("/api/v1/quotes/", body, format="json")
    assert response.status_code == 201, response.content
    assert_at_most(6 if connection.vendor == "postgresql" else 9, queries)
    assignment = Assignment.objects.get(article=article, annotator=analyst)
    assert assignment.status == Assignment.Status.IN_PROGRESS
    history = list(assignment.history.all())
    assert [(row.history_type, row.history_user, row.status) for row in history] == [
        ("+", analyst, Assignment.Status.IN_PROGRESS)
    ]


def test_an_assignment_made_after_the_lock_looked_is_moved_on_not_made_twice(analyst):
    """hold_open found no assignment, but one exists by the time the quote is saved (the
    same analyst's other tab; a reviewer assigning the article): it is moved to in progress."""
    article = ArticleFactory(pool=True)
    assignment = AssignmentFactory(article=article, annotator=analyst, status=Assignment.Status.ASSIGNED)
    Assignment.start(article.pk, analyst, held=[])
    assignment.refresh_from_db()
    assert assignment.status == Assignment.Status.IN_PROGRESS
    assert Assignment.objects.filter(article=article, annotator=analyst).count() == 1
    Assignment.start(article.pk, analyst, held=[])  # in progress already: nothing more
    assert assignment.history.count() == 2  # made, then moved on


def test_an_api_patch_of_two_stances_takes_at_most_18_queries(analyst, stage, api):
    """The quote (with may-change) and its stances, the speaker's roles, targets, labels;
    lock and duplicate lookup; the version claim, the update, its history (with the
    curated_from it copies: 2 reads); two stances updated with their history; the answer."""
    client = api(analyst)
    pk = client.post("/api/v1/quotes/", api_body(stage), format="json").json()["id"]
    body = {
        "kind": "indirect",
        "stances": [{"target": "t1", "label": "oppose"}, {"target": "t2", "label": "oppose", "intensity": 3}],
    }
    with CaptureQueriesContext(connection) as queries:
        response = client.patch(f"/api/v1/quotes/{pk}/", body, format="json", HTTP_IF_MATCH='"1"')
    assert response.status_code == 200, response.content
    assert response["ETag"] == '"2"'
    assert_at_most(18, queries)


def test_an_htmx_create_with_two_stances_takes_at_most_13_queries(login, analyst, stage):
    article, (t1, t2), (support, oppose) = stage["article"], stage["targets"], stage["labels"]
    data = with_stance(quote_post(article, 1, 51, speaker=stage["speaker"].pk), 0, t1, support, 3)
    data = with_stance(data, 1, t2, oppose, 2)
    client = login(analyst)
    with CaptureQueriesContext(connection) as queries:
        response = client.post(reverse("annotations:quote-new", args=[article.pk]), data, **HX)
    assert response.status_code == 200, response.content.decode()[:2000]
    assert Quote.objects.get().stances.count() == 2
    assert_at_most(13, queries)


def test_an_htmx_edit_of_two_stances_takes_at_most_20_queries(login, analyst, stage):
    article, speaker, oppose = stage["article"], stage["speaker"], stage["labels"][1]
    quote = QuoteFactory(article=article, annotator=analyst, speaker=speaker)
    stances = [StanceFactory(quote=quote, target=target, label=stage["labels"][0]) for target in stage["targets"]]
    data = quote_post(article, 1, 51, speaker=speaker.pk, version=1, kind="indirect")
    data.update({"stances-TOTAL_FORMS": "2", "stances-INITIAL_FORMS": "2"})
    for index, stance in enumerate(stances):
        prefix = f"stances-{index}-"
        data.update({prefix + "id": stance.pk, prefix + "quote": quote.pk, prefix + "target": stance.target_id})
        data.update({prefix + "label": oppose.pk, prefix + "intensity": 1, prefix + "note": ""})
    client = login(analyst)
    with CaptureQueriesContext(connection) as queries:
        response = client.post(reverse("annotations:quote-edit", args=[quote.pk]), data, **HX)
    assert response.status_code == 200, response.content.decode()[:2000]
    assert set(quote.stances.values_list("label", flat=True)) == {oppose.pk}
    assert_at_most(20, queries)


def test_an_api_post_and_a_full_clean_log_no_warning(analyst, stage, api, caplog):
    """Django's constraint check logged "Got a database error calling check()" on
    PostgreSQL for every quote without a mention or cue span (NULL > NULL)."""
    article = stage["article"]
    with caplog.at_level(logging.WARNING):
        response = api(analyst).post("/api/v1/quotes/", api_body(stage), format="json")
        Quote(article=article, start=2, end=51, text=article.text[2:51], annotator=analyst).full_clean()
    assert response.status_code == 201, response.content
    assert [record.getMessage() for record in caplog.records if record.levelno >= logging.WARNING] == []


def test_full_clean_of_a_quote_asks_the_database_nothing(analyst, assigned_article, django_assert_num_queries):
    quote = Quote(article=assigned_article, start=1, end=51, text=assigned_article.text[1:51], annotator=analyst)
    with django_assert_num_queries(0):
        quote.validate_constraints()


# --- What the database refuses becomes a message ----------------------------------------


@pytest.fixture
def no_model_checks(monkeypatch):
    """A validation gap: the model's clean() lets anything through, so only the database stands guard."""
    monkeypatch.setattr(Quote, "clean", lambda self: None)


def test_a_span_the_database_refuses_over_the_api_is_a_400_naming_the_rule(analyst, stage, api, no_model_checks):
    body = api_body(stage) | {"mention": {"start": 55, "end": 60, "text": "wrong"}}
    response = api(analyst).post("/api/v1/quotes/", body, format="json")
    assert response.status_code == 400, response.content
    assert "source mention" in json.dumps(response.json()) or "article's text" in json.dumps(response.json())
    assert not Quote.objects.exists()


def test_a_span_the_database_refuses_on_the_page_is_a_422_naming_the_rule(login, analyst, stage, no_model_checks):
    article = stage["article"]
    data = quote_post(article, 1, 51, mention_start=55, mention_end=60, mention_text="wrong")
    response = login(analyst).post(reverse("annotations:quote-new", args=[article.pk]), data, **HX)
    assert response.status_code == 422
    body = response.content.decode()
    assert "source mention" in body or "article’s text" in body or "article&#x27;s text" in body
    assert not Quote.objects.exists()


def test_a_stance_the_database_refuses_leaves_no_quote_behind(analyst, stage):
    article = stage["article"]
    quote = Quote(article=article, start=1, end=51, text=article.text[1:51], annotator=analyst)
    label = stage["labels"][0]
    with pytest.raises(ValidationError) as refused:
        quote.annotate(by=analyst, stances={stage["targets"][0].pk: StanceValues(label.pk, intensity=7)})
    assert "intensity is 1, 2 or 3" in str(refused.value)
    assert quote.pk is None and not Quote.objects.exists()


# --- Reading ------------------------------------------------------------------------------


def test_an_articles_quotes_over_the_api_take_one_query_on_postgresql_two_elsewhere(analyst, stage, api):
    article = stage["article"]
    for start in range(1, 21):
        quote = QuoteFactory(article=article, annotator=analyst, start=start, end=51)
        StanceFactory(quote=quote, target=stage["targets"][0], label=stage["labels"][0])
    client = api(analyst)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(f"/api/v1/quotes/?article={article.pk}&layer=raw")
    assert response.status_code == 200
    assert len(response.json()["results"]) == 20
    # The page (with article, speaker, role, annotator joined), its stances: PostgreSQL writes both in one.
    assert_at_most(1 if connection.vendor == "postgresql" else 2, queries)


def test_an_api_caller_is_known_and_counted_in_two_queries_on_postgresql_three_elsewhere(analyst, stage, api):
    # Knox alone would read every token of the user too (to delete the expired
    # ones), and DRF's throttle its cache entry in five statements. PostgreSQL
    # reads the user's roles with the token.
    client = api(analyst)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(f"/api/v1/quotes/?article={stage['article'].pk}&layer=raw")
    assert response.status_code == 200
    overhead = [
        query["sql"]
        for query in queries.captured_queries
        if query["sql"] not in work(queries) and not query["sql"].startswith(("SAVEPOINT", "RELEASE SAVEPOINT"))
    ]
    postgresql = connection.vendor == "postgresql"
    assert len(overhead) == (2 if postgresql else 3), "\n".join(sql[:160] for sql in overhead)
    token, roles, count = (sum(marker in sql for sql in overhead) for marker in AUTHENTICATION[2:])
    assert (token, count) == (1, 1)
    # Alone, or in the token's query.
    assert roles == 1
    assert ('FROM "auth_group"' in next(sql for sql in overhead if 'FROM "knox_authtoken"' in sql)) == postgresql


@pytest.mark.skipif(connection.vendor != "postgresql", reason="prepared statements are PostgreSQL's")
def test_postgresql_plans_an_articles_quotes_once_per_connection_not_per_request(analyst, stage, api):
    # Planning the quote list (six tables joined) costs PostgreSQL ~2 ms and running it
    # 0.15 ms: the second and later requests on a connection reuse the prepared plan.
    other = ArticleFactory(pool=False)
    AssignmentFactory(article=other, annotator=analyst, status=Assignment.Status.IN_PROGRESS)
    client = api(analyst)
    for article in (stage["article"], other, stage["article"]):
        assert client.get(f"/api/v1/quotes/?article={article.pk}&layer=raw").status_code == 200
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements WHERE statement LIKE '%%annotations_quote%%'")
        prepared = [row[0] for row in cursor.fetchall()]
    # The same statement served both articles: their ids are parameters, not part of the text.
    assert any('"annotations_quote"."article_id" = $' in statement for statement in prepared), prepared


@pytest.mark.parametrize("count", [1, 20])
def test_the_annotate_page_takes_the_same_queries_for_1_or_20_quotes(login, analyst, stage, count):
    article = stage["article"]
    for start in range(1, count + 1):
        quote = QuoteFactory(article=article, annotator=analyst, start=start, end=51)
        for target, label in zip(stage["targets"], stage["labels"], strict=True):
            StanceFactory(quote=quote, target=target, label=label)
    client = login(analyst)
    client.get(article.annotate_url)  # warm the caches (content types, templates)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(article.annotate_url)
    assert response.status_code == 200
    assert len(response.context["quotes"]) == count
    # Article (with may-annotate), its latest detection, its stances and quotes, the
    # assignment read with where it stands in the queue, labels, the detector's open
    # suggestions: 7, whatever the number of quotes. No form: the panel opens empty.
    assert len(work(queries)) == 7, "\n".join(sql[:160] for sql in work(queries))
    assert 'id="quote-form"' not in response.content.decode()


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="pipeline mode is PostgreSQL's (SQLite is in the process)"
)
def test_the_annotate_page_sends_its_seven_reads_in_one_round_trip_on_postgresql(login, analyst, stage):
    """read_together: all seven queries go out in psycopg's pipeline mode, before any
    answer is read; what each found is what the page shows."""
    article = stage["article"]
    quote = QuoteFactory(article=article, annotator=analyst, start=1, end=51)
    StanceFactory(quote=quote, target=stage["targets"][0], label=stage["labels"][0])
    client = login(analyst)
    client.get(article.annotate_url)
    from psycopg import pq

    pipelined = []

    def note(execute, sql, params, many, context):
        pipelined.append((connection.connection.pgconn.pipeline_status == pq.PipelineStatus.ON, sql))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(note):
        response = client.get(article.annotate_url)
    assert response.status_code == 200
    reads = [on for on, sql in pipelined if not any(marker in sql for marker in AUTHENTICATION)]
    assert reads == [True] * 7, [(on, sql[:80]) for on, sql in pipelined]
    assert [item.pk for item in response.context["quotes"]] == [quote.pk]
    assert response.context["assignment"].article_id == article.pk
    assert {label.slug for label in response.context["labels"]} >= {"support", "oppose"}
    assert "chip" in response.content.decode() and stage["targets"][0].name in response.content.decode()


def test_an_analysts_curated_article_shows_the_curated_layer_read_after_the_others(login, analyst, reviewer):
    """The page reads an analyst's own layer with everything else; on a curated article
    they have no assignment on, it shows the curated quotes (read once more)."""
    article = ArticleFactory(status="curated")
    curated = QuoteFactory(article=article, annotator=reviewer, is_curated=True, start=1, end=51)
    QuoteFactory(article=article, annotator=reviewer, start=60, end=80)  # a raw quote, not shown
    response = login(analyst).get(article.annotate_url)
    assert response.status_code == 200
    assert [item.pk for item in response.context["quotes"]] == [curated.pk]


# --- A span import's batch ----------------------------------------------------------------


def test_a_span_import_writes_in_a_fixed_number_of_queries_whatever_the_spans(analyst, assigned_article):
    """Articles matched and checked, the assignments held, the spans already stored,
    then one INSERT … SELECT for the quotes and one for their history rows."""

    def doccano(spans: int, story: int) -> bytes:
        opening = f"“We will not allow it,” the minister said. (Story {story}.) "
        text = opening + "Filler sentence. " * spans
        labels = [[len(opening) + 17 * n, len(opening) + 17 * n + 16, "DIRECT"] for n in range(spans)]
        return json.dumps({"text": text, "label": labels}).encode()

    with CaptureQueriesContext(connection) as few:
        assert import_spans(doccano(2, 1), "doccano", user=analyst).quotes_created == 2
    with CaptureQueriesContext(connection) as many:
        assert import_spans(doccano(40, 2), "doccano", user=analyst).quotes_created == 40
    assert len(work(many)) == len(work(few)) <= 9, "\n".join(sql[:160] for sql in work(many))
    quote = Quote.objects.order_by("id").last()
    created = quote.history.get()
    assert (created.history_type, created.history_user_id, created.text) == ("+", analyst.pk, quote.text)


@pytest.mark.parametrize("value", ["²", "99999999999999999999", "-1", "x", "0"])
def test_a_stance_row_naming_no_row_is_refused_as_before(login, analyst, stage, value):
    """The formset's read-once lookup of targets, labels and stance ids falls back
    to the field's own for anything it didn't read: a 422 on the form, never a 500."""
    article, label = stage["article"], stage["labels"][0]
    data = quote_post(article, 1, 51, **{"stances-TOTAL_FORMS": "1", "stances-0-target": value})
    data["stances-0-label"] = label.pk
    response = login(analyst).post(reverse("annotations:quote-new", args=[article.pk]), data, **HX)
    assert response.status_code == 422
    assert not Quote.objects.exists()


def test_model_history_is_one_manager_class_still_bound_to_its_instance(analyst, assigned_article):
    """simple_history made a new manager class at every read of ``Model.history``
    (at every save, too); the class is made once, and an instance's history is still its own."""
    first, second = (QuoteFactory(article=assigned_article, annotator=analyst, start=n, end=n + 5) for n in (1, 9))
    assert type(Quote.history) is type(first.history) is type(second.history)
    assert [row.id for row in first.history.all()] == [first.pk]
    assert [row.id for row in second.history.all()] == [second.pk]
    assert Quote.history.count() == 2
    for model in (Assignment, Quote):
        assert type(model.__dict__["history"]).__name__ == "_HistoryDescriptor"


def test_a_new_quote_and_its_history_row_are_written_as_save_and_its_signal_would(analyst, assigned_article, settings):
    """``insert_recorded``, which writes a new quote in one statement: the instance gets
    its id, timestamps and the current guidelines' number, and the history row names the
    writer; with history off (SIMPLE_HISTORY_ENABLED) no row is written."""
    from annotations.models import Guidelines, Inserted, insert_recorded

    Guidelines.publish(body="one", note="first", by=None)
    Guidelines.publish(body="two", note="second", by=None)
    article = assigned_article
    quote = Quote(article=article, start=1, end=51, text=article.text[1:51], annotator=analyst)
    quote._history_user = analyst
    quote.annotate(by=analyst)
    stored = Quote.objects.get(pk=quote.pk)
    assert (quote.guidelines_version, stored.guidelines_version) == (2, 2)
    assert quote.created_at == stored.created_at and quote.updated_at == stored.updated_at
    assert not quote._state.adding
    (record,) = stored.history.all()
    assert quote.recorded_change_id == record.history_id
    assert (record.history_type, record.history_user, record.guidelines_version) == ("+", analyst, 2)
    with pytest.raises(ValueError, match="stored already"):
        insert_recorded(quote)

    settings.SIMPLE_HISTORY_ENABLED = False
    unrecorded = Quote(article=article, start=60, end=70, text=article.text[60:70], annotator=analyst)
    assert insert_recorded(unrecorded) == Inserted(None)
    assert Quote.objects.filter(pk=unrecorded.pk).exists()
    assert not unrecorded.history.exists()


def test_a_row_inserted_if_new_is_left_alone_with_no_history_when_it_is_there(analyst, assigned_article):
    """``insert_recorded(if_new=True)``: ON CONFLICT DO NOTHING, and no history row for a row not written."""
    from annotations.models import Inserted, insert_recorded

    existing = Assignment.objects.get(article=assigned_article, annotator=analyst)
    before = existing.history.count()
    again = Assignment(article=assigned_article, annotator=analyst, status=Assignment.Status.IN_PROGRESS)
    assert insert_recorded(again, if_new=True) is None
    assert again._state.adding and again.pk is None
    assert Assignment.objects.filter(article=assigned_article, annotator=analyst).count() == 1
    assert existing.history.count() == before
    fresh = Assignment(article=ArticleFactory(), annotator=analyst, status=Assignment.Status.IN_PROGRESS)
    fresh._history_user = analyst
    inserted = insert_recorded(fresh, if_new=True)
    assert isinstance(inserted, Inserted) and fresh.pk is not None
    (record,) = fresh.history.all()
    assert (record.history_id, record.history_type, record.history_user, record.status) == (
        inserted.history_id,
        "+",
        analyst,
        Assignment.Status.IN_PROGRESS,
    )


def test_a_quote_has_no_save_signal_receiver_but_its_history():
    """What ``insert_recorded`` skips of ``save()``: a receiver added to these signals
    would not hear a new quote, so this fails first."""
    from django.db.models.signals import post_save, pre_save
    from simple_history.signals import post_create_historical_record, pre_create_historical_record

    from annotations.models import History

    assert not pre_save.has_listeners(Quote)
    sync, asynchronous = post_save._live_receivers(Quote)
    assert [getattr(receiver, "__self__", None) for receiver in [*sync, *asynchronous]] == [History.of(Quote)]
    for signal in (pre_create_historical_record, post_create_historical_record):
        assert not signal.has_listeners(Quote.history.model)
