"""Serializers: the API's representation of the domain, and its write validation.

Reads: a quote is returned whole (span, speaker with the role held, stances,
article, provenance), in the same shape by the API and by the JSONL export.

Writes go through the model: the serializer builds a ``Quote`` and calls
``full_clean()``, so the offset invariant and the rules that tie a quote to its
article are the ones the browser and the admin use. Django's ValidationError
becomes DRF field errors named after the API's fields.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from django.contrib.auth import get_user_model
from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import F, Manager, QuerySet
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from .importers import _check_metadata as check_metadata  # the upload page's rule, shared
from .models import (
    Article,
    Assignment,
    Quote,
    Release,
    ReleaseFile,
    Role,
    Speaker,
    SpeakerAlias,
    SpeakerRole,
    Stance,
    StanceLabel,
    StanceValues,
    Target,
    article_opened_by,
)
from .offsets import utf16_to_codepoint

if TYPE_CHECKING:
    from django.contrib.auth.models import User

OFFSETS_CONVENTION = "unicode-code-points, end-exclusive"
CODEPOINT, UTF16 = "codepoint", "utf16"


class TextField(serializers.CharField):
    """A string kept exactly as sent (no trimming) and storable as UTF-8.

    A JSON ``"\\ud83d"`` escape decodes to half a surrogate pair, which neither
    UTF-8 nor the database can hold; refuse it here with a message instead of
    failing on save.
    """

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("trim_whitespace", False)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> str:
        value = super().to_internal_value(data)
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as error:
            raise serializers.ValidationError(
                f"Contains half of a UTF-16 surrogate pair at character {error.start}; "
                "the text was cut inside a character beyond U+FFFF."
            ) from None
        return value


class RefuseUnknownFieldsMixin(serializers.Serializer):
    """Refuse body fields the serializer doesn't write, naming each.

    DRF ignores them, so a typo ("speakr": 1) stored a quote without its
    speaker, and a read-only field ("version", "id") looked accepted. Query
    strings are refused the same way (``api.StrictQueryParamsMixin``). Nested
    serializers (spans, stances) check their own keys: ``to_internal_value``
    runs for each.
    """

    # Fields the API returns but sets itself; named as such when a client sends one.
    server_fields: frozenset[str] = frozenset()

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, Mapping):
            fields = self.fields
            writable = {name for name, field in fields.items() if not field.read_only}
            errors: dict[str, list[str]] = {}
            for name in sorted(set(data) - writable, key=str):
                if name in fields or name in self.server_fields:
                    errors[name] = ["Read-only here: the server sets it, leave it out."]
                    continue
                guess = difflib.get_close_matches(str(name), sorted(writable), n=1)
                hint = f'did you mean "{guess[0]}"?' if guess else f"this accepts {', '.join(sorted(writable))}"
                errors[name] = [f"Unknown field ({hint})."]
            if errors:
                raise serializers.ValidationError(errors)
        return super().to_internal_value(data)


def drf_errors(error: DjangoValidationError, rename: dict[str, str] | None = None) -> dict[str, list[str]]:
    """A model ValidationError as DRF field errors, with model field names mapped to API names."""
    rename = rename or {}
    if not hasattr(error, "error_dict"):
        return {"non_field_errors": list(error.messages)}
    result: dict[str, list[str]] = {}
    for name, messages in error.message_dict.items():
        key = "non_field_errors" if name == NON_FIELD_ERRORS else rename.get(name, name)
        result.setdefault(key, []).extend(messages)
    return result


# --- Reference representations (nested) ----------------------------------------


class RoleRefSerializer(serializers.ModelSerializer):
    class Meta:
        model = SpeakerRole
        fields = ["title", "organisation"]


class QuoteSpeakerSerializer(serializers.ModelSerializer):
    role = RoleRefSerializer(allow_null=True, help_text="The role the speaker held when this was said.")

    class Meta:
        model = Speaker
        fields = ["id", "name", "country", "wikidata_qid", "role"]


class SpeakerRefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Speaker
        fields = ["id", "name", "country"]


class ArticleRefSerializer(serializers.ModelSerializer):
    # A string, not format "uri": an article without a URL has "" (as stored).
    url = serializers.CharField(read_only=True, help_text="The article's URL, or an empty string.")

    class Meta:
        model = Article
        fields = ["id", "title", "outlet", "published_on", "url"]


class TargetRefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Target
        fields = ["slug", "name"]


class StanceSerializer(serializers.ModelSerializer):
    target = TargetRefSerializer()
    label: serializers.SlugRelatedField[StanceLabel] = serializers.SlugRelatedField(  # type: ignore[assignment]  # DRF's metaclass pops declared fields off the class
        slug_field="slug", read_only=True, help_text="Stance label slug."
    )

    class Meta:
        model = Stance
        fields = ["target", "label", "intensity", "confidence", "note"]


class SpanSerializer(RefuseUnknownFieldsMixin, serializers.Serializer):
    """A span of the article text: ``text == article.text[start:end]`` in code points."""

    start = serializers.IntegerField(min_value=0)
    end = serializers.IntegerField(min_value=0)
    text = TextField(max_length=500)


# --- Quotes --------------------------------------------------------------------


class QuoteListSerializer(serializers.ListSerializer):
    """Many quotes in one read (``quotes_by_id``), in the order given."""

    def to_representation(self, data: Any) -> list[dict[str, Any]]:
        quotes = data.all() if isinstance(data, Manager) else data
        return quotes_by_id([quote.pk for quote in quotes])


class QuoteSerializer(serializers.ModelSerializer):
    """A quote, whole: its span, the speaker with the role held, stances, article and provenance."""

    # The fields declare the schema (drf-spectacular reads them); the output is
    # quote_representations', the one Python rendering of a quote, read afresh
    # from the database (one read for many quotes: QuoteListSerializer).
    mention = SpanSerializer(allow_null=True, read_only=True, help_text="How the text names the source, as a span.")
    cue_span = SpanSerializer(allow_null=True, read_only=True, help_text='The attribution verb ("said") as a span.')
    speaker = QuoteSpeakerSerializer(allow_null=True, read_only=True)
    addressee = SpeakerRefSerializer(allow_null=True, read_only=True)
    stances = StanceSerializer(many=True, read_only=True)
    article = ArticleRefSerializer(read_only=True)
    layer = serializers.ChoiceField(choices=Quote.Layer.choices, read_only=True)
    annotator = serializers.CharField(
        allow_null=True, read_only=True, help_text="The annotator's username (raw layer; null if curated)."
    )
    curated_from = serializers.ListField(
        child=serializers.IntegerField(),
        read_only=True,
        help_text="Provenance of a curated quote: the ids of the annotators' quotes it was made from.",
    )
    guidelines_version = serializers.IntegerField(
        allow_null=True,
        read_only=True,
        help_text="The annotation guidelines version the quote was made under (/guidelines/v<N>/); "
        "null if made before the first version.",
    )
    offsets_convention = serializers.ChoiceField(choices=[OFFSETS_CONVENTION], read_only=True)

    class Meta:
        model = Quote
        fields = [
            "id",
            "start",
            "end",
            "text",
            "kind",
            "cue",
            "mention",
            "cue_span",
            "speaker",
            "addressee",
            "stances",
            "attribution_group",
            "parent",
            "article",
            "layer",
            "annotator",
            "curated_from",
            "version",
            "guidelines_version",
            "created_at",
            "updated_at",
            "offsets_convention",
        ]
        read_only_fields = fields
        list_serializer_class = QuoteListSerializer

    def to_representation(self, quote: Quote) -> dict[str, Any]:
        return quotes_by_id([quote.pk])[0]


# --- The one Python rendering of a quote ----------------------------------------
#
# Every reading of a quote in Python goes through quote_representations: the
# API's list, detail and write answers (QuoteSerializer delegates to it), an
# article's include=quotes, and the JSONL export where PostgreSQL can't write
# it (exporters._jsonl_by_serializer). It reads value rows, not model
# instances: a page of 100 quotes through DRF's field machinery built ~1,000
# instances and walked the fields ~35,000 times. The one other rendering is
# PostgreSQL's (exporters._jsonl_by_postgresql), held byte-identical to this
# one by tests/test_exporters.py; tests/test_api_quotes.py holds this one to
# QuoteSerializer's declared schema.

QUOTE_ROW_COLUMNS = (
    "id", "start", "end", "text", "kind", "cue",
    "mention_start", "mention_end", "mention_text", "cue_start", "cue_end", "cue_text",
    "speaker_id", "speaker__name", "speaker__country", "speaker__wikidata_qid",
    "speaker_role_id", "speaker_role__title", "speaker_role__organisation",
    "addressee_id", "addressee__name", "addressee__country",
    "attribution_group", "parent_id",
    "article_id", "article__title", "article__outlet", "article__published_on", "article__url",
    "is_curated", "annotator_username", "version", "guidelines_version", "created_at", "updated_at",
)  # fmt: skip


def quote_rows(queryset: QuerySet[Quote]) -> QuerySet[Quote, dict[str, Any]]:
    """The queryset as value rows with the columns ``quote_representations`` reads."""
    username = f"annotator__{get_user_model().USERNAME_FIELD}"
    # Prefetches are for model instances: a caller's (exporters.optimise) would run against dicts.
    return (
        queryset.prefetch_related(None)
        .values(*(name for name in QUOTE_ROW_COLUMNS if name != "annotator_username"))
        .annotate(annotator_username=F(username))
    )


def quotes_by_id(ids: list[int]) -> list[dict[str, Any]]:
    """The quotes with these ids, rendered, in the order of ``ids`` (three queries)."""
    rendered = {
        quote["id"]: quote for quote in quote_representations(list(quote_rows(Quote.objects.filter(pk__in=ids))))
    }
    return [rendered[pk] for pk in ids]


def quote_representations(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each row of ``quote_rows`` as the API returns the quote (``QuoteSerializer``'s schema).

    Two queries for the rows: their stances and the curated quotes' sources.
    """
    ids = [row["id"] for row in rows]
    stances: dict[int, list[dict[str, Any]]] = {quote_id: [] for quote_id in ids}
    for quote_id, slug, name, label, intensity, confidence, note in (
        Stance.objects.filter(quote_id__in=ids)
        .order_by("quote_id", "id")
        .values_list("quote_id", "target__slug", "target__name", "label__slug", "intensity", "confidence", "note")
    ):
        stances[quote_id].append(
            {
                "target": {"slug": slug, "name": name},
                "label": label,
                "intensity": intensity,
                "confidence": confidence,
                "note": note,
            }
        )
    curated = [row["id"] for row in rows if row["is_curated"]]
    sources: dict[int, list[int]] = {quote_id: [] for quote_id in curated}
    if curated:
        links = Quote.curated_from.through.objects.filter(from_quote_id__in=curated)
        for curated_id, source_id in links.values_list("from_quote_id", "to_quote_id"):
            sources[curated_id].append(source_id)
    timestamp = serializers.DateTimeField().to_representation
    return [
        {
            "id": row["id"],
            "start": row["start"],
            "end": row["end"],
            "text": row["text"],
            "kind": row["kind"],
            "cue": row["cue"],
            "mention": _row_span(row, "mention"),
            "cue_span": _row_span(row, "cue"),
            "speaker": None
            if row["speaker_id"] is None
            else {
                "id": row["speaker_id"],
                "name": row["speaker__name"],
                "country": row["speaker__country"],
                "wikidata_qid": row["speaker__wikidata_qid"],
                "role": None
                if row["speaker_role_id"] is None
                else {"title": row["speaker_role__title"], "organisation": row["speaker_role__organisation"]},
            },
            "addressee": None
            if row["addressee_id"] is None
            else {"id": row["addressee_id"], "name": row["addressee__name"], "country": row["addressee__country"]},
            "stances": stances[row["id"]],
            "attribution_group": row["attribution_group"],
            "parent": row["parent_id"],
            "article": {
                "id": row["article_id"],
                "title": row["article__title"],
                "outlet": row["article__outlet"],
                "published_on": row["article__published_on"] and row["article__published_on"].isoformat(),
                "url": row["article__url"],
            },
            "layer": Quote.Layer.CURATED if row["is_curated"] else Quote.Layer.RAW,
            "annotator": None if row["is_curated"] else row["annotator_username"],
            "curated_from": sorted(sources[row["id"]]) if row["is_curated"] else [],
            "version": row["version"],
            "guidelines_version": row["guidelines_version"],
            "created_at": timestamp(row["created_at"]),
            "updated_at": timestamp(row["updated_at"]),
            "offsets_convention": OFFSETS_CONVENTION,
        }
        for row in rows
    ]


