"""The Django admin: every table, for the admin role.

Admin edits go through the same validation as every other write path: the
model ``clean()`` methods (offsets, immutable article text) run on every admin
form, the article form is the one the pages use, and a quote is saved with the
same version check as on the annotate page. Models with history get
simple-history's history pages. Changelists are shaped so their query count
does not grow with the number of rows, and never load an article's text (which
can be 50,000 characters) just to show its title.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.forms import AdminUserCreationForm
from django.contrib.auth.models import Group, User
from django.core.exceptions import PermissionDenied
from django.db import models
from django.db.models import Count, Prefetch, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.defaultfilters import linebreaksbr
from django.urls import reverse
from django.utils.html import format_html
from simple_history.admin import SimpleHistoryAdmin

from .forms import ArticleForm
from .models import (
    ApiTokenName,
    Article,
    Assignment,
    Comment,
    CountryTally,
    DetectionRun,
    Guidelines,
    Quote,
    Release,
    ReleaseFile,
    Speaker,
    SpeakerAlias,
    SpeakerMerge,
    SpeakerQuoteTally,
    SpeakerRole,
    SpeakerStanceTally,
    Stance,
    StanceLabel,
    Suggestion,
    SuggestionDecision,
    Target,
    ThrottleCount,
    VersionConflict,
)
from .roles import ROLE_DESCRIPTIONS, Role
from .tallies import tallied

admin.site.site_header = "Demarche administration"
admin.site.site_title = "Demarche admin"

# How much article text to show on either side of a quote's span.
CONTEXT_CHARS = 40

# Columns of a related article that a changelist never needs.
ARTICLE_BULK = ("article__text", "article__metadata")


def _admin_user(request: HttpRequest) -> User:
    """The person saving in the admin: its views admit only active staff, never an anonymous user."""
    if not isinstance(request.user, User):
        raise PermissionDenied
    return request.user


def _keep_whitespace(form: forms.BaseForm, names: tuple[str, ...]) -> None:
    """Turn off the form's stripping of leading and trailing whitespace.

    Form fields strip by default; a span's text that starts or ends with a
    space or a newline would then stop matching its offsets, and an article
    ending in a newline would look edited, on a save that changed nothing.
    """
    for name in names:
        field = form.fields.get(name)
        if isinstance(field, forms.CharField):
            field.strip = False


# --- Articles ----------------------------------------------------------------


class ArticleAdminForm(ArticleForm):
    """The pages' article form (normalisation, length limit, duplicate text)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk is not None:
            # An existing text is kept byte for byte; stripping it would be an
            # edit (refused once quotes point into it).
            _keep_whitespace(self, ("text",))


@admin.register(Article)
class ArticleAdmin(SimpleHistoryAdmin):
    form = ArticleAdminForm
    list_display = ["title", "outlet", "published_on", "language", "status", "pool", "quote_count", "created_at"]
    list_filter = ["status", "language", "published_on", "outlet"]
    search_fields = ["title", "outlet", "text"]
    readonly_fields = ["text_sha256", "quote_count", "created_by", "created_at"]
    fieldsets = [
        (None, {"fields": ["title", "outlet", "url", "published_on", "language", "text"]}),
        ("Workflow", {"fields": ["status", "pool", "annotators_needed"]}),
        ("Metadata", {"fields": ["metadata"], "classes": ["collapse"]}),
        ("Record", {"fields": ["text_sha256", "quote_count", "created_by", "created_at"]}),
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Article]:
        # The text is loaded only where it is shown: the change form reads it
        # on demand, the changelist never does.
        return (
            super()
            .get_queryset(request)
            .defer("text", "metadata")
            .select_related("created_by")
            .annotate(quote_count=Count("quotes"))
        )

    @admin.display(description="quotes", ordering="quote_count")
    def quote_count(self, article: Article) -> str:
        if article.pk is None:
            return "0"
        count = getattr(article, "quote_count", None)
        if count is None:
            count = article.quotes.count()
        url = reverse("admin:annotations_quote_changelist")
        return format_html('<a href="{}?article__id__exact={}">{}</a>', url, article.pk, count)

    def save_model(self, request: HttpRequest, obj: Article, form: forms.ModelForm, change: bool) -> None:
        if not change and obj.created_by_id is None:
            obj.created_by = _admin_user(request)
        super().save_model(request, obj, form, change)


# --- Speakers ----------------------------------------------------------------


class SpeakerAliasInline(admin.TabularInline):
    model = SpeakerAlias
    extra = 1


