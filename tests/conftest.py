"""Personas and shared fixtures: analyst, second analyst, reviewer, researcher, outsider."""

from __future__ import annotations

import pytest
from django.test import Client

from .factories import ArticleFactory, AssignmentFactory, UserFactory


@pytest.fixture
def analyst(db):
    return UserFactory(username="analyst", role="analyst")


@pytest.fixture
def second_analyst(db):
    return UserFactory(username="analyst2", role="analyst")


@pytest.fixture
def reviewer(db):
    return UserFactory(username="reviewer", role="reviewer")


@pytest.fixture
def researcher(db):
    return UserFactory(username="researcher", role="researcher")


@pytest.fixture
def outsider(db):
    """Logged in, but in no Demarche group."""
    return UserFactory(username="outsider")


@pytest.fixture
def admin_user(db):
    return UserFactory(username="admin", is_staff=True, is_superuser=True)


@pytest.fixture
def article(db):
    return ArticleFactory()


@pytest.fixture
def assigned_article(analyst):
    """An article assigned to the analyst."""
    return AssignmentFactory(annotator=analyst, article=ArticleFactory(pool=False)).article


def client_for(user) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


@pytest.fixture
def login():
    return client_for


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """PBKDF2 is slow by design; tests don't need it to be."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
