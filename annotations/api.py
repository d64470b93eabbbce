"""The research API, under /api/v1/ (mounted by config/urls.py at /api/).

Every view starts from ``visible_to(request.user)``: a row a user may not read
is a 404, whatever the id. Writes reuse the model's validation and
``editable_by``; quotes are changed with optimistic locking (If-Match / ETag =
the quote's version). Lists are keyset-paginated on a unique key, so a page
costs the same queries at any depth and a cursor survives inserts.
"""

from __future__ import annotations

import base64
import binascii
import csv
import datetime
import io
import json
import re
import secrets
from collections.abc import Callable, Iterable, Sequence
from typing import Any, cast

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ImproperlyConfigured
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.db.models import Model, Q, QuerySet
from django.http import FileResponse, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.urls import include, path, reverse
from django.utils import timezone
from django.views.decorators.http import require_GET
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from drf_spectacular.views import SpectacularAPIView
from rest_framework import exceptions, mixins, routers, status, viewsets
from rest_framework.decorators import action
from rest_framework.pagination import BasePagination
from rest_framework.parsers import MultiPartParser
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param
from rest_framework.views import APIView

from . import exporters, services, span_importers, stats
from .filters import (
    ARTICLE_ORDERINGS,
    ASSIGNMENT_ORDERINGS,
    QUOTE_ORDERINGS,
    SPEAKER_ORDERINGS,
    ArticleFilter,
    AssignmentFilter,
    Keys,
    QuoteFilter,
    SpeakerFilter,
    StanceStatsFilter,
    TargetFilter,
    apply_layer,
    ordering_exprs,
    stats_query,
)
from .forms import ArticleForm
from .models import (
    Article,
    Assignment,
    Quote,
    Release,
    Speaker,
    StanceLabel,
    Target,
    VersionConflict,
    is_analyst,
    label_counts,
)
from .permissions import AssignmentAccess, ReadOrAnnotate, ReleaseAccess
from .serializers import (
    ArticleCreateSerializer,
    ArticleSerializer,
    AssignmentBulkResultSerializer,
    AssignmentBulkSerializer,
    AssignmentCreateSerializer,
    AssignmentSendBackSerializer,
    AssignmentSerializer,
    EmptyBodySerializer,
    ErrorSerializer,
    QuoteSerializer,
    QuoteWriteSerializer,
    ReleaseCreateSerializer,
    ReleaseSerializer,
    SpanImportReportSerializer,
    SpanImportSerializer,
    SpeakerSerializer,
    StanceLabelSerializer,
    StanceStatsSerializer,
    TargetSerializer,
    VersionConflictSerializer,
    analyst_accounts,
    drf_errors,
    quote_representations,
    quote_rows,
    quotes_by_id,
)
from .statements import Statement

# --- Pagination ------------------------------------------------------------------


def _after(column: str, value: Any, descending: bool, nulls_last: bool) -> Q:
    """Rows strictly after ``value`` in one key's order."""
    if value is None:
        return Q(**{f"{column}__isnull": False}) if not nulls_last else Q(pk__in=[])
    condition = Q(**{f"{column}__{'lt' if descending else 'gt'}": value})
    if nulls_last:
        condition |= Q(**{f"{column}__isnull": True})
    return condition


def _equal(column: str, value: Any) -> Q:
    return Q(**{f"{column}__isnull": True}) if value is None else Q(**{column: value})


def keyset_after(keys: Keys, values: list[Any], *, reverse: bool = False) -> Q:
    """Rows after the row whose key values are ``values``, in the order ``ordering_exprs`` gives."""
    condition = Q(pk__in=[])
    for index, (column, descending) in enumerate(keys):
        step = _after(column, values[index], descending != reverse, not reverse)
        for earlier in range(index):
            step &= _equal(keys[earlier][0], values[earlier])
        condition |= step
    return condition


def _member(request: Request) -> User:
    """The account making the request: IsDemarcheMember, every view's default, admits no anonymous user."""
    if not isinstance(request.user, User):
        raise exceptions.NotAuthenticated
    return request.user


def _page(view: viewsets.GenericViewSet, rows: QuerySet, fetch: Fetch | None = None) -> list[Any]:
    """The page of ``rows`` a list returns: every list here sets KeysetPagination, so there is one."""
    if not isinstance(view.paginator, KeysetPagination):
        raise ImproperlyConfigured(f"{type(view).__name__} lists without KeysetPagination")
    return view.paginator.paginate_queryset(rows, view.request, view=view, fetch=fetch)


def _value_of(row: Model | dict[str, Any], column: str) -> Any:
    if isinstance(row, dict):  # a page read as values
        return row[column]
    value: Any = row
    for part in column.split("__"):
        value = getattr(value, part) if value is not None else None
    return value


class JSONText(Response):
    """An answer holding JSON text written elsewhere (by PostgreSQL: ``exporters.rendered_quotes``).

    DRF renders ``data`` as ever, with ``JSONText.SLOT`` where the text goes (the results of a
    page, or the whole answer), and sets the headers; the text takes the slot's place, with the
    escapes DRF's renderer adds to json.dumps's (the two line separators JavaScript once refused
    in strings)."""

    SLOT = object()

    def __init__(self, data: Any, text: str, status: int | None = None) -> None:
        # A random string stands in for the slot: nothing a client sends can forge it.
        self.marker = f"slot-{secrets.token_hex(16)}"
        super().__init__(self._with_marker(data), status=status)
        self.text = text

    def _with_marker(self, data: Any) -> Any:
        if data is JSONText.SLOT:
            return self.marker
        if isinstance(data, dict):
            return {key: self._with_marker(value) for key, value in data.items()}
        return data

    @property
    def rendered_content(self) -> bytes:  # type: ignore[override]  # DRF renders bytes; the stubs follow Django's str
        content: bytes = super().rendered_content
        marker = f'"{self.marker}"'.encode()
        if not isinstance(self.accepted_renderer, JSONRenderer) or content.count(marker) != 1:
            raise ImproperlyConfigured("JSONText needs DRF's JSON renderer and one slot")
        text = self.text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
        return content.replace(marker, text.encode())


# Reads a page's queryset (ordered, cut to the page) into rows that carry the values of the given lookups.
Fetch = Callable[[QuerySet, list[str]], list[Any]]


