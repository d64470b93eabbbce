"""What a researcher sees on landing, and the admin's user list, wide and narrow."""

from __future__ import annotations

import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from playwright.sync_api import expect

from annotations import exporters, services

from .test_accessibility import Audit

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
    expect(page.locator(".dataset-exports a.button")).to_have_count(len(exporters.FORMATS))
    expect(page.get_by_role("link", name="Get an API token")).to_be_visible()
    expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="My queue")).to_have_count(0)
    assert not overflows(page)
    page.screenshot(path=str(screenshot_dir / f"dataset-{width}.png"), full_page=True)


@pytest.mark.parametrize("width", WIDTHS)
def test_a_researcher_filters_the_dataset_exports_it_and_copies_a_citation(
    page, log_in, demo, screenshot_dir, settings, tmp_path, width
):
    settings.MEDIA_ROOT = tmp_path
    services.build_release(
        name="v1", note="The worked example.", filters={}, user=get_user_model().objects.get(username="reviewer")
    )
    page.set_viewport_size({"width": width, "height": 900})
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    log_in(get_user_model().objects.get(username="researcher"))
    page.goto("/dataset/")
    page.get_by_label("Kind").select_option("direct")
    page.get_by_label("Target").select_option(label="Iran acquiring nuclear weapons")
    page.get_by_role("button", name="Apply").click()
    expect(page.get_by_role("heading", name="The quotes matching the filters")).to_be_visible()
    quotes = int(page.locator('[data-count="quotes"]').inner_text())
    assert 0 < quotes < 8
    for href in page.locator(".dataset-exports a.button").evaluate_all("links => links.map(a => a.href)"):
        assert "kind=direct" in href and "target=iran-nuclear-weapons" in href, href
    page.get_by_text("Cite v1").click()
    citation = page.locator("pre[id^='cff-']")
    expect(citation).to_be_visible()
    copy = page.locator("button[data-copy^='cff-']")
    expect(copy).to_be_visible()  # the script shows it where the clipboard exists
    copy.click()
    expect(copy).to_have_text("Copied")
    assert page.evaluate("() => navigator.clipboard.readText()") == citation.inner_text()
    assert not overflows(page)
    audit = Audit(page)
    audit.check("dataset page, filtered, a citation open")
    assert not audit.found, "axe found WCAG 2.1 A/AA violations:\n" + audit.report()
    page.screenshot(path=str(screenshot_dir / f"dataset-filtered-{width}.png"), full_page=True)


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
