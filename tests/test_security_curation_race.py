"""A reviewer's curation racing an edit leaves one consistent outcome, and the history tells it.

Where curation can race an edit:

- an analyst can't edit a submitted article, so the analyst's edit races an
  accept only after a send-back: a reviewer accepts the analyst's quote while
  another sends the article back and the analyst edits the quote at once;
- the analyst's edit check (not yet submitted?) and the write are separate
  steps: the analyst submits in another tab and a reviewer accepts at once;
- two reviewers accept a version of the same row at once;
- a reviewer edits a curated quote while another replaces it with an
  annotator's version ("Use this version instead"), or drops it.

Each race runs ROUNDS times on fresh rows, every action over HTTP as the
browser sends it. Whatever the interleaving: no request fails, a row ends with
one curated quote, a curated quote is a whole version of what was accepted
(never parts of two), no edit is lost without its author being told, and every
quote's history agrees with its row.

Real threads on real PostgreSQL, each with its own connection; SQLite
serialises every write with one database lock, so there is no race to lose
there and these tests are skipped. CI runs the suite on PostgreSQL.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import pytest
from django.db import connection, connections
from django.test import Client
from django.urls import reverse

from annotations import forms
from annotations.models import Assignment, Quote, Stance
from annotations.views import review

from .factories import (
    ArticleFactory,
    AssignmentFactory,
    QuoteFactory,
    SpeakerFactory,
    StanceFactory,
    StanceLabelFactory,
    TargetFactory,
    UserFactory,
)

ROUNDS = 10
HX = {"HTTP_HX_REQUEST": "true"}
PAUSE = 0.3  # seconds

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="needs concurrent writers: SQLite serialises all writes (CI runs this on PostgreSQL)",
    ),
]


# --- Racing ---------------------------------------------------------------------------------


def race(*actions: Callable[[], str]) -> list[str]:
    """Run the actions in threads released together; what each returned, in order."""
    barrier = threading.Barrier(len(actions))
    outcomes: list[str] = [""] * len(actions)

    def run(index: int) -> None:
        try:
            barrier.wait(timeout=30)
            outcomes[index] = actions[index]()
        except Exception as error:  # a thread's surprise is the test's failure, not a silent death
            outcomes[index] = f"error: {type(error).__name__}: {error}"
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(index,)) for index in range(len(actions))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "an action never finished"
    return outcomes


# Set in the thread whose request should pause; the others run at full speed.
slow = threading.local()


@pytest.fixture
def pause_after(monkeypatch):
    """Make a step of a request take a moment in the threads that ask for it: a busy
    worker, a GC pause or a slow query, put where a race window opens, so that each
    round hits the window instead of one round in twenty."""

    def install(owner: Any, name: str) -> None:
        original = getattr(owner, name)

        def paused(*args: Any, **kwargs: Any) -> Any:
            result = original(*args, **kwargs)
            if getattr(slow, "pause", False):
                time.sleep(PAUSE)
            return result

        monkeypatch.setattr(owner, name, paused)

    return install


def slowly(action: Callable[[], str]) -> Callable[[], str]:
    def run() -> str:
        slow.pause = True
        return action()

    return run


def logged_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


# --- The scene: an article two analysts submitted, one row, both with a stance ---------------------


@pytest.fixture
def people() -> SimpleNamespace:
    return SimpleNamespace(
        analyst=UserFactory(username="analyst", role="analyst"),
        analyst2=UserFactory(username="analyst2", role="analyst"),
        reviewer=UserFactory(username="reviewer", role="reviewer"),
        reviewer2=UserFactory(username="reviewer2", role="reviewer"),
    )


def scene(people: SimpleNamespace, *, first_status: str = Assignment.Status.SUBMITTED) -> SimpleNamespace:
    """One row: the analyst's quote and the second analyst's, on the same span, each with a stance."""
    article = ArticleFactory()
    support = StanceLabelFactory(slug="support")
    oppose = StanceLabelFactory(slug="oppose", name="Oppose")
    target, second_target = TargetFactory(), TargetFactory()
    speaker = SpeakerFactory()
    quotes, assignments = [], []
    for user, status in ((people.analyst, first_status), (people.analyst2, Assignment.Status.SUBMITTED)):
        assignments.append(AssignmentFactory(article=article, annotator=user, status=status))
        quote = QuoteFactory(article=article, annotator=user, speaker=speaker, start=1, end=51, cue="said")
        StanceFactory(quote=quote, target=target, label=support, note="first reading")
        quotes.append(quote)
    return SimpleNamespace(
        article=article,
        quote=quotes[0],
        other=quotes[1],
        assignment=assignments[0],
        support=support,
        oppose=oppose,
        target=target,
        second_target=second_target,
        speaker=speaker,
    )


def analyst_edit(client: Client, s: SimpleNamespace, cue: str) -> str:
    """The analyst saves the quote panel: a new cue, and the stance relabelled."""
    quote = s.quote
    stance = quote.stances.get()
    data = {
        "start": quote.start,
        "end": quote.end,
        "text": quote.text,
        "kind": "direct",
        "speaker": s.speaker.pk,
        "cue": cue,
        "version": "1",
        "stances-TOTAL_FORMS": "1",
        "stances-INITIAL_FORMS": "1",
        "stances-MIN_NUM_FORMS": "0",
        "stances-MAX_NUM_FORMS": "30",
        "stances-0-id": stance.pk,
        "stances-0-quote": quote.pk,
        "stances-0-target": s.target.pk,
        "stances-0-label": s.oppose.pk,
        "stances-0-intensity": "",
        "stances-0-note": "second reading",
    }
    response = client.post(reverse("annotations:quote-edit", args=[quote.pk]), data, **HX)
    return f"edit {response.status_code}"


def accept(client: Client, s: SimpleNamespace, quote: Quote) -> str:
    response = client.post(reverse("annotations:review-accept", args=[s.article.pk]), {"quote": quote.pk}, **HX)
    return f"accept {response.status_code}"


def curator_edit(client: Client, curated: Quote, s: SimpleNamespace, cue: str) -> str:
    """A reviewer saves the curated quote: a new cue, and a stance on a second target."""
    data = {
        "start": curated.start,
        "end": curated.end,
        "speaker": s.speaker.pk,
        "kind": "direct",
        "cue": cue,
        "version": "1",
        f"stance_{s.target.pk}": s.support.pk,
        f"stance_{s.second_target.pk}": s.oppose.pk,
    }
    response = client.post(reverse("annotations:review-edit-quote", args=[curated.pk]), data, **HX)
    return f"edit {response.status_code}"


# --- What must hold after every race ----------------------------------------------------------------

TRACKED = ["article_id", "start", "end", "text", "kind", "speaker_id", "cue", "is_curated", "annotator_id", "version"]


def state(record: Any) -> dict[str, Any]:
    return {name: getattr(record, name) for name in TRACKED}


def assert_history_tells_the_rows_story(article_id: int) -> None:
    """For every quote the article ever had: versions strictly increase, the last record is
    the row (or, for a deleted quote, one deletion record repeating the state it removed),
    and the stances' history ends where the stances are."""
    ids = set(Quote.history.filter(article_id=article_id).values_list("id", flat=True))
    assert ids
    for pk in ids:
        records = list(Quote.history.filter(id=pk).order_by("history_date", "history_id"))
        kinds = [record.history_type for record in records]
        assert kinds[0] == "+", (pk, kinds)
        assert "+" not in kinds[1:], (pk, kinds)
        # A record that repeats the state before it records a change of curated_from
        # (history keeps the provenance links too), not a second save of that version.
        saved, previous = [], None
        for record in records:
            if record.history_type != "-" and (previous is None or state(record) != state(previous)):
                saved.append(record.version)
            previous = record
        assert saved == sorted(set(saved)), f"quote {pk}: versions {saved} do not strictly increase"
        row = Quote.objects.filter(pk=pk).first()
        if row is None:
            assert kinds.count("-") == 1 and kinds[-1] == "-", (pk, kinds)
            assert state(records[-1]) == state(records[-2]), (
                f"quote {pk}: its deletion record says {state(records[-1])}, "
                f"but the quote it deleted was {state(records[-2])}"
            )
        else:
            assert "-" not in kinds, (pk, kinds)
            assert state(records[-1]) == state(row), f"quote {pk}: history {state(records[-1])}, row {state(row)}"
        last_stance: dict[int, Any] = {}
        for record in Stance.history.filter(quote_id=pk).order_by("history_date", "history_id"):
            last_stance[record.id] = record
        in_history = {
            (record.target_id, record.label_id, record.note)
            for record in last_stance.values()
            if record.history_type != "-"
        }
        stored = set(Stance.objects.filter(quote_id=pk).values_list("target_id", "label_id", "note"))
        assert in_history == stored, f"quote {pk}: stance history {in_history}, stances {stored}"


