"""FilterSets for the API, the exports, the export command and releases.

Every filter is declared here by name; none is generated from model fields and
none takes a ``__`` lookup from the caller, so a query string can't reach a
field (``annotator__password``) that is not listed. The API also refuses any
query parameter these sets don't name (``annotations.api``).

The quote filters run on a queryset that is already limited to what the user
may read (``Quote.objects.visible_to``); they only ever narrow it.
"""

from __future__ import annotations

import copy
from collections import OrderedDict
from typing import Any, ClassVar, cast

import django_filters as filters
from django import forms
from django.contrib.auth import get_user_model
from django.contrib.postgres.search import SearchQuery, SearchVector
from django.db import connection
from django.db.models import Exists, F, OrderBy, OuterRef, Q, QuerySet
from django.http import QueryDict
from django_filters.filters import QuerySetRequestMixin

from .forms import AgreementFilterForm
from .models import (
    Article,
    Assignment,
    Quote,
    QuoteQuerySet,
    Speaker,
    SpeakerAlias,
    SpeakerRole,
    Stance,
    StanceLabel,
    Target,
)
from .roles import reads_curated
from .stats import GROUPS, INTERVALS, Scope, TallyFilter, stances_in_scope
from .tallies import whole_months

Keys = list[tuple[str, bool]]

# Orderings a client may ask for, as (column, descending) keys for the keyset
# paginator (annotations.api). Each ends on the unique id, so the order is total.
QUOTE_ORDERINGS: dict[str, Keys] = {
    "id": [("id", False)],
    "-id": [("id", True)],
    "start": [("start", False), ("id", False)],
    "-start": [("start", True), ("id", False)],
    "published_on": [("article__published_on", False), ("id", False)],
    "-published_on": [("article__published_on", True), ("id", False)],
}
ARTICLE_ORDERINGS: dict[str, Keys] = {
    "id": [("id", False)],
    "-id": [("id", True)],
    "published_on": [("published_on", False), ("id", False)],
    "-published_on": [("published_on", True), ("id", False)],
}
ASSIGNMENT_ORDERINGS: dict[str, Keys] = {"id": [("id", False)], "-id": [("id", True)]}
SPEAKER_ORDERINGS: dict[str, Keys] = {
    "id": [("id", False)],
    "-quote_count": [("quote_count", True), ("id", False)],
    "quote_count": [("quote_count", False), ("id", False)],
    "-last_quoted": [("last_quoted", True), ("id", False)],
    "last_quoted": [("last_quoted", False), ("id", False)],
}


def ordering_exprs(keys: Keys, *, reverse: bool = False) -> list[OrderBy]:
    """ORDER BY for keyset keys. NULLs sort last going forward (first going back)."""
    nulls = {"nulls_first": True} if reverse else {"nulls_last": True}
    return [F(column).desc(**nulls) if descending != reverse else F(column).asc(**nulls) for column, descending in keys]


# PostgreSQL's 'simple' configuration: no stemming and no stop words, so a
# search means the same for Hebrew and English articles and matches what the
# SQLite fallback (word containment) finds.
SEARCH_CONFIG = "simple"


def apply_layer(queryset: QuoteQuerySet, layer: str) -> QuoteQuerySet:
    """The curated dataset (curated quotes on curated articles) or the annotators' layer."""
    if layer == Quote.Layer.RAW:
        return queryset.raw_layer()
    return queryset.curated_dataset()


def search_text(queryset: QuerySet, field: str, value: str) -> QuerySet:
    """Full-text search over ``field``: web-search syntax on PostgreSQL, word containment elsewhere."""
    value = value.strip()
    if not value:
        return queryset
    if connection.vendor == "postgresql":
        vector = SearchVector(field, config=SEARCH_CONFIG)
        query = SearchQuery(value, search_type="websearch", config=SEARCH_CONFIG)
        return queryset.annotate(_search=vector).filter(_search=query)
    # SQLite: every word must appear (websearch's default AND); quotes and a
    # leading "-" of the PostgreSQL syntax are dropped rather than misread.
    for word in value.replace('"', " ").split():
        word = word.lstrip("-")
        if word and word.lower() != "or":
            queryset = queryset.filter(**{f"{field}__icontains": word})
    return queryset


def _unfiltered(queryset: QuerySet, name: str, value: Any) -> QuerySet:
    """For parameters that the FilterSet validates but ``filter_queryset`` or the paginator applies."""
    return queryset


