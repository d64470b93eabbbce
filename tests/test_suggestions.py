"""The detector's suggestions: detection as a background task, and each analyst's
decisions on the annotate page (accept, correct, reject, accept all)."""

from __future__ import annotations

import datetime

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse
from django.utils import timezone

from annotations import detection
from annotations.models import (
    Article,
    Assignment,
    DetectionRun,
    Quote,
    Suggestion,
    SuggestionDecision,
    SuggestionQuerySet,
)

from .factories import (
    ArticleFactory,
    AssignmentFactory,
    SpeakerAliasFactory,
    SpeakerFactory,
    SpeakerRoleFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db
HX = {"HTTP_HX_REQUEST": "true"}

TEXT = (
    "“We will not allow Iran to acquire a nuclear weapon,” the minister said on Monday.\n\n"
    "The spokesman said the talks were “at a dead end for now.” Nothing else.\n\n"
    "A <script>alert(1)</script> line: “<b>bold words here</b> and more.”"
)


@pytest.fixture
def detect(django_capture_on_commit_callbacks):
    """Request detection of an article and run it, as the tests' ImmediateBackend does once the request commits."""

    def run(article: Article) -> None:
        with django_capture_on_commit_callbacks(execute=True):
            DetectionRun.objects.request([article.pk])

    return run


@pytest.fixture
def article(analyst, detect):
    article = ArticleFactory(text=TEXT, pool=False)
    AssignmentFactory(article=article, annotator=analyst, status=Assignment.Status.IN_PROGRESS)
    detect(article)
    return article


def suggestion_at(article: Article, words: str) -> Suggestion:
    """The suggestion whose span holds ``words``."""
    start = article.text.index(words)
    return Suggestion.objects.get(article=article, start__lte=start, end__gte=start + len(words))


# --- Detection -------------------------------------------------------------------------


def test_a_pasted_article_is_detected_as_it_arrives(login, analyst, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = login(analyst).post(
            reverse("annotations:article-new"), {"title": "Pasted", "language": "en", "text": TEXT}
        )
    assert response.status_code == 302
    article = Article.objects.get(title="Pasted")
    run = article.detection_runs.get()
    assert (run.status, run.detector_version, run.suggestion_count) == ("done", detection.VERSION, 3)
    texts = list(article.suggestions.in_text_order().values_list("text", flat=True))
    assert texts == [
        "We will not allow Iran to acquire a nuclear weapon",
        "the talks were “at a dead end for now.”",
        "“<b>bold words here</b> and more.”",
    ]
    assert all(TEXT[s.start : s.end] == s.text for s in article.suggestions.all())


def test_an_import_requests_detection_of_every_new_article(reviewer, django_capture_on_commit_callbacks):
    from annotations.importers import import_articles

    lines = "\n".join(
        f'{{"title": "T{n}", "text": "Story {n}: “these are quoted words {n}.”", "language": "en"}}' for n in range(3)
    )
    with django_capture_on_commit_callbacks(execute=True):
        report = import_articles(lines, "jsonl", user=reviewer)
    assert report.created == 3
    assert DetectionRun.objects.filter(status="done").count() == 3
    assert Suggestion.objects.count() == 3


def test_an_article_posted_to_the_api_is_detected_as_it_arrives(analyst, django_capture_on_commit_callbacks):
    from .test_api_support import api_client

    with django_capture_on_commit_callbacks(execute=True):
        response = api_client(analyst).post(
            "/api/v1/articles/", {"title": "Posted", "language": "en", "text": TEXT}, format="json"
        )
    assert response.status_code == 201, response.content
    article = Article.objects.get(title="Posted")
    assert article.detection_runs.get().status == "done"
    assert article.suggestions.count() == 3


def test_no_detection_on_arrival_when_it_is_switched_off(login, analyst, settings, django_capture_on_commit_callbacks):
    settings.DETECT_ON_ARRIVAL = False
    with django_capture_on_commit_callbacks(execute=True):
        login(analyst).post(reverse("annotations:article-new"), {"title": "Quiet", "language": "en", "text": TEXT})
    assert not DetectionRun.objects.exists()


def test_a_new_detection_replaces_the_open_suggestions_and_keeps_the_decided(article, analyst, detect):
    rejected = suggestion_at(article, "at a dead end")
    rejected.decide(SuggestionDecision.Outcome.REJECTED, by=analyst)
    before = set(Suggestion.objects.values_list("pk", flat=True))
    detect(article)
    after = set(Suggestion.objects.values_list("pk", flat=True))
    assert rejected.pk in after  # a decision is the detector's record
    assert len(after) == 3 and after - {rejected.pk} != before - {rejected.pk}  # the open ones were replaced


def test_a_detected_speaker_is_linked_to_the_registry_by_alias_and_by_role_on_the_date(detect):
    gallant = SpeakerFactory(name="Yoav Gallant")
    SpeakerRoleFactory(
        speaker=gallant,
        title="Minister of Defense",
        organisation="Government of Israel",
        country="IL",
        start_date=datetime.date(2022, 12, 29),
    )
    price = SpeakerFactory(name="Ned Price")
    SpeakerAliasFactory(speaker=price, name="State Department Spokesman Ned Price")
    article = ArticleFactory(
        text=(
            "“We will do whatever it takes,” the Israeli defence minister said on Wednesday.\n\n"
            "“We are in constant discussion with Israel,” Price added.\n\n"
            "“The deal is not on the agenda,” Jane Unknown said."
        ),
        published_on=datetime.date(2023, 1, 5),
    )
    detect(article)
    linked = {s.speaker_name: s.speaker for s in Suggestion.objects.filter(article=article)}
    assert linked == {"Israeli defence minister": gallant, "Price": price, "Jane Unknown": None}


def test_a_failed_detection_writes_nothing_and_is_shown_with_a_retry(
    login, analyst, article, monkeypatch, detect, django_capture_on_commit_callbacks
):
    before = set(Suggestion.objects.values_list("pk", flat=True))

    def broken(self, objects, **kwargs):
        raise RuntimeError("the rules <tripped>")

    monkeypatch.setattr(SuggestionQuerySet, "bulk_create", broken)
    detect(article)
    monkeypatch.undo()
    # Nothing half-written: the delete of the open suggestions was rolled back with the rest.
    assert set(Suggestion.objects.values_list("pk", flat=True)) == before
    run = article.detection_runs.first()
    assert run.status == "failed" and "the rules <tripped>" in run.error

    client = login(analyst)
    page = client.get(article.annotate_url).content.decode()
    assert "Quote detection failed." in page
    assert "the rules &lt;tripped&gt;" in page and "<tripped>" not in page
    assert "Retry detection" in page
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("annotations:article-detect", args=[article.pk]), **HX)
    assert response.status_code == 200
    assert article.detection_runs.first().status == "done"


def test_the_page_polls_while_detection_runs_and_redraws_when_it_is_done(login, analyst, article):
    run = DetectionRun.objects.create(article=article)  # queued: no worker here
    client = login(analyst)
    url = reverse("annotations:article-detect", args=[article.pk])
    page = client.get(article.annotate_url).content.decode()
    assert f'hx-get="{url}?polling=1" hx-trigger="every 2s"' in page
    assert "Detecting quotes (queued)" in page
    run.perform()
    done = client.get(url + "?polling=1", **HX).content.decode()
    assert "every 2s" not in done
    assert 'id="suggestion-list-wrap" hx-swap-oob="true"' in done
    assert 'id="article-text-wrap" hx-swap-oob="true"' in done


@pytest.mark.django_db(transaction=True)
def test_the_real_worker_runs_a_detection_from_the_database_queue(settings, analyst):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    from django_tasks_db.models import DBTaskResult

    article = ArticleFactory(text=TEXT)
    DetectionRun.objects.request([article.pk], by=analyst)  # outside a transaction: enqueued at once
    run = article.detection_runs.get()
    assert run.status == "queued" and DBTaskResult.objects.filter(id=run.task_id, status="READY").exists()

    call_command("db_worker", batch=True, startup_delay=False, interval=0)

    run.refresh_from_db()
    assert (run.status, run.suggestion_count) == ("done", 3)
    assert DBTaskResult.objects.get(id=run.task_id).status == "SUCCESSFUL"
    assert article.suggestions.count() == 3


def test_detect_articles_runs_in_process_with_now(article, capsys):
    Suggestion.objects.all().delete()
    call_command("detect_articles", str(article.pk), "--now", "--no-progress")
    assert "Detected quotes in 1 of 1 articles; 0 failed." in capsys.readouterr().out
    assert article.suggestions.count() == 3


def test_detect_articles_queues_every_article(article, capsys):
    ArticleFactory()
    call_command("detect_articles", "--all", "--no-progress")
    assert "Queued 2 articles for detection." in capsys.readouterr().out


def test_detect_articles_names_missing_ids(db):
    with pytest.raises(CommandError, match="No article with id 999"):
        call_command("detect_articles", "999")
    with pytest.raises(CommandError, match="--all"):
        call_command("detect_articles")


# --- Decisions --------------------------------------------------------------------------


def test_suggestions_show_dashed_and_apart_from_the_quotes(login, analyst, article):
    page = login(analyst).get(article.annotate_url).content.decode()
    assert 'Suggestions <span class="count">3</span>' in page
    assert 'Quotes <span class="count">0</span>' in page
    assert page.count(' sg" data-g="') >= 3
    # The detector's text is escaped like every other.
    assert "&lt;b&gt;bold words here&lt;/b&gt;" in page and "<b>bold" not in page


def test_accepting_makes_my_quote_with_the_detectors_version(login, analyst, article):
    suggestion = suggestion_at(article, "at a dead end")
    response = login(analyst).post(reverse("annotations:suggestion-accept", args=[suggestion.pk]), **HX)
    assert response.status_code == 200
    quote = Quote.objects.get(article=article)
    assert (quote.start, quote.end, quote.text, quote.kind) == (
        suggestion.start,
        suggestion.end,
        "the talks were “at a dead end for now.”",
        "mixed",
    )
    assert (quote.annotator, quote.detector_version, quote.is_curated) == (analyst, detection.VERSION, False)
    decision = SuggestionDecision.objects.get()
    assert (decision.outcome, decision.quote, decision.annotator) == ("accepted", quote, analyst)
    body = response.content.decode()
    assert 'Suggestions <span class="count">2</span>' in body
    assert f'id="suggestion-{suggestion.pk}"' not in body


def test_rejecting_hides_the_suggestion_from_me_only(login, analyst, second_analyst, article):
    suggestion = suggestion_at(article, "at a dead end")
    AssignmentFactory(article=article, annotator=second_analyst)
    login(analyst).post(reverse("annotations:suggestion-reject", args=[suggestion.pk]))
    assert SuggestionDecision.objects.get().outcome == "rejected"
    assert not Quote.objects.exists()
    mine = login(analyst).get(article.annotate_url).context["suggestions"]
    theirs = login(second_analyst).get(article.annotate_url).context["suggestions"]
    assert suggestion not in mine and suggestion in theirs
    assert login(analyst).get(reverse("annotations:suggestion-detail", args=[suggestion.pk])).status_code == 404


def test_correcting_saves_the_changed_quote_as_corrected(login, analyst, article):
    suggestion = suggestion_at(article, "We will not allow")
    client = login(analyst)
    url = reverse("annotations:suggestion-correct", args=[suggestion.pk])
    panel = client.get(url, **HX).content.decode()
    assert "Correct the suggestion" in panel and f'action="{url}"' in panel
    end = TEXT.index(" on Monday")  # the analyst takes the attribution in too (and calls it indirect)
    response = client.post(
        url,
        {
            "start": suggestion.start,
            "end": end,
            "text": TEXT[suggestion.start : end],
            "kind": "indirect",
            "stances-TOTAL_FORMS": 0,
            "stances-INITIAL_FORMS": 0,
        },
        **HX,
    )
    assert response.status_code == 200, response.content.decode()[:2000]
    quote = Quote.objects.get()
    assert quote.text == "We will not allow Iran to acquire a nuclear weapon,” the minister said"
    assert quote.kind == "indirect"
    assert quote.detector_version == detection.VERSION
    decision = SuggestionDecision.objects.get()
    assert (decision.outcome, decision.quote) == ("corrected", quote)


def test_accept_all_asks_with_the_count_then_accepts_every_suggestion(login, analyst, article):
    client = login(analyst)
    url = reverse("annotations:suggestions-accept-all", args=[article.pk])
    assert "Accept all suggestions?" in client.get(url, **HX).content.decode()
    assert client.post(url, {"count": 2}, **HX).status_code == 422  # not the number shown: asks again
    assert not Quote.objects.exists()
    assert client.post(url, {"count": 3}, **HX).status_code == 200
    assert Quote.objects.filter(annotator=analyst, detector_version=detection.VERSION).count() == 3
    assert set(SuggestionDecision.objects.values_list("outcome", flat=True)) == {"accepted"}


def test_a_submitted_analyst_cannot_decide(login, analyst, article):
    Assignment.objects.filter(article=article).update(status=Assignment.Status.SUBMITTED)
    suggestion = suggestion_at(article, "at a dead end")
    assert login(analyst).post(reverse("annotations:suggestion-accept", args=[suggestion.pk])).status_code == 404
    assert not SuggestionDecision.objects.exists()


def test_strangers_get_404_and_researchers_403(login, second_analyst, researcher, article):
    suggestion = suggestion_at(article, "at a dead end")
    for name in ("suggestion-detail", "suggestion-correct"):
        assert login(second_analyst).get(reverse(f"annotations:{name}", args=[suggestion.pk])).status_code == 404
        assert login(researcher).get(reverse(f"annotations:{name}", args=[suggestion.pk])).status_code == 403
    for name in ("suggestion-accept", "suggestion-reject"):
        assert login(second_analyst).post(reverse(f"annotations:{name}", args=[suggestion.pk])).status_code == 404
        assert login(researcher).post(reverse(f"annotations:{name}", args=[suggestion.pk])).status_code == 403
    assert not SuggestionDecision.objects.exists()


def test_suggestions_never_enter_the_quotes_of_the_api(login, analyst, article, reviewer):
    assert Quote.objects.count() == 0
    response = login(reviewer).get("/api/v1/quotes/")
    assert response.status_code == 200 and response.json()["results"] == []


def test_reviewers_see_each_detector_versions_precision(login, analyst, second_analyst, reviewer, article):
    suggestions = list(Suggestion.objects.filter(article=article).in_text_order())
    suggestions[0].accept(by=analyst)
    suggestions[1].decide(SuggestionDecision.Outcome.REJECTED, by=analyst)
    suggestions[2].decide(SuggestionDecision.Outcome.CORRECTED, by=analyst)
    suggestions[0].decide(SuggestionDecision.Outcome.REJECTED, by=second_analyst)
    older = Suggestion.objects.create(article=article, start=0, end=5, text=TEXT[:5], detector_version="rules-old")
    older.decide(SuggestionDecision.Outcome.ACCEPTED, by=analyst)
    tallies = {t.detector_version: t for t in SuggestionDecision.objects.tally()}
    now = tallies[detection.VERSION]
    assert (now.accepted, now.corrected, now.rejected, now.decided, now.precision, now.unchanged) == (
        1,
        1,
        2,
        4,
        50,
        25,
    )
    assert (tallies["rules-old"].accepted, tallies["rules-old"].decided) == (1, 1)

    page = login(reviewer).get(reverse("annotations:review-detector")).content.decode()
    row = page[page.index(f'data-version="{detection.VERSION}"') :]
    for figure, value in (("accepted", "1"), ("corrected", "1"), ("rejected", "2"), ("precision", "50%")):
        assert f'data-figure="{figure}">{value}<' in row
    assert login(analyst).get(reverse("annotations:review-detector")).status_code == 403


def test_a_detection_failure_is_listed_for_reviewers(login, reviewer, article):
    DetectionRun.objects.create(article=article, status="failed", error="Boom <x>")
    page = login(reviewer).get(reverse("annotations:review-detector")).content.decode()
    assert "Boom &lt;x&gt;" in page


def test_an_unknown_user_is_not_a_decider(article):
    outsider = UserFactory(username="nobody")
    from django.test import Client

    client = Client()
    client.force_login(outsider)
    suggestion = suggestion_at(article, "at a dead end")
    assert client.post(reverse("annotations:suggestion-accept", args=[suggestion.pk])).status_code == 403


# --- What the page offers, and runs that never end -------------------------------------------


def test_accept_all_takes_what_the_page_offers_not_an_older_version_nor_a_span_i_marked(
    login, analyst, article, detect
):
    older = Suggestion.objects.create(
        article=article, start=0, end=5, text=article.text[:5], detector_version="rules-0"
    )
    older.decide(SuggestionDecision.Outcome.REJECTED, by=UserFactory(role="analyst"))  # kept as the record
    detect(article)  # a newer detection: the older version's decided suggestion stays, off the page
    marked = suggestion_at(article, "We will not allow")
    Quote.objects.create(
        article=article, start=marked.start, end=marked.end, text=marked.text, kind="direct", annotator=analyst
    )
    offered = set(Suggestion.objects.on_page(article, analyst).values_list("pk", flat=True))
    assert older.pk not in offered and marked.pk not in offered and len(offered) == 2
    client = login(analyst)
    url = reverse("annotations:suggestions-accept-all", args=[article.pk])
    assert "2 suggestions will become" in client.get(url, **HX).content.decode()
    assert client.post(url, {"count": 2}, **HX).status_code == 200
    assert Quote.objects.filter(annotator=analyst).count() == 3  # the one marked by hand, and two accepted
    assert not Quote.objects.filter(annotator=analyst, start=0).exists()


def test_a_quote_saved_by_hand_keeps_the_suggestions_drawn_in_the_text(login, analyst, article):
    response = login(analyst).post(
        reverse("annotations:quote-new", args=[article.pk]),
        {
            "start": 0,
            "end": 1,
            "text": article.text[:1],
            "kind": "direct",
            "stances-TOTAL_FORMS": 0,
            "stances-INITIAL_FORMS": 0,
            "suggestions_shown": "1",  # what the page's script adds while suggestions are drawn
        },
        **HX,
    )
    assert response.status_code == 200, response.content.decode()[:500]
    body = response.content.decode()
    assert body.count(' sg"') + body.count(" sg ") >= 3  # the three suggestions' marks, redrawn with the text


def test_a_run_that_never_finished_is_stale_and_a_new_request_queues_it_again(article, analyst, settings):
    settings.DETECTION_STALE_AFTER = 60
    lost = DetectionRun.objects.create(article=article, status="running")
    DetectionRun.objects.filter(pk=lost.pk).update(created_at=timezone.now() - datetime.timedelta(minutes=5))
    article.read_detection()
    assert (article.detection_status, article.detection_run_id) == ("stale", lost.pk)
    assert DetectionRun.objects.request([article.pk]) != []
    fresh = DetectionRun.objects.create(article=article, status="queued")
    article.read_detection()
    assert (article.detection_status, article.detection_run_id) == ("queued", fresh.pk)
    assert DetectionRun.objects.request([article.pk]) == []  # still waiting for the fresh one
    assert fresh.pk


def test_detections_are_queued_fifty_to_a_task_and_one_failure_spares_the_others(monkeypatch, analyst):
    from annotations import tasks

    articles = [ArticleFactory(text=f"{TEXT} {number}") for number in range(3)]
    calls: list[list[int]] = []
    real = tasks.detect_articles

    class Recording:
        def enqueue(self, ids: list[int]):
            calls.append(ids)
            return real.enqueue(ids)

    monkeypatch.setattr(DetectionRun, "TASK_BATCH", 2)
    monkeypatch.setattr(tasks, "detect_articles", Recording())
    broken = articles[0].pk
    Article.objects.filter(pk=broken).update(text=TEXT + " (broken)", text_sha256="broken")
    detect = detection.detect

    def detect_or_fail(text, language, published=None):
        if text.endswith("(broken)"):
            raise RuntimeError("broken")
        return detect(text, language, published)

    monkeypatch.setattr(detection, "detect", detect_or_fail)
    runs = DetectionRun.objects.request([article.pk for article in articles])
    DetectionRun.enqueue(runs)
    assert [len(ids) for ids in calls] == [2, 1]
    statuses = dict(DetectionRun.objects.values_list("article_id", "status"))
    assert statuses[broken] == "failed"
    assert sorted(status for pk, status in statuses.items() if pk != broken) == ["done", "done"]
