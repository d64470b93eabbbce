"""Hostile strings everywhere: stored as data, inert on every page, refused with 4xx when invalid.

tests/test_security_hostile_input.py covers the workspace. This module plants the
same hostile strings (markup, event handlers, ``javascript:`` links, htmx
attributes, template syntax) in every user-supplied field at once — article
titles, outlets and texts, speaker names, aliases and roles, targets and their
descriptions, stance labels and notes, cue words, comments, send-back notes and
API token names — and reads them back on every other page: the review pages
(queue, assignments, curation with its alignment, the curated-quote editor, the
agreement report and its SVG charts, histories, comment threads, tokens), the
analyst's view of a send-back note, the researcher's pages, the JSON API, the
exports and the admin. HTML shows each string escaped and no element or
attribute comes from it, and outside the admin shows it as text only inside an
``hx-disable`` container (which holds no htmx control); JSON carries it as data;
exports are attachments.

Import files (articles and spans) with hostile strings are stored as data; with
NUL bytes or over-long values they are refused whole with a per-line report,
never a 500. A scan of the code keeps ``|safe``, ``mark_safe`` and
``{% autoescape off %}`` to an allow-list whose every entry is justified.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import openpyxl
import pytest
from django.contrib.admin.models import LogEntry
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction
from django.http import HttpResponse
from django.templatetags.static import static
from django.test import Client, override_settings
from django.urls import reverse
from django.utils.html import escape
from knox.models import get_token_model

from annotations.models import Article, Assignment, Comment, Guidelines, Quote, Stance

from .factories import (
    ArticleFactory,
    AssignmentFactory,
    QuoteFactory,
    SpeakerAliasFactory,
    SpeakerFactory,
    SpeakerRoleFactory,
    StanceFactory,
    StanceLabelFactory,
    TargetFactory,
    UserFactory,
)
from .test_security_hostile_input import HOSTILE

pytestmark = pytest.mark.django_db
HX = {"HTTP_HX_REQUEST": "true"}
# The workspace's markup strings, and one for the data formats: a backslash,
# quotes, a closing script tag, a tab, a character beyond the BMP and U+2028
# (a line separator to str.splitlines(), plain text to JSON).
PLANTED = [*HOSTILE, 'back\\slash "quoted" </script> tab\there 😀 line\u2028sep']
NUL = "a\x00b"
BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"

# --- What "inert" means ---------------------------------------------------------------


class Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, {name: value or "" for name, value in attrs}))


URL_ATTRIBUTES = {"href", "src", "action", "formaction", "xlink:href", "hx-get", "hx-post", "hx-put", "hx-delete"}


def assert_no_injected_markup(html: str) -> None:
    """No element or attribute of the page could have come from a hostile string.

    The page's own markup passes: scripts carry the CSP nonce or load a static
    file, images are static files, the agreement chart is an SVG without handlers.
    """
    parser = Tags()
    parser.feed(html)
    for tag, attrs in parser.tags:
        assert tag not in {"iframe", "object", "embed", "frame"}, (tag, attrs)
        if tag == "script":
            assert (
                "nonce" in attrs
                or attrs.get("type") == "application/json"
                or attrs.get("src", "").startswith(static(""))
            ), attrs
        if tag == "img":
            assert attrs.get("src", "").startswith(static("")), attrs
        for name, value in attrs.items():
            assert not name.startswith(("on", "hx-on", "data-hx-on")), (tag, name, value)
            if name.startswith(("hx-", "data-hx-")):
                assert "/admin" not in value, (tag, name, value)
            if name in URL_ATTRIBUTES:
                assert not value.strip().lower().startswith(("javascript:", "data:text")), (tag, name, value)


def assert_inert(html: str, planted: list[str], shown: list[str]) -> None:
    """``shown`` strings appear escaped; no ``planted`` string appears as raw markup."""
    assert_no_injected_markup(html)
    for value in planted:
        if any(char in value for char in "<>\"'"):
            assert value not in html, f"raw markup in the page: {value}"
    for value in shown:
        # Shown as typed, so also never evaluated as a template.
        assert escape(value) in html, f"not shown escaped: {escape(value)}"


# Elements that hold no children, so never stay open.
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
# Text that htmx never reads as markup, so it needs no hx-disable: <head> is not
# swapped (htmx only sets document.title from the text of its <title>, which is RCDATA),
# script and style hold raw text (the page's own code and json_script data, which
# escapes <, > and &), and <option> and <textarea> are form controls inside forms that
# post with hx-post, so they can't sit in an hx-disable container (which would switch
# the form's htmx off); their text is a value, and they hold no elements.
NOT_MARKUP = {"head", "script", "style", "option", "textarea"}

BLOCKS = ("address", "blockquote", "details", "div", "dl", "fieldset", "figure", "form", "h1", "h2", "h3")
BLOCKS += ("h4", "h5", "h6", "header", "hr", "ol", "p", "pre", "section", "table", "ul")
# An element whose end tag may be left out ends where the browser ends it: at a
# sibling's start (the first set), looked for no further up than the second set.
IMPLIED_END: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "li": (("li",), ("ul", "ol")),
    "dt": (("dt", "dd"), ("dl",)),
    "dd": (("dt", "dd"), ("dl",)),
    "tr": (("tr",), ("table", "thead", "tbody", "tfoot")),
    "td": (("td", "th"), ("tr", "table")),
    "th": (("td", "th"), ("tr", "table")),
    "thead": (("thead", "tbody", "tfoot"), ("table",)),
    "tbody": (("thead", "tbody", "tfoot"), ("table",)),
    "tfoot": (("thead", "tbody", "tfoot"), ("table",)),
    "option": (("option",), ("select",)),
    **{block: (("p",), ("button", "td", "th", "li", "div", "section", "blockquote")) for block in BLOCKS},
}


HTMX_ATTRIBUTES = ("hx-get", "hx-post", "hx-put", "hx-patch", "hx-delete", "hx-trigger", "hx-boost")
HTMX_ATTRIBUTES += tuple(f"data-{name}" for name in HTMX_ATTRIBUTES)


class HxDisabledText(HTMLParser):
    """The page's text, character by character, with whether an ``hx-disable``
    element (self or ancestor) holds it."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.open: list[tuple[str, bool]] = []  # (tag, hx-disable on it or an ancestor)
        self.text: list[str] = []
        self.disabled: list[bool] = []
        self.switched_off: list[tuple[str, str]] = []  # htmx attributes hx-disable would ignore

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in VOID:
            return
        closes, within = IMPLIED_END.get(tag, ((), ()))
        for depth in range(len(self.open) - 1, -1, -1):
            if self.open[depth][0] in within:
                break
            if self.open[depth][0] in closes:
                del self.open[depth:]
                break
        inherited = bool(self.open) and self.open[-1][1]
        disabled = inherited or any(name == "hx-disable" for name, _ in attrs)
        if disabled:
            self.switched_off += [(tag, name) for name, _ in attrs if name.startswith(HTMX_ATTRIBUTES)]
        self.open.append((tag, disabled))

    def handle_endtag(self, tag: str) -> None:
        # Pop to the matching element: an unclosed <p> or <li> closes with its parent.
        for depth in range(len(self.open) - 1, -1, -1):
            if self.open[depth][0] == tag:
                del self.open[depth:]
                return

    def handle_data(self, data: str) -> None:
        if any(tag in NOT_MARKUP for tag, _ in self.open):
            self.text.append("\0" * len(data))  # kept out of the search, keeping positions
        else:
            self.text.append(data)
        self.disabled.extend([bool(self.open) and self.open[-1][1]] * len(data))


