"""What a screen reader hears after a save on the annotate page, or a refusal: the message, once.

A screen reader speaks a message for each live region whose content it is (an
``aria-live`` region, or a role that is one: status, alert, log…), and again when
the focus lands on an element holding it (in its contents, its name or its
description). After a save the page used to do all three: the message was a
``role=status``, the script copied it into the announcer, and moved the focus onto
it. A refusal did the same: a ``role=alert`` (an undo's), copied into the announcer
behind "Not saved." (an undo's too), and focused.
"""

from __future__ import annotations

import pytest

from annotations.models import Quote
from tests.factories import ArticleFactory, AssignmentFactory, QuoteFactory, StanceFactory, UserFactory

from .test_annotate import panel_settled

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def open_quote(page, quote) -> None:
    """Open a saved quote in the panel and wait until its form has settled there.

    The page already holds a form ``#quote-form`` (the new quote's), so waiting for that
    selector alone returns before the saved quote's form has replaced it, and a change
    made then is lost with the old form."""
    page.click(f"#quote-{quote.pk} a.quote-link")
    page.wait_for_selector(f"#quote-form[action='/quotes/{quote.pk}/']")
    panel_settled(page)


LIVE = "[aria-live]:not([aria-live=off]), [role=status], [role=alert], [role=log], [role=marquee], [role=timer]"

HEARD = r"""([text, live]) => {
  const regions = Array.from(document.querySelectorAll(live)).filter((el) => el.textContent.includes(text));
  const focused = document.activeElement;
  const byIds = (el, name) =>
    (el.getAttribute(name) || "").split(/\s+/).map((id) => (document.getElementById(id) || {}).textContent || "");
  const heardOnFocus = (el) =>
    [el.textContent, el.getAttribute("aria-label") || ""]
      .concat(byIds(el, "aria-labelledby"), byIds(el, "aria-describedby"))
      .concat(Array.from(el.labels || []).map((label) => label.textContent))
      .some((said) => said.includes(text));
  const readOnFocus = !!focused && focused !== document.body && heardOnFocus(focused);
  return {
    regions: regions.map((el) => el.id || el.className || el.tagName),
    readOnFocus: readOnFocus,
    focusInRegion: !!focused && focused.closest(live) !== null,
  };
}"""

FOCUSED = """() => {
  const el = document.activeElement;
  const box = el.getBoundingClientRect();
  return {
    tag: el.tagName.toLowerCase(),
    cls: el.className,
    row: Array.from(document.querySelectorAll("#stance-rows .stance-row")).indexOf(el.closest(".stance-row")),
    inView: box.top >= 0 && box.bottom <= innerHeight,
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
    open_quote(page, quote)
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


def test_a_refused_save_is_announced_once_where_the_focus_fixes_it(page, log_in):
    analyst = UserFactory(username="refused", role="analyst")
    article = ArticleFactory(pool=False)
    AssignmentFactory(article=article, annotator=analyst, status="in_progress")
    quote = QuoteFactory(article=article, annotator=analyst)
    StanceFactory(quote=quote)
    saved = set(quote.stances.values_list("target_id", "label_id"))

    log_in(analyst)
    page.goto(article.annotate_url)
    open_quote(page, quote)
    # A second stance, labelled but given no target: the server refuses the save (422).
    page.check("input[name=kind][value=indirect]")
    page.click("#add-stance")
    page.keyboard.press("Escape")  # close the target list
    page.locator("#stance-rows .stance-row").nth(1).get_by_text("Support", exact=True).click()
    page.click("#save-quote")
    error = page.locator("#stance-rows .stance-row").nth(1).locator(".errorlist")
    error.wait_for()
    message = error.inner_text()
    assert "Choose a target for this stance" in message

    assert_said_once(page, message)
    assert "Not saved" not in page.locator("#announcer").text_content()
    # The focus is where the analyst fixes it: the error, in the row without a target, in view.
    focused = page.evaluate(FOCUSED)
    assert focused["cls"] == "errorlist" and focused["row"] == 1, focused
    assert focused["inView"], focused
    quote.refresh_from_db()
    assert (quote.version, quote.kind) == (1, "direct")
    assert set(quote.stances.values_list("target_id", "label_id")) == saved


def test_a_refused_undo_is_announced_once_as_an_undo_not_a_save(page, log_in):
    analyst = UserFactory(username="unundone", role="analyst")
    article = ArticleFactory(pool=False)
    AssignmentFactory(article=article, annotator=analyst, status="in_progress")
    quote = QuoteFactory(article=article, annotator=analyst)
    StanceFactory(quote=quote)

    log_in(analyst)
    page.goto(article.annotate_url)
    open_quote(page, quote)
    page.check("input[name=kind][value=indirect]")
    page.click("#save-quote")
    page.locator("#quote-panel form.undo button").wait_for()
    # Changed again meanwhile (another tab): the edit is no longer its last change.
    changed = Quote.objects.get(pk=quote.pk)
    changed.version += 1
    changed.save()

    page.locator("#quote-panel form.undo button").click()
    refusal = page.locator("#quote-panel .message.error")
    refusal.wait_for()
    message = refusal.inner_text()
    assert "only its last change can be undone" in message

    assert_said_once(page, message)
    assert "Not saved" not in page.locator("body").inner_text()
    assert "Not saved" not in page.locator("#announcer").text_content()
    focused = page.evaluate(FOCUSED)
    assert "message" in focused["cls"] and "error" in focused["cls"] and focused["inView"], focused
    assert Quote.objects.filter(pk=quote.pk).values_list("kind", "version").get() == ("indirect", changed.version)
