"""The dataset page: where a researcher lands. What is curated, in figures; the
export of every format the API offers; the frozen releases; the way to a token.

Reviewers read it too (they make the curated version). The figures count only
what the user may read, through the same QuerySets as the API.
"""

from __future__ import annotations

from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.views.decorators.http import require_GET

from .. import exporters
from ..models import Article, Quote, Release, Speaker, Stance, Target
from ..requests import AuthedRequest
from ..roles import is_researcher, is_reviewer, role_required


@role_required(is_reviewer, is_researcher, refusal="The dataset page is for researchers and reviewers.")
@require_GET
def dataset(request: AuthedRequest) -> HttpResponse:
    user = request.user
    quotes = Quote.objects.visible_to(user).curated()
    articles = Article.objects.visible_to(user).curated()
    counts = {
        "articles": articles.count(),
        "quotes": quotes.count(),
        "speakers": Speaker.objects.filter(Q(quotes__in=quotes)).distinct().count(),
        "targets": Target.objects.filter(stances__quote__in=quotes).distinct().count(),
    }
    by_label = (
        Stance.objects.filter(quote__in=quotes)
        .values("label__name", "label__slug")
        .annotate(count=Count("pk"))
        .order_by("label__order", "label__name")
    )
    export_url = reverse("api:quote-export")
    exports = [
        {"name": fmt.name, "description": fmt.description, "url": f"{export_url}?format={fmt.name}"}
        for fmt in exporters.FORMATS.values()
    ]
    releases = Release.objects.prefetch_related("files")[:20]
    listed = articles.annotate(
        curated_quotes=Count("quotes", filter=Q(quotes__is_curated=True, quotes__in=quotes))
    ).order_by("-published_on", "-id")
    page = Paginator(listed, 25).get_page(request.GET.get("page"))
    return TemplateResponse(
        request,
        "annotations/dataset.html",
        {"counts": counts, "by_label": by_label, "exports": exports, "releases": releases, "page": page},
    )