def assert_text_in_hx_disable(html: str, planted: list[str]) -> None:
    """Every planted string shown as text sits inside an ``hx-disable`` element,
    and no htmx control does.

    htmx processes ``hx-*`` attributes on every element it swaps in; if escaping
    ever failed, a hostile string inside ``hx-disable`` would still do nothing.
    Attribute values (``value``, ``title``) are not text and are not checked.
    A string split across elements (a highlight inside the article text) is
    found in the text joined up.
    """
    parser = HxDisabledText()
    parser.feed(html)
    parser.close()
    text = "".join(parser.text)
    outside = []
    for value in set(planted):
        start = text.find(value)
        while start != -1:
            if not all(parser.disabled[start : start + len(value)]):
                outside.append(text[max(0, start - 30) : start + len(value) + 30])
            start = text.find(value, start + 1)
    assert outside == [], f"planted text outside hx-disable: {outside}"
    # hx-disable switches htmx off for the whole subtree: no control of the page's may sit in one.
    assert parser.switched_off == [], f"htmx controls inside hx-disable: {parser.switched_off}"


@pytest.mark.parametrize(
    ("html", "contained"),
    [
        ("<p hx-disable>Q0 &lt;b&gt;</p>", True),
        ("<div hx-disable><p><span>Q0 &lt;b&gt;</span></p></div>", True),
        ("<p hx-disable>Q0 <mark>&lt;b&gt;</mark></p>", True),
        ("<p hx-disable><br><img src=x>Q0 &lt;b&gt;</p>", True),  # void elements never stay open
        ('<p title="Q0 &lt;b&gt;">Fine</p><input value="Q0 &lt;b&gt;">', True),  # attributes are not text
        ("<head><title>Q0 &lt;b&gt;</title></head>", True),
        ("<form hx-post=/x><select><option>Q0 &lt;b&gt;</option></select></form>", True),
        ("<p>Q0 &lt;b&gt;</p>", False),
        ("<p hx-disable>Fine</p><p>Q0 &lt;b&gt;</p>", False),
        ("<ul><li hx-disable>Fine<li>Q0 &lt;b&gt;</ul>", False),  # an unclosed <li> ends at the next
        ("<p hx-disable>Fine<div>Q0 &lt;b&gt;</div>", False),  # an unclosed <p> ends at a block
        ("<p hx-disable>Q0 </p>&lt;b&gt;", False),  # split across the container's edge
        ("<svg><title>Q0 &lt;b&gt;</title></svg>", False),  # an SVG <title> is an element like any other
        ("<div hx-disable><p>Q0 &lt;b&gt;</p><a href=/x hx-get=/x>Edit</a></div>", False),  # a dead control
    ],
)
def test_the_hx_disable_check_finds_exposed_text_and_dead_controls(html, contained):
    if contained:
        assert_text_in_hx_disable(html, ["Q0 <b>"])
    else:
        with pytest.raises(AssertionError, match=r"(outside|inside) hx-disable"):
            assert_text_in_hx_disable(html, ["Q0 <b>"])


def json_strings(data: Any) -> Iterator[str]:
    """Every string in a JSON document, keys and values."""
    if isinstance(data, str):
        yield data
    elif isinstance(data, dict):
        for key, value in data.items():
            yield key
            yield from json_strings(value)
    elif isinstance(data, list):
        for item in data:
            yield from json_strings(item)


# --- Planting -------------------------------------------------------------------------

# Every field a hostile string is planted in, as the planted string for value i.
FIELDS: dict[str, Callable[[int, str], str]] = {
    "title": lambda i, v: f"Title {i} {v}",
    "outlet": lambda i, v: f"Outlet {i} {v}",
    "text": lambda i, v: f"Q{i} {v}",  # the quote, a span of the article texts (the admin list shows 80)
    "body": lambda i, v: f"Curated story {i}. She said Q{i} {v} today.",  # the curated article's text
    "speaker": lambda i, v: f"Speaker {i} {v}",
    "alias": lambda i, v: f"Alias {i} {v}",
    "role": lambda i, v: f"Role {i} {v}",
    "organisation": lambda i, v: f"Ministry {i} {v}",
    "target": lambda i, v: f"Target {i} {v}",
    "description": lambda i, v: f"About {i} {v}",
    "label": lambda i, v: f"L{i} {v}"[:50],  # StanceLabel.name holds 50 characters
    "note": lambda i, v: f"Stance note {i} {v}",
    "cue": lambda i, v: f"said {i} {v}",
    "curated_cue": lambda i, v: f"Curated cue {i} {v}",
    "comment": lambda i, v: f"C{i} {v}",  # the admin list shows 80 characters
    "send_back": lambda i, v: f"Look again {i} {v}",
    "token": lambda i, v: f"Token {i} {v}",
    "definition": lambda i, v: f"Definition {i} {v}",
    "example": lambda i, v: f"Example {i} {v}",
    "guidelines": lambda i, v: f"# Guidelines {i}\n\n{v}\n\n[link {i}]({v}) <{v}> **{v}**",
    "guidelines_note": lambda i, v: f"Change {i} {v}"[:200],
}


def planted_strings(index: int) -> dict[str, str]:
    return {name: make(index, PLANTED[index]) for name, make in FIELDS.items()}


def logged_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def mark(article: Article, annotator: Any, taxonomy: SimpleNamespace) -> Quote:
    """``annotator``'s quote of the planted quote text, with its speaker, role, cue and stance."""
    strings = taxonomy.strings
    start = article.text.index(strings["text"])
    quote = QuoteFactory(
        article=article,
        start=start,
        end=start + len(strings["text"]),
        annotator=annotator,
        speaker=taxonomy.speaker,
        speaker_role=taxonomy.role,
        cue=strings["cue"],
    )
    StanceFactory(quote=quote, target=taxonomy.target, label=taxonomy.label, note=strings["note"])
    return quote


