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


def test_seed_demo_loads_the_worked_example():
    call_command("seed_demo", stdout=io.StringIO())
    article = Article.objects.get()
    assert len(article.text) == EXAMPLE["article"]["length"]
    assert Speaker.objects.count() == len(EXAMPLE["speakers"])
    assert Target.objects.count() == len(EXAMPLE["targets"])
    assert list(StanceLabel.objects.values_list("slug", flat=True)) == ["support", "oppose", "neutral", "unclear"]
    assert Target.objects.get(slug="jcpoa-return").parent.slug == "iran-nuclear"
    quotes = list(Quote.objects.raw_layer().in_text_order().select_related("speaker", "speaker_role", "addressee"))
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
    # 16 quotes created, and the 8 curated ones' curated_from recorded (a second record each).
    assert first["annotations.HistoricalQuote"] == 24
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
    assert Article.objects.count() == 1
    assert Quote.objects.raw_layer().filter(annotator=None).count() == 8
    assert Quote.objects.curated().filter(annotator=None).count() == 8
    assert Article.objects.get().status == Article.Status.CURATED


def test_seed_demo_loads_the_curated_version_made_by_the_reviewer():
    call_command("seed_demo", stdout=io.StringIO())
    article = Article.objects.get()
    assert article.status == Article.Status.CURATED
    assignment = Assignment.objects.get(article=article)
    assert (assignment.annotator.username, assignment.status) == ("analyst", Assignment.Status.REVIEWED)
    raw = list(Quote.objects.raw_layer().in_text_order())
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
    assert Assignment.objects.get().status == Assignment.Status.REVIEWED


def test_seed_demo_without_curation_leaves_the_article_open_for_review():
    call_command("seed_demo", no_curation=True, stdout=io.StringIO())
    article = Article.objects.get()
    assert article.status == Article.Status.OPEN
    assert not Quote.objects.curated().exists()
    assert Assignment.objects.get().status == Assignment.Status.IN_PROGRESS


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
