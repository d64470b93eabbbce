"""seed_demo loads the worked example exactly, with its curated version, and twice leaves the same rows."""

from __future__ import annotations

import io
import json
import shutil

import pytest
from django.apps import apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from annotations.models import Article, Assignment, Quote, Speaker, Stance, StanceLabel, Target

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def debug_on(settings):
    """seed_demo makes demo accounts only in development; the test runner turns DEBUG off."""
    settings.DEBUG = True


EXAMPLE = json.loads((settings.DEMO_DATA_DIR / "worked-example.json").read_text())


def row_counts() -> dict[str, int]:
    return {model._meta.label: model.objects.count() for model in apps.get_app_config("annotations").get_models()}


def test_the_demo_data_is_the_shared_seed():
    from pathlib import Path

    shared = Path(settings.BASE_DIR).parent / "shared" / "seed"
    if not shared.exists():
        pytest.skip("../shared/seed is not beside this checkout")
    for name in ["austin-gallant-call.txt", "worked-example.json"]:
        assert (settings.DEMO_DATA_DIR / name).read_bytes() == (shared / name).read_bytes()


def seed_article() -> Article:
    return Article.objects.get(metadata__source="worked-example.json")


def test_seed_demo_loads_the_worked_example():
    call_command("seed_demo", stdout=io.StringIO())
    article = seed_article()
    assert len(article.text) == EXAMPLE["article"]["length"]
    assert Speaker.objects.count() == len(EXAMPLE["speakers"])
    assert Target.objects.count() == len(EXAMPLE["targets"])
    assert list(StanceLabel.objects.values_list("slug", flat=True)) == ["support", "oppose", "neutral", "unclear"]
    assert Target.objects.get(slug="jcpoa-return").parent.slug == "iran-nuclear"
    quotes = list(
        Quote.objects.raw_layer()
        .filter(annotator__username="analyst")
        .in_text_order()
        .select_related("speaker", "speaker_role", "addressee")
    )
    assert len(quotes) == 8
    for quote, expected in zip(quotes, EXAMPLE["quotes"], strict=True):
        assert (quote.start, quote.end, quote.text) == (expected["start"], expected["end"], expected["text"])
        assert quote.text == article.text[quote.start : quote.end]
        assert quote.speaker.name == expected["speaker"]
        assert quote.kind == expected["kind"]
        assert quote.mention_text == expected["source_mention"]["text"]
        assert quote.cue_text == expected["cue_span"]["text"]
        assert {
            (s.target.slug, s.label.slug, s.intensity) for s in quote.stances.select_related("target", "label")
        } == {(s["target"], s["label"], s["intensity"]) for s in expected["stances"]}
    gallant = quotes[0]
    assert gallant.addressee.name == "Lloyd Austin"
    assert gallant.speaker_role.title == "Minister of Defense"
    assert {q.attribution_group for q in quotes[3:5]} == {"price-added"}


def test_seed_demo_twice_leaves_the_same_rows():
    """History included: a second run changes nothing, so it records nothing."""
    call_command("seed_demo", stdout=io.StringIO())
    first = row_counts()
    # 8 + 7 quotes created, 8 curated copies and their curated_from recorded (a second record each).
    assert first["annotations.HistoricalQuote"] == 31
    stances_before = set(Stance.objects.values_list("quote__start", "target__slug", "label__slug"))
    call_command("seed_demo", stdout=io.StringIO())
    assert row_counts() == first
    assert set(Stance.objects.values_list("quote__start", "target__slug", "label__slug")) == stances_before


def test_seed_demo_creates_one_user_per_role_with_documented_passwords():
    call_command("seed_demo", stdout=io.StringIO())
    User = get_user_model()
    for username, group in [("analyst", "analyst"), ("reviewer", "reviewer"), ("researcher", "researcher")]:
        user = User.objects.get(username=username)
        assert user.check_password(f"demo-{username}-pass")
        assert list(user.groups.values_list("name", flat=True)) == [group]
    assert User.objects.get(username="admin").is_superuser


