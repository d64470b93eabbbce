"""The three pages an analyst and a reviewer work in, on a 390 px phone: nothing
runs past the screen's edge, and the header folds to fit."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from tests.browser.test_curation import double_coded  # noqa: F401  (a fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

# What runs past the right edge, for the failure message: the widest culprits first.
OVERFLOW = """() => {
  const width = document.documentElement.clientWidth;
  const wide = Array.from(document.querySelectorAll("body *"))
    .map((el) => [el, el.getBoundingClientRect()])
    .filter(([el, r]) => r.right > width + 0.5 && r.width > 0)
    .map(([el, r]) => `${el.tagName}#${el.id}.${String(el.className).split(" ")[0]} ${Math.round(r.right)}`);
  return {scrollWidth: document.scrollingElement.scrollWidth, wide: wide.slice(0, 12)};
}"""


@pytest.fixture
def demo(double_coded):  # noqa: F811  (the imported fixture)
    """The demo article coded by both analysts, both submitted (the curation tests' fixture)."""
    return double_coded


def fits(page) -> None:
    measured = page.evaluate(OVERFLOW)
    assert measured["scrollWidth"] <= 390, measured
    # Nor does anything scroll sideways inside the page (a wide table in a scrolling box).
    assert page.evaluate(
        "() => document.querySelector('main').scrollWidth <= document.querySelector('main').clientWidth"
    )


@pytest.mark.parametrize(
    ("who", "where"),
    [
        ("analyst", "queue"),
        ("analyst", "annotate"),
        ("reviewer", "curation"),
    ],
)
def test_nothing_scrolls_sideways_at_390px(page, log_in, demo, who, where, screenshot_dir):
    article = demo
    page.set_viewport_size({"width": 390, "height": 844})
    log_in(get_user_model().objects.get(username=who))
    url = {
        "queue": reverse("annotations:home"),
        "annotate": article.annotate_url,
        "curation": reverse("annotations:review-article", args=[article.pk]),
    }[where]
    page.goto(url)
    fits(page)
    page.screenshot(path=str(screenshot_dir / f"{where}-390.png"))
    if where == "curation":
        page.locator("#row-1").scroll_into_view_if_needed()
        page.screenshot(path=str(screenshot_dir / f"{where}-390-rows.png"))
    # The header folds: brand and log-out on one line, the links wrapping under them, all on screen.
    header = page.locator(".site-header")
    for link in header.locator("nav a").all():
        box = link.bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= 390, link.inner_text()
    if where == "annotate":
        # The panel comes under the text, a quote open in it, and still nothing runs past the edge.
        page.locator("#quote-list .quote-link").first.click()
        page.wait_for_selector("#quote-panel blockquote, #quote-form")
        below = page.evaluate(
            "() => document.getElementById('quote-panel').getBoundingClientRect().top"
            " >= document.getElementById('article-text').getBoundingClientRect().bottom"
        )
        assert below
        fits(page)


@pytest.mark.parametrize(("who", "where"), [("analyst", "queue"), ("analyst", "annotate"), ("reviewer", "curation")])
def test_screenshot_the_queue_the_annotate_and_the_curation_page_wide(page, log_in, demo, who, where, screenshot_dir):
    article = demo
    page.set_viewport_size({"width": 1440, "height": 900})
    log_in(get_user_model().objects.get(username=who))
    page.goto(
        {
            "queue": reverse("annotations:home"),
            "annotate": article.annotate_url,
            "curation": reverse("annotations:review-article", args=[article.pk]),
        }[where]
    )
    assert page.evaluate("() => document.scrollingElement.scrollWidth") <= 1440
    page.screenshot(path=str(screenshot_dir / f"{where}-1440.png"))