def _row_span(row: dict[str, Any], prefix: str) -> dict[str, Any] | None:
    start = row[f"{prefix}_start"]
    if start is None:
        return None
    return {"start": start, "end": row[f"{prefix}_end"], "text": row[f"{prefix}_text"]}


class StanceInputSerializer(RefuseUnknownFieldsMixin, serializers.Serializer):
    target = serializers.SlugField(help_text="Target slug, such as iran-nuclear-weapons.")
    label = serializers.SlugField(help_text="Stance label slug, such as oppose.")  # type: ignore[assignment]  # DRF's metaclass pops declared fields off the class
    intensity = serializers.IntegerField(
        min_value=1, max_value=3, allow_null=True, required=False, help_text="1 hedged – 3 categorical."
    )
    confidence = serializers.FloatField(min_value=0, max_value=1, allow_null=True, required=False)
    note = TextField(max_length=2000, allow_blank=True, required=False)


# Only what the user may read can be pointed at; anything else is "does not exist",
# never "exists but is not yours". The querysets are the requesting user's, built
# when a value is looked up (building them took a save ~2 ms, sent or not).
#
# Each field's queryset is on its class, not passed in: DRF deep-copies every
# declared field, with its arguments, for each serializer it makes, and
# deep-copying a queryset copies its whole query (five of them were a tenth of
# a save's time in Python). A class's queryset is only ever read through
# ``get_queryset``, which makes a fresh one.


