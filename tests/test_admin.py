"""The Django admin: every table renders, searches and filters for an admin; edits
go through the model validation (offsets, immutable article text) and show as
form errors; changelists run a fixed number of queries; nobody else gets in."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

import pytest
from django import forms
from django.apps import apps
from django.contrib.admin import site
from django.db import connection, models
from django.http import HttpResponse
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from simple_history.admin import SimpleHistoryAdmin

from annotations.models import (
    ApiTokenName,
    Article,
    Assignment,
    Comment,
    CountryTally,
    DetectionRun,
    Guidelines,
    Quote,
    Release,
    ReleaseFile,
    Speaker,
    SpeakerAlias,
    SpeakerMerge,
    SpeakerQuoteTally,
    SpeakerRole,
    SpeakerStanceTally,
    Stance,
    StanceLabel,
    Suggestion,
    SuggestionDecision,
    Target,
    ThrottleCount,
)

from .factories import (
    ARTICLE_TEXT,
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


def admin_url(model: type[models.Model], view: str, *args: Any) -> str:
    return reverse(f"admin:annotations_{model._meta.model_name}_{view}", args=args)


def form_data(form: forms.BaseForm) -> dict[str, Any]:
    """What a browser posts back for ``form`` left as it was rendered."""
    data: dict[str, Any] = {}
    for bound in form:
        assert not isinstance(bound.field.widget, forms.MultiWidget), f"{bound.name}: post its parts by hand"
        value = bound.value()
        if isinstance(bound.field, forms.BooleanField):
            if value:
                data[bound.html_name] = "on"
        elif value is not None:
            data[bound.html_name] = value
    return data


def change_form_data(response: HttpResponse) -> dict[str, Any]:
    """The POST of an admin add/change page left unchanged: the form, and every
    inline formset with its management form."""
    assert response.status_code == 200
    data = form_data(response.context["adminform"].form)
    for inline in response.context.get("inline_admin_formsets", []):
        data |= form_data(inline.formset.management_form)
        for inline_form in inline.formset.forms:
            data |= form_data(inline_form)
    return data


def results(response: HttpResponse) -> list[models.Model]:
    assert response.status_code == 200
    return list(response.context["cl"].result_list)


@pytest.fixture
def admin_client(client: Client, admin_user) -> Client:
    """pytest-django's fixture of this name, spelled out: the conftest admin, logged in."""
    client.force_login(admin_user)
    return client


# --- Every table renders -------------------------------------------------------

# One existing row of each model, as an admin would find it.
MAKERS: dict[type[models.Model], Callable[[], models.Model]] = {
    Article: lambda: QuoteFactory().article,
    Speaker: lambda: SpeakerRoleFactory(speaker=SpeakerAliasFactory().speaker).speaker,
    SpeakerAlias: SpeakerAliasFactory,
    SpeakerRole: SpeakerRoleFactory,
    Target: lambda: TargetFactory(parent=TargetFactory()),
    StanceLabel: StanceLabelFactory,
    Quote: lambda: StanceFactory().quote,
    Stance: StanceFactory,
    Assignment: AssignmentFactory,
    Comment: lambda: Comment.objects.create(quote=QuoteFactory(), author=UserFactory(), body="Is this direct?"),
    Release: lambda: Release.objects.create(name="v1", quote_count=8, article_count=1, sha256="ab" * 32),
    ApiTokenName: lambda: ApiTokenName.issue(UserFactory(), "lab server", datetime.timedelta(days=30))[0],
    Guidelines: lambda: Guidelines.publish(
        body="# Quotes\n\nMark what the text says.", note="First.", by=UserFactory()
    ),
    ReleaseFile: lambda: ReleaseFile.objects.create(
        release=Release.objects.create(name="v1"), format="jsonl", file="releases/v1.jsonl", sha256="cd" * 32, size=9
    ),
    SpeakerMerge: lambda: SpeakerFactory().merge(SpeakerFactory(), by=UserFactory()),
    DetectionRun: lambda: DetectionRun.objects.create(article=ArticleFactory(), status="done", suggestion_count=0),
    CountryTally: lambda: CountryTally.objects.create(
        month=datetime.date(2024, 1, 1), target=TargetFactory(), label=StanceLabelFactory(), country="US", stances=3
    ),
    SpeakerStanceTally: lambda: SpeakerStanceTally.objects.create(
        speaker=SpeakerFactory(),
        month=datetime.date(2024, 1, 1),
        target=TargetFactory(),
        label=StanceLabelFactory(),
        stances=2,
    ),
    SpeakerQuoteTally: lambda: SpeakerQuoteTally.objects.create(
        speaker=SpeakerFactory(), day=datetime.date(2024, 1, 5), quotes=2
    ),
    ThrottleCount: lambda: ThrottleCount.objects.create(key="throttle_user_1", period=1, count=1, previous=0),
    Suggestion: lambda: Suggestion.objects.create(
        article=(article := ArticleFactory()), start=1, end=51, text=article.text[1:51], detector_version="rules-2"
    ),
    SuggestionDecision: lambda: SuggestionDecision.objects.create(
        suggestion=MAKERS[Suggestion](), annotator=UserFactory(role="analyst"), outcome="rejected"
    ),
}
# Releases and their files are written by the release machinery, never added here;
# token names by the tokens page, which shows the raw token once; guidelines by
# the guidelines page, a new version per save; speaker merges by the merge on a speaker's page;
# the detector's runs, suggestions and the analysts' decisions by detection and the annotate page;
# the statistics' tally by changes to the curated layer; throttle counts by the API's requests.
WRITTEN_ELSEWHERE = {
    CountryTally,
    SpeakerStanceTally,
    SpeakerQuoteTally,
    ThrottleCount,
    Release,
    ReleaseFile,
    ApiTokenName,
    Guidelines,
    SpeakerMerge,
    DetectionRun,
    Suggestion,
    SuggestionDecision,
}
ADDABLE = [model for model in MAKERS if model not in WRITTEN_ELSEWHERE]


