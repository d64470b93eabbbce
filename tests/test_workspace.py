"""The workspace: queue, adding articles, the annotate page and its quote fragments.

HTML views are exercised three ways: the full page, the htmx fragment and the
no-JavaScript form post.
"""

from __future__ import annotations

import io
import json
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from annotations.models import Article, Assignment, Quote, Speaker, Stance

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
)

pytestmark = pytest.mark.django_db
HX = {"HTTP_HX_REQUEST": "true"}


def quote_post(article: Article, start: int, end: int, **extra) -> dict:
    data = {
        "start": start,
        "end": end,
        "text": article.text[start:end],
        "kind": "direct",
        "stances-TOTAL_FORMS": "0",
        "stances-INITIAL_FORMS": "0",
        "stances-MIN_NUM_FORMS": "0",
        "stances-MAX_NUM_FORMS": "30",
    }
    data.update(extra)
    return data


def with_stance(data: dict, index: int, target, label, intensity: int | str = "") -> dict:
    data[f"stances-{index}-target"] = target.pk
    data[f"stances-{index}-label"] = label.pk
    data[f"stances-{index}-intensity"] = intensity
    data["stances-TOTAL_FORMS"] = str(index + 1)
    return data


# --- The queue -------------------------------------------------------------------


def test_the_queue_shows_my_status_and_the_pool(login, analyst, assigned_article):
    pooled = ArticleFactory(title="From the pool")
    body = login(analyst).get(reverse("annotations:home")).content.decode()
    assert assigned_article.title in body and pooled.title in body
    assert "Open pool" in body and ">New<" in body


def test_the_queue_searches_titles_and_outlets_as_a_fragment(login, analyst):
    ArticleFactory(title="Iran talks stall", outlet="Daily")
    ArticleFactory(title="Harvest report", outlet="Farm Weekly")
    response = login(analyst).get(reverse("annotations:home"), {"q": "farm"}, **HX)
    body = response.content.decode()
    assert "Harvest report" in body and "Iran talks" not in body
    assert "<html" not in body


def test_next_article_takes_my_assignment_first(login, analyst, assigned_article):
    ArticleFactory(title="Pool")
    response = login(analyst).post(reverse("annotations:next-article"))
    assert response["Location"] == assigned_article.annotate_url


def test_next_article_claims_from_the_pool_when_my_queue_is_empty(login, analyst):
    pooled = ArticleFactory()
    response = login(analyst).post(reverse("annotations:next-article"))
    assert response["Location"] == pooled.annotate_url
    assert Assignment.objects.filter(article=pooled, annotator=analyst).exists()


def test_next_article_says_so_when_nothing_is_left(login, analyst):
    response = login(analyst).post(reverse("annotations:next-article"), follow=True)
    assert "Nothing left to annotate" in response.content.decode()


def test_a_researcher_has_no_next_article(login, researcher):
    assert login(researcher).post(reverse("annotations:next-article")).status_code == 403


# --- Adding articles ------------------------------------------------------------


def test_an_analyst_adds_an_article_and_it_lands_in_their_queue(login, analyst):
    response = login(analyst).post(
        reverse("annotations:article-new"),
        {"title": "New call", "text": "Line one.\r\nLine two.", "language": "en", "outlet": "Wire"},
    )
    article = Article.objects.get(title="New call")
    assert response["Location"] == article.annotate_url
    assert article.text == "Line one.\nLine two."
    assert Assignment.objects.get(article=article).annotator == analyst


def test_an_invalid_article_is_refused_with_messages_and_nothing_saved(login, analyst):
    response = login(analyst).post(
        reverse("annotations:article-new"),
        {"title": "  ", "text": "x", "language": "not a tag", "url": "javascript:alert(1)"},
    )
    assert response.status_code == 422
    body = response.content.decode()
    assert "Give the article a title" in body or "This field is required" in body
    assert "BCP 47" in body
    assert not Article.objects.exists()


def test_a_duplicate_article_text_is_refused_by_name(login, analyst, article):
    response = login(analyst).post(
        reverse("annotations:article-new"), {"title": "Again", "text": article.text, "language": "en"}
    )
    assert response.status_code == 422
    assert "already exists" in response.content.decode()