class SpeakerField(serializers.PrimaryKeyRelatedField):
    queryset = Speaker.objects.all()


class SpeakerRoleField(serializers.PrimaryKeyRelatedField):
    queryset = SpeakerRole.objects.all()


class OpenedArticleField(serializers.PrimaryKeyRelatedField):
    """An article the user may open, read with ``annotatable`` (the view refuses a curated or
    submitted article without asking again)."""

    queryset = Article.objects.none()  # the user's, from get_queryset

    def get_queryset(self) -> QuerySet[Article]:
        user = self.context["request"].user
        return Article.objects.visible_to(user).with_annotatable(user)

    def to_internal_value(self, data: Any) -> Article:
        # An id as JSON sends it: the lookup compiled once per role (models.article_opened_by).
        # Anything else as DRF reads it, to the same errors.
        if type(data) is int and 0 < data < 2**63:
            article = article_opened_by(self.context["request"].user, data)
            if article is None:
                self.fail("does_not_exist", pk_value=data)
            return article
        return super().to_internal_value(data)


class VisibleQuoteField(serializers.PrimaryKeyRelatedField):
    queryset = Quote.objects.none()  # the user's, from get_queryset

    def get_queryset(self) -> QuerySet[Quote]:
        return Quote.objects.visible_to(self.context["request"].user)


