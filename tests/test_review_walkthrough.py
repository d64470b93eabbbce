"""The whole review on the demo article: two analysts annotate it differently, the
reviewer compares, sends one back, curates it, and the figures match the ones
worked out by hand below."""

from __future__ import annotations

import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.urls import reverse

from annotations.agreement import load_agreement
from annotations.models import Article, Assignment, Quote, Speaker, Stance, StanceLabel, Target
from annotations.offsets import find_occurrence

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}

# The hand-worked figures (see test_the_figures_match_the_hand_worked_example).
EXACT_F1 = 12 / 15
OVERLAP_F1 = 14 / 15
SPEAKER = 6 / 7
ALPHA = 156 / 179
ALPHA_JCPOA = 6 / 11


@pytest.fixture
def demo(settings):
    """The demo article with the demo accounts, left open for review (--no-curation),
    the first analyst's eight quotes submitted."""
    settings.DEBUG = True
    call_command("seed_demo", no_curation=True, one_annotator=True, stdout=io.StringIO())
    settings.DEBUG = False
    article = Article.objects.get(metadata__source="worked-example.json")
    Assignment.objects.get(article=article, annotator__username="analyst").move_to(Assignment.Status.SUBMITTED)
    return article


def second_analysts_quotes(article: Article, analyst2) -> None:
    """analyst2 marks the article like the worked example, except that they:
    - mark only the partial quote “foot-dragging and empty promises” of quote 3 (span),
    - attribute quote 4 to Lloyd Austin instead of Ned Price (speaker),
    - read quote 5 as *unclear* rather than *neutral* on returning to the JCPOA (one stance),
    - miss quote 7 altogether."""
    austin = Speaker.objects.get(name="Lloyd Austin")
    unclear = StanceLabel.objects.get(slug="unclear")
    jcpoa = Target.objects.get(slug="jcpoa-return")
    partial = find_occurrence(article.text, "foot-dragging and empty promises")
    for number, original in enumerate(Quote.objects.raw_layer().in_text_order().prefetch_related("stances"), start=1):
        if number == 7:
            continue
        quote = Quote(
            article=article,
            annotator=analyst2,
            **{name: getattr(original, name) for name in Quote.CURATED_COPY_FIELDS if name != "article"},
        )
        if number == 3:
            quote.start, quote.end = partial.start, partial.end
            quote.text = partial.text_of(article.text)
        if number == 4:
            quote.speaker, quote.speaker_role = austin, None
        quote.full_clean()
        quote.save()
        for stance in original.stances.all():
            label = unclear if (number == 5 and stance.target_id == jcpoa.pk) else stance.label
            Stance.objects.create(quote=quote, target_id=stance.target_id, label=label, intensity=stance.intensity)


