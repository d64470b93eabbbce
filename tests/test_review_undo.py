"""Undo on the curation page: a reviewer's last edit or drop of a curated quote, for a
minute, from history, as a new version — the annotate page's undo (``Quote.undo_change``)
on the curated layer.

Refused, with the reason, when the quote changed since, the minute is over or the
change is not the reviewer's own; only reviewers reach it, and a change that is not
a curated quote's is 404.
"""

# The curation tests' fixtures are imported to be used: pytest passes them by name.
# ruff: noqa: F401, F811
from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from annotations.curation import load_curation
from annotations.models import Article, Quote, UndoRefused

from .factories import SpeakerFactory, StanceFactory, TargetFactory, UserFactory
from .test_review_curation import HTMX, curated, form_data, span, two

pytestmark = pytest.mark.django_db

# Everything an edit or an undo may change on a curated quote, as the database holds it.
FIELDS = ("start", "end", "text", "kind", "speaker", "speaker_role", "cue", "mention_text", "cue_text", "is_curated")


def saved(quote_id: int) -> dict[str, Any]:
    return Quote.objects.filter(pk=quote_id).values(*FIELDS).get()


def stances_of(quote_id: int) -> set[tuple[int, int, int | None]]:
    return set(Quote.objects.get(pk=quote_id).stances.values_list("target_id", "label_id", "intensity"))


def sources_of(quote_id: int) -> set[int]:
    return set(Quote.objects.get(pk=quote_id).curated_from.values_list("pk", flat=True))


@pytest.fixture
def rich(curated):
    """The curated quote with a second stance, so an undo has more than one to bring back."""
    StanceFactory(quote=curated, target=TargetFactory(name="Return to the JCPOA"), intensity=None)
    return Quote.objects.get(pk=curated.pk)


def edit(client: Client, quote: Quote, two: Any) -> Any:
    """The reviewer's edit: another span, another speaker, another kind, another label, one stance cleared."""
    cleared = quote.stances.exclude(target=two.target).get().target
    data = form_data(
        client,
        quote,
        **span(two.article, "We will not allow Iran"),
        speaker=SpeakerFactory(name="The spokesman's deputy").pk,
        kind="indirect",
        cue="added",
        **{f"stance_{two.target.pk}": two.support.pk, f"stance_{cleared.pk}": ""},
    )
    response = client.post(reverse("annotations:review-edit-quote", args=[quote.pk]), data, **HTMX)
    assert response.status_code == 200
    return response


def drop(client: Client, quote: Quote) -> Any:
    response = client.post(
        reverse("annotations:review-drop-quote", args=[quote.pk]), {"version": quote.version}, **HTMX
    )
    assert response.status_code == 200
    return response


def undo(client: Client, quote_id: int, change: int | None, **extra: Any) -> Any:
    return client.post(reverse("annotations:review-undo-quote", args=[quote_id]), {"change": change}, **extra)


# --- Undoing ---------------------------------------------------------------------------------


def test_an_edit_offers_undo_and_undo_saves_the_previous_version_as_a_new_one(login, reviewer, two, rich):
    client = login(reviewer)
    before, stances, sources = saved(rich.pk), stances_of(rich.pk), sources_of(rich.pk)
    response = edit(client, rich, two)
    change = response.context["undo"]["change"]
    assert change == Quote.history.filter(id=rich.pk).latest("history_id").history_id  # the edit's record
    body = response.content.decode()
    assert 'class="undo"' in body and f'value="{change}"' in body
    assert reverse("annotations:review-undo-quote", args=[rich.pk]) in body
    assert saved(rich.pk)["text"] == "We will not allow Iran"
    assert stances_of(rich.pk) == {(two.target.pk, two.support.pk, 3)}

    response = undo(client, rich.pk, change, **HTMX)
    assert response.status_code == 200
    assert response["HX-Retarget"] == "#curation"
    assert "is back as it was" in response.content.decode()
    assert 'class="undo"' not in response.content.decode()  # an undo is not itself undone
    assert saved(rich.pk) == before
    assert stances_of(rich.pk) == stances
    assert sources_of(rich.pk) == sources
    restored = Quote.objects.get(pk=rich.pk)
    assert restored.version == 3  # 1, the edit's 2, the undo's 3
    record = Quote.history.filter(id=rich.pk).latest("history_id")
    assert (record.history_type, record.history_user, record.version) == ("~", reviewer, 3)
    assert (record.start, record.end, record.kind) == (before["start"], before["end"], before["kind"])