class SpeakerRoleInline(admin.TabularInline):
    model = SpeakerRole
    fields = ["title", "organisation", "country", "start_date", "end_date"]
    extra = 1


@admin.register(Speaker)
class SpeakerAdmin(SimpleHistoryAdmin):
    list_display = ["name", "kind", "country", "wikidata_qid", "alias_list"]
    list_filter = ["kind", "country"]
    search_fields = ["name", "aliases__name", "wikidata_qid"]
    readonly_fields = ["created_at"]
    inlines = [SpeakerAliasInline, SpeakerRoleInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Speaker]:
        return super().get_queryset(request).prefetch_related("aliases")

    @admin.display(description="aliases")
    def alias_list(self, speaker: Speaker) -> str:
        return ", ".join(alias.name for alias in speaker.aliases.all())


@admin.register(SpeakerAlias)
class SpeakerAliasAdmin(admin.ModelAdmin):
    list_display = ["name", "speaker"]
    list_select_related = ["speaker"]
    search_fields = ["name", "speaker__name"]
    autocomplete_fields = ["speaker"]


@admin.register(SpeakerRole)
class SpeakerRoleAdmin(SimpleHistoryAdmin):
    list_display = ["title", "organisation", "speaker", "country", "start_date", "end_date"]
    list_select_related = ["speaker"]
    list_filter = ["country"]
    search_fields = ["title", "organisation", "speaker__name"]
    autocomplete_fields = ["speaker"]


# --- Taxonomy ----------------------------------------------------------------


class TargetChildInline(admin.TabularInline):
    model = Target
    fk_name = "parent"
    fields = ["name", "slug", "description"]
    extra = 0
    show_change_link = True
    verbose_name = "child target"
    verbose_name_plural = "child targets"


@admin.register(Target)
class TargetAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "parent"]
    list_select_related = ["parent"]
    search_fields = ["name", "slug", "description"]
    prepopulated_fields = {"slug": ["name"]}
    autocomplete_fields = ["parent"]
    inlines = [TargetChildInline]


@admin.register(StanceLabel)
class StanceLabelAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "semeval", "order", "colour", "shortcut_key"]
    list_display_links = ["name"]
    list_editable = ["order", "colour", "shortcut_key"]
    search_fields = ["name", "slug", "definition"]
    prepopulated_fields = {"slug": ["name"]}


# --- Quotes ------------------------------------------------------------------

SPAN_TEXT_FIELDS = ("text", "mention_text", "cue_text")