# --- What an article is filtered by, defined once -------------------------------
#
# The API's article and quote lists and the agreement report all narrow
# articles by outlet and by publication date. Each FilterSet declares these
# under its own parameter name (and, for quotes, through ``article__``), but
# the column and the comparison are written only here.


def outlet_filter(
    prefix: str = "", *, filter_class: type[filters.Filter] = filters.CharFilter, **extra: Any
) -> filters.Filter:
    """The whole outlet name, in any case: "times of israel" finds "Times of Israel"."""
    extra.setdefault("help_text", "Exact outlet name.")
    return filter_class(field_name=f"{prefix}outlet", lookup_expr="iexact", **extra)


def published_after_filter(prefix: str = "", **extra: Any) -> filters.DateFilter:
    """Articles published on or after the date (articles without a date never match)."""
    return filters.DateFilter(field_name=f"{prefix}published_on", lookup_expr="gte", **extra)


def published_before_filter(prefix: str = "", **extra: Any) -> filters.DateFilter:
    """Articles published on or before the date (articles without a date never match)."""
    return filters.DateFilter(field_name=f"{prefix}published_on", lookup_expr="lte", **extra)


class IdFilter(filters.NumberFilter):
    """A row id: a whole number in the database's range (NumberFilter would take 1.5)."""

    field_class = forms.IntegerField  # type: ignore[assignment]  # stubs pin NumberFilter to DecimalField; any form field works

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", 2**63 - 1)
        super().__init__(*args, **kwargs)


class FilterSet(filters.FilterSet):
    """django-filter's FilterSet without the work it repeats on every request.

    django-filter deep-copies every filter for each request and then builds a new
    form class from them (a ``type()`` call and a form field per filter): over 1 ms
    of an API list that takes about 9. A filter's own state in a request is its
    filterset, its model and its ``extra`` (which ``__init__`` methods change), so a
    shallow copy of each, with ``extra`` copied, keeps requests apart. A FilterSet
    whose ``__init__`` is this one changes no filter, so its form class is the same
    for every request and is made once; a subclass that relabels its filters or
    reads choices from the database in ``__init__`` (or a filter whose queryset
    depends on the request) still gets a form class of its own each time.
    """

    _form_classes: ClassVar[dict[type, type[forms.Form]]] = {}

    def __init__(
        self, data: Any = None, queryset: QuerySet | None = None, *, request: Any = None, prefix: str | None = None
    ) -> None:
        if queryset is None:
            queryset = self._meta.model._default_manager.all()  # type: ignore[attr-defined]  # FilterSetMetaclass sets _meta
        self.is_bound = data is not None
        self.data = data or QueryDict()
        self.queryset = queryset
        self.request = request
        self.form_prefix = prefix
        self.filters = OrderedDict()
        for name, base_filter in self.base_filters.items():
            filter_ = copy.copy(base_filter)
            filter_.extra = dict(base_filter.extra)
            filter_.__dict__.pop("_field", None)  # built from this copy's extra when asked
            if filter_.method is not None:
                filter_.method = filter_.method  # a FilterMethod of this copy's, which finds this filterset
            # What django-filter's own __init__ sets on each filter (the stubs don't declare them).
            filter_.model = queryset.model  # type: ignore[attr-defined]
            filter_.parent = self  # type: ignore[attr-defined]
            self.filters[name] = filter_

    def get_form_class(self) -> type[forms.Form]:
        cls = type(self)
        cacheable = cls.__init__ is FilterSet.__init__ and not any(
            isinstance(filter_, QuerySetRequestMixin) for filter_ in self.filters.values()
        )
        if not cacheable:
            return super().get_form_class()
        if cls not in FilterSet._form_classes:
            FilterSet._form_classes[cls] = super().get_form_class()
        return FilterSet._form_classes[cls]


class QuoteFilterForm(forms.Form):
    """Checks that need more than one field, or a lookup with a clear message."""

    def clean_target(self) -> Target | None:
        slug = self.cleaned_data.get("target")
        if not slug:
            return None
        target = Target.objects.filter(slug=slug).first()
        if target is None:
            # The slug goes in params, never into the message: django-filter
            # formats messages with %, and a slug may contain "%s".
            raise forms.ValidationError("unknown target '%(slug)s'", code="unknown_target", params={"slug": slug})
        return target

    def clean_label(self) -> StanceLabel | None:
        slug = self.cleaned_data.get("label")
        if not slug:
            return None
        label = StanceLabel.objects.filter(slug=slug).first()
        if label is None:
            raise forms.ValidationError("unknown label '%(slug)s'", code="unknown_label", params={"slug": slug})
        return label

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        if data.get("annotator") and data.get("layer") != Quote.Layer.RAW:
            self.add_error("annotator", "The annotator filter applies to the raw layer: add layer=raw.")
        return data