def test_a_drop_is_undone_with_its_stances_and_the_quotes_it_was_made_from(login, reviewer, two, rich):
    client = login(reviewer)
    before, stances, sources = saved(rich.pk), stances_of(rich.pk), sources_of(rich.pk)
    assert len(sources) == 2
    response = drop(client, rich)
    change = response.context["undo"]["change"]
    assert change == Quote.history.get(id=rich.pk, history_type="-").history_id
    assert not Quote.objects.filter(pk=rich.pk).exists()

    response = undo(client, rich.pk, change, **HTMX)
    assert response.status_code == 200
    assert saved(rich.pk) == before
    assert stances_of(rich.pk) == stances
    assert sources_of(rich.pk) == sources
    restored = Quote.objects.get(pk=rich.pk)
    assert restored.version > rich.version
    assert restored.annotator == reviewer
    assert Quote.history.filter(id=rich.pk, history_user=reviewer).latest("history_id").history_id > change
    # Back in its row of the curation page, and no longer listed as dropped.
    curation = load_curation(two.article)
    assert [quote.pk for quote in curation.rows[0].curated] == [rich.pk]
    assert curation.dropped == []


def test_undo_without_javascript_goes_back_to_the_page_with_the_message(login, reviewer, two, rich):
    client = login(reviewer)
    change = drop(client, rich).context["undo"]["change"]
    response = undo(client, rich.pk, change)
    assert response.status_code == 302
    assert response["Location"] == two.article.review_url
    assert Quote.objects.filter(pk=rich.pk).exists()
    page = client.get(response["Location"]).content.decode()
    assert "is back as it was" in page


def test_undo_works_on_an_article_already_marked_curated_as_editing_does(login, reviewer, two, rich):
    Article.objects.filter(pk=two.article.pk).update(status=Article.Status.CURATED)
    client = login(reviewer)
    before = saved(rich.pk)
    change = edit(client, rich, two).context["undo"]["change"]
    assert undo(client, rich.pk, change, **HTMX).status_code == 200
    assert saved(rich.pk) == before


# --- Refusals ---------------------------------------------------------------------------------


def test_undo_is_refused_when_someone_changed_the_quote_since(login, reviewer, two, rich):
    client = login(reviewer)
    change = edit(client, rich, two).context["undo"]["change"]
    other = login(UserFactory(username="reviewer2", role="reviewer"))
    data = form_data(other, Quote.objects.get(pk=rich.pk), kind="mixed")
    assert other.post(reverse("annotations:review-edit-quote", args=[rich.pk]), data).status_code == 302
    theirs = saved(rich.pk)

    response = undo(client, rich.pk, change, **HTMX)
    assert response.status_code == 409
    assert "The quote has changed since" in response.content.decode()
    assert saved(rich.pk) == theirs
    assert Quote.objects.get(pk=rich.pk).version == 3  # theirs, not overwritten


def test_undo_is_refused_when_a_write_slipped_in_after_the_check(login, reviewer, two, rich):
    """The version is the last guard: a row bumped without a history record still refuses the undo."""
    client = login(reviewer)
    change = edit(client, rich, two).context["undo"]["change"]
    Quote.objects.filter(pk=rich.pk).update(version=9)
    response = undo(client, rich.pk, change, **HTMX)
    assert response.status_code == 409
    assert "changed since" in response.content.decode()
    assert saved(rich.pk)["text"] == "We will not allow Iran"


def test_undo_is_refused_after_a_minute(login, reviewer, rich):
    client = login(reviewer)
    change = drop(client, rich).context["undo"]["change"]
    record = Quote.history.get(history_id=change)
    Quote.history.filter(history_id=change).update(history_date=record.history_date - datetime.timedelta(seconds=61))
    response = undo(client, rich.pk, change, **HTMX)
    assert response.status_code == 409
    assert "More than a minute has passed" in response.content.decode()
    assert not Quote.objects.filter(pk=rich.pk).exists()


