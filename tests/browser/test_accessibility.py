"""axe-core, in the browser, on every page each role sees: no WCAG 2.1 A or AA violation.

axe is vendored (tests/browser/vendor/) and evaluated in the page through the
DevTools protocol, which the page's strict CSP doesn't govern: the app's CSP stays
as it is in production. A violation fails the test naming its rule, its nodes and
how to fix it.

Colour contrast axe can't decide (text over a highlight's gradient, SVG chart labels)
is left to the eye: the screenshots in test-artifacts/.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from annotations.models import Article, Assignment, Quote, Speaker, Target
from tests.browser.test_annotate import EXAMPLE, open_quote_on, panel_settled

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

AXE = (Path(__file__).parent / "vendor" / "axe.min.js").read_text(encoding="utf-8")
WCAG_21_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]

RUN_AXE = """async (tags) => {
  const results = await axe.run(document, { runOnly: { type: "tag", values: tags } });
  if (!results.passes.length) return [{ id: "axe-ran-nothing", impact: null, help: "axe checked no rule", nodes: [] }];
  // "Needs review" counts too (an empty listbox, a reference to a missing id), except colour
  // contrast over the highlights' gradients and the charts' SVG, which axe can't measure.
  const unsure = results.incomplete.filter((v) => v.id !== "color-contrast");
  return results.violations.concat(unsure).map((v) => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.map((n) => ({ target: n.target.join(" "), summary: n.failureSummary })),
  }));
}"""


def violations(page) -> list[str]:
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(AXE)
    found = page.evaluate(RUN_AXE, WCAG_21_AA)
    return [
        f"{v['id']} ({v['impact']}): {v['help']}\n"
        + "\n".join(f"    {node['target']}: {node['summary']}" for node in v["nodes"])
        for v in found
    ]


class Audit:
    """Collects each page's violations, so one run reports every page's, not the first's."""

    def __init__(self, page) -> None:
        self.page = page
        self.found: dict[str, list[str]] = {}

    def check(self, name: str) -> None:
        self.page.wait_for_load_state("load")
        found = violations(self.page)
        if found:
            self.found[name] = found

    def visit(self, name: str, url: str) -> None:
        self.page.goto(url)
        self.check(name)

    def report(self) -> str:
        return "\n".join(f"{name}:\n  " + "\n  ".join(found) for name, found in self.found.items())


@pytest.fixture
def demo(settings):
    settings.DEBUG = True
    call_command("seed_demo", stdout=io.StringIO())
    settings.DEBUG = False
    return Article.objects.get(metadata__source="worked-example.json")


def test_axe_finds_nothing_on_any_page_of_any_role(page, log_in, demo, screenshot_dir):
    users = get_user_model().objects
    audit = Audit(page)

    audit.visit("login page", "/accounts/login/")

    # The analyst's pages: the queue, the annotate page plain, with a quote's panel open, with the help open.
    analyst = users.get(username="analyst")
    # The demo article comes curated and submitted: reopen it for the analyst, then put it back.
    curated_status = demo.status
    submitted = list(Assignment.objects.filter(article=demo).values_list("pk", "status"))
    Article.objects.filter(pk=demo.pk).update(status=Article.Status.OPEN)
    Assignment.objects.filter(article=demo).update(status=Assignment.Status.IN_PROGRESS)
    log_in(analyst)
    audit.visit("queue", "/")
    audit.visit("annotate page", demo.annotate_url)
    open_quote_on(page, EXAMPLE["quotes"][1])
    audit.check("annotate page, a new quote's panel open")
    page.goto(demo.annotate_url)
    page.locator("#quote-list .quote-link").first.click()
    page.wait_for_selector("#quote-form[action^='/quotes/']")
    panel_settled(page)
    audit.check("annotate page, a saved quote's panel open")
    page.focus("#article-text")
    page.keyboard.press("?")
    page.wait_for_selector("#help[open]")
    audit.check("annotate page, the help open")
    page.keyboard.press("Escape")
    # The refusals load with a 403 and a 404, which the page fixture counts as errors: a page of their own.
    refusals = Audit(page.context.new_page())
    refusals.visit("403 page (an analyst on the review queue)", "/review/")
    refusals.visit("404 page", "/articles/999999/annotate/")
    audit.found.update(refusals.found)
    Article.objects.filter(pk=demo.pk).update(status=curated_status)
    for pk, status in submitted:
        Assignment.objects.filter(pk=pk).update(status=status)

    reviewer = users.get(username="reviewer")
    page.context.clear_cookies()
    log_in(reviewer)
    audit.visit("review queue", "/review/")
    audit.visit("curation page", f"/review/articles/{demo.pk}/")
    page.locator(".curated-quote .actions").first.get_by_role("link", name="Edit").click()
    page.wait_for_selector(".edit-form input.target-combobox")
    page.locator(".edit-form input.target-combobox").fill("iran")
    audit.check("curation page, a curated quote's editor open, the target list open")
    audit.visit("agreement page", "/review/agreement/")
    audit.visit("assign page", "/review/assign/")
    iran = Target.objects.get(slug="iran-nuclear")
    Target.propose(name="Snapback of UN sanctions", parent=iran, by=analyst)
    audit.visit("target proposals page", "/review/targets/")
    for width in (1440, 390):
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(screenshot_dir / f"target-proposals-{width}.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})
    quote = Quote.objects.curated().filter(article=demo).order_by("start").first()
    assert quote is not None
    audit.visit("history page", f"/review/quotes/{quote.pk}/history/")
    price = Speaker.objects.get(name="Ned Price")
    duplicate = Speaker.objects.create(name="Edward Price", country="US")
    audit.visit("speakers index (reviewer)", "/speakers/?ordering=-quote_count")
    audit.visit("speaker page (reviewer, with its forms)", price.get_absolute_url())
    audit.visit("merge confirmation", f"/speakers/{price.pk}/merge/?duplicate={duplicate.pk}")

    researcher = users.get(username="researcher")
    page.context.clear_cookies()
    log_in(researcher)
    audit.visit("dataset page", "/dataset/")
    audit.visit("target page", "/targets/iran-nuclear/")
    audit.visit("target page, stacked by speaker, per quarter", "/targets/iran-nuclear/?by=speaker&interval=quarter")
    page.locator("details.chart-data summary").first.click()
    audit.check("target page, the chart's numbers open")
    audit.visit("compare page", "/compare/")
    audit.visit("compare page, speakers", "/compare/?rows=speaker")
    audit.visit("tokens page", "/tokens/")
    audit.visit("speakers index", "/speakers/")
    audit.visit("speaker page", price.get_absolute_url())

    assert not audit.found, "axe found WCAG 2.1 A/AA violations:\n" + audit.report()
