"""The agreement report: figures over a filtered set of articles, and their chart."""

from __future__ import annotations

import datetime
import re

import pytest
from django.urls import reverse

from annotations.models import Article, Assignment

from .factories import (
    ArticleFactory,
    AssignmentFactory,
    QuoteFactory,
    StanceFactory,
    StanceLabelFactory,
    TargetFactory,
)

pytestmark = pytest.mark.django_db


def double_coded(analyst, second_analyst, *, spans, curated=False, **article) -> Article:
    """Both analysts submitted: analyst marks [1, 51); analyst2 marks ``spans``."""
    article = ArticleFactory(status=Article.Status.CURATED if curated else Article.Status.OPEN, **article)
    status = Assignment.Status.REVIEWED if curated else Assignment.Status.SUBMITTED
    AssignmentFactory(article=article, annotator=analyst, status=status)
    AssignmentFactory(article=article, annotator=second_analyst, status=status)
    QuoteFactory(article=article, annotator=analyst, start=1, end=51)
    for start, end in spans:
        QuoteFactory(article=article, annotator=second_analyst, start=start, end=end)
    return article


@pytest.fixture
def articles(analyst, second_analyst):
    """Times: both identical (exact F1 1.0). Post: analyst2 [1, 40) plus [54, 70):
    exact 0 of 1 + 2, overlap 1 of 1 + 2."""
    times = double_coded(
        analyst, second_analyst, spans=[(1, 51)], outlet="Times", published_on=datetime.date(2023, 1, 5)
    )
    post = double_coded(
        analyst, second_analyst, spans=[(1, 40), (54, 70)], outlet="Post", published_on=datetime.date(2023, 3, 1)
    )
    return times, post


def test_the_report_pools_the_pair_over_the_articles(login, reviewer, articles):
    # Pooled analyst–analyst2: sizes 2 and 3. Exact: 1 match → 2·1/5 = 0.4.
    # Overlap: 2 matches → 2·2/5 = 0.8.
    response = login(reviewer).get(reverse("annotations:review-agreement"))
    figures = response.context["figures"]
    assert figures.exact_f1 == pytest.approx(0.4)
    assert figures.overlap_f1 == pytest.approx(0.8)
    body = response.content.decode()
    assert '<dd data-figure="exact-f1">0.400</dd>' in body
    assert '<dd data-figure="overlap-f1">0.800</dd>' in body


def test_the_report_filters_by_outlet_and_date(login, reviewer, articles):
    client = login(reviewer)
    url = reverse("annotations:review-agreement")
    assert client.get(url, {"outlet": "Times"}).context["figures"].exact_f1 == 1.0
    assert client.get(url, {"published_from": "2023-02-01"}).context["figures"].exact_f1 == 0.0
    assert client.get(url, {"published_to": "2023-02-01"}).context["figures"].exact_f1 == 1.0
    assert client.get(url, {"published_from": "2024-01-01"}).context["figures"].exact_f1 is None


def test_the_target_filter_keeps_the_articles_about_it_and_its_subtopics(login, reviewer, analyst, second_analyst):
    # Article about a subtopic of Iran: both label the subtopic, one says support, the other oppose:
    # one unit, two labels: α = 1 − 1/1 = 0. Another article on an unrelated target is left out.
    iran = TargetFactory(name="Iran nuclear issue")
    weapons = TargetFactory(name="Iran acquiring nuclear weapons", parent=iran)
    support, oppose = StanceLabelFactory(slug="support"), StanceLabelFactory(slug="oppose")
    about = double_coded(analyst, second_analyst, spans=[(1, 51)], title="About Iran")
    for quote, label in zip(about.quotes.order_by("annotator__username"), [support, oppose], strict=True):
        StanceFactory(quote=quote, target=weapons, label=label)
    other = double_coded(analyst, second_analyst, spans=[(1, 51)], title="Elsewhere")
    for quote in other.quotes.all():
        StanceFactory(quote=quote, target=TargetFactory(), label=support)
    response = login(reviewer).get(reverse("annotations:review-agreement"), {"target": iran.pk})
    assert response.context["article_count"] == 1
    assert response.context["figures"].stance_alpha == pytest.approx(0.0)
    assert [name for name, _, _ in response.context["targets"]] == ["Iran acquiring nuclear weapons"]


