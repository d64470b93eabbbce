"""Statements compiled once per shape (annotations/statements.py): they must answer what the
queryset they were built from answers, for every role, and refuse what can't be reused."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser, Group
from django.core.exceptions import ImproperlyConfigured
from django.db import connection, router
from django.db.models.expressions import RawSQL
from django.db.transaction import TransactionManagementError
from knox.models import get_token_model
from rest_framework import serializers
from rest_framework.test import APIRequestFactory

from annotations.authentication import _tokens_with_roles
from annotations.models import Article, Assignment, Quote, Stance, Suggestion, SuggestionDecision, article_opened_by
from annotations.roles import Role
from annotations.serializers import QuoteWriteSerializer
from annotations.statements import Statement
from annotations.views.workspace import _LISTED_COLUMNS, _PAGE_CHIPS, _PAGE_QUOTES, _PAGE_SUGGESTIONS

from .factories import ArticleFactory, AssignmentFactory, QuoteFactory, SpeakerFactory, StanceFactory, UserFactory

pytestmark = pytest.mark.django_db


def opened_by_the_orm(user, pk: int):
    return Article.objects.visible_to(user).with_annotatable(user).filter(pk=pk).first()


@pytest.fixture
def articles(analyst, second_analyst):
    """An article in each state an analyst meets: theirs, another's, the pool, closed, submitted, curated."""
    mine = AssignmentFactory(annotator=analyst, article=ArticleFactory(pool=False)).article
    theirs = AssignmentFactory(annotator=second_analyst, article=ArticleFactory(pool=False)).article
    submitted = AssignmentFactory(
        annotator=analyst, article=ArticleFactory(pool=False), status=Assignment.Status.SUBMITTED
    ).article
    return {
        "mine": mine,
        "theirs": theirs,
        "submitted": submitted,
        "pool": ArticleFactory(pool=True),
        "closed": ArticleFactory(pool=False),
        "curated": ArticleFactory(status=Article.Status.CURATED),
    }


def test_the_opened_article_is_the_querysets_for_every_role_and_state(
    articles, analyst, second_analyst, reviewer, researcher, outsider
):
    superuser = UserFactory(username="root", is_superuser=True)
    inactive = UserFactory(username="gone", role="analyst", is_active=False)
    seen = set()
    for user in (analyst, second_analyst, reviewer, researcher, outsider, superuser, inactive):
        for name, article in [*articles.items(), ("missing", Article(pk=10**9))]:
            expected = opened_by_the_orm(user, article.pk)
            found = article_opened_by(user, article.pk)
            assert (found is None) == (expected is None), (user.username, name)
            if found is not None:
                assert (found.pk, found.text) == (expected.pk, expected.text)
                assert found.annotatable is expected.annotatable
                seen.add((user.username, name, found.annotatable))
    # The grid is not trivially empty: each answer occurs.
    assert ("analyst", "mine", True) in seen and ("analyst", "submitted", False) in seen
    assert ("analyst", "curated", False) in seen and ("analyst", "theirs", False) not in seen
    assert ("reviewer", "theirs", True) in seen and ("researcher", "curated", False) in seen


def test_a_role_given_or_taken_changes_the_answer_at_once(articles, analyst):
    theirs = articles["theirs"].pk
    assert article_opened_by(analyst, theirs) is None
    analyst.groups.add(Group.objects.get(name=Role.REVIEWER))
    del analyst._demarche_roles  # a new request reads the roles again
    assert article_opened_by(analyst, theirs).annotatable is True


def test_each_user_gets_their_own_values_from_the_same_sql(articles, analyst, second_analyst):
    mine, theirs = articles["mine"].pk, articles["theirs"].pk
    assert article_opened_by(analyst, mine) is not None and article_opened_by(analyst, theirs) is None
    assert article_opened_by(second_analyst, theirs) is not None and article_opened_by(second_analyst, mine) is None


def test_a_builder_whose_value_django_writes_into_the_sql_is_refused(analyst):
    # The mistake the check is for: a value formatted into SQL (an id, so no injection here).
    inlined = Statement(Article, "inlined", lambda user, pk: Article.objects.annotate(n=RawSQL(f"{pk}", [])))  # noqa: S611
    with pytest.raises(ImproperlyConfigured, match="wrote a value into the SQL"):
        inlined.sql(analyst, 1)


def test_a_builder_that_drops_a_value_is_refused(analyst):
    # A value the query doesn't read (ignored, or compiled away, as Django does with a
    # lookup past its column's range) would be missing from every later call: refused at the first.
    dropped = Statement(Article, "dropped", lambda user, pk: Article.objects.filter(pk__gt=0))
    with pytest.raises(ImproperlyConfigured, match="missing from the compiled query"):
        dropped.sql(analyst, 1)