class QuoteWriteSerializer(RefuseUnknownFieldsMixin, serializers.Serializer):
    """Create (POST) or change (PATCH) a quote, validated by the model.

    The annotator is always the requesting user and a new quote is always a raw
    (annotator's) quote; curation happens on the review pages.
    """

    article = OpenedArticleField(help_text="Article id.")
    start = serializers.IntegerField(min_value=0)
    end = serializers.IntegerField(min_value=0)
    text = TextField(help_text="The quoted span; must equal the article text between start and end.")
    offset_unit = serializers.ChoiceField(
        choices=[CODEPOINT, UTF16],
        default=CODEPOINT,
        write_only=True,
        help_text="How the offsets in this request count: code points (default) or UTF-16 code units, "
        "as a browser's Selection measures them.",
    )
    kind = serializers.ChoiceField(choices=Quote.Kind.choices, default=Quote.Kind.DIRECT)
    speaker = SpeakerField(allow_null=True, required=False)
    speaker_role = SpeakerRoleField(
        allow_null=True,
        required=False,
        help_text="Defaults to the role the speaker held on the article's date.",
    )
    cue = TextField(max_length=100, allow_blank=True, required=False)
    mention = SpanSerializer(allow_null=True, required=False)
    cue_span = SpanSerializer(allow_null=True, required=False)
    addressee = SpeakerField(allow_null=True, required=False)
    attribution_group = TextField(max_length=64, allow_blank=True, required=False)
    parent = VisibleQuoteField(  # type: ignore[assignment]  # DRF's metaclass pops declared fields off the class
        allow_null=True, required=False
    )
    stances = StanceInputSerializer(many=True, required=False, help_text="Replaces the quote's stances when sent.")

    server_fields = frozenset(
        {"id", "layer", "annotator", "curated_from", "version", "created_at", "updated_at", "offsets_convention"}
    )

    # Foreign keys the fields read (or the instance holds): full_clean needn't look them up again.
    FETCHED = ["article", "speaker", "speaker_role", "addressee", "parent"]

    # Model field (as full_clean names it) → the API field a client sent.
    ERROR_FIELDS = {
        "mention_text": "mention",
        "mention_start": "mention",
        "mention_end": "mention",
        "cue_text": "cue_span",
        "cue_start": "cue_span",
        "cue_end": "cue_span",
    }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance is not None:
            self.fields["article"].read_only = True

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        quote: Quote = self.instance if self.instance is not None else Quote(is_curated=False)
        if self.instance is None:
            quote.article = attrs["article"]
            quote.annotator = self.context["request"].user
        article_text = quote.article.text
        if attrs.get("offset_unit") == UTF16:
            attrs = self._to_codepoints(article_text, attrs)

        for name in ("start", "end", "text", "kind", "cue", "attribution_group", "addressee", "parent"):
            if name in attrs:
                setattr(quote, name, attrs[name])
        if "speaker" in attrs:
            if attrs["speaker"] != quote.speaker:
                quote.speaker_role = None
            quote.speaker = attrs["speaker"]
        if "speaker_role" in attrs:
            quote.speaker_role = attrs["speaker_role"]
        for prefix, field in (("mention", "mention"), ("cue", "cue_span")):
            if field in attrs:
                span = attrs[field] or {"start": None, "end": None, "text": ""}
                setattr(quote, f"{prefix}_start", span["start"])
                setattr(quote, f"{prefix}_end", span["end"])
                setattr(quote, f"{prefix}_text", span["text"])
        if quote.speaker_id and not quote.speaker_role_id and "speaker_role" not in attrs:
            quote.pick_role()

        try:
            # Field and clean() rules, whose messages name the problem. Not the
            # constraint check: it would ask the database once per constraint
            # to repeat what clean() has said, and the database keeps them anyway.
            # Nor the foreign keys: the fields above have just read those rows.
            quote.full_clean(exclude=["annotator", *self.FETCHED], validate_constraints=False)
        except DjangoValidationError as error:
            raise serializers.ValidationError(drf_errors(error, self.ERROR_FIELDS)) from None

        stances = self._build_stances(quote, attrs["stances"]) if "stances" in attrs else None
        return {"quote": quote, "stances": stances}

    def _to_codepoints(self, text: str, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs = dict(attrs)
        errors: dict[str, Any] = {}
        for name in ("start", "end"):
            if name in attrs:
                try:
                    attrs[name] = utf16_to_codepoint(text, attrs[name])
                except DjangoValidationError as error:
                    errors[name] = error.messages
        for name in ("mention", "cue_span"):
            span = attrs.get(name)
            if not span:
                continue
            span = dict(span)
            for end in ("start", "end"):
                try:
                    span[end] = utf16_to_codepoint(text, span[end])
                except DjangoValidationError as error:
                    errors.setdefault(name, {})[end] = error.messages
            attrs[name] = span
        if errors:
            raise serializers.ValidationError(errors)
        return attrs

    def _build_stances(self, quote: Quote, rows: list[dict[str, Any]]) -> dict[int, StanceValues]:
        """The stances a request sends, target id → values, for ``Quote.annotate``."""
        targets = Target.objects.in_bulk([row["target"] for row in rows], field_name="slug")
        labels = StanceLabel.objects.in_bulk([row["label"] for row in rows], field_name="slug")
        # Keyed by position, as DRF reports field errors of a list.
        errors: dict[int, dict[str, list[str]]] = {}
        stances: dict[int, StanceValues] = {}
        seen: set[str] = set()
        for index, row in enumerate(rows):
            problems: dict[str, list[str]] = {}
            target, label = targets.get(row["target"]), labels.get(row["label"])
            if target is None:
                problems["target"] = [f"unknown target '{row['target']}'"]
            elif row["target"] in seen:
                problems["target"] = [f"target '{row['target']}' appears twice: a quote has one stance per target"]
            seen.add(row["target"])
            if label is None:
                problems["label"] = [f"unknown label '{row['label']}'"]
            if not problems and target is not None:  # no problem means the target was found
                stance = Stance(
                    target=target,
                    label=label,
                    intensity=row.get("intensity"),
                    confidence=row.get("confidence"),
                    note=row.get("note", ""),
                )
                try:
                    # Target and label were read by in_bulk above.
                    stance.full_clean(
                        exclude=["quote", "target", "label"], validate_unique=False, validate_constraints=False
                    )
                except DjangoValidationError as error:
                    problems.update(drf_errors(error))
                stances[target.pk] = StanceValues.of(stance)
            if problems:
                errors[index] = problems
        if errors:
            # DRF keys a list's errors by position, as ListField does; the stubs allow only str keys.
            raise serializers.ValidationError({"stances": errors})  # type: ignore[dict-item]
        return stances

    def save(self, **kwargs: Any) -> Quote:
        raise NotImplementedError("The view saves through Quote.annotate (see api.QuoteViewSet).")


# --- Articles ------------------------------------------------------------------


class ArticleSerializer(serializers.ModelSerializer):
    """An article. ``text`` and ``quotes`` are null unless asked for (``include=text,quotes``)."""

    url = serializers.CharField(read_only=True, help_text="The article's URL, or an empty string.")
    text = serializers.SerializerMethodField()
    quotes = serializers.SerializerMethodField()

    class Meta:
        model = Article
        fields = [
            "id",
            "title",
            "outlet",
            "url",
            "published_on",
            "language",
            "status",
            "text_sha256",
            "metadata",
            "created_at",
            "text",
            "quotes",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_text(self, article: Article) -> str | None:
        if "text" not in self.context.get("include", ()):
            return None
        return article.text

    @extend_schema_field(QuoteSerializer(many=True, allow_null=True))
    def get_quotes(self, article: Article) -> list[dict[str, Any]] | None:
        if "quotes" not in self.context.get("include", ()):
            return None
        # Rendered by the view for the whole page in one read (user- and layer-scoped).
        return self.context["quotes"].get(article.pk, [])


class ArticleCreateSerializer(RefuseUnknownFieldsMixin, serializers.Serializer):
    """The body of POST /articles/: JSON types here, then ``annotations.forms.ArticleForm``'s rules."""

    title = TextField(max_length=500)
    outlet = TextField(max_length=200, required=False, allow_blank=True)
    url = serializers.URLField(max_length=1000, required=False, allow_blank=True)
    published_on = serializers.DateField(required=False, allow_null=True)
    language = TextField(max_length=35, required=False, allow_blank=True, help_text="BCP 47, default en.")
    text = TextField(help_text="Normalised on the way in (NFC, LF line ends, no leading BOM).")
    metadata = serializers.JSONField(
        required=False,
        help_text='Free-form facts about the article, as a JSON object such as {"section": "world"}.',
    )

    server_fields = frozenset({"id", "status", "text_sha256", "created_at", "quotes"})

    def validate_metadata(self, value: Any) -> dict[str, Any]:
        # The upload page's rule, so that the API and a file import store the same;
        # but JSON text inside a string is for CSV cells, not for a JSON body.
        if isinstance(value, str):
            raise serializers.ValidationError(
                'Must be a JSON object such as {"section": "world"}, not a string: send the object itself.'
            )
        metadata, problem = check_metadata(value)
        if problem:
            raise serializers.ValidationError(problem[0].upper() + problem[1:] + ".")
        return metadata


# --- Speakers and taxonomy -----------------------------------------------------


class SpeakerRoleSerializer(serializers.ModelSerializer):
    class Meta:
        model = SpeakerRole
        fields = ["id", "title", "organisation", "country", "start_date", "end_date"]


class LabelCountSerializer(serializers.Serializer):
    label = serializers.CharField(source="slug", help_text="Stance label slug.")  # type: ignore[assignment]  # a field named label, as in StanceSerializer
    count = serializers.IntegerField(help_text="Stances with this label on the speaker's curated quotes.")


class SpeakerSerializer(serializers.ModelSerializer):
    """A speaker with their figures in the curated layer the caller may read
    (``SpeakerQuerySet.with_quote_figures``; per label from ``label_counts``, which
    the view puts in the context as ``label_counts`` for the whole page at once)."""

    aliases: serializers.SlugRelatedField[SpeakerAlias] = serializers.SlugRelatedField(
        slug_field="name", many=True, read_only=True, help_text="Other names the text may use."
    )
    roles = SpeakerRoleSerializer(many=True, read_only=True)
    quote_count = serializers.IntegerField(read_only=True, help_text="Curated quotes attributed to them.")
    first_quoted = serializers.DateField(
        read_only=True, allow_null=True, help_text="Publication date of the earliest article with a curated quote."
    )
    last_quoted = serializers.DateField(
        read_only=True, allow_null=True, help_text="Publication date of the latest article with a curated quote."
    )
    stances = serializers.SerializerMethodField(help_text="Their curated quotes' stances, counted per label.")

    class Meta:
        model = Speaker
        fields = [
            "id",
            "name",
            "kind",
            "country",
            "wikidata_qid",
            "aliases",
            "roles",
            "quote_count",
            "first_quoted",
            "last_quoted",
            "stances",
        ]
        read_only_fields = fields

    @extend_schema_field(LabelCountSerializer(many=True))
    def get_stances(self, speaker: Speaker) -> list[dict[str, Any]]:
        counts = self.context.get("label_counts", {}).get(speaker.pk, [])
        return [{"label": count.slug, "count": count.count} for count in counts]


class TargetSerializer(serializers.ModelSerializer):
    parent: serializers.SlugRelatedField[Target] = serializers.SlugRelatedField(  # type: ignore[assignment]  # DRF's metaclass pops declared fields off the class
        slug_field="slug", read_only=True, allow_null=True, help_text="Slug of the parent topic."
    )

    class Meta:
        model = Target
        fields = ["id", "slug", "name", "description", "parent", "status"]
        read_only_fields = fields
        extra_kwargs = {"status": {"help_text": "“proposed” by an analyst until a reviewer accepts or merges it."}}


class StanceLabelSerializer(serializers.ModelSerializer):
    class Meta:
        model = StanceLabel
        fields = ["id", "slug", "name", "definition", "colour", "order", "semeval"]
        read_only_fields = fields


# --- Releases ------------------------------------------------------------------


class ReleaseFileSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField(help_text="Where the stored bytes are served, unchanged.")

    class Meta:
        model = ReleaseFile
        fields = ["format", "url", "sha256", "size"]
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.URI)
    def get_url(self, release_file: ReleaseFile) -> str:
        path = reverse("api:release-file", args=[release_file.release_id, release_file.format])
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request else path


class ReleaseSerializer(serializers.ModelSerializer):
    files = ReleaseFileSerializer(many=True, read_only=True)
    created_by: serializers.SlugRelatedField[User] = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )

    class Meta:
        model = Release
        fields = [
            "id",
            "name",
            "note",
            "filters",
            "quote_count",
            "article_count",
            "sha256",
            "datasheet",
            "citation",
            "bibtex",
            "created_by",
            "created_at",
            "files",
        ]
        read_only_fields = fields


