"""Fixtures and helpers shared by the API and export tests (this module holds no tests).

Test modules import the fixtures they use by name (pytest finds fixtures in a
module's namespace); conftest.py belongs to the whole suite.
"""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.core.management import call_command
from knox.models import AuthToken
from rest_framework.test import APIClient

from annotations.models import Article, Quote, Stance

from .factories import ArticleFactory, QuoteFactory, StanceFactory


@pytest.fixture(autouse=True)
def isolated_media(settings, tmp_path):
    """Release files go to a temporary MEDIA_ROOT, not the project's media/ folder."""
    settings.MEDIA_ROOT = tmp_path / "media"


def token_for(user: Any) -> str:
    _, token = AuthToken.objects.create(user=user, expiry=datetime.timedelta(days=1))
    return token


def api_client(user: Any | None, *, token: bool = True) -> APIClient:
    """A client authenticated as ``user`` with a knox token (or a session), or anonymous."""
    client = APIClient()
    if user is None:
        return client
    if token:
        client.credentials(HTTP_AUTHORIZATION=f"Token {token_for(user)}")
    else:
        client.force_login(user)
    return client


@pytest.fixture
def api():
    return api_client


def curated_article(**kwargs: Any) -> Article:
    return ArticleFactory(status=Article.Status.CURATED, **kwargs)


def curated_quote(**kwargs: Any) -> Quote:
    """A curated quote on a curated article (the researchers' dataset)."""
    kwargs.setdefault("article", curated_article())
    kwargs.setdefault("annotator", None)
    return QuoteFactory(is_curated=True, **kwargs)


def raw_quote(annotator: Any, **kwargs: Any) -> Quote:
    return QuoteFactory(annotator=annotator, is_curated=False, **kwargs)


def with_stance(quote: Quote, **kwargs: Any) -> Quote:
    StanceFactory(quote=quote, **kwargs)
    return quote


@pytest.fixture
def seeded(settings) -> Article:
    """The worked example, as `make run` loads it, with its curated version.

    seed_demo makes the curated layer (the reviewer accepts the analyst's
    quotes and marks the article curated); if a trimmed-down seed leaves it
    out, the same copies are made here so the researcher's dataset exists.
    """
    settings.DEBUG = True
    call_command("seed_demo", verbosity=0)
    article = Article.objects.get(title__startswith="Austin and Gallant")
    if not Quote.objects.curated().filter(article=article).exists():
        for source in Quote.objects.raw_layer().filter(article=article):
            copy = Quote.objects.get(pk=source.pk)
            copy.pk = None
            copy.is_curated = True
            copy.annotator = None
            copy.save()
            copy.curated_from.set([source])
            for stance in source.stances.all():
                Stance.objects.create(quote=copy, target=stance.target, label=stance.label, intensity=stance.intensity)
        Article.objects.filter(pk=article.pk).update(status=Article.Status.CURATED)
        article.refresh_from_db()
    return article


def results(response) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.content[:500]
    return response.json()["results"]


def ids(response) -> list[int]:
    return [row["id"] for row in results(response)]
