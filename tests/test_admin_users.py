"""The admin's users and roles: the user list shows each user's role, each role
group says what it is for, and a new user gets their role on the add form."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import Group, User
from django.urls import reverse

from annotations.roles import ROLE_DESCRIPTIONS, Role

from .factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(analyst, reviewer, researcher, outsider):
    return analyst, reviewer, researcher, outsider


def test_the_user_list_shows_each_users_role(admin_client, people):
    response = admin_client.get(reverse("admin:auth_user_changelist"))
    assert response.status_code == 200
    rows = dict(
        re.findall(
            r'field-username"><a href="[^"]*">([^<]+)</a>.*?class="field-role">([^<]*)<', response.content.decode()
        )
    )
    assert {name: rows[name] for name in ["analyst", "reviewer", "researcher", "outsider", "admin"]} == {
        "analyst": "analyst",
        "reviewer": "reviewer",
        "researcher": "researcher",
        "outsider": "—",
        "admin": "admin",
    }


def test_the_user_list_costs_the_same_queries_for_more_users(admin_client, people, django_assert_max_num_queries):
    url = reverse("admin:auth_user_changelist")
    admin_client.get(url)
    with django_assert_max_num_queries(20) as few:
        admin_client.get(url)
    for number in range(10):
        UserFactory(username=f"more{number}", role="analyst")
    with django_assert_max_num_queries(len(few.captured_queries)):
        admin_client.get(url)


def test_each_role_group_describes_its_role_on_the_admin_pages(admin_client):
    listing = admin_client.get(reverse("admin:auth_group_changelist")).content.decode()
    for role in Role:
        assert ROLE_DESCRIPTIONS[role] in listing
        group = Group.objects.get(name=role)
        page = admin_client.get(reverse("admin:auth_group_change", args=[group.pk])).content.decode()
        assert ROLE_DESCRIPTIONS[role] in page


def test_a_new_user_gets_a_role_on_the_add_form_in_one_save(admin_client):
    page = admin_client.get(reverse("admin:auth_user_add")).content.decode()
    assert 'name="role"' in page
    assert ROLE_DESCRIPTIONS[Role.ANALYST] in page
    response = admin_client.post(
        reverse("admin:auth_user_add"),
        {
            "username": "newcomer",
            "usable_password": "true",
            "password1": "a-long-unusual-passphrase-42",
            "password2": "a-long-unusual-passphrase-42",
            "role": Group.objects.get(name=Role.RESEARCHER).pk,
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    user = User.objects.get(username="newcomer")
    assert list(user.groups.values_list("name", flat=True)) == ["researcher"]
    assert user.check_password("a-long-unusual-passphrase-42")


def test_a_new_user_without_a_role_is_allowed(admin_client):
    response = admin_client.post(
        reverse("admin:auth_user_add"),
        {"username": "nobody", "usable_password": "false"},
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    assert not User.objects.get(username="nobody").groups.exists()
