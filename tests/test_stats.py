"""Stance statistics: the computation (annotations.stats) and /api/v1/stats/stance/, JSON and CSV."""

from __future__ import annotations

import csv
import datetime
import io
import itertools
from collections import Counter

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from annotations import charts, stats
from annotations.filters import stats_query
from annotations.models import Article, Quote, Stance, StanceLabel, Target

from .conftest import client_for
from .factories import (
    ArticleFactory,
    QuoteFactory,
    SpeakerFactory,
    StanceFactory,
    StanceLabelFactory,
    TargetFactory,
    curated_stance_history,
)

pytestmark = pytest.mark.django_db

URL = "/api/v1/stats/stance/"


@pytest.fixture
def history(db):
    topic = TargetFactory(slug="iran-nuclear", name="Iran nuclear issue")
    child = TargetFactory(slug="jcpoa-return", name="Return to the JCPOA", parent=topic)
    other = TargetFactory(slug="ukraine-aid", name="Military aid to Ukraine")
    quotes = curated_stance_history(topic=topic, child=child, other=other)
    return {"topic": topic, "child": child, "other": other, "quotes": quotes}


def expected(stances, period) -> Counter:
    """Counted by hand from the rows: (period, label slug) → stances."""
    return Counter((period(stance.quote.article.published_on), stance.label.slug) for stance in stances)


def curated_stances(**filters):
    return Stance.objects.filter(quote__is_curated=True, quote__article__status=Article.Status.CURATED, **filters)


def month(day: datetime.date) -> datetime.date:
    return day.replace(day=1)


def test_counts_by_month_and_label_are_the_stances_counted_by_hand(history, reviewer):
    _, stances = stats_query({}, reviewer)
    rows = stats.stance_counts(stances, interval="month")
    assert Counter({(row.period, row.label): row.count for row in rows}) == expected(curated_stances(), month)
    assert sum(row.count for row in rows) == curated_stances().count() == 54 + 11


def test_quarters_years_and_all_sum_to_the_same_total(history, reviewer):
    _, stances = stats_query({}, reviewer)
    totals = {
        interval: sum(row.count for row in stats.stance_counts(stances, interval=interval))
        for interval in stats.INTERVALS
    }
    assert set(totals.values()) == {65}
    quarters = stats.stance_counts(stances, interval="quarter")
    assert {row.period for row in quarters} == {datetime.date(2022, m, 1) for m in (1, 4, 7, 10)} | {
        datetime.date(2023, m, 1) for m in (1, 4)
    }
    assert [row.period for row in stats.stance_counts(stances, interval="all")] == [None] * 4


def test_a_target_counts_its_children_unless_asked_not_to(history, reviewer):
    topic, child = history["topic"], history["child"]
    _, stances = stats_query({"target": "iran-nuclear"}, reviewer)
    with_children = sum(row.count for row in stats.stance_counts(stances, interval="all"))
    assert with_children == curated_stances(target__in=[topic, child]).count() == 54
    _, alone = stats_query({"target": "iran-nuclear", "children": "0"}, reviewer)
    assert sum(row.count for row in stats.stance_counts(alone, interval="all")) == curated_stances(target=topic).count()
    # The quote's stance toward another target is not counted with the topic's.
    assert curated_stances(target=history["other"]).count() == 11


def test_group_by_country_speaker_and_target(history, reviewer):
    _, stances = stats_query({}, reviewer)
    rows = stats.stance_counts(stances, interval="year", group_by=["country", "target"])
    by_country = Counter()
    for row in rows:
        by_country[row.country] += row.count
    assert by_country == Counter(stance.quote.speaker.country for stance in curated_stances())
    assert {row.target for row in rows} == {"iran-nuclear", "jcpoa-return", "ukraine-aid"}
    speakers = stats.groups_of(stats.stance_counts(stances, interval="all", group_by=["speaker"]), "speaker")
    assert sum(group.total for group in speakers) == 65
    assert [group.total for group in speakers] == sorted((group.total for group in speakers), reverse=True)


def test_only_curated_dated_stances_on_curated_articles_count(history, reviewer, analyst):
    topic, label = history["topic"], StanceLabel.objects.get(slug="oppose")
    raw = QuoteFactory(article=ArticleFactory(status=Article.Status.CURATED), annotator=analyst)
    StanceFactory(quote=raw, target=topic, label=label)
    open_article = QuoteFactory(article=ArticleFactory(), is_curated=True, annotator=None)
    StanceFactory(quote=open_article, target=topic, label=label)
    undated = QuoteFactory(
        article=ArticleFactory(status=Article.Status.CURATED, published_on=None), is_curated=True, annotator=None
    )
    StanceFactory(quote=undated, target=topic, label=label)
    _, stances = stats_query({}, reviewer)
    assert sum(row.count for row in stats.stance_counts(stances, interval="all")) == 65