def test_a_statement_takes_ids_and_a_signed_in_user(analyst):
    statement = Statement(Article, "by id", lambda user, pk: Article.objects.filter(pk=pk))
    with pytest.raises(TypeError):
        statement.sql(analyst, "1")
    with pytest.raises(ValueError, match="64-bit"):
        statement.sql(analyst, 2**63)
    with pytest.raises(ValueError, match="at most 7 values"):
        statement.sql(analyst, *range(1, 9))
    assert article_opened_by(analyst, 2**63) is None and article_opened_by(analyst, 0) is None
    with pytest.raises(ValueError, match="signed-in"):
        statement.sql(AnonymousUser(), 1)
    assert article_opened_by(AnonymousUser(), 1) is None


@pytest.mark.parametrize(
    "value", ["mine", "theirs", "curated", "mine-as-text", True, 1.5, -1, 0, 2**64, "x", None, [1], {"id": 1}]
)
def test_the_apis_article_field_answers_what_drfs_own_field_answers(articles, analyst, value):
    if isinstance(value, str):
        named = {name: article.pk for name, article in articles.items()} | {"mine-as-text": str(articles["mine"].pk)}
        value = named.get(value, value)
    request = APIRequestFactory().post("/api/v1/quotes/")
    request.user = analyst
    field = QuoteWriteSerializer(context={"request": request}).fields["article"]
    reference = serializers.PrimaryKeyRelatedField(
        queryset=Article.objects.visible_to(analyst).with_annotatable(analyst)
    )

    def outcome(of):
        try:
            article = of.run_validation(value)
        except serializers.ValidationError as error:
            return ("refused", error.detail)
        return ("found", article.pk, bool(article.annotatable))

    assert outcome(field) == outcome(reference)


def test_the_annotate_pages_reads_are_the_querysets_for_every_role(
    articles, analyst, second_analyst, reviewer, researcher
):
    mine, curated = articles["mine"], articles["curated"]
    for article, annotator, is_curated in [
        (mine, analyst, False),
        (mine, second_analyst, False),
        (curated, None, True),
    ]:
        for start in (1, 10):
            quote = QuoteFactory(article=article, annotator=annotator, is_curated=is_curated, start=start, end=51)
            StanceFactory(quote=quote)
    Suggestion.objects.create(article=mine, start=0, end=5, text=mine.text[:5], detector_version="old")  # superseded
    for start, end in [(1, 51), (60, 80), (85, 100)]:  # the first on a span the analyst marked
        Suggestion.objects.create(article=mine, start=start, end=end, text=mine.text[start:end], detector_version="new")
    SuggestionDecision.objects.create(
        suggestion=Suggestion.objects.get(start=85),
        annotator=second_analyst,
        outcome=SuggestionDecision.Outcome.REJECTED,
    )
    found = set()
    for user in (analyst, second_analyst, reviewer, researcher):
        for article in (mine, curated):
            for layer in (False, True):
                quotes = Quote.objects.visible_to(user).filter(article_id=article.pk, is_curated=layer)
                expected_rows = list(quotes.order_by("start", "-end", "id").values_list(*_LISTED_COLUMNS))
                assert _PAGE_QUOTES[layer].rows(user, article.pk) == expected_rows
                chips = Stance.objects.filter(quote__in=quotes.values("pk")).order_by(
                    "quote_id", "label__order", "label_id", "target__name"
                )
                assert _PAGE_CHIPS[layer].rows(user, article.pk) == list(
                    chips.values_list("quote_id", "label__slug", "label__name", "target__name")
                )
                found.add((user.username, article.pk, layer, len(expected_rows)))
            expected = list(Suggestion.objects.on_page(article, user).in_text_order().values_list("pk", flat=True))
            assert [suggestion.pk for suggestion in _PAGE_SUGGESTIONS.instances(user, article.pk)] == expected
            found.add((user.username, "suggestions", article.pk, tuple(expected)))
    assert ("analyst", mine.pk, False, 2) in found and ("reviewer", mine.pk, False, 4) in found
    assert ("researcher", curated.pk, True, 2) in found and ("researcher", mine.pk, False, 0) in found
    # Of the newest detection, less the analyst's marked span; less what the second analyst decided.
    suggested = {entry[0]: entry[3] for entry in found if entry[1] == "suggestions" and entry[2] == mine.pk}
    assert len(suggested["analyst"]) == 2 and len(suggested["analyst2"]) == 1 and len(suggested["reviewer"]) == 3


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the compiled token query is PostgreSQL's")
def test_the_token_query_compiled_once_reads_what_the_orm_reads(analyst, reviewer, outsider):
    model = get_token_model()
    analyst.groups.add(Group.objects.get(name=Role.RESEARCHER))  # two roles
    for user in (analyst, reviewer, outsider):
        model.objects.create(user=user)
    checked = 0
    for expected in model.objects.select_related("user"):
        (found,) = _tokens_with_roles(expected.token_key, "default")
        for field in model._meta.concrete_fields:
            assert getattr(found, field.attname) == getattr(expected, field.attname), field.name
        for field in type(expected.user)._meta.concrete_fields:
            assert getattr(found.user, field.attname) == getattr(expected.user, field.attname), field.name
        assert sorted(found.role_names) == sorted(expected.user.groups.values_list("name", flat=True))
        checked += 1
    assert checked == 3
    assert list(_tokens_with_roles("no-such-key", "default")) == []