class QuoteFilter(FilterSet):
    layer = filters.ChoiceFilter(
        choices=Quote.Layer.choices,
        method=_unfiltered,
        help_text="curated (default): the reviewed dataset. "
        "raw: annotators' quotes (reviewers; analysts see their own).",
    )
    article = IdFilter(field_name="article_id", help_text="Quotes of this article (id).")
    speaker = IdFilter(field_name="speaker_id", help_text="Quotes attributed to this speaker (id).")
    speaker_country = filters.CharFilter(
        method="filter_speaker_country", help_text="The speaker's ISO 3166-1 alpha-2 country, such as IL."
    )
    target = filters.CharFilter(
        method=_unfiltered,
        help_text="Target slug; includes the targets below it (iran-nuclear finds jcpoa-return) unless children=0.",
    )
    children = filters.ChoiceFilter(
        choices=[("1", "with the targets below it"), ("0", "the target alone")],
        method=_unfiltered,
        help_text="With target: 1 (default) takes the targets below it too; 0 the target alone.",
    )
    label = filters.CharFilter(
        method=_unfiltered,
        help_text="Stance label slug, such as oppose. With target: that stance toward that target.",
    )
    kind = filters.ChoiceFilter(choices=Quote.Kind.choices, help_text="direct, indirect or mixed.")
    outlet = outlet_filter("article__")
    published_after = published_after_filter("article__", help_text="Articles published on or after (YYYY-MM-DD).")
    published_before = published_before_filter("article__", help_text="Articles published on or before (YYYY-MM-DD).")
    annotator = filters.CharFilter(
        method="filter_annotator", help_text="Annotator's username (raw layer only; analysts see only their own)."
    )
    q = filters.CharFilter(
        method="filter_q",
        help_text='Full-text search in the quote text (PostgreSQL web-search syntax: "exact phrase", -word, or).',
    )
    ordering = filters.ChoiceFilter(
        choices=[(name, name) for name in QUOTE_ORDERINGS],
        method=_unfiltered,
        help_text="Sort order (default id); every order ends on id, so cursors stay stable.",
    )

    class Meta:
        model = Quote
        fields: list[str] = []
        form = QuoteFilterForm

    def filter_queryset(self, queryset: QuerySet[Quote]) -> QuerySet[Quote]:
        data = self.form.cleaned_data
        # cast: every QuoteFilter is given a queryset of Quote.objects, a QuoteQuerySet.
        queryset = apply_layer(cast(QuoteQuerySet, queryset), data.get("layer") or Quote.Layer.CURATED)
        target, label = data.get("target"), data.get("label")
        if target is not None or label is not None:
            # One stance carries both: "quotes that oppose Iran acquiring nuclear
            # weapons", not "quotes that oppose something and mention Iran".
            stances = Stance.objects.all()
            if target is not None:
                stances = stances.filter(target_id__in=self.target_ids(target))
            if label is not None:
                stances = stances.filter(label=label)
            queryset = queryset.filter(pk__in=stances.values("quote_id"))
        return super().filter_queryset(queryset)

    def target_ids(self, target: Target) -> set[int]:
        """The targets ``target=`` stands for: the target and every target below it, or
        with ``children=0`` the target alone. Asked by the filter, the statistics and the
        pages: the hierarchy is walked once."""
        if getattr(self, "_target_ids", None) is None:
            children = self.form.cleaned_data.get("children") != "0"
            self._target_ids = target.descendant_ids() if children else {target.pk}
        return set(self._target_ids)

    def filter_speaker_country(self, queryset: QuerySet[Quote], name: str, value: str) -> QuerySet[Quote]:
        return queryset.filter(speaker__country=value.strip().upper())

    def filter_annotator(self, queryset: QuerySet[Quote], name: str, value: str) -> QuerySet[Quote]:
        username_field = get_user_model().USERNAME_FIELD
        return queryset.filter(**{f"annotator__{username_field}": value})

    def filter_q(self, queryset: QuerySet[Quote], name: str, value: str) -> QuerySet[Quote]:
        return search_text(queryset, "text", value)


