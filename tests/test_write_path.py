"""One write path for a quote and its stances: Quote.annotate and Quote.remove.

The annotate page, the API, curation and span imports all store quotes through
it, so they all behave alike: an unchanged stance keeps its row (same id, no
history), a changed one is updated in place, and the same span can't be
stored twice by one annotator in one layer.
"""

# Shared fixtures are imported from test_api_support by name, which pyflakes
# reads as unused imports shadowed by the test arguments.
# ruff: noqa: F401, F811
from __future__ import annotations

import json

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from annotations.models import Assignment, Quote, Stance, StanceValues, VersionConflict
from annotations.span_importers import import_spans

from .factories import (
    ArticleFactory,
    AssignmentFactory,
    QuoteFactory,
    StanceFactory,
    StanceLabelFactory,
    TargetFactory,
)
from .test_api_support import api, isolated_media

pytestmark = pytest.mark.django_db
HX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def stanced(analyst, assigned_article):
    """The analyst's quote with two stances: one to keep as it is, one to change."""
    quote = QuoteFactory(article=assigned_article, annotator=analyst)
    kept = StanceFactory(quote=quote, target=TargetFactory(slug="kept"), intensity=2, note="as it was")
    changed = StanceFactory(quote=quote, target=TargetFactory(slug="changed"), intensity=1)
    return quote, kept, changed


def stance_history(stance: Stance) -> int:
    return Stance.history.filter(id=stance.pk).count()


def page_data(quote: Quote, rows: list[tuple[Stance | None, int, int, int | str, str]]) -> dict:
    """The annotate page's edit form: (existing stance or None, target, label, intensity, note) per row."""
    data = {
        "start": quote.start,
        "end": quote.end,
        "text": quote.text,
        "kind": quote.kind,
        "speaker": quote.speaker_id or "",
        "version": quote.version,
        "stances-TOTAL_FORMS": str(len(rows)),
        "stances-INITIAL_FORMS": str(sum(1 for row in rows if row[0] is not None)),
        "stances-MIN_NUM_FORMS": "0",
        "stances-MAX_NUM_FORMS": "30",
    }
    for index, (stance, target, label, intensity, note) in enumerate(rows):
        prefix = f"stances-{index}-"
        data.update(
            {
                prefix + "id": stance.pk if stance else "",
                prefix + "quote": quote.pk,
                prefix + "target": target,
                prefix + "label": label,
                prefix + "intensity": intensity,
                prefix + "note": note,
            }
        )
    return data


# --- An unchanged stance keeps its row; a changed one is updated in place -------------------


def test_the_page_leaves_an_unchanged_stance_alone_and_updates_a_changed_one_in_place(login, analyst, stanced):
    quote, kept, changed = stanced
    kept.confidence = 0.7
    kept.save()
    before = stance_history(kept)
    rows = [
        (kept, kept.target_id, kept.label_id, 2, "as it was"),
        (changed, changed.target_id, changed.label_id, 3, ""),
    ]
    response = login(analyst).post(reverse("annotations:quote-edit", args=[quote.pk]), page_data(quote, rows), **HX)
    assert response.status_code == 200, response.content.decode()[:2000]
    assert sorted(quote.stances.values_list("id", flat=True)) == sorted([kept.pk, changed.pk])
    assert stance_history(kept) == before
    assert stance_history(changed) == 2  # created, then changed once
    kept.refresh_from_db()
    assert kept.confidence == 0.7  # the page doesn't show confidence; keeping the row keeps it
    assert Stance.objects.get(pk=changed.pk).intensity == 3


def test_the_api_leaves_an_unchanged_stance_alone_updates_one_in_place_and_drops_one_not_sent(analyst, stanced, api):
    quote, kept, changed = stanced
    gone = StanceFactory(quote=quote, target=TargetFactory(slug="gone"))
    new_target = TargetFactory(slug="new")
    body = {
        "stances": [
            {"target": "kept", "label": kept.label.slug, "intensity": 2, "note": "as it was"},
            {"target": "changed", "label": changed.label.slug, "intensity": 3},
            {"target": "new", "label": "support"},
        ]
    }
    response = api(analyst).patch(f"/api/v1/quotes/{quote.pk}/", body, format="json", HTTP_IF_MATCH='"1"')
    assert response.status_code == 200, response.content
    stances = {stance.target_id: stance for stance in quote.stances.all()}
    assert set(stances) == {kept.target_id, changed.target_id, new_target.pk}
    assert (stances[kept.target_id].pk, stances[changed.target_id].pk) == (kept.pk, changed.pk)
    assert stance_history(kept) == 1 and stance_history(changed) == 2
    assert not Stance.objects.filter(pk=gone.pk).exists()


