"""Merging a duplicate speaker into the one kept: everything moves, history says why,
the merge is recorded, and what would break a rule is refused before anything changes."""

from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from annotations.models import Article, Quote, Speaker, SpeakerAlias, SpeakerMerge, SpeakerRole, Suggestion

from .factories import (
    ArticleFactory,
    QuoteFactory,
    SpeakerAliasFactory,
    SpeakerFactory,
    SpeakerRoleFactory,
    StanceFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def kept():
    speaker = SpeakerFactory(name="Ned Price", country="US")
    SpeakerAliasFactory(speaker=speaker, name="Price")
    return speaker


@pytest.fixture
def duplicate():
    speaker = SpeakerFactory(name="Edward Price", country="US", wikidata_qid="Q24568419")
    SpeakerAliasFactory(speaker=speaker, name="Price")  # an alias the kept speaker has already
    SpeakerAliasFactory(speaker=speaker, name="State Department Spokesman")
    SpeakerRoleFactory(speaker=speaker, title="Spokesperson", start_date=datetime.date(2021, 1, 20))
    return speaker


@pytest.fixture
def quotes(duplicate, analyst, reviewer):
    """The duplicate's quotes in both layers, one as addressee, one made from another."""
    role = duplicate.roles.get()
    raw = QuoteFactory(speaker=duplicate, speaker_role=role, annotator=analyst)
    article = ArticleFactory(status=Article.Status.CURATED)
    source = QuoteFactory(article=article, speaker=duplicate, annotator=analyst)
    curated = source.copy_as_curated(curator=reviewer)
    StanceFactory(quote=curated)
    addressed = QuoteFactory(speaker=SpeakerFactory(), addressee=duplicate, annotator=analyst)
    return {"raw": raw, "source": source, "curated": curated, "addressed": addressed}


def test_everything_moves_to_the_kept_speaker(kept, duplicate, quotes, reviewer):
    versions = {key: quote.version for key, quote in quotes.items()}
    record = kept.merge(duplicate, by=reviewer)

    assert not Speaker.objects.filter(pk=duplicate.pk).exists()
    for key in ("raw", "source", "curated"):
        quote = Quote.objects.get(pk=quotes[key].pk)
        assert quote.speaker_id == kept.pk
        assert quote.version == versions[key] + 1, "an editor holding the old version is told it changed"
    assert Quote.objects.get(pk=quotes["addressed"].pk).addressee_id == kept.pk
    assert Quote.objects.get(pk=quotes["raw"].pk).speaker_role.speaker_id == kept.pk
    assert sorted(kept.aliases.values_list("name", flat=True)) == [
        "Edward Price",
        "Price",
        "State Department Spokesman",
    ]
    assert list(kept.roles.values_list("title", flat=True)) == ["Spokesperson"]
    kept.refresh_from_db()
    assert kept.wikidata_qid == "Q24568419", "the QID comes along when the kept speaker has none"

    assert SpeakerMerge.objects.get() == record
    assert (record.kept, record.merged_speaker_id, record.merged_name, record.merged_qid, record.by) == (
        kept,
        duplicate.pk,
        "Edward Price",
        "Q24568419",
        reviewer,
    )
    assert (record.curated_quotes, record.raw_quotes, record.aliases, record.roles) == (1, 3, 1, 1)


def test_each_moved_quote_has_a_history_row_naming_the_merge(kept, duplicate, quotes, reviewer):
    record = kept.merge(duplicate, by=reviewer)
    for quote in quotes.values():
        latest = Quote.history.filter(id=quote.pk).order_by("-history_id").first()
        assert latest.history_type == "~"
        assert latest.history_change_reason == f"Speaker merge {record.pk}: speaker {duplicate.pk} into {kept.pk}"
        assert latest.history_user == reviewer
        assert latest.prev_record is not None
    curated = Quote.history.filter(id=quotes["curated"].pk).order_by("-history_id").first()
    assert [link.from_quote_id for link in curated.curated_from.all()] == [quotes["curated"].pk]
    assert [link.to_quote_id for link in curated.curated_from.all()] == [quotes["source"].pk]
    deleted = Speaker.history.filter(id=duplicate.pk).order_by("-history_id").first()
    assert deleted.history_type == "-" and deleted.history_change_reason.startswith("Speaker merge")
    role = SpeakerRole.history.filter(speaker_id=kept.pk).order_by("-history_id").first()
    assert role.history_change_reason.startswith("Speaker merge")


def test_the_duplicates_name_is_not_added_when_it_is_the_kept_name(kept, reviewer):
    same = SpeakerFactory(name="Ned Price")
    kept.merge(same, by=reviewer)
    assert list(kept.aliases.values_list("name", flat=True)) == ["Price"]


def test_earlier_merges_into_the_duplicate_follow_it(kept, duplicate, reviewer):
    older = SpeakerFactory(name="N. Price")
    duplicate.merge(older, by=reviewer)
    kept.merge(duplicate, by=reviewer)
    assert sorted(SpeakerMerge.objects.filter(kept=kept).values_list("merged_name", flat=True)) == [
        "Edward Price",
        "N. Price",
    ]


def test_merging_a_speaker_into_itself_is_refused(kept, reviewer):
    with pytest.raises(ValidationError, match="can't be merged into itself"):
        kept.merge(kept, by=reviewer)
    assert Speaker.objects.filter(pk=kept.pk).exists()
    assert not SpeakerMerge.objects.exists()


def test_two_different_qids_are_two_speakers(kept, duplicate, quotes, reviewer):
    kept.wikidata_qid = "Q1"
    kept.save()
    with pytest.raises(ValidationError, match="two Wikidata entities are two speakers"):
        kept.merge(duplicate, by=reviewer)
    assert Quote.objects.get(pk=quotes["raw"].pk).speaker_id == duplicate.pk
    assert not SpeakerMerge.objects.exists()


def test_quotes_that_would_become_duplicates_refuse_the_merge(kept, duplicate, analyst, reviewer):
    """The duplicate-span rule (one annotator, one span, kind and speaker, one layer):
    the same span attributed to both would be one quote twice once merged."""
    theirs = QuoteFactory(speaker=duplicate, annotator=analyst)
    QuoteFactory(article=theirs.article, speaker=kept, annotator=analyst)
    with pytest.raises(ValidationError, match=f"quote {theirs.pk} of “Edward Price”"):
        kept.merge(duplicate, by=reviewer)
    assert Quote.objects.get(pk=theirs.pk).speaker_id == duplicate.pk
    # Another annotator's quote on the same span, or another kind, is no clash.
    theirs.kind = Quote.Kind.INDIRECT
    theirs.save()
    kept.merge(duplicate, by=reviewer)
    assert Quote.objects.get(pk=theirs.pk).speaker_id == kept.pk


def test_curated_quotes_on_one_span_attributed_to_both_refuse_the_merge(kept, duplicate, reviewer):
    """Curated quotes have no annotator: two of them on one span, kind and layer would
    be one curated quote twice, as ``Quote.duplicate`` counts it."""
    theirs = QuoteFactory(speaker=duplicate, annotator=None, is_curated=True)
    QuoteFactory(article=theirs.article, speaker=kept, annotator=None, is_curated=True)
    with pytest.raises(ValidationError, match=f"quote {theirs.pk} of “Edward Price”"):
        kept.merge(duplicate, by=reviewer)


def test_the_detectors_suggestions_follow_the_merged_speaker(kept, duplicate, reviewer):
    article = ArticleFactory()
    suggestion = Suggestion.objects.create(
        article=article, start=1, end=51, text=article.text[1:51], speaker=duplicate, detector_version="rules-2"
    )
    kept.merge(duplicate, by=reviewer)
    assert Suggestion.objects.get(pk=suggestion.pk).speaker_id == kept.pk


def test_a_failure_midway_changes_nothing(kept, duplicate, quotes, reviewer, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr("annotations.models.record_curated_links", broken)
    with pytest.raises(RuntimeError):
        kept.merge(duplicate, by=reviewer)
    assert Speaker.objects.filter(pk=duplicate.pk).exists()
    assert Quote.objects.get(pk=quotes["raw"].pk).speaker_id == duplicate.pk
    assert SpeakerAlias.objects.filter(speaker=duplicate).count() == 2
    assert not SpeakerMerge.objects.exists()


def test_a_speaker_merged_away_meanwhile_is_refused(kept, duplicate, reviewer):
    stale = Speaker.objects.get(pk=duplicate.pk)
    kept.merge(duplicate, by=reviewer)
    other = SpeakerFactory(name="Someone else")
    with pytest.raises(ValidationError, match="no longer exists"):
        other.merge(stale, by=reviewer)


# --- On the speaker's page ----------------------------------------------------------------


def test_the_confirmation_names_what_moves(login, reviewer, kept, duplicate, quotes):
    response = login(reviewer).get(reverse("annotations:speaker-merge", args=[kept.pk]), {"duplicate": duplicate.pk})
    page = response.content.decode()
    assert response.status_code == 200
    assert "Merge “Edward Price” into “Ned Price”?" in page
    assert "<strong>1</strong> curated quote and <strong>3</strong> annotators' quotes" in page
    assert "<strong>1</strong> alias, and “<span hx-disable>Edward Price</span>” becomes an alias" in page
    assert "the Wikidata QID Q24568419" in page
    assert Speaker.objects.filter(pk=duplicate.pk).exists(), "looking changes nothing"


def test_the_confirmation_shows_why_a_merge_is_refused_and_offers_no_button(login, reviewer, kept, duplicate):
    kept.wikidata_qid = "Q1"
    kept.save()
    page = login(reviewer).get(reverse("annotations:speaker-merge", args=[kept.pk]), {"duplicate": duplicate.pk})
    assert "two Wikidata entities are two speakers" in page.content.decode()
    assert b'method="post"' not in page.content.split(b"<main")[1]


def test_a_reviewer_merges_from_the_page(login, reviewer, kept, duplicate, quotes):
    client = login(reviewer)
    response = client.post(reverse("annotations:speaker-merge", args=[kept.pk]), {"duplicate": duplicate.pk})
    assert response.status_code == 302 and response["Location"] == kept.get_absolute_url()
    page = client.get(kept.get_absolute_url()).content.decode()
    assert "Merged “Edward Price” into “Ned Price”: 4 quotes, 1 alias and 1 role moved." in page
    assert "Merged into this speaker" in page and f"speaker #{duplicate.pk}" in page
    assert not Speaker.objects.filter(pk=duplicate.pk).exists()


@pytest.mark.parametrize(
    ("duplicate_value", "message"),
    [
        ("", "Give the number of the duplicate speaker."),
        ("abc", "Enter a whole number."),
        ("99999999", "There is no speaker 99999999."),
        ("self", "A speaker can&#x27;t be merged into itself"),
    ],
)
def test_a_bad_merge_request_is_a_message_at_the_form(duplicate_value, message, login, reviewer, kept):
    value = str(kept.pk) if duplicate_value == "self" else duplicate_value
    for method in ("get", "post"):
        response = getattr(login(reviewer), method)(
            reverse("annotations:speaker-merge", args=[kept.pk]), {"duplicate": value}
        )
        assert response.status_code == 422
        assert message in response.content.decode()
    assert Speaker.objects.filter(pk=kept.pk).exists()


def test_a_refused_merge_posted_anyway_is_a_message(login, reviewer, kept, duplicate):
    kept.wikidata_qid = "Q1"
    kept.save()
    client = login(reviewer)
    response = client.post(
        reverse("annotations:speaker-merge", args=[kept.pk]), {"duplicate": duplicate.pk}, follow=True
    )
    assert "two Wikidata entities are two speakers" in response.content.decode()
    assert Speaker.objects.filter(pk=duplicate.pk).exists()


def test_the_admin_shows_merges_read_only(client, admin_user, kept, duplicate, reviewer):
    record = kept.merge(duplicate, by=reviewer)
    client.force_login(admin_user)
    assert client.get(reverse("admin:annotations_speakermerge_changelist")).status_code == 200
    assert client.get(reverse("admin:annotations_speakermerge_change", args=[record.pk])).status_code == 200
    assert client.get(reverse("admin:annotations_speakermerge_add")).status_code == 403
    assert (
        client.post(reverse("admin:annotations_speakermerge_delete", args=[record.pk]), {"post": "yes"}).status_code
        == 403
    )