class DatasetFilter(QuoteFilter):
    """The quotes API's filters as the dataset page's form: the same names and the same
    meaning, so the values carry into every export URL unchanged. Always the curated
    layer; targets, labels and outlets offered as lists."""

    target = filters.CharFilter(method=_unfiltered, help_text="Includes the targets below it.")
    label = filters.CharFilter(method=_unfiltered, help_text="With a target: that stance toward that target.")
    speaker_country = filters.CharFilter(
        method="filter_speaker_country", help_text="ISO 3166-1 alpha-2, such as IL.", max_length=2
    )
    kind = filters.ChoiceFilter(choices=Quote.Kind.choices, empty_label="All kinds")
    outlet = outlet_filter("article__", filter_class=filters.ChoiceFilter, empty_label="All outlets", help_text="")
    published_after = published_after_filter("article__", widget=forms.DateInput(attrs={"type": "date"}))
    published_before = published_before_filter("article__", widget=forms.DateInput(attrs={"type": "date"}))
    q = filters.CharFilter(method="filter_q", help_text="Words of the quote.", max_length=200)

    def __init__(self, data: Any = None, queryset: QuerySet[Quote] | None = None, **kwargs: Any) -> None:
        super().__init__(data, queryset, **kwargs)
        # Not filters of a dataset: the layer is always curated, and the others are
        # the API's (one article, one speaker id, the raw layer's annotator, an order;
        # the targets below a target are always taken).
        for name in ("layer", "article", "speaker", "annotator", "ordering", "children"):
            del self.filters[name]
        targets = [("", "All targets"), *Target.objects.order_by("name").values_list("slug", "name")]
        labels = [("", "All labels"), *StanceLabel.objects.order_by("order", "name").values_list("slug", "name")]
        self.filters["target"].extra["widget"] = forms.Select(choices=targets)
        self.filters["label"].extra["widget"] = forms.Select(choices=labels)
        outlets = (
            Article.objects.curated().exclude(outlet="").order_by("outlet").values_list("outlet", flat=True).distinct()
        )
        spellings: dict[str, str] = {}
        for outlet in outlets:
            spellings.setdefault(outlet.lower(), outlet)
        self.filters["outlet"].extra["choices"] = [(outlet, outlet) for outlet in spellings.values()]

    def query(self) -> dict[str, str]:
        """The filters given, as the export API takes them (valid data only)."""
        return {name: str(self.form.data[name]) for name in self.filters if self.form.data.get(name)}


class CommaSeparatedSelectMultiple(forms.SelectMultiple):
    """Several values, repeated (``group_by=country&group_by=target``) or comma-separated (``country,target``)."""

    def value_from_datadict(self, data: Any, files: Any, name: str) -> list[str]:
        values = super().value_from_datadict(data, files, name) or []
        if isinstance(values, str):  # a plain dict (not a QueryDict) holds one string
            values = [values]
        return list(dict.fromkeys(part.strip() for value in values for part in str(value).split(",") if part.strip()))


def _label_choices() -> list[tuple[str, str]]:
    return [("", "any"), *StanceLabel.objects.order_by("order", "id").values_list("slug", "name")]


class StanceStatsFilter(QuoteFilter):
    """The stance statistics' parameters: the quote filters over the curated layer, then
    the period and the grouping (``annotations.stats``). Pages and the API both read it,
    so a page's figures and the API's are counted from the same rows."""

    interval = filters.ChoiceFilter(
        choices=[(name, name) for name in INTERVALS],
        method=_unfiltered,
        help_text="Counts per month (default), quarter or year, or all: one period over the whole range.",
    )
    group_by = filters.MultipleChoiceFilter(
        choices=[(name, name) for name in GROUPS],
        method=_unfiltered,
        widget=CommaSeparatedSelectMultiple,
        help_text="Count by label and also by speaker, country and/or target: comma-separated or repeated.",
    )

    # What the pages' forms call the filters (django-filter would name them after the lookups).
    labels = {
        "target": "Target (slug)",
        "speaker": "Speaker (id)",
        "speaker_country": "Speaker's country",
        "label": "Label",
        "kind": "Kind",
        "outlet": "Outlet",
        "published_after": "Published from",
        "published_before": "Published to",
        "q": "Words in the quote",
    }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name, label in self.labels.items():
            self.filters[name].label = label
        for name in ("published_after", "published_before"):
            self.filters[name].extra["widget"] = forms.DateInput(attrs={"type": "date"})
        # The pages offer the labels to pick from (read when a page draws the form, never for the API).
        self.filters["label"].extra["widget"] = forms.Select(choices=_label_choices)  # type: ignore[arg-type]  # a callable, read lazily (Django 5+); the stubs know only lists