def test_the_quote_filters_narrow_the_stances(history, reviewer):
    israel = SpeakerFactory._meta.model.objects.filter(country="IL").order_by("id").first()
    cases = {
        "speaker_country": ("il", curated_stances(quote__speaker__country="IL")),
        "speaker": (str(israel.pk), curated_stances(quote__speaker=israel)),
        "label": ("oppose", curated_stances(label__slug="oppose")),
        "outlet": ("example times", curated_stances(quote__article__outlet="Example Times")),
        "published_after": ("2023-01-01", curated_stances(quote__article__published_on__gte=datetime.date(2023, 1, 1))),
        "published_before": (
            "2022-03-31",
            curated_stances(quote__article__published_on__lte=datetime.date(2022, 3, 31)),
        ),
        "kind": ("indirect", curated_stances(quote__kind="indirect")),
    }
    for name, (value, stances) in cases.items():
        _, counted = stats_query({name: value}, reviewer)
        rows = stats.stance_counts(counted, interval="month")
        assert Counter({(row.period, row.label): row.count for row in rows}) == expected(stances, month), name


def test_the_text_search_narrows_the_stances(history, reviewer):
    quote = history["quotes"][0]
    Quote.objects.filter(pk=quote.pk).update(text=quote.text)  # unchanged; the search finds every quote
    _, stances = stats_query({"q": "nuclear weapon"}, reviewer)
    assert sum(row.count for row in stats.stance_counts(stances, interval="all")) == 65
    _, none = stats_query({"q": "zeppelin"}, reviewer)
    assert stats.stance_counts(none, interval="all") == []


def test_group_by_reads_a_plain_dict_too(history, reviewer):
    filterset, _ = stats_query({"group_by": "country,target"}, reviewer)
    assert filterset.is_valid() and filterset.form.cleaned_data["group_by"] == ["country", "target"]


def test_stance_counts_refuses_what_it_does_not_know(reviewer):
    with pytest.raises(ValueError, match="interval"):
        stats.stance_counts(Quote.objects.all(), interval="week")
    with pytest.raises(ValueError, match="group_by"):
        stats.stance_counts(Quote.objects.all(), interval="month", group_by=["article"])


def test_the_chart_over_time_has_every_period_and_the_same_total(history, reviewer):
    labels = list(StanceLabel.objects.all())
    _, stances = stats_query({"target": "iran-nuclear"}, reviewer)
    rows = stats.stance_counts(stances, interval="month", group_by=["country"])
    chart = stats.stance_over_time(rows, interval="month", by="country", labels=labels, most=3)
    assert len(chart.table) == 18 and chart.table[0][0] == "2022-01" and chart.table[-1][0] == "2023-06"
    assert chart.total == 54
    assert [series.name for series in chart.series][-1].startswith("Other (")
    by_label = stats.stance_over_time_chart(
        Quote.objects.visible_to(reviewer), interval="quarter", target_ids=history["topic"].descendant_ids()
    )
    assert by_label.total == 54 and [series.key for series in by_label.series] == [label.slug for label in labels]
    assert sum(len(column.segments) > 0 for column in by_label.chart.columns) == 6


def test_stacked_bars_never_label_periods_on_top_of_each_other():
    names = [f"2020-{month:02d}" for month in range(1, 13)] * 5
    chart = charts.stacked_bar_chart(names, [("a", "#000000")], [[1]] * 60)
    shown = [float(column.centre) for column in chart.columns if column.show_name]
    assert all(later - earlier >= 7 * 7 for earlier, later in itertools.pairwise(shown))
    assert (
        charts.nice_ceiling(0) == (1, 1) and charts.nice_ceiling(7) == (8, 2) and charts.nice_ceiling(130) == (150, 50)
    )


# --- The API ---------------------------------------------------------------------


def test_the_api_answers_json_with_labels_and_rows(history, researcher):
    response = client_for(researcher).get(URL, {"target": "iran-nuclear", "group_by": "country", "interval": "year"})
    assert response.status_code == 200
    body = response.json()
    assert body["interval"] == "year" and body["group_by"] == ["country"]
    assert [label["slug"] for label in body["labels"]] == ["support", "oppose", "neutral", "unclear"]
    assert set(body["results"][0]) == {"period", "label", "country", "count"}
    assert sum(row["count"] for row in body["results"]) == 54
    assert {row["period"] for row in body["results"]} == {"2022-01-01", "2023-01-01"}