def test_a_reviewer_uploads_a_jsonl_file(login, reviewer):
    lines = "\n".join(json.dumps({"title": f"T{n}", "text": f"Body {n}."}) for n in range(3))
    upload = io.BytesIO(lines.encode())
    upload.name = "batch.jsonl"
    response = login(reviewer).post(reverse("annotations:article-upload"), {"file": upload})
    assert response.status_code == 200
    assert "Imported 3 articles" in response.content.decode()
    assert Article.objects.count() == 3


def test_an_upload_with_a_bad_line_writes_nothing_and_names_the_line(login, reviewer):
    lines = json.dumps({"title": "Good", "text": "Fine."}) + "\n" + json.dumps({"title": "", "text": "No title."})
    upload = io.BytesIO(lines.encode())
    upload.name = "batch.jsonl"
    response = login(reviewer).post(reverse("annotations:article-upload"), {"file": upload})
    assert response.status_code == 422
    body = response.content.decode()
    assert "Nothing was imported" in body and "line 2" in body
    assert not Article.objects.exists()


def test_analysts_cannot_upload(login, analyst):
    assert login(analyst).get(reverse("annotations:article-upload")).status_code == 403


# --- The annotate page ---------------------------------------------------------------


def test_the_annotate_page_highlights_my_quotes_only(login, analyst, second_analyst, assigned_article):
    mine = QuoteFactory(article=assigned_article, annotator=analyst)
    theirs = QuoteFactory(article=assigned_article, annotator=second_analyst, start=60, end=70)
    response = login(analyst).get(assigned_article.annotate_url)
    body = response.content.decode()
    assert response.status_code == 200
    assert f'id="quote-{mine.pk}"' in body
    assert f'id="quote-{theirs.pk}"' not in body
    assert f'data-q="{mine.pk}"' in body


def test_the_article_text_renders_exactly_in_its_segments(login, reviewer):
    article = ArticleFactory(text="Le ministre 😀 a dit «\u00a0non\u00a0». שלום <b>x</b>")
    QuoteFactory(article=article, start=14, end=28)
    body = login(reviewer).get(article.annotate_url).content.decode()
    assert "&lt;b&gt;x&lt;/b&gt;" in body
    assert 'data-s="14"' in body and 'data-s="28"' in body


@pytest.mark.parametrize(
    ("persona", "status"),
    [("analyst", 404), ("second_analyst", 404), ("reviewer", 200), ("researcher", 404), ("outsider", 404)],
)
def test_who_may_open_another_analysts_article(request, login, persona, status, second_analyst):
    article = AssignmentFactory(annotator=second_analyst, article=ArticleFactory(pool=False)).article
    user = request.getfixturevalue(persona)
    expected = 200 if persona == "second_analyst" else status
    assert login(user).get(article.annotate_url).status_code == expected


def test_an_anonymous_visitor_is_sent_to_log_in(client, article):
    response = client.get(article.annotate_url)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_a_researcher_reads_a_curated_article_without_a_form(login, researcher, reviewer):
    article = ArticleFactory(status=Article.Status.CURATED, pool=False)
    QuoteFactory(article=article, annotator=reviewer, is_curated=True)
    body = login(researcher).get(article.annotate_url).content.decode()
    assert "quote-form" not in body
    assert "can't add quotes" in body


def test_an_analyst_reads_a_curated_article_and_its_curated_quotes_without_a_form(login, analyst, reviewer):
    article = ArticleFactory(status=Article.Status.CURATED, pool=False)
    curated = QuoteFactory(article=article, annotator=reviewer, is_curated=True)
    response = login(analyst).get(article.annotate_url)
    assert response.status_code == 200
    body = response.content.decode()
    assert "quote-form" not in body
    assert "can't add quotes" in body
    assert [quote.pk for quote in response.context["quotes"]] == [curated.pk]


def test_an_analyst_can_not_add_a_quote_to_a_curated_article(login, analyst):
    article = ArticleFactory(status=Article.Status.CURATED, pool=False)
    client = login(analyst)
    url = reverse("annotations:quote-new", args=[article.pk])
    assert client.get(url, {"start": 1, "end": 20}).status_code == 404
    response = client.post(url, {"start": 1, "end": 20, "text": article.text[1:20], "kind": "direct"})
    assert response.status_code == 404
    assert not article.quotes.exists()