# Statistics count the curated layer only, over every article: the raw layer's
# switch, its annotator filter, a single article and a list's order have no place here.
for _name in ("layer", "annotator", "article", "ordering"):
    del StanceStatsFilter.base_filters[_name]


# The statistics' filters the tallies keep (tallies.py): the country tally, or one
# speaker's (not both at once); with any other, the stances themselves are counted.
TALLIED = frozenset(
    {"target", "children", "label", "speaker", "speaker_country", "published_after", "published_before"}
)


def stats_query(params: Any, user: Any) -> tuple[StanceStatsFilter, Scope]:
    """The statistics' filter (bound to ``params``) and the stances it selects for ``user``
    (a ``stats.Scope``: the quotes joined to those stances, as ``stats.stances_in_scope``
    gives them, and, when the filters allow, the same selection in the tally).

    The pages call this too, so a page and the API count the same stances. The
    filter is invalid (``filterset.errors``) on a bad parameter; the stances are
    then none.
    """
    filterset = StanceStatsFilter(params, queryset=Quote.objects.visible_to(user))
    if not filterset.is_valid():
        return filterset, Scope(Quote.objects.none())
    data = filterset.form.cleaned_data
    target = data.get("target")
    target_ids = filterset.target_ids(target) if target is not None else None
    stances = stances_in_scope(filterset.qs, target_ids=target_ids, label=data.get("label"))
    used = {name for name, value in data.items() if value not in (None, "", [], ()) and name in filterset.filters}
    used -= {"interval", "group_by"}
    after, before = data.get("published_after"), data.get("published_before")
    one_speaker = data.get("speaker")
    if (
        not used <= TALLIED
        or {"speaker", "speaker_country"} <= used
        or not whole_months(after, before)
        or not reads_curated(user)
    ):
        return filterset, Scope(stances)
    tally = TallyFilter(
        target_ids=frozenset(target_ids) if target_ids is not None else None,
        label=data.get("label"),
        country=(data.get("speaker_country") or "").strip().upper(),
        after=after,
        before=before,
        speaker=int(one_speaker) if one_speaker is not None else None,
    )
    return filterset, Scope(stances, tally)


class ArticleFilter(FilterSet):
    status = filters.ChoiceFilter(choices=Article.Status.choices, help_text="open or curated.")
    outlet = outlet_filter()
    language = filters.CharFilter(field_name="language", lookup_expr="iexact", help_text="BCP 47 tag, such as en.")
    published_after = published_after_filter()
    published_before = published_before_filter()
    q = filters.CharFilter(method="filter_q", help_text="Words in the title.")
    layer = filters.ChoiceFilter(
        choices=Quote.Layer.choices,
        method=_unfiltered,
        help_text="Which quotes include=quotes embeds (default curated).",
    )
    ordering = filters.ChoiceFilter(
        choices=[(name, name) for name in ARTICLE_ORDERINGS], method=_unfiltered, help_text="Sort order (default id)."
    )

    class Meta:
        model = Article
        fields: list[str] = []

    def filter_q(self, queryset: QuerySet[Article], name: str, value: str) -> QuerySet[Article]:
        return search_text(queryset, "title", value)