def plant() -> SimpleNamespace:
    """Every hostile string in every field, through the pages where people type them.

    Per hostile value: an open article two analysts submitted (and a third was
    sent back with a hostile note), with a raw quote, its comment thread, a
    curated copy whose cue a reviewer edited and a dropped curated copy; and a
    curated article with a curated quote, for the researcher.
    """
    users = SimpleNamespace(
        analyst=UserFactory(username="analyst", role="analyst"),
        analyst2=UserFactory(username="analyst2", role="analyst"),
        analyst3=UserFactory(username="analyst3", role="analyst"),
        reviewer=UserFactory(username="reviewer", role="reviewer"),
        researcher=UserFactory(username="researcher", role="researcher"),
        admin=UserFactory(username="admin", is_staff=True, is_superuser=True),
    )
    reviewing = logged_in(users.reviewer)
    values = []
    for index in range(len(PLANTED)):
        strings = planted_strings(index)
        speaker = SpeakerFactory(name=strings["speaker"])
        SpeakerAliasFactory(speaker=speaker, name=strings["alias"])
        role = SpeakerRoleFactory(speaker=speaker, title=strings["role"], organisation=strings["organisation"])
        target = TargetFactory(name=strings["target"], slug=f"hostile-{index}", description=strings["description"])
        label = StanceLabelFactory(
            slug=f"hostile-{index}",
            name=strings["label"],
            colour="#aa3300",
            definition=strings["definition"],
            examples=strings["example"],
        )
        taxonomy = SimpleNamespace(strings=strings, speaker=speaker, role=role, target=target, label=label)

        article = ArticleFactory(
            title=strings["title"], outlet=strings["outlet"], text=f"Intro {index}. He said {strings['text']} and left."
        )
        for annotator in (users.analyst, users.analyst3, users.analyst2):
            AssignmentFactory(article=article, annotator=annotator, status=Assignment.Status.SUBMITTED)
        raw, second = mark(article, users.analyst, taxonomy), mark(article, users.analyst3, taxonomy)
        sent_back = Assignment.objects.get(article=article, annotator=users.analyst2)
        response = reviewing.post(
            reverse("annotations:review-send-back", args=[article.pk]),
            {"assignment": sent_back.pk, "comment": strings["send_back"]},
        )
        assert response.status_code == 302, response.content[:300]
        response = reviewing.post(reverse("annotations:quote-comments", args=[raw.pk]), {"body": strings["comment"]})
        assert response.status_code == 302, response.content[:300]
        curated = raw.copy_as_curated(curator=users.reviewer, sources=[raw, second])
        response = reviewing.post(
            reverse("annotations:review-edit-quote", args=[curated.pk]),
            {
                "start": curated.start,
                "end": curated.end,
                "speaker": speaker.pk,
                "kind": "direct",
                "cue": strings["curated_cue"],
                "version": 1,
                f"stance_{target.pk}": label.pk,
            },
        )
        assert response.status_code == 302, response.content[:300]
        # Another curated copy of the same span needs another kind: one curator can't store the same quote twice.
        second.kind = "indirect"
        dropped = second.copy_as_curated(curator=users.reviewer)
        response = reviewing.post(reverse("annotations:review-drop-quote", args=[dropped.pk]), {"version": 1})
        assert response.status_code == 302, response.content[:300]
        response = reviewing.post(
            reverse("annotations:guidelines-edit"), {"body": strings["guidelines"], "note": strings["guidelines_note"]}
        )
        assert response.status_code == 302, response.content[:300]
        guidelines = Guidelines.objects.current()
        assert guidelines is not None and guidelines.body == strings["guidelines"]
        response = reviewing.post(reverse("annotations:token-list"), {"name": strings["token"], "days": 30})
        assert response.status_code == 200, response.content[:300]
        # Stored as typed.
        sent_back.refresh_from_db()
        curated.refresh_from_db()
        assert sent_back.comment == strings["send_back"]
        assert Comment.objects.get(quote=raw).body == strings["comment"]
        assert curated.cue == strings["curated_cue"]
        assert LogEntry.objects.filter(object_repr=strings["token"]).exists()

        done = ArticleFactory(
            title=strings["title"],
            outlet=strings["outlet"],
            text=strings["body"],
            status=Article.Status.CURATED,
        )
        AssignmentFactory(article=done, annotator=users.analyst, status=Assignment.Status.REVIEWED)
        done_quote = mark(done, users.analyst, taxonomy).copy_as_curated(curator=users.reviewer)

        values.append(
            SimpleNamespace(
                strings=strings,
                article=article,
                raw=raw,
                curated=curated,
                dropped=dropped,
                done=done,
                done_quote=done_quote,
                speaker=speaker,
                target=target,
                comment=Comment.objects.get(quote=raw),
                sent_back=sent_back,
                guidelines=guidelines,
            )
        )
    return SimpleNamespace(users=users, values=values)


# --- The pages ---------------------------------------------------------------------------


def each(build: Callable[[SimpleNamespace], str]) -> Callable[[SimpleNamespace], list[str]]:
    """One page per hostile value: page i must show value i's strings."""
    return lambda planted: [build(value) for value in planted.values]


def admin(model: str, view: str, attribute: str | None = None) -> Callable[[SimpleNamespace], Any]:
    if attribute is None:
        return lambda planted: reverse(f"admin:annotations_{model}_{view}")
    return each(lambda value: reverse(f"admin:annotations_{model}_{view}", args=[getattr(value, attribute).pk]))


def svg(chart_id: str) -> Callable[[str], str]:
    def part(html: str) -> str:
        found = re.search(rf'<svg id="{chart_id}".*?</svg>', html, re.DOTALL)
        assert found, f"no chart {chart_id}"
        return found.group(0)

    return part


@dataclass(frozen=True)
class Page:
    name: str
    url: Callable[[SimpleNamespace], str | list[str]]
    role: str
    shows: tuple[str, ...]  # the planted fields the page must show (escaped, or as JSON data)
    htmx: bool = False
    headers: tuple[tuple[str, str], ...] = ()
    part: Callable[[str], str] | None = None  # where on the page to look for ``shows``

    def __str__(self) -> str:
        return self.name


QUOTE_FIELDS = ("text", "speaker", "role", "organisation", "target", "note", "cue", "title", "outlet")
EXPORT = "/api/v1/quotes/export/?format={}"

