"""The annotation guidelines: versioned, read by every member, written by reviewers, rendered
inert, and named by every quote made under them and by the release datasheet."""

from __future__ import annotations

import json
from html.parser import HTMLParser

import pytest
from django.urls import reverse

from annotations import services
from annotations.markdown import is_safe_link, render_markdown
from annotations.models import Article, Guidelines, Quote
from annotations.span_importers import import_spans

from .factories import ArticleFactory, QuoteFactory, StanceLabelFactory, UserFactory
from .test_api_support import api_client
from .test_workspace import quote_post

pytestmark = pytest.mark.django_db


class Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append((tag, dict(attrs)))


def publish(number_of_versions: int, by=None) -> list[Guidelines]:
    return [Guidelines.publish(body=f"# Rule {n}", note=f"Change {n}", by=by) for n in range(1, number_of_versions + 1)]


# --- Versions ------------------------------------------------------------------------------


def test_each_save_by_a_reviewer_makes_the_next_version_and_keeps_the_older_ones(login, reviewer):
    client = login(reviewer)
    for body, note in [("# First\n\nQuotes only.", "First"), ("# Second\n\nQuotes and speakers.", "Speakers")]:
        response = client.post(reverse("annotations:guidelines-edit"), {"body": body, "note": note})
        assert response.status_code == 302
    assert list(Guidelines.objects.order_by("number").values_list("number", "note", "author")) == [
        (1, "First", reviewer.pk),
        (2, "Speakers", reviewer.pk),
    ]
    page = client.get(reverse("annotations:guidelines")).content.decode()
    assert "<h1>Second</h1>" in page and "Version 2" in page and "the current one" in page
    assert 'href="/guidelines/v1/"' in page and 'href="/guidelines/v2/"' in page
    old = client.get("/guidelines/v1/").content.decode()
    assert "<h1>First</h1>" in old and "an older version" in old and f"by {reviewer.username}" in old


def test_the_edit_page_starts_from_the_current_text(login, reviewer):
    publish(2)
    response = login(reviewer).get(reverse("annotations:guidelines-edit"))
    assert response.context["form"].initial["body"] == "# Rule 2"
    assert "Saving makes version 3" in response.content.decode()


def test_a_save_without_a_change_note_is_refused_and_makes_no_version(login, reviewer):
    response = login(reviewer).post(reverse("annotations:guidelines-edit"), {"body": "# Rules", "note": ""})
    assert response.status_code == 200
    assert not Guidelines.objects.exists()


@pytest.mark.parametrize("role", ["analyst", "researcher"])
def test_analysts_and_researchers_read_but_cannot_edit(login, role):
    user = UserFactory(role=role)
    publish(1)
    assert login(user).get(reverse("annotations:guidelines")).status_code == 200
    assert login(user).get("/guidelines/v1/").status_code == 200
    assert login(user).get(reverse("annotations:guidelines-edit")).status_code == 403
    assert login(user).post(reverse("annotations:guidelines-edit"), {"body": "x", "note": "x"}).status_code == 403
    assert Guidelines.objects.count() == 1


def test_a_user_without_a_role_is_refused_and_an_unknown_version_is_404(login, outsider, analyst):
    publish(1)
    assert login(outsider).get(reverse("annotations:guidelines")).status_code == 403
    assert login(analyst).get("/guidelines/v9/").status_code == 404


def test_the_page_lists_each_stance_labels_definition_and_examples(login, analyst):
    StanceLabelFactory(slug="oppose", definition="Rejects the target.", examples="“A mistake,” he said.\n\n")
    page = login(analyst).get(reverse("annotations:guidelines")).content.decode()
    assert "No guidelines yet." in page
    assert "Rejects the target." in page and "<li>“A mistake,” he said.</li>" in page


def test_the_annotate_page_and_its_help_dialog_link_to_the_guidelines(login, analyst, assigned_article):
    page = login(analyst).get(assigned_article.annotate_url).content.decode()
    assert page.count(f'href="{reverse("annotations:guidelines")}"') >= 3  # navigation, toolbar, ? dialog
    dialog = page.split('<dialog id="help"')[1].split("</dialog>")[0]
    assert reverse("annotations:guidelines") in dialog


# --- Markdown, rendered inert ------------------------------------------------------------

HOSTILE_MARKDOWN = {
    "<script>alert(1)</script>": "&lt;script&gt;",
    '<img src=x onerror="alert(1)">': "&lt;img",
    "[x](javascript:alert(1))": "[x](javascript:alert(1))",
    "[x](JaVa\tScRiPt:alert(1))": "[x](JaVa",
    "[x](data:text/html;base64,PHNjcmlwdD4=)": "[x](data:",
    "[x](vbscript:msgbox)": "[x](vbscript:",
    "<javascript:alert(1)>": "&lt;javascript:alert(1)&gt;",
    "[x][r]\n\n[r]: javascript:alert(1)": "[x][r]",
    '[x]("><svg onload=alert(1)>)': "&quot;&gt;&lt;svg",
    "![x](https://tracker.example/pixel.png)": "!<a href",
    "' onmouseover='alert(1)' x='": "&#x27; onmouseover=&#x27;",
    "{{ request.user.password }}{% debug %}": "{{ request.user.password }}",
}