class KeysetPagination(BasePagination):
    """Cursor pagination over (sort key…, id): stable under inserts, no COUNT, no OFFSET.

    DRF's CursorPagination keys on one column and skips ties with an offset;
    here every ordering ends on the unique id and the cursor holds the whole
    key, so nullable keys (an article without a date) page correctly too.
    """

    page_size = 100
    max_page_size = 500
    cursor_query_param = "cursor"
    page_size_query_param = "page_size"

    def paginate_queryset(
        self, queryset: QuerySet | Sequence[Any], request: Request, view: Any = None, fetch: Fetch | None = None
    ) -> list[Any]:
        """The page's rows: ``list(queryset)`` ordered, after the cursor and cut to the page, or
        ``fetch(that queryset, the ordering's lookups)``, whose rows carry those lookups' values."""
        if not isinstance(queryset, QuerySet):
            raise TypeError("KeysetPagination orders in the database: it pages querysets, not lists")
        self.request = request
        self.page_size = self._page_size(request)
        orderings: dict[str, Keys] = getattr(view, "orderings", {"id": [("id", False)]})
        self.ordering = request.query_params.get("ordering") or next(iter(orderings))
        if self.ordering not in orderings:
            raise exceptions.ValidationError({"ordering": [f"Use one of {', '.join(orderings)}."]})
        keys = orderings[self.ordering]
        values, reverse = self._decode(request.query_params.get(self.cursor_query_param), keys)
        queryset = queryset.order_by(*ordering_exprs(keys, reverse=reverse))
        if values is not None:
            queryset = queryset.filter(keyset_after(keys, values, reverse=reverse))
        queryset = queryset[: self.page_size + 1]
        rows = fetch(queryset, [column for column, _ in keys]) if fetch else list(queryset)
        more = len(rows) > self.page_size
        rows = rows[: self.page_size]
        if reverse:
            rows.reverse()
        has_next = (more and not reverse) or (reverse and values is not None)
        has_previous = (values is not None and not reverse) or (more and reverse)
        self.next = self._link(rows[-1], keys, False) if rows and has_next else None
        self.previous = self._link(rows[0], keys, True) if rows and has_previous else None
        return rows

    def get_paginated_response(self, data: Any) -> Response:
        return Response({"next": self.next, "previous": self.previous, "results": data})

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        return {
            "type": "object",
            "required": ["next", "previous", "results"],
            "properties": {
                "next": {
                    "type": "string",
                    "format": "uri",
                    "nullable": True,
                    "description": "The next page, or null on the last.",
                    "example": "https://demarche.example.org/api/v1/quotes/?cursor=eyJ2IjpbMTAwXSwiciI6MCwibyI6ImlkIn0",
                },
                "previous": {
                    "type": "string",
                    "format": "uri",
                    "nullable": True,
                    "description": "The previous page, or null on the first.",
                    "example": None,
                },
                "results": schema,
            },
        }

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        return [
            {
                "name": self.cursor_query_param,
                "required": False,
                "in": "query",
                "description": "Opaque cursor from a previous page's next/previous link.",
                "schema": {"type": "string"},
            },
            {
                "name": self.page_size_query_param,
                "required": False,
                "in": "query",
                "description": f"Results per page, 1–{self.max_page_size} (default {self.page_size}).",
                "schema": {"type": "integer", "minimum": 1, "maximum": self.max_page_size},
            },
        ]

    def page_size_of(self, request: Request) -> int:
        """The page size the request asks for (400 if not a whole number within the maximum)."""
        return self._page_size(request)

    def link_after(self, request: Request, ordering: str, last_id: int) -> str:
        """The next page's link after a row with id ``last_id``, for an ordering on id alone."""
        self.request, self.ordering = request, ordering
        return self._link({"id": last_id}, [("id", False)], False)

    def _page_size(self, request: Request) -> int:
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None or raw == "":
            return self.page_size
        # Refused past the maximum rather than clamped, as the schema says and as
        # every other query parameter is: a client asking for 1,000 learns why it gets fewer.
        size = int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 6 else 0
        if not 1 <= size <= self.max_page_size:
            raise exceptions.ValidationError(
                {"page_size": [f"A whole number from 1 to {self.max_page_size} (the maximum), not {raw[:20]!r}."]}
            )
        return size

    def _decode(self, raw: str | None, keys: Keys) -> tuple[list[Any] | None, bool]:
        if not raw:
            return None, False
        invalid = exceptions.ValidationError({"cursor": ["Invalid cursor: use the next or previous link as given."]})
        try:
            payload = json.loads(base64.urlsafe_b64decode(raw.encode("ascii") + b"=" * (-len(raw) % 4)))
            values, reverse, ordering = payload["v"], bool(payload["r"]), payload["o"]
        except (ValueError, KeyError, TypeError, UnicodeEncodeError, binascii.Error):
            raise invalid from None
        if ordering != self.ordering or not isinstance(values, list) or len(values) != len(keys):
            raise invalid
        parsed: list[Any] = []
        for (column, _), value in zip(keys, values, strict=True):
            if column.endswith(("published_on", "_quoted")):  # the dates of the keys
                if value is not None and not isinstance(value, str):
                    raise invalid
                try:
                    parsed.append(None if value is None else datetime.date.fromisoformat(value))
                except ValueError:
                    raise invalid from None
            elif isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**63:
                parsed.append(value)
            else:
                raise invalid
        return parsed, reverse

    def _link(self, row: Model | dict[str, Any], keys: Keys, reverse: bool) -> str:
        values = []
        for column, _ in keys:
            value = _value_of(row, column)
            values.append(value.isoformat() if isinstance(value, datetime.date) else value)
        payload = json.dumps({"v": values, "r": int(reverse), "o": self.ordering}, separators=(",", ":"))
        cursor = base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")
        return replace_query_param(self.request.build_absolute_uri(), self.cursor_query_param, cursor)


# --- Shared behaviour ------------------------------------------------------------


class StrictQueryParamsMixin(APIView):
    """Refuse query parameters the endpoint doesn't define.

    An unknown parameter is usually a typo ("speakr=3") that would otherwise
    return the whole dataset as if filtered; and a lookup such as
    ``annotator__password__startswith`` must never reach the ORM.
    """

    extra_query_params: dict[str, set[str]] = {}

    def allowed_query_params(self) -> set[str]:
        action_name: str | None = getattr(self, "action", None)
        allowed = set(self.extra_query_params.get(action_name, set())) if action_name else set()
        if action_name in {"list", "export"}:
            filterset = getattr(self, "filterset_class", None)
            allowed |= set(filterset.base_filters) if filterset else set()
        if action_name == "list":
            allowed |= {KeysetPagination.cursor_query_param, KeysetPagination.page_size_query_param}
        return allowed

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)  # authentication, permissions, throttling first
        unknown = sorted(set(request.query_params) - self.allowed_query_params())
        if unknown:
            allowed = ", ".join(sorted(self.allowed_query_params())) or "none"
            raise exceptions.ValidationError(
                {"detail": f"Unknown query parameter(s): {', '.join(unknown)}. This endpoint accepts: {allowed}."}
            )


def refuse_raw_layer_for_readers(request: Request) -> None:
    """Researchers read the curated dataset; the annotators' layer is for analysts and reviewers."""
    if request.query_params.get("layer") == Quote.Layer.RAW and not is_analyst(request.user):
        raise exceptions.PermissionDenied(
            "The raw layer (annotators' own quotes) is for reviewers; researchers read the curated layer "
            "(leave out layer, or use layer=curated)."
        )


def quote_etag(quote: Quote) -> str:
    return f'"{quote.version}"'


def with_etag(response: Response, quote: Quote) -> Response:
    response["ETag"] = quote_etag(quote)
    return response


