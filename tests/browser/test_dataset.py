"""What a researcher sees on landing, and the admin's user list, wide and narrow."""

from __future__ import annotations

import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

WIDTHS = [1440, 390]


@pytest.fixture
def demo(settings):
    settings.DEBUG = True
    call_command("seed_demo", stdout=io.StringIO())
    settings.DEBUG = False


def overflows(page) -> bool:
    return page.evaluate("() => document.documentElement.scrollWidth > document.documentElement.clientWidth")


@pytest.mark.parametrize("width", WIDTHS)
def test_a_researcher_lands_on_the_dataset_page(page, log_in, demo, screenshot_dir, width):
    page.set_viewport_size({"width": width, "height": 900})
    log_in(get_user_model().objects.get(username="researcher"))
    page.goto("/")
    expect(page).to_have_url(page.url.split("/dataset/")[0] + "/dataset/")
    expect(page.get_by_role("heading", name="The curated dataset")).to_be_visible()
    expect(page.locator('[data-count="quotes"]')).to_have_text("8")
    expect(page.locator(".dataset-exports a.button")).to_have_count(6)
    expect(page.get_by_role("link", name="Get an API token")).to_be_visible()
    expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="My queue")).to_have_count(0)
    assert not overflows(page)
    page.screenshot(path=str(screenshot_dir / f"dataset-{width}.png"), full_page=True)


@pytest.mark.parametrize("width", WIDTHS)
def test_the_admin_user_list_shows_roles(page, log_in, demo, screenshot_dir, width):
    page.set_viewport_size({"width": width, "height": 900})
    log_in(get_user_model().objects.get(username="admin"))
    # Django's admin templates link no icon, so Chromium asks for /favicon.ico: not the page's error.
    page.route("**/favicon.ico", lambda route: route.fulfill(status=204))
    page.goto("/admin/auth/user/")
    row = page.get_by_role("row", name="analyst2")
    expect(row.locator(".field-role")).to_have_text("analyst")
    page.screenshot(path=str(screenshot_dir / f"admin-users-{width}.png"), full_page=True)