def content(quote: Quote | Any) -> tuple:
    """What a curated copy takes over from the version it was made from."""
    return (quote.start, quote.end, quote.text, quote.kind, quote.speaker_id, quote.cue)


def stances_of(quote_id: int) -> set[tuple[int, int, str]]:
    return set(Stance.objects.filter(quote_id=quote_id).values_list("target_id", "label_id", "note"))


def versions_with_stances(quote: Quote) -> list[tuple[tuple, set]]:
    """Every saved version of ``quote``: its content and its stances as they stood then."""
    versions = []
    stance_records = list(Stance.history.filter(quote_id=quote.pk).order_by("history_date", "history_id"))
    for record in Quote.history.filter(id=quote.pk).exclude(history_type="-").order_by("history_date", "history_id"):
        # The stances of a version are those saved with it: stance records up to the next version's.
        later = Quote.history.filter(id=quote.pk, version__gt=record.version).order_by("history_date").first()
        until = later.history_date if later else None
        current: dict[int, Any] = {}
        for stance in stance_records:
            if until is not None and stance.history_date >= until:
                break
            current[stance.id] = stance
        stances = {(s.target_id, s.label_id, s.note) for s in current.values() if s.history_type != "-"}
        versions.append((content(record), stances))
    return versions


def curated_in_row(s: SimpleNamespace) -> list[Quote]:
    return list(Quote.objects.curated().filter(article=s.article))