def ids(models_: list[type[models.Model]]) -> list[str]:
    return [model._meta.model_name for model in models_]


def test_every_model_in_the_app_has_an_admin_and_every_history_a_history_page():
    app_models = set(apps.get_app_config("annotations").get_models())
    historical = {model for model in app_models if model.__name__.startswith("Historical")}
    assert app_models - historical == set(MAKERS)
    assert all(site.is_registered(model) for model in MAKERS)
    for model in historical:
        if model.instance_type._meta.auto_created:
            continue  # a many-to-many's history (Quote.curated_from): shown on its quote's history page
        assert isinstance(site.get_model_admin(model.instance_type), SimpleHistoryAdmin), model


@pytest.mark.parametrize("model", MAKERS, ids=ids(MAKERS))
def test_the_changelist_renders_for_an_admin(admin_client, model):
    obj = MAKERS[model]()
    assert obj in results(admin_client.get(admin_url(model, "changelist")))


@pytest.mark.parametrize("model", MAKERS, ids=ids(MAKERS))
def test_the_change_page_renders_for_an_admin(admin_client, model):
    obj = MAKERS[model]()
    response = admin_client.get(admin_url(model, "change", obj.pk))
    assert response.status_code == 200
    assert response.context["original"] == obj


WITH_HISTORY = [model for model in MAKERS if isinstance(site.get_model_admin(model), SimpleHistoryAdmin)]


@pytest.mark.parametrize("model", WITH_HISTORY, ids=ids(WITH_HISTORY))
def test_the_history_page_renders_for_an_admin(admin_client, model):
    obj = MAKERS[model]()
    response = admin_client.get(admin_url(model, "history", obj.pk))
    assert response.status_code == 200
    assert response.context["page_obj"].paginator.count >= 1


@pytest.mark.parametrize("model", ADDABLE, ids=ids(ADDABLE))
def test_the_add_page_renders_for_an_admin(admin_client, model):
    response = admin_client.get(admin_url(model, "add"))
    assert response.status_code == 200
    assert response.context["add"] is True


def test_the_admin_index_lists_the_annotation_tables(admin_client):
    response = admin_client.get(reverse("admin:index"))
    assert response.status_code == 200
    listed = {entry["object_name"] for app in response.context["app_list"] for entry in app["models"]}
    assert {model.__name__ for model in MAKERS} <= listed


# --- Who gets in -----------------------------------------------------------------


@pytest.mark.parametrize("persona", ["analyst", "reviewer", "researcher", "outsider"])
@pytest.mark.parametrize("model", MAKERS, ids=ids(MAKERS))
def test_a_non_staff_user_is_sent_to_the_admin_login(request, client, persona, model):
    client.force_login(request.getfixturevalue(persona))
    url = admin_url(model, "changelist")
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('admin:login')}?next={url}"


