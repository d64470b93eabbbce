"""Article status and assignment status are held by named CHECK constraints;
articles (without their text) and the curated_from links of quotes have history."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from annotations.models import Article, Assignment

from .factories import ArticleFactory, AssignmentFactory, QuoteFactory, UserFactory

pytestmark = pytest.mark.django_db


def check_values(model: type, name: str) -> list[str]:
    (constraint,) = [c for c in model._meta.constraints if c.name == name]
    ((lookup, values),) = constraint.condition.children
    assert lookup == "status__in"
    return values


def test_the_status_checks_allow_exactly_the_status_choices():
    assert check_values(Article, "article_status_valid") == Article.Status.values
    assert check_values(Assignment, "assignment_status_valid") == Assignment.Status.values


def test_the_database_refuses_an_article_status_outside_the_choices():
    article = ArticleFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        Article.objects.filter(pk=article.pk).update(status="archived")


def test_the_database_refuses_an_assignment_status_outside_the_choices():
    assignment = AssignmentFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        Assignment.objects.filter(pk=assignment.pk).update(status="done")


def test_an_article_status_change_is_in_its_history():
    article = ArticleFactory()
    article.status = Article.Status.CURATED
    article.save()
    statuses = list(article.history.order_by("history_date", "history_id").values_list("status", flat=True))
    assert statuses == ["open", "curated"]


def test_article_history_keeps_the_text_hash_but_not_the_text():
    article = ArticleFactory()
    fields = {field.name for field in article.history.model._meta.get_fields()}
    assert "text" not in fields
    assert article.history.get().text_sha256 == article.text_sha256


def test_curating_a_quote_records_its_sources_in_the_curated_quotes_history():
    source = QuoteFactory()
    other = QuoteFactory(article=source.article, annotator=UserFactory())
    curated = source.copy_as_curated(curator=UserFactory(), sources=[source, other])
    latest = curated.history.latest()
    assert {link.to_quote_id for link in latest.curated_from.all()} == {source.pk, other.pk}


def test_the_offset_triggers_survive_the_migration_that_rebuilt_the_article_table():
    quote = QuoteFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        Article.objects.filter(pk=quote.article_id).update(text="A different text altogether.")
    with pytest.raises(IntegrityError), transaction.atomic():
        type(quote).objects.filter(pk=quote.pk).update(start=quote.start + 1, end=quote.end + 1)
