"""Hostile strings in the workspace: stored as data, rendered inert.

Markup, event handlers, ``javascript:`` links and htmx attributes typed into
article titles, texts and outlets, speaker names, target names and stance notes
come back escaped on every page that shows them (queue, annotate page, quote
panel, speaker search, the forms), so no injected tag or attribute exists in
the page htmx processes. NUL bytes and over-long values are refused with
400/422, never a 500.
"""

from __future__ import annotations

import json
from html.parser import HTMLParser

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils.html import escape

from annotations.models import Article, Speaker, Target

from .factories import ArticleFactory, AssignmentFactory, QuoteFactory, SpeakerFactory, StanceFactory, TargetFactory

pytestmark = pytest.mark.django_db
HX = {"HTTP_HX_REQUEST": "true"}

HOSTILE = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    '"><svg onload=alert(1)>',
    "' onmouseover='alert(1)' x='",
    "javascript:alert(1)",
    '<div hx-get="/admin/auth/user/" hx-trigger="load" hx-target="body">x</div>',
    '<button hx-on:click="alert(1)" hx-post="/admin/logout/">x</button>',
    "{{ request.user.password }}{% debug %}",
]


class Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, {name: value or "" for name, value in attrs}))


def assert_inert(html: str, *planted: str) -> None:
    """No element or attribute came from the hostile strings; each shows as text."""
    parser = Tags()
    parser.feed(html)
    for tag, attrs in parser.tags:
        assert tag not in {"svg", "img", "iframe", "object", "embed"}, (tag, attrs)
        assert tag != "script" or "nonce" in attrs or attrs.get("type") == "application/json", attrs
        for name, value in attrs.items():
            assert not name.startswith(("on", "hx-on")), (tag, name)
            if name.startswith(("hx-", "data-hx-")):
                assert "/admin" not in value, (tag, name, value)
            if name in {"href", "src", "action", "hx-get", "hx-post"}:
                assert not value.strip().lower().startswith("javascript:"), (tag, name, value)
    for value in planted:
        if any(char in value for char in "<>\"'"):
            assert value not in html, f"raw markup in the page: {value}"
        # Shown as typed, so also never evaluated as a template.
        assert escape(value) in html, f"not shown escaped: {escape(value)}"


def article_with(value: str, index: int) -> Article:
    return ArticleFactory(
        title=f"Title {index} {value}",
        outlet=f"Outlet {value}",
        text=f"Intro {index}. He said {value} and left.",
        pool=True,
    )


# --- Stored as data, rendered inert -----------------------------------------------------------


def test_hostile_article_fields_typed_into_the_form_come_back_escaped(login, analyst):
    client = login(analyst)
    for index, value in enumerate(HOSTILE):
        response = client.post(
            reverse("annotations:article-new"),
            {"title": f"Title {index} {value}", "outlet": value, "text": f"He said {value}.", "language": "en"},
        )
        assert response.status_code == 302, response.content[:500]
        article = Article.objects.get(title=f"Title {index} {value}")
        assert article.outlet == value  # stored as typed
        page = client.get(article.annotate_url).content.decode()
        assert_inert(page, f"Title {index} {value}", value)
    queue = client.get(reverse("annotations:home")).content.decode()
    assert_inert(queue, *HOSTILE)
    fragment = client.get(reverse("annotations:home"), {"q": "Title"}, **HX).content.decode()
    assert_inert(fragment, *HOSTILE)


@pytest.mark.parametrize("index", range(len(HOSTILE)))
def test_a_hostile_quote_shows_escaped_in_the_text_the_list_and_the_panel(login, analyst, index):
    value = HOSTILE[index]
    article = article_with(value, index)
    AssignmentFactory(article=article, annotator=analyst)
    start = article.text.index(value)
    speaker = SpeakerFactory(name=f"Speaker {value}")
    target = TargetFactory(name=f"Target {value}")
    quote = QuoteFactory(
        article=article, start=start, end=start + len(value), annotator=analyst, speaker=speaker, cue=value[:100]
    )
    StanceFactory(quote=quote, target=target, note=value)
    client = login(analyst)
    page = client.get(article.annotate_url).content.decode()
    assert_inert(page, value, f"Speaker {value}", f"Target {value}")
    panel = client.get(reverse("annotations:quote-edit", args=[quote.pk]), **HX).content.decode()
    assert_inert(panel, value, f"Target {value}")
    new_panel = client.get(
        reverse("annotations:quote-new", args=[article.pk]), {"start": start, "end": start + len(value)}, **HX
    ).content.decode()
    assert_inert(new_panel, value)
    for fragment in ("article-text", "quote-list"):
        html = client.get(article.annotate_url, {"fragment": fragment}, **HX).content.decode()
        assert_inert(html, value)


