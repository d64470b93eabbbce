"""The curation page: aligned versions, accepting, editing, adding, dropping, sending back
and marking an article curated — and the status rules behind them."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from annotations.models import Article, Assignment, Quote, Stance
from annotations.offsets import find_occurrence

from .factories import (
    ArticleFactory,
    AssignmentFactory,
    QuoteFactory,
    SpeakerFactory,
    SpeakerRoleFactory,
    StanceFactory,
    StanceLabelFactory,
    TargetFactory,
)

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def span(article: Article, text: str) -> dict:
    found = find_occurrence(article.text, text)
    return {"start": found.start, "end": found.end}


@pytest.fixture
def two(analyst, second_analyst):
    """Two analysts submitted; they agree on the first quote and differ on the speaker of the second."""
    article = ArticleFactory(title="Two coders")
    support, oppose = StanceLabelFactory(slug="support"), StanceLabelFactory(slug="oppose", name="Oppose")
    target = TargetFactory(name="Iran acquiring nuclear weapons")
    minister, spokesman = SpeakerFactory(name="The minister"), SpeakerFactory(name="The spokesman")
    role = SpeakerRoleFactory(speaker=minister, title="Minister")
    second = span(article, "at a dead end.")
    quotes = {}
    for user in (analyst, second_analyst):
        AssignmentFactory(article=article, annotator=user, status=Assignment.Status.SUBMITTED)
        first = QuoteFactory(
            article=article,
            annotator=user,
            speaker=minister,
            speaker_role=role,
            cue="said",
            attribution_group="g1",
            **span(article, "We will not allow Iran to acquire a nuclear weapon,"),
        )
        first.cue_start, first.cue_end = (m := span(article, "said"))["start"], m["end"]
        first.cue_text = "said"
        first.mention_start, first.mention_end = (m := span(article, "the minister"))["start"], m["end"]
        first.mention_text = "the minister"
        first.save()
        StanceFactory(quote=first, target=target, label=oppose, intensity=3)
        quotes[user.username] = [
            first,
            QuoteFactory(article=article, annotator=user, speaker=spokesman if user == analyst else minister, **second),
        ]
    return SimpleNamespace(article=article, quotes=quotes, target=target, support=support, oppose=oppose)


def test_the_page_aligns_the_versions_and_flags_what_differs(login, reviewer, two):
    response = login(reviewer).get(two.article.review_url)
    curation = response.context["curation"]
    assert len(curation.rows) == 2
    first, second = curation.rows
    assert first.verdict.unanimous
    assert (second.verdict.span, second.verdict.speaker) == (True, False)
    assert curation.unanimous_open_rows == [first]
    body = response.content.decode()
    assert "Speaker differs" in body
    assert "Accept all where annotators agree (1)" in body
    assert body.count("Accept this version") == 4


def test_accepting_a_version_makes_a_curated_copy_of_everything(login, reviewer, two, analyst, second_analyst):
    original = two.quotes["analyst"][0]
    response = login(reviewer).post(reverse("annotations:review-accept", args=[two.article.pk]), {"quote": original.pk})
    assert response.status_code == 302
    assert response["Location"] == two.article.review_url
    copy = Quote.objects.curated().get()
    assert copy.annotator == reviewer
    assert copy.version == 1
    for name in Quote.CURATED_COPY_FIELDS:
        assert getattr(copy, name) == getattr(original, name), name
    assert copy.mention_text == "the minister" and copy.cue_text == "said"
    assert set(copy.curated_from.all()) == {two.quotes["analyst"][0], two.quotes["analyst2"][0]}
    assert list(copy.stances.values_list("target", "label", "intensity")) == [(two.target.pk, two.oppose.pk, 3)]


def test_accepting_another_version_of_a_curated_row_replaces_it(login, reviewer, two):
    client = login(reviewer)
    url = reverse("annotations:review-accept", args=[two.article.pk])
    client.post(url, {"quote": two.quotes["analyst"][1].pk})
    first_choice = Quote.objects.curated().get()
    response = client.post(url, {"quote": two.quotes["analyst2"][1].pk}, **HTMX)
    assert response.status_code == 200
    assert "Replaced the curated version of row 2" in response.content.decode()
    chosen = Quote.objects.curated().get()
    assert chosen.speaker.name == "The minister"
    assert not Quote.objects.filter(pk=first_choice.pk).exists()
    assert Quote.history.filter(id=first_choice.pk, history_type="-").exists()


def test_a_quote_of_an_analyst_still_working_can_not_be_accepted(login, reviewer, two):
    busy = AssignmentFactory(article=two.article, status=Assignment.Status.IN_PROGRESS).annotator
    draft = QuoteFactory(article=two.article, annotator=busy)
    response = login(reviewer).post(
        reverse("annotations:review-accept", args=[two.article.pk]), {"quote": draft.pk}, **HTMX
    )
    assert response.status_code == 422
    assert "not up for review" in response.content.decode()
    assert not Quote.objects.curated().exists()


def test_accept_all_takes_only_rows_everyone_marked_alike_and_not_yet_curated(login, reviewer, two):
    client = login(reviewer)
    url = reverse("annotations:review-accept-agreed", args=[two.article.pk])
    response = client.post(url, **HTMX)
    assert "Accepted 1 row where annotators agree." in response.content.decode()
    assert Quote.objects.curated().get().text.startswith("We will not allow")
    response = client.post(url, **HTMX)
    assert "No row left where every annotator agrees." in response.content.decode()
    assert Quote.objects.curated().count() == 1


def test_a_single_annotators_article_is_curated_the_same_way(login, reviewer, analyst):
    article = ArticleFactory()
    AssignmentFactory(article=article, annotator=analyst, status=Assignment.Status.SUBMITTED)
    QuoteFactory(article=article, annotator=analyst)
    QuoteFactory(article=article, annotator=analyst, **span(article, "at a dead end."))
    client = login(reviewer)
    page = client.get(article.review_url)
    assert page.context["curation"].agreement.overlap_f1 is None
    client.post(reverse("annotations:review-accept-agreed", args=[article.pk]))
    assert Quote.objects.curated().count() == 2
    assert client.post(reverse("annotations:review-mark-curated", args=[article.pk])).status_code == 302
    assert Article.objects.get(pk=article.pk).status == Article.Status.CURATED
    assert Assignment.objects.get().status == Assignment.Status.REVIEWED


# --- Editing, adding, dropping ------------------------------------------------------------------


@pytest.fixture
def curated(two, reviewer):
    first = two.quotes["analyst"][0]
    return first.copy_as_curated(curator=reviewer, sources=[first, two.quotes["analyst2"][0]])


def form_data(client, quote: Quote, **changes) -> dict:
    form = client.get(reverse("annotations:review-edit-quote", args=[quote.pk])).context["form"]
    data = {name: form[name].value() for name in form.fields if form[name].value() is not None}
    data.update(changes)
    return data


def test_editing_a_curated_quote_changes_its_span_speaker_kind_and_stances(login, reviewer, two, curated):
    client = login(reviewer)
    new_span = span(two.article, "We will not allow Iran to acquire a nuclear weapon")
    data = form_data(
        client,
        curated,
        **new_span,
        # As the page's speaker search sends a pick: the id and the name in the box.
        speaker=two.quotes["analyst"][1].speaker_id,
        speaker_query=two.quotes["analyst"][1].speaker.name,
        kind="indirect",
        **{f"stance_{two.target.pk}": two.support.pk},
    )
    response = client.post(reverse("annotations:review-edit-quote", args=[curated.pk]), data, **HTMX)
    assert response.status_code == 200
    assert response["HX-Retarget"] == "#curation"
    curated.refresh_from_db()
    assert curated.text == "We will not allow Iran to acquire a nuclear weapon"
    assert (curated.speaker.name, curated.speaker_role, curated.kind) == ("The spokesman", None, "indirect")
    assert curated.version == 2
    stance = curated.stances.get()
    assert (stance.label, stance.intensity) == (two.support, 3)  # the label changed, the rest is kept


def test_without_the_script_a_typed_speaker_name_picks_the_curated_quotes_speaker(login, reviewer, two, curated):
    client = login(reviewer)
    url = reverse("annotations:review-edit-quote", args=[curated.pk])
    response = client.post(url, form_data(client, curated, speaker="", speaker_query="Nobody Known"), **HTMX)
    assert response.status_code == 422
    assert "No speaker is called &#x27;Nobody Known&#x27;" in response.content.decode()
    client.post(url, form_data(client, curated, speaker="", speaker_query="The spokesman"))
    curated.refresh_from_db()
    assert curated.speaker.name == "The spokesman"


def test_without_the_script_a_name_typed_over_the_shown_speaker_picks_that_speaker(login, reviewer, two, curated):
    # The form is drawn with the quote's speaker in the hidden field and its name in the box;
    # without the script only the box changes, and what was typed is the reviewer's choice.
    client = login(reviewer)
    url = reverse("annotations:review-edit-quote", args=[curated.pk])
    before = curated.speaker.name
    data = form_data(client, curated, speaker_query="The spokesman")
    assert data["speaker"] == curated.speaker_id and before != "The spokesman"
    client.post(url, data)
    curated.refresh_from_db()
    assert curated.speaker.name == "The spokesman"
    response = client.post(url, form_data(client, curated, speaker_query="Nobody Known"), **HTMX)
    assert response.status_code == 422
    curated.refresh_from_db()
    assert curated.speaker.name == "The spokesman"


def test_clearing_a_stance_removes_it(login, reviewer, two, curated):
    client = login(reviewer)
    data = form_data(client, curated, **{f"stance_{two.target.pk}": ""})
    client.post(reverse("annotations:review-edit-quote", args=[curated.pk]), data)
    assert not Stance.objects.filter(quote=curated).exists()


def test_an_edited_span_is_validated_by_the_model(login, reviewer, two, curated):
    client = login(reviewer)
    data = form_data(client, curated, end=len(two.article.text) + 5)
    response = client.post(reverse("annotations:review-edit-quote", args=[curated.pk]), data, **HTMX)
    assert response.status_code == 422
    assert "past the end of the article text" in response.content.decode()
    assert '<form method="post" id="edit-form-' in response.content.decode()
    curated.refresh_from_db()
    assert curated.version == 1


def test_an_edit_of_a_stale_version_is_refused_with_409(login, reviewer, two, curated):
    client = login(reviewer)
    data = form_data(client, curated, kind="mixed")
    Quote.objects.filter(pk=curated.pk).update(version=5)
    response = client.post(reverse("annotations:review-edit-quote", args=[curated.pk]), data, **HTMX)
    assert response.status_code == 409
    assert "Someone else changed this curated quote" in response.content.decode()
    assert Quote.objects.get(pk=curated.pk).kind == "direct"


def test_only_curated_quotes_are_edited_here(login, reviewer, two):
    url = reverse("annotations:review-edit-quote", args=[two.quotes["analyst"][0].pk])
    assert login(reviewer).get(url).status_code == 404


def test_the_edit_form_works_without_javascript(login, reviewer, two, curated):
    client = login(reviewer)
    page = client.get(reverse("annotations:review-edit-quote", args=[curated.pk]))
    assert "<html" in page.content.decode()
    response = client.post(
        reverse("annotations:review-edit-quote", args=[curated.pk]), form_data(client, curated, kind="mixed")
    )
    assert response.status_code == 302
    assert Quote.objects.get(pk=curated.pk).kind == "mixed"


def test_a_missed_quote_is_added_by_its_exact_text(login, reviewer, two):
    response = login(reviewer).post(
        reverse("annotations:review-add-quote", args=[two.article.pk]),
        {"exact": "The spokesman added", "occurrence": 1, "kind": "indirect", "speaker": ""},
    )
    assert response.status_code == 302
    quote = Quote.objects.curated().get()
    assert (quote.text, quote.annotator, quote.speaker) == ("The spokesman added", reviewer, None)
    assert quote.text == two.article.text[quote.start : quote.end]
    assert not quote.curated_from.exists()


def test_a_missed_quote_that_is_not_in_the_article_is_refused_clearly(login, reviewer, two):
    client = login(reviewer)
    url = reverse("annotations:review-add-quote", args=[two.article.pk])
    response = client.post(url, {"exact": "Not in the text", "occurrence": 1, "kind": "direct"}, **HTMX)
    assert response.status_code == 422
    assert "does not appear in the article" in response.content.decode()
    response = client.post(url, {"exact": "The spokesman added", "occurrence": 2, "kind": "direct"})
    assert response.status_code == 422
    assert "appears 1 time in the article, so there is no occurrence 2" in response.content.decode()
    assert "<html" in response.content.decode()
    assert not Quote.objects.curated().exists()


def test_dropping_a_curated_quote_deletes_it_but_history_keeps_it(login, reviewer, two, curated):
    client = login(reviewer)
    response = client.post(reverse("annotations:review-drop-quote", args=[curated.pk]), {"version": 1}, **HTMX)
    assert response.status_code == 200
    assert not Quote.objects.filter(pk=curated.pk).exists()
    record = Quote.history.get(id=curated.pk, history_type="-")
    assert record.history_user == reviewer
    assert Stance.history.filter(quote_id=curated.pk, history_type="-").count() == 1
    page = client.get(two.article.review_url).content.decode()
    assert "Dropped curated quotes (1)" in page
    assert reverse("annotations:quote-history", args=[curated.pk]) in page


def test_dropping_a_changed_curated_quote_is_refused(login, reviewer, two, curated):
    response = login(reviewer).post(reverse("annotations:review-drop-quote", args=[curated.pk]), {"version": 7}, **HTMX)
    assert response.status_code == 409
    assert Quote.objects.filter(pk=curated.pk).exists()


# --- Sending back and marking curated --------------------------------------------------------------


def test_sending_back_reopens_the_assignment_with_the_comment(login, reviewer, two, analyst):
    assignment = Assignment.objects.get(annotator=analyst)
    response = login(reviewer).post(
        reverse("annotations:review-send-back", args=[two.article.pk]),
        {"assignment": assignment.pk, "comment": "Quote 2 is the spokesman's, <b>not</b> the minister's."},
        **HTMX,
    )
    assert response.status_code == 200
    assignment.refresh_from_db()
    assert assignment.status == Assignment.Status.IN_PROGRESS
    assert assignment.comment == "Quote 2 is the spokesman's, <b>not</b> the minister's."
    body = response.content.decode()
    assert "Sent back to analyst" in body
    assert "&lt;b&gt;not&lt;/b&gt;" in body
    # Their work is out of the comparison until they submit again.
    assert [user.username for user in response.context["curation"].annotators] == ["analyst2"]


def test_sending_back_needs_a_comment(login, reviewer, two, analyst):
    assignment = Assignment.objects.get(annotator=analyst)
    client = login(reviewer)
    response = client.post(
        reverse("annotations:review-send-back", args=[two.article.pk]), {"assignment": assignment.pk, "comment": " "}
    )
    assert response.status_code == 302
    assert Assignment.objects.get(pk=assignment.pk).status == Assignment.Status.SUBMITTED
    page = client.get(response["Location"])
    assert "Say what the analyst should look at again." in page.content.decode()


def test_a_reviewed_assignment_can_not_be_sent_back(login, reviewer, two, analyst):
    assignment = Assignment.objects.get(annotator=analyst)
    Assignment.objects.filter(pk=assignment.pk).update(status=Assignment.Status.REVIEWED)
    response = login(reviewer).post(
        reverse("annotations:review-send-back", args=[two.article.pk]),
        {"assignment": assignment.pk, "comment": "Again"},
        **HTMX,
    )
    assert response.status_code == 422
    assert Assignment.objects.get(pk=assignment.pk).status == Assignment.Status.REVIEWED


def test_marking_curated_needs_a_curated_quote(login, reviewer, two):
    response = login(reviewer).post(reverse("annotations:review-mark-curated", args=[two.article.pk]), **HTMX)
    assert response.status_code == 422
    assert "The curated version has no quotes yet" in response.content.decode()
    assert Article.objects.get(pk=two.article.pk).status == Article.Status.OPEN


def test_marking_curated_with_an_undecided_row_asks_first_naming_it(login, reviewer, two, curated):
    client = login(reviewer)
    url = reverse("annotations:review-mark-curated", args=[two.article.pk])

    asked = client.post(url, **HTMX)
    assert asked.status_code == 422
    page = asked.content.decode()
    assert "1 row has no curated version</strong>: nothing was marked" in page
    assert '<a href="#row-2">Row 2</a>: <q hx-disable>at a dead end.</q>' in page
    assert 'name="confirm_undecided" value="1"' in page
    assert Article.objects.get(pk=two.article.pk).status == Article.Status.OPEN
    assert set(Assignment.objects.values_list("status", flat=True)) == {Assignment.Status.SUBMITTED}

    # Without JavaScript the same question is the whole page, not a redirect that forgets it.
    plain = client.post(url)
    assert plain.status_code == 422 and "Mark curated without it" in plain.content.decode()
    # A confirmation for another number of rows (decided or undecided meanwhile) asks again.
    assert client.post(url, {"confirm_undecided": "2"}, **HTMX).status_code == 422
    assert Article.objects.get(pk=two.article.pk).status == Article.Status.OPEN


def test_marking_curated_reviews_the_submitted_assignments(login, reviewer, two, curated):
    response = login(reviewer).post(
        reverse("annotations:review-mark-curated", args=[two.article.pk]), {"confirm_undecided": "1"}, **HTMX
    )
    assert response.status_code == 200
    assert "is curated; 2 assignments marked reviewed" in response.content.decode()
    assert "Mark curated" not in response.content.decode()
    assert Article.objects.get(pk=two.article.pk).status == Article.Status.CURATED
    assert set(Assignment.objects.values_list("status", flat=True)) == {Assignment.Status.REVIEWED}


class TestTheStatusMachine:
    def test_an_article_nobody_submitted_can_not_be_curated(self, analyst, reviewer):
        quote = QuoteFactory(annotator=analyst)
        AssignmentFactory(article=quote.article, annotator=analyst, status=Assignment.Status.IN_PROGRESS)
        quote.copy_as_curated(curator=reviewer)
        with pytest.raises(ValidationError) as refused:
            quote.article.mark_curated()
        assert "No annotator has submitted this article yet." in refused.value.messages
        assert "Still being annotated by analyst" in " ".join(refused.value.messages)

    def test_an_article_someone_is_still_annotating_can_not_be_curated(self, two, curated, reviewer):
        AssignmentFactory(article=two.article, annotator__username="latecomer")
        with pytest.raises(ValidationError, match="Still being annotated by latecomer"):
            two.article.mark_curated()
        assert Article.objects.get(pk=two.article.pk).status == Article.Status.OPEN
        assert set(Assignment.objects.values_list("status", flat=True)) == {
            Assignment.Status.SUBMITTED,
            Assignment.Status.ASSIGNED,
        }

    def test_a_curated_article_can_not_be_curated_again(self, two, curated):
        two.article.mark_curated()
        with pytest.raises(ValidationError, match="already curated"):
            two.article.mark_curated()
        with pytest.raises(ValidationError, match="already curated"):
            Article.objects.get(pk=two.article.pk).mark_curated()

    def test_a_reviewed_assignment_goes_nowhere(self, two, curated, analyst):
        two.article.mark_curated()
        assignment = Assignment.objects.get(annotator=analyst)
        for status in Assignment.Status:
            with pytest.raises(ValidationError, match="can't become"):
                assignment.move_to(status)

    def test_the_legal_path_of_an_assignment(self, analyst):
        assignment = AssignmentFactory(annotator=analyst)
        with pytest.raises(ValidationError):
            assignment.move_to(Assignment.Status.REVIEWED)  # not submitted yet
        for status in ["in_progress", "submitted", "in_progress", "submitted", "reviewed"]:
            assignment.move_to(status)
        assert assignment.status == Assignment.Status.REVIEWED


# --- Page shape ------------------------------------------------------------------------------------


def test_the_htmx_page_request_returns_only_the_curation_area(login, reviewer, two):
    body = login(reviewer).get(two.article.review_url, **HTMX).content.decode()
    assert body.lstrip().startswith('<div id="curation" class="curation">')


def test_every_action_sits_in_a_real_form_with_csrf(login, reviewer, two, curated):
    body = login(reviewer).get(two.article.review_url).content.decode()
    forms = [part.split("</form>")[0] for part in body.split("<form ")[1:]]
    htmx_posts = [form for form in forms if "hx-post=" in form]
    assert len(htmx_posts) == body.count("hx-post=") > 5
    for form in htmx_posts:
        assert form.startswith('method="post"') and 'name="csrfmiddlewaretoken"' in form
        action = form.split('action="')[1].split('"')[0]
        assert f'hx-post="{action}"' in form, "the no-JS post goes where the htmx one does"


def test_quote_texts_and_comments_are_escaped(login, reviewer, analyst):
    article = ArticleFactory(text="He said <script>alert(1)</script> twice.")
    AssignmentFactory(article=article, annotator=analyst, status=Assignment.Status.SUBMITTED)
    quote = QuoteFactory(article=article, annotator=analyst, **span(article, "<script>alert(1)</script>"))
    quote.comments.create(author=analyst, body="<img src=x onerror=alert(2)>")
    body = login(reviewer).get(article.review_url).content.decode()
    assert "<script>alert(1)" not in body and "&lt;script&gt;alert(1)" in body
    assert "<img src=x" not in body and "&lt;img src=x onerror=alert(2)&gt;" in body


def test_the_curation_page_query_count_does_not_grow_with_quotes(login, reviewer, analyst, second_analyst):
    article = ArticleFactory(text="word " * 400)
    label, target = StanceLabelFactory(), TargetFactory()
    client = login(reviewer)

    def annotate(count: int, offset: int) -> None:
        for user in (analyst, second_analyst):
            for index in range(offset, offset + count):
                quote = QuoteFactory(article=article, annotator=user, start=index * 5, end=index * 5 + 4)
                StanceFactory(quote=quote, target=target, label=label)
                quote.comments.create(author=reviewer, body="ok")
                if user == analyst:
                    quote.copy_as_curated(curator=reviewer)

    for user in (analyst, second_analyst):
        AssignmentFactory(article=article, annotator=user, status=Assignment.Status.SUBMITTED)
    annotate(3, 0)
    with CaptureQueriesContext(connection) as few:
        client.get(article.review_url)
    annotate(17, 3)
    with CaptureQueriesContext(connection) as many:
        response = client.get(article.review_url)
    assert len(response.context["curation"].rows) == 20
    assert len(many) == len(few), [query["sql"] for query in many.captured_queries]