# Any number of digits: a well-formed version that no quote has is a 412, not a 400.
_IF_MATCH = re.compile(r'^\s*(?:W/)?"?(\d+)"?\s*$', re.ASCII)

LAYER_PARAMETER = OpenApiParameter(
    "layer",
    enum=Quote.Layer.values,
    description="curated (default) or raw; raw is refused to researchers (403).",
)
NOT_FOUND = OpenApiResponse(ErrorSerializer, description="No such object, or not one you may read.")
FORBIDDEN = OpenApiResponse(ErrorSerializer, description="Your role may not do this.")
UNAUTHENTICATED = OpenApiResponse(ErrorSerializer, description="No or invalid credentials.")
BAD_REQUEST = OpenApiResponse(
    OpenApiTypes.OBJECT, description="Invalid input or query: field names map to lists of messages."
)
IF_MATCH = OpenApiParameter(
    "If-Match",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    required=True,
    description='The version you read, as GET returned it in ETag, such as "3".',
)

GALLANT_TEXT = (
    "I emphasized to him Israel’s commitment to do whatever it takes to prevent Iran from acquiring nuclear "
    "weapons, while noting the need for the international community to act on the issue"
)
QUOTE_EXAMPLE = OpenApiExample(
    "Gallant's quote in the seed article",
    response_only=True,
    value={
        "id": 1,
        "start": 177,
        "end": 362,
        "text": GALLANT_TEXT,
        "kind": "direct",
        "cue": "said",
        "mention": {"start": 365, "end": 372, "text": "Gallant"},
        "cue_span": {"start": 373, "end": 377, "text": "said"},
        "speaker": {
            "id": 1,
            "name": "Yoav Gallant",
            "country": "IL",
            "wikidata_qid": "",
            "role": {"title": "Minister of Defense", "organisation": "Government of Israel"},
        },
        "addressee": {"id": 5, "name": "Lloyd Austin", "country": "US"},
        "stances": [
            {
                "target": {"slug": "international-action-iran", "name": "International action on Iran"},
                "label": "support",
                "intensity": 2,
                "confidence": None,
                "note": "",
            },
            {
                "target": {"slug": "iran-nuclear-weapons", "name": "Iran acquiring nuclear weapons"},
                "label": "oppose",
                "intensity": 3,
                "confidence": None,
                "note": "",
            },
        ],
        "attribution_group": "",
        "parent": None,
        "article": {
            "id": 1,
            "title": "Austin and Gallant hold first call, focus on Iran",
            "outlet": "",
            "published_on": "2023-01-05",
            "url": "",
        },
        "layer": "curated",
        "annotator": None,
        "curated_from": [3],
        "version": 1,
        "created_at": "2023-01-06T09:30:00Z",
        "updated_at": "2023-01-06T09:30:00Z",
        "offsets_convention": "unicode-code-points, end-exclusive",
    },
)
QUOTE_CREATE_EXAMPLE = OpenApiExample(
    "Mark Gallant's quote",
    request_only=True,
    value={
        "article": 1,
        "start": 177,
        "end": 362,
        "text": GALLANT_TEXT,
        "kind": "direct",
        "speaker": 1,
        "cue": "said",
        "mention": {"start": 365, "end": 372, "text": "Gallant"},
        "cue_span": {"start": 373, "end": 377, "text": "said"},
        "stances": [
            {"target": "iran-nuclear-weapons", "label": "oppose", "intensity": 3},
            {"target": "international-action-iran", "label": "support", "intensity": 2},
        ],
    },
)


EXPORT_MEDIA_TYPES = sorted({fmt.media_type for fmt in exporters.FORMATS.values()})
# What a JSON-aware client finds in each export; the line-based formats are opaque text.
EXPORT_SCHEMAS = {
    "application/json": {"type": "array", "items": {"type": "object"}, "description": "Label Studio tasks."},
    'application/ld+json; profile="http://www.w3.org/ns/anno.jsonld"': {
        "type": "object",
        "description": "A W3C Web Annotation AnnotationCollection.",
    },
}


def export_responses(description: str) -> dict[tuple[int, str], OpenApiResponse]:
    return {
        (200, media_type): OpenApiResponse(EXPORT_SCHEMAS.get(media_type, OpenApiTypes.BINARY), description=description)
        for media_type in EXPORT_MEDIA_TYPES
    }


def list_responses(serializer: type) -> dict[int, Any]:
    return {200: serializer(many=True), 400: BAD_REQUEST, 401: UNAUTHENTICATED, 403: FORBIDDEN}


def detail_responses(serializer: type) -> dict[int, Any]:
    return {200: serializer, 401: UNAUTHENTICATED, 403: FORBIDDEN, 404: NOT_FOUND}


def quotes_for(user: Any, *, article_text: bool = False) -> QuerySet[Quote]:
    return exporters.optimise(Quote.objects.visible_to(user), article_text=article_text)


# --- Quotes ----------------------------------------------------------------------


# The two answers of optimistic locking, shared by PATCH and DELETE.
STALE_VERSION = OpenApiResponse(VersionConflictSerializer, description="Changed by someone else since you read it.")
MISSING_IF_MATCH = OpenApiResponse(ErrorSerializer, description="If-Match is missing.")


def _one_articles_page_query(user: User, article_id: int, layer: str, page_size: int) -> QuerySet[Quote]:
    """The ids of the first page of ``?article=ID&layer=…&page_size=…``, filtered by QuoteFilter."""
    data = {"article": str(article_id), **({"layer": layer} if layer else {})}
    filters = QuoteFilter(data, queryset=Quote.objects.visible_to(user))
    if not filters.is_valid():
        raise ImproperlyConfigured(f"QuoteFilter refused {data}: {filters.errors}")
    ordered = filters.qs.order_by(*ordering_exprs(QUOTE_ORDERINGS["id"]))
    return ordered.values_list("id")[: page_size + 1]


_ONE_ARTICLES_PAGE = Statement(Quote, "one article's quotes, the first page", _one_articles_page_query)
# A write's answer: the quote just written (its writer may read it), with its version.
_WRITTEN_QUOTE = Statement(
    Quote, "a quote just written", lambda _user, pk: Quote.objects.filter(pk=pk).values_list("id", "version")
)