PAGES = [
    # --- The guidelines (every member): the Markdown rendered inert, notes, label definitions and examples
    Page(
        "guidelines page",
        lambda p: reverse("annotations:guidelines"),
        "researcher",
        ("guidelines_note", "label", "definition", "example"),
    ),
    Page(
        "guidelines versions",
        each(lambda value: reverse("annotations:guidelines-version", args=[value.guidelines.number])),
        "analyst",
        ("guidelines_note",),
    ),
    # --- Review (reviewers)
    Page("review queue", lambda p: reverse("annotations:review-queue"), "reviewer", ("title", "outlet")),
    Page("review queue fragment", lambda p: reverse("annotations:review-queue"), "reviewer", ("title", "outlet"), True),
    Page("assign page", lambda p: reverse("annotations:review-assign"), "reviewer", ("title", "outlet")),
    Page(
        "assign search fragment",
        lambda p: reverse("annotations:review-assign") + "?q=Title",
        "reviewer",
        ("title", "outlet"),
        True,
        (("HX-Target", "article-choices"),),
    ),
    Page(
        "curation page with the alignment",
        each(lambda v: v.article.review_url),
        "reviewer",
        (
            "title",
            "outlet",
            "text",
            "speaker",
            "role",
            "organisation",
            "cue",
            "curated_cue",
            "target",
            "label",
            "comment",
            "send_back",
        ),
    ),
    Page(
        "curation fragment",
        each(lambda v: v.article.review_url),
        "reviewer",
        ("text", "speaker", "role", "organisation", "cue", "curated_cue", "target", "label", "comment", "send_back"),
        True,
    ),
    Page(
        "curated quote editor",
        each(lambda v: reverse("annotations:review-edit-quote", args=[v.curated.pk])),
        "reviewer",
        ("title", "text", "speaker", "curated_cue", "target", "label"),
    ),
    Page("agreement report", lambda p: reverse("annotations:review-agreement"), "reviewer", ("outlet", "target")),
    Page(
        "agreement chart (SVG)",
        lambda p: reverse("annotations:review-agreement"),
        "reviewer",
        ("target",),
        part=svg("target-chart"),
    ),
    Page(
        "agreement report for one target",
        each(lambda v: reverse("annotations:review-agreement") + f"?target={v.target.pk}"),
        "reviewer",
        ("outlet", "target"),
    ),
    Page("agreement fragment", lambda p: reverse("annotations:review-agreement"), "reviewer", ("target",), True),
    Page(
        "history of a raw quote",
        each(lambda v: reverse("annotations:quote-history", args=[v.raw.pk])),
        "reviewer",
        ("text", "speaker", "role", "organisation", "cue", "target", "label", "note"),
    ),
    Page(
        "history of an edited curated quote",
        each(lambda v: reverse("annotations:quote-history", args=[v.curated.pk])),
        "reviewer",
        ("text", "speaker", "role", "organisation", "cue", "curated_cue", "target", "label", "note"),
    ),
    Page(
        "history of a dropped curated quote",
        each(lambda v: reverse("annotations:quote-history", args=[v.dropped.pk])),
        "reviewer",
        ("text", "speaker", "role", "organisation", "cue", "target", "label", "note"),
    ),
    Page(
        "comment thread",
        each(lambda v: reverse("annotations:quote-comments", args=[v.raw.pk])),
        "reviewer",
        ("text", "comment"),
    ),
    Page(
        "comment thread fragment",
        each(lambda v: reverse("annotations:quote-comments", args=[v.raw.pk])),
        "reviewer",
        ("comment",),
        True,
    ),
    Page("API tokens page", lambda p: reverse("annotations:token-list"), "reviewer", ("token",)),
    # --- The analysts: a send-back note, their own quote's history and thread
    Page(
        "annotate page with the send-back note",
        each(lambda v: v.article.annotate_url),
        "analyst2",
        ("title", "outlet", "text", "send_back", "label"),
    ),
    # The page opens on the empty panel; the new quote's form lists the targets and labels.
    Page(
        "new quote panel with its targets",
        each(lambda v: reverse("annotations:quote-new", args=[v.article.pk])),
        "analyst2",
        ("target", "label"),
        True,
    ),
    Page("queue of the sent-back analyst", lambda p: reverse("annotations:home"), "analyst2", ("title", "outlet")),
    Page(
        "quote panel with its comments",
        each(lambda v: reverse("annotations:quote-edit", args=[v.raw.pk])),
        "analyst",
        ("text", "speaker", "comment"),
        True,
    ),
    Page(
        "history of my quote",
        each(lambda v: reverse("annotations:quote-history", args=[v.raw.pk])),
        "analyst",
        ("text", "speaker", "role", "organisation", "cue", "target", "label", "note"),
    ),
    Page(
        "comment thread on my quote",
        each(lambda v: reverse("annotations:quote-comments", args=[v.raw.pk])),
        "analyst",
        ("text", "comment"),
    ),
    # --- Researchers' pages
    # A researcher's home is the dataset page (the queue redirects there).
    Page("researcher dataset", lambda p: reverse("annotations:dataset"), "researcher", ("title", "outlet")),
    Page(
        "curated article page",
        each(lambda v: v.done.annotate_url),
        "researcher",
        ("title", "outlet", "text", "speaker", "target", "label"),
    ),
    Page("speakers index", lambda p: reverse("annotations:speaker-index"), "researcher", ("speaker", "alias", "role")),
    Page(
        "speaker page",
        each(lambda v: v.speaker.get_absolute_url()),
        "researcher",
        ("speaker", "alias", "role", "organisation", "title", "outlet", "target", "label"),
    ),
    Page(
        "speaker page with the reviewers' forms",
        each(lambda v: v.speaker.get_absolute_url()),
        "reviewer",
        ("speaker", "alias", "role", "organisation", "title", "outlet", "target", "label"),
    ),
    Page(
        "researcher agreement report",
        lambda p: reverse("annotations:review-agreement"),
        "researcher",
        ("outlet", "target"),
    ),
    # --- The API: JSON data
    Page("API articles", lambda p: "/api/v1/articles/?page_size=500", "researcher", ("title", "outlet")),
    Page(
        "API article with its quotes",
        each(lambda v: f"/api/v1/articles/{v.done.pk}/?include=quotes"),
        "researcher",
        (*QUOTE_FIELDS, "body"),
    ),
    Page("API quotes", lambda p: "/api/v1/quotes/?page_size=500", "researcher", QUOTE_FIELDS),
    Page(
        "API quotes, raw layer",
        lambda p: "/api/v1/quotes/?layer=raw&page_size=500",
        "reviewer",
        QUOTE_FIELDS,
    ),
    Page("API quote", each(lambda v: f"/api/v1/quotes/{v.done_quote.pk}/"), "researcher", QUOTE_FIELDS),
    Page(
        "API quotes asked for by a browser",
        lambda p: "/api/v1/quotes/?page_size=500",
        "researcher",
        QUOTE_FIELDS,
        headers=(("Accept", BROWSER_ACCEPT),),
    ),
    Page(
        "API speakers",
        lambda p: "/api/v1/speakers/?page_size=500",
        "researcher",
        ("speaker", "alias", "role", "organisation"),
    ),
    Page("API targets", lambda p: "/api/v1/targets/?page_size=500", "researcher", ("target", "description")),
    Page("API stance labels", lambda p: "/api/v1/stance-labels/?page_size=500", "researcher", ("label",)),
    Page("API assignments", lambda p: "/api/v1/assignments/?page_size=500", "reviewer", ("title", "send_back")),
    Page(
        "API assignment",
        each(lambda v: f"/api/v1/assignments/{v.sent_back.pk}/"),
        "reviewer",
        ("title", "outlet", "send_back"),
    ),
    Page(
        "API assignments of an analyst",
        lambda p: "/api/v1/assignments/?annotator=analyst2&page_size=500",
        "analyst2",
        ("title", "send_back"),
    ),
    # --- Exports: attachments
    Page("JSONL export", lambda p: EXPORT.format("jsonl"), "researcher", QUOTE_FIELDS),
    Page("CSV export", lambda p: EXPORT.format("csv"), "researcher", QUOTE_FIELDS),
    Page("XLSX export", lambda p: EXPORT.format("xlsx"), "researcher", QUOTE_FIELDS),
    Page(
        "W3C export",
        lambda p: EXPORT.format("w3c"),
        "researcher",
        ("text", "speaker", "role", "organisation", "target", "title"),
    ),
    Page("doccano export", lambda p: EXPORT.format("doccano"), "researcher", ("title", "outlet", "body")),
    Page(
        "Label Studio export", lambda p: EXPORT.format("labelstudio"), "researcher", ("title", "outlet", "body", "text")
    ),
    Page("raw-layer export", lambda p: EXPORT.format("jsonl") + "&layer=raw", "reviewer", QUOTE_FIELDS),
    # --- The admin
    Page("admin articles", admin("article", "changelist"), "admin", ("title", "outlet")),
    Page("admin article", admin("article", "change", "done"), "admin", ("title", "outlet", "body", "text")),
    Page("admin quotes", admin("quote", "changelist"), "admin", ("text", "title", "speaker", "target", "label")),
    Page(
        "admin quote",
        admin("quote", "change", "raw"),
        "admin",
        ("text", "title", "speaker", "role", "organisation", "cue", "target", "label", "note"),
    ),
    Page(
        "admin quote history",
        admin("quote", "history", "curated"),
        "admin",
        ("speaker", "cue", "curated_cue"),
    ),
    Page("admin speakers", admin("speaker", "changelist"), "admin", ("speaker", "alias")),
    Page("admin speaker", admin("speaker", "change", "speaker"), "admin", ("speaker", "alias", "role", "organisation")),
    Page("admin speaker roles", admin("speakerrole", "changelist"), "admin", ("role", "organisation", "speaker")),
    Page("admin targets", admin("target", "changelist"), "admin", ("target",)),
    Page("admin target", admin("target", "change", "target"), "admin", ("target", "description")),
    Page("admin stances", admin("stance", "changelist"), "admin", ("speaker", "target", "label")),
    Page("admin stance labels", admin("stancelabel", "changelist"), "admin", ("label",)),
    Page("admin comments", admin("comment", "changelist"), "admin", ("comment", "speaker")),
    Page("admin comment", admin("comment", "change", "comment"), "admin", ("comment", "speaker")),
    Page("admin assignments", admin("assignment", "changelist"), "admin", ("title",)),
    Page("admin assignment", admin("assignment", "change", "sent_back"), "admin", ("title", "send_back")),
]