def test_on_a_curated_article_they_annotated_an_analyst_still_reads_their_own_quotes(login, analyst, reviewer):
    article = ArticleFactory(status=Article.Status.CURATED, pool=False)
    AssignmentFactory(article=article, annotator=analyst, status=Assignment.Status.REVIEWED)
    own = QuoteFactory(article=article, annotator=analyst)
    copy = own.copy_as_curated(curator=reviewer)
    response = login(analyst).get(article.annotate_url)
    assert [quote.pk for quote in response.context["quotes"]] == [own.pk]
    curated = login(analyst).get(article.annotate_url, {"layer": "curated"})
    assert [quote.pk for quote in curated.context["quotes"]] == [copy.pk]


def test_the_annotate_page_query_count_does_not_grow_with_quotes(login, analyst, assigned_article):
    client = login(analyst)
    target, label = TargetFactory(), StanceLabelFactory()

    def add_quotes(count: int) -> None:
        for n in range(count):
            quote = QuoteFactory(article=assigned_article, annotator=analyst, start=1 + n % 40, end=45 + n % 5)
            Stance.objects.create(quote=quote, target=target, label=label)

    add_quotes(3)
    with CaptureQueriesContext(connection) as few:
        assert client.get(assigned_article.annotate_url).status_code == 200
    add_quotes(40)
    with CaptureQueriesContext(connection) as many:
        client.get(assigned_article.annotate_url)
    assert len(many) == len(few), [q["sql"] for q in many.captured_queries]


# --- New quotes --------------------------------------------------------------------


def test_the_new_quote_panel_is_prefilled_from_the_selection(login, analyst):
    article = ArticleFactory(text="“We will not allow it,” Yoav Gallant said on Monday.")
    AssignmentFactory(article=article, annotator=analyst)
    gallant = SpeakerFactory(name="Yoav Gallant")
    response = login(analyst).get(reverse("annotations:quote-new", args=[article.pk]), {"start": 1, "end": 21}, **HX)
    form = response.context["form"]
    assert form.initial["kind"] == "direct"
    assert form.initial["speaker"] == gallant.pk
    assert form.initial["cue"] == "said"
    assert article.text[form.initial["cue_start"] : form.initial["cue_end"]] == "said"
    assert "<html" not in response.content.decode()


def test_saving_a_quote_over_htmx_swaps_the_text_and_the_list(login, analyst, assigned_article):
    target, label = TargetFactory(), StanceLabelFactory(slug="oppose")
    speaker = SpeakerFactory(name="Yoav Gallant")
    data = with_stance(quote_post(assigned_article, 1, 51, speaker=speaker.pk, cue="said"), 0, target, label, 3)
    response = login(analyst).post(reverse("annotations:quote-new", args=[assigned_article.pk]), data, **HX)
    assert response.status_code == 200
    quote = Quote.objects.get()
    assert (quote.start, quote.end, quote.annotator, quote.speaker) == (1, 51, analyst, speaker)
    assert quote.stances.get().label == label
    body = response.content.decode()
    assert 'id="article-text-wrap" hx-swap-oob="true"' in body
    assert 'id="quote-list-wrap" hx-swap-oob="true"' in body
    # Words, not code points: whose quote, and how it begins.
    opening = " ".join(quote.text.split()[:6])
    assert f"Saved Yoav Gallant’s quote «{opening}…»" in body
    assert "1–51" not in body.split('id="quote-panel"')[1].split("</p>")[0]
    # No blank form in the answer: the next selection asks for one, and a link offers it.
    assert 'id="quote-form"' not in body
    new_url = reverse("annotations:quote-new", args=[assigned_article.pk])
    assert f'id="new-quote" href="{new_url}" hx-get="{new_url}"' in body
    assert Assignment.objects.get(article=assigned_article, annotator=analyst).status == "in_progress"


def test_saving_a_quote_without_javascript_redirects_back(login, analyst, assigned_article):
    response = login(analyst).post(
        reverse("annotations:quote-new", args=[assigned_article.pk]), quote_post(assigned_article, 1, 51)
    )
    quote = Quote.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"{assigned_article.annotate_url}#quote-{quote.pk}"


