"""The domain model: the offset invariant in the model layer and in the database,
article immutability, roles and the status machine."""

from __future__ import annotations

import datetime

import pytest
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase as HypothesisTestCase

from annotations.models import Article, Assignment, Quote, Role, Speaker, SpeakerRole, Stance, Target
from annotations.offsets import grapheme_boundaries, normalise_text

from .factories import (
    ArticleFactory,
    AssignmentFactory,
    QuoteFactory,
    SpeakerFactory,
    SpeakerRoleFactory,
    StanceFactory,
    StanceLabelFactory,
    TargetFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def db_span(quote_id: int) -> str:
    """The quote's span as the database itself reads it from the article text."""
    with connection.cursor() as cursor:
        cursor.execute(
            'SELECT substr(a.text, q.start + 1, q."end" - q.start) FROM annotations_quote q '
            "JOIN annotations_article a ON a.id = q.article_id WHERE q.id = %s",
            [quote_id],
        )
        return cursor.fetchone()[0]


# --- Articles ---------------------------------------------------------------


def test_article_text_is_normalised_and_hashed_on_save():
    article = ArticleFactory(text="Cafe\u0301 talks\r\nresumed.")
    article.refresh_from_db()
    assert article.text == "Café talks\nresumed."
    assert article.text_sha256 == Article.hash_text("Café talks\nresumed.")


def test_an_article_without_quotes_can_change_its_text():
    article = ArticleFactory()
    article.text = "A corrected text."
    article.save()
    article.refresh_from_db()
    assert article.text == "A corrected text."


def test_save_refuses_to_change_the_text_of_an_annotated_article():
    quote = QuoteFactory()
    article = Article.objects.get(pk=quote.article_id)
    article.text = "Something else entirely."
    with pytest.raises(ValidationError, match="can't be changed"):
        article.save()
    article.refresh_from_db()
    assert article.text.startswith("“We will not allow")


def test_the_database_refuses_to_change_the_text_of_an_annotated_article():
    quote = QuoteFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        Article.objects.filter(pk=quote.article_id).update(text="Rewritten behind the model's back.")
    assert Article.objects.get(pk=quote.article_id).text == quote.article.text


def test_two_articles_with_the_same_text_are_refused_by_the_database():
    ArticleFactory(text="Same words.")
    with pytest.raises(IntegrityError), transaction.atomic():
        ArticleFactory(text="Same words.")


# --- Quotes: the offset invariant ---------------------------------------------


def test_a_quote_keeps_its_text_equal_to_the_article_span():
    quote = QuoteFactory()
    assert quote.text == "We will not allow Iran to acquire a nuclear weapon"
    assert db_span(quote.pk) == quote.text


def test_clean_refuses_a_quote_whose_text_does_not_match_its_offsets():
    article = ArticleFactory()
    quote = Quote(article=article, start=1, end=8, text="We shall")
    with pytest.raises(ValidationError) as error:
        quote.clean()
    assert "does not match the article" in str(error.value.message_dict["text"])


def test_save_refuses_a_quote_whose_text_does_not_match_its_offsets():
    article = ArticleFactory()
    with pytest.raises(ValidationError, match="does not match"):
        Quote(article=article, start=1, end=8, text="We shal").save()
    assert not Quote.objects.exists()


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [(5, 5, "at least one character"), (7, 3, "not after its start"), (0, 10_000, "past the end")],
)
def test_clean_names_impossible_offsets(start, end, message):
    article = ArticleFactory()
    quote = Quote(article=article, start=start, end=end, text=article.text[start:end])
    with pytest.raises(ValidationError, match=message):
        quote.clean()


def test_the_database_refuses_a_quote_whose_text_does_not_match_the_article():
    article = ArticleFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        Quote.objects.bulk_create([Quote(article=article, start=1, end=3, text="XX")])
    assert not Quote.objects.exists()


def test_the_database_refuses_a_quote_whose_length_does_not_match_its_offsets():
    article = ArticleFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        Quote.objects.bulk_create([Quote(article=article, start=1, end=4, text="We")])


def test_the_database_refuses_an_empty_or_reversed_span():
    article = ArticleFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        Quote.objects.bulk_create([Quote(article=article, start=4, end=4, text="")])


def test_the_database_refuses_an_update_that_moves_offsets_away_from_the_text():
    quote = QuoteFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        Quote.objects.filter(pk=quote.pk).update(start=2, end=52)
    quote.refresh_from_db()
    assert quote.start == 1


def test_mention_and_cue_spans_obey_the_invariant_in_clean_and_in_the_database():
    article = ArticleFactory()
    said = article.text.index("said")
    quote = QuoteFactory.build(article=article, annotator=UserFactory(), speaker=SpeakerFactory())
    quote.cue_start, quote.cue_end, quote.cue_text = said, said + 4, "told"
    with pytest.raises(ValidationError) as error:
        quote.clean()
    assert "cue text does not match" in str(error.value.message_dict["cue_text"])
    with pytest.raises(IntegrityError), transaction.atomic():
        Quote.objects.bulk_create([quote])
    quote.cue_text = "said"
    quote.full_clean()
    quote.save()
    assert Quote.objects.get().cue_text == "said"