def test_seed_demo_creates_no_accounts_when_debug_is_off(settings):
    settings.DEBUG = False
    err = io.StringIO()
    call_command("seed_demo", stdout=io.StringIO(), stderr=err)
    assert not get_user_model().objects.exists()
    assert "DEBUG is off" in err.getvalue()
    assert Quote.objects.raw_layer().filter(annotator=None).count() == 8
    assert Quote.objects.curated().filter(annotator=None).count() == 8
    assert seed_article().status == Article.Status.CURATED
    # Without an analyst to wait for them, the invented articles are in the pool.
    assert set(Article.objects.filter(metadata__invented=True).values_list("pool", flat=True)) == {True}


def test_seed_demo_loads_the_curated_version_made_by_the_reviewer():
    call_command("seed_demo", stdout=io.StringIO())
    article = seed_article()
    assert article.status == Article.Status.CURATED
    assert set(Assignment.objects.filter(article=article).values_list("annotator__username", "status")) == {
        ("analyst", Assignment.Status.REVIEWED),
        ("analyst2", Assignment.Status.REVIEWED),
    }
    raw = list(Quote.objects.raw_layer().filter(annotator__username="analyst").in_text_order())
    curated = list(Quote.objects.curated().in_text_order().prefetch_related("curated_from"))
    assert len(curated) == 8
    for original, copy in zip(raw, curated, strict=True):
        assert copy.annotator.username == "reviewer"
        assert list(copy.curated_from.all()) == [original]
        for name in Quote.CURATED_COPY_FIELDS:
            assert getattr(copy, name) == getattr(original, name), name
        assert set(copy.stances.values_list("target_id", "label_id", "intensity")) == set(
            original.stances.values_list("target_id", "label_id", "intensity")
        )


def test_seed_demo_twice_keeps_one_curated_copy_per_quote():
    call_command("seed_demo", stdout=io.StringIO())
    call_command("seed_demo", stdout=io.StringIO())
    assert Quote.objects.curated().count() == 8
    assert set(Assignment.objects.filter(article=seed_article()).values_list("status", flat=True)) == {
        Assignment.Status.REVIEWED
    }


def test_seed_demo_without_curation_leaves_the_article_open_for_review():
    call_command("seed_demo", no_curation=True, stdout=io.StringIO())
    article = seed_article()
    assert article.status == Article.Status.OPEN
    assert not Quote.objects.curated().exists()
    assert set(Assignment.objects.filter(article=article).values_list("status", flat=True)) == {
        Assignment.Status.IN_PROGRESS
    }


def test_seed_demo_refuses_offsets_that_do_not_match_the_text(tmp_path):
    for name in ["austin-gallant-call.txt", "worked-example.json"]:
        shutil.copy(settings.DEMO_DATA_DIR / name, tmp_path / name)
    broken = json.loads((tmp_path / "worked-example.json").read_text())
    broken["quotes"][2]["start"] += 1
    (tmp_path / "worked-example.json").write_text(json.dumps(broken))
    with pytest.raises(CommandError, match="quote 3 text does not match"):
        call_command("seed_demo", data_dir=tmp_path, stdout=io.StringIO())
    assert not Quote.objects.exists()
    assert not Article.objects.exists()


def test_the_second_analyst_reads_the_seed_article_differently_in_places():
    call_command("seed_demo", stdout=io.StringIO())
    first = {
        (q.start, q.end): q
        for q in Quote.objects.raw_layer().filter(annotator__username="analyst").prefetch_related("stances__label")
    }
    second = {
        (q.start, q.end): q
        for q in Quote.objects.raw_layer().filter(annotator__username="analyst2").prefetch_related("stances__label")
    }
    assert len(first) == 8 and len(second) == 7
    # Price's "a decision for Israel to make" is missed; his partial quote is marked narrower.
    assert not any(q.text == "that was a decision for Israel to make" for q in second.values())
    narrow = next(q for q in second.values() if q.text == "foot-dragging and empty promises")
    assert (narrow.start, narrow.end) not in first
    # Same span, another speaker; same span, another label.
    added = next(key for key, q in first.items() if q.text.startswith("We’re always"))
    assert (first[added].speaker.name, second[added].speaker.name) == ("Ned Price", "Lloyd Austin")
    assert second[added].speaker_role is None
    long = next(key for key, q in first.items() if q.text.startswith("Even though the JCPOA"))
    labels = [{s.target.slug: s.label.slug for s in quotes[long].stances.all()} for quotes in (first, second)]
    assert (labels[0]["jcpoa-return"], labels[1]["jcpoa-return"]) == ("neutral", "unclear")