def test_without_javascript_the_exact_text_and_occurrence_locate_the_quote(login, analyst):
    article = ArticleFactory(text="He said no. Then he said no again.")
    AssignmentFactory(article=article, annotator=analyst)
    data = quote_post(article, 0, 1, exact="said no", occurrence="2")
    del data["start"], data["end"], data["text"]
    login(analyst).post(reverse("annotations:quote-new", args=[article.pk]), data)
    quote = Quote.objects.get()
    assert (quote.start, quote.end) == (article.text.index("said no", 5), article.text.index("said no", 5) + 7)


def test_a_missing_occurrence_is_explained(login, analyst, assigned_article):
    data = quote_post(assigned_article, 0, 1, exact="nuclear", occurrence="3")
    del data["start"], data["end"], data["text"]
    response = login(analyst).post(reverse("annotations:quote-new", args=[assigned_article.pk]), data, **HX)
    assert response.status_code == 422
    assert "appears 1 time" in response.content.decode()
    assert not Quote.objects.exists()


def test_a_selection_that_does_not_match_the_text_is_refused_clearly(login, analyst, assigned_article):
    data = quote_post(assigned_article, 1, 51, text="We will not allow Iraq to acquire a nuclear weapon")
    response = login(analyst).post(reverse("annotations:quote-new", args=[assigned_article.pk]), data, **HX)
    assert response.status_code == 422
    assert "does not match the article" in response.content.decode()
    assert not Quote.objects.exists()


def test_offsets_past_the_end_are_refused(login, analyst, assigned_article):
    data = quote_post(assigned_article, 5, 100_000, text="x")
    response = login(analyst).post(reverse("annotations:quote-new", args=[assigned_article.pk]), data, **HX)
    assert response.status_code == 422
    assert "past the end" in response.content.decode()


def test_emoji_and_hebrew_are_stored_with_code_point_offsets(login, analyst):
    article = ArticleFactory(text="👍🏽 השר אמר: “אנחנו לא נאפשר 😀” היום.")
    AssignmentFactory(article=article, annotator=analyst)
    start = article.text.index("אנחנו")
    end = article.text.index("”")
    login(analyst).post(reverse("annotations:quote-new", args=[article.pk]), quote_post(article, start, end))
    quote = Quote.objects.get()
    assert quote.text == "אנחנו לא נאפשר 😀" == article.text[quote.start : quote.end]


def test_a_typed_speaker_name_or_alias_resolves(login, analyst, assigned_article):
    alias = SpeakerAliasFactory(name="Gallant")
    data = quote_post(assigned_article, 1, 51, speaker_query="gallant")
    login(analyst).post(reverse("annotations:quote-new", args=[assigned_article.pk]), data)
    assert Quote.objects.get().speaker == alias.speaker


def test_an_unknown_typed_speaker_is_an_error_not_a_guess(login, analyst, assigned_article):
    data = quote_post(assigned_article, 1, 51, speaker_query="Nobody Atall")
    response = login(analyst).post(reverse("annotations:quote-new", args=[assigned_article.pk]), data, **HX)
    assert response.status_code == 422
    assert "No speaker is called" in response.content.decode()


def test_two_stances_on_one_target_are_refused(login, analyst, assigned_article):
    target, label = TargetFactory(), StanceLabelFactory()
    data = with_stance(with_stance(quote_post(assigned_article, 1, 51), 0, target, label), 1, target, label)
    response = login(analyst).post(reverse("annotations:quote-new", args=[assigned_article.pk]), data, **HX)
    assert response.status_code == 422
    assert "two stances" in response.content.decode()


def test_the_role_held_on_the_article_date_is_recorded(login, analyst, assigned_article):
    from .factories import SpeakerRoleFactory

    role = SpeakerRoleFactory(title="Minister of Defense")
    login(analyst).post(
        reverse("annotations:quote-new", args=[assigned_article.pk]),
        quote_post(assigned_article, 1, 51, speaker=role.speaker.pk),
    )
    assert Quote.objects.get().speaker_role == role


# --- Editing, conflicts, deleting -------------------------------------------------------


