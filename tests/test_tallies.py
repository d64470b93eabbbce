"""The statistics' tally (annotations.tallies): equal to a count from scratch after every
kind of change to the curated layer, and giving the statistics the stances' own counts."""

from __future__ import annotations

import datetime

import pytest
from django.core.management import CommandError, call_command

from annotations import stats, tallies
from annotations.filters import stats_query
from annotations.models import Article, Assignment, CountryTally, Quote, StanceValues, Target

from .factories import (
    ArticleFactory,
    AssignmentFactory,
    QuoteFactory,
    SpeakerFactory,
    StanceFactory,
    StanceLabelFactory,
    TargetFactory,
    curated_stance_history,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def history(db):
    topic = TargetFactory(slug="iran-nuclear", name="Iran nuclear issue")
    child = TargetFactory(slug="jcpoa-return", name="Return to the JCPOA", parent=topic)
    other = TargetFactory(slug="ukraine-aid", name="Military aid to Ukraine")
    curated_stance_history(topic=topic, child=child, other=other)
    return {"topic": topic, "child": child, "other": other}


@pytest.fixture
def curated(reviewer):
    """A curated article with one curated quote (an American speaker) supporting one target."""
    article = ArticleFactory(status=Article.Status.CURATED, published_on=datetime.date(2024, 3, 9))
    quote = QuoteFactory(article=article, is_curated=True, annotator=reviewer, speaker=SpeakerFactory(country="US"))
    stance = StanceFactory(quote=quote, label=StanceLabelFactory(slug="support"))
    tallies.rebuild()
    return {"article": article, "quote": quote, "stance": stance}


def unchanged_from_scratch() -> None:
    assert tallies.differences() == {}


def tally_rows() -> dict[tuple, int]:
    return {
        (row.month, row.target_id, row.label.slug, row.country): row.stances
        for row in CountryTally.objects.select_related("label")
    }


# --- The statistics read it, and it gives the stances' own counts ---------------------------


@pytest.mark.parametrize(
    "params, group_by",
    [
        ({}, []),
        ({"target": "iran-nuclear"}, ["country"]),
        ({"target": "iran-nuclear", "children": "0"}, ["country", "target"]),
        ({"label": "oppose"}, ["target"]),
        ({"speaker_country": "il"}, []),
        ({"published_after": "2022-03-01", "published_before": "2022-08-31"}, ["country"]),
    ],
)
@pytest.mark.parametrize("interval", ["month", "quarter", "year", "all"])
def test_the_tally_counts_what_the_stances_count(history, reviewer, params, group_by, interval):
    _, scope = stats_query(params, reviewer)
    assert scope.tally is not None
    from_tally = stats.stance_counts(scope, interval=interval, group_by=group_by)
    counted = stats.stance_counts(scope.stances, interval=interval, group_by=group_by)
    assert from_tally == counted
    assert sum(row.count for row in counted) > 0


@pytest.mark.parametrize(
    "params",
    [
        {"q": "nuclear"},
        {"kind": "direct"},
        {"outlet": "Example Times"},
        {"published_after": "2022-03-02"},
        {"published_before": "2022-08-30"},
    ],
)
def test_filters_the_tally_doesnt_keep_count_the_stances(history, reviewer, params):
    _, scope = stats_query(params, reviewer)
    assert scope.tally is None


def test_by_speaker_the_stances_are_counted(history, reviewer, django_assert_num_queries):
    _, scope = stats_query({}, reviewer)
    rows = stats.stance_counts(scope, interval="all", group_by=["speaker"])
    assert all(row.speaker is not None or row.speaker_name == "" for row in rows)
    assert rows == stats.stance_counts(scope.stances, interval="all", group_by=["speaker"])


def test_a_user_without_the_curated_layer_gets_no_tally(history, django_user_model):
    nobody = django_user_model.objects.create_user("nobody")
    _, scope = stats_query({}, nobody)
    assert scope.tally is None
    assert stats.stance_counts(scope, interval="all") == []


# --- Every change to the curated layer moves it -------------------------------------------


def test_marking_an_article_curated_counts_its_stances(reviewer, analyst):
    article = ArticleFactory(published_on=datetime.date(2024, 5, 20))
    AssignmentFactory(article=article, annotator=analyst, status=Assignment.Status.SUBMITTED)
    quote = QuoteFactory(article=article, is_curated=True, annotator=reviewer, speaker=SpeakerFactory(country="FR"))
    stance = StanceFactory(quote=quote, label=StanceLabelFactory(slug="oppose"))
    assert tally_rows() == {}
    article.mark_curated()
    assert tally_rows() == {(datetime.date(2024, 5, 1), stance.target_id, "oppose", "FR"): 1}
    unchanged_from_scratch()


def test_editing_a_curated_quote_moves_its_stances(curated, reviewer):
    quote, old = curated["quote"], curated["stance"]
    other_target, neutral = TargetFactory(), StanceLabelFactory(slug="neutral")
    quote.speaker = SpeakerFactory(country="IL")
    quote.annotate(
        by=reviewer,
        expected_version=quote.version,
        stances={
            old.target_id: StanceValues(label_id=old.label_id),
            other_target.pk: StanceValues(label_id=neutral.pk),
        },
    )
    march = datetime.date(2024, 3, 1)
    assert tally_rows() == {(march, old.target_id, "support", "IL"): 1, (march, other_target.pk, "neutral", "IL"): 1}
    unchanged_from_scratch()


def test_dropping_a_curated_quote_and_undoing_it(curated, reviewer):
    quote = curated["quote"]
    pk = quote.pk  # delete() forgets it
    quote.remove(by=reviewer, expected_version=quote.version)
    assert tally_rows() == {}
    unchanged_from_scratch()
    change = Quote.last_change_id(pk)
    Quote.history.filter(history_id=change).update(history_user=reviewer)  # as the request's middleware records it
    Quote.undo_change(change, by=reviewer, layer=Quote.Layer.CURATED)
    assert sum(tally_rows().values()) == 1
    unchanged_from_scratch()


def test_a_raw_quote_or_an_open_articles_curated_quote_leaves_it_alone(curated, reviewer, analyst):
    before = tally_rows()
    open_article = ArticleFactory()
    raw = Quote(article=open_article, start=1, end=51, text=open_article.text[1:51], annotator=analyst)
    stances = {curated["stance"].target_id: StanceValues(label_id=curated["stance"].label_id)}
    raw.annotate(by=analyst, stances=stances)
    draft = Quote(
        article=open_article, start=1, end=51, text=open_article.text[1:51], annotator=reviewer, is_curated=True
    )
    draft.annotate(
        by=reviewer, stances={curated["stance"].target_id: StanceValues(label_id=curated["stance"].label_id)}
    )
    assert tally_rows() == before


def test_merging_speakers_moves_the_stances_to_the_kept_speakers_country(curated, reviewer):
    kept = SpeakerFactory(country="DE")
    kept.merge(curated["quote"].speaker, by=reviewer)
    assert [key[3] for key in tally_rows()] == ["DE"]
    unchanged_from_scratch()


def test_correcting_a_speakers_country_moves_their_stances(curated):
    speaker = curated["quote"].speaker
    speaker.country = "GB"
    speaker.save()
    assert [key[3] for key in tally_rows()] == ["GB"]
    unchanged_from_scratch()


def test_changing_an_articles_date_moves_its_stances_to_the_new_month(curated):
    article = Article.objects.get(pk=curated["article"].pk)
    article.published_on = datetime.date(2021, 12, 31)
    article.save()
    assert [key[0] for key in tally_rows()] == [datetime.date(2021, 12, 1)]
    article.published_on = None  # undated: no period, not counted
    article.save()
    assert tally_rows() == {}
    unchanged_from_scratch()


def test_merging_a_proposed_target_moves_its_stances(curated, reviewer):
    proposal = TargetFactory(status=Target.Status.PROPOSED)
    stance = curated["stance"]
    stance.target = proposal
    stance.save()
    tallies.rebuild()
    kept = TargetFactory()
    proposal.merge_into(kept)
    assert [key[1] for key in tally_rows()] == [kept.pk]
    unchanged_from_scratch()


def test_nested_changes_are_counted_once(curated):
    speaker = curated["quote"].speaker
    with tallies.tallied([curated["article"].pk]):
        speaker.country = "JP"
        speaker.save()  # its own tallied() leaves the article to the outer one
    assert tally_rows() == {(datetime.date(2024, 3, 1), curated["stance"].target_id, "support", "JP"): 1}
    unchanged_from_scratch()


def test_a_failed_change_leaves_it_as_it_was(curated):
    before = tally_rows()
    with pytest.raises(RuntimeError), tallies.tallied([curated["article"].pk]):
        curated["stance"].delete()
        raise RuntimeError("refused")
    assert tally_rows() == before
    unchanged_from_scratch()


# --- The command ------------------------------------------------------------------------------


def test_the_command_finds_a_difference_and_rebuilds(curated, capsys):
    call_command("tally", "--check")
    CountryTally.objects.update(stances=5)
    with pytest.raises(CommandError, match="differ from a count from scratch in 1 rows"):
        call_command("tally", "--check")
    assert "tally 5, counted 1" in capsys.readouterr().out
    call_command("tally", "--rebuild")
    call_command("tally", "--check")
    assert sum(tally_rows().values()) == 1


# --- One speaker's tallies ------------------------------------------------------------------


@pytest.mark.parametrize("group_by", [[], ["target"], ["country"], ["speaker"]])
@pytest.mark.parametrize("interval", ["month", "year", "all"])
def test_one_speakers_stances_are_counted_from_their_tally_as_from_the_stances(history, reviewer, group_by, interval):
    speakers = set(Quote.objects.curated().exclude(speaker=None).values_list("speaker_id", flat=True))
    assert len(speakers) > 1
    for speaker in speakers:
        for params in ({"speaker": str(speaker)}, {"speaker": str(speaker), "target": "iran-nuclear"}):
            _, scope = stats_query(params, reviewer)
            assert scope.tally is not None and scope.tally.speaker == speaker
            counted = stats.stance_counts(scope.stances, interval=interval, group_by=group_by)
            assert stats.stance_counts(scope, interval=interval, group_by=group_by) == counted


def test_a_speakers_figures_and_label_counts_are_their_curated_quotes_and_stances(history, reviewer):
    from annotations.models import Speaker, Stance, label_counts

    for speaker in Speaker.objects.with_quote_figures(reviewer):
        theirs = Quote.objects.curated_dataset().filter(speaker=speaker)
        days = sorted(day for day in theirs.values_list("article__published_on", flat=True) if day)
        assert speaker.quote_count == theirs.count()
        assert (speaker.first_quoted, speaker.last_quoted) == ((days[0], days[-1]) if days else (None, None))
        stances = Stance.objects.filter(quote__in=theirs)
        counted = {label.slug: label.count for label in label_counts([speaker.pk], reviewer).get(speaker.pk, [])}
        assert counted == {
            slug: stances.filter(label__slug=slug).count() for slug in stances.values_list("label__slug", flat=True)
        }


def test_the_admins_quote_and_stance_forms_move_it(curated, admin_client):
    from django.urls import reverse

    stance = curated["stance"]
    oppose = StanceLabelFactory(slug="oppose")
    url = reverse("admin:annotations_stance_change", args=[stance.pk])
    form = {"quote": stance.quote_id, "target": stance.target_id, "label": oppose.pk, "intensity": 2, "note": ""}
    assert admin_client.post(url, form).status_code == 302
    assert [key[2] for key in tally_rows()] == ["oppose"]
    unchanged_from_scratch()
    url = reverse("admin:annotations_stance_delete", args=[stance.pk])
    assert admin_client.post(url, {"post": "yes"}).status_code == 302
    assert tally_rows() == {}
    unchanged_from_scratch()


def test_reverting_a_stance_from_its_admin_history_moves_it(curated, admin_client):
    from django.urls import reverse

    stance = curated["stance"]
    oppose = StanceLabelFactory(slug="oppose")
    url = reverse("admin:annotations_stance_change", args=[stance.pk])
    form = {"quote": stance.quote_id, "target": stance.target_id, "label": oppose.pk, "intensity": 2, "note": ""}
    assert admin_client.post(url, form).status_code == 302
    first = stance.history.order_by("history_id").first()  # as it was made: support
    revert = reverse("admin:annotations_stance_simple_history", args=[stance.pk, first.history_id])
    form["label"] = stance.label_id
    assert admin_client.post(revert, form).status_code == 302
    assert [key[2] for key in tally_rows()] == ["support"]
    unchanged_from_scratch()