def test_the_agreement_report_shows_figures_for_the_seed_article(client):
    from django.urls import reverse

    call_command("seed_demo", stdout=io.StringIO())
    client.force_login(get_user_model().objects.get(username="reviewer"))
    response = client.get(reverse("annotations:review-agreement"))
    assert response.status_code == 200
    figures = response.context["figures"]
    # The figures tests/test_review_walkthrough.py works out by hand for this reading.
    assert figures.compared_articles == 1
    assert round(figures.exact_f1, 2) == 0.80
    assert round(figures.overlap_f1, 2) == 0.93
    assert round(figures.speaker_agreement, 2) == 0.86
    assert round(figures.stance_alpha, 2) == 0.87


def test_invented_articles_wait_in_the_analysts_queue_marked_as_invented():
    call_command("seed_demo", stdout=io.StringIO())
    invented = list(Article.objects.filter(metadata__invented=True))
    assert len(invented) == 3
    for article in invented:
        assert article.title.startswith("[Invented demo]")
        assert "invented" in article.outlet
        assert "not a real article" in article.metadata["note"]
        assert not article.pool
    analyst = get_user_model().objects.get(username="analyst")
    upcoming = Assignment.objects.next_for(analyst)
    assert upcoming is not None and upcoming.article in invented
    assert upcoming.status == Assignment.Status.ASSIGNED


def test_seed_demo_twice_leaves_the_offsets_sound():
    call_command("seed_demo", stdout=io.StringIO())
    call_command("seed_demo", stdout=io.StringIO())
    assert Article.objects.count() == 4
    call_command("check_offsets", stdout=io.StringIO())


def test_seed_demo_history_gives_the_statistics_two_years_of_invented_curated_statements():
    from annotations import stats
    from annotations.filters import stats_query

    call_command("seed_demo", "--history", stdout=io.StringIO())
    first = row_counts()
    reports = Article.objects.filter(metadata__source="seed_demo --history")
    assert reports.count() == 24 and set(reports.values_list("status", flat=True)) == {Article.Status.CURATED}
    assert all(article.metadata["invented"] for article in reports)
    assert Quote.objects.curated().filter(article__in=reports).count() == 72
    reviewer = get_user_model().objects.get(username="reviewer")
    _, scope = stats_query({"target": "iran-nuclear"}, reviewer)
    rows = stats.stance_counts(scope, interval="quarter", group_by=["country"])
    assert len({row.period for row in rows}) == 8  # 2022 and 2023 by quarter (the worked example is in 2023 Q1)
    assert {row.country for row in rows} >= {"IL", "US", "IR", "FR", "RU", "DE"}
    us_on_the_deal = [
        row.label
        for row in stats.stance_counts(
            stats_query({"target": "jcpoa-return", "speaker_country": "US"}, reviewer)[1], interval="year"
        )
    ]
    assert "support" in us_on_the_deal and "oppose" in us_on_the_deal
    call_command("seed_demo", "--history", stdout=io.StringIO())
    assert row_counts() == first


def test_the_demo_and_its_history_leave_the_tallies_equal_to_a_count_from_scratch():
    from annotations import tallies
    from annotations.models import CountryTally, SpeakerQuoteTally

    for _ in range(2):  # and again: a second run changes nothing
        call_command("seed_demo", "--history", stdout=io.StringIO())
        assert tallies.differences() == {}
    assert CountryTally.objects.count() > 0 and SpeakerQuoteTally.objects.count() > 0
