"""Analysts propose targets from the annotate page; reviewers accept or merge them."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from annotations.models import Stance, Target

from .conftest import client_for
from .factories import QuoteFactory, StanceFactory, TargetFactory

PROPOSE = reverse("annotations:target-propose")
PROPOSALS = reverse("annotations:target-proposals")


@pytest.fixture
def topic(db):
    return TargetFactory(name="Iran nuclear issue", slug="iran-nuclear")


def propose(user, **data):
    return client_for(user).post(PROPOSE, data, HTTP_HX_REQUEST="true")


def test_an_analyst_proposes_a_target_under_a_parent_and_can_use_it_at_once(analyst, topic):
    response = propose(analyst, name="  Snapback   of UN sanctions ", parent=topic.pk)
    assert response.status_code == 200
    target = Target.objects.get(name="Snapback of UN sanctions")
    assert (target.status, target.parent, target.proposed_by, target.slug) == (
        "proposed",
        topic,
        analyst,
        "snapback-of-un-sanctions",
    )
    body = response.content.decode()
    assert f'data-id="{target.pk}"' in body
    assert 'data-path="Iran nuclear issue › Snapback of UN sanctions (proposed)"' in body


def test_a_proposal_gets_a_slug_no_target_has(analyst, topic):
    TargetFactory(name="Sanctions", slug="sanctions")
    TargetFactory(name="Other", slug="sanctions-2")
    propose(analyst, name="Sanctions!", parent=topic.pk)
    assert Target.objects.get(status="proposed").slug == "sanctions-3"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"name": "", "parent": "PARENT"}, "Name the target."),
        ({"name": "New", "parent": ""}, "Choose where the new target goes"),
        ({"name": "New", "parent": "999999"}, "That parent is not in the taxonomy"),
        ({"name": "New", "parent": "abc"}, "That parent is not in the taxonomy"),
        ({"name": "!!!", "parent": "PARENT"}, "Use at least one letter or digit"),
        ({"name": "x" * 201, "parent": "PARENT"}, "at most 200 characters"),
    ],
)
def test_a_bad_proposal_is_refused_with_a_message_and_nothing_stored(analyst, topic, data, message):
    data = {key: str(topic.pk) if value == "PARENT" else value for key, value in data.items()}
    response = propose(analyst, **data)
    assert response.status_code == 422
    assert message in response.content.decode()
    assert not Target.objects.filter(status="proposed").exists()


def test_a_target_already_under_the_parent_is_not_proposed_twice(analyst, topic):
    TargetFactory(name="Snapback", slug="snapback", parent=topic)
    response = propose(analyst, name="snapback", parent=topic.pk)
    assert response.status_code == 422
    assert "is already under “Iran nuclear issue”: pick it in the target box." in response.content.decode()


def test_a_proposal_goes_under_an_accepted_target_only(analyst, topic):
    proposal = Target.propose(name="Proposed parent", parent=topic, by=analyst)
    response = propose(analyst, name="Child", parent=proposal.pk)
    assert response.status_code == 422
    assert "That parent is not in the taxonomy" in response.content.decode()


def test_the_proposal_page_escapes_what_an_analyst_typed(analyst, reviewer, topic):
    Target.propose(name="<script>alert(1)</script> talks", parent=topic, by=analyst)
    body = client_for(reviewer).get(PROPOSALS).content.decode()
    assert "<script>alert(1)</script>" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt; talks" in body


def test_without_javascript_the_proposal_form_is_a_page_that_goes_back(analyst, topic):
    client = client_for(analyst)
    page = client.get(PROPOSE + "?name=Snapback&next=/articles/1/annotate/")
    assert page.status_code == 200
    assert 'value="Snapback"' in page.content.decode()
    response = client.post(PROPOSE, {"name": "Snapback", "parent": topic.pk, "next": "/articles/1/annotate/"})
    assert response.status_code == 302
    assert response["Location"] == "/articles/1/annotate/"
    response = client.post(PROPOSE, {"name": "Other", "parent": topic.pk, "next": "https://evil.example/"})
    assert response["Location"] == reverse("annotations:home")


def test_the_annotate_pages_target_box_lists_a_proposal_as_proposed(analyst, assigned_article, topic):
    Target.propose(name="Snapback", parent=topic, by=analyst)
    new_quote = reverse("annotations:quote-new", args=[assigned_article.pk])
    body = client_for(analyst).get(new_quote, HTTP_HX_REQUEST="true").content.decode()
    assert "Iran nuclear issue › Snapback (proposed)" in body


# --- Reviewers decide -------------------------------------------------------------


def test_a_reviewer_accepts_a_proposal_renamed_and_moved(analyst, reviewer, topic):
    other = TargetFactory(name="Sanctions", slug="sanctions")
    proposal = Target.propose(name="snapback", parent=topic, by=analyst)
    response = client_for(reviewer).post(
        reverse("annotations:target-proposal-accept", args=[proposal.pk]),
        {f"t{proposal.pk}-name": "Snapback of UN sanctions", f"t{proposal.pk}-parent": other.pk},
    )
    assert response.status_code == 302
    proposal.refresh_from_db()
    assert (proposal.status, proposal.name, proposal.parent) == ("accepted", "Snapback of UN sanctions", other)


def test_accepting_needs_a_name_and_says_so(analyst, reviewer, topic):
    proposal = Target.propose(name="Snapback", parent=topic, by=analyst)
    response = client_for(reviewer).post(
        reverse("annotations:target-proposal-accept", args=[proposal.pk]), {f"t{proposal.pk}-name": ""}
    )
    assert response.status_code == 422
    assert "Name the target." in response.content.decode()
    proposal.refresh_from_db()
    assert proposal.status == "proposed"


def test_merging_moves_the_stances_and_keeps_an_existing_one_on_the_same_quote(analyst, reviewer, topic):
    kept = TargetFactory(name="Snapback mechanism", slug="snapback-mechanism", parent=topic)
    proposal = Target.propose(name="Snapback", parent=topic, by=analyst)
    moving = StanceFactory(target=proposal, quote=QuoteFactory(annotator=analyst))
    clash_quote = QuoteFactory(annotator=analyst, start=52, end=60)
    existing = StanceFactory(target=kept, quote=clash_quote)
    clashing = StanceFactory(target=proposal, quote=clash_quote)

    response = client_for(reviewer).post(
        reverse("annotations:target-proposal-merge", args=[proposal.pk]), {"into": kept.pk}, follow=True
    )
    assert response.status_code == 200
    assert "“Snapback” merged into “Snapback mechanism”: 1 stance moved, 1 dropped" in response.content.decode()
    assert not Target.objects.filter(pk=proposal.pk).exists()
    assert Stance.objects.get(pk=moving.pk).target == kept
    assert Stance.objects.get(pk=existing.pk).target == kept
    assert not Stance.objects.filter(pk=clashing.pk).exists()
    assert moving.history.latest().history_change_reason == "Target “Snapback” merged into “Snapback mechanism”."


def test_a_merge_into_nothing_or_a_proposal_is_refused(analyst, reviewer, topic):
    proposal = Target.propose(name="Snapback", parent=topic, by=analyst)
    other = Target.propose(name="Other", parent=topic, by=analyst)
    url = reverse("annotations:target-proposal-merge", args=[proposal.pk])
    for into in ("", "abc", str(other.pk), str(proposal.pk)):
        response = client_for(reviewer).post(url, {"into": into})
        assert response.status_code == 422, into
    assert Target.objects.filter(pk=proposal.pk).exists()


def test_only_a_proposal_is_merged(topic):
    accepted = TargetFactory(name="Accepted", slug="accepted")
    with pytest.raises(ValidationError, match="Only a proposed target is merged"):
        accepted.merge_into(topic)


def test_an_accepted_target_has_no_proposal_actions(reviewer, topic):
    for name in ("target-proposal-accept", "target-proposal-merge"):
        response = client_for(reviewer).post(reverse(f"annotations:{name}", args=[topic.pk]), {"into": topic.pk})
        assert response.status_code == 404


def test_curation_waits_for_proposed_targets_to_be_decided(analyst, topic):
    proposal = Target.propose(name="Snapback", parent=topic, by=analyst)
    curated = QuoteFactory(annotator=None, is_curated=True)
    StanceFactory(target=proposal, quote=curated)
    problems = curated.article.curation_problems()
    assert any("Curated stances point to proposed targets (Snapback)" in problem for problem in problems)
    proposal.accept()
    assert not any("proposed targets" in problem for problem in curated.article.curation_problems())


# --- Who may -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("persona", "status"), [("analyst", 422), ("reviewer", 422), ("researcher", 403), ("outsider", 403)]
)
def test_who_may_propose(request, persona, status, topic):
    user = request.getfixturevalue(persona)
    assert client_for(user).post(PROPOSE, {"name": ""}).status_code == status
    assert client_for(user).get(PROPOSE).status_code == (200 if status == 422 else 403)


def test_a_visitor_is_sent_to_log_in(db):
    assert client_for(None).get(PROPOSE).status_code == 302
    assert client_for(None).get(PROPOSALS).status_code == 302


@pytest.mark.parametrize(("persona", "status"), [("analyst", 403), ("researcher", 403), ("reviewer", 200)])
def test_only_reviewers_decide_on_proposals(request, persona, status, analyst, topic):
    proposal = Target.propose(name="Snapback", parent=topic, by=analyst)
    user = request.getfixturevalue(persona)
    client = client_for(user)
    assert client.get(PROPOSALS).status_code == status
    accept = client.post(
        reverse("annotations:target-proposal-accept", args=[proposal.pk]), {f"t{proposal.pk}-name": "X"}
    )
    merge = client.post(reverse("annotations:target-proposal-merge", args=[proposal.pk]), {"into": topic.pk})
    assert accept.status_code == (302 if status == 200 else 403)
    if status == 200:
        proposal.refresh_from_db()
        assert proposal.status == "accepted"
        assert merge.status_code == 404  # accepted now: no longer a proposal
    else:
        assert merge.status_code == 403
        assert Target.objects.get(pk=proposal.pk).status == "proposed"


def test_the_proposals_page_takes_constant_queries(reviewer, analyst, topic, django_assert_max_num_queries):
    client = client_for(reviewer)
    for number in range(3):
        Target.propose(name=f"Proposal {number}", parent=topic, by=analyst)
    with django_assert_max_num_queries(12) as few:
        client.get(PROPOSALS)
    for number in range(3, 13):
        Target.propose(name=f"Proposal {number}", parent=topic, by=analyst)
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(PROPOSALS)


def test_a_proposal_never_takes_a_slug_another_page_uses(analyst, topic):
    for name in ("New", "Search", "Propose"):
        response = propose(analyst, name=name, parent=topic.pk)
        assert response.status_code == 200
    slugs = set(Target.objects.filter(status="proposed").values_list("slug", flat=True))
    assert slugs == {"new-2", "search-2", "propose-2"}
    assert client_for(analyst).get(reverse("annotations:target-propose")).status_code == 200


def test_a_proposal_may_be_named_in_any_script(analyst, topic):
    for name in ("Иранская ядерная программа", "פינוי עזה", "中国"):
        assert propose(analyst, name=name, parent=topic.pk).status_code == 200, name
    assert Target.objects.filter(status="proposed").count() == 3
    assert len(set(Target.objects.filter(status="proposed").values_list("slug", flat=True))) == 3


def test_two_reviewers_deciding_one_proposal_never_bring_a_merged_target_back(analyst, reviewer, topic):
    kept = TargetFactory(name="Snapback mechanism", slug="snapback-mechanism", parent=topic)
    proposal = Target.propose(name="Snapback", parent=topic, by=analyst)
    seen_by_the_second = Target.objects.get(pk=proposal.pk)
    proposal.merge_into(kept)
    with pytest.raises(ValidationError, match="merged meanwhile"):
        seen_by_the_second.accept(name="Snapback")
    assert not Target.objects.filter(pk=proposal.pk).exists()
    again = Target.propose(name="Snapback again", parent=topic, by=analyst)
    stale = Target.objects.get(pk=again.pk)
    again.accept()
    with pytest.raises(ValidationError, match="accepted meanwhile"):
        stale.merge_into(kept)
    assert Target.objects.get(pk=again.pk).status == "accepted"


def test_a_decision_on_a_proposal_decided_meanwhile_is_a_message_not_a_500(analyst, reviewer, topic):
    kept = TargetFactory(name="Snapback mechanism", slug="snapback-mechanism", parent=topic)
    proposal = Target.propose(name="Snapback", parent=topic, by=analyst)
    Target.objects.filter(pk=proposal.pk).update(status="accepted")
    client = client_for(reviewer)
    # The view reads it as a proposal no more: 404, as for any target that isn't one.
    assert (
        client.post(reverse("annotations:target-proposal-merge", args=[proposal.pk]), {"into": kept.pk}).status_code
        == 404
    )