def test_a_change_is_undone_once(login, reviewer, two, rich):
    client = login(reviewer)
    change = edit(client, rich, two).context["undo"]["change"]
    assert undo(client, rich.pk, change, **HTMX).status_code == 200
    restored = saved(rich.pk)
    response = undo(client, rich.pk, change, **HTMX)
    assert response.status_code == 409
    assert "changed since" in response.content.decode()
    assert saved(rich.pk) == restored


def test_another_reviewers_change_is_not_theirs_to_undo(login, reviewer, rich):
    change = drop(login(reviewer), rich).context["undo"]["change"]
    response = undo(login(UserFactory(username="reviewer2", role="reviewer")), rich.pk, change, **HTMX)
    assert response.status_code == 409
    assert "no change of yours" in response.content.decode()
    assert not Quote.objects.filter(pk=rich.pk).exists()


@pytest.mark.parametrize(
    ("persona", "expected"),
    [("anonymous", 302), ("analyst", 403), ("researcher", 403), ("outsider", 403), ("reviewer", 200)],
)
def test_only_reviewers_undo_a_curated_quote(persona, expected, request, login, reviewer, two, rich):
    before = saved(rich.pk)
    change = edit(login(reviewer), rich, two).context["undo"]["change"]
    edited = saved(rich.pk)
    # Every persona posts the reviewer's own undo handle: only the reviewer's undo goes through.
    client = Client() if persona == "anonymous" else login(request.getfixturevalue(persona))
    response = undo(client, rich.pk, change, **HTMX)
    assert response.status_code == expected
    if persona == "anonymous":
        assert response["Location"].startswith(reverse("login"))
    assert saved(rich.pk) == (before if persona == "reviewer" else edited)


def test_the_model_refuses_a_curated_undo_to_anyone_but_a_reviewer(login, reviewer, analyst, two, rich):
    change = edit(login(reviewer), rich, two).context["undo"]["change"]
    Quote.history.filter(history_id=change).update(history_user=analyst)  # as if the analyst had made it
    with pytest.raises(UndoRefused, match="Only reviewers"):
        Quote.undo_change(change, by=analyst, layer=Quote.Layer.CURATED)
    assert saved(rich.pk)["text"] == "We will not allow Iran"


def test_each_layer_undoes_only_its_own_quotes(login, reviewer, two, rich):
    client = login(reviewer)
    change = edit(client, rich, two).context["undo"]["change"]
    # The annotate page's undo refuses a curated quote's change…
    response = client.post(reverse("annotations:quote-undo", args=[rich.pk]), {"change": change}, **HTMX)
    assert response.status_code == 409
    assert saved(rich.pk)["text"] == "We will not allow Iran"
    # …and the curation page's knows no raw quote's change: a stranger's object, 404.
    raw = two.quotes["analyst"][1]
    raw_change = Quote.last_change_id(raw.pk)
    assert undo(client, raw.pk, raw_change, **HTMX).status_code == 404
    with pytest.raises(UndoRefused, match="no change of yours"):
        Quote.undo_change(change, by=reviewer, layer=Quote.Layer.RAW)


@pytest.mark.parametrize("change", [999_999, "", "not a number"])
def test_an_unknown_change_is_404(change, login, reviewer, rich):
    assert undo(login(reviewer), rich.pk, change).status_code == 404


def test_a_change_of_another_quote_is_404(login, reviewer, two, rich):
    change = edit(login(reviewer), rich, two).context["undo"]["change"]
    other = two.quotes["analyst"][1].copy_as_curated(curator=reviewer)
    assert undo(login(reviewer), other.pk, change).status_code == 404


def test_undo_needs_the_csrf_token(login, reviewer, two, rich):
    change = edit(login(reviewer), rich, two).context["undo"]["change"]
    edited = saved(rich.pk)
    client = Client(enforce_csrf_checks=True)
    client.force_login(reviewer)
    response = client.post(reverse("annotations:review-undo-quote", args=[rich.pk]), {"change": change}, **HTMX)
    assert response.status_code == 403
    assert saved(rich.pk) == edited