# --- The races ----------------------------------------------------------------------------------------


def test_an_accept_racing_a_send_back_and_the_analysts_edit_copies_one_whole_version(people, pause_after):
    """Send-back + edit vs accept: the accept copies the quote as it read it (or finds it sent
    back and refuses); the analyst's edit always lands; never a copy made of both versions.

    The accept pauses between reading the curation and copying: the window in which the
    send-back and the edit can land.
    """
    pause_after(review, "load_curation")
    tally: Counter = Counter()
    for _ in range(ROUNDS):
        s = scene(people)
        curating, sending, editing = logged_in(people.reviewer), logged_in(people.reviewer2), logged_in(people.analyst)

        def send_back_then_edit(s: SimpleNamespace = s, sending: Client = sending, editing: Client = editing) -> str:
            response = sending.post(
                reverse("annotations:review-send-back", args=[s.article.pk]),
                {"assignment": s.assignment.pk, "comment": "Check the cue."},
                **HX,
            )
            return f"send-back {response.status_code}, {analyst_edit(editing, s, 'edited')}"

        accepted, edited = race(slowly(lambda s=s, c=curating: accept(c, s, s.quote)), send_back_then_edit)
        tally[(accepted, edited)] += 1
        assert edited == "send-back 200, edit 200", edited
        assert accepted in {"accept 200", "accept 422"}, accepted
        s.quote.refresh_from_db()
        assert (s.quote.version, s.quote.cue) == (2, "edited"), "the analyst's edit was lost"
        copies = curated_in_row(s)
        assert len(copies) == (1 if accepted == "accept 200" else 0), copies
        for copy in copies:
            made = (content(copy), stances_of(copy.pk))
            assert made in versions_with_stances(s.quote), f"the curated copy {made} is no version of the quote"
        assert_history_tells_the_rows_story(s.article.pk)
    print(f"\nsend-back + edit vs accept: {dict(tally)}")


def test_an_accept_racing_the_analysts_last_edit_and_submission_copies_what_was_submitted(people, pause_after):
    """An analyst saves a quote in one tab and submits the article in another while a reviewer
    accepts right after the submission: the edit lands before the submission (and the copy has
    it) or is refused; the work a reviewer curates never changes after it was submitted.

    The save pauses between its "not submitted yet?" check and its write (after validating
    the form): without the pause the window is hit about one round in twenty.
    """
    pause_after(forms.QuoteForm, "is_valid")
    tally: Counter = Counter()
    for _ in range(ROUNDS):
        s = scene(people, first_status=Assignment.Status.IN_PROGRESS)
        editing, submitting, curating = logged_in(people.analyst), logged_in(people.analyst), logged_in(people.reviewer)

        def submit_then_accept(s: SimpleNamespace = s, submitting: Client = submitting, curating: Client = curating):
            response = submitting.post(reverse("annotations:article-submit", args=[s.article.pk]), **HX)
            return f"submit {response.status_code}, {accept(curating, s, s.quote)}"

        edited, submitted = race(slowly(lambda s=s, c=editing: analyst_edit(c, s, "edited")), submit_then_accept)
        tally[(edited, submitted)] += 1
        assert edited in {"edit 200", "edit 404", "edit 409", "edit 422"}, edited
        assert submitted in {"submit 200, accept 200", "submit 200, accept 422"}, submitted
        s.quote.refresh_from_db()
        s.assignment.refresh_from_db()
        assert s.assignment.status == Assignment.Status.SUBMITTED
        assert s.quote.version == (2 if edited == "edit 200" else 1)
        for copy in curated_in_row(s):
            assert (content(copy), stances_of(copy.pk)) == (content(s.quote), stances_of(s.quote.pk)), (
                f"the reviewer curated version {copy.cue!r} of a quote whose submitted version is "
                f"{s.quote.cue!r}: the analyst's edit landed after the submission"
            )
        assert_history_tells_the_rows_story(s.article.pk)
    print(f"\nedit vs submit + accept: {dict(tally)}")