class AgreementFilter(FilterSet):
    """The articles of the agreement report: the API's outlet and date filters under
    the page's names, the outlets offered as a list, and a target with its subtopics."""

    outlet = outlet_filter(filter_class=filters.ChoiceFilter, empty_label="All outlets", help_text="")
    published_from = published_after_filter(widget=forms.DateInput(attrs={"type": "date"}))
    published_to = published_before_filter(widget=forms.DateInput(attrs={"type": "date"}))
    target = filters.ModelChoiceFilter(
        queryset=Target.objects.all(),
        method="filter_target",
        empty_label="All targets",
        help_text="Includes its subtopics.",
    )

    class Meta:
        model = Article
        fields: list[str] = []
        form = AgreementFilterForm

    def __init__(self, data: Any = None, queryset: QuerySet[Article] | None = None, **kwargs: Any) -> None:
        if queryset is None:  # what FilterSet would default to, made explicit so it is never None below
            queryset = Article.objects.all()
        super().__init__(data, queryset, **kwargs)
        outlets = queryset.exclude(outlet="").order_by("outlet").values_list("outlet", flat=True).distinct()
        # One choice per outlet as the filter matches it, whatever the case.
        spellings: dict[str, str] = {}
        for outlet in outlets:
            spellings.setdefault(outlet.lower(), outlet)
        self.filters["outlet"].extra["choices"] = [(outlet, outlet) for outlet in spellings.values()]
        # The target and the targets below it, once the target filter has run:
        # the report computes stance agreement over these only.
        self.target_ids: set[int] | None = None

    def filter_target(self, queryset: QuerySet[Article], name: str, value: Target) -> QuerySet[Article]:
        self.target_ids = value.descendant_ids()
        about = Stance.objects.filter(quote__article=OuterRef("pk"), target_id__in=self.target_ids)
        return queryset.filter(Exists(about))


class SpeakerFilter(FilterSet):
    """The speakers index page's filters and the API's: one set, so they find the same speakers.
    ``ordering`` is applied by the page or the API's paginator; the figures it sorts on
    come from ``SpeakerQuerySet.with_quote_figures``."""

    q = filters.CharFilter(method="filter_q", help_text="Part of the name or of an alias.")
    country = filters.CharFilter(method="filter_country", help_text="ISO 3166-1 alpha-2 country, such as US.")
    kind = filters.ChoiceFilter(choices=Speaker.Kind.choices, help_text="person, organisation, government or unnamed.")
    role = filters.CharFilter(method="filter_role", help_text="Part of a title they held, such as minister.")
    ordering = filters.ChoiceFilter(
        choices=[(name, name) for name in SPEAKER_ORDERINGS],
        method=_unfiltered,
        help_text="Sort order (default id): by their curated quotes' count or latest date; ties by id.",
    )

    class Meta:
        model = Speaker
        fields: list[str] = []

    def filter_country(self, queryset: QuerySet[Speaker], name: str, value: str) -> QuerySet[Speaker]:
        return queryset.filter(country=value.strip().upper())

    def filter_q(self, queryset: QuerySet[Speaker], name: str, value: str) -> QuerySet[Speaker]:
        value = value.replace("\x00", "").strip()
        if not value:
            return queryset
        aliases = SpeakerAlias.objects.filter(speaker_id=OuterRef("pk"), name__icontains=value)
        return queryset.filter(Q(name__icontains=value) | Q(Exists(aliases)))

    def filter_role(self, queryset: QuerySet[Speaker], name: str, value: str) -> QuerySet[Speaker]:
        value = value.replace("\x00", "").strip()
        if not value:
            return queryset
        return queryset.filter(Exists(SpeakerRole.objects.filter(speaker_id=OuterRef("pk"), title__icontains=value)))


class TargetFilter(FilterSet):
    parent = filters.CharFilter(method="filter_parent", help_text="Slug of the parent topic: its direct children.")

    class Meta:
        model = Target
        fields: list[str] = []

    def filter_parent(self, queryset: QuerySet[Target], name: str, value: str) -> QuerySet[Target]:
        return queryset.filter(parent__slug=value)


class AssignmentFilter(FilterSet):
    """Runs on ``Assignment.objects.visible_to(user)``: an analyst's filters only narrow their own."""

    article = IdFilter(field_name="article_id", help_text="Assignments of this article (id).")
    annotator = filters.CharFilter(method="filter_annotator", help_text="The analyst's username.")
    status = filters.ChoiceFilter(
        choices=Assignment.Status.choices, help_text="assigned, in_progress, submitted or reviewed."
    )
    ordering = filters.ChoiceFilter(
        choices=[(name, name) for name in ASSIGNMENT_ORDERINGS],
        method=_unfiltered,
        help_text="Sort order (default id, the order they were made).",
    )

    class Meta:
        model = Assignment
        fields: list[str] = []

    def filter_annotator(self, queryset: QuerySet[Assignment], name: str, value: str) -> QuerySet[Assignment]:
        return queryset.filter(**{f"annotator__{get_user_model().USERNAME_FIELD}": value})