@extend_schema_view(
    list=extend_schema(
        summary="List quotes (curated by default)",
        parameters=[LAYER_PARAMETER],
        examples=[QUOTE_EXAMPLE],
        responses={200: QuoteSerializer(many=True), 400: BAD_REQUEST, 401: UNAUTHENTICATED, 403: FORBIDDEN},
    ),
    retrieve=extend_schema(
        summary="One quote, with its version in ETag",
        examples=[QUOTE_EXAMPLE],
        responses={200: QuoteSerializer, 401: UNAUTHENTICATED, 403: FORBIDDEN, 404: NOT_FOUND},
    ),
)
class QuoteViewSet(StrictQueryParamsMixin, viewsets.GenericViewSet):
    """Quotes: who said what, where in the article, with which stances."""

    serializer_class = QuoteSerializer
    filterset_class = QuoteFilter
    filter_backends = [DjangoFilterBackend]
    pagination_class = KeysetPagination
    permission_classes = [ReadOrAnnotate]
    orderings = QUOTE_ORDERINGS
    lookup_value_regex = r"[0-9]+"
    extra_query_params = {"export": {"format"}, "import_spans": set()}
    queryset = Quote.objects.none()  # for the schema; get_queryset scopes every request

    def get_queryset(self) -> QuerySet[Quote]:
        return quotes_for(self.request.user)

    def list(self, request: Request) -> Response:
        refuse_raw_layer_for_readers(request)
        one_article = self._one_articles_page(request)
        if one_article is not None:
            return one_article
        quotes = self.filter_queryset(Quote.objects.visible_to(request.user))
        if exporters.postgresql_renders(quotes) and isinstance(request.accepted_renderer, JSONRenderer):
            # PostgreSQL writes the page (the JSONL export's SQL, held to quote_representations'
            # bytes): an analyst's most frequent read in one query, with nothing rendered in Python.
            page = _page(self, quotes, fetch=exporters.rendered_quotes)
            envelope = self.get_paginated_response(JSONText.SLOT).data
            return JSONText(envelope, "[" + ",".join(row["json"] for row in page) + "]")
        return self.get_paginated_response(quote_representations(_page(self, quote_rows(quotes))))

    def _one_articles_page(self, request: Request) -> Response | None:
        """The first page of one article's quotes (``?article=ID``, with ``layer`` and
        ``page_size`` or without), the analyst's most frequent read, from a statement compiled
        once per role, layer and page size; the same answer as the general way, which takes
        anything else (and every value the filters would refuse, to refuse it the same)."""
        params = request.query_params
        article, layer = params.get("article", ""), params.get("layer", "")
        if not (
            set(params) <= {"article", "layer", "page_size"}
            and article.isascii()
            and article.isdigit()
            and 0 < int(article) < 2**63
            and layer in {"", *Quote.Layer.values}
            and isinstance(request.accepted_renderer, JSONRenderer)
            and exporters.postgresql_renders(Quote.objects.all())
        ):
            return None
        paginator = cast(KeysetPagination, self.paginator)
        page_size = paginator.page_size_of(request)
        using = Quote.objects.db  # the replica, if there is one (config.db_router)
        sql, values = _ONE_ARTICLES_PAGE.sql(request.user, int(article), shape=(layer, page_size), using=using)
        rows = exporters.rendered_page(sql, values, [], using=using)
        following = None
        if len(rows) > page_size:  # one row past the page: there is a next page
            following = paginator.link_after(request, "id", rows[page_size - 1]["id"])
        envelope = {"next": following, "previous": None, "results": JSONText.SLOT}
        return JSONText(envelope, "[" + ",".join(row["json"] for row in rows[:page_size]) + "]")

    def retrieve(self, request: Request, pk: str) -> Response:
        rows = list(quote_rows(Quote.objects.visible_to(request.user).filter(pk=pk)))
        if not rows:
            raise exceptions.NotFound("No such quote, or not one you may read.")
        (quote,) = quote_representations(rows)
        # The ETag names the version just rendered, not that of a second read.
        return with_etag(Response(quote), Quote(version=quote["version"]))

    @extend_schema(
        summary="Mark a quote (a raw quote of yours)",
        request=QuoteWriteSerializer,
        examples=[QUOTE_CREATE_EXAMPLE],
        responses={
            201: QuoteSerializer,
            400: BAD_REQUEST,
            401: UNAUTHENTICATED,
            403: FORBIDDEN,
        },
    )
    def create(self, request: Request) -> Response:
        serializer = QuoteWriteSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        quote, stances = serializer.validated_data["quote"], serializer.validated_data["stances"]
        if not quote.article.annotatable:  # read with the article (QuoteWriteSerializer)
            raise exceptions.PermissionDenied(
                "You can read this article but not add quotes to it: it is curated, or you have submitted it "
                "(its quotes are locked until a reviewer sends it back)."
            )
        try:
            quote.annotate(by=request.user, stances=stances)
        except DjangoValidationError as error:
            raise exceptions.ValidationError(drf_errors(error)) from None
        response = self._written(quote, code=status.HTTP_201_CREATED)
        response["Location"] = request.build_absolute_uri(reverse("api:quote-detail", args=[quote.pk]))
        return response

    @extend_schema(
        summary="Change a quote (optimistic locking with If-Match)",
        request=QuoteWriteSerializer,
        parameters=[IF_MATCH],
        responses={
            200: QuoteSerializer,
            400: BAD_REQUEST,
            401: UNAUTHENTICATED,
            403: FORBIDDEN,
            404: NOT_FOUND,
            412: STALE_VERSION,
            428: MISSING_IF_MATCH,
        },
    )
    def partial_update(self, request: Request, pk: str) -> Response:
        quote = self._editable(pk)
        expected = self._expected_version(request, quote)
        serializer = QuoteWriteSerializer(quote, data=request.data, partial=True, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        stances = serializer.validated_data["stances"]
        try:
            quote.annotate(by=request.user, expected_version=expected, stances=stances)
        except VersionConflict as conflict:
            raise VersionMismatch(conflict.current.version if conflict.current else None) from None
        except DjangoValidationError as error:
            raise exceptions.ValidationError(drf_errors(error)) from None
        return self._written(quote)

    @extend_schema(
        summary="Delete a quote (optimistic locking with If-Match)",
        parameters=[IF_MATCH],
        responses={
            204: None,
            400: BAD_REQUEST,
            401: UNAUTHENTICATED,
            403: FORBIDDEN,
            404: NOT_FOUND,
            412: STALE_VERSION,
            428: MISSING_IF_MATCH,
        },
    )
    def destroy(self, request: Request, pk: str) -> Response:
        quote = self._editable(pk)
        expected = self._expected_version(request, quote)
        try:
            quote.remove(by=request.user, expected_version=expected)
        except VersionConflict as conflict:
            raise VersionMismatch(conflict.current.version if conflict.current else None) from None
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="Export the filtered quotes as a file (streamed)",
        parameters=[
            OpenApiParameter(
                "format",
                enum=[*exporters.FORMATS],
                required=True,
                description="; ".join(f"{name}: {fmt.description}" for name, fmt in exporters.FORMATS.items()),
            ),
            LAYER_PARAMETER,
        ],
        responses={
            **export_responses("The file, streamed."),
            400: BAD_REQUEST,
            401: UNAUTHENTICATED,
            403: FORBIDDEN,
        },
    )
    @action(detail=False, methods=["get"], url_path="export", pagination_class=None)
    def export(self, request: Request) -> StreamingHttpResponse:
        refuse_raw_layer_for_readers(request)
        fmt = request.query_params.get("format", "")
        if fmt not in exporters.FORMATS:
            raise exceptions.ValidationError({"format": [f"Use one of {', '.join(exporters.FORMATS)}."]})
        queryset = self.filter_queryset(Quote.objects.visible_to(request.user))
        keys = QUOTE_ORDERINGS[request.query_params.get("ordering") or "id"]
        queryset = queryset.order_by(*ordering_exprs(keys))
        layer = request.query_params.get("layer") or Quote.Layer.CURATED
        # The export's own URL, its parameters sorted: the W3C collection's stable id.
        location = request.build_absolute_uri(reverse("api:quote-export"))
        iri = exporters.export_iri(location, request.query_params.dict())
        return export_response(queryset, fmt, f"demarche-quotes-{layer}-{timezone.now():%Y%m%d-%H%M%S}", iri=iri)

    @extend_schema(
        summary="Import spans from doccano or Label Studio as your raw quotes",
        request={"multipart/form-data": SpanImportSerializer},
        responses={
            201: SpanImportReportSerializer,
            400: OpenApiResponse(
                OpenApiTypes.OBJECT,
                description="A refused file: the import report (nothing was written), or field errors "
                "when the upload itself is missing or malformed.",
            ),
            413: OpenApiResponse(ErrorSerializer, description="The file is larger than the import limit."),
            401: UNAUTHENTICATED,
            403: FORBIDDEN,
        },
    )
    @action(
        detail=False,
        methods=["post"],
        url_path="import",
        parser_classes=[MultiPartParser],
        serializer_class=SpanImportSerializer,
    )
    def import_spans(self, request: Request) -> Response:
        serializer = SpanImportSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        upload = serializer.validated_data["file"]
        # Django streams a large upload to a temporary file (the request size
        # limit doesn't count files); the importer reads it whole, so cap it.
        limit = getattr(settings, "IMPORT_MAX_BYTES", 5 * 1024 * 1024)
        if upload.size > limit:
            raise PayloadTooLarge(
                f"The file is {upload.size:,} bytes; the limit is {limit:,}. Split it, or import it with "
                "`manage.py import_spans`."
            )
        report = span_importers.import_spans(upload.read(), serializer.validated_data["format"], user=_member(request))
        return Response(
            SpanImportReportSerializer(report.as_dict()).data,
            status=status.HTTP_201_CREATED if report.ok else status.HTTP_400_BAD_REQUEST,
        )

    def _written(self, quote: Quote, code: int = status.HTTP_200_OK) -> Response:
        """The answer to a write: the quote as stored, read afresh (its writer may read it)."""
        # The ETag names the version just rendered, as retrieve's does.
        quotes = Quote.objects.filter(pk=quote.pk)
        if exporters.postgresql_renders(quotes) and isinstance(self.request.accepted_renderer, JSONRenderer):
            # One query where Python's takes three, compiled once.
            sql, values = _WRITTEN_QUOTE.sql(None, quote.pk, using=quotes.db)
            (row,) = exporters.rendered_page(sql, values, ["version"], using=quotes.db)
            return with_etag(JSONText(JSONText.SLOT, row["json"], status=code), Quote(version=row["version"]))
        (rendered,) = quotes_by_id([quote.pk])
        return with_etag(Response(rendered, status=code), Quote(version=rendered["version"]))

    def _editable(self, pk: str) -> Quote:
        # What a write reads, in two queries: the quote with its article (the
        # text the offsets are checked against) and whether the user may change
        # it; then its stances, which the write compares with the ones sent.
        quote = (
            Quote.objects.visible_to(self.request.user)
            .with_permissions(self.request.user)
            .select_related("article", "speaker", "speaker_role")
            .prefetch_related("stances")
            .filter(pk=pk)
            .first()
        )
        if quote is None:
            raise exceptions.NotFound("No such quote, or not one you may read.")
        if not quote.editable:
            raise exceptions.PermissionDenied(
                "You may read this quote but not change it: analysts change only their own raw quotes, "
                "and only until they submit the article."
            )
        return quote

    def _expected_version(self, request: Request, quote: Quote) -> int:
        header = request.headers.get("If-Match")
        if not header or header.strip() == "*":
            raise PreconditionRequired(
                f'Send If-Match: "<version>" with the version you read (GET returned ETag {quote_etag(quote)}), '
                "so that you don't overwrite someone else's change."
            )
        match = _IF_MATCH.match(header)
        if match is None:
            raise exceptions.ValidationError(
                {"detail": f"If-Match must be the quote's ETag, such as {quote_etag(quote)}, not {header[:40]!r}."}
            )
        # Compared as digits, not converted: "99999999999999999999" is as stale as "2".
        if match.group(1).lstrip("0") != str(quote.version).lstrip("0"):
            raise VersionMismatch(quote.version)
        return quote.version

    def handle_exception(self, exc: Exception) -> Response:
        if isinstance(exc, VersionMismatch):
            # Not an APIException: its body keeps current_version a number.
            current = exc.current_version
            message = (
                f"The quote is at version {current}: someone changed it since you read it."
                if current is not None
                else "The quote was deleted since you read it."
            )
            return Response(
                {"detail": f"{message} Read it again and reapply your change.", "current_version": current},
                status=status.HTTP_412_PRECONDITION_FAILED,
            )
        return super().handle_exception(exc)


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "too_large"