class ReleaseCreateSerializer(RefuseUnknownFieldsMixin, serializers.Serializer):
    name = serializers.RegexField(
        r"^[\w][\w.\-]*$",
        max_length=100,
        help_text='What a paper cites, such as "v1" or "2024-05-pilot": letters, digits, ".", "-", "_".',
    )
    note = TextField(required=False, allow_blank=True, max_length=10_000, help_text="Changelog.")
    filters = serializers.DictField(
        child=serializers.CharField(),
        required=False,
        help_text='Quote filters to freeze (as on GET /quotes/, e.g. {"target": "iran-nuclear"}); '
        "always the curated layer.",
    )

    def validate_name(self, name: str) -> str:
        if Release.objects.filter(name=name).exists():
            raise serializers.ValidationError(f"A release named '{name}' already exists; releases never change.")
        return name


# --- Imports -------------------------------------------------------------------


class SpanImportSerializer(RefuseUnknownFieldsMixin, serializers.Serializer):
    file = serializers.FileField(help_text="doccano JSONL or Label Studio JSON export.")
    format = serializers.ChoiceField(choices=["doccano", "labelstudio"])


class LineNoteSerializer(serializers.Serializer):
    line = serializers.IntegerField(allow_null=True, help_text="The line (doccano) or task (Label Studio) number.")
    unit = serializers.ChoiceField(choices=["line", "task"])
    message = serializers.CharField()