def test_two_analysts_a_reviewer_and_the_figures_worked_out_by_hand(demo, client):
    article = demo
    User = get_user_model()
    reviewer, analyst, analyst2 = (User.objects.get(username=name) for name in ["reviewer", "analyst", "analyst2"])
    client.force_login(reviewer)

    # The reviewer gives the article to a second analyst from the assignments page.
    response = client.post(reverse("annotations:review-assign"), {"articles": [article.pk], "per_article": 2})
    assert response.status_code == 302
    second = Assignment.objects.get(article=article, annotator=analyst2)
    assert Article.objects.get(pk=article.pk).annotators_needed == 2

    # analyst2 annotates blind and submits.
    second_analysts_quotes(article, analyst2)
    second.move_to(Assignment.Status.SUBMITTED)

    # The queue shows both done and the overlap F1.
    queue = client.get(reverse("annotations:review-queue"))
    row = queue.context["page"].object_list[0]
    assert (row.done_count, row.assigned_count) == (2, 2)
    assert row.agreement.overlap_f1 == pytest.approx(OVERLAP_F1)
    assert "0.93" in queue.content.decode()

    # The curation page aligns the two analysts' quotes in eight rows.
    page = client.get(article.review_url)
    curation = page.context["curation"]
    assert [user.username for user in curation.annotators] == ["analyst", "analyst2"]
    assert len(curation.rows) == 8
    verdicts = [(r.verdict.complete, r.verdict.span, r.verdict.speaker, r.verdict.unanimous) for r in curation.rows]
    assert verdicts == [
        (True, True, True, True),  # 1 Gallant
        (True, True, True, True),  # 2 Biden
        (True, False, True, False),  # 3 Price: partial span
        (True, True, False, False),  # 4 Price / Austin
        (True, True, True, False),  # 5 Price: one stance differs
        (True, True, True, True),  # 6 Cohen
        (False, True, True, False),  # 7 Price: missed by analyst2
        (True, True, True, True),  # 8 Price
    ]
    jcpoa_flags = dict((target.slug, agrees) for target, agrees in curation.rows[4].targets)
    assert jcpoa_flags == {
        "iran-nuclear-weapons": True,
        "diplomacy-with-iran": True,
        "military-option-iran": True,
        "jcpoa-return": False,
    }
    figures = curation.agreement
    assert figures.exact_f1 == pytest.approx(EXACT_F1)
    assert figures.overlap_f1 == pytest.approx(OVERLAP_F1)
    assert figures.speaker_agreement == pytest.approx(SPEAKER)
    assert figures.stance_alpha == pytest.approx(ALPHA)

    # Sent back with a comment: analyst2 works on it again, and it can't be curated meanwhile.
    client.post(
        reverse("annotations:review-send-back", args=[article.pk]),
        {"assignment": second.pk, "comment": "Is quote 4 really Austin's?"},
    )
    second.refresh_from_db()
    assert (second.status, second.comment) == (Assignment.Status.IN_PROGRESS, "Is quote 4 really Austin's?")
    refused = client.post(reverse("annotations:review-mark-curated", args=[article.pk]), **HTMX)
    assert refused.status_code == 422
    assert "Still being annotated by analyst2" in refused.content.decode()
    second.move_to(Assignment.Status.SUBMITTED)  # analyst2 keeps their reading

    # Accept the four rows where both agree in one click, then decide the rest.
    client.post(reverse("annotations:review-accept-agreed", args=[article.pk]))
    assert Quote.objects.curated().count() == 4
    rows = client.get(article.review_url).context["curation"].rows
    for number, column in [(3, 0), (4, 0), (5, 1), (7, 0)]:
        client.post(
            reverse("annotations:review-accept", args=[article.pk]), {"quote": rows[number - 1].cells[column].pk}
        )
    assert Quote.objects.curated().count() == 8

    # Row 5 took analyst2's version; the reviewer corrects its JCPOA stance to neutral.
    fifth = Quote.objects.curated().get(start=rows[4].cells[1].start)
    form = client.get(reverse("annotations:review-edit-quote", args=[fifth.pk])).context["form"]
    data = {name: form[name].value() for name in form.fields if form[name].value() is not None}
    data[f"stance_{Target.objects.get(slug='jcpoa-return').pk}"] = StanceLabel.objects.get(slug="neutral").pk
    response = client.post(reverse("annotations:review-edit-quote", args=[fifth.pk]), data)
    assert response.status_code == 302, response.context["form"].errors

    response = client.post(reverse("annotations:review-mark-curated", args=[article.pk]))
    assert response.status_code == 302
    article.refresh_from_db()
    assert article.status == Article.Status.CURATED
    assert set(Assignment.objects.filter(article=article).values_list("status", flat=True)) == {
        Assignment.Status.REVIEWED
    }

    # The curated version is the worked example again, and each quote records its sources.
    def layer(queryset):
        return [
            (q.start, q.end, q.speaker_id, q.kind, frozenset(q.stances.values_list("target_id", "label_id")))
            for q in queryset.in_text_order()
        ]

    assert layer(Quote.objects.curated()) == layer(Quote.objects.raw_layer().filter(annotator=analyst))
    sources = [
        sorted(q.curated_from.values_list("annotator__username", flat=True))
        for q in Quote.objects.curated().in_text_order()
    ]
    assert sources == [["analyst", "analyst2"]] * 6 + [["analyst"]] + [["analyst", "analyst2"]]
    assert set(Quote.objects.curated().values_list("annotator__username", flat=True)) == {"reviewer"}

    # The history of the corrected quote says who changed which stance.
    history = client.get(reverse("annotations:quote-history", args=[fifth.pk])).content.decode()
    assert "Changed stance on Return to the JCPOA" in history
    assert "<del>Unclear</del> → <ins>Neutral</ins>" in history

    # The figures compare the analysts, not the curated version: curation leaves them be.
    client.force_login(User.objects.get(username="researcher"))
    report = client.get(reverse("annotations:review-agreement"))
    assert report.status_code == 200
    assert report.context["figures"].stance_alpha == pytest.approx(ALPHA)
    assert client.get(article.review_url).status_code == 403