class PreconditionRequired(exceptions.APIException):
    status_code = 428
    default_detail = "If-Match is required."
    default_code = "precondition_required"


class VersionMismatch(Exception):
    """If-Match names an older version; answered by ``QuoteViewSet.handle_exception``."""

    def __init__(self, current_version: int | None) -> None:
        self.current_version = current_version
        super().__init__(current_version)


def export_response(queryset: QuerySet[Quote], fmt: str, basename: str, *, iri: str) -> StreamingHttpResponse:
    spec = exporters.FORMATS[fmt]
    response = StreamingHttpResponse(exporters.export(queryset, fmt, iri=iri), content_type=spec.media_type)
    response["Content-Disposition"] = f'attachment; filename="{basename}.{spec.extension}"'
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "no-store"
    return response


# --- Articles --------------------------------------------------------------------

INCLUDE_PARAMETER = OpenApiParameter(
    "include",
    description="Comma-separated: text, quotes. Lists leave both out (null) unless asked; "
    "a single article always has its text.",
)


@extend_schema_view(
    list=extend_schema(
        summary="List articles",
        parameters=[INCLUDE_PARAMETER],
        responses={200: ArticleSerializer(many=True), 400: BAD_REQUEST, 401: UNAUTHENTICATED, 403: FORBIDDEN},
    ),
    retrieve=extend_schema(
        summary="One article",
        parameters=[INCLUDE_PARAMETER, LAYER_PARAMETER],
        responses={**detail_responses(ArticleSerializer), 400: BAD_REQUEST},
    ),
    create=extend_schema(
        summary="Add an article",
        request=ArticleCreateSerializer,
        responses={201: ArticleSerializer, 400: BAD_REQUEST, 401: UNAUTHENTICATED, 403: FORBIDDEN},
    ),
)
class ArticleViewSet(StrictQueryParamsMixin, viewsets.GenericViewSet):
    serializer_class = ArticleSerializer
    filterset_class = ArticleFilter
    filter_backends = [DjangoFilterBackend]
    pagination_class = KeysetPagination
    permission_classes = [ReadOrAnnotate]
    orderings = ARTICLE_ORDERINGS
    lookup_value_regex = r"[0-9]+"
    extra_query_params = {"list": {"include"}, "retrieve": {"include", "layer"}}
    queryset = Article.objects.none()

    def get_queryset(self) -> QuerySet[Article]:
        return Article.objects.visible_to(self.request.user)

    def _include(self, request: Request, *, default: Iterable[str] = ()) -> set[str]:
        raw = request.query_params.get("include", "")
        include = {part.strip() for part in raw.split(",") if part.strip()} | set(default)
        unknown = include - {"text", "quotes"}
        if unknown:
            raise exceptions.ValidationError(
                {"include": [f"Use text and/or quotes, not {', '.join(sorted(unknown))}."]}
            )
        return include

    def _shape(self, queryset: QuerySet[Article], request: Request, include: set[str]) -> QuerySet[Article]:
        if "text" not in include:
            queryset = queryset.defer("text")
        if "quotes" in include:
            refuse_raw_layer_for_readers(request)
            layer = request.query_params.get("layer") or Quote.Layer.CURATED
            if layer not in Quote.Layer.values:
                raise exceptions.ValidationError({"layer": ["Use curated or raw."]})
        return queryset

    def _quotes_of(self, request: Request, include: set[str], articles: list[Article]) -> dict[int, list[Any]]:
        """include=quotes: the articles' quotes as the quote endpoints render them, in one read."""
        if "quotes" not in include or not articles:
            return {}
        quotes = apply_layer(
            Quote.objects.visible_to(request.user), request.query_params.get("layer") or Quote.Layer.CURATED
        )
        quotes = quotes.filter(article__in=[article.pk for article in articles]).order_by("start", "-end", "id")
        by_article: dict[int, list[Any]] = {}
        for quote in quote_representations(list(quote_rows(quotes))):
            by_article.setdefault(quote["article"]["id"], []).append(quote)
        return by_article

    def list(self, request: Request) -> Response:
        include = self._include(request)
        queryset = self._shape(self.filter_queryset(self.get_queryset()), request, include)
        page = _page(self, queryset)
        context = {
            **self.get_serializer_context(),
            "include": include,
            "quotes": self._quotes_of(request, include, page),
        }
        return self.get_paginated_response(ArticleSerializer(page, many=True, context=context).data)

    def retrieve(self, request: Request, pk: str) -> Response:
        include = self._include(request, default=["text"])
        article = self._shape(self.get_queryset(), request, include).filter(pk=pk).first()
        if article is None:
            raise exceptions.NotFound("No such article, or not one you may read.")
        context = {
            **self.get_serializer_context(),
            "include": include,
            "quotes": self._quotes_of(request, include, [article]),
        }
        return Response(ArticleSerializer(article, context=context).data)

    def create(self, request: Request) -> Response:
        # The serializer checks the JSON types; the browser's form then applies
        # the rules (normalisation, duplicates, limits): one set for every way in.
        body = ArticleCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = {name: body.validated_data.get(name) or "" for name in ArticleForm.Meta.fields}
        data["language"] = data["language"] or Article._meta.get_field("language").get_default()
        published_on = data["published_on"]
        if isinstance(published_on, datetime.date):
            data["published_on"] = published_on.isoformat()
        form = ArticleForm(data=data)
        if not form.is_valid():
            raise exceptions.ValidationError(
                {
                    "non_field_errors" if name == "__all__" else name: [str(message) for message in errors]
                    for name, errors in form.errors.items()
                }
            )
        article = form.save(commit=False)
        article.metadata = body.validated_data.get("metadata") or {}
        article.add_for(request.user)  # as the page does: to the creator's queue, not the pool
        context = {**self.get_serializer_context(), "include": {"text"}}
        response = Response(ArticleSerializer(article, context=context).data, status=status.HTTP_201_CREATED)
        response["Location"] = request.build_absolute_uri(reverse("api:article-detail", args=[article.pk]))
        return response


