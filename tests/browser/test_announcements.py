"""What a screen reader hears after a save on the annotate page: the message, once.

A screen reader speaks a message for each live region whose content it is (an
``aria-live`` region, or a role that is one: status, alert, log…), and again when
the focus lands on an element holding it. After a save the page used to do all
three: the message was a ``role=status``, the script copied it into the
announcer, and moved the focus onto it.
"""

from __future__ import annotations

import pytest

from annotations.models import Quote
from tests.factories import ArticleFactory, AssignmentFactory, QuoteFactory, StanceFactory, UserFactory

from .test_annotate import panel_settled

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

LIVE = "[aria-live]:not([aria-live=off]), [role=status], [role=alert], [role=log], [role=marquee], [role=timer]"

HEARD = """([text, live]) => {
  const regions = Array.from(document.querySelectorAll(live)).filter((el) => el.textContent.includes(text));
  const focused = document.activeElement;
  const readOnFocus = !!focused && focused !== document.body && focused.textContent.includes(text);
  return {
    regions: regions.map((el) => el.id || el.className || el.tagName),
    readOnFocus: readOnFocus,
    focusInRegion: !!focused && focused.closest(live) !== null,
  };
}"""


def heard(page, text: str) -> dict:
    # The announcer writes 50 ms after it is asked (annotate.js): wait well past that.
    panel_settled(page)
    page.wait_for_timeout(400)
    return page.evaluate(HEARD, [text, LIVE])


def assert_said_once(page, text: str) -> None:
    said = heard(page, text)
    times = len(said["regions"]) + (1 if said["readOnFocus"] else 0)
    assert times == 1, f"“{text}” is said {times} times: {said}"
    assert not (said["readOnFocus"] and said["focusInRegion"]), said


def test_a_save_and_its_undo_are_each_announced_once(page, log_in):
    analyst = UserFactory(username="announced", role="analyst")
    article = ArticleFactory(pool=False)
    AssignmentFactory(article=article, annotator=analyst, status="in_progress")
    quote = QuoteFactory(article=article, annotator=analyst)
    StanceFactory(quote=quote)

    log_in(analyst)
    page.goto(article.annotate_url)
    page.click(f"#quote-{quote.pk} a.quote-link")
    page.wait_for_selector("#quote-form")
    page.check("input[name=kind][value=indirect]")
    page.click("#save-quote")
    message = page.locator("#quote-panel .message.success")
    message.wait_for()
    assert Quote.objects.get(pk=quote.pk).kind == "indirect"
    assert_said_once(page, message.inner_text())

    page.locator("#quote-panel form.undo button").click()
    page.wait_for_selector("#quote-panel .message.success:has-text('is back as it was')")
    assert Quote.objects.get(pk=quote.pk).kind == "direct"
    assert_said_once(page, page.locator("#quote-panel .message.success").inner_text())
