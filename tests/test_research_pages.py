"""The target page and the compare matrix: who opens them, what they count, and that it is the API's count."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from annotations.models import Speaker, StanceLabel

from .conftest import client_for
from .factories import TargetFactory, curated_stance_history

pytestmark = pytest.mark.django_db

API = "/api/v1/stats/stance/"
TARGET = "/targets/iran-nuclear/"
COMPARE = "/compare/"


@pytest.fixture
def history(db):
    topic = TargetFactory(slug="iran-nuclear", name="Iran nuclear issue", description="Tehran's programme.")
    child = TargetFactory(slug="jcpoa-return", name="Return to the JCPOA", parent=topic)
    other = TargetFactory(slug="ukraine-aid", name="Military aid to Ukraine")
    curated_stance_history(topic=topic, child=child, other=other)
    return {"topic": topic, "child": child, "other": other}


def table(html: str, table_id: str) -> dict[str, list[int]]:
    """A numbers table of the page as {row header: [numbers…]}."""
    body = re.search(rf'<table[^>]*id="{table_id}".*?<tbody[^>]*>(.*?)</tbody>', html, re.S)
    assert body, f"no table {table_id}"
    rows = {}
    for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body.group(1), re.S):
        header = re.sub(r"<[^>]+>", "", re.search(r"<th[^>]*>(.*?)</th>", row, re.S).group(1)).strip()
        rows[header] = [int(cell) for cell in re.findall(r"<td>(\d+)</td>", row)]
    return rows


def api_totals(client, params: dict[str, str], group: str) -> dict[str, list[int]]:
    """The API's answer summed per group, in the labels' order, with the total last (as the tables show)."""
    body = client.get(API, params).json()
    labels = [label["slug"] for label in body["labels"]]
    names = {"speaker": "speaker_name", "country": "country", "target": "target_name"}
    sums: dict[str, list[int]] = {}
    for row in body["results"]:
        key = row[names[group]] or ("Unattributed" if group == "speaker" else "Unknown")
        sums.setdefault(key, [0] * len(labels))[labels.index(row["label"])] += row["count"]
    return {key: [*values, sum(values)] for key, values in sums.items()}


# --- Who opens the pages ---------------------------------------------------------


@pytest.mark.parametrize("path", [TARGET, COMPARE])
@pytest.mark.parametrize(
    ("role", "status"),
    [("outsider", 403), ("analyst", 200), ("reviewer", 200), ("researcher", 200), ("admin_user", 200)],
)
def test_whoever_reads_curated_quotes_opens_the_pages(request, history, path, role, status):
    assert client_for(request.getfixturevalue(role)).get(path).status_code == status


@pytest.mark.parametrize("path", [TARGET, COMPARE])
def test_anonymous_visitors_go_to_the_login_page(history, path, client):
    response = client.get(path)
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("path", [TARGET, COMPARE])
def test_the_pages_only_read(history, reviewer, researcher, path):
    assert client_for(reviewer).post(path).status_code == 405
    assert client_for(researcher).post(path).status_code == 405


def test_an_unknown_target_is_a_404(history, researcher):
    assert client_for(researcher).get("/targets/no-such-target/").status_code == 404


def test_search_and_new_stay_the_workspace_pages(history, reviewer):
    assert reverse("annotations:target-search") == "/targets/search/"
    client = client_for(reviewer)
    assert client.get("/targets/new/").status_code == 200
    assert b"Iran nuclear issue" not in client.get("/targets/search/?q=zzz").content


def test_the_navigation_offers_compare_to_readers_of_the_curated_dataset(history, researcher, analyst, outsider):
    for user in (researcher, analyst):
        assert b'href="/compare/"' in client_for(user).get(reverse("annotations:guidelines")).content
    assert b'href="/compare/"' not in client_for(outsider).get(reverse("annotations:guidelines")).content


# --- The target page -------------------------------------------------------------


def test_the_target_page_shows_its_place_in_the_hierarchy(history, researcher):
    html = client_for(researcher).get("/targets/jcpoa-return/").content.decode()
    crumbs = re.search(r'<nav aria-label="Breadcrumb".*?</nav>', html, re.S).group(0)
    assert crumbs.index("Iran nuclear issue") < crumbs.index("Return to the JCPOA")
    topic = client_for(researcher).get(TARGET).content.decode()
    assert "Tehran&#x27;s programme." in topic
    assert 'href="/targets/jcpoa-return/"' in topic


def test_the_tables_and_the_chart_hold_the_apis_numbers(history, researcher):
    client = client_for(researcher)
    html = client.get(TARGET, {"by": "country", "interval": "quarter"}).content.decode()
    totals = {"target": "iran-nuclear", "interval": "all"}
    assert table(html, "speakers-table") == api_totals(client, {**totals, "group_by": "speaker"}, "speaker")
    assert table(html, "countries-table") == api_totals(client, {**totals, "group_by": "country"}, "country")
    chart = table(html, "over-time-table")
    body = client.get(API, {"target": "iran-nuclear", "interval": "quarter", "group_by": "country"}).json()
    assert sum(values[-1] for values in chart.values()) == sum(row["count"] for row in body["results"]) == 54
    assert chart["2022 Q1"][-1] == sum(row["count"] for row in body["results"] if row["period"] == "2022-01-01")
    # The URL beside the chart is the API's for these numbers; its CSV is the same URL with format=csv.
    url = re.search(r'id="over-time-url"[^>]*value="([^"]+)"', html).group(1).replace("&amp;", "&")
    assert client.get(url).json() == body
    assert f'href="{url}&format=csv"'.replace("&", "&amp;") in html


def test_children_0_counts_the_target_alone(history, researcher):
    client = client_for(researcher)
    html = client.get(TARGET, {"children": "0"}).content.decode()
    alone = api_totals(
        client, {"target": "iran-nuclear", "children": "0", "interval": "all", "group_by": "country"}, "country"
    )
    assert table(html, "countries-table") == alone
    assert sum(values[-1] for values in alone.values()) == 27


def test_the_filters_narrow_every_figure_and_the_quotes(history, researcher):
    client = client_for(researcher)
    html = client.get(TARGET, {"speaker_country": "IL", "label": "oppose"}).content.decode()
    assert list(table(html, "countries-table")) == ["IL"]
    quotes = re.findall(r"<li hx-disable>\s*<blockquote>", html)
    count = int(re.search(r"(\d+) quotes?, newest first", html).group(1))
    assert count == sum(values[-1] for values in table(html, "countries-table").values()) and len(quotes) == min(
        count, 20
    )


def test_the_label_filter_offers_the_labels_with_the_chosen_one_selected(history, researcher):
    html = client_for(researcher).get(TARGET, {"label": "oppose"}).content.decode()
    select = re.search(r'<select name="label"[^>]*>(.*?)</select>', html, re.S).group(1)
    options = re.findall(r'<option value="([^"]*)"( selected)?>', select)
    assert [value for value, _ in options] == [
        "",
        *StanceLabel.objects.order_by("order", "id").values_list("slug", flat=True),
    ]
    assert [value for value, chosen in options if chosen] == ["oppose"]


def test_the_quote_list_pages_through(history, researcher):
    client = client_for(researcher)
    first = client.get(TARGET).content.decode()
    assert "54 quotes, newest first" in first and 'rel="next"' in first
    third = client.get(TARGET, {"page": 3}).content.decode()
    assert len(re.findall(r"<li hx-disable>\s*<blockquote>", third)) == 14


@pytest.mark.parametrize("children", ["1", "0"])
def test_the_same_list_from_the_api_is_the_pages_list(history, researcher, children):
    client = client_for(researcher)
    html = client.get(TARGET, {"children": children}).content.decode()
    count = int(re.search(r"(\d+) quotes?, newest first", html).group(1))
    link = re.search(r'<a href="([^"]+)">The same list from the API</a>', html).group(1).replace("&amp;", "&")
    assert ("children=0" in link) == (children == "0")
    ids, url = [], link
    while url:
        body = client.get(url).json()
        ids += [quote["id"] for quote in body["results"]]
        url = body["next"]
    assert len(set(ids)) == len(ids) == count
    # The target alone has fewer quotes than the target with its children, and the API agrees.
    assert count == (27 if children == "0" else 54)


@pytest.mark.parametrize(
    "query",
    ["interval=week", "interval=all", "by=article", "label=no-such-label", "published_after=soon", "children=7"],
)
def test_a_bad_parameter_is_a_400_page_that_names_it(history, researcher, query):
    response = client_for(researcher).get(f"{TARGET}?{query}")
    assert response.status_code == 400
    assert query.split("=")[0] in response.content.decode()


def test_user_strings_are_escaped(history, researcher):
    history["topic"].name = '<script>alert("target")</script>'
    history["topic"].description = "<img src=x onerror=alert(1)>"
    history["topic"].save()
    Speaker.objects.filter(country="IL").update(name='<b onmouseover="alert(2)">Avi</b>')
    client = client_for(researcher)
    for html in (client.get(TARGET).content.decode(), client.get(COMPARE, {"rows": "speaker"}).content.decode()):
        assert "<script>alert" not in html and "<img src=x" not in html and "<b onmouseover" not in html
    assert "&lt;script&gt;alert(&quot;target&quot;)&lt;/script&gt;" in client.get(TARGET).content.decode()


def test_the_target_page_costs_the_same_queries_whatever_the_data(history, researcher):
    client = client_for(researcher)
    client.get(TARGET)
    with CaptureQueriesContext(connection) as small:
        assert client.get(TARGET, {"by": "speaker"}).status_code == 200
    more = TargetFactory(slug="iran-sanctions", name="Sanctions on Iran", parent=history["topic"])
    curated_stance_history(topic=history["topic"], child=more, other=history["other"], months=30)
    with CaptureQueriesContext(connection) as large:
        assert client.get(TARGET, {"by": "speaker"}).status_code == 200
    assert len(large) == len(small)


# --- Compare ---------------------------------------------------------------------


def matrix(html: str) -> dict[tuple[str, str], tuple[str, int]]:
    """The compare matrix as {(row, target): (dominant label, total)}."""
    head = re.search(r'<table[^>]*id="compare-matrix".*?<thead[^>]*>(.*?)</thead>', html, re.S).group(1)
    columns = [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<th[^>]*>(.*?)</th>", head, re.S)][1:]
    body = re.search(r'<table[^>]*id="compare-matrix".*?<tbody[^>]*>(.*?)</tbody>', html, re.S).group(1)
    cells = {}
    for row in re.findall(r"<tr>(.*?)</tr>", body, re.S):
        name = re.sub(r"<[^>]+>", "", re.search(r"<th[^>]*>(.*?)</th>", row, re.S).group(1)).strip()
        for column, cell in zip(columns, re.findall(r"<td[^>]*>(.*?)</td>", row, re.S), strict=True):
            found = re.search(r"<strong>(.*?)</strong> (\d+)", cell)
            if found:
                cells[(name, column)] = (found.group(1), int(found.group(2)))
    return cells


def test_the_matrix_holds_the_apis_counts_and_dominant_labels(history, researcher):
    client = client_for(researcher)
    cells = matrix(client.get(COMPARE).content.decode())
    body = client.get(API, {"interval": "all", "group_by": "country,target"}).json()
    names = {label["slug"]: label["name"] for label in body["labels"]}
    order = [label["slug"] for label in body["labels"]]
    expected: dict[tuple[str, str], dict[str, int]] = {}
    for row in body["results"]:
        counts = expected.setdefault((row["country"] or "Unknown", row["target_name"]), {})
        counts[row["label"]] = counts.get(row["label"], 0) + row["count"]
    assert len(cells) == len(expected)
    for key, counts in expected.items():
        dominant = max(order, key=lambda slug: (counts.get(slug, 0), -order.index(slug)))
        assert cells[key] == (names[dominant], sum(counts.values())), key


def test_a_cell_opens_the_target_page_narrowed_to_its_row(history, researcher):
    client = client_for(researcher)
    html = client.get(COMPARE, {"published_after": "2022-06-01"}).content.decode()
    link = re.search(r'href="(/targets/jcpoa-return/\?[^"]*speaker_country=IL[^"]*)"', html).group(1)
    assert "published_after=2022-06-01" in link and "children=0" in link
    page = client.get(link.replace("&amp;", "&")).content.decode()
    cell = matrix(html)[("IL", "Return to the JCPOA")]
    assert sum(values[-1] for values in table(page, "countries-table").values()) == cell[1]


def test_speakers_as_rows(history, researcher):
    client = client_for(researcher)
    cells = matrix(client.get(COMPARE, {"rows": "speaker"}).content.decode())
    assert ("Avi Dror", "Iran nuclear issue") in cells
    assert sum(total for _, total in cells.values()) == 65


def test_the_date_range_narrows_the_matrix(history, researcher):
    cells = matrix(client_for(researcher).get(COMPARE, {"published_before": "2022-01-31"}).content.decode())
    assert sum(total for _, total in cells.values()) == 4


@pytest.mark.parametrize("query", ["rows=article", "published_after=soon", "target=nothing-here", "kind=shout"])
def test_compare_refuses_bad_parameters_with_a_400(history, researcher, query):
    response = client_for(researcher).get(f"{COMPARE}?{query}")
    assert response.status_code == 400
    assert query.split("=")[0] in response.content.decode()


def test_compare_costs_the_same_queries_whatever_the_data(history, researcher):
    client = client_for(researcher)
    client.get(COMPARE)
    with CaptureQueriesContext(connection) as small:
        client.get(COMPARE)
    for index in range(3):
        curated_stance_history(
            topic=TargetFactory(slug=f"topic-{index}"), child=history["child"], other=history["other"], months=6
        )
    with CaptureQueriesContext(connection) as large:
        client.get(COMPARE)
    assert len(large) == len(small)


@pytest.mark.parametrize("path", [TARGET, COMPARE])
def test_every_api_url_a_page_gives_is_one_the_api_answers(history, researcher, path):
    """A stray parameter on the page (a campaign tag, a pager) never reaches the API
    links, which refuse unknown parameters."""
    client = client_for(researcher)
    html = client.get(path, {"utm_source": "newsletter", "page": "1"}).content.decode()
    urls = set(re.findall(r'value="(/api/v1/stats/stance/\?[^"]*)"', html))
    assert urls
    for url in urls:
        url = url.replace("&amp;", "&")
        assert "utm_source" not in url
        assert client.get(url).status_code == 200, url