def test_an_anonymous_visitor_is_sent_to_the_admin_login(client):
    response = client.get(admin_url(Quote, "changelist"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_a_non_staff_analyst_cant_post_to_an_admin_change_form(client, analyst):
    quote = QuoteFactory(annotator=analyst)
    client.force_login(analyst)
    response = client.post(admin_url(Quote, "change", quote.pk), {"text": "changed"})
    assert response.status_code == 302
    quote.refresh_from_db()
    assert quote.text != "changed"


# --- Search ----------------------------------------------------------------------


@pytest.fixture
def gallant(db) -> Speaker:
    speaker = SpeakerFactory(name="Yoav Gallant", country="IL")
    SpeakerAliasFactory(speaker=speaker, name="Israel's defence minister")
    return speaker


def test_searching_speakers_by_an_alias_finds_its_speaker(admin_client, gallant):
    SpeakerFactory(name="Ned Price")
    response = admin_client.get(admin_url(Speaker, "changelist"), {"q": "defence minister"})
    assert results(response) == [gallant]


def test_searching_speakers_by_name_finds_the_speaker_once_whatever_its_aliases(admin_client, gallant):
    SpeakerAliasFactory(speaker=gallant, name="Gallant")
    response = admin_client.get(admin_url(Speaker, "changelist"), {"q": "gallant"})
    assert results(response) == [gallant]


def test_the_speaker_changelist_lists_each_speakers_aliases(admin_client, gallant):
    response = admin_client.get(admin_url(Speaker, "changelist"))
    assert "Israel&#x27;s defence minister" in response.text


def test_searching_quotes_by_their_text_finds_them(admin_client):
    wanted = QuoteFactory()
    QuoteFactory(start=wanted.article.text.index("talks"), end=wanted.article.text.index("talks") + 5)
    response = admin_client.get(admin_url(Quote, "changelist"), {"q": "nuclear weapon"})
    assert results(response) == [wanted]


def test_searching_quotes_by_a_speaker_alias_finds_the_speakers_quotes(admin_client, gallant):
    wanted = QuoteFactory(speaker=gallant)
    QuoteFactory()
    response = admin_client.get(admin_url(Quote, "changelist"), {"q": "defence minister"})
    assert results(response) == [wanted]


def test_searching_articles_finds_words_in_their_text(admin_client):
    wanted = ArticleFactory(text="The ambassador was summoned to the foreign ministry.")
    ArticleFactory()
    response = admin_client.get(admin_url(Article, "changelist"), {"q": "summoned"})
    assert results(response) == [wanted]


def test_searching_targets_finds_them_by_slug(admin_client):
    wanted = TargetFactory(name="Return to the JCPOA", slug="jcpoa-return")
    TargetFactory()
    response = admin_client.get(admin_url(Target, "changelist"), {"q": "jcpoa-return"})
    assert results(response) == [wanted]


# --- Filters ---------------------------------------------------------------------


@pytest.fixture
def two_quotes(db) -> tuple[Quote, Quote]:
    """A curated direct quote by an Israeli, supporting one target; and a raw
    indirect quote by an American, opposing another."""
    israeli = StanceFactory(
        quote__speaker=SpeakerFactory(country="IL"), quote__is_curated=True, label=StanceLabelFactory(slug="support")
    ).quote
    american = StanceFactory(
        quote__speaker=SpeakerFactory(country="US"),
        quote__kind=Quote.Kind.INDIRECT,
        label=StanceLabelFactory(slug="oppose"),
    ).quote
    return israeli, american


def test_the_quote_changelist_shows_every_filter(admin_client, two_quotes):
    response = admin_client.get(admin_url(Quote, "changelist"))
    titles = {spec.title for spec in response.context["cl"].filter_specs}
    assert titles == {"kind", "country", "target", "label", "curated", "annotator", "created at"}


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        (lambda israeli, american: {"kind__exact": "indirect"}, "american"),
        (lambda israeli, american: {"speaker__country": "IL"}, "israeli"),
        (lambda israeli, american: {"stances__target__id__exact": israeli.stances.get().target_id}, "israeli"),
        (lambda israeli, american: {"stances__label__id__exact": american.stances.get().label_id}, "american"),
        (lambda israeli, american: {"is_curated__exact": "1"}, "israeli"),
        (lambda israeli, american: {"annotator__id__exact": american.annotator_id}, "american"),
    ],
    ids=["kind", "speaker-country", "target", "label", "curated", "annotator"],
)
def test_a_quote_filter_keeps_only_the_matching_quotes(admin_client, two_quotes, params, expected):
    israeli, american = two_quotes
    response = admin_client.get(admin_url(Quote, "changelist"), params(israeli, american))
    assert results(response) == [{"israeli": israeli, "american": american}[expected]]


def test_the_created_at_filter_on_quotes_keeps_todays_quotes(admin_client, two_quotes):
    url = admin_url(Quote, "changelist")
    changelist = admin_client.get(url).context["cl"]
    [created_at] = [spec for spec in changelist.filter_specs if spec.title == "created at"]
    [today] = [choice for choice in created_at.choices(changelist) if choice["display"] == "Today"]
    assert set(results(admin_client.get(url + today["query_string"]))) == set(two_quotes)