class TalliedAdmin(SimpleHistoryAdmin):
    """An admin for quotes or stances: what it saves or deletes moves the statistics'
    tallies in the same transaction (``tallies.tallied`` over the articles touched, the
    object's and the one the form names), as every other change to the curated layer does."""

    # How a row, or a posted form, names its article.
    article_path = "article_id"
    posted_parent: tuple[str, type[models.Model]] = ("article", Article)

    def _articles(self, request: HttpRequest, object_id: str | None) -> set[int]:
        ids: set[int] = set()
        if object_id is not None and object_id.isdigit():
            ids |= set(self.model.objects.filter(pk=int(object_id)).values_list(self.article_path, flat=True))
        field, model = self.posted_parent
        posted = request.POST.get(field, "")
        if posted.isdigit():
            path = "pk" if model is Article else "article_id"
            ids |= set(model._default_manager.filter(pk=int(posted)).values_list(path, flat=True))
        return ids

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        if request.method != "POST":
            return super().changeform_view(request, object_id, form_url, extra_context)
        with tallied(self._articles(request, object_id)):
            return super().changeform_view(request, object_id, form_url, extra_context)

    def delete_view(
        self, request: HttpRequest, object_id: str, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        if request.method != "POST":
            return super().delete_view(request, object_id, extra_context)
        with tallied(self._articles(request, object_id)):
            return super().delete_view(request, object_id, extra_context)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        with tallied(set(queryset.values_list(self.article_path, flat=True))):
            super().delete_queryset(request, queryset)

    def history_form_view(
        self, request: HttpRequest, object_id: str, version_id: str, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        # "Revert to this version" saves through save_model too.
        if request.method != "POST":
            return super().history_form_view(request, object_id, version_id, extra_context)
        with tallied(self._articles(request, object_id)):
            return super().history_form_view(request, object_id, version_id, extra_context)


class QuoteAdminForm(forms.ModelForm):
    # The version the page was rendered from, for the optimistic lock the
    # annotate page uses too (Quote.save_with_version).
    expected_version = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _keep_whitespace(self, SPAN_TEXT_FIELDS)
        if self.instance.pk is not None:
            # Read from the row, not the instance: simple-history's revert form
            # is built from an old version of the quote.
            self.fields["expected_version"].initial = self._current_version()

    def _current_version(self) -> int | None:
        return Quote.objects.filter(pk=self.instance.pk).values_list("version", flat=True).first()

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        for name in SPAN_TEXT_FIELDS:
            value = cleaned.get(name)
            if isinstance(value, str):
                # Browsers send a textarea's line ends as CRLF; the article text
                # was normalised to LF on the way in.
                cleaned[name] = value.replace("\r\n", "\n")
        if self.instance.pk is not None:
            expected, current = cleaned.get("expected_version"), self._current_version()
            if expected != current:
                raise forms.ValidationError(
                    f"Someone else changed this quote (it is now at version {current}) after you opened it "
                    f"(version {expected}). Reload the page to see their change, then make yours again.",
                    code="version_conflict",
                )
        return cleaned


class StanceInline(admin.TabularInline):
    model = Stance
    fields = ["target", "label", "intensity", "confidence", "note"]
    autocomplete_fields = ["target"]
    extra = 1

    def get_queryset(self, request: HttpRequest) -> QuerySet[Stance]:
        return super().get_queryset(request).select_related("target", "label")


@admin.register(Quote)
class QuoteAdmin(TalliedAdmin):
    form = QuoteAdminForm
    list_display = [
        "short_text",
        "article_title",
        "speaker",
        "kind",
        "stance_list",
        "annotator",
        "is_curated",
        "created_at",
    ]
    list_filter = [
        "kind",
        "speaker__country",
        "stances__target",
        "stances__label",
        "is_curated",
        ("annotator", admin.RelatedOnlyFieldListFilter),
        "created_at",
    ]
    search_fields = ["text", "speaker__name", "speaker__aliases__name", "article__title", "cue", "mention_text"]
    ordering = ["-created_at", "-id"]
    autocomplete_fields = ["article", "speaker", "speaker_role", "addressee", "annotator", "parent", "curated_from"]
    readonly_fields = ["text_at_offsets", "version", "created_at", "updated_at"]
    fieldsets = [
        (None, {"fields": ["article", "start", "end", "text", "text_at_offsets", "kind"]}),
        (
            "Attribution",
            {
                "fields": [
                    "speaker",
                    "speaker_role",
                    "addressee",
                    "cue",
                    ("mention_start", "mention_end", "mention_text"),
                    ("cue_start", "cue_end", "cue_text"),
                    "attribution_group",
                    "parent",
                ]
            },
        ),
        ("Curation", {"fields": ["annotator", "is_curated", "curated_from"]}),
        ("Record", {"fields": ["version", "expected_version", "created_at", "updated_at"]}),
    ]
    inlines = [StanceInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Quote]:
        stances = Stance.objects.select_related("target", "label").order_by("target__name", "id")
        return (
            super()
            .get_queryset(request)
            .select_related("article", "speaker", "annotator")
            .defer(*ARTICLE_BULK)
            .prefetch_related(Prefetch("stances", queryset=stances))
        )

    @admin.display(description="text", ordering="text")
    def short_text(self, quote: Quote) -> str:
        return quote.text if len(quote.text) <= 80 else quote.text[:79] + "…"

    @admin.display(description="article", ordering="article__title")
    def article_title(self, quote: Quote) -> str:
        return quote.article.title

    @admin.display(description="stances")
    def stance_list(self, quote: Quote) -> str:
        return "; ".join(f"{stance.label}: {stance.target}" for stance in quote.stances.all())

    @admin.display(description="text at offsets")
    def text_at_offsets(self, quote: Quote) -> str:
        """The article's text at the quote's offsets, in context, as stored."""
        if quote.article_id is None or quote.start is None or quote.end is None:
            return "—"
        text = quote.article.text
        if not 0 <= quote.start < quote.end <= len(text):
            return f"The offsets {quote.start}–{quote.end} are outside the article text ({len(text)} characters)."
        before = text[max(0, quote.start - CONTEXT_CHARS) : quote.start]
        after = text[quote.end : quote.end + CONTEXT_CHARS]
        # linebreaksbr escapes before it adds <br>: the text stays data, never markup.
        return format_html(
            "{}{}<mark>{}</mark>{}{}",
            "…" if quote.start > CONTEXT_CHARS else "",
            linebreaksbr(before),
            linebreaksbr(text[quote.start : quote.end]),
            linebreaksbr(after),
            "…" if quote.end + CONTEXT_CHARS < len(text) else "",
        )

    def save_model(self, request: HttpRequest, obj: Quote, form: forms.ModelForm, change: bool) -> None:
        if not change:
            super().save_model(request, obj, form, change)
            return
        obj._history_user = request.user
        obj.save_with_version(form.cleaned_data["expected_version"])

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except VersionConflict as conflict:
            # Someone saved between the form's version check and this save; the
            # admin's transaction has rolled back the whole edit.
            if conflict.current is None:
                self.message_user(request, "Someone else deleted this quote while you were editing it.", messages.ERROR)
                return HttpResponseRedirect(reverse("admin:annotations_quote_changelist"))
            self.message_user(
                request,
                "Someone else changed this quote while you were saving; nothing was saved. "
                "Here is their version: make your change again.",
                messages.ERROR,
            )
            return HttpResponseRedirect(request.path)


@admin.register(Stance)
class StanceAdmin(TalliedAdmin):
    article_path = "quote__article_id"
    posted_parent = ("quote", Quote)
    list_display = ["quote", "target", "label", "intensity", "confidence"]
    list_filter = ["label", "target"]
    search_fields = ["quote__text", "target__name", "target__slug", "note"]
    autocomplete_fields = ["quote", "target", "label"]
    list_select_related = ["quote__speaker", "target", "label"]


@admin.register(Comment)
class CommentAdmin(admin.ModelAdmin):
    list_display = ["short_body", "quote", "author", "created_at"]
    list_select_related = ["quote__speaker", "author"]
    list_filter = ["created_at"]
    search_fields = ["body", "quote__text", "author__username"]
    autocomplete_fields = ["quote"]
    readonly_fields = ["author", "created_at"]
    fields = ["quote", "body", "author", "created_at"]

    @admin.display(description="comment", ordering="body")
    def short_body(self, comment: Comment) -> str:
        return comment.body if len(comment.body) <= 80 else comment.body[:79] + "…"

    def save_model(self, request: HttpRequest, obj: Comment, form: forms.ModelForm, change: bool) -> None:
        if not change:
            obj.author = _admin_user(request)
        super().save_model(request, obj, form, change)


# --- Workflow ----------------------------------------------------------------


@admin.register(Assignment)
class AssignmentAdmin(SimpleHistoryAdmin):
    list_display = ["article_title", "annotator", "status", "assigned_by", "created_at", "submitted_at"]
    list_filter = ["status"]
    search_fields = ["article__title", "annotator__username"]
    autocomplete_fields = ["article", "annotator"]
    readonly_fields = ["assigned_by", "created_at", "updated_at"]
    fields = ["article", "annotator", "status", "comment", "submitted_at", "assigned_by", "created_at", "updated_at"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Assignment]:
        return super().get_queryset(request).select_related("article", "annotator", "assigned_by").defer(*ARTICLE_BULK)

    @admin.display(description="article", ordering="article__title")
    def article_title(self, assignment: Assignment) -> str:
        return assignment.article.title

    def save_model(self, request: HttpRequest, obj: Assignment, form: forms.ModelForm, change: bool) -> None:
        if not change and obj.assigned_by_id is None:
            obj.assigned_by = _admin_user(request)
        super().save_model(request, obj, form, change)


class ReadOnlyMixin:
    """Rows written once by the release machinery and never changed or removed."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReleaseFileInline(ReadOnlyMixin, admin.TabularInline):
    model = ReleaseFile
    fields = readonly_fields = ("format", "file", "size", "sha256", "created_at")
    extra = 0


@admin.register(ReleaseFile)
class ReleaseFileAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["release", "format", "size", "sha256", "created_at"]
    list_select_related = ["release"]
    list_filter = ["format"]
    search_fields = ["release__name", "format", "sha256"]


@admin.register(Release)
class ReleaseAdmin(admin.ModelAdmin):
    """Releases are immutable snapshots: only the changelog note can be edited.

    They are built from the curated dataset, with their counts and checksum, by
    the release machinery, never typed in here; so there is no add either.
    """

    list_display = ["name", "created_at", "article_count", "quote_count", "short_sha256", "created_by"]
    list_select_related = ["created_by"]
    search_fields = ["name", "note"]
    fields = ["name", "note", "filters", "article_count", "quote_count", "sha256", "created_by", "created_at"]
    readonly_fields = ["name", "filters", "article_count", "quote_count", "sha256", "created_by", "created_at"]
    inlines = [ReleaseFileInline]

    @admin.display(description="SHA-256", ordering="sha256")
    def short_sha256(self, release: Release) -> str:
        return release.sha256[:12]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Release | None = None) -> bool:
        return False


@admin.register(Guidelines)
class GuidelinesAdmin(ReadOnlyMixin, admin.ModelAdmin):
    """Every version of the annotation guidelines, as quotes cite them. Read-only:
    reviewers write a new version on the guidelines page; no version is changed
    or removed, since quotes record the one they were made under."""

    list_display = ["number", "note", "author", "created_at"]
    list_select_related = ["author"]
    search_fields = ["note", "body"]
    fields = readonly_fields = ("number", "note", "body", "author", "created_at")


@admin.register(SpeakerMerge)
class SpeakerMergeAdmin(ReadOnlyMixin, admin.ModelAdmin):
    """The record of each speaker merge. Read-only: reviewers merge on the speaker's
    page, and the record is what is left of the merged speaker."""

    list_display = ["merged_name", "merged_speaker_id", "kept", "by", "at", "curated_quotes", "raw_quotes"]
    list_select_related = ["kept", "by"]
    search_fields = ["merged_name", "merged_qid", "kept__name"]
    fields = readonly_fields = (
        "kept",
        "merged_speaker_id",
        "merged_name",
        "merged_qid",
        "by",
        "at",
        "curated_quotes",
        "raw_quotes",
        "aliases",
        "roles",
    )


@admin.register(DetectionRun)
class DetectionRunAdmin(ReadOnlyMixin, admin.ModelAdmin):
    """Each detection of an article's quotes, as the worker ran it. Read-only: runs
    are requested on arrival, on the article's page or by ``detect_articles``, and
    a failed one is retried there."""

    list_display = ["article", "status", "detector_version", "suggestion_count", "created_at", "finished_at"]
    list_filter = ["status", "detector_version"]
    list_select_related = ["article"]
    search_fields = ["article__title", "error"]
    fields = readonly_fields = (
        "article",
        "status",
        "detector_version",
        "suggestion_count",
        "error",
        "task_id",
        "requested_by",
        "created_at",
        "finished_at",
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[DetectionRun]:
        return super().get_queryset(request).select_related("article").defer(*ARTICLE_BULK)


@admin.register(Suggestion)
class SuggestionAdmin(ReadOnlyMixin, admin.ModelAdmin):
    """The detector's suggestions: a machine layer, nobody's annotation. Read-only:
    the detector writes them and analysts decide on them on the annotate page."""

    list_display = ["article", "start", "end", "kind", "speaker_name", "confidence", "detector_version"]
    list_filter = ["kind", "detector_version"]
    list_select_related = ["article"]
    search_fields = ["text", "speaker_name", "article__title"]
    fields = readonly_fields = (
        "article",
        "start",
        "end",
        "text",
        "kind",
        "cue_start",
        "cue_end",
        "source_start",
        "source_end",
        "speaker_name",
        "speaker",
        "confidence",
        "group",
        "detector_version",
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[Suggestion]:
        return super().get_queryset(request).select_related("article").defer(*ARTICLE_BULK)


@admin.register(SuggestionDecision)
class SuggestionDecisionAdmin(ReadOnlyMixin, admin.ModelAdmin):
    """How each analyst judged each suggestion (the detector's precision). Read-only:
    decisions are made on the annotate page."""

    list_display = ["suggestion", "annotator", "outcome", "quote", "decided_at"]
    list_filter = ["outcome"]
    list_select_related = ["suggestion", "annotator", "quote__speaker"]
    fields = readonly_fields = ("suggestion", "annotator", "outcome", "quote", "decided_at")


@admin.register(CountryTally)
class CountryTallyAdmin(ReadOnlyMixin, admin.ModelAdmin):
    """The statistics' count of curated stances per month, target, label and country.
    Read-only: every change to the curated layer moves it (``manage.py tally --check``)."""

    list_display = ["month", "target", "label", "country", "stances"]
    list_filter = ["label", "country"]
    list_select_related = ["target", "label"]
    date_hierarchy = "month"
    fields = readonly_fields = ("month", "target", "label", "country", "stances")


@admin.register(SpeakerStanceTally)
class SpeakerStanceTallyAdmin(ReadOnlyMixin, admin.ModelAdmin):
    """A speaker's curated stances per month, target and label. Read-only, as the country tally."""

    list_display = ["speaker", "month", "target", "label", "stances"]
    list_select_related = ["speaker", "target", "label"]
    search_fields = ["speaker__name"]
    fields = readonly_fields = ("speaker", "month", "target", "label", "stances")


@admin.register(SpeakerQuoteTally)
class SpeakerQuoteTallyAdmin(ReadOnlyMixin, admin.ModelAdmin):
    """A speaker's curated quotes per publication day. Read-only, as the country tally."""

    list_display = ["speaker", "day", "quotes"]
    list_select_related = ["speaker"]
    search_fields = ["speaker__name"]
    fields = readonly_fields = ("speaker", "day", "quotes")


@admin.register(ThrottleCount)
class ThrottleCountAdmin(ReadOnlyMixin, admin.ModelAdmin):
    """API callers' request counts (the rate limit). Read-only: each request counts itself."""

    list_display = ["key", "period", "count", "previous"]
    search_fields = ["key"]
    fields = readonly_fields = ("key", "period", "count", "previous")


@admin.register(ApiTokenName)
class ApiTokenNameAdmin(admin.ModelAdmin):
    """API tokens by name, live or expired. Read-only: tokens are made on the
    tokens page, where the raw token is shown once; deleting a row here
    revokes its token."""

    list_display = ["name", "user", "prefix", "created_at", "expiry", "live"]
    list_filter = ["created_at"]
    list_select_related = ["user", "token"]
    search_fields = ["name", "user__username", "prefix"]
    readonly_fields = ["name", "user", "prefix", "digest", "created_at", "expiry", "token"]

    @admin.display(boolean=True, description="live")
    def live(self, record: ApiTokenName) -> bool:
        return record.token_id is not None and not record.is_expired()

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: ApiTokenName | None = None) -> bool:
        return False

    def delete_model(self, request: HttpRequest, obj: ApiTokenName) -> None:
        obj.remove()

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[ApiTokenName]) -> None:
        for record in queryset:
            record.remove()


# --- Users and their roles ---------------------------------------------------


def _describe(group: Group) -> str:
    return ROLE_DESCRIPTIONS.get(group.name, "")


class RoleChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        description = _describe(obj)
        return f"{obj.name}: {description}" if description else obj.name


class UserCreationWithRoleForm(AdminUserCreationForm):
    """The add form with the user's Demarche role, so a new user is complete on the
    first save (Django's own add form has no groups: the admin saved twice)."""

    role = RoleChoiceField(
        queryset=Group.objects.filter(name__in=Role.values).order_by("name"),
        required=False,
        empty_label="No role (an outsider until given one)",
        widget=forms.RadioSelect,
        help_text="What the user does in Demarche. More groups can be added on the next page.",
    )

    def _save_m2m(self) -> None:
        # The admin saves the user (save_model) and then the relations: the role
        # joins them there, on the one save.
        super()._save_m2m()  # type: ignore[misc]  # ModelForm has it; the stubs do not
        role = self.cleaned_data.get("role")
        if role is not None:
            self.instance.groups.add(role)


admin.site.unregister(User)
admin.site.unregister(Group)


@admin.register(User)
class DemarcheUserAdmin(UserAdmin):
    add_form = UserCreationWithRoleForm
    add_fieldsets = (
        *UserAdmin.add_fieldsets,
        ("Role", {"fields": ("role",)}),
    )
    list_display = (
        "username",
        "role",
        "email",
        "is_active",
        "is_staff",
        "last_login",
    )  # the role first: narrow screens
    list_filter = ("groups", "is_staff", "is_superuser", "is_active")

    def get_queryset(self, request: HttpRequest) -> QuerySet[User]:
        return super().get_queryset(request).prefetch_related("groups")

    @admin.display(description="Role")
    def role(self, user: User) -> str:
        names = sorted(group.name for group in user.groups.all())
        if user.is_superuser:
            names.insert(0, "admin")
        return ", ".join(names) or "—"


@admin.register(Group)
class DemarcheGroupAdmin(GroupAdmin):
    list_display = ("name", "description", "members")
    readonly_fields = ("description",)
    fields = ("name", "description", "permissions")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Group]:
        return super().get_queryset(request).annotate(member_count=Count("user"))

    @admin.display(description="What this role does")
    def description(self, group: Group) -> str:
        return _describe(group) or "Not a Demarche role: its members get no pages of their own."

    @admin.display(description="Members", ordering="member_count")
    def members(self, group: Any) -> int:
        return group.member_count