class SpanImportReportSerializer(serializers.Serializer):
    ok = serializers.BooleanField()
    articles_created = serializers.IntegerField()
    articles_matched = serializers.IntegerField()
    quotes_created = serializers.IntegerField()
    skipped = LineNoteSerializer(many=True)
    errors = LineNoteSerializer(many=True)  # type: ignore[assignment]  # DRF's metaclass pops declared fields off the class


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()


class VersionConflictSerializer(serializers.Serializer):
    detail = serializers.CharField()
    current_version = serializers.IntegerField(allow_null=True, help_text="null when the quote was deleted.")


# --- Assignments ---------------------------------------------------------------


def analyst_accounts() -> QuerySet:
    """Whom an article can be assigned to: the active members of the analyst group,
    the people the review page's assign form lists."""
    return get_user_model().objects.filter(groups__name=Role.ANALYST, is_active=True)


class AssignmentSerializer(serializers.ModelSerializer):
    article = ArticleRefSerializer(read_only=True)
    annotator: serializers.SlugRelatedField[User] = serializers.SlugRelatedField(
        slug_field="username", read_only=True, help_text="The analyst's username."
    )
    assigned_by: serializers.SlugRelatedField[User] = serializers.SlugRelatedField(
        slug_field="username",
        read_only=True,
        allow_null=True,
        help_text="The reviewer who assigned it; null when the analyst took it from the pool.",
    )

    class Meta:
        model = Assignment
        fields = [
            "id",
            "article",
            "annotator",
            "status",
            "comment",
            "assigned_by",
            "created_at",
            "updated_at",
            "submitted_at",
        ]
        read_only_fields = fields


