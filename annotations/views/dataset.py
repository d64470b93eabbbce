"""The dataset page: where a researcher lands. What is curated, in figures and in
small tables; the agreement of the annotators behind it; the export of every
format the API offers; the frozen releases with their citations; the way to a token.

A filter form takes the quotes API's filters by their API names: the figures,
the tables and the article list follow it, and every export link carries it,
so what a researcher downloads is what the page describes.

Reviewers read it too (they make the curated version). The figures count only
what the user may read, through the same QuerySets as the API, in a number of
queries that doesn't grow with the data.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.core.paginator import Paginator
from django.db.models import Count, Exists, OuterRef, Q
from django.http import HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.views.decorators.http import require_GET

from .. import exporters, services
from ..agreement import load_agreement
from ..filters import DatasetFilter, apply_layer
from ..models import Article, Quote, Release, Speaker, Target
from ..requests import AuthedRequest
from ..roles import is_researcher, is_reviewer, role_required


@role_required(is_reviewer, is_researcher, refusal="The dataset page is for researchers and reviewers.")
@require_GET
def dataset(request: AuthedRequest) -> HttpResponse:
    user = request.user
    visible = Quote.objects.visible_to(user)
    # Only the filters' own parameters: the article list's page number is not a filter.
    data = request.GET.copy()
    data.pop("page", None)
    filterset = DatasetFilter(data, queryset=visible)
    target = None
    if filterset.is_valid():
        quotes, query = filterset.qs, filterset.query()
        target = filterset.form.cleaned_data.get("target")
    else:
        # The whole curated dataset, with the refusal said above it: never a 500.
        quotes, query = apply_layer(visible, Quote.Layer.CURATED), {}
    quotes = quotes.order_by()
    articles = Article.objects.visible_to(user).curated().filter(Exists(quotes.filter(article=OuterRef("pk"))))
    counts = {
        "articles": articles.count(),
        "quotes": quotes.count(),
        "speakers": Speaker.objects.filter(Q(quotes__in=quotes)).distinct().count(),
        "targets": Target.objects.filter(stances__quote__in=quotes).distinct().count(),
    }
    figures = load_agreement(articles, target_ids=target.descendant_ids() if target else None)
    export_url = reverse("api:quote-export")
    exports = [
        {
            "name": fmt.name,
            "description": fmt.description,
            "url": f"{export_url}?{urlencode({'format': fmt.name, **query})}",
        }
        for fmt in exporters.FORMATS.values()
    ]
    # The agreement report takes the same selection under its own names.
    report = {
        "outlet": query.get("outlet", ""),
        "published_from": query.get("published_after", ""),
        "published_to": query.get("published_before", ""),
        "target": target.pk if target else "",
    }
    report_url = reverse("annotations:review-agreement")
    if any(report.values()):
        report_url += "?" + urlencode({name: value for name, value in report.items() if value})
    releases = Release.objects.prefetch_related("files")[:20]
    listed = articles.annotate(curated_quotes=Count("quotes", filter=Q(quotes__in=quotes))).order_by(
        "-published_on", "-id"
    )
    page = Paginator(listed, 25).get_page(request.GET.get("page"))
    context = {
        "form": filterset.form,
        "filtered": bool(query),
        "query": urlencode(query),
        "counts": counts,
        "composition": services.composition(quotes),
        "agreement": figures,
        "agreement_summary": services.agreement_summary(figures),
        "report_url": report_url,
        "exports": exports,
        "releases": releases,
        "page": page,
    }
    return TemplateResponse(request, "annotations/dataset.html", context, status=400 if filterset.errors else 200)