# How many (hostile string, field, page) checks the table makes; each also checks
# that no planted string appears as raw markup on the page.
HOSTILE_CHECKS = len(PLANTED) * sum(len(page.shows) for page in PAGES)


def fetch(client: Client, page: Page, url: str) -> HttpResponse:
    headers = {f"HTTP_{name.upper().replace('-', '_')}": value for name, value in page.headers}
    if page.htmx:
        headers.update(HX)
    return client.get(url, **headers)


def export_strings(response: HttpResponse) -> list[str]:
    content = b"".join(response.streaming_content)
    media_type = response["Content-Type"].split(";")[0]
    if media_type == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet":
        sheet = openpyxl.load_workbook(io.BytesIO(content))["quotes"]
        cells = [cell for row in sheet.iter_rows() for cell in row]
        assert not [cell.coordinate for cell in cells if cell.data_type == "f"], "a formula cell in the XLSX"
        return [cell.value for cell in cells if isinstance(cell.value, str)]
    body = content.decode("utf-8")
    if media_type == "text/csv":
        return [cell for row in csv.reader(io.StringIO(body, newline="")) for cell in row]
    if media_type == "application/x-ndjson":
        return [text for line in body.split("\n") if line.strip() for text in json_strings(json.loads(line))]
    return list(json_strings(json.loads(body)))


def check(page: Page, url: str, response: HttpResponse, shown: list[str], planted: list[str]) -> None:
    assert response.status_code == 200, (page.name, response.status_code)
    assert response["X-Content-Type-Options"] == "nosniff"
    content_type = response["Content-Type"]
    if url.startswith("/api/v1/quotes/export"):
        assert response["Content-Disposition"].startswith("attachment;"), response["Content-Disposition"]
        assert not content_type.startswith(("text/html", "application/xhtml", "image/svg")), content_type
        strings = set(export_strings(response))
        for value in shown:
            assert value in strings, f"{page}: not in the export as data: {value!r}"
    elif url.startswith("/api/"):
        assert content_type == "application/json", content_type
        strings = set(json_strings(json.loads(response.content)))
        for value in shown:
            assert value in strings, f"{page}: not in the JSON as data: {value!r}"
    else:
        assert content_type.startswith("text/html"), content_type
        html = response.content.decode()
        assert_inert(html, planted, [])
        region = page.part(html) if page.part else html
        assert_inert(region, planted, shown)
        if not url.startswith(reverse("admin:index")):  # the admin loads no htmx
            assert_text_in_hx_disable(html, [*planted, *PLANTED])


@pytest.fixture(scope="class")
def planted(django_db_setup, django_db_blocker):
    """Planted once for the table (a minute's work otherwise), rolled back after it."""
    with (
        django_db_blocker.unblock(),
        override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]),
    ):
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            yield plant()
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)


class TestEveryPage:
    @pytest.mark.parametrize("page", PAGES, ids=str)
    def test_every_hostile_string_is_inert_data_on_every_page(self, planted, page):
        client = logged_in(getattr(planted.users, page.role))
        everything = [text for value in planted.values for text in value.strings.values()]
        urls = page.url(planted)
        if isinstance(urls, str):
            shown = [value.strings[name] for value in planted.values for name in page.shows]
            check(page, urls, fetch(client, page, urls), shown, everything)
            return
        assert len(urls) == len(planted.values)
        for url, value in zip(urls, planted.values, strict=True):
            check(page, url, fetch(client, page, url), [value.strings[name] for name in page.shows], everything)


# --- Import files: hostile strings are data ------------------------------------------------


def import_lines(prefix: str) -> list[dict[str, Any]]:
    """One article per hostile string, with the string in every text field and in its metadata."""
    return [
        {
            "title": f"{prefix} title {index} {value}",
            "outlet": f"Outlet {index} {value}",
            "text": f"{prefix} story {index}. He said {value} and left.",
            "metadata": {"section": value, value: index},
        }
        for index, value in enumerate(HOSTILE)
    ]


def as_jsonl(lines: list[dict[str, Any]]) -> bytes:
    return "\n".join(json.dumps(line, ensure_ascii=False) for line in lines).encode()


def as_csv(lines: list[dict[str, Any]]) -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.DictWriter(buffer, fieldnames=["title", "outlet", "text", "metadata"])
    writer.writeheader()
    for line in lines:
        writer.writerow({**line, "metadata": json.dumps(line["metadata"], ensure_ascii=False)})
    return buffer.getvalue().encode()


def assert_imported_as_data(lines: list[dict[str, Any]]) -> None:
    stored = {article.title: article for article in Article.objects.all()}
    assert len(stored) == len(lines)
    for line in lines:
        article = stored[line["title"]]
        assert (article.outlet, article.text, article.metadata) == (line["outlet"], line["text"], line["metadata"])