class KnownFieldsOnly(serializers.Serializer):
    """A request body whose every field is one the endpoint takes.

    A misspelt field ("annotater") would otherwise be dropped without a word and
    the request done as if it had not been sent.
    """

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if isinstance(data, Mapping):
            unknown = sorted(str(name) for name in data if name not in self.fields)
            if unknown:
                accepted = ", ".join(self.fields) or "no fields"
                raise serializers.ValidationError(
                    {name: [f"Unknown field. This endpoint accepts: {accepted}."] for name in unknown}
                )
        return super().to_internal_value(data)


def _analyst_named(username: str) -> Any:
    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        raise serializers.ValidationError(f"No user is named '{username}'.")
    if not analyst_accounts().filter(pk=user.pk).exists():
        raise serializers.ValidationError(
            f"'{username}' is not an active analyst: only members of the analyst group are assigned articles."
        )
    return user


class AssignmentCreateSerializer(KnownFieldsOnly):
    """The body of POST /assignments/: the review page's assign form for one article and one analyst."""

    article = serializers.IntegerField(min_value=1, max_value=2**63 - 1, help_text="Article id (an open article).")
    annotator = TextField(max_length=150, help_text="The analyst's username.")

    def validate_article(self, pk: int) -> Article:
        article = Article.objects.defer("text", "metadata").filter(pk=pk).first()
        if article is None:
            raise serializers.ValidationError(f"No article has id {pk}.")
        if article.status != Article.Status.OPEN:
            raise serializers.ValidationError(f"Article {pk} is curated: only open articles are assigned.")
        return article

    def validate_annotator(self, username: str) -> Any:
        return _analyst_named(username)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        existing = Assignment.objects.filter(article=attrs["article"], annotator=attrs["annotator"]).first()
        if existing is not None:
            raise serializers.ValidationError(
                {
                    "annotator": [
                        f"'{attrs['annotator'].get_username()}' already has article {attrs['article'].pk} "
                        f"(assignment {existing.pk}, {existing.get_status_display().lower()})."
                    ]
                }
            )
        return attrs


