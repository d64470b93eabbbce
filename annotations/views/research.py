"""The research pages over the curated dataset: a target's page and the compare matrix.

Every figure comes from ``annotations.stats`` through ``api.stats_query``, the
function behind ``/api/v1/stats/stance/``, with the same parameters: each chart
and table links to the API URL that gives its numbers, and a test holds them
equal. Whoever reads curated quotes (analysts, reviewers, researchers) reads
these pages; the taxonomy is shared, so an unknown target is a 404 for all.
"""

from __future__ import annotations

from typing import Any

from django.core.paginator import Paginator
from django.db.models import Prefetch
from django.http import HttpResponse, QueryDict
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import reverse
from django.views.decorators.http import require_GET

from .. import stats
from ..filters import StanceStatsFilter, stats_query
from ..models import Stance, StanceLabel, Target
from ..requests import AuthedRequest
from ..roles import reads_curated, role_required

curated_readers_required = role_required(
    reads_curated, refusal="The statistics are for readers of the curated dataset: analysts, reviewers, researchers."
)

# The page's own parameters, which the API doesn't take.
TARGET_PAGE_PARAMS = {"by", "page"}
COMPARE_PAGE_PARAMS = {"rows"}
# The filters the target page's form offers (target is the page's own; children is a toggle).
TARGET_FILTERS = ("speaker_country", "label", "kind", "outlet", "published_after", "published_before", "q")
COMPARE_FILTERS = ("target", "kind", "outlet", "published_after", "published_before")
MOST_SPEAKERS = 25
COMPARE_ROWS = 30
COMPARE_COLUMNS = 12


def api_params(params: QueryDict, page_only: set[str], **fixed: str) -> QueryDict:
    """The page's query string as the API takes it: only the statistics' own parameters
    (the API refuses any other, a stray ``utm_source`` included), less the page's own,
    and ``fixed`` in."""
    query = QueryDict(mutable=True)
    for name in params:
        if name in StanceStatsFilter.base_filters and name not in page_only:
            query.setlist(name, params.getlist(name))
    for name, value in fixed.items():
        if value:
            query[name] = value
        else:
            query.pop(name, None)
    return query


def api_links(query: QueryDict) -> dict[str, str]:
    """The API URL of a figure (for "copy API URL") and its CSV download."""
    url = reverse("api:stats-stance")
    csv = query.copy()
    csv["format"] = "csv"
    return {"url": f"{url}?{query.urlencode()}", "csv": f"{url}?{csv.urlencode()}"}


def bad_request(request: AuthedRequest, template: str, context: dict[str, Any]) -> TemplateResponse:
    return TemplateResponse(request, template, context, status=400)


def choice(params: QueryDict, name: str, choices: tuple[str, ...], default: str) -> str | None:
    """A page parameter from a fixed set: its value, the default when absent, None when invalid."""
    value = params.get(name) or default
    return value if value in choices else None


@curated_readers_required
@require_GET
def target_detail(request: AuthedRequest, slug: str) -> HttpResponse:
    target = get_object_or_404(Target.objects.select_related("parent"), slug=slug)
    ancestors: list[Target] = []
    parent = target.parent
    while parent is not None and len(ancestors) < 20:  # a cycle can't be saved (Target.clean); the cap is a guard
        ancestors.insert(0, parent)
        parent = Target.objects.filter(pk=parent.parent_id).first() if parent.parent_id else None
    children = list(target.children.all())
    labels = list(StanceLabel.objects.all())
    by = choice(request.GET, "by", stats.SERIES, "label")
    interval = request.GET.get("interval") or "month"
    query = api_params(request.GET, TARGET_PAGE_PARAMS, target=target.slug)
    filterset, stances = stats_query(query, request.user)
    context: dict[str, Any] = {
        "target": target,
        "ancestors": ancestors,
        "children": children,
        "labels": labels,
        "form": filterset.form,
        "filter_names": TARGET_FILTERS,
        "by": by,
        "interval": interval,
        "series_choices": stats.SERIES,
        "interval_choices": [name for name in stats.INTERVALS if name != "all"],
        "with_children": request.GET.get("children") != "0",
    }
    if by is None or interval == "all" or not filterset.is_valid():
        errors = [] if by is not None else ["by: use label, country or speaker."]
        if interval == "all":
            errors.append("interval: a chart over time takes month, quarter or year.")
        context["errors"] = errors + [
            f"{name}: {message}" for name, messages in filterset.errors.items() for message in messages
        ]
        return bad_request(request, "annotations/target_detail.html", context)

    # Who takes a stance on it: one query, summed into speakers and countries.
    totals = stats.stance_counts(stances, interval="all", group_by=["speaker", "country"])
    speakers = stats.groups_of(totals, "speaker", labels)
    countries = stats.groups_of(totals, "country", labels)
    totals_query = api_params(query, set(), interval="all", group_by="speaker,country")

    over_time_query = api_params(query, set(), interval=interval, group_by="" if by == "label" else by)
    over_time = stats.stance_over_time(
        stats.stance_counts(stances, interval=interval, group_by=[] if by == "label" else [by]),
        interval=interval,
        by=by,
        labels=labels,
    )

    target_ids = filterset.target_ids(target)
    quotes = (
        filterset.qs.select_related("speaker", "article")
        .defer("article__text", "article__metadata")
        .prefetch_related(
            Prefetch(
                "stances",
                queryset=Stance.objects.filter(target_id__in=sorted(target_ids)).select_related("label", "target"),
                to_attr="stances_here",
            )
        )
        .order_by("-article__published_on", "-id")
    )
    page = Paginator(quotes, 20).get_page(request.GET.get("page"))
    # The quote list's API takes the filters but not the statistics' own parameters.
    quotes_query = api_params(query, {"interval", "group_by"})
    context.update(
        {
            "speakers": speakers[:MOST_SPEAKERS],
            "more_speakers": max(0, len(speakers) - MOST_SPEAKERS),
            "countries": countries,
            "totals_api": api_links(totals_query),
            "over_time": over_time,
            "over_time_api": api_links(over_time_query),
            "page": page,
            "quotes_api": f"{reverse('api:quote-list')}?{quotes_query.urlencode()}",
        }
    )
    return TemplateResponse(request, "annotations/target_detail.html", context)