def test_a_researcher_sees_figures_over_curated_articles_only(login, researcher, analyst, second_analyst, articles):
    double_coded(analyst, second_analyst, spans=[(1, 51)], curated=True)
    response = login(researcher).get(reverse("annotations:review-agreement"))
    assert response.context["article_count"] == 1
    assert response.context["figures"].exact_f1 == 1.0
    body = response.content.decode()
    assert "Review queue" not in body, "no link to pages a researcher can't open"


def test_reversed_dates_are_refused_with_a_message(login, reviewer, articles):
    response = login(reviewer).get(
        reverse("annotations:review-agreement"), {"published_from": "2023-05-01", "published_to": "2023-01-01"}
    )
    assert "The end date is before the start date." in response.content.decode()


def test_the_chart_is_inline_svg_without_inline_styles(login, reviewer, articles):
    body = login(reviewer).get(reverse("annotations:review-agreement")).content.decode()
    svg = body[body.index('<svg id="summary-chart"') : body.index("</svg>")]
    assert "style=" not in body and "<style" not in body
    bars = re.findall(r'<rect x="([\d.]+)" y="[\d.]+" width="([\d.]+)"', svg)
    # Bars start at 0 (x = 330) and are 320 wide at 1.0: exact 0.4 → 128, overlap 0.8 → 256.
    assert [(float(x), float(width)) for x, width in bars[:2]] == [(330.0, 128.0), (330.0, 256.0)]
    assert "<title>Speaker agreement: " in svg


def test_a_negative_alpha_draws_its_bar_left_of_zero():
    from annotations.views.review import bar_chart

    chart = bar_chart([("below chance", -0.5), ("missing", None)], low=-1.0)
    # The scale runs from −1 (x = 330) to 1 (x = 650): zero at 490, −0.5 at 410.
    assert chart.zero_x == "490.0"
    negative, missing = chart.bars
    assert (negative.x, negative.width, negative.negative) == ("410.0", "80.0", True)
    assert (missing.shown, missing.width) == ("—", "0")


def test_the_htmx_filter_returns_the_report_only(login, reviewer, articles):
    body = (
        login(reviewer)
        .get(reverse("annotations:review-agreement"), {"outlet": "Post"}, HTTP_HX_REQUEST="true")
        .content.decode()
    )
    assert body.lstrip().startswith('<div id="report">')


def test_the_report_query_count_does_not_grow_with_articles(login, reviewer, analyst, second_analyst):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = login(reviewer)
    for _ in range(3):
        double_coded(analyst, second_analyst, spans=[(1, 51)])
    with CaptureQueriesContext(connection) as few:
        client.get(reverse("annotations:review-agreement"))
    for _ in range(17):
        double_coded(analyst, second_analyst, spans=[(1, 40)])
    with CaptureQueriesContext(connection) as many:
        client.get(reverse("annotations:review-agreement"))
    assert len(many) == len(few)


def test_the_outlet_filter_means_what_the_apis_does_whatever_the_case(login, reviewer, analyst, second_analyst):
    """One definition of "outlet" (annotations.filters.outlet_filter) for the report and the API:
    the whole name, in any case. The report offers each outlet once."""
    times = double_coded(analyst, second_analyst, spans=[(1, 51)], outlet="Times")
    lower = double_coded(analyst, second_analyst, spans=[(1, 40)], outlet="times")
    double_coded(analyst, second_analyst, spans=[(1, 51)], outlet="Post")
    client = login(reviewer)
    response = client.get(reverse("annotations:review-agreement"), {"outlet": "Times"})
    assert response.context["article_count"] == 2
    assert response.context["figures"].exact_f1 == pytest.approx(0.5)
    assert [value for value, _ in response.context["form"].fields["outlet"].choices] == ["", "Post", "Times"]
    listed = client.get("/api/v1/articles/", {"outlet": "Times"}).json()["results"]
    assert sorted(article["id"] for article in listed) == sorted([times.pk, lower.pk])


def test_the_report_shares_the_apis_date_filters():
    from annotations.filters import AgreementFilter, ArticleFilter

    page, api = AgreementFilter.base_filters, ArticleFilter.base_filters
    for page_name, api_name in [
        ("outlet", "outlet"),
        ("published_from", "published_after"),
        ("published_to", "published_before"),
    ]:
        assert (page[page_name].field_name, page[page_name].lookup_expr) == (
            api[api_name].field_name,
            api[api_name].lookup_expr,
        )
