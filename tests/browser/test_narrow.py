"""The three pages an analyst and a reviewer work in, on a 390 px phone: nothing
runs past the screen's edge, and the header folds to fit."""

from __future__ import annotations

import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.urls import reverse

from annotations.models import Article, Assignment
from tests.factories import AssignmentFactory
from tests.test_review_walkthrough import second_analysts_quotes

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
def demo(settings):
    settings.DEBUG = True
    # One annotator: this fixture gives the second analyst their own reading.
    call_command("seed_demo", no_curation=True, one_annotator=True, stdout=io.StringIO())
    settings.DEBUG = False
    article = Article.objects.get(metadata__source="worked-example.json")
    User = get_user_model()
    analyst2 = User.objects.get(username="analyst2")
    Assignment.objects.get(annotator__username="analyst", article=article).move_to(Assignment.Status.SUBMITTED)
    AssignmentFactory(article=article, annotator=analyst2, status=Assignment.Status.SUBMITTED)
    second_analysts_quotes(article, analyst2)
    return article


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


@pytest.mark.parametrize(("who", "where"), [("analyst", "queue"), ("reviewer", "curation")])
def test_screenshot_the_queue_and_the_curation_page_wide(page, log_in, demo, who, where, screenshot_dir):
    article = demo
    page.set_viewport_size({"width": 1440, "height": 900})
    log_in(get_user_model().objects.get(username=who))
    page.goto(
        reverse("annotations:home") if where == "queue" else reverse("annotations:review-article", args=[article.pk])
    )
    assert page.evaluate("() => document.scrollingElement.scrollWidth") <= 1440
    page.screenshot(path=str(screenshot_dir / f"{where}-1440.png"))