@pytest.mark.parametrize(
    ("field", "value"),
    [("status", "curated"), ("language", "he"), ("outlet", "Haaretz"), ("published_on", datetime.date(2023, 2, 3))],
)
def test_an_article_filter_keeps_only_the_matching_articles(admin_client, field, value):
    wanted = ArticleFactory(**{field: value})
    ArticleFactory()
    params = {
        "status": {"status__exact": "curated"},
        "language": {"language": "he"},
        "outlet": {"outlet": "Haaretz"},
        "published_on": {"published_on__gte": "2023-02-01", "published_on__lt": "2023-03-01"},
    }[field]
    assert results(admin_client.get(admin_url(Article, "changelist"), params)) == [wanted]


def test_the_assignment_status_filter_keeps_only_that_status(admin_client):
    wanted = AssignmentFactory(status=Assignment.Status.SUBMITTED)
    AssignmentFactory()
    response = admin_client.get(admin_url(Assignment, "changelist"), {"status__exact": "submitted"})
    assert results(response) == [wanted]


def test_the_stance_filters_keep_only_the_matching_stances(admin_client):
    wanted = StanceFactory(label=StanceLabelFactory(slug="oppose"))
    other = StanceFactory()
    url = admin_url(Stance, "changelist")
    assert results(admin_client.get(url, {"label__id__exact": wanted.label_id})) == [wanted]
    assert results(admin_client.get(url, {"target__id__exact": other.target_id})) == [other]


# --- Quotes: the offset invariant holds in the admin -----------------------------


def test_the_quote_change_page_shows_the_text_at_its_offsets_escaped(admin_client):
    article = ArticleFactory(text="He wrote:\n<script>alert(1)</script> & left.")
    start = article.text.index("<script>")
    quote = QuoteFactory(article=article, start=start, end=start + len("<script>alert(1)</script>"))
    response = admin_client.get(admin_url(Quote, "change", quote.pk))
    assert "He wrote:<br><mark>&lt;script&gt;alert(1)&lt;/script&gt;</mark> &amp; left." in response.text
    assert "<script>alert(1)" not in response.text


def test_saving_a_quote_whose_text_does_not_match_its_offsets_is_refused_on_the_form(admin_client):
    quote = StanceFactory().quote
    url = admin_url(Quote, "change", quote.pk)
    data = change_form_data(admin_client.get(url))
    assert data["stances-TOTAL_FORMS"] == 2  # the stance and one blank extra
    data["text"] = "We will allow Iran to acquire a nuclear weapon"

    response = admin_client.post(url, data)

    assert response.status_code == 200
    [message] = response.context["adminform"].form.errors["text"]
    assert "The quote text does not match the article at 1–51" in message
    assert "The quote text does not match the article at 1–51" in response.text
    before = (quote.text, quote.start, quote.end, quote.version, quote.updated_at)
    quote.refresh_from_db()
    assert (quote.text, quote.start, quote.end, quote.version, quote.updated_at) == before


def test_moving_a_quotes_offsets_without_its_text_is_refused_on_the_form(admin_client):
    quote = QuoteFactory()
    url = admin_url(Quote, "change", quote.pk)
    data = change_form_data(admin_client.get(url))
    data["start"], data["end"] = 2, 52

    response = admin_client.post(url, data)

    assert response.status_code == 200
    assert "does not match the article at 2–52" in response.context["adminform"].form.errors["text"][0]
    quote.refresh_from_db()
    assert (quote.start, quote.end) == (1, 51)


def test_a_source_mention_that_does_not_match_is_refused_on_its_own_field(admin_client):
    quote = QuoteFactory()
    url = admin_url(Quote, "change", quote.pk)
    data = change_form_data(admin_client.get(url))
    start = quote.article.text.index("the minister")
    data |= {"mention_start": start, "mention_end": start + len("the minister"), "mention_text": "the president"}

    response = admin_client.post(url, data)

    assert response.status_code == 200
    assert "source mention text does not match" in response.context["adminform"].form.errors["mention_text"][0]
    quote.refresh_from_db()
    assert quote.mention_text == ""


def test_adding_a_quote_whose_text_does_not_match_is_refused_on_the_form(admin_client):
    article = ArticleFactory()
    url = admin_url(Quote, "add")
    data = change_form_data(admin_client.get(url))
    data |= {"article": article.pk, "start": 1, "end": 5, "text": "Wee ", "kind": "direct"}

    response = admin_client.post(url, data)

    assert response.status_code == 200
    assert "does not match the article at 1–5" in response.context["adminform"].form.errors["text"][0]
    assert not Quote.objects.exists()