def test_opening_a_quote_as_a_fragment_and_as_a_page(login, analyst, assigned_article):
    quote = QuoteFactory(article=assigned_article, annotator=analyst)
    client = login(analyst)
    fragment = client.get(reverse("annotations:quote-edit", args=[quote.pk]), **HX).content.decode()
    page = client.get(reverse("annotations:quote-edit", args=[quote.pk])).content.decode()
    assert 'id="quote-form"' in fragment and "<html" not in fragment
    assert 'id="quote-form"' in page and "<html" in page


def test_editing_bumps_the_version(login, analyst, assigned_article):
    quote = QuoteFactory(article=assigned_article, annotator=analyst)
    data = quote_post(assigned_article, 1, 51, kind="indirect", version=quote.version)
    response = login(analyst).post(reverse("annotations:quote-edit", args=[quote.pk]), data, **HX)
    assert response.status_code == 200
    quote.refresh_from_db()
    assert (quote.kind, quote.version) == ("indirect", 2)
    assert quote.history.count() == 2


@pytest.mark.parametrize("new_speaker", ["other", "none"])
def test_reattributing_a_quote_drops_the_old_speakers_role(login, analyst, assigned_article, new_speaker):
    """The role belonged to the old speaker; the form must not trip over it (it was a 500)."""
    old = SpeakerRoleFactory(speaker=SpeakerFactory(), title="Minister")
    quote = QuoteFactory(article=assigned_article, annotator=analyst, speaker=old.speaker, speaker_role=old)
    other = SpeakerRoleFactory(speaker=SpeakerFactory(), title="Spokesperson")
    speaker = other.speaker.pk if new_speaker == "other" else ""
    data = quote_post(assigned_article, quote.start, quote.end, speaker=speaker, version=quote.version)
    response = login(analyst).post(reverse("annotations:quote-edit", args=[quote.pk]), data, **HX)
    assert response.status_code == 200, response.content.decode()[:2000]
    quote.refresh_from_db()
    if new_speaker == "other":
        assert (quote.speaker, quote.speaker_role) == (other.speaker, other)
    else:
        assert (quote.speaker, quote.speaker_role) == (None, None)


def test_a_stale_edit_gets_a_conflict_and_overwrites_nothing(login, analyst, reviewer, assigned_article):
    quote = QuoteFactory(article=assigned_article, annotator=analyst, kind="direct")
    stale = quote.version
    login(reviewer).post(
        reverse("annotations:quote-edit", args=[quote.pk]),
        quote_post(assigned_article, 1, 51, kind="mixed", version=stale),
    )
    response = login(analyst).post(
        reverse("annotations:quote-edit", args=[quote.pk]),
        quote_post(assigned_article, 1, 51, kind="indirect", version=stale),
        **HX,
    )
    assert response.status_code == 409
    body = response.content.decode()
    assert "Someone else changed this quote" in body and "version 2" in body
    quote.refresh_from_db()
    assert (quote.kind, quote.version) == ("mixed", 2)


@pytest.mark.parametrize("method", ["get", "post"])
def test_another_analysts_quote_is_404_and_untouched(login, analyst, second_analyst, assigned_article, method):
    theirs = QuoteFactory(article=assigned_article, annotator=second_analyst)
    before = Quote.objects.filter(pk=theirs.pk).values().get()
    client = login(analyst)
    data = quote_post(assigned_article, 1, 51, kind="mixed", version=1)
    for name in ["annotations:quote-edit", "annotations:quote-delete"]:
        response = getattr(client, method)(reverse(name, args=[theirs.pk]), data if method == "post" else None)
        assert response.status_code == 404
    assert Quote.objects.filter(pk=theirs.pk).values().get() == before


def test_deleting_asks_first_then_deletes(login, analyst, assigned_article):
    quote = QuoteFactory(article=assigned_article, annotator=analyst)
    client = login(analyst)
    confirm = client.get(reverse("annotations:quote-delete", args=[quote.pk]), **HX)
    assert "Delete this quote?" in confirm.content.decode()
    response = client.post(reverse("annotations:quote-delete", args=[quote.pk]), {"version": quote.version}, **HX)
    assert response.status_code == 200
    assert not Quote.objects.exists()
    assert f"Deleted {quote.speaker.name}’s quote «{quote.text.split()[0]}" in response.content.decode()
    assert Quote.history.filter(history_type="-").count() == 1