@pytest.mark.parametrize(("fmt", "encode"), [("jsonl", as_jsonl), ("csv", as_csv)])
def test_hostile_articles_uploaded_are_stored_as_typed_and_listed_inert(login, reviewer, fmt, encode):
    lines = import_lines("Uploaded")
    upload = SimpleUploadedFile(f"hostile.{fmt}", encode(lines))
    response = login(reviewer).post(reverse("annotations:article-upload"), {"file": upload})
    assert response.status_code == 200, response.content[:500]
    assert_imported_as_data(lines)
    page = login(reviewer).get(reverse("annotations:review-assign")).content.decode()
    assert_inert(page, [*HOSTILE], [line[name] for line in lines for name in ("title", "outlet")])


@pytest.mark.parametrize(("fmt", "encode"), [("jsonl", as_jsonl), ("csv", as_csv)])
def test_hostile_articles_imported_by_the_command_are_stored_as_typed(tmp_path, fmt, encode):
    lines = import_lines("Commanded")
    path = tmp_path / f"hostile.{fmt}"
    path.write_bytes(encode(lines))
    out = io.StringIO()
    call_command("import_articles", str(path), "--no-progress", "--language", "en", stdout=out, stderr=io.StringIO())
    assert f"imported {len(lines)} articles" in out.getvalue()
    assert_imported_as_data(lines)


def test_an_upload_report_echoes_hostile_field_names_and_values_inert(login, reviewer):
    line = {"title": "Fine", "text": "Fine text.", "published_on": HOSTILE[2], HOSTILE[1]: "x", "language": HOSTILE[0]}
    upload = SimpleUploadedFile("hostile.jsonl", as_jsonl([line]))
    response = login(reviewer).post(reverse("annotations:article-upload"), {"file": upload})
    assert response.status_code == 422
    html = response.content.decode()
    assert_inert(html, HOSTILE, [HOSTILE[1], "line 1"])
    assert escape(repr(HOSTILE[2])) in html  # the refused date, quoted as typed
    assert_text_in_hx_disable(html, HOSTILE)
    assert not Article.objects.exists()


# --- Import files: NUL bytes and over-long values refuse the whole file ------------------------

# Article fields a NUL byte or one character too many makes invalid.
BAD_ARTICLE_VALUES = {
    "NUL in the title": ("title", f"Title {NUL}"),
    "NUL in the outlet": ("outlet", f"Outlet {NUL}"),
    "NUL in the text": ("text", f"Text with a {NUL} inside."),
    "over-long title": ("title", "t" * 501),
    "over-long outlet": ("outlet", "o" * 201),
    "over-long language": ("language", "en-" + "x" * 33),
    "over-long text": ("text", "x" * 500_001),
}


def good_and_bad(problem: str) -> list[dict[str, Any]]:
    name, bad = BAD_ARTICLE_VALUES[problem]
    lines = [
        {"title": "A good article", "outlet": "", "language": "en", "text": "A good text."},
        {"title": "A bad article", "outlet": "", "language": "en", "text": "Another text."},
    ]
    lines[1][name] = bad
    return lines


def as_plain_csv(lines: list[dict[str, Any]]) -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.DictWriter(buffer, fieldnames=list(lines[0]))
    writer.writeheader()
    writer.writerows(lines)
    return buffer.getvalue().encode()


# (format, encoder, the line the bad article is on: a CSV header is line 1)
IMPORT_FORMATS = [("jsonl", as_jsonl, 2), ("csv", as_plain_csv, 3)]


@pytest.mark.parametrize("problem", BAD_ARTICLE_VALUES)
@pytest.mark.parametrize(("fmt", "encode", "bad_line"), IMPORT_FORMATS, ids=["jsonl", "csv"])
def test_an_invalid_value_refuses_the_whole_upload_with_a_line_report(login, reviewer, problem, fmt, encode, bad_line):
    upload = SimpleUploadedFile(f"bad.{fmt}", encode(good_and_bad(problem)))
    response = login(reviewer).post(reverse("annotations:article-upload"), {"file": upload})
    assert response.status_code == 422
    assert f"line {bad_line}: {BAD_ARTICLE_VALUES[problem][0]}: " in response.content.decode()
    assert not Article.objects.exists()


@pytest.mark.parametrize("problem", BAD_ARTICLE_VALUES)
@pytest.mark.parametrize(("fmt", "encode", "bad_line"), IMPORT_FORMATS, ids=["jsonl", "csv"])
def test_an_invalid_value_refuses_the_whole_file_in_the_command(tmp_path, problem, fmt, encode, bad_line):
    path = tmp_path / f"bad.{fmt}"
    path.write_bytes(encode(good_and_bad(problem)))
    err = io.StringIO()
    with pytest.raises(CommandError, match="nothing was imported"):
        call_command("import_articles", str(path), "--no-progress", stdout=io.StringIO(), stderr=err)
    assert f"line {bad_line}: {BAD_ARTICLE_VALUES[problem][0]}: " in err.getvalue()
    assert not Article.objects.exists()


# --- Span imports (doccano, Label Studio) -------------------------------------------------------


def doccano(records: list[dict[str, Any]]) -> bytes:
    lines = []
    for record in records:
        start = record["text"].index(record["quote"])
        line = {"text": record["text"], "label": [[start, start + len(record["quote"]), "DIRECT"]]}
        line.update({name: record[name] for name in ("title", "outlet") if name in record})
        lines.append(json.dumps(line, ensure_ascii=False))
    return "\n".join(lines).encode()


def label_studio(records: list[dict[str, Any]]) -> bytes:
    tasks = []
    for record in records:
        start = record["text"].index(record["quote"])  # BMP text: UTF-16 offsets are code points
        result = {"start": start, "end": start + len(record["quote"]), "labels": ["DIRECT"], "text": record["quote"]}
        data = {"text": record["text"], **{name: record[name] for name in ("title", "outlet") if name in record}}
        tasks.append({"data": data, "annotations": [{"result": [{"type": "labels", "value": result}]}]})
    return json.dumps(tasks, ensure_ascii=False).encode()


SPAN_FORMATS = [("doccano", doccano, "line"), ("labelstudio", label_studio, "task")]


def span_records() -> list[dict[str, Any]]:
    return [
        {
            "title": f"Spans {index} {value}",
            "outlet": f"Outlet {index} {value}",
            "text": f"Span story {index}. He said {value} and left.",
            "quote": value,
        }
        for index, value in enumerate(HOSTILE)
    ]


def import_spans_over_api(client: Client, fmt: str, content: bytes) -> HttpResponse:
    upload = SimpleUploadedFile(f"spans.{'jsonl' if fmt == 'doccano' else 'json'}", content)
    return client.post("/api/v1/quotes/import", {"file": upload, "format": fmt})