class AssignmentBulkSerializer(KnownFieldsOnly):
    """The body of POST /assignments/bulk/: the review page's assign form, whole."""

    articles = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=2**63 - 1),
        allow_empty=False,
        max_length=1000,
        error_messages={"empty": "Name at least one article id."},
        help_text="Article ids. A curated article is skipped, with the reason.",
    )
    annotators = serializers.ListField(
        child=TextField(max_length=150),
        required=False,
        max_length=1000,
        help_text="Analysts' usernames; left out or empty, every analyst (as on the review page).",
    )
    per_article = serializers.IntegerField(
        min_value=1,
        max_value=10,
        required=False,
        allow_null=True,
        help_text="Bring each article up to this many analysts in all, choosing those with the fewest open "
        "assignments, and set its annotators_needed to it. Left out: every article to every analyst named.",
    )

    def validate_articles(self, ids: list[int]) -> list[Article]:
        ids = list(dict.fromkeys(ids))
        found = Article.objects.defer("text", "metadata").in_bulk(ids)
        missing = [str(pk) for pk in ids if pk not in found]
        if missing:
            raise serializers.ValidationError(f"No article has id {', '.join(missing)}; nothing was assigned.")
        return [found[pk] for pk in ids]

    def validate_annotators(self, usernames: list[str]) -> list[Any]:
        usernames = list(dict.fromkeys(usernames))
        users = {user.get_username(): user for user in get_user_model().objects.filter(username__in=usernames)}
        analysts = set(analyst_accounts().filter(username__in=usernames).values_list("username", flat=True))
        unknown = [name for name in usernames if name not in users]
        not_analysts = [name for name in usernames if name in users and name not in analysts]
        problems = []
        if unknown:
            problems.append(f"No user is named {', '.join(repr(name) for name in unknown)}.")
        if not_analysts:
            problems.append(
                f"Not an active analyst: {', '.join(repr(name) for name in not_analysts)} "
                "(only members of the analyst group are assigned articles)."
            )
        if problems:
            raise serializers.ValidationError(problems)
        return [users[name] for name in usernames]

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs.get("annotators") and not attrs.get("per_article"):
            raise serializers.ValidationError(
                "Name annotators, or give per_article (how many analysts each article needs), or both."
            )
        return attrs


class AssignmentBulkResultSerializer(serializers.Serializer):
    created = AssignmentSerializer(many=True)
    skipped = serializers.ListField(
        child=serializers.CharField(), help_text="Why each article or analyst was left out, as the review page says it."
    )


class AssignmentSendBackSerializer(KnownFieldsOnly):
    comment = TextField(
        max_length=2000,
        help_text="What the analyst should look at again; shown to them on the article.",
        error_messages={"blank": "Say what the analyst should look at again."},
    )

    def validate_comment(self, comment: str) -> str:
        if not comment.strip():
            raise serializers.ValidationError("Say what the analyst should look at again.")
        return comment


class EmptyBodySerializer(KnownFieldsOnly):
    """An action that takes no fields: anything sent is refused rather than ignored."""


# --- Stance statistics (annotations.stats; documents the shape, the view writes the rows) ---


class StanceCountSerializer(serializers.Serializer):
    period = serializers.DateField(
        allow_null=True, help_text="The period's first day (2023-04-01 for 2023 Q2); null for interval=all."
    )
    # The stubs type Field.label (a field's display name) as a string; here it is a field named "label".
    label = serializers.CharField(help_text="The stance label's slug.")  # type: ignore[assignment]
    speaker = serializers.IntegerField(
        required=False, allow_null=True, help_text="With group_by=speaker: the speaker's id (null: unattributed)."
    )
    speaker_name = serializers.CharField(required=False, help_text="With group_by=speaker.")
    country = serializers.CharField(
        required=False, help_text="With group_by=country: the speaker's ISO 3166-1 alpha-2 code, or empty."
    )
    target = serializers.CharField(required=False, help_text="With group_by=target: the target's slug.")
    target_name = serializers.CharField(required=False, help_text="With group_by=target.")
    count = serializers.IntegerField(help_text="Curated stances.")


class StanceStatsSerializer(serializers.Serializer):
    interval = serializers.CharField()
    group_by = serializers.ListField(child=serializers.CharField())
    labels = StanceLabelSerializer(many=True, help_text="The label taxonomy, in its order.")
    results = StanceCountSerializer(many=True)