def test_deleting_a_changed_quote_is_refused(login, analyst, assigned_article):
    quote = QuoteFactory(article=assigned_article, annotator=analyst)
    Quote.objects.filter(pk=quote.pk).update(version=5)
    response = login(analyst).post(reverse("annotations:quote-delete", args=[quote.pk]), {"version": 1}, **HX)
    assert response.status_code == 409
    assert Quote.objects.filter(pk=quote.pk).exists()


# --- Submitting ---------------------------------------------------------------------------


def test_submitting_locks_my_quotes(login, analyst, assigned_article):
    quote = StanceFactory(quote__article=assigned_article, quote__annotator=analyst).quote
    client = login(analyst)
    assert (
        "Submit this article?"
        in client.get(reverse("annotations:article-submit", args=[assigned_article.pk]), **HX).content.decode()
    )
    response = client.post(reverse("annotations:article-submit", args=[assigned_article.pk]))
    assert response.status_code == 302
    assert Assignment.objects.get(article=assigned_article).status == "submitted"
    edit = client.post(
        reverse("annotations:quote-edit", args=[quote.pk]), quote_post(assigned_article, 1, 51, version=1)
    )
    assert edit.status_code == 404
    new = client.post(
        reverse("annotations:quote-new", args=[assigned_article.pk]), quote_post(assigned_article, 60, 70)
    )
    assert new.status_code == 404
    assert Quote.objects.count() == 1


def test_submitting_over_htmx_redirects_the_client_to_the_queue(login, analyst, assigned_article):
    response = login(analyst).post(reverse("annotations:article-submit", args=[assigned_article.pk]), **HX)
    assert response["HX-Redirect"] == reverse("annotations:home")


def test_submitting_twice_is_refused_with_a_message(login, analyst, assigned_article):
    client = login(analyst)
    client.post(reverse("annotations:article-submit", args=[assigned_article.pk]))
    response = client.post(reverse("annotations:article-submit", args=[assigned_article.pk]), follow=True)
    assert "become submitted" in response.content.decode()


# --- Speakers and targets --------------------------------------------------------------------


def test_speaker_search_matches_aliases_and_shows_the_role_then(login, analyst, assigned_article):
    from .factories import SpeakerRoleFactory

    role = SpeakerRoleFactory(speaker=SpeakerFactory(name="Ned Price"), title="Spokesperson")
    SpeakerAliasFactory(speaker=role.speaker, name="Price")
    body = (
        login(analyst)
        .get(reverse("annotations:speaker-search"), {"speaker_query": "pric", "article": assigned_article.pk})
        .content.decode()
    )
    assert "Ned Price" in body and "Spokesperson" in body


def test_a_new_speaker_gets_their_role(login, analyst):
    response = login(analyst).post(
        reverse("annotations:speaker-new"),
        {"name": "Eli Cohen", "kind": "person", "country": "il", "role_title": "Minister", "role_start": "2022-12-29"},
        **HX,
    )
    assert response.status_code == 200
    speaker = Speaker.objects.get(name="Eli Cohen")
    assert speaker.country == "IL"
    assert speaker.roles.get().title == "Minister"
    assert f'data-id="{speaker.pk}"' in response.content.decode()


def test_a_bad_new_speaker_is_refused_with_messages(login, analyst):
    response = login(analyst).post(
        reverse("annotations:speaker-new"),
        {"name": "X", "kind": "person", "country": "i1", "role_start": "2023-01-01", "role_end": "2022-01-01"},
        **HX,
    )
    assert response.status_code == 422
    body = response.content.decode()
    assert "ISO 3166" in body or "two-letter" in body
    assert not Speaker.objects.exists()


@pytest.mark.parametrize(("persona", "status"), [("reviewer", 302), ("analyst", 403), ("researcher", 403)])
def test_only_reviewers_create_targets(request, login, persona, status):
    response = login(request.getfixturevalue(persona)).post(
        reverse("annotations:target-new"), {"name": "Sanctions on Iran", "slug": "sanctions-iran"}
    )
    assert response.status_code == status