def test_adding_a_quote_whose_text_matches_saves_it_with_its_stance(admin_client):
    article = ArticleFactory()
    target = TargetFactory()
    label = StanceLabelFactory()
    url = admin_url(Quote, "add")
    data = change_form_data(admin_client.get(url))
    data |= {"article": article.pk, "start": 1, "end": 51, "text": article.text[1:51], "kind": "direct"}
    data |= {"stances-0-target": target.pk, "stances-0-label": label.pk, "stances-0-intensity": 3}

    response = admin_client.post(url, data)

    assert response.status_code == 302
    quote = Quote.objects.get()
    assert (quote.text, quote.version) == ("We will not allow Iran to acquire a nuclear weapon", 1)
    assert quote.stances.get().label == label


def test_editing_a_quote_bumps_its_version_and_records_the_admin_in_its_history(admin_client, admin_user):
    stance = StanceFactory()
    quote = stance.quote
    url = admin_url(Quote, "change", quote.pk)
    data = change_form_data(admin_client.get(url))
    assert data["expected_version"] == 1
    data["stances-0-label"] = StanceLabelFactory(slug="oppose").pk
    data["kind"] = Quote.Kind.MIXED

    response = admin_client.post(url, data)

    assert response.status_code == 302
    quote.refresh_from_db()
    stance.refresh_from_db()
    assert (quote.kind, quote.version, stance.label.slug) == ("mixed", 2, "oppose")
    latest = quote.history.first()
    assert (latest.version, latest.history_user) == (2, admin_user)


def test_a_quote_changed_by_someone_else_after_the_admin_opened_it_is_refused(admin_client):
    quote = QuoteFactory()
    url = admin_url(Quote, "change", quote.pk)
    data = change_form_data(admin_client.get(url))
    elsewhere = Quote.objects.get(pk=quote.pk)
    elsewhere.kind = Quote.Kind.INDIRECT
    elsewhere.save_with_version(1)
    data["kind"] = Quote.Kind.MIXED

    response = admin_client.post(url, data)

    assert response.status_code == 200
    [message] = response.context["adminform"].form.non_field_errors()
    assert message.startswith("Someone else changed this quote (it is now at version 2) after you opened it")
    quote.refresh_from_db()
    assert (quote.kind, quote.version) == ("indirect", 2)


def test_the_history_page_of_a_quote_lists_its_versions(admin_client):
    quote = QuoteFactory()
    quote.kind = Quote.Kind.INDIRECT
    quote.save_with_version(1)
    response = admin_client.get(admin_url(Quote, "history", quote.pk))
    assert response.status_code == 200
    assert response.context["page_obj"].paginator.count == 2


def test_reverting_a_quote_from_its_history_saves_the_old_version_as_a_new_one(admin_client):
    quote = QuoteFactory()
    first = quote.history.get()
    quote.kind = Quote.Kind.INDIRECT
    quote.save_with_version(1)
    url = reverse("admin:annotations_quote_simple_history", args=[quote.pk, first.history_id])
    data = change_form_data(admin_client.get(url))
    assert (data["kind"], data["expected_version"]) == ("direct", 2)

    response = admin_client.post(url, data)

    assert response.status_code == 302
    quote.refresh_from_db()
    assert (quote.kind, quote.version) == ("direct", 3)


def test_a_quote_spanning_a_line_break_and_ending_in_a_space_saves_as_a_browser_posts_it(admin_client):
    article = ArticleFactory()
    start = article.text.index("Monday.")
    quote = QuoteFactory(article=article, start=start, end=start + len("Monday.\n\nThe "))
    assert quote.text == "Monday.\n\nThe "
    url = admin_url(Quote, "change", quote.pk)
    data = change_form_data(admin_client.get(url))
    # A browser sends a textarea's line ends as CRLF, and keeps the trailing space.
    data["text"] = data["text"].replace("\n", "\r\n")
    data["kind"] = Quote.Kind.INDIRECT

    response = admin_client.post(url, data)

    assert response.status_code == 302
    quote.refresh_from_db()
    assert (quote.text, quote.kind) == ("Monday.\n\nThe ", "indirect")