@curated_readers_required
@require_GET
def compare(request: AuthedRequest) -> HttpResponse:
    rows_by = choice(request.GET, "rows", ("country", "speaker"), "country")
    query = api_params(request.GET, COMPARE_PAGE_PARAMS, interval="all", group_by=f"{rows_by},target")
    filterset, stances = stats_query(query, request.user)
    labels = list(StanceLabel.objects.all())
    context: dict[str, Any] = {
        "form": filterset.form,
        "filter_names": COMPARE_FILTERS,
        "rows_by": rows_by,
        "labels": labels,
        "targets": Target.objects.filter(parent__isnull=True).order_by("name"),
    }
    if rows_by is None or not filterset.is_valid():
        context["errors"] = (["rows: use country or speaker."] if rows_by is None else []) + [
            f"{name}: {message}" for name, messages in filterset.errors.items() for message in messages
        ]
        return bad_request(request, "annotations/compare.html", context)

    counted = stats.stance_counts(stances, interval="all", group_by=[rows_by, "target"])
    row_groups = stats.groups_of(counted, rows_by)
    column_groups = stats.groups_of(counted, "target")
    shown_rows, shown_columns = row_groups[:COMPARE_ROWS], column_groups[:COMPARE_COLUMNS]
    cells: dict[tuple[Any, Any], stats.Group] = {}
    for row in counted:
        key = (stats.group_key(row, rows_by)[0], row.target)
        summed = cells.setdefault(key, stats.Group(key, ""))
        summed.counts[row.label] = summed.counts.get(row.label, 0) + row.count

    # A cell's quotes: the target's page, narrowed to the row's country or speaker and the same filters.
    link_filters = QueryDict(mutable=True)
    for name in ("kind", "outlet", "published_after", "published_before"):
        if request.GET.get(name):
            link_filters[name] = request.GET[name]
    link_filters["children"] = "0"
    matrix = []
    for group in shown_rows:
        line = []
        for column in shown_columns:
            cell = cells.get((group.key, column.key))
            link = None
            if cell is not None and group.key not in (None, ""):
                narrowed = link_filters.copy()
                narrowed["speaker_country" if rows_by == "country" else "speaker"] = str(group.key)
                link = f"{reverse('annotations:target-detail', args=[column.key])}?{narrowed.urlencode()}"
            dominant = cell.dominant(labels) if cell else None
            line.append(
                {
                    "total": cell.total if cell else 0,
                    "slug": dominant.slug if dominant else "",
                    "name": dominant.name if dominant else "",
                    # Composed here, not in the template: a matrix has hundreds of cells.
                    "counts": ", ".join(
                        f"{label.name.lower()} {count}" for label, count in cell.label_counts(labels) if count
                    )
                    if cell
                    else "",
                    "link": link,
                }
            )
        matrix.append((group, line))
    context.update(
        {
            "columns": shown_columns,
            "matrix": matrix,
            "hidden_rows": max(0, len(row_groups) - COMPARE_ROWS),
            "hidden_columns": max(0, len(column_groups) - COMPARE_COLUMNS),
            "api": api_links(query),
        }
    )
    return TemplateResponse(request, "annotations/compare.html", context)