def test_user_text_sits_in_containers_htmx_does_not_process(login, analyst):
    article = article_with(HOSTILE[5], 0)
    AssignmentFactory(article=article, annotator=analyst)
    page = login(analyst).get(article.annotate_url).content.decode()
    parser = Tags()
    parser.feed(page)
    disabled = {attrs.get("id") for tag, attrs in parser.tags if "hx-disable" in attrs}
    assert {"article-text", "quote-list"} <= disabled


def test_hostile_speaker_names_are_escaped_in_search_results_and_on_creation(login, analyst):
    client = login(analyst)
    for index, value in enumerate(HOSTILE):
        name = f"Minister {index} {value}"
        response = client.post(reverse("annotations:speaker-new"), {"name": name, "kind": "person"}, **HX)
        assert response.status_code == 200, response.content[:500]
        assert Speaker.objects.filter(name=" ".join(name.split())).exists()
        assert_inert(response.content.decode(), " ".join(name.split()))
    results = client.get(reverse("annotations:speaker-search"), {"speaker_query": "Minister"}, **HX)
    assert results.status_code == 200
    html = results.content.decode()
    assert_inert(html, *(" ".join(f"Minister {index} {value}".split()) for index, value in enumerate(HOSTILE)))
    # The results list is itself excluded from htmx processing.
    assert '<ul class="options" hx-disable role="listbox"' in html
    query = client.get(reverse("annotations:speaker-search"), {"speaker_query": HOSTILE[2]}, **HX).content.decode()
    assert_inert(query, HOSTILE[2])


def test_hostile_target_names_are_escaped(login, reviewer):
    client = login(reviewer)
    for index, value in enumerate(HOSTILE):
        response = client.post(
            reverse("annotations:target-new"), {"name": f"Target {index} {value}", "slug": f"hostile-{index}"}
        )
        assert response.status_code == 302, response.content[:500]
    assert Target.objects.count() == len(HOSTILE)
    results = client.get(reverse("annotations:target-search"), {"q": "Target"}, **HX).content.decode()
    assert_inert(results, *(f"Target {index} {value}" for index, value in enumerate(HOSTILE)))
    article = ArticleFactory()
    panel = client.get(reverse("annotations:quote-new", args=[article.pk]), {"start": 1, "end": 10}, **HX)
    assert_inert(panel.content.decode(), *(f"Target {index} {value}" for index, value in enumerate(HOSTILE)))


def test_forms_echo_hostile_input_escaped_when_they_refuse_it(login, reviewer):
    client = login(reviewer)
    value = HOSTILE[2]
    # Refused for another reason (no text): the form shows what was typed, inert.
    response = client.post(reverse("annotations:article-new"), {"title": value, "outlet": value, "text": ""})
    assert response.status_code == 422
    assert_inert(response.content.decode(), value)
    response = client.post(reverse("annotations:speaker-new"), {"name": value, "country": "<x>"}, **HX)
    assert response.status_code == 422
    assert_inert(response.content.decode(), value)
    response = client.post(reverse("annotations:target-new"), {"name": value, "slug": "not a slug <x>"})
    assert response.status_code == 422
    assert_inert(response.content.decode(), value)


@pytest.mark.parametrize("url", ["javascript:alert(1)", "JaVaScRiPt:alert(1)", "data:text/html,x", " javascript:x"])
def test_an_article_link_must_be_http(login, analyst, url):
    response = login(analyst).post(
        reverse("annotations:article-new"), {"title": "Link", "text": "Some text.", "url": url, "language": "en"}
    )
    assert response.status_code == 422
    assert not Article.objects.exists()


# --- NUL bytes and over-long values: 400/422, never 500 ------------------------------------


NUL = "a\x00b"