def test_a_second_stance_toward_the_same_target_is_refused_on_the_form(admin_client):
    stance = StanceFactory()
    url = admin_url(Quote, "change", stance.quote_id)
    data = change_form_data(admin_client.get(url))
    data |= {"stances-1-target": stance.target_id, "stances-1-label": StanceLabelFactory(slug="oppose").pk}

    response = admin_client.post(url, data)

    assert response.status_code == 200
    [stances] = response.context["inline_admin_formsets"]
    assert stances.formset.errors[1] == {"__all__": ["Stance with this Quote and Target already exists."]}
    assert Stance.objects.count() == 1


def test_a_role_of_another_speaker_is_refused_on_the_form(admin_client):
    quote = QuoteFactory()
    url = admin_url(Quote, "change", quote.pk)
    data = change_form_data(admin_client.get(url))
    data["speaker_role"] = SpeakerRoleFactory().pk

    response = admin_client.post(url, data)

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["speaker_role"] == ["The role must belong to the quote's speaker."]


# --- Articles: the text is immutable once annotated --------------------------------


def test_editing_the_text_of_an_annotated_article_is_refused_with_a_clear_message(admin_client):
    article = QuoteFactory().article
    before = (article.text, article.text_sha256)
    url = admin_url(Article, "change", article.pk)
    data = change_form_data(admin_client.get(url))
    data["text"] = data["text"].replace("Monday", "Tuesday")

    response = admin_client.post(url, data)

    assert response.status_code == 200
    [message] = response.context["adminform"].form.errors["text"]
    assert message.startswith("This article's text can't be changed: quotes point into it by offset.")
    assert "This article&#x27;s text can&#x27;t be changed" in response.text
    article.refresh_from_db()
    assert (article.text, article.text_sha256) == before


def test_editing_the_text_of_an_article_without_quotes_saves_it_and_its_hash(admin_client):
    article = ArticleFactory()
    url = admin_url(Article, "change", article.pk)
    data = change_form_data(admin_client.get(url))
    data["text"] = "Cafe\u0301 talks resumed.\r\nBoth sides attended."

    response = admin_client.post(url, data)

    assert response.status_code == 302
    article.refresh_from_db()
    assert article.text == "Café talks resumed.\nBoth sides attended."
    assert article.text_sha256 == Article.hash_text(article.text)


def test_the_text_hash_is_shown_but_cant_be_edited(admin_client):
    article = ArticleFactory()
    url = admin_url(Article, "change", article.pk)
    page = admin_client.get(url)
    assert "text_sha256" not in page.context["adminform"].form.fields
    assert article.text_sha256 in page.text
    data = change_form_data(page) | {"text_sha256": "0" * 64, "title": "Renamed"}

    response = admin_client.post(url, data)

    assert response.status_code == 302
    article.refresh_from_db()
    assert (article.title, article.text_sha256) == ("Renamed", Article.hash_text(article.text))


def test_retitling_an_annotated_article_keeps_its_text_exactly_as_a_browser_posts_it(admin_client):
    article = ArticleFactory(text=f"  {ARTICLE_TEXT}\n")
    QuoteFactory(article=article, start=3, end=53)
    url = admin_url(Article, "change", article.pk)
    data = change_form_data(admin_client.get(url))
    data["text"] = data["text"].replace("\n", "\r\n")
    data["title"] = "Renamed"

    response = admin_client.post(url, data)

    assert response.status_code == 302
    article.refresh_from_db()
    assert (article.title, article.text) == ("Renamed", f"  {ARTICLE_TEXT}\n")


def test_adding_an_article_with_the_text_of_another_is_refused_on_the_form(admin_client):
    existing = ArticleFactory()
    url = admin_url(Article, "add")
    data = change_form_data(admin_client.get(url)) | {"title": "Copy", "text": existing.text, "language": "en"}

    response = admin_client.post(url, data)

    assert response.status_code == 200
    # Only the real problem: not also "The article text is empty." from the model.
    assert response.context["adminform"].form.errors["text"] == ["An article with exactly this text already exists."]
    assert Article.objects.count() == 1


def test_adding_an_article_with_blank_text_is_refused_on_the_form(admin_client):
    url = admin_url(Article, "add")
    data = change_form_data(admin_client.get(url)) | {"title": "Blank", "text": " \r\n ", "language": "en"}

    response = admin_client.post(url, data)

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["text"] == ["The article text is empty."]
    assert not Article.objects.exists()


def test_adding_an_article_records_who_added_it_and_hashes_its_text(admin_client, admin_user):
    url = admin_url(Article, "add")
    data = change_form_data(admin_client.get(url)) | {"title": "New", "text": "Talks resumed.\r\n", "language": "en"}

    response = admin_client.post(url, data)

    assert response.status_code == 302
    article = Article.objects.get()
    assert (article.created_by, article.text) == (admin_user, "Talks resumed.")
    assert article.text_sha256 == Article.hash_text("Talks resumed.")