@pytest.mark.parametrize("text", HOSTILE_MARKDOWN)
def test_hostile_markdown_renders_as_inert_text(login, reviewer, text):
    html = str(render_markdown(text))
    assert HOSTILE_MARKDOWN[text] in html
    tags = Tags()
    tags.feed(html)
    for tag, attrs in tags.found:
        assert tag in {"p", "a", "h1", "h2", "ul", "ol", "li", "em", "strong", "code", "pre", "blockquote"}, html
        assert set(attrs) <= {"href"}, html
        assert is_safe_link(attrs.get("href") or ""), html
    Guidelines.publish(body=text, note=text, by=reviewer)
    page = login(reviewer).get(reverse("annotations:guidelines")).content.decode()
    assert text not in page or not any(char in text for char in "<>\"'")
    assert "{% debug %}" not in text or "sql_queries" not in page


def test_safe_links_stay_links():
    html = str(render_markdown("[a](https://a.example/x) [b](/guidelines/v1/) [c](mailto:x@y.example) [d](#top)"))
    assert html.count("<a href=") == 4
    assert [is_safe_link(url) for url in ["http://x", "//x.example", "page", "javascript:x", "jav\nascript:x"]] == [
        True,
        True,
        True,
        False,
        False,
    ]


# --- Every quote names its version --------------------------------------------------------


def test_a_quote_made_before_any_guidelines_names_none(analyst, assigned_article):
    quote = Quote(article=assigned_article, annotator=analyst, start=1, end=51)
    quote.fill_text_from_offsets()
    quote.annotate(by=analyst)
    assert quote.guidelines_version is None


def test_a_quote_saved_on_the_annotate_page_records_the_current_version(login, analyst, assigned_article):
    publish(2)
    response = login(analyst).post(
        reverse("annotations:quote-new", args=[assigned_article.pk]), quote_post(assigned_article, 1, 51)
    )
    assert response.status_code in (200, 302)
    quote = Quote.objects.get()
    assert quote.guidelines_version == 2
    # An edit keeps the version the quote was made under.
    Guidelines.publish(body="# 3", note="3", by=None)
    quote.kind = "indirect"
    quote.annotate(by=analyst, expected_version=quote.version)
    quote.refresh_from_db()
    assert quote.guidelines_version == 2


def test_a_quote_posted_to_the_api_records_and_shows_the_current_version(analyst, assigned_article):
    publish(1)
    text = assigned_article.text
    start = text.index("at a dead end")
    body = {
        "article": assigned_article.pk,
        "start": start,
        "end": start + 13,
        "text": "at a dead end",
        "kind": "direct",
    }
    response = api_client(analyst).post("/api/v1/quotes/", body, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["guidelines_version"] == 1
    assert Quote.objects.get(pk=response.json()["id"]).guidelines_version == 1
    detail = api_client(analyst).get(f"/api/v1/quotes/{response.json()['id']}/").json()
    assert detail["guidelines_version"] == 1


def test_span_imports_record_the_current_version(analyst):
    publish(3)
    article = ArticleFactory()
    line = json.dumps({"text": article.text, "label": [[1, 51, "DIRECT"]]})
    report = import_spans(line, "doccano", user=analyst)
    assert report.ok if hasattr(report, "ok") else True
    assert list(Quote.objects.values_list("guidelines_version", flat=True)) == [3]


# --- The release datasheet ------------------------------------------------------------------


def test_the_release_datasheet_cites_the_guidelines_its_quotes_were_made_under(reviewer):
    def curated(version: int | None) -> None:
        article = ArticleFactory(status=Article.Status.CURATED)
        QuoteFactory(is_curated=True, annotator=None, guidelines_version=version, article=article)

    curated(None)  # made before any guidelines
    first, _second = publish(2, by=reviewer)
    curated(1)
    curated(2)
    curated(2)
    release = services.build_release(name="v1", note="First.", filters={}, user=reviewer)
    assert f"- Guidelines v1, {first.created_at:%Y-%m-%d}: Change 1 (1 quotes)" in release.datasheet
    assert "- Guidelines v2, " in release.datasheet and ": Change 2 (2 quotes)" in release.datasheet
    assert "- No guidelines yet (1 quotes made before the first version)" in release.datasheet
    shown = api_client(reviewer).get(f"/api/v1/releases/{release.pk}/").json()
    assert shown["datasheet"] == release.datasheet


# --- The demo ------------------------------------------------------------------------------


def test_seed_demo_writes_a_first_version_once(db):
    from django.core.management import call_command

    call_command("seed_demo", "--no-users", stdout=open("/dev/null", "w"))  # noqa: SIM115
    call_command("seed_demo", "--no-users", stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert list(Guidelines.objects.values_list("number", flat=True)) == [1]
    assert "What is a quote" in Guidelines.objects.get().body
    assert set(Quote.objects.values_list("guidelines_version", flat=True)) == {1}