# --- Speakers and taxonomy (read-only; edited in the admin) -----------------------


class ReadOnlyResource(
    StrictQueryParamsMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    filter_backends = [DjangoFilterBackend]
    pagination_class = KeysetPagination


@extend_schema_view(
    list=extend_schema(summary="List speakers, with aliases and roles", responses=list_responses(SpeakerSerializer)),
    retrieve=extend_schema(summary="One speaker", responses=detail_responses(SpeakerSerializer)),
)
class SpeakerViewSet(ReadOnlyResource):
    """Speakers with their figures in the curated layer the caller may read: the
    same figures as the speaker pages (``Speaker.objects.with_quote_figures``)."""

    serializer_class = SpeakerSerializer
    filterset_class = SpeakerFilter
    orderings = SPEAKER_ORDERINGS
    lookup_value_regex = r"[0-9]+"

    def get_queryset(self) -> QuerySet[Speaker]:
        return Speaker.objects.prefetch_related("aliases", "roles").with_quote_figures(self.request.user)

    def list(self, request: Request) -> Response:
        speakers = _page(self, self.filter_queryset(self.get_queryset()))
        counts = label_counts([speaker.pk for speaker in speakers], request.user)
        context = {**self.get_serializer_context(), "label_counts": counts}
        return self.get_paginated_response(SpeakerSerializer(speakers, many=True, context=context).data)

    def retrieve(self, request: Request, pk: str) -> Response:
        speaker = self.get_object()
        context = {**self.get_serializer_context(), "label_counts": label_counts([speaker.pk], request.user)}
        return Response(SpeakerSerializer(speaker, context=context).data)


@extend_schema_view(
    list=extend_schema(
        summary="List stance targets (a hierarchy: parent is a slug)", responses=list_responses(TargetSerializer)
    ),
    retrieve=extend_schema(summary="One target", responses=detail_responses(TargetSerializer)),
)
class TargetViewSet(ReadOnlyResource):
    serializer_class = TargetSerializer
    filterset_class = TargetFilter
    lookup_field = "slug"
    lookup_value_regex = r"[-a-zA-Z0-9_]+"
    queryset = Target.objects.select_related("parent")


@extend_schema_view(
    list=extend_schema(summary="List stance labels", responses=list_responses(StanceLabelSerializer)),
    retrieve=extend_schema(summary="One stance label", responses=detail_responses(StanceLabelSerializer)),
)
class StanceLabelViewSet(ReadOnlyResource):
    serializer_class = StanceLabelSerializer
    lookup_field = "slug"
    lookup_value_regex = r"[-a-zA-Z0-9_]+"
    queryset = StanceLabel.objects.all()


# --- Releases --------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(summary="List releases", responses=list_responses(ReleaseSerializer)),
    retrieve=extend_schema(summary="One release", responses=detail_responses(ReleaseSerializer)),
)
class ReleaseViewSet(StrictQueryParamsMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Frozen, checksummed snapshots of the curated dataset. Never changed or deleted."""

    serializer_class = ReleaseSerializer
    permission_classes = [ReleaseAccess]
    pagination_class = KeysetPagination
    orderings = {"-id": [("id", True)]}
    lookup_value_regex = r"[0-9]+"
    queryset = Release.objects.select_related("created_by").prefetch_related("files")

    @extend_schema(
        summary="Freeze the curated dataset as a release (reviewers)",
        request=ReleaseCreateSerializer,
        responses={201: ReleaseSerializer, 400: BAD_REQUEST, 401: UNAUTHENTICATED, 403: FORBIDDEN},
    )
    def create(self, request: Request) -> Response:
        serializer = ReleaseCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            release = services.build_release(
                name=data["name"],
                note=data.get("note", ""),
                filters=data.get("filters") or {},
                user=request.user,
                base_url=request.build_absolute_uri("/"),
            )
        except services.ReleaseError as error:
            raise exceptions.ValidationError(error.errors) from None
        release = self.get_queryset().get(pk=release.pk)
        response = Response(self.get_serializer(release).data, status=status.HTTP_201_CREATED)
        response["Location"] = request.build_absolute_uri(reverse("api:release-detail", args=[release.pk]))
        return response

    @extend_schema(
        summary="Download one file of a release, byte for byte as frozen",
        responses={
            **export_responses("The stored file, byte for byte; its SHA-256 is in X-Checksum-SHA256."),
            **{
                (200, document.media_type): OpenApiResponse(
                    OpenApiTypes.STR, description=f"{document.filename}: the release's {document.format}."
                )
                for document in services.RELEASE_DOCUMENTS.values()
            },
            401: UNAUTHENTICATED,
            403: FORBIDDEN,
            404: NOT_FOUND,
        },
    )
    @action(detail=True, methods=["get"], url_path=r"files/(?P<fmt>[a-z0-9]+)", url_name="file")
    def file(self, request: Request, pk: str, fmt: str) -> FileResponse:
        release = self.get_object()
        release_file = release.files.filter(format=fmt).first()
        if release_file is None:
            raise exceptions.NotFound(f"Release {release.name} has no {fmt} file.")
        response = FileResponse(
            release_file.file.open("rb"),
            as_attachment=True,
            filename=services.release_filename(release, fmt),
            content_type=services.release_media_type(fmt),
        )
        response["X-Checksum-SHA256"] = release_file.sha256
        digest = base64.b64encode(bytes.fromhex(release_file.sha256)).decode()
        response["Repr-Digest"] = f"sha-256=:{digest}:"
        response["X-Content-Type-Options"] = "nosniff"
        return response


# --- Assignments -----------------------------------------------------------------


class TransitionRefused(exceptions.APIException):
    """The assignment is not in a status this move starts from (submitted twice, sent back unsubmitted)."""

    status_code = status.HTTP_409_CONFLICT
    default_code = "illegal_transition"


ILLEGAL_TRANSITION = OpenApiResponse(ErrorSerializer, description="The assignment's status doesn't allow this move.")


@extend_schema_view(
    list=extend_schema(
        summary="List assignments (reviewers: all; an analyst: their own)",
        responses=list_responses(AssignmentSerializer),
    ),
    retrieve=extend_schema(summary="One assignment", responses=detail_responses(AssignmentSerializer)),
)
class AssignmentViewSet(
    StrictQueryParamsMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Who annotates which article. Reviewers assign, one at a time or in bulk, with
    the review page's rules (``AssignmentQuerySet.assign``), and send submitted work
    back; an analyst reads their own assignments and submits them."""

    serializer_class = AssignmentSerializer
    filterset_class = AssignmentFilter
    filter_backends = [DjangoFilterBackend]
    pagination_class = KeysetPagination
    permission_classes = [AssignmentAccess]
    orderings = ASSIGNMENT_ORDERINGS
    lookup_value_regex = r"[0-9]+"
    annotator_actions = frozenset({"submit"})  # the writes AssignmentAccess lets an analyst make
    extra_query_params = {"bulk": set(), "send_back": set(), "submit": set()}
    queryset = Assignment.objects.none()

    def get_queryset(self) -> QuerySet[Assignment]:
        return (
            Assignment.objects.visible_to(self.request.user)
            .select_related("article", "annotator", "assigned_by")
            .defer("article__text", "article__metadata")
        )

    def get_object(self) -> Assignment:
        assignment = self.get_queryset().filter(pk=self.kwargs["pk"]).first()
        if assignment is None:
            raise exceptions.NotFound("No such assignment, or not one you may read.")
        return assignment

    def _answer(self, assignment: Assignment, *, status_code: int = status.HTTP_200_OK) -> Response:
        assignment = self.get_queryset().get(pk=assignment.pk)  # read again, as the list shows it
        return Response(AssignmentSerializer(assignment).data, status=status_code)

    @extend_schema(
        summary="Assign an article to an analyst (reviewers)",
        request=AssignmentCreateSerializer,
        responses={201: AssignmentSerializer, 400: BAD_REQUEST, 401: UNAUTHENTICATED, 403: FORBIDDEN},
    )
    def create(self, request: Request) -> Response:
        body = AssignmentCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        created, skipped = Assignment.objects.assign(
            [body.validated_data["article"]], [body.validated_data["annotator"]], assigned_by=_member(request)
        )
        if not created:  # made or curated by someone else since the checks
            raise exceptions.ValidationError({"non_field_errors": skipped})
        response = self._answer(created[0], status_code=status.HTTP_201_CREATED)
        response["Location"] = request.build_absolute_uri(reverse("api:assignment-detail", args=[created[0].pk]))
        return response

    @extend_schema(
        summary="Assign articles in bulk, as the review page does (reviewers)",
        description="Answers 201 when anything was assigned, 200 when everything was skipped; "
        "`skipped` says why for each article or analyst left out.",
        request=AssignmentBulkSerializer,
        responses={
            201: AssignmentBulkResultSerializer,
            200: AssignmentBulkResultSerializer,
            400: BAD_REQUEST,
            401: UNAUTHENTICATED,
            403: FORBIDDEN,
        },
    )
    @action(detail=False, methods=["post"], url_path="bulk")
    def bulk(self, request: Request) -> Response:
        body = AssignmentBulkSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        annotators = data.get("annotators") or list(analyst_accounts().order_by("username", "id"))
        created, skipped = Assignment.objects.assign(
            data["articles"], annotators, per_article=data.get("per_article"), assigned_by=_member(request)
        )
        rows = self.get_queryset().filter(pk__in=[assignment.pk for assignment in created]).order_by("id")
        return Response(
            {"created": AssignmentSerializer(rows, many=True).data, "skipped": skipped},
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )

    @extend_schema(
        summary="Send a submitted assignment back to its analyst, with a comment (reviewers)",
        request=AssignmentSendBackSerializer,
        responses={
            200: AssignmentSerializer,
            400: BAD_REQUEST,
            401: UNAUTHENTICATED,
            403: FORBIDDEN,
            404: NOT_FOUND,
            409: ILLEGAL_TRANSITION,
        },
    )
    @action(detail=True, methods=["post"], url_path="send-back", url_name="send-back")
    def send_back(self, request: Request, pk: str) -> Response:
        assignment = self.get_object()
        body = AssignmentSendBackSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        with transaction.atomic():
            # The model would also move an assignment that was never submitted to
            # "in progress"; the review page offers only submitted ones, and so does
            # this, on the status read under the lock that move_to then holds.
            locked = Assignment.objects.select_for_update().get(pk=assignment.pk)
            if locked.status != Assignment.Status.SUBMITTED:
                raise TransitionRefused(
                    f"Only a submitted assignment is sent back; this one is {locked.get_status_display().lower()}."
                )
            locked.move_to(Assignment.Status.IN_PROGRESS, comment=body.validated_data["comment"])
        return self._answer(locked)

    @extend_schema(
        summary="Submit your assignment: its quotes go to review and are locked (its analyst)",
        request=None,
        responses={
            200: AssignmentSerializer,
            400: BAD_REQUEST,
            401: UNAUTHENTICATED,
            403: FORBIDDEN,
            404: NOT_FOUND,
            409: ILLEGAL_TRANSITION,
        },
    )
    @action(detail=True, methods=["post"])
    def submit(self, request: Request, pk: str) -> Response:
        assignment = self.get_object()
        if assignment.annotator_id != request.user.pk:
            raise exceptions.PermissionDenied(
                "Only the assignment's analyst submits it, as on the annotate page; a reviewer sends work back."
            )
        EmptyBodySerializer(data=request.data).is_valid(raise_exception=True)
        try:
            assignment.move_to(Assignment.Status.SUBMITTED)
        except DjangoValidationError as error:
            # move_to read the status again under its lock: say what it found.
            hint = " A reviewer can send it back." if assignment.status == Assignment.Status.SUBMITTED else ""
            raise TransitionRefused(" ".join(error.messages) + hint) from None
        return self._answer(assignment)


# --- Statistics ------------------------------------------------------------------


STATS_FORMAT = OpenApiParameter("format", enum=["json", "csv"], description="json (default) or csv.")


class StanceStatsView(StrictQueryParamsMixin, APIView):
    """Counts of curated stances by period and label, and by speaker, country or target."""

    permission_classes = [ReadOrAnnotate]
    filter_backends = [DjangoFilterBackend]  # for the schema's parameters; stats_query applies the filter
    filterset_class = StanceStatsFilter
    queryset = Quote.objects.none()

    def allowed_query_params(self) -> set[str]:
        return set(StanceStatsFilter.base_filters) | {"format"}

    @extend_schema(
        summary="Count curated stances by period, label and group (JSON or CSV)",
        description="Curated stances on curated, dated articles, with the quote list's filters. With target, "
        "only the stances toward it (and the targets below it, unless children=0); with label, only that "
        "label. A quote counts once per stance in scope.",
        filters=True,
        parameters=[STATS_FORMAT],
        responses={
            (200, "application/json"): StanceStatsSerializer,
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="The rows with a header line."),
            400: BAD_REQUEST,
            401: UNAUTHENTICATED,
            403: FORBIDDEN,
        },
    )
    def get(self, request: Request) -> HttpResponse:
        fmt = request.query_params.get("format") or "json"
        if fmt not in {"json", "csv"}:
            raise exceptions.ValidationError({"format": ["Use json or csv."]})
        filterset, stances = stats_query(request.query_params, request.user)
        if not filterset.is_valid():
            raise exceptions.ValidationError(filterset.errors)
        data = filterset.form.cleaned_data
        interval = data.get("interval") or "month"
        group_by = [group for group in stats.GROUPS if group in (data.get("group_by") or [])]
        rows = stats.stance_counts(stances, interval=interval, group_by=group_by)
        if fmt == "csv":
            return stats_csv_response(rows, group_by, f"demarche-stance-{interval}-{timezone.now():%Y%m%d-%H%M%S}")
        return Response(
            {
                "interval": interval,
                "group_by": group_by,
                "labels": StanceLabelSerializer(StanceLabel.objects.all(), many=True).data,
                "results": [row.as_dict(group_by) for row in rows],
            }
        )


