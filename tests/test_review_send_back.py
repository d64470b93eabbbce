"""A reviewer's send-back note lives until the analyst submits again."""

from __future__ import annotations

import pytest

from annotations.models import Assignment

from .factories import AssignmentFactory

pytestmark = pytest.mark.django_db


def sent_back(note: str) -> Assignment:
    assignment = AssignmentFactory(status=Assignment.Status.SUBMITTED)
    assignment.move_to(Assignment.Status.IN_PROGRESS, comment=note)
    return assignment


def test_a_sent_back_assignment_shows_the_reviewers_note():
    assignment = sent_back("The second quote is Gallant's, not Blinken's.")
    assignment.refresh_from_db()
    assert assignment.comment == "The second quote is Gallant's, not Blinken's."


def test_submitting_again_clears_the_note_the_reviewer_sent_back():
    assignment = sent_back("The second quote is Gallant's, not Blinken's.")
    assignment.move_to(Assignment.Status.SUBMITTED)
    assignment.refresh_from_db()
    assert assignment.comment == ""


def test_the_cleared_note_stays_in_the_assignments_history():
    assignment = sent_back("The second quote is Gallant's, not Blinken's.")
    assignment.move_to(Assignment.Status.SUBMITTED)
    notes = list(assignment.history.order_by("history_date", "history_id").values_list("status", "comment"))
    assert ("in_progress", "The second quote is Gallant's, not Blinken's.") in notes
    assert notes[-1] == ("submitted", "")


def test_a_second_send_back_carries_the_new_note():
    assignment = sent_back("First note.")
    assignment.move_to(Assignment.Status.SUBMITTED)
    assignment.move_to(Assignment.Status.IN_PROGRESS, comment="Second note.")
    assignment.refresh_from_db()
    assert assignment.comment == "Second note."