def test_the_article_changelist_counts_quotes_and_links_to_them(admin_client):
    article = QuoteFactory().article
    QuoteFactory(article=article, start=article.text.index("talks"), end=article.text.index("talks") + 5)
    response = admin_client.get(admin_url(Article, "changelist"))
    assert results(response)[0].quote_count == 2
    link = f"{admin_url(Quote, 'changelist')}?article__id__exact={article.pk}"
    assert f'<a href="{link}">2</a>' in response.text
    assert len(results(admin_client.get(link))) == 2


# --- Speakers and taxonomy -----------------------------------------------------------


def test_the_speaker_change_page_edits_aliases_and_roles_inline(admin_client):
    speaker = SpeakerFactory()
    url = admin_url(Speaker, "change", speaker.pk)
    page = admin_client.get(url)
    assert [inline.formset.prefix for inline in page.context["inline_admin_formsets"]] == ["aliases", "roles"]
    data = change_form_data(page) | {"aliases-0-name": "The spokesman", "roles-0-title": "Spokesperson"}

    response = admin_client.post(url, data)

    assert response.status_code == 302
    assert list(speaker.aliases.values_list("name", flat=True)) == ["The spokesman"]
    assert list(speaker.roles.values_list("title", flat=True)) == ["Spokesperson"]


def test_a_role_ending_before_it_starts_is_refused_on_the_form(admin_client):
    speaker = SpeakerFactory()
    url = admin_url(Speaker, "change", speaker.pk)
    data = change_form_data(admin_client.get(url))
    data |= {"roles-0-title": "Minister", "roles-0-start_date": "2023-01-01", "roles-0-end_date": "2022-01-01"}

    response = admin_client.post(url, data)

    assert response.status_code == 200
    assert "A role can&#x27;t end before it starts." in response.text
    assert not speaker.roles.exists()


def test_a_target_cant_be_made_its_own_ancestor(admin_client):
    parent = TargetFactory()
    child = TargetFactory(parent=parent)
    url = admin_url(Target, "change", parent.pk)
    data = change_form_data(admin_client.get(url)) | {"parent": child.pk}

    response = admin_client.post(url, data)

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["parent"] == ["A target can't be its own ancestor."]
    parent.refresh_from_db()
    assert parent.parent is None


def test_stance_labels_can_be_reordered_from_the_changelist(admin_client):
    support = StanceLabelFactory(slug="support", order=1)
    oppose = StanceLabelFactory(slug="oppose", order=2)
    url = admin_url(StanceLabel, "changelist")
    formset = admin_client.get(url).context["cl"].formset
    data = form_data(formset.management_form) | {"_save": "Save"}
    for label_form in formset.forms:
        data |= form_data(label_form)
    prefix = {form.instance: form.prefix for form in formset.forms}
    data |= {f"{prefix[support]}-order": 2, f"{prefix[oppose]}-order": 1, f"{prefix[oppose]}-shortcut_key": "o"}

    response = admin_client.post(url, data)

    assert response.status_code == 302
    assert list(StanceLabel.objects.values_list("slug", "shortcut_key")) == [("oppose", "o"), ("support", "")]


# --- Releases are immutable ------------------------------------------------------------


@pytest.fixture
def release(db) -> Release:
    return Release.objects.create(name="v1", quote_count=8, article_count=1, sha256="ab" * 32, note="First.")


def test_only_a_releases_note_can_be_edited(admin_client, release):
    url = admin_url(Release, "change", release.pk)
    page = admin_client.get(url)
    assert list(page.context["adminform"].form.fields) == ["note"]
    data = change_form_data(page) | {"note": "First public release.", "name": "v2", "quote_count": 0}

    response = admin_client.post(url, data)

    assert response.status_code == 302
    release.refresh_from_db()
    assert (release.name, release.quote_count, release.note) == ("v1", 8, "First public release.")


def test_releases_cant_be_added_or_deleted_in_the_admin(admin_client, release):
    assert admin_client.get(admin_url(Release, "add")).status_code == 403
    assert admin_client.post(admin_url(Release, "delete", release.pk), {"post": "yes"}).status_code == 403
    changelist = admin_client.get(admin_url(Release, "changelist"))
    assert changelist.context["action_form"] is None  # not even "delete selected"
    assert Release.objects.filter(pk=release.pk).exists()