@pytest.mark.parametrize("field", ["title", "outlet", "text", "url", "language"])
def test_a_nul_byte_in_an_article_field_is_refused(login, analyst, field):
    data = {"title": "Fine", "outlet": "", "text": "Fine text.", "url": "", "language": "en"}
    data[field] = NUL if field != "url" else "https://example.org/a\x00b"
    response = login(analyst).post(reverse("annotations:article-new"), data)
    assert response.status_code == 422
    assert not Article.objects.exists()


@pytest.mark.parametrize(
    ("field", "length"), [("title", 501), ("outlet", 201), ("url", 1_001), ("language", 36), ("text", 500_001)]
)
def test_an_over_long_article_field_is_refused(login, analyst, field, length):
    data = {"title": "Fine", "outlet": "", "text": "Fine text.", "url": "", "language": "en"}
    data[field] = "https://example.org/" + "p" * (length - 20) if field == "url" else "x" * length
    response = login(analyst).post(reverse("annotations:article-new"), data)
    assert response.status_code == 422
    assert not Article.objects.exists()


def test_nul_bytes_and_long_names_for_speakers_and_targets_are_refused(login, reviewer):
    client = login(reviewer)
    for name in (NUL, "n" * 201):
        assert client.post(reverse("annotations:speaker-new"), {"name": name}, **HX).status_code == 422
        assert client.post(reverse("annotations:target-new"), {"name": name, "slug": "ok"}).status_code == 422
    assert client.post(reverse("annotations:target-new"), {"name": "ok", "slug": NUL}).status_code == 422
    assert not Speaker.objects.exists()
    assert not Target.objects.exists()


def test_nul_bytes_and_long_values_in_a_quote_are_refused(login, analyst, assigned_article):
    client = login(analyst)
    url = reverse("annotations:quote-new", args=[assigned_article.pk])
    base = {
        "kind": "direct",
        "stances-TOTAL_FORMS": "1",
        "stances-INITIAL_FORMS": "0",
        "stances-MIN_NUM_FORMS": "0",
        "stances-MAX_NUM_FORMS": "30",
    }
    for extra in (
        {"exact": NUL},
        {"exact": "We will", "cue": NUL},
        {"exact": "We will", "cue": "c" * 101},
        {"exact": "We will", "speaker_query": NUL},
        {"exact": "We will", "attribution_group": "g" * 65},
        {"exact": "We will", "stances-0-note": NUL, "stances-0-target": "1", "stances-0-label": "1"},
        {"start": "1", "end": "51", "text": NUL},
        {"start": "1\x00", "end": "51", "text": "x"},
        {"exact": "We will", "occurrence": "9" * 400},
    ):
        response = client.post(url, {**base, **extra}, **HX)
        assert response.status_code in {400, 422}, (extra, response.status_code)


SEARCHES = [
    ("annotations:home", "q"),
    ("annotations:speaker-search", "speaker_query"),
    ("annotations:speaker-search", "q"),
    ("annotations:target-search", "q"),
]


@pytest.mark.parametrize(("name", "parameter"), SEARCHES)
@pytest.mark.parametrize("value", ["q" * 100_000, "%00", "\uffff", "\u202e<b>"])
def test_searches_never_fail_on_long_or_odd_queries(login, reviewer, name, parameter, value):
    ArticleFactory(title="Talks")
    SpeakerFactory(name="Talks Minister")
    response = login(reviewer).get(reverse(name), {parameter: value}, **HX)
    assert response.status_code == 200


@pytest.mark.parametrize(("name", "parameter"), SEARCHES)
@pytest.mark.parametrize("value", [NUL, "\x00"])
def test_searches_never_fail_on_nul_bytes(login, reviewer, name, parameter, value):
    """A NUL byte can't reach PostgreSQL through a search box (psycopg refuses to send it)."""
    response = login(reviewer).get(reverse(name), {parameter: value}, **HX)
    assert response.status_code in {200, 400}


def test_a_nul_byte_in_an_uploaded_file_is_refused(login, reviewer):
    record = json.dumps({"title": NUL, "text": "Fine text."})
    upload = SimpleUploadedFile("nul.jsonl", record.encode(), content_type="application/x-ndjson")
    response = login(reviewer).post("/articles/upload/", {"file": upload})
    assert response.status_code == 422
    assert not Article.objects.exists()
    raw = SimpleUploadedFile("nul.txt", b"Title\n\nText with a \x00 byte.", content_type="text/plain")
    response = login(reviewer).post("/articles/upload/", {"file": raw})
    assert response.status_code == 422
    assert not Article.objects.exists()