def test_an_api_patch_sending_the_same_stances_writes_no_stance_history(analyst, stanced, api):
    quote, kept, changed = stanced
    before = Stance.history.count()
    body = {
        "kind": "indirect",
        "stances": [
            {"target": "kept", "label": kept.label.slug, "intensity": 2, "note": "as it was"},
            {"target": "changed", "label": changed.label.slug, "intensity": 1},
        ],
    }
    response = api(analyst).patch(f"/api/v1/quotes/{quote.pk}/", body, format="json", HTTP_IF_MATCH='"1"')
    assert response.status_code == 200, response.content
    assert Stance.history.count() == before
    assert sorted(quote.stances.values_list("id", flat=True)) == sorted([kept.pk, changed.pk])


def test_curation_leaves_an_unchanged_stance_alone(login, reviewer, analyst):
    article = ArticleFactory()
    AssignmentFactory(article=article, annotator=analyst, status=Assignment.Status.SUBMITTED)
    raw = QuoteFactory(article=article, annotator=analyst)
    StanceFactory(quote=raw, target=TargetFactory(slug="kept"), intensity=3, note="firm")
    curated = raw.copy_as_curated(curator=reviewer)
    stance = curated.stances.get()
    before = stance_history(stance)
    client = login(reviewer)
    form = client.get(reverse("annotations:review-edit-quote", args=[curated.pk])).context["form"]
    data = {name: form[name].value() for name in form.fields if form[name].value() is not None}
    data["kind"] = "mixed"
    response = client.post(reverse("annotations:review-edit-quote", args=[curated.pk]), data)
    assert response.status_code == 302
    assert Quote.objects.get(pk=curated.pk).kind == "mixed"
    assert list(curated.stances.values_list("id", "intensity", "note")) == [(stance.pk, 3, "firm")]
    assert stance_history(stance) == before


def test_the_model_operation_replaces_stances_exactly(analyst, stanced):
    quote, kept, changed = stanced
    other = TargetFactory()
    label = StanceLabelFactory(slug="oppose")
    quote.annotate(
        by=analyst,
        expected_version=quote.version,
        stances={kept.target_id: StanceValues.of(kept), other.pk: StanceValues(label.pk, 2, 0.5, "new")},
    )
    stances = {stance.target_id: stance for stance in quote.stances.all()}
    assert set(stances) == {kept.target_id, other.pk}
    assert stances[kept.target_id].pk == kept.pk
    assert (stances[other.pk].label_id, stances[other.pk].confidence, stances[other.pk].note) == (label.pk, 0.5, "new")
    assert not Stance.objects.filter(pk=changed.pk).exists()
    assert quote.version == 2


def test_the_model_operation_refuses_a_stale_version_and_a_submitted_article(analyst, stanced):
    quote, _, _ = stanced
    with pytest.raises(VersionConflict):
        quote.annotate(by=analyst, expected_version=quote.version + 1)
    Assignment.objects.filter(annotator=analyst).update(status=Assignment.Status.SUBMITTED)
    with pytest.raises(PermissionDenied, match="submitted this article meanwhile"):
        quote.annotate(by=analyst, expected_version=quote.version)
    with pytest.raises(PermissionDenied):
        quote.remove(by=analyst, expected_version=quote.version)
    assert Quote.objects.filter(pk=quote.pk, version=1).exists()


# --- Every door starts the assignment the same way -------------------------------------------


def test_a_quote_made_through_the_api_starts_the_analysts_assignment_as_the_page_does(analyst, api):
    assignment = AssignmentFactory(annotator=analyst, article=ArticleFactory(pool=False))
    body = {"article": assignment.article.pk, "start": 1, "end": 5, "text": assignment.article.text[1:5]}
    assert api(analyst).post("/api/v1/quotes/", body, format="json").status_code == 201
    assignment.refresh_from_db()
    assert assignment.status == Assignment.Status.IN_PROGRESS


# --- The same span twice ----------------------------------------------------------------------


