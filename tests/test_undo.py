"""Undo: my last delete or edit of a quote, for a minute, from history, as a new version.

Refused, with the reason, when the quote changed since, the minute is over, the
article was submitted, or the change is not mine.
"""

from __future__ import annotations

import datetime

import pytest
from django.urls import reverse

from annotations.models import Assignment, Quote, UndoRefused

from .factories import QuoteFactory, StanceFactory, StanceLabelFactory, TargetFactory
from .test_workspace import HX, quote_post, with_stance

pytestmark = pytest.mark.django_db


def stances_of(quote_id: int) -> set[tuple[int, int, int | None]]:
    return set(Quote.objects.get(pk=quote_id).stances.values_list("target_id", "label_id", "intensity"))


@pytest.fixture
def quote(analyst, assigned_article):
    quote = QuoteFactory(article=assigned_article, annotator=analyst, start=1, end=51, kind="direct")
    quote.text = assigned_article.text[1:51]
    quote.save()
    StanceFactory(quote=quote, intensity=3)
    StanceFactory(quote=quote, intensity=None)
    return quote


def delete(client, quote):
    response = client.post(reverse("annotations:quote-delete", args=[quote.pk]), {"version": quote.version}, **HX)
    assert response.status_code == 200
    return response


def undo(client, quote_id: int, change: int, **extra):
    return client.post(reverse("annotations:quote-undo", args=[quote_id]), {"change": change}, **extra)


def test_a_deleted_quote_comes_back_with_its_stances_as_a_new_version(login, analyst, quote):
    client = login(analyst)
    before = stances_of(quote.pk)
    fields = Quote.objects.filter(pk=quote.pk).values("start", "end", "text", "kind", "speaker", "annotator").get()
    response = delete(client, quote)
    change = response.context["undo"]["change"]
    assert change == Quote.history.filter(id=quote.pk).latest("history_id").history_id  # the deletion's record
    body = response.content.decode()
    assert 'class="undo"' in body and f'value="{change}"' in body
    assert not Quote.objects.filter(pk=quote.pk).exists()

    response = undo(client, quote.pk, change, **HX)
    assert response.status_code == 200
    assert "is back as it was" in response.content.decode()
    restored = Quote.objects.get(pk=quote.pk)
    assert Quote.objects.filter(pk=quote.pk).values(*fields).get() == fields
    assert restored.version > quote.version
    assert stances_of(quote.pk) == before
    assert restored.history.first().history_type == "+"


def test_an_edit_is_undone_back_to_the_previous_version(login, analyst, quote, assigned_article):
    client = login(analyst)
    before = stances_of(quote.pk)
    target, label = TargetFactory(), StanceLabelFactory(slug="neutral")
    data = with_stance(quote_post(assigned_article, 2, 40, kind="indirect", version=quote.version), 0, target, label)
    response = client.post(reverse("annotations:quote-edit", args=[quote.pk]), data, **HX)
    assert response.status_code == 200
    edited = Quote.objects.get(pk=quote.pk)
    assert (edited.start, edited.kind, edited.version) == (2, "indirect", 2)
    assert (target.pk, label.pk, None) in stances_of(quote.pk)
    assert response.context["undo"]["change"] == edited.history.latest("history_id").history_id  # the edit's record

    response = undo(client, quote.pk, response.context["undo"]["change"], **HX)
    assert response.status_code == 200
    restored = Quote.objects.get(pk=quote.pk)
    assert (restored.start, restored.end, restored.kind, restored.version) == (1, 51, "direct", 3)
    assert stances_of(quote.pk) == before


def test_undo_is_refused_when_the_quote_changed_since(login, analyst, reviewer, quote, assigned_article):
    client = login(analyst)
    data = quote_post(assigned_article, 1, 51, kind="indirect", version=quote.version)
    change = client.post(reverse("annotations:quote-edit", args=[quote.pk]), data, **HX).context["undo"]["change"]
    login(reviewer).post(
        reverse("annotations:quote-edit", args=[quote.pk]), quote_post(assigned_article, 1, 51, kind="mixed", version=2)
    )
    response = undo(client, quote.pk, change, **HX)
    assert response.status_code == 409
    assert "changed since" in response.content.decode()
    assert Quote.objects.get(pk=quote.pk).kind == "mixed"


def test_undo_is_refused_after_a_minute(login, analyst, quote):
    client = login(analyst)
    change = delete(client, quote).context["undo"]["change"]
    Quote.history.filter(history_id=change).update(
        history_date=Quote.history.get(history_id=change).history_date - datetime.timedelta(seconds=61)
    )
    response = undo(client, quote.pk, change, **HX)
    assert response.status_code == 409
    assert "More than a minute has passed" in response.content.decode()
    assert not Quote.objects.filter(pk=quote.pk).exists()


def test_undo_is_refused_once_the_assignment_was_submitted(login, analyst, quote, assigned_article):
    client = login(analyst)
    change = delete(client, quote).context["undo"]["change"]
    Assignment.objects.get(article=assigned_article, annotator=analyst).move_to(Assignment.Status.SUBMITTED)
    response = undo(client, quote.pk, change, **HX)
    assert response.status_code == 409
    assert "submitted" in response.content.decode()
    assert not Quote.objects.filter(pk=quote.pk).exists()


def test_another_persons_change_is_not_mine_to_undo(login, analyst, reviewer, quote):
    change = delete(login(analyst), quote).context["undo"]["change"]
    response = undo(login(reviewer), quote.pk, change, **HX)
    assert response.status_code == 409
    assert "no change of yours" in response.content.decode()
    assert not Quote.objects.filter(pk=quote.pk).exists()


def test_a_creation_is_not_undone(analyst, quote):
    with pytest.raises(UndoRefused, match="Only a delete or an edit"):
        record = quote.history.last()  # the oldest: its creation
        record.history_user = analyst
        record.save()
        Quote.undo_change(record.history_id, by=analyst)


def test_an_unknown_change_is_404(login, analyst, quote):
    assert undo(login(analyst), quote.pk, 999_999).status_code == 404


def test_undo_without_javascript_redirects_back_with_the_message(login, analyst, quote, assigned_article):
    client = login(analyst)
    change = delete(client, quote).context["undo"]["change"]
    response = undo(client, quote.pk, change)
    assert response.status_code == 302
    assert Quote.objects.filter(pk=quote.pk).exists()
    # A second undo of the same change: the restore is the quote's last change now.
    response = undo(client, quote.pk, change, follow=True)
    assert "changed since" in response.content.decode()