def test_a_duplicate_span_is_found_as_the_queryset_finds_it(articles, analyst, second_analyst):
    article, speaker = articles["mine"], SpeakerFactory()
    stored = [
        QuoteFactory(article=article, annotator=analyst, start=1, end=51, speaker=None),
        QuoteFactory(article=article, annotator=analyst, start=1, end=51, speaker=speaker, kind="indirect"),
        QuoteFactory(article=article, annotator=second_analyst, start=2, end=51, speaker=speaker),
        QuoteFactory(article=article, annotator=None, is_curated=True, start=1, end=51, speaker=None),
    ]
    candidates = [*stored]  # each stored quote against the others (its own pk excluded)
    for annotator in (analyst, second_analyst, None):
        for found_speaker in (None, speaker):
            for kind in ("direct", "indirect"):
                for start in (1, 2):
                    candidates.append(
                        Quote(article=article, annotator=annotator, is_curated=annotator is None, start=start,
                              end=51, speaker=found_speaker, kind=kind)
                    )  # fmt: skip
    hits = 0
    for quote in candidates:
        same = Quote.objects.filter(
            article_id=quote.article_id, start=quote.start, end=quote.end, kind=quote.kind,
            speaker_id=quote.speaker_id, annotator_id=quote.annotator_id, is_curated=quote.is_curated,
        )  # fmt: skip
        if quote.pk is not None:
            same = same.exclude(pk=quote.pk)
        expected = same.order_by("id").first()
        found = quote.duplicate()
        assert (found and (found.pk, found.start, found.end)) == (
            expected and (expected.pk, expected.start, expected.end)
        )
        hits += found is not None
    assert hits == 4  # each stored quote, found by the candidate that repeats it


@pytest.mark.django_db(transaction=True)
def test_holding_one_assignment_outside_a_transaction_is_refused(articles, analyst):
    with pytest.raises(TransactionManagementError):
        Assignment.hold_open(articles["mine"].pk, analyst)


def test_a_statement_reads_where_the_router_sends_its_querysets_reads(articles, analyst, monkeypatch):
    asked = []
    real = router.db_for_read
    monkeypatch.setattr(router, "db_for_read", lambda model, **hints: asked.append(model) or real(model, **hints))
    assert article_opened_by(analyst, articles["mine"].pk) is not None
    assert Article in asked  # a replica, for the API's safe requests (config/db_router.py)


def test_a_statements_instances_are_the_querysets_values_converted_deferred_fields_left_out(articles, analyst):
    """``instances`` builds what the queryset's own iteration builds: every field and
    annotation converted (an EXISTS a bool on SQLite too, a JSON field a dict, a date a
    date), a deferred field read on access; a query of values has no instances."""
    article = articles["mine"]
    Article.objects.filter(pk=article.pk).update(metadata={"section": "world", "n": 2})

    def built(user, pk):
        return Article.objects.visible_to(user).with_annotatable(user).filter(pk=pk).defer("text")

    statement = Statement(Article, "an article, its text deferred", built)
    (found,) = statement.instances(analyst, article.pk)
    (expected,) = built(analyst, article.pk)
    assert found.get_deferred_fields() == expected.get_deferred_fields() == {"text"}
    for name in ("pk", "title", "metadata", "published_on", "status", "annotatable"):
        assert (getattr(found, name), type(getattr(found, name))) == (
            getattr(expected, name),
            type(getattr(expected, name)),
        )
    assert found.annotatable is True and found.metadata == {"section": "world", "n": 2}
    assert found._state.adding is False and found._state.db == expected._state.db
    assert found.text == expected.text  # read when asked, as the ORM's deferred field is
    assert statement.instances(analyst, articles["theirs"].pk) == []

    values = Statement(Article, "ids", lambda user, pk: Article.objects.filter(pk=pk).values_list("id"))
    with pytest.raises(ImproperlyConfigured, match="has no instances"):
        values.instances(analyst, article.pk)
