"""Integrity under concurrency: twenty editors save the same version of a quote
at the same moment; exactly one wins, nineteen are told of the conflict, and the
history records one change.

Real threads against real PostgreSQL, each with its own connection; SQLite
serialises every write with one database lock, so there is no race to lose
there and these tests are skipped. CI runs the suite on PostgreSQL.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable

import pytest
from django.db import connection, connections
from django.test import Client
from django.urls import reverse

from annotations.models import Quote, VersionConflict

from .factories import ArticleFactory, AssignmentFactory, QuoteFactory, UserFactory

EDITORS = 20

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="needs concurrent writers: SQLite serialises all writes (CI runs this on PostgreSQL)",
    ),
]


def race(work: Callable[[int], str], editors: int = EDITORS) -> Counter:
    """Run ``work(i)`` in ``editors`` threads released together; count what each returns."""
    barrier = threading.Barrier(editors)
    outcomes: list[str] = []
    lock = threading.Lock()

    def run(index: int) -> None:
        try:
            barrier.wait(timeout=30)
            outcome = work(index)
        except Exception as error:  # a thread's surprise is the test's failure, not a silent death
            outcome = f"error: {type(error).__name__}: {error}"
        finally:
            connections.close_all()
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=run, args=(index,)) for index in range(editors)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "an editor never finished"
    return Counter(outcomes)


@pytest.fixture
def contested():
    """A quote at version 1, committed so every thread's connection sees it."""
    analyst = UserFactory(username="analyst", role="analyst")
    article = AssignmentFactory(annotator=analyst, article=ArticleFactory(pool=False)).article
    quote = QuoteFactory(article=article, annotator=analyst, start=1, end=51)
    assert quote.version == 1
    return quote


def test_twenty_simultaneous_saves_of_one_version_give_one_success(contested):
    def save(index: int) -> str:
        mine = Quote.objects.get(pk=contested.pk)
        mine.cue = f"said {index}"
        try:
            mine.save_with_version(1)
        except VersionConflict as conflict:
            assert conflict.current is not None and conflict.current.version == 2
            return "conflict"
        return f"saved {index}"

    outcomes = race(save)
    winners = [outcome for outcome in outcomes if outcome.startswith("saved")]
    assert outcomes["conflict"] == EDITORS - 1, outcomes
    assert len(winners) == 1, outcomes
    stored = Quote.objects.get(pk=contested.pk)
    assert stored.version == 2
    assert stored.cue == "said " + winners[0].split()[-1]
    # The history has the creation and exactly one change.
    assert list(stored.history.order_by("history_date").values_list("history_type", "version")) == [
        ("+", 1),
        ("~", 2),
    ]


def test_twenty_simultaneous_saves_over_htmx_give_one_200_and_nineteen_409s(contested):
    url = reverse("annotations:quote-edit", args=[contested.pk])
    clients = []
    for _ in range(EDITORS):
        client = Client()
        client.force_login(contested.annotator)
        clients.append(client)
    base = {
        "start": contested.start,
        "end": contested.end,
        "text": contested.text,
        "kind": "direct",
        "version": "1",
        "stances-TOTAL_FORMS": "0",
        "stances-INITIAL_FORMS": "0",
        "stances-MIN_NUM_FORMS": "0",
        "stances-MAX_NUM_FORMS": "30",
    }

    def post(index: int) -> str:
        response = clients[index].post(url, {**base, "cue": f"said {index}"}, HTTP_HX_REQUEST="true")
        if response.status_code == 409:
            assert b"Someone else changed this quote" in response.content
        return str(response.status_code)

    outcomes = race(post)
    assert outcomes == Counter({"200": 1, "409": EDITORS - 1}), outcomes
    stored = Quote.objects.get(pk=contested.pk)
    assert stored.version == 2
    assert stored.history.filter(history_type="~").count() == 1


def test_two_reviewers_merging_the_same_duplicate_at_once_merge_it_once():
    """Both lock the two speakers (in id order) and read them again: the second finds
    the duplicate gone and is refused, so its quotes move once and one merge is recorded."""
    from django.core.exceptions import ValidationError

    from annotations.models import Speaker, SpeakerMerge

    from .factories import SpeakerFactory

    reviewer = UserFactory(username="reviewer", role="reviewer")
    kept, other_kept = SpeakerFactory(name="Ned Price"), SpeakerFactory(name="N. Price")
    duplicate = SpeakerFactory(name="Edward Price")
    moved = [QuoteFactory(speaker=duplicate).pk for _ in range(3)]

    def merge(index: int) -> str:
        into = Speaker.objects.get(pk=(kept if index % 2 else other_kept).pk)
        try:
            into.merge(Speaker(pk=duplicate.pk, name=duplicate.name), by=reviewer)
        except ValidationError:
            return "refused"
        return "merged"

    outcomes = race(merge, editors=6)
    assert outcomes == Counter({"merged": 1, "refused": 5}), outcomes
    record = SpeakerMerge.objects.get()
    assert set(Quote.objects.filter(pk__in=moved).values_list("speaker_id", flat=True)) == {record.kept_id}
    assert record.raw_quotes == 3
    assert not Speaker.objects.filter(pk=duplicate.pk).exists()