def test_a_half_given_mention_span_is_refused_by_the_database():
    article = ArticleFactory()
    quote = QuoteFactory.build(article=article, annotator=UserFactory(), speaker=SpeakerFactory())
    quote.mention_start = 3
    with pytest.raises(IntegrityError), transaction.atomic():
        Quote.objects.bulk_create([quote])


def test_the_role_must_belong_to_the_quote_speaker():
    quote = QuoteFactory()
    quote.speaker_role = SpeakerRoleFactory()
    with pytest.raises(ValidationError) as error:
        quote.full_clean()
    assert "speaker_role" in error.value.message_dict


def test_a_nested_quote_must_be_in_the_same_article():
    outer = QuoteFactory()
    inner = QuoteFactory(parent=None)
    inner.parent = outer
    with pytest.raises(ValidationError) as error:
        inner.full_clean()
    assert "parent" in error.value.message_dict


def test_overlapping_and_nested_quotes_coexist():
    article = ArticleFactory()
    outer = QuoteFactory(article=article, start=1, end=51)
    inner = QuoteFactory(article=article, start=19, end=23, parent=outer)
    overlapping = QuoteFactory(article=article, start=40, end=60)
    assert [q.pk for q in Quote.objects.filter(article=article).in_text_order()] == [outer.pk, inner.pk, overlapping.pk]
    assert inner.text == "Iran"


class TestOffsetsRoundTripThroughTheDatabase(HypothesisTestCase):
    """Property: whatever the script, a stored quote reads back as text[start:end],
    in Python and in the database's own substr()."""

    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(
        pieces=st.lists(
            st.sampled_from(["Peace ", "😀", "👍🏽", "שלום ", "سلام ", "e\u0301", "\r\n", "“dead.”", "𝔄𝔅", "中文 "]),
            min_size=2,
            max_size=30,
        ),
        data=st.data(),
    )
    def test_quotes_on_any_text_round_trip(self, pieces, data):
        raw = "".join(pieces) + " end"
        article = Article.objects.create(title="Property", text=raw)
        text = normalise_text(raw)
        assert article.text == text
        # A span never splits a character as a reader sees it: pick grapheme boundaries.
        edges = grapheme_boundaries(text, 0, len(text))
        i = data.draw(st.integers(0, len(edges) - 2))
        start, end = edges[i], edges[data.draw(st.integers(i + 1, len(edges) - 1))]
        quote = Quote(article=article, start=start, end=end, text=text[start:end])
        quote.full_clean()
        quote.save()
        stored = Quote.objects.get(pk=quote.pk)
        assert stored.text == Article.objects.get(pk=article.pk).text[stored.start : stored.end]
        assert db_span(quote.pk) == stored.text


# --- Stances and taxonomy -------------------------------------------------------


def test_one_stance_per_quote_and_target():
    stance = StanceFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        Stance.objects.create(quote=stance.quote, target=stance.target, label=StanceLabelFactory(slug="oppose"))


@pytest.mark.parametrize("intensity", [0, 4])
def test_the_database_refuses_an_intensity_outside_1_to_3(intensity):
    stance = StanceFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        Stance.objects.filter(pk=stance.pk).update(intensity=intensity)


def test_a_target_cannot_be_its_own_ancestor():
    parent = TargetFactory()
    child = TargetFactory(parent=parent)
    parent.parent = child
    with pytest.raises(ValidationError, match="own ancestor"):
        parent.full_clean()


def test_descendant_ids_walk_the_whole_hierarchy():
    root = TargetFactory()
    child = TargetFactory(parent=root)
    grandchild = TargetFactory(parent=child)
    TargetFactory()
    assert root.descendant_ids() == {root.pk, child.pk, grandchild.pk}


# --- Speakers -----------------------------------------------------------------


def test_the_role_held_on_a_date_is_the_one_in_force_then():
    speaker = SpeakerFactory()
    SpeakerRoleFactory(
        speaker=speaker, title="Deputy", start_date=datetime.date(2015, 1, 1), end_date=datetime.date(2022, 12, 28)
    )
    minister = SpeakerRoleFactory(
        speaker=speaker, title="Minister", start_date=datetime.date(2022, 12, 29), end_date=None
    )
    assert speaker.role_on(datetime.date(2023, 1, 5)) == minister
    assert speaker.role_on(datetime.date(2016, 1, 1)).title == "Deputy"
    assert speaker.role_on(datetime.date(2010, 1, 1)) is None


def test_a_role_cannot_end_before_it_starts():
    role = SpeakerRoleFactory.build(
        speaker=SpeakerFactory(), start_date=datetime.date(2023, 1, 1), end_date=datetime.date(2022, 1, 1)
    )
    with pytest.raises(ValidationError):
        role.full_clean()
    with pytest.raises(IntegrityError), transaction.atomic():
        SpeakerRole.objects.bulk_create([role])