def test_label_styles_come_from_the_label_table(login, analyst):
    StanceLabelFactory(slug="support", colour="#2e7d32")
    response = login(analyst).get(reverse("annotations:label-styles"))
    assert response["Content-Type"].startswith("text/css")
    assert ".hl.lbl-support { background-color: #2e7d322e; }" in response.content.decode()
    assert ".hl.u2-support { --u2: #2e7d32; }" in response.content.decode()


def test_a_stance_chip_shows_on_the_list(login, analyst, assigned_article):
    stance = StanceFactory(quote=QuoteFactory(article=assigned_article, annotator=analyst))
    body = login(analyst).get(assigned_article.annotate_url).content.decode()
    assert f"{stance.label.name}: {stance.target.name}" in body


def test_an_open_quote_shows_its_comment_thread(login, analyst, assigned_article):
    from annotations.models import Comment

    quote = QuoteFactory(article=assigned_article, annotator=analyst)
    Comment.objects.create(quote=quote, author=analyst, body="Is this <b>direct</b>?")
    body = login(analyst).get(reverse("annotations:quote-edit", args=[quote.pk]), **HX).content.decode()
    assert f'id="thread-{quote.pk}"' in body
    assert "Is this &lt;b&gt;direct&lt;/b&gt;?" in body


def test_the_navigation_offers_review_only_to_reviewers(login, analyst, reviewer):
    assert reverse("annotations:review-queue") not in login(analyst).get(reverse("annotations:home")).content.decode()
    assert reverse("annotations:review-queue") in login(reviewer).get(reverse("annotations:home")).content.decode()


@pytest.mark.parametrize(
    ("back", "expected"),
    [("/articles/1/annotate/", "/articles/1/annotate/"), ("//evil.example/", "/"), ("https://evil.example/", "/")],
)
def test_a_new_target_returns_only_to_our_own_pages(login, reviewer, back, expected):
    response = login(reviewer).post(
        reverse("annotations:target-new"), {"name": "Sanctions on Iran", "slug": "sanctions-iran", "next": back}
    )
    assert response["Location"] == expected


def test_submitting_with_incomplete_quotes_lists_them_and_submits_nothing(login, analyst, assigned_article):
    unattributed = StanceFactory(quote__article=assigned_article, quote__annotator=analyst, quote__speaker=None).quote
    unlabelled = QuoteFactory(article=assigned_article, annotator=analyst, start=60, end=70)
    StanceFactory(quote__article=assigned_article, quote__annotator=analyst, quote__start=80, quote__end=90)
    client = login(analyst)
    url = reverse("annotations:article-submit", args=[assigned_article.pk])

    asked = client.get(url, **HX).content.decode()
    assert "2 quotes are incomplete" in asked
    assert f'href="/quotes/{unattributed.pk}/"' in asked and f'href="/quotes/{unlabelled.pk}/"' in asked

    refused = client.post(url, **HX)
    assert refused.status_code == 422
    page = refused.content.decode()
    assert "nothing was submitted" in page and "no speaker" in page and "no stance" in page
    assert Assignment.objects.get(article=assigned_article).status == "assigned"

    # A confirmation of fewer incomplete quotes than there are (one made meanwhile) asks again.
    assert client.post(url, {"confirm_incomplete": "1"}, **HX).status_code == 422
    assert Assignment.objects.get(article=assigned_article).status == "assigned"

    confirmed = client.post(url, {"confirm_incomplete": "2"})
    assert confirmed.status_code == 302
    assert Assignment.objects.get(article=assigned_article).status == "submitted"


def test_incomplete_quotes_are_marked_in_the_list_and_the_text(login, analyst, assigned_article):
    QuoteFactory(article=assigned_article, annotator=analyst, start=60, end=70)
    StanceFactory(quote__article=assigned_article, quote__annotator=analyst, quote__start=80, quote__end=90)
    page = login(analyst).get(assigned_article.annotate_url).content.decode()
    assert page.count('class="incomplete-marker">Incomplete: no stance</span>') == 1
    assert page.count(" incomplete incomplete-end") == 1


