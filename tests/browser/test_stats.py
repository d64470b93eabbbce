"""The target page and the compare matrix as a reader sees them, wide and narrow:
the chart's table holds the API's numbers, the chart fits or scrolls as labelled, and
"Copy API URL" copies the URL that gives those numbers."""

from __future__ import annotations

import io
import json
import os
import re
import shutil

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from playwright.sync_api import expect

from tests.factories import TargetFactory, UserFactory, curated_stance_history

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

WIDTHS = [1440, 390]


@pytest.fixture
def history(db):
    topic = TargetFactory(slug="iran-nuclear", name="Iran nuclear issue", description="Tehran's nuclear programme.")
    child = TargetFactory(slug="jcpoa-return", name="Return to the JCPOA", parent=topic)
    other = TargetFactory(slug="ukraine-aid", name="Military aid to Ukraine")
    curated_stance_history(topic=topic, child=child, other=other, months=24)
    return UserFactory(username="researcher", role="researcher")


def overflows(page) -> bool:
    return page.evaluate("() => document.documentElement.scrollWidth > document.documentElement.clientWidth")


def api_json(page, url: str) -> dict:
    return json.loads(page.evaluate("async (url) => (await fetch(url)).text()", url))


@pytest.mark.parametrize("width", WIDTHS)
def test_the_target_pages_chart_table_holds_the_apis_numbers(page, log_in, history, screenshot_dir, width):
    page.set_viewport_size({"width": width, "height": 900})
    log_in(history)
    page.goto("/targets/iran-nuclear/?by=country")
    expect(page.get_by_role("heading", name="Iran nuclear issue", level=1)).to_be_visible()
    chart = page.get_by_role("img", name="Stances toward Iran nuclear issue per month, by country")
    expect(chart).to_be_visible()
    page.locator("details.chart-data summary").click()
    totals = page.locator("#over-time-table tbody tr td:last-child").all_inner_texts()
    url = page.locator("#over-time-url").input_value()
    body = api_json(page, url)
    assert sum(int(total) for total in totals) == sum(row["count"] for row in body["results"]) == 72
    first_month = page.locator("#over-time-table tbody tr").first.locator("td").last.inner_text()
    assert int(first_month) == sum(row["count"] for row in body["results"] if row["period"] == "2022-01-01")
    assert not overflows(page), "the page scrolls sideways; only the chart's own box may"
    if width == 390:
        expect(page.locator(".chart-scroll-hint")).to_be_visible()
    page.screenshot(path=str(screenshot_dir / f"target-page-{width}.png"), full_page=True)
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(screenshot_dir / f"target-page-{width}-top.png"))  # the filters, as first seen


def test_copy_api_url_copies_the_charts_url(page, log_in, history):
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    log_in(history)
    page.goto("/targets/iran-nuclear/?interval=year")
    button = page.locator("#over-time-url ~ button.copy-api")
    expect(button).to_be_visible()
    button.click()
    expect(button).to_have_text("Copied")
    copied = page.evaluate("() => navigator.clipboard.readText()")
    assert copied.endswith(page.locator("#over-time-url").input_value())
    assert api_json(page, copied)["interval"] == "year"


@pytest.mark.parametrize("width", WIDTHS)
def test_the_compare_matrix_opens_a_cells_quotes(page, log_in, history, screenshot_dir, width):
    page.set_viewport_size({"width": width, "height": 900})
    log_in(history)
    page.goto("/compare/")
    cell = page.locator("#compare-matrix tbody tr", has_text="IL").locator("td a").first
    total = int(cell.inner_text().split()[-1])
    assert not overflows(page)
    page.screenshot(path=str(screenshot_dir / f"compare-{width}.png"), full_page=True)
    cell.click()
    expect(page).to_have_url(re.compile(r"speaker_country=IL"))
    counts = page.locator("#countries-table tbody tr td:last-child").all_inner_texts()
    assert [int(count) for count in counts] == [total]


def test_the_target_page_prints_its_chart(page, log_in, history, screenshot_dir):
    log_in(history)
    page.goto("/targets/iran-nuclear/")
    page.emulate_media(media="print")
    expect(page.locator(".site-header")).to_be_hidden()
    expect(page.get_by_role("img", name="Stances toward Iran nuclear issue per month, by label")).to_be_visible()
    box = page.locator(".chart-scroll svg").bounding_box()
    assert box is not None and box["width"] <= page.viewport_size["width"]
    page.screenshot(path=str(screenshot_dir / "target-page-print.png"), full_page=True)


@pytest.fixture
def demo_history(settings):
    settings.DEBUG = True
    call_command("seed_demo", "--history", stdout=io.StringIO())
    settings.DEBUG = False
    return get_user_model().objects.get(username="researcher")


@pytest.mark.parametrize("width", WIDTHS)
def test_the_demos_history_reads_on_the_target_page_and_compare(page, log_in, demo_history, screenshot_dir, width):
    page.set_viewport_size({"width": width, "height": 900})
    log_in(demo_history)
    page.goto("/targets/jcpoa-return/?by=country&interval=quarter")
    chart = page.get_by_role(
        "img", name="Stances toward Return to the JCPOA (2015 Iran nuclear deal) per quarter, by country"
    )
    expect(chart).to_be_visible()
    totals = page.locator("#over-time-table tbody tr td:last-child").all_text_contents()
    body = api_json(page, page.locator("#over-time-url").input_value())
    assert sum(int(total) for total in totals) == sum(row["count"] for row in body["results"]) > 24
    assert not overflows(page)
    page.screenshot(path=str(screenshot_dir / f"demo-target-page-{width}.png"), full_page=True)
    if width == max(WIDTHS):
        # README's picture: the chart with its legend, as a reader sees it.
        section = page.locator("section[aria-labelledby=over-time-heading]")
        section.screenshot(path=str(screenshot_dir / "stance-chart.png"))
        if os.environ.get("UPDATE_SCREENSHOTS"):
            shutil.copy(screenshot_dir / "stance-chart.png", settings.BASE_DIR / "docs" / "stance-chart.png")
    page.goto("/compare/")
    expect(page.locator("#compare-matrix")).to_be_visible()
    assert not overflows(page)
    page.screenshot(path=str(screenshot_dir / f"demo-compare-{width}.png"), full_page=True)