def test_group_by_is_comma_separated_or_repeated(history, researcher):
    client = client_for(researcher)
    comma = client.get(URL, {"group_by": "target,speaker", "interval": "all"}).json()
    repeated = client.get(f"{URL}?group_by=speaker&group_by=target&interval=all").json()
    assert comma == repeated
    assert comma["group_by"] == ["speaker", "target"]
    assert set(comma["results"][0]) == {"period", "label", "speaker", "speaker_name", "target", "target_name", "count"}


def test_the_csv_holds_the_json_rows(history, researcher):
    client = client_for(researcher)
    params = {"group_by": "speaker,country", "interval": "quarter", "label": "oppose"}
    rows = client.get(URL, params).json()["results"]
    response = client.get(URL, {**params, "format": "csv"})
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="demarche-stance-quarter-')
    table = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert list(table[0]) == ["period", "label", "speaker", "speaker_name", "country", "count"]
    assert [{**row, "speaker": row["speaker"] or None, "count": int(row["count"])} for row in table] == [
        {**row, "speaker": None if row["speaker"] is None else str(row["speaker"])} for row in rows
    ]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("interval=week", "interval"),
        ("group_by=article", "group_by"),
        ("group_by=country,bogus", "group_by"),
        ("target=no-such-target", "target"),
        ("label=no-such-label", "label"),
        ("published_after=yesterday", "published_after"),
        ("speaker=abc", "speaker"),
        ("children=2", "children"),
        ("format=xml", "format"),
        ("layer=raw", "detail"),
        ("ordering=id", "detail"),
        ("speakr=3", "detail"),
    ],
)
def test_a_bad_parameter_is_a_400_that_names_it(history, researcher, query, field):
    response = client_for(researcher).get(f"{URL}?{query}")
    assert response.status_code == 400
    assert field in response.json()


@pytest.mark.parametrize(
    ("role", "status"),
    [(None, 401), ("outsider", 403), ("analyst", 200), ("reviewer", 200), ("researcher", 200)],
)
def test_whoever_reads_curated_quotes_reads_their_statistics(request, history, role, status):
    user = request.getfixturevalue(role) if role else None
    assert client_for(user).get(URL).status_code == status


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_the_statistics_are_read_only(history, reviewer, researcher, method):
    assert getattr(client_for(reviewer), method)(URL).status_code == 405
    assert getattr(client_for(researcher), method)(URL).status_code == 403


def test_an_analyst_counts_only_the_curated_layer_not_their_own_quotes(history, analyst):
    mine = QuoteFactory(article=ArticleFactory(status=Article.Status.CURATED), annotator=analyst)
    StanceFactory(quote=mine, target=history["topic"], label=StanceLabel.objects.get(slug="support"))
    body = client_for(analyst).get(URL, {"interval": "all"}).json()
    assert sum(row["count"] for row in body["results"]) == 65


def test_the_api_costs_the_same_queries_whatever_the_data(history, researcher):
    client = client_for(researcher)
    params = {"target": "iran-nuclear", "group_by": "country,speaker,target", "interval": "month"}
    client.get(URL, params)
    with CaptureQueriesContext(connection) as small:
        client.get(URL, params)
    more = TargetFactory(slug="more", name="More", parent=history["topic"])
    curated_stance_history(topic=history["topic"], child=more, other=history["other"], months=24)
    with CaptureQueriesContext(connection) as large:
        assert sum(row["count"] for row in client.get(URL, params).json()["results"]) > 54
    assert len(large) == len(small)


def test_the_schema_documents_the_statistics(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    operation = schema["paths"]["/api/v1/stats/stance/"]["get"]
    names = {parameter["name"] for parameter in operation["parameters"]}
    assert names == {
        "target", "children", "speaker", "speaker_country", "label", "kind", "outlet", "published_after",
        "published_before", "q", "interval", "group_by", "format",
    }  # fmt: skip
    assert {"application/json", "text/csv"} <= set(operation["responses"]["200"]["content"])


@pytest.mark.parametrize("slug", ["new", "search"])
def test_a_target_cant_take_a_reserved_slug(db, slug):
    target = Target(name="New things", slug=slug)
    with pytest.raises(ValidationError) as refused:
        target.full_clean()
    assert "reserved" in str(refused.value.message_dict["slug"])


def test_labels_given_in_the_taxonomy_order(history):
    StanceLabelFactory(slug="mixed", name="Mixed", colour="#000000", order=0)
    rows = stats.stance_counts(stats.stances_in_scope(Quote.objects.all()), interval="all")
    assert [row.label for row in rows] == ["support", "oppose", "neutral", "unclear"]