@pytest.mark.parametrize(("fmt", "encode", "unit"), SPAN_FORMATS, ids=["doccano", "labelstudio"])
def test_hostile_span_imports_are_stored_as_data(login, analyst, fmt, encode, unit):
    records = span_records()
    response = import_spans_over_api(login(analyst), fmt, encode(records))
    assert response.status_code == 201, response.content[:500]
    assert response["Content-Type"] == "application/json"
    assert response.json()["quotes_created"] == len(records)
    for record in records:
        article = Article.objects.get(text=record["text"])
        assert (article.title, article.outlet) == (record["title"], record["outlet"])
        quote = Quote.objects.get(article=article)
        assert (quote.text, quote.annotator) == (record["quote"], analyst)
    page = login(analyst).get(reverse("annotations:home")).content.decode()
    assert_inert(page, HOSTILE, [record[name] for record in records for name in ("title", "outlet")])


BAD_SPAN_RECORDS = {
    "NUL in the text": {"text": f"Span story. He said {NUL} and left.", "quote": "He said"},
    "NUL in the title": {"title": f"Title {NUL}"},
    "over-long title": {"title": "t" * 501},
    "over-long outlet": {"outlet": "o" * 201},
    "over-long text": {"text": "He said it. " + "x" * 500_001, "quote": "He said"},
}


@pytest.mark.parametrize("problem", BAD_SPAN_RECORDS)
@pytest.mark.parametrize(("fmt", "encode", "unit"), SPAN_FORMATS, ids=["doccano", "labelstudio"])
def test_an_invalid_span_record_refuses_the_whole_file_with_a_report(login, analyst, problem, fmt, encode, unit):
    good = {"title": "Good", "text": "A good story. She said yes.", "quote": "She said yes."}
    bad = {"title": "Bad", "text": "Another story. He said no.", "quote": "He said no.", **BAD_SPAN_RECORDS[problem]}
    response = import_spans_over_api(login(analyst), fmt, encode([good, bad]))
    assert response.status_code == 400, response.content[:500]
    assert response["Content-Type"] == "application/json"
    report = response.json()
    assert report["ok"] is False and report["errors"], report
    assert {(error["line"], error["unit"]) for error in report["errors"]} == {(2, unit)}
    assert not Article.objects.exists()
    assert not Quote.objects.exists()


@pytest.mark.parametrize(("fmt", "content"), [("doccano", b'{"text": "He said \x00 it.", "label": []}')])
def test_a_raw_nul_byte_in_a_span_file_is_refused_not_a_500(login, analyst, fmt, content):
    response = import_spans_over_api(login(analyst), fmt, content)
    assert response.status_code == 400
    assert response.json()["errors"][0]["line"] == 1
    assert not Article.objects.exists()


# --- Review inputs: NUL bytes and over-long values ---------------------------------------------


@pytest.fixture
def thread(analyst, second_analyst):
    """A submitted article with a quote of the analyst's, a second analyst's submitted assignment,
    and a curated copy of the quote."""
    article = ArticleFactory(title="Talks")
    AssignmentFactory(article=article, annotator=analyst, status=Assignment.Status.SUBMITTED)
    other = AssignmentFactory(article=article, annotator=second_analyst, status=Assignment.Status.SUBMITTED)
    quote = QuoteFactory(article=article, annotator=analyst)
    return SimpleNamespace(article=article, quote=quote, other=other, curated=quote.copy_as_curated(curator=None))


INVALID_TEXTS = {"NUL": NUL, "over-long": "c" * 2001, "blank": "   "}


@pytest.mark.parametrize("htmx", [False, True], ids=["no-JS", "htmx"])
@pytest.mark.parametrize("body", INVALID_TEXTS.values(), ids=INVALID_TEXTS)
@pytest.mark.parametrize("role", ["analyst", "reviewer"])
def test_an_invalid_comment_is_refused_with_a_message(request, login, thread, role, body, htmx):
    response = login(request.getfixturevalue(role)).post(
        reverse("annotations:quote-comments", args=[thread.quote.pk]), {"body": body}, **(HX if htmx else {})
    )
    assert response.status_code in {400, 422}
    assert 'class="errorlist"' in response.content.decode()
    assert not Comment.objects.exists()


@pytest.mark.parametrize("comment", INVALID_TEXTS.values(), ids=INVALID_TEXTS)
def test_an_invalid_send_back_note_is_refused(login, reviewer, thread, comment):
    response = login(reviewer).post(
        reverse("annotations:review-send-back", args=[thread.article.pk]),
        {"assignment": thread.other.pk, "comment": comment},
        **HX,
    )
    assert response.status_code in {400, 422}
    thread.other.refresh_from_db()
    assert (thread.other.status, thread.other.comment) == (Assignment.Status.SUBMITTED, "")


@pytest.mark.parametrize("name", [NUL, "t" * 101, "   "], ids=["NUL", "over-long", "blank"])
def test_an_invalid_token_name_is_refused(login, reviewer, name):
    response = login(reviewer).post(reverse("annotations:token-list"), {"name": name, "days": 30})
    assert response.status_code in {400, 422}
    assert 'class="errorlist"' in response.content.decode()
    assert not get_token_model().objects.exists()


@pytest.mark.parametrize("cue", [NUL, "c" * 101], ids=["NUL", "over-long"])
def test_an_invalid_cue_on_a_curated_quote_is_refused(login, reviewer, thread, cue):
    curated = thread.curated
    data = {"start": curated.start, "end": curated.end, "kind": "direct", "cue": cue, "version": 1}
    response = login(reviewer).post(reverse("annotations:review-edit-quote", args=[curated.pk]), data, **HX)
    assert response.status_code in {400, 422}
    curated.refresh_from_db()
    assert (curated.version, curated.cue) == (1, "")


@pytest.mark.parametrize("exact", [NUL, "We will" + NUL, "w" * 500_001], ids=["NUL", "NUL inside", "over-long"])
def test_an_invalid_missed_quote_is_refused(login, reviewer, thread, exact):
    response = login(reviewer).post(
        reverse("annotations:review-add-quote", args=[thread.article.pk]),
        {"exact": exact, "occurrence": 1, "kind": "direct"},
        **HX,
    )
    assert response.status_code in {400, 422}
    assert Quote.objects.curated().count() == 1


@pytest.mark.parametrize(
    ("name", "params"),
    [
        ("annotations:review-queue", {"status": NUL, "page": NUL}),
        ("annotations:review-assign", {"q": NUL, "page": NUL}),
        ("annotations:review-assign", {"q": "q" * 100_000}),
        ("annotations:review-agreement", {"outlet": NUL, "target": NUL, "published_from": NUL, "published_to": NUL}),
        ("annotations:review-agreement", {"outlet": "o" * 100_000, "target": "9" * 400}),
    ],
)
def test_review_filters_never_fail_on_nul_bytes_or_long_values(login, reviewer, thread, name, params):
    response = login(reviewer).get(reverse(name), params, **HX)
    assert response.status_code in {200, 400}


@pytest.mark.parametrize(
    "body",
    [
        {"title": NUL, "text": "Some text."},
        {"title": "Fine", "text": f"Some {NUL} text."},
        {"title": "t" * 501, "text": "Some text."},
        {"title": "Fine", "text": "x" * 500_001},
    ],
    ids=["NUL title", "NUL text", "over-long title", "over-long text"],
)
def test_the_api_refuses_an_invalid_article_with_400(login, analyst, body):
    response = login(analyst).post("/api/v1/articles/", body, content_type="application/json")
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert not Article.objects.exists()