def test_the_figures_match_the_hand_worked_example(demo):
    """The working, for the scenario above.

    analyst (A) has the eight worked-example quotes; analyst2 (B) has seven.

    Span F1, exact: identical spans are quotes 1, 2, 4, 5, 6 and 8, so 6 matches;
        F1 = 2·6 / (8 + 7) = 12/15 = 0.8.
    Span F1, overlap: B's partial quote 3, [1012, 1044), lies inside A's [991, 1093)
        (Jaccard 32/102 > 0); every other B quote equals its A quote, and no quote
        overlaps two others, so 7 matches; F1 = 2·7 / 15 = 14/15 ≈ 0.9333.
    Speaker agreement: of the 7 matched pairs, quote 4 differs; 6/7 ≈ 0.8571.
    Stance alpha (nominal): units are (row, target). Row 7 has only A's quote, so its
        unit holds one value and can't be paired. The 12 pairable units are
            row 1: (oppose, oppose) (support, support)   row 2: (oppose, oppose)
            row 3: (oppose, oppose) (unclear, unclear)   row 4: (support, support)
            row 5: (oppose, oppose) (support, support) (support, support) (neutral, unclear)
            row 6: (support, support)                     row 8: (support, support)
        n = 24 values: oppose 8, support 12, unclear 3, neutral 1.
        Observed disagreement: one unit disagrees, contributing o(neutral, unclear) =
        o(unclear, neutral) = 1, so D_o = 2/24 = 1/12.
        Expected disagreement: D_e = (n² − Σ n_c²) / (n(n − 1))
            = (576 − (64 + 144 + 9 + 1)) / (24·23) = 358/552.
        α = 1 − D_o/D_e = 1 − (1/12)·(552/358) = 1 − 46/358 = 156/179 ≈ 0.8715.
    Alpha for "Return to the JCPOA" alone: units (oppose, oppose) row 2, (unclear,
        unclear) row 3, (neutral, unclear) row 5: n = 6, oppose 2, unclear 3, neutral 1;
        D_o = 2/6; D_e = (36 − 4 − 9 − 1) / 30 = 22/30; α = 1 − (1/3)(30/22) = 6/11 ≈ 0.5455.
    Alpha for "Israel's low public profile": one pairable unit, (support, support),
        a single label, so α is undefined (None).
    """
    analyst2 = get_user_model().objects.get(username="analyst2")
    Assignment.objects.create(article=demo, annotator=analyst2, status=Assignment.Status.SUBMITTED)
    second_analysts_quotes(demo, analyst2)

    figures = load_agreement(Article.objects.all())
    assert figures.exact_f1 == pytest.approx(0.8)
    assert figures.overlap_f1 == pytest.approx(0.9333, abs=1e-4)
    assert figures.speaker_agreement == pytest.approx(0.8571, abs=1e-4)
    assert figures.stance_alpha == pytest.approx(0.8715, abs=1e-4)
    assert figures.stance_alpha == pytest.approx(ALPHA)
    by_target = {
        Target.objects.get(pk=pk).slug: (alpha, units) for pk, (alpha, units) in figures.alpha_by_target().items()
    }
    assert by_target["jcpoa-return"] == (pytest.approx(ALPHA_JCPOA), 3)
    assert by_target["israel-low-profile-russia-ukraine"] == (None, 1)
    assert by_target["iran-nuclear-weapons"] == (None, 2)  # both rows agree on oppose: one label, undefined