def test_the_edit_forms_blank_stance_row_is_marked_for_the_script_to_drop(login, analyst, assigned_article):
    stance = StanceFactory(quote__article=assigned_article, quote__annotator=analyst)
    page = login(analyst).get(reverse("annotations:quote-edit", args=[stance.quote.pk]), **HX).content.decode()
    # Without JavaScript the blank row is the only way to add a stance; with it, the
    # script drops every data-blank row (tests/browser checks none is left).
    assert 'name="stances-TOTAL_FORMS" value="2"' in page
    assert page.count("data-blank") == 2  # the blank row and the template "Add a stance" copies
    assert page.index("data-blank") > page.index('name="stances-0-target"')
    assert 'name="stances-__prefix__-target"' in page


def test_the_page_opens_on_the_empty_panel_and_a_blank_form_is_one_link_away(login, analyst, assigned_article):
    """As after a save or Esc: a selection asks for the form filled in from it; without
    JavaScript, "Type a quote's text instead…" is a link to the page with a blank form."""
    client = login(analyst)
    page = client.get(assigned_article.annotate_url).content.decode()
    assert 'id="quote-form"' not in page
    link = reverse("annotations:quote-new", args=[assigned_article.pk])
    assert f'id="new-quote" href="{link}"' in page
    with_form = client.get(link).content.decode()
    assert "<html" in with_form and 'id="quote-form"' in with_form
    assert f'action="{link}"' in with_form and 'name="exact"' in with_form


def test_the_page_says_where_the_article_stands_in_my_queue(login, analyst, second_analyst):
    """Read with the assignment: the queue is mine only, taken oldest first (ties by id),
    and counts what I have handed in."""
    made = timezone.now() - timedelta(days=1)
    mine = [AssignmentFactory(annotator=analyst) for _ in range(4)]
    Assignment.objects.filter(pk__in=[mine[1].pk, mine[2].pk]).update(created_at=made)  # a tie: by id
    Assignment.objects.filter(pk=mine[0].pk).update(created_at=made - timedelta(hours=1))
    Assignment.objects.filter(pk=mine[3].pk).update(status=Assignment.Status.SUBMITTED)
    AssignmentFactory(annotator=second_analyst, article=mine[2].article)  # not in my queue
    client = login(analyst)
    for number, assignment in enumerate(mine[:3], start=1):
        page = client.get(assignment.article.annotate_url).content.decode()
        assert f"Article {number} of 4 in your queue · 1 of 4 submitted (25%)" in page
    other = login(second_analyst).get(mine[2].article.annotate_url).content.decode()
    assert "Article 1 of 1 in your queue · 0 of 1 submitted (0%)" in other


def test_the_closed_panel_is_the_empty_state(login, analyst, assigned_article):
    response = login(analyst).get(assigned_article.annotate_url + "?fragment=quote-panel", **HX)
    page = response.content.decode()
    assert '<div id="quote-panel"' in page
    assert "quote-form" not in page and 'id="new-quote"' in page


def test_messages_name_the_speaker_and_the_first_words_and_escape_them(login, analyst):
    article = ArticleFactory(text="Intro. <b>Bold</b> words & more said here today, he said. End.", pool=False)
    AssignmentFactory(annotator=analyst, article=article)
    speaker = SpeakerFactory(name="<script>Ross</script>")
    start = article.text.index("<b>")
    end = article.text.index(", he said")
    client = login(analyst)
    response = client.post(
        reverse("annotations:quote-new", args=[article.pk]), quote_post(article, start, end, speaker=speaker.pk), **HX
    )
    body = response.content.decode()
    assert "<script>Ross" not in body and "<b>Bold" not in body
    assert (
        "Saved &lt;script&gt;Ross&lt;/script&gt;’s quote «&lt;b&gt;Bold&lt;/b&gt; words &amp; more said here…»" in body
    )
    quote = Quote.objects.get()
    edit = quote_post(article, start, end, version=quote.version, kind="indirect")
    response = client.post(reverse("annotations:quote-edit", args=[quote.pk]), edit, **HX)
    assert "Saved changes to an unattributed quote «&lt;b&gt;Bold" in response.content.decode()
    # Without JavaScript the same words arrive as a message after the redirect.
    response = client.post(reverse("annotations:quote-delete", args=[quote.pk]), {"version": 2}, follow=True)
    assert (
        "Deleted an unattributed quote «&lt;b&gt;Bold&lt;/b&gt; words &amp; more said here…»"
        in response.content.decode()
    )