def test_release_files_are_shown_on_their_release_and_can_only_be_viewed(admin_client, release):
    file = ReleaseFile.objects.create(
        release=release, format="jsonl", file="releases/v1.jsonl", sha256="cd" * 32, size=9
    )
    page = admin_client.get(admin_url(Release, "change", release.pk))
    [files] = page.context["inline_admin_formsets"]
    assert (files.has_add_permission, files.has_change_permission, files.has_delete_permission) == (
        False,
        False,
        False,
    )
    assert "releases/v1.jsonl" in page.text
    assert admin_client.get(admin_url(ReleaseFile, "add")).status_code == 403
    view = admin_client.get(admin_url(ReleaseFile, "change", file.pk))
    assert (view.status_code, view.context["has_change_permission"]) == (200, False)
    assert admin_client.post(admin_url(ReleaseFile, "change", file.pk), {"format": "csv"}).status_code == 403
    assert admin_client.post(admin_url(ReleaseFile, "delete", file.pk), {"post": "yes"}).status_code == 403
    file.refresh_from_db()
    assert file.format == "jsonl"


def test_a_comment_added_in_the_admin_is_signed_by_the_admin(admin_client, admin_user):
    quote = QuoteFactory()
    url = admin_url(Comment, "add")
    data = change_form_data(admin_client.get(url)) | {"quote": quote.pk, "body": "Check the cue."}

    assert admin_client.post(url, data).status_code == 302
    assert Comment.objects.get().author == admin_user


# --- Changelists run a fixed number of queries -------------------------------------------


def _quotes(n: int) -> None:
    for _ in range(n):
        stance = StanceFactory()
        SpeakerAliasFactory(speaker=stance.quote.speaker)


def _speakers(n: int) -> None:
    for _ in range(n):
        SpeakerRoleFactory(speaker=SpeakerAliasFactory().speaker)


def _targets(n: int) -> None:
    for _ in range(n):
        TargetFactory(parent=TargetFactory())


def _stance_labels(n: int) -> None:
    start = StanceLabel.objects.count()
    for i in range(start, start + n):
        StanceLabelFactory(slug=f"label-{i}", order=i)


def _releases(n: int) -> None:
    start = Release.objects.count()
    user = UserFactory()
    for i in range(start, start + n):
        Release.objects.create(name=f"v{i}", created_by=user)


def _comments(n: int) -> None:
    author = UserFactory()
    for _ in range(n):
        Comment.objects.create(quote=QuoteFactory(), author=author, body="Is this direct?")


def _release_files(n: int) -> None:
    for _ in range(n):
        release = Release.objects.create(name=f"v{Release.objects.count()}")
        ReleaseFile.objects.create(release=release, format="jsonl", file=f"releases/{release.name}.jsonl", sha256="")


BUILDERS: dict[type[models.Model], Callable[[int], None]] = {
    Article: lambda n: QuoteFactory.create_batch(n),
    Speaker: _speakers,
    SpeakerAlias: lambda n: SpeakerAliasFactory.create_batch(n),
    SpeakerRole: lambda n: SpeakerRoleFactory.create_batch(n),
    Target: _targets,
    StanceLabel: _stance_labels,
    Quote: _quotes,
    Stance: lambda n: StanceFactory.create_batch(n),
    Assignment: lambda n: AssignmentFactory.create_batch(n),
    Comment: _comments,
    Release: _releases,
    ReleaseFile: _release_files,
    ApiTokenName: lambda n: [
        ApiTokenName.issue(UserFactory(), f"token {i}", datetime.timedelta(days=1)) for i in range(n)
    ],
    Guidelines: lambda n: [Guidelines.publish(body=f"Version {i}.", note=f"v{i}", by=UserFactory()) for i in range(n)],
}


@pytest.mark.parametrize("model", BUILDERS, ids=ids(BUILDERS))
def test_a_changelist_runs_as_many_queries_for_30_rows_as_for_3(admin_client, django_assert_max_num_queries, model):
    url = admin_url(model, "changelist")
    BUILDERS[model](3)
    admin_client.get(url)  # the session and any first-use caches
    with CaptureQueriesContext(connection) as three_rows:
        assert len(results(admin_client.get(url))) >= 3

    BUILDERS[model](27)
    with django_assert_max_num_queries(len(three_rows)) as thirty_rows:
        assert len(results(admin_client.get(url))) >= 30

    assert len(thirty_rows) == len(three_rows)


def test_the_quote_changelist_never_loads_article_text(admin_client):
    _quotes(3)
    with CaptureQueriesContext(connection) as queries:
        assert len(results(admin_client.get(admin_url(Quote, "changelist")))) == 3
    listing = [query["sql"] for query in queries if 'FROM "annotations_quote"' in query["sql"]]
    assert listing
    assert all('"annotations_article"."text"' not in sql for sql in listing)