@pytest.mark.parametrize("choices", ["the same version", "different versions"])
def test_two_reviewers_accepting_one_row_at_once_leave_one_curated_quote(people, choices):
    tally: Counter = Counter()
    for _ in range(ROUNDS):
        s = scene(people)
        first, second = logged_in(people.reviewer), logged_in(people.reviewer2)
        other = s.quote if choices == "the same version" else s.other
        outcomes = race(lambda s=s, c=first: accept(c, s, s.quote), lambda s=s, c=second, o=other: accept(c, s, o))
        tally[tuple(sorted(outcomes))] += 1
        assert set(outcomes) <= {"accept 200", "accept 409", "accept 422"}, outcomes
        assert "accept 200" in outcomes, outcomes
        copies = curated_in_row(s)
        assert len(copies) == 1, f"{len(copies)} curated quotes for one row after {outcomes}"
        sources = {s.quote.pk: s.quote, s.other.pk: s.other}
        assert content(copies[0]) in {content(quote) for quote in sources.values()}
        assert_history_tells_the_rows_story(s.article.pk)
    print(f"\naccept vs accept ({choices}): {dict(tally)}")


def test_replacing_a_curated_quote_while_another_reviewer_edits_it_loses_nothing_silently(people):
    """Edit vs "Use this version instead": the edit lands and is then replaced, with the history
    saying so; or the replacement comes first and the editor is told it was dropped (409); or
    the replacement is refused because the quote changed. Never a 500, never a stale history."""
    tally: Counter = Counter()
    for _ in range(ROUNDS):
        s = scene(people)
        curated = s.quote.copy_as_curated(curator=people.reviewer, sources=[s.quote, s.other])
        editing, replacing = logged_in(people.reviewer), logged_in(people.reviewer2)
        edited, replaced = race(
            lambda s=s, c=editing, q=curated: curator_edit(c, q, s, "edited"),
            lambda s=s, c=replacing: accept(c, s, s.other),
        )
        tally[(edited, replaced)] += 1
        assert edited in {"edit 200", "edit 404", "edit 409"}, edited
        assert replaced in {"accept 200", "accept 409", "accept 422"}, replaced
        assert edited == "edit 200" or replaced == "accept 200", f"{(edited, replaced)}: neither won"
        copies = curated_in_row(s)
        assert len(copies) == 1, f"{len(copies)} curated quotes for one row after {(edited, replaced)}"
        if replaced == "accept 200":
            assert not Quote.objects.filter(pk=curated.pk).exists()
            assert content(copies[0]) == content(s.other)
        else:
            assert copies[0].pk == curated.pk and copies[0].cue == "edited"
        if edited == "edit 200":
            assert Quote.history.filter(id=curated.pk, history_type="~", cue="edited").exists()
        assert_history_tells_the_rows_story(s.article.pk)
    print(f"\ncurator edit vs replace: {dict(tally)}")


def test_dropping_a_curated_quote_while_another_reviewer_edits_it_gives_one_winner(people):
    tally: Counter = Counter()
    for _ in range(ROUNDS):
        s = scene(people)
        curated = s.quote.copy_as_curated(curator=people.reviewer, sources=[s.quote, s.other])
        editing, dropping = logged_in(people.reviewer), logged_in(people.reviewer2)

        def drop(c: Client = dropping, q: Quote = curated) -> str:
            response = c.post(reverse("annotations:review-drop-quote", args=[q.pk]), {"version": "1"}, **HX)
            return f"drop {response.status_code}"

        edited, dropped = race(lambda s=s, c=editing, q=curated: curator_edit(c, q, s, "edited"), drop)
        tally[(edited, dropped)] += 1
        # An edit that starts after the drop finds no quote (404); one already under way is told (409).
        winners = {("edit 200", "drop 409"), ("edit 409", "drop 200"), ("edit 404", "drop 200")}
        assert (edited, dropped) in winners, (edited, dropped)
        assert Quote.objects.filter(pk=curated.pk).exists() is (edited == "edit 200")
        assert_history_tells_the_rows_story(s.article.pk)
    print(f"\ncurator edit vs drop: {dict(tally)}")