def test_speaker_search_finds_names_and_aliases():
    gallant = SpeakerFactory(name="Yoav Gallant")
    gallant.aliases.create(name="יואב גלנט")
    SpeakerFactory(name="Ned Price")
    assert list(Speaker.objects.search("גלנט")) == [gallant]
    assert list(Speaker.objects.search("gallant")) == [gallant]
    assert not Speaker.objects.search("   ").exists()


# --- Roles and access ---------------------------------------------------------


def test_the_role_groups_exist_with_their_permissions():
    groups = {group.name: set(group.permissions.values_list("codename", flat=True)) for group in Group.objects.all()}
    assert {"analyst", "reviewer", "researcher"} <= set(groups)
    assert {"add_quote", "change_quote", "view_article"} <= groups["analyst"]
    assert "delete_article" not in groups["analyst"]
    assert {"delete_quote", "change_target", "add_release"} <= groups["reviewer"]
    assert all(codename.startswith("view_") for codename in groups["researcher"])


def test_articles_visible_to_each_role(analyst, second_analyst, reviewer, researcher, outsider):
    mine = AssignmentFactory(annotator=analyst, article=ArticleFactory(pool=False)).article
    theirs = AssignmentFactory(annotator=second_analyst, article=ArticleFactory(pool=False)).article
    pooled = ArticleFactory(pool=True)
    curated = ArticleFactory(pool=False, status=Article.Status.CURATED)
    # Analysts read curated articles (as they read the curated quotes on them), never another's work.
    assert set(Article.objects.visible_to(analyst)) == {mine, pooled, curated}
    assert set(Article.objects.visible_to(reviewer)) == {mine, theirs, pooled, curated}
    assert set(Article.objects.visible_to(researcher)) == {curated}
    assert not Article.objects.visible_to(outsider).exists()


def test_annotation_is_blind_between_analysts(analyst, second_analyst, reviewer, researcher):
    article = ArticleFactory()
    mine = QuoteFactory(article=article, annotator=analyst)
    theirs = QuoteFactory(article=article, annotator=second_analyst)
    assert list(Quote.objects.visible_to(analyst)) == [mine]
    assert set(Quote.objects.visible_to(reviewer)) == {mine, theirs}
    assert not Quote.objects.visible_to(researcher).exists()


def test_researchers_read_only_curated_quotes_of_curated_articles(researcher, reviewer):
    article = ArticleFactory(status=Article.Status.CURATED)
    raw = QuoteFactory(article=article)
    curated = QuoteFactory(article=article, start=40, end=60, annotator=reviewer, is_curated=True)
    assert list(Quote.objects.visible_to(researcher)) == [curated]
    assert raw not in Quote.objects.visible_to(researcher)


def test_analysts_edit_only_their_own_quotes_until_they_submit(analyst, second_analyst, reviewer):
    assignment = AssignmentFactory(annotator=analyst)
    mine = QuoteFactory(article=assignment.article, annotator=analyst)
    theirs = QuoteFactory(article=assignment.article, annotator=second_analyst)
    assert list(Quote.objects.editable_by(analyst)) == [mine]
    assert set(Quote.objects.editable_by(reviewer)) == {mine, theirs}
    assignment.move_to(Assignment.Status.SUBMITTED)
    assert not Quote.objects.editable_by(analyst).exists()


def test_an_inactive_user_sees_nothing(analyst):
    ArticleFactory()
    analyst.is_active = False
    analyst.save()
    assert not Article.objects.visible_to(analyst).exists()
    assert not Quote.objects.visible_to(analyst).exists()


def test_a_researcher_edits_nothing(researcher):
    QuoteFactory()
    assert not Quote.objects.editable_by(researcher).exists()


# --- The status machine -----------------------------------------------------------


def test_an_assignment_moves_along_its_legal_transitions():
    assignment = AssignmentFactory()
    assignment.move_to(Assignment.Status.IN_PROGRESS)
    assignment.move_to(Assignment.Status.SUBMITTED)
    assert assignment.submitted_at is not None
    assignment.move_to(Assignment.Status.REVIEWED)
    assignment.refresh_from_db()
    assert assignment.status == Assignment.Status.REVIEWED


@pytest.mark.parametrize(
    ("start", "to"),
    [
        (Assignment.Status.ASSIGNED, Assignment.Status.REVIEWED),
        (Assignment.Status.IN_PROGRESS, Assignment.Status.ASSIGNED),
        (Assignment.Status.REVIEWED, Assignment.Status.IN_PROGRESS),
        (Assignment.Status.REVIEWED, Assignment.Status.SUBMITTED),
    ],
)
def test_illegal_transitions_are_refused(start, to):
    assignment = AssignmentFactory(status=start)
    with pytest.raises(ValidationError, match="can't become"):
        assignment.move_to(to)
    assignment.refresh_from_db()
    assert assignment.status == start


def test_every_model_has_a_readable_str():
    stance = StanceFactory()
    role = SpeakerRoleFactory(organisation="State Department")
    assignment = AssignmentFactory()
    for obj in [
        stance,
        stance.quote,
        stance.target,
        stance.label,
        stance.quote.article,
        role,
        role.speaker,
        assignment,
    ]:
        assert str(obj) and "object (" not in str(obj)
    assert Role.ANALYST == "analyst"
    assert Target.objects.count() == 1