def test_the_page_refuses_the_same_span_twice_pointing_at_the_quote_that_has_it(login, analyst, assigned_article):
    first = QuoteFactory(article=assigned_article, annotator=analyst, speaker=None)
    data = page_data(first, [])
    del data["version"]
    response = login(analyst).post(reverse("annotations:quote-new", args=[assigned_article.pk]), data, **HX)
    assert response.status_code == 422
    assert f"You already have this quote: quote {first.pk} marks 1–51" in response.content.decode()
    assert Quote.objects.count() == 1


def test_the_same_span_with_another_kind_or_by_another_analyst_is_a_different_quote(
    login, analyst, second_analyst, assigned_article
):
    first = QuoteFactory(article=assigned_article, annotator=analyst, speaker=None)
    data = page_data(first, [])
    del data["version"]
    data["kind"] = "indirect"
    assert login(analyst).post(reverse("annotations:quote-new", args=[assigned_article.pk]), data).status_code == 302
    theirs = Quote(article=assigned_article, start=1, end=51, text=first.text, annotator=second_analyst)
    theirs.annotate(by=second_analyst)
    assert Quote.objects.count() == 3


def test_the_api_refuses_the_same_span_twice_with_400(analyst, api, assigned_article):
    first = QuoteFactory(article=assigned_article, annotator=analyst, speaker=None)
    body = {"article": assigned_article.pk, "start": 1, "end": 51, "text": first.text}
    response = api(analyst).post("/api/v1/quotes/", body, format="json")
    assert response.status_code == 400
    assert f"quote {first.pk}" in response.json()["non_field_errors"][0]
    assert Quote.objects.count() == 1


def test_an_edit_onto_another_quotes_span_is_refused(analyst, api, assigned_article):
    first = QuoteFactory(article=assigned_article, annotator=analyst, speaker=None, start=1, end=51)
    second = QuoteFactory(article=assigned_article, annotator=analyst, speaker=None, start=1, end=40)
    body = {"end": 51, "text": first.text}
    response = api(analyst).patch(f"/api/v1/quotes/{second.pk}/", body, format="json", HTTP_IF_MATCH='"1"')
    assert response.status_code == 400
    assert f"quote {first.pk}" in json.dumps(response.json())
    assert Quote.objects.get(pk=second.pk).end == 40


def test_a_missed_quote_the_curated_version_has_already_is_refused(login, reviewer):
    article = ArticleFactory()
    client = login(reviewer)
    post = {"exact": "The spokesman added", "occurrence": 1, "kind": "indirect", "speaker": ""}
    url = reverse("annotations:review-add-quote", args=[article.pk])
    assert client.post(url, post).status_code == 302
    response = client.post(url, post)
    assert response.status_code == 422
    assert f"quote {Quote.objects.get().pk}" in response.content.decode()


def test_the_model_refuses_the_same_span_twice_with_a_code(analyst, assigned_article):
    first = QuoteFactory(article=assigned_article, annotator=analyst)
    again = Quote(article=assigned_article, start=1, end=51, text=first.text, speaker=first.speaker, annotator=analyst)
    with pytest.raises(ValidationError) as refused:
        again.annotate(by=analyst)
    assert refused.value.code == "duplicate_span"
    assert refused.value.params == {"quote": first.pk}


def test_a_span_import_never_writes_the_same_span_twice(analyst, assigned_article):
    first = QuoteFactory(article=assigned_article, annotator=analyst, speaker=None)
    line = json.dumps({"text": assigned_article.text, "label": [[1, 51, "DIRECT"]]})
    report = import_spans(line, "doccano", user=analyst)
    assert report.ok and report.quotes_created == 0
    assert f"quote {first.pk}" in report.skipped[0].message


# --- Curated copies keep their nesting ---------------------------------------------------------


def test_a_curated_copy_is_nested_in_the_curated_copy_of_its_parent(reviewer, analyst):
    article = ArticleFactory()
    outer = QuoteFactory(article=article, annotator=analyst, start=1, end=51)
    inner = QuoteFactory(article=article, annotator=analyst, start=10, end=20, parent=outer)
    alone = inner.copy_as_curated(curator=reviewer)
    assert alone.parent is None  # the parent has no curated copy yet: never nested in a raw quote
    alone.delete()
    outer_copy = outer.copy_as_curated(curator=reviewer)
    inner_copy = inner.copy_as_curated(curator=reviewer)
    assert inner_copy.parent == outer_copy
