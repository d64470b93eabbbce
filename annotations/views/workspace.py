"""HTML pages. Views stay thin: access comes from the QuerySets in models.py."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db import connection
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.views.decorators.http import require_GET

from ..models import Article, Quote


@login_required
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    articles = (
        Article.objects.visible_to(request.user)
        .annotate(quote_count=Count("quotes", filter=Q(quotes__in=Quote.objects.visible_to(request.user))))
        .order_by("-created_at", "-id")
    )
    page = Paginator(articles, 25).get_page(request.GET.get("page"))
    return TemplateResponse(request, "annotations/home.html", {"page": page})


@login_required
@require_GET
def article_annotate(request: HttpRequest, pk: int) -> HttpResponse:
    article = get_object_or_404(Article.objects.visible_to(request.user), pk=pk)
    quotes = (
        Quote.objects.visible_to(request.user)
        .filter(article=article)
        .select_related("speaker", "speaker_role")
        .prefetch_related("stances__target", "stances__label")
        .in_text_order()
    )
    return TemplateResponse(request, "annotations/article_annotate.html", {"article": article, "quotes": quotes})


@require_GET
def health(request: HttpRequest) -> HttpResponse:
    """For load balancers and the container health check: the database answers."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return HttpResponse("ok", content_type="text/plain")