def stats_csv_response(rows: list[stats.StanceCount], group_by: list[str], basename: str) -> HttpResponse:
    """The rows as CSV, cells exact (as the quote export's CSV: no apostrophes against formulas)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    columns = stats.csv_columns(group_by)
    writer.writerow(columns)
    for row in rows:
        values = row.as_dict(group_by)
        writer.writerow(["" if values[column] is None else values[column] for column in columns])
    response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{basename}.csv"'
    response["X-Content-Type-Options"] = "nosniff"
    return response


# --- Routes ----------------------------------------------------------------------


class Router(routers.DefaultRouter):
    include_format_suffixes = False  # no ".json" routes: JSON is the only format


router = Router()
router.register("articles", ArticleViewSet, basename="article")
router.register("quotes", QuoteViewSet, basename="quote")
router.register("speakers", SpeakerViewSet, basename="speaker")
router.register("targets", TargetViewSet, basename="target")
router.register("stance-labels", StanceLabelViewSet, basename="stance-label")
router.register("releases", ReleaseViewSet, basename="release")
router.register("assignments", AssignmentViewSet, basename="assignment")


@require_GET
def api_docs(request: HttpRequest) -> HttpResponse:
    """Swagger UI over /api/schema/, from vendored files (no outside network).

    Served under the site's strict CSP, unrelaxed: the init script is a static
    file with the nonce, and Swagger UI (React) sets styles through the CSSOM,
    which style-src 'self' allows — checked in Chromium with no violations.
    """
    return render(request, "annotations/api_docs.html", {"schema_url": reverse("api:schema")})


# The spelling, without the trailing slash: a redirect would drop a
# POST body, and scripts shouldn't depend on following one. Left out of the
# schema (see ``schema_without_aliases``), which lists the canonical paths.
ALIASES = [
    path("v1/quotes/export", QuoteViewSet.as_view({"get": "export"}), name="quote-export-alias"),
    path("v1/quotes/import", QuoteViewSet.as_view({"post": "import_spans"}), name="quote-import-alias"),
    path(
        "v1/releases/<int:pk>/files/<str:fmt>",
        ReleaseViewSet.as_view({"get": "file"}),
        name="release-file-alias",
    ),
]


def schema_without_aliases(endpoints: list[tuple[str, str, str, Any]], **kwargs: Any) -> list[tuple]:
    """drf-spectacular preprocessing hook: document each operation once."""
    return [endpoint for endpoint in endpoints if endpoint[0].endswith("/")]


app_name = "api"
urlpatterns = [
    *ALIASES,
    path("v1/stats/stance/", StanceStatsView.as_view(), name="stats-stance"),
    path("v1/", include(router.urls)),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", api_docs, name="docs"),
]