@pytest.mark.parametrize(
    "extra",
    [
        {"cue": NUL},
        {"cue": "c" * 101},
        {"stances": [{"target": "t", "label": "support", "note": NUL}]},
        {"stances": [{"target": "t", "label": "support", "note": "n" * 2001}]},
        {"attribution_group": NUL},
    ],
    ids=["NUL cue", "over-long cue", "NUL note", "over-long note", "NUL group"],
)
def test_the_api_refuses_an_invalid_quote_with_400(login, analyst, assigned_article, extra):
    TargetFactory(slug="t")
    StanceLabelFactory(slug="support")
    text = assigned_article.text[1:51]
    body = {"article": assigned_article.pk, "start": 1, "end": 51, "text": text, "kind": "direct", **extra}
    response = login(analyst).post("/api/v1/quotes/", body, content_type="application/json")
    assert response.status_code == 400, response.content[:300]
    assert not Quote.objects.exists()
    assert not Stance.objects.exists()


# --- Refused review forms echo what was typed, inert --------------------------------------------


def test_refused_review_forms_echo_hostile_input_escaped(login, reviewer, thread):
    client = login(reviewer)
    value = HOSTILE[2]
    response = client.post(
        reverse("annotations:quote-comments", args=[thread.quote.pk]), {"body": value + "c" * 2001}, **HX
    )
    assert response.status_code == 422
    assert_inert(response.content.decode(), HOSTILE, [value])
    response = client.post(
        reverse("annotations:review-add-quote", args=[thread.article.pk]),
        {"exact": value, "occurrence": 1, "kind": "direct"},
        **HX,
    )
    assert response.status_code == 422
    assert_inert(response.content.decode(), HOSTILE, [value])
    response = client.post(reverse("annotations:token-list"), {"name": value + "t" * 100, "days": 30})
    assert_inert(response.content.decode(), HOSTILE, [value])
    response = client.post(
        reverse("annotations:review-edit-quote", args=[thread.curated.pk]),
        {"start": 0, "end": 1, "kind": "direct", "cue": value + "c" * 100, "version": 1},
        **HX,
    )
    assert response.status_code == 422
    assert_inert(response.content.decode(), HOSTILE, [value])


# --- The code never marks user data safe ------------------------------------------------------------

ROOT = Path(__file__).resolve().parent.parent

# What turns escaping off, in templates and in Python.
UNSAFE = {
    "|safe": re.compile(r"\|\s*safe"),  # also |safeseq
    "autoescape off": re.compile(r"{%\s*autoescape\s+off"),
    "filter safe": re.compile(r"{%\s*filter\b[^%]*\bsafe"),
    "mark_safe(": re.compile(r"\bmark_safe\s*\("),
    "SafeString(": re.compile(r"\bSafe(?:String|Data|Text)\s*\("),
    "is_safe=True": re.compile(r"\bis_safe\s*=\s*True"),
    "format_html(f'…')": re.compile(r"\bformat_html\(\s*[rRbBuU]?[fF][\"']"),  # interpolated before escaping
}
# Each exception, read and justified.
ALLOWED = {
    ("annotations/highlights.py", "mark_safe("): "every user string passes through html.escape; proven by "
    "test_a_hostile_quote_shows_escaped_in_the_text_the_list_and_the_panel",
    ("annotations/markdown.py", "mark_safe("): "markdown-it-py with raw HTML off escapes every character of the "
    "input that isn't Markdown syntax, and refuses unsafe link schemes; proven by tests/test_guidelines.py's "
    "test_hostile_markdown_renders_as_inert_text and the guidelines pages above",
}
# Browser code that parses strings as HTML.
UNSAFE_JS = {
    "innerHTML =": re.compile(r"\.(?:inner|outer)HTML\s*=(?!=)(?!\s*(?:\"\"|'')\s*;)"),  # clearing is fine
    "insertAdjacentHTML": re.compile(r"\binsertAdjacentHTML\s*\("),
    "document.write": re.compile(r"\bdocument\.write(?:ln)?\s*\("),
    "eval": re.compile(r"\b(?:eval|Function)\s*\("),
}
ALLOWED_JS = {
    ("static/annotations/js/annotate.js", "insertAdjacentHTML"): "adds a stance row from the page's own "
    "<template>, rendered and escaped by Django; the browser's serialisation of it keeps text escaped, "
    "and only __prefix__ is replaced, by a number",
}


def unsafe_uses(paths: list[Path], patterns: dict[str, re.Pattern]) -> list[tuple[str, str, int]]:
    found = []
    for path in paths:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            for name, pattern in patterns.items():
                if pattern.search(line):
                    found.append((path.relative_to(ROOT).as_posix(), name, number))
    return found


def test_no_template_or_python_module_turns_escaping_off_outside_the_allow_list():
    paths = [
        *(ROOT / "templates").rglob("*.*"),
        *(ROOT / "annotations").rglob("*.py"),
        *(ROOT / "config").rglob("*.py"),
    ]
    assert len(paths) > 30
    found = unsafe_uses(paths, UNSAFE)
    assert [use for use in found if use[:2] not in ALLOWED] == []


def test_no_script_parses_strings_as_html_outside_the_allow_list():
    paths = list((ROOT / "static" / "annotations").rglob("*.js"))
    assert paths
    found = unsafe_uses(paths, UNSAFE_JS)
    assert [use for use in found if use[:2] not in ALLOWED_JS] == []


@pytest.mark.parametrize(
    ("line", "unsafe"),
    [
        ("{{ quote.text|safe }}", True),
        ("{{ names|safeseq|join:', ' }}", True),
        ("{% autoescape off %}{{ x }}{% endautoescape %}", True),
        ("{% filter safe %}{{ x }}{% endfilter %}", True),
        ("return mark_safe(text)", True),
        ("SafeString(name)", True),
        ("@register.filter(is_safe=True)", True),
        ("format_html(f'<b>{name}</b>')", True),
        ("{{ quote.text }}", False),
        ("{% autoescape on %}", False),
        ("from django.utils.safestring import SafeString, mark_safe", False),
        ("def render(parts) -> SafeString:", False),
        ("format_html('<b>{}</b>', name)", False),
        ("return redirect(_safe_next(request, url))", False),
    ],
)
def test_the_scan_tells_unsafe_lines_from_safe_ones(line, unsafe):
    assert any(pattern.search(line) for pattern in UNSAFE.values()) is unsafe


@pytest.mark.parametrize(
    ("line", "unsafe"),
    [
        ("el.innerHTML = text;", True),
        ("el.outerHTML = html;", True),
        ("rows.insertAdjacentHTML('beforeend', html);", True),
        ("eval(code);", True),
        ('results.innerHTML = "";', False),
        ("if (el.innerHTML === old) {}", False),
        ("el.textContent = text;", False),
    ],
)
def test_the_script_scan_tells_unsafe_lines_from_safe_ones(line, unsafe):
    assert any(pattern.search(line) for pattern in UNSAFE_JS.values()) is unsafe
