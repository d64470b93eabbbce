"""The Demarche domain: articles, speakers, quotes and their stances.

Access is decided in one place, the ``visible_to`` / ``editable_by`` QuerySet
methods below, so the HTML pages and the API can't disagree about who sees what.
"""

from __future__ import annotations

import datetime
import hashlib
from collections.abc import Iterable, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import IntegrityError, connections, models, router, transaction
from django.db.models import Count, DateField, Exists, F, Func, Max, Min, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce, Length
from django.db.models.lookups import Exact
from django.db.models.signals import pre_delete
from django.dispatch import receiver
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.safestring import SafeString
from django.utils.text import slugify
from simple_history.manager import HistoryDescriptor
from simple_history.models import HistoricalRecords
from simple_history.utils import bulk_create_with_history

from .markdown import render_markdown
from .offsets import check_span, normalise_text
from .roles import Role, is_analyst, is_researcher, is_reviewer, reads_curated, roles_of  # noqa: F401

# The roles live in roles.py with the decorators that enforce them; importing them
# from models.py keeps working for the code that always did.
from .statements import Read, Statement, read_together

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User

    AnyUser = User | AnonymousUser


country_code_validator = RegexValidator(
    r"^[A-Z]{2}$", "Use a two-letter ISO 3166-1 alpha-2 country code in capitals, such as IL or US."
)
language_validator = RegexValidator(
    r"^[a-zA-Z]{2,3}(-[a-zA-Z0-9]{2,8})*$", "Use a BCP 47 language tag, such as en, he or pt-BR."
)
colour_validator = RegexValidator(r"^#[0-9a-fA-F]{6}$", "Use a hex colour such as #1f77b4.")
qid_validator = RegexValidator(r"^Q[1-9][0-9]*$", "A Wikidata QID looks like Q42.")


# --- History of rows written in bulk ------------------------------------------


class _HistoryDescriptor(HistoryDescriptor):
    """``Model.history``, with its manager class made once rather than at every read.

    simple_history's descriptor builds a new manager class (``from_queryset``,
    which inspects every queryset method) each time ``Model.history`` is read,
    and its own signal handler reads it at every save: 0.4 ms a read, a tenth
    of the time a quote's save spends in Python. The class made is the same each
    time, so it is made once.
    """

    @cached_property
    def _manager(self) -> type[models.Manager]:
        return self.manager_class.from_queryset(self.queryset_class)

    def __get__(self, instance: models.Model | None, owner: type[models.Model]) -> models.Manager:
        return self._manager(self.model, instance)  # type: ignore[call-arg]  # simple_history's manager takes both


class History(HistoricalRecords):
    """simple_history's ``HistoricalRecords`` with the descriptor above on the model."""

    _of: dict[type[models.Model], History] = {}

    @classmethod
    def of(cls, model: type[models.Model]) -> History:
        """The ``History`` that records ``model`` (who wrote a change, and why, as its signal reads them)."""
        return cls._of[model]

    def finalize(self, sender: type[models.Model], **kwargs: Any) -> None:
        super().finalize(sender, **kwargs)
        if not sender._meta.abstract:
            History._of[sender] = self
        descriptor = sender.__dict__.get(self.manager_name)
        if isinstance(descriptor, HistoryDescriptor) and type(descriptor) is HistoryDescriptor:  # simple_history's own
            manager, queryset = descriptor.manager_class, descriptor.queryset_class
            setattr(sender, self.manager_name, _HistoryDescriptor(descriptor.model, manager=manager, queryset=queryset))


def record_creations(model: type[models.Model], pks: list[int], *, by: AnyUser | None) -> None:
    """Write the "created" history rows of rows just inserted in bulk (``bulk_create``
    records none), as simple_history's ``bulk_history_create`` would, but copied by
    the database from the stored rows (INSERT … SELECT, a batch of ids at a time):
    building a history instance per row in Python was most of a large import's time.
    """
    record_history(model, pks, by=by, history_type="+")


def _history_copy_sql(model: type[models.Model], connection: Any, source: str) -> str:
    """An INSERT of history rows of ``model`` copied from the rows ``source`` (SQL after FROM)
    gives, the history date, type, user id and change reason as its first four parameters."""
    history = model.history.model  # type: ignore[attr-defined]
    name = connection.ops.quote_name
    columns = ", ".join(name(field.column) for field in history.tracked_fields)
    extra = ", ".join(
        name(column) for column in ("history_date", "history_type", "history_user_id", "history_change_reason")
    )
    return (
        f"INSERT INTO {name(history._meta.db_table)} ({columns}, {extra}) "  # noqa: S608  # nosec B608: names from the models, values as parameters
        f"SELECT {columns}, %s, %s, %s, %s FROM {source}"
    )


def record_history(
    model: type[models.Model], pks: list[int], *, by: AnyUser | None, history_type: str, reason: str | None = None
) -> None:
    """Write a history row of ``history_type`` ("+" created, "~" changed) for each of
    ``pks`` as the rows now stand, copied by the database (see ``record_creations``),
    with ``reason`` as the change reason."""
    connection = connections[router.db_for_write(model)]
    name = connection.ops.quote_name
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    user_id = by.pk if by is not None and by.is_authenticated else None
    pk = name(str(model._meta.pk.column))
    # PostgreSQL takes the ids as one array; elsewhere an IN list (SQLite builds
    # before 3.32 allow 999 parameters).
    arrays = connection.vendor == "postgresql"
    batch_size = 10_000 if arrays else 900
    with connection.cursor() as cursor:
        for start in range(0, len(pks), batch_size):
            batch = pks[start : start + batch_size]
            where = f"{pk} = ANY(%s)" if arrays else f"{pk} IN ({', '.join(['%s'] * len(batch))})"
            cursor.execute(
                _history_copy_sql(model, connection, f"{name(model._meta.db_table)} WHERE {where}"),
                [now, history_type, user_id, reason, *([batch] if arrays else batch)],
            )


@dataclass(frozen=True)
class Inserted:
    """What ``insert_recorded`` wrote: the history row's id (None when history is off)."""

    history_id: int | None


def insert_recorded(
    instance: models.Model, *, computed: Mapping[str, str] | None = None, if_new: bool = False
) -> Inserted | None:
    """Insert ``instance``, a new row, with its "created" history row.

    What ``save()`` and simple_history's signal would write, in one statement on PostgreSQL
    (an INSERT that a second INSERT reads through a CTE) and two elsewhere: a new quote's
    save spent more time having the ORM compile its two INSERTs and build the history
    instance than the database spent on them. The SQL is built once per model and database,
    so PostgreSQL prepares it. Done in Python as ``save()`` does it: the fields' ``pre_save``
    (``auto_now_add``, read back into the instance) and their conversion for the database;
    the history row's user, date and reason come from the model's ``History``.

    ``computed``: columns whose value is the SQL given (a subquery, written once per model,
    with no parameters), read back into the instance. ``if_new``: a row that breaks a unique
    constraint is not written, nor its history (ON CONFLICT DO NOTHING), and the answer is
    None. No other signal is sent: the models that come through here have no
    ``pre_save``/``post_save`` receiver but their history (tests/test_hot_paths.py holds that).
    """
    model = type(instance)
    if not instance._state.adding:
        raise ValueError(f"insert_recorded: {model.__name__} {instance.pk} is stored already.")
    # As save() does: a related row assigned before it was saved lends its id now.
    instance._prepare_related_fields_for_save(operation_name="insert_recorded")  # type: ignore[attr-defined]
    using = router.db_for_write(model, instance=instance)
    connection = connections[using]
    computed = dict(computed or {})
    statement = _recorded_insert(
        model, using, tuple(sorted(computed.items())), with_pk=instance.pk is not None, if_new=if_new
    )
    values: list[Any] = []
    for field in statement.fields:
        value = field.pre_save(instance, True)
        if hasattr(value, "resolve_expression"):
            raise TypeError(f"insert_recorded: {field.name} is an expression; pass it as computed SQL.")
        values.append(field.get_db_prep_save(value, connection))
    records = History.of(model)
    recorded = getattr(settings, "SIMPLE_HISTORY_ENABLED", True)
    user = records.get_history_user(instance) if recorded else None
    history = [
        connection.ops.adapt_datetimefield_value(getattr(instance, "_history_date", timezone.now())),
        "+",
        user.pk if user is not None else None,
        records.get_change_reason_for_object(instance, "+", using),
    ]
    with transaction.atomic(using=using, savepoint=False), connection.cursor() as cursor:
        if recorded and statement.combined is not None:
            cursor.execute(statement.combined, values + history)
            row = cursor.fetchone()
            if row is None:  # if_new, and the row was there
                return None
            *returned, history_id = row
        else:
            cursor.execute(statement.insert, values)
            row = cursor.fetchone()
            if row is None:
                return None
            returned, history_id = list(row), None
            if recorded:
                cursor.execute(statement.record, [*history, returned[0]])
                (history_id,) = cursor.fetchone()
    for field, value in zip(statement.returned, returned, strict=True):
        for converter in field.get_db_converters(connection):
            value = converter(value, field, connection)
        setattr(instance, field.attname, value)
    instance._state.adding = False
    instance._state.db = using
    return Inserted(history_id)


@dataclass(frozen=True)
class _RecordedInsert:
    fields: list[models.Field]  # the values given, in order
    returned: list[models.Field]  # the values read back: the primary key, then the computed columns
    insert: str  # INSERT … RETURNING the returned columns
    record: str  # the history row of the row whose primary key is the last parameter, RETURNING its id
    combined: str | None  # both, on PostgreSQL: RETURNING the returned columns and the history row's id


# By model, database, computed columns, whether the primary key is given (an undone
# deletion brings a row back under its own id) and whether a conflict is let be.
_recorded_inserts: dict[tuple[type[models.Model], str, tuple[tuple[str, str], ...], bool, bool], _RecordedInsert] = {}


def _recorded_insert(
    model: type[models.Model], using: str, computed: tuple[tuple[str, str], ...], *, with_pk: bool, if_new: bool
) -> _RecordedInsert:
    key = (model, using, computed, with_pk, if_new)
    statement = _recorded_inserts.get(key)
    if statement is not None:
        return statement
    connection = connections[using]
    name = connection.ops.quote_name
    meta = model._meta
    by_column = dict(computed)
    fields = [
        field
        for field in meta.local_concrete_fields
        if (with_pk or field is not meta.auto_field) and field.column not in by_column
    ]
    computed_fields = [field for field in meta.local_concrete_fields if field.column in by_column]
    if len(computed_fields) != len(by_column):
        raise ValueError(f"insert_recorded: {sorted(by_column)} are not all columns of {model.__name__}.")
    returned = [meta.pk, *computed_fields]
    table = name(meta.db_table)
    columns = ", ".join(name(str(field.column)) for field in fields + computed_fields)
    values = ", ".join(["%s"] * len(fields) + [f"({by_column[str(field.column)]})" for field in computed_fields])
    returning = ", ".join(name(str(field.column)) for field in returned)
    insert = f"INSERT INTO {table} ({columns}) VALUES ({values})"  # noqa: S608  # nosec B608: names from the model
    if if_new:
        insert += " ON CONFLICT DO NOTHING"
    history_id = name(str(model.history.model._meta.pk.column))  # type: ignore[attr-defined]

    def record(source: str) -> str:
        return f"{_history_copy_sql(model, connection, source)} RETURNING {history_id}"

    combined = None
    if connection.vendor == "postgresql":
        # A data-modifying CTE: the second INSERT reads the row the first returns.
        selected = ", ".join(f"new_row.{name(str(field.column))}" for field in returned)
        combined = (
            f"WITH new_row AS ({insert} RETURNING *), new_record AS ({record('new_row')}) "  # noqa: S608  # nosec B608: names from the models
            f"SELECT {selected}, new_record.{history_id} FROM new_row CROSS JOIN new_record"
        )
    statement = _RecordedInsert(
        fields=fields,
        returned=returned,
        insert=f"{insert} RETURNING {returning}",
        record=record(f"{table} WHERE {name(str(meta.pk.column))} = %s"),
        combined=combined,
    )
    _recorded_inserts[key] = statement
    return statement


def record_curated_links(pks: list[int]) -> None:
    """Copy the ``curated_from`` links of quotes ``pks`` into their latest history rows
    (those ``record_history`` has just written), as ``QuoteHistory`` does on a save:
    otherwise such a row would read as a curated quote made from nothing."""
    if not pks:
        return
    history = Quote.history.model
    links = history._meta.apps.get_model("annotations", "HistoricalQuote_curated_from")
    through = Quote.curated_from.through
    latest = history.objects.filter(id__in=pks).values("id").annotate(last=Max("history_id")).values("last")
    records = dict(history.objects.filter(history_id__in=latest).values_list("id", "history_id"))
    sources = through.objects.filter(from_quote_id__in=pks).values_list("pk", "from_quote_id", "to_quote_id")
    links.objects.bulk_create(
        links(id=pk, history_id=records[source], from_quote_id=source, to_quote_id=target)
        for pk, source, target in sources
        if source in records
    )


# --- Articles ----------------------------------------------------------------


class ArticleQuerySet(models.QuerySet):
    def visible_to(self, user: AnyUser) -> ArticleQuerySet:
        """Articles a user may open (read; writing is ``annotatable_by``).

        Reviewers see everything; analysts see what is assigned to them, the
        open pool and the curated articles; researchers see curated articles;
        anyone else sees nothing. Analysts read curated articles because they
        already read the curated quotes on them (``QuoteQuerySet.visible_to``):
        a quote whose article can't be opened was one rule for quotes and
        another for articles. They still can't annotate them: ``annotatable_by``
        keeps to open articles.
        """
        if not user.is_authenticated or not user.is_active:
            return self.none()
        if is_reviewer(user):
            return self.all()
        condition = Q(pk__in=[])
        roles = roles_of(user)
        if Role.ANALYST in roles:
            # EXISTS rather than a JOIN: a JOIN repeats an article per assignment
            # and the DISTINCT that undoes it compares whole 50,000-character texts.
            assigned = Exists(Assignment.objects.filter(article=OuterRef("pk"), annotator=user))
            condition |= Q(assigned) | Q(status=Article.Status.OPEN, pool=True)
        if roles & {Role.ANALYST, Role.RESEARCHER}:
            condition |= Q(status=Article.Status.CURATED)
        return self.filter(condition)

    def queue_for(self, user: AnyUser) -> ArticleQuerySet:
        """The articles on a user's home page: what they may open, less the curated
        articles an analyst may only read. An analyst's queue is their work (their
        assignments and the open pool); a researcher's is the curated dataset."""
        articles = self.visible_to(user)
        if is_reviewer(user) or Role.RESEARCHER in roles_of(user):
            return articles
        assigned = Exists(Assignment.objects.filter(article=OuterRef("pk"), annotator_id=user.pk))
        return articles.filter(Q(assigned) | ~Q(status=Article.Status.CURATED))

    def curated(self) -> ArticleQuerySet:
        return self.filter(status=Article.Status.CURATED)

    def needing_annotators(self) -> ArticleQuerySet:
        """Open pool articles with fewer assignments than ``annotators_needed``.

        The count is a correlated subquery, not a JOIN with GROUP BY, so that the
        queryset can be locked with ``select_for_update`` (PostgreSQL refuses
        FOR UPDATE together with GROUP BY).
        """
        taken = (
            Assignment.objects.filter(article=OuterRef("pk"))
            .order_by()
            .values("article")
            .annotate(count=Count("pk"))
            .values("count")
        )
        return (
            self.filter(status=Article.Status.OPEN, pool=True)
            .annotate(assignment_count=Coalesce(Subquery(taken), 0))
            .filter(assignment_count__lt=F("annotators_needed"))
        )

    def in_review(self) -> ArticleQuerySet:
        """Articles at least one annotator has submitted: what reviewers compare and curate."""
        done = Assignment.objects.filter(article=OuterRef("pk"), status__in=Assignment.DONE)
        return self.filter(Exists(done))

    def annotatable_by(self, user: AnyUser) -> ArticleQuerySet:
        """Articles a user may add quotes to: reviewers any; analysts the open
        articles they can see and have not submitted."""
        if is_reviewer(user):
            return self.visible_to(user)
        if Role.ANALYST not in roles_of(user):
            return self.none()
        locked = Assignment.objects.filter(
            annotator_id=user.pk, status__in=[Assignment.Status.SUBMITTED, Assignment.Status.REVIEWED]
        ).values("article_id")
        return self.visible_to(user).filter(status=Article.Status.OPEN).exclude(pk__in=locked)

    def with_annotatable(self, user: AnyUser) -> ArticleQuerySet:
        """Each article with ``annotatable``: whether ``user`` may add quotes to it
        (``annotatable_by``), answered in the query that reads the article."""
        return self.annotate(annotatable=Exists(Article.objects.annotatable_by(user).filter(pk=OuterRef("pk"))))


class Article(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", "Open"
        CURATED = "curated", "Curated"

    title = models.CharField(max_length=500)
    outlet = models.CharField(max_length=200, blank=True)
    url = models.URLField(max_length=1000, blank=True)
    published_on = models.DateField(null=True, blank=True)
    language = models.CharField(max_length=35, default="en", validators=[language_validator])
    text = models.TextField(help_text="Normalised once on the way in (NFC, LF line ends); immutable once annotated.")
    text_sha256 = models.CharField(max_length=64, editable=False, db_index=True)
    metadata = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=16, choices=Status, default=Status.OPEN)
    pool = models.BooleanField(default=True, help_text="Whether analysts may take this article from the open pool.")
    annotators_needed = models.PositiveSmallIntegerField(
        default=1,
        validators=[MinValueValidator(1), MaxValueValidator(10)],
        help_text="How many analysts should annotate this article (2 or more for agreement figures).",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ArticleQuerySet.as_manager()
    annotatable: bool  # set on the rows ArticleQuerySet.with_annotatable reads
    # Who changed the status, pool or metadata, and when. Not the text: it can
    # be 50,000 characters, a copy per change would dwarf the table, and it is
    # immutable once annotated; its hash is kept, so a change still shows.
    history = History(excluded_fields=["text"])

    class Meta:
        ordering = ["-created_at", "-id"]
        # Imports look duplicates up by URL. (An AddIndex, not db_index: altering
        # a field makes SQLite rebuild the table, which drops its triggers.)
        indexes = [
            models.Index(fields=["url"], name="article_url_idx"),
            # The stance statistics: the curated articles' dates, read from the index alone.
            # (Key columns rather than INCLUDE, which SQLite ignores with a warning.)
            models.Index(
                fields=["id", "published_on"],
                condition=Q(status="curated", published_on__isnull=False),
                name="article_curated_dated_idx",
            ),
        ]
        constraints = [
            models.UniqueConstraint(fields=["text_sha256"], name="article_text_sha256_unique"),
            models.CheckConstraint(condition=~Q(text=""), name="article_text_not_empty"),
            models.CheckConstraint(condition=Q(annotators_needed__gte=1), name="article_annotators_needed_positive"),
            models.CheckConstraint(condition=Q(status__in=["open", "curated"]), name="article_status_valid"),
        ]

    def __str__(self) -> str:
        return self.title

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.text = normalise_text(self.text)
        self._refuse_text_change()
        self.text_sha256 = self.hash_text(self.text)
        stored = Article.objects.filter(pk=self.pk).values_list("status", "published_on").first() if self.pk else None
        if stored is None or stored == (self.status, self.published_on):
            super().save(*args, **kwargs)
            return
        from .tallies import tallied

        with tallied([self.pk]):  # its stances change month, or start or stop counting
            super().save(*args, **kwargs)

    @staticmethod
    def hash_text(text: str) -> str:
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    def add_for(self, user: AnyUser) -> None:
        """Save an article someone added by hand (the page or the API): it goes to
        their own queue, not the shared pool, where every analyst would see it."""
        if not user.is_authenticated:
            raise PermissionDenied("Log in to add an article.")
        self.created_by = user
        self.pool = False
        with transaction.atomic():
            self.save()
            Assignment.objects.create(article=self, annotator=user, assigned_by=user)
            DetectionRun.objects.request_on_arrival([self.pk], by=user)

    # Set by read_detection (not fields).
    detection_run_id: int | None
    detection_status: str | None
    detection_error: str | None
    detection_version: str | None

    def read_detection(self) -> None:
        """Set ``detection_run_id``, ``detection_status``, ``detection_error`` and
        ``detection_version`` from the latest detection run (all None if it was never
        run), in one query on the (article, -id) index. A run still queued or running
        past ``DETECTION_STALE_AFTER`` (its worker died, say) has the status "stale":
        the page stops waiting for it and offers to retry.

        A query of its own rather than subqueries in the article's (those five cost
        the annotate page more to build than the round trip they saved), compiled
        once (``LATEST_DETECTION``)."""
        self.take_detection(next(iter(LATEST_DETECTION.instances(None, self.pk)), None))

    def take_detection(self, run: DetectionRun | None) -> None:
        """``read_detection`` with the run already read (``LATEST_DETECTION``)."""
        if run is None:
            self.detection_run_id = self.detection_status = self.detection_error = self.detection_version = None
            return
        stale = run.status in DetectionRun.UNFINISHED and run.created_at < stale_cutoff()
        self.detection_run_id, self.detection_status = run.pk, "stale" if stale else run.status
        self.detection_error, self.detection_version = run.error, run.detector_version

    @property
    def annotate_url(self) -> str:
        return reverse("annotations:article-annotate", args=[self.pk])

    @property
    def review_url(self) -> str:
        return reverse("annotations:review-article", args=[self.pk])

    def curation_problems(self) -> list[str]:
        """Why this article can't be marked curated yet; empty when it can.

        The rules: it is still open; at least one annotator has submitted; nobody
        is still annotating it (their work would land after the curated version
        is fixed: send it back or remove the assignment first); the curated
        layer has at least one quote; and none of its stances is toward a target
        still only proposed.
        """
        if self.status == Article.Status.CURATED:
            return ["This article is already curated."]
        problems = []
        assignments = list(self.assignments.select_related("annotator"))
        if not any(assignment.status == Assignment.Status.SUBMITTED for assignment in assignments):
            problems.append("No annotator has submitted this article yet.")
        still_working = sorted(
            assignment.annotator.get_username() for assignment in assignments if assignment.status in Assignment.OPEN
        )
        if still_working:
            problems.append(
                f"Still being annotated by {', '.join(still_working)}: wait for them to submit "
                "or remove their assignment."
            )
        if not self.quotes.curated().exists():
            problems.append("The curated version has no quotes yet: accept or add at least one.")
        proposed = sorted(
            set(
                Target.objects.proposed()
                .filter(stances__quote__article=self, stances__quote__is_curated=True)
                .values_list("name", flat=True)
            )
        )
        if proposed:
            problems.append(
                f"Curated stances point to proposed targets ({', '.join(proposed)}): "
                "accept or merge them on the target proposals page first."
            )
        return problems

    def mark_curated(self) -> int:
        """Fix the curated version: the article becomes curated and its submitted
        assignments reviewed. Returns how many assignments were reviewed.

        Refuses with a ValidationError listing ``curation_problems()``. The article
        row is locked first, so two reviewers can't both mark it.
        """
        with transaction.atomic():
            locked = Article.objects.select_for_update().get(pk=self.pk)
            problems = locked.curation_problems()
            if problems:
                raise ValidationError(problems, code="not_curatable")
            from .tallies import tallied

            with tallied([self.pk]):  # its curated stances start counting in the statistics
                Article.objects.filter(pk=self.pk).update(status=Article.Status.CURATED)
            self.status = Article.Status.CURATED
            reviewed = 0
            for assignment in locked.assignments.filter(status=Assignment.Status.SUBMITTED):
                assignment.move_to(Assignment.Status.REVIEWED)
                reviewed += 1
        return reviewed

    def has_quotes(self) -> bool:
        return self.pk is not None and self.quotes.exists()

    def stored_text(self) -> str | None:
        if self.pk is None:
            return None
        return Article.objects.filter(pk=self.pk).values_list("text", flat=True).first()

    def clean(self) -> None:
        super().clean()
        if self.text is not None:
            self.text = normalise_text(self.text)
            # An empty text is left to clean_fields() (blank=False), which skips
            # a field the form already refused; here "" may only mean "not set".
            if self.text and not self.text.strip():
                raise ValidationError({"text": "The article text is empty."})
        self._refuse_text_change()

    def _refuse_text_change(self) -> None:
        if self.pk is None:
            return
        stored = self.stored_text()
        if stored is not None and stored != self.text and self.has_quotes():
            raise ValidationError(
                {
                    "text": "This article's text can't be changed: quotes point into it by offset. "
                    "Delete its quotes first, or add the corrected text as a new article."
                },
                code="article_text_immutable",
            )


# Built and compiled once per role (statements.py): it took the annotate page ~4 ms a request.
OPENED_ARTICLE = Statement(
    Article,
    "the article a user opens",
    lambda user, pk: Article.objects.visible_to(user).with_annotatable(user).filter(pk=pk),
)


def article_opened_by(user: AnyUser, pk: int) -> Article | None:
    """Article ``pk`` if ``user`` may open it (``visible_to``), with ``annotatable``
    (``with_annotatable``); None if not. What the annotate page and a quote's save look up."""
    if not user.is_authenticated or not 0 < pk < 2**63:  # past any id: no such article, as the ORM reads it
        return None
    return next(iter(OPENED_ARTICLE.instances(user, pk)), None)


# --- Speakers ----------------------------------------------------------------


class SpeakerQuerySet(models.QuerySet):
    def search(self, term: str) -> SpeakerQuerySet:
        term = term.strip()
        if not term:
            return self.none()
        return self.filter(Q(name__icontains=term) | Q(aliases__name__icontains=term)).distinct()

    def with_quote_figures(self, user: AnyUser) -> SpeakerQuerySet:
        """Each speaker with ``quote_count``, ``first_quoted`` and ``last_quoted`` (the
        earliest and latest publication date) in the curated layer ``user`` may read,
        for the speakers pages and the API alike: read from ``SpeakerQuoteTally``
        (a row per speaker and day), in correlated subqueries rather than a JOIN with
        GROUP BY, so a page of speakers can be filtered, sorted and keyset-paginated on them."""
        from .tallies import UNDATED

        if not reads_curated(user):
            return self.annotate(
                quote_count=Value(0), first_quoted=Value(None, DateField()), last_quoted=Value(None, DateField())
            )
        theirs = SpeakerQuoteTally.objects.filter(speaker_id=OuterRef("pk")).order_by().values("speaker_id")
        dated = theirs.filter(day__gt=UNDATED)
        return self.annotate(
            quote_count=Coalesce(Subquery(theirs.annotate(n=Sum("quotes")).values("n")), 0),
            first_quoted=Subquery(dated.annotate(first=Min("day")).values("first")),
            last_quoted=Subquery(dated.annotate(last=Max("day")).values("last")),
        )


@dataclass(frozen=True)
class LabelCount:
    """How many of a speaker's stances carry one label."""

    slug: str
    name: str
    colour: str
    count: int


def label_counts(speaker_ids: Iterable[int], user: AnyUser) -> dict[int, list[LabelCount]]:
    """Each speaker's curated stances (that ``user`` may read) per label, in the labels' order,
    from ``SpeakerStanceTally``: one query, however many speakers."""
    if not reads_curated(user):
        return {}
    rows = (
        SpeakerStanceTally.objects.filter(speaker_id__in=list(speaker_ids))
        .values("speaker_id", "label__slug", "label__name", "label__colour", "label__order", "label_id")
        .annotate(count=Sum("stances"))
        .order_by("speaker_id", "label__order", "label_id")
    )
    counts: dict[int, list[LabelCount]] = {}
    for row in rows:
        counts.setdefault(row["speaker_id"], []).append(
            LabelCount(row["label__slug"], row["label__name"], row["label__colour"], row["count"])
        )
    return counts


class Speaker(models.Model):
    class Kind(models.TextChoices):
        PERSON = "person", "Person"
        ORGANISATION = "organisation", "Organisation"
        GOVERNMENT = "government", "Government"
        UNNAMED = "unnamed", "Unnamed source"

    name = models.CharField(max_length=200, help_text="Canonical name.")
    kind = models.CharField(max_length=16, choices=Kind, default=Kind.PERSON)
    country = models.CharField(max_length=2, blank=True, validators=[country_code_validator])
    wikidata_qid = models.CharField("Wikidata QID", max_length=20, blank=True, validators=[qid_validator])
    created_at = models.DateTimeField(auto_now_add=True)

    objects = SpeakerQuerySet.as_manager()
    history = History()

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["wikidata_qid"], condition=~Q(wikidata_qid=""), name="speaker_wikidata_qid_unique"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        stored = Speaker.objects.filter(pk=self.pk).values_list("country", flat=True).first() if self.pk else None
        if stored is None or stored == self.country:
            super().save(*args, **kwargs)
            return
        from .tallies import tallied

        with tallied(self.curated_article_ids()):  # the statistics count its stances under its country
            super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        return reverse("annotations:speaker-detail", args=[self.pk])

    def role_on(self, day: datetime.date | None) -> SpeakerRole | None:
        """The role this speaker held on ``day``: the latest one to have started."""
        if day is None:
            return None
        roles = [role for role in self.roles.all() if role.held_on(day)]
        return max(roles, key=lambda role: role.start_date or datetime.date.min, default=None)

    @property
    def wikidata_url(self) -> str:
        return f"https://www.wikidata.org/wiki/{self.wikidata_qid}" if self.wikidata_qid else ""

    def merge_problems(self, duplicate: Speaker) -> list[str]:
        """Why ``duplicate`` can't be merged into this speaker; empty when it can."""
        if duplicate.pk == self.pk:
            return ["A speaker can't be merged into itself: pick the duplicate to merge into this one."]
        problems = []
        if self.wikidata_qid and duplicate.wikidata_qid and self.wikidata_qid != duplicate.wikidata_qid:
            problems.append(
                f"“{duplicate.name}” is Wikidata {duplicate.wikidata_qid} and “{self.name}” is "
                f"{self.wikidata_qid}: two Wikidata entities are two speakers. Correct the QID first if one is wrong."
            )
        # The duplicate-span rule (``Quote.duplicate``): the same annotator's span, kind
        # and layer attributed to both would become one quote twice.
        mine = Quote.objects.filter(
            speaker_id=self.pk,
            article_id=OuterRef("article_id"),
            start=OuterRef("start"),
            end=OuterRef("end"),
            kind=OuterRef("kind"),
            is_curated=OuterRef("is_curated"),
        )
        # The same annotator, or none on either side (curated and imported quotes).
        same_annotator = Exists(mine.filter(annotator_id=OuterRef("annotator_id"))) | Q(
            annotator__isnull=True
        ) & Exists(mine.filter(annotator__isnull=True))
        clashes = list(
            Quote.objects.filter(speaker_id=duplicate.pk)
            .filter(same_annotator)
            .order_by("id")
            .values_list("id", flat=True)[:10]
        )
        if clashes:
            problems.append(
                "Both speakers have the same annotator's quote on the same span "
                f"(quote{'s' if len(clashes) > 1 else ''} {', '.join(map(str, clashes))} of “{duplicate.name}”): "
                "merged, they would be one quote twice. Delete or change one of each pair first."
            )
        return problems

    def merge_preview(self, duplicate: Speaker) -> MergePreview:
        """What merging ``duplicate`` into this speaker would move, for the confirmation."""
        quotes = Quote.objects.filter(Q(speaker_id=duplicate.pk) | Q(addressee_id=duplicate.pk))
        figures = quotes.aggregate(
            curated=Count("pk", filter=Q(is_curated=True)), raw=Count("pk", filter=Q(is_curated=False))
        )
        return MergePreview(
            curated_quotes=figures["curated"],
            raw_quotes=figures["raw"],
            aliases=len(self._aliases_to_take(duplicate)),
            roles=duplicate.roles.count(),
            name_becomes_alias=self._takes_name_as_alias(duplicate),
            problems=self.merge_problems(duplicate),
        )

    def _aliases_to_take(self, duplicate: Speaker) -> list[SpeakerAlias]:
        have = {self.name, *self.aliases.values_list("name", flat=True)}
        return [alias for alias in duplicate.aliases.all() if alias.name not in have]

    def _takes_name_as_alias(self, duplicate: Speaker) -> bool:
        return duplicate.name != self.name and not self.aliases.filter(name=duplicate.name).exists()

    def curated_article_ids(self) -> list[int]:
        """The articles of this speaker's curated quotes (whose stances the statistics count by their country)."""
        if self.pk is None:
            return []
        return list(
            Quote.objects.filter(speaker_id=self.pk, is_curated=True).values_list("article_id", flat=True).distinct()
        )

    def merge(self, duplicate: Speaker, *, by: AnyUser | None) -> SpeakerMerge:
        """Merge ``duplicate`` into this speaker, in one transaction: its quotes (both
        layers, as speaker and as addressee), aliases and roles move here; its name
        becomes an alias (unless it is this speaker's name); its QID comes along when
        this speaker has none; it is deleted; a ``SpeakerMerge`` records it all.

        Refused (ValidationError, with ``merge_problems``) for the speaker itself, two
        different QIDs, or quotes that would become duplicates. Both rows are locked
        first (in id order, so two merges can't deadlock), and everything is read
        again under the lock: a speaker merged away meanwhile is refused, not resurrected.
        Each moved quote gets a history row naming the merge and a new version, so
        an editor holding the old version is told it changed.
        """
        user = by if by is not None and by.is_authenticated else None
        with transaction.atomic():
            locked = {
                speaker.pk: speaker
                for speaker in Speaker.objects.select_for_update().filter(pk__in=[self.pk, duplicate.pk]).order_by("pk")
            }
            if self.pk not in locked or duplicate.pk not in locked:
                raise ValidationError("One of these speakers no longer exists (merged or deleted meanwhile).")
            kept, gone = locked[self.pk], locked[duplicate.pk]
            problems = kept.merge_problems(gone)
            if problems:
                raise ValidationError(problems, code="merge_refused")
            record = SpeakerMerge.objects.create(
                kept=kept, merged_speaker_id=gone.pk, merged_name=gone.name, merged_qid=gone.wikidata_qid, by=user
            )
            reason = f"Speaker merge {record.pk}: speaker {gone.pk} into {kept.pk}"[:100]
            moved = list(
                Quote.objects.select_for_update()
                .filter(Q(speaker_id=gone.pk) | Q(addressee_id=gone.pk))
                .order_by("pk")
                .values_list("pk", flat=True)
            )
            now = timezone.now()
            changed = {"version": F("version") + 1, "updated_at": now}
            from .tallies import tallied

            with tallied(gone.curated_article_ids()):  # their stances may change country
                Quote.objects.filter(speaker_id=gone.pk).update(speaker_id=kept.pk, **changed)
            Quote.objects.filter(addressee_id=gone.pk).update(addressee_id=kept.pk, **changed)
            record_history(Quote, moved, by=user, history_type="~", reason=reason)
            record_curated_links(moved)
            aliases = kept._aliases_to_take(gone)
            SpeakerAlias.objects.filter(pk__in=[alias.pk for alias in aliases]).update(speaker_id=kept.pk)
            if kept._takes_name_as_alias(gone):
                SpeakerAlias.objects.create(speaker=kept, name=gone.name)
            roles = list(gone.roles.all())
            for role in roles:
                role.speaker = kept
                role._change_reason = reason  # type: ignore[attr-defined]
                role.save(update_fields=["speaker"])
            SpeakerMerge.objects.filter(kept_id=gone.pk).update(kept_id=kept.pk)
            record.curated_quotes = Quote.objects.filter(pk__in=moved, is_curated=True).count()
            record.raw_quotes = len(moved) - record.curated_quotes
            record.aliases = len(aliases)
            record.roles = len(roles)
            record.save(update_fields=["curated_quotes", "raw_quotes", "aliases", "roles"])
            qid = gone.wikidata_qid
            gone._change_reason = reason  # type: ignore[attr-defined]
            # The detector's suggestions linked to the duplicate keep a speaker.
            Suggestion.objects.filter(speaker_id=gone.pk).update(speaker_id=kept.pk)
            gone.delete()
            if qid and not kept.wikidata_qid:
                # After the delete: the QID is unique among speakers.
                kept.wikidata_qid = qid
                kept._change_reason = reason  # type: ignore[attr-defined]
                kept.save(update_fields=["wikidata_qid"])
            self.wikidata_qid = kept.wikidata_qid
        return record


@dataclass(frozen=True)
class MergePreview:
    """What a speaker merge would move, and why it would be refused (``problems``)."""

    curated_quotes: int
    raw_quotes: int
    aliases: int
    roles: int
    name_becomes_alias: bool
    problems: list[str]


class SpeakerMerge(models.Model):
    """A duplicate speaker merged into ``kept``: who it was, who merged it, what moved.
    The duplicate row is gone; its history (and its quotes' history rows, whose
    change reason names this record) keeps the rest."""

    kept = models.ForeignKey(Speaker, on_delete=models.CASCADE, related_name="merges")
    merged_speaker_id = models.PositiveBigIntegerField(help_text="The id the merged speaker had.")
    merged_name = models.CharField(max_length=200)
    merged_qid = models.CharField("merged Wikidata QID", max_length=20, blank=True)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    at = models.DateTimeField(auto_now_add=True)
    curated_quotes = models.PositiveIntegerField(default=0)
    raw_quotes = models.PositiveIntegerField(default=0)
    aliases = models.PositiveIntegerField(default=0)
    roles = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["kept", "at"], name="speaker_merge_kept_idx")]

    def __str__(self) -> str:
        return f"{self.merged_name} (speaker {self.merged_speaker_id}) → {self.kept_id}"


class SpeakerAlias(models.Model):
    speaker = models.ForeignKey(Speaker, on_delete=models.CASCADE, related_name="aliases")
    name = models.CharField(max_length=200)

    class Meta:
        verbose_name_plural = "speaker aliases"
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["speaker", "name"], name="speaker_alias_unique"),
        ]

    def __str__(self) -> str:
        return self.name


class SpeakerRole(models.Model):
    speaker = models.ForeignKey(Speaker, on_delete=models.CASCADE, related_name="roles")
    title = models.CharField(max_length=200)
    organisation = models.CharField(max_length=200, blank=True)
    country = models.CharField(max_length=2, blank=True, validators=[country_code_validator])
    start_date = models.DateField(null=True, blank=True)
    end_date = models.DateField(null=True, blank=True, help_text="Empty while the role is held.")

    history = History()

    class Meta:
        ordering = ["speaker", "-start_date", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(start_date__isnull=True) | Q(end_date__isnull=True) | Q(end_date__gte=F("start_date")),
                name="speaker_role_dates_ordered",
            ),
        ]

    def __str__(self) -> str:
        where = f", {self.organisation}" if self.organisation else ""
        return f"{self.title}{where}"

    def clean(self) -> None:
        if self.start_date and self.end_date and self.end_date < self.start_date:
            raise ValidationError({"end_date": "A role can't end before it starts."})

    def held_on(self, day: datetime.date) -> bool:
        started = self.start_date is None or self.start_date <= day
        not_ended = self.end_date is None or day <= self.end_date
        return started and not_ended


# --- Taxonomy ----------------------------------------------------------------


# Slugs a target can't take: /targets/<slug>/ is its page, and these paths are other pages.
RESERVED_TARGET_SLUGS = frozenset({"new", "search", "propose"})


class TargetQuerySet(models.QuerySet["Target"]):
    def accepted(self) -> TargetQuerySet:
        return self.filter(status=Target.Status.ACCEPTED)

    def proposed(self) -> TargetQuerySet:
        return self.filter(status=Target.Status.PROPOSED)


class Target(models.Model):
    """What a stance is toward, phrased as a proposition ("Iran acquiring nuclear weapons").

    Reviewers keep the taxonomy; an analyst who misses a target proposes one from
    the annotate page, placed under a parent. It is usable at once and marked
    "proposed" until a reviewer accepts it (perhaps renamed or moved) or merges it
    into a target that already says the same.
    """

    class Status(models.TextChoices):
        ACCEPTED = "accepted", "Accepted"
        PROPOSED = "proposed", "Proposed"

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=100)
    description = models.TextField(blank=True)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children")
    status = models.CharField(max_length=10, choices=Status, default=Status.ACCEPTED)
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = TargetQuerySet.as_manager()

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["slug"], name="target_slug_unique"),
            models.CheckConstraint(condition=~Q(parent=F("id")), name="target_not_own_parent"),
            models.CheckConstraint(condition=Q(status__in=["accepted", "proposed"]), name="target_status_known"),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("annotations:target-detail", args=[self.slug])

    def clean(self) -> None:
        if self.slug in RESERVED_TARGET_SLUGS:
            raise ValidationError(
                {"slug": f"“{self.slug}” is reserved: /targets/{self.slug}/ is a page of its own. Choose another slug."}
            )
        ancestor = self.parent
        while ancestor is not None:
            if self.pk is not None and ancestor.pk == self.pk:
                raise ValidationError({"parent": "A target can't be its own ancestor."})
            ancestor = ancestor.parent

    def descendant_ids(self) -> set[int]:
        """This target's id and those of every target below it."""
        ids = {self.pk}
        frontier = {self.pk}
        while frontier:
            frontier = set(Target.objects.filter(parent__in=frontier).values_list("pk", flat=True)) - ids
            ids |= frontier
        return ids

    @property
    def is_proposed(self) -> bool:
        return self.status == Target.Status.PROPOSED

    @classmethod
    def free_slug(cls, name: str) -> str:
        """A slug for ``name`` no target has yet: "iran-sanctions", else "iran-sanctions-2"…"""
        base = slugify(name)[:90].strip("-") or "target"
        taken = set(cls.objects.filter(slug__startswith=base).values_list("slug", flat=True))
        slug, number = base, 2
        while slug in taken or slug in RESERVED_TARGET_SLUGS:
            slug, number = f"{base}-{number}", number + 1
        return slug

    @classmethod
    def propose(cls, *, name: str, parent: Target, description: str = "", by: User) -> Target:
        target = cls(
            name=name,
            slug=cls.free_slug(name),
            parent=parent,
            description=description,
            status=cls.Status.PROPOSED,
            proposed_by=by,
        )
        target.full_clean()
        target.save()
        return target

    def _lock_proposal(self) -> None:
        """Inside a transaction: lock this target's row and refuse unless it is still a
        proposal. On PostgreSQL the lock also holds back a new stance or child pointing
        to it (their foreign-key check waits for it) until the decision is made."""
        locked = Target.objects.select_for_update().filter(pk=self.pk).values_list("status", flat=True).first()
        if locked is None:
            raise ValidationError(f"“{self}” was merged meanwhile: reload the proposals.")
        if locked != Target.Status.PROPOSED:
            raise ValidationError(f"“{self}” was accepted meanwhile: it is part of the taxonomy.")

    def accept(self, *, name: str | None = None, parent: Target | None = None) -> None:
        """Make a proposal part of the taxonomy, perhaps renamed or moved. Refused
        (ValidationError) if it was merged or accepted meanwhile."""
        with transaction.atomic():
            self._lock_proposal()
            if name:
                self.name = name
            if parent is not None:
                self.parent = parent
            self.status = Target.Status.ACCEPTED
            self.full_clean()
            self.save(force_update=True)

    def merge_into(self, kept: Target) -> tuple[int, int]:
        """Move this proposal's stances to ``kept`` and delete the proposal.

        A quote that already takes a stance toward ``kept`` keeps that one: the
        proposal's stance on it goes (its history row says why). Returns (moved,
        dropped). Refused for an accepted target, for itself, for a target under
        this one (it would lose its parent), and for a proposal merged or accepted
        meanwhile. The checks run under the proposal's row lock.
        """
        if not self.is_proposed:
            raise ValidationError("Only a proposed target is merged: this one is part of the taxonomy.")
        if kept.pk == self.pk:
            raise ValidationError("A target can't be merged into itself.")
        with transaction.atomic():
            self._lock_proposal()
            if kept.pk in self.descendant_ids():
                raise ValidationError(f"“{kept}” sits under “{self}”: pick a target outside it.")
            if self.children.exists():
                raise ValidationError(f"“{self}” has targets under it: accept it, or move them first.")
            stances = list(Stance.objects.select_for_update().filter(target=self).select_related("quote"))
            clashing = set(
                Stance.objects.filter(target=kept, quote__in=[stance.quote_id for stance in stances]).values_list(
                    "quote_id", flat=True
                )
            )
            moved = dropped = 0
            reason = f"Target “{self}” merged into “{kept}”."
            from .tallies import tallied

            with tallied({stance.quote.article_id for stance in stances}):
                for stance in stances:
                    stance._change_reason = reason  # type: ignore[attr-defined]
                    if stance.quote_id in clashing:
                        stance.delete()
                        dropped += 1
                    else:
                        stance.target = kept
                        stance.save(update_fields=["target"])
                        moved += 1
            try:
                with transaction.atomic():
                    self.delete()
            except IntegrityError as error:  # a stance or child made meanwhile (SQLite takes no row lock)
                raise ValidationError(f"“{self}” gained a stance or a target under it meanwhile: try again.") from error
        return moved, dropped


class StanceLabel(models.Model):
    class SemEval(models.TextChoices):
        FAVOR = "FAVOR", "FAVOR"
        AGAINST = "AGAINST", "AGAINST"
        NONE = "NONE", "NONE"

    name = models.CharField(max_length=50)
    slug = models.SlugField(max_length=50)
    definition = models.TextField(blank=True)
    examples = models.TextField(
        blank=True, help_text="Sentences that take this stance, one a line; the guidelines page lists them."
    )
    colour = models.CharField(max_length=7, default="#888888", validators=[colour_validator])
    shortcut_key = models.CharField(
        max_length=1, blank=True, help_text="One key that picks this label on the annotate page."
    )
    order = models.PositiveSmallIntegerField(default=0)
    semeval = models.CharField(
        "SemEval label",
        max_length=8,
        choices=SemEval,
        default=SemEval.NONE,
        help_text="How exports map this label to SemEval-2016 stance labels.",
    )

    class Meta:
        ordering = ["order", "id"]
        constraints = [
            models.UniqueConstraint(fields=["slug"], name="stance_label_slug_unique"),
            models.UniqueConstraint(
                fields=["shortcut_key"], condition=~Q(shortcut_key=""), name="stance_label_shortcut_unique"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def example_lines(self) -> list[str]:
        # Split on line breaks a person types only: str.splitlines() would also split on U+2028 and its kin.
        return [line.strip() for line in self.examples.replace("\r\n", "\n").split("\n") if line.strip()]


# --- Annotation guidelines -------------------------------------------------------


class GuidelinesQuerySet(models.QuerySet["Guidelines"]):
    def current(self) -> Guidelines | None:
        return self.order_by("-number").first()

    def current_number(self) -> int | None:
        """The version a quote made now is made under (None before the first version)."""
        return self.order_by("-number").values_list("number", flat=True).first()


class Guidelines(models.Model):
    """One version of the annotation guidelines, in Markdown; versions are never changed,
    a save makes the next one, so every quote can name the text it was made under."""

    number = models.PositiveIntegerField(editable=False)
    body = models.TextField(max_length=100_000, help_text="Markdown: raw HTML is shown as text.")
    note = models.CharField(max_length=200, help_text="What changed since the previous version, in a line.")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = GuidelinesQuerySet.as_manager()

    class Meta:
        ordering = ["-number"]
        verbose_name_plural = "guidelines"
        constraints = [
            models.UniqueConstraint(fields=["number"], name="guidelines_number_unique"),
            models.CheckConstraint(condition=Q(number__gte=1), name="guidelines_number_positive"),
        ]

    def __str__(self) -> str:
        return f"Guidelines v{self.number}"

    def get_absolute_url(self) -> str:
        return reverse("annotations:guidelines-version", args=[self.number])

    def body_html(self) -> SafeString:
        return render_markdown(self.body)

    @classmethod
    def publish(cls, *, body: str, note: str, by: AnyUser | None) -> Guidelines:
        """Store ``body`` as the next version. Two reviewers saving at once both get a
        version: the unique number refuses the second INSERT, which takes the next one."""
        author = by if by is not None and by.is_authenticated else None
        for _attempt in range(3):
            try:
                with transaction.atomic():
                    last = cls.objects.current_number() or 0
                    return cls.objects.create(number=last + 1, body=body, note=note, author=author)
            except IntegrityError:
                continue
        raise ValidationError("The guidelines changed while saving; save again.")


# --- Quotes ------------------------------------------------------------------


class VersionConflict(Exception):
    """Someone else changed the quote since this version was read."""

    def __init__(self, current: Quote | None) -> None:
        self.current = current
        super().__init__("The quote was changed by someone else." if current else "The quote was deleted.")


# What the database's rules for quotes and stances mean, for a write it refuses
# (the forms and serializers check the same first; these are the last guard).
REFUSALS = {
    "quote_span_not_empty": "A quote must be at least one character long: its end must come after its start.",
    "quote_text_length_matches_span": "The quote's text must be exactly end − start characters long.",
    "quote_mention_span_valid": "The source mention needs a start before its end and the text between them.",
    "quote_cue_span_valid": "The cue needs a start before its end and the text between them.",
    "quote_spans_match_article": "A span's text is not the article's text at its offsets: select it again.",
    "quote_version_positive": "A quote's version starts at 1.",
    "quote_not_own_parent": "A quote can't be nested in itself.",
    "stance_one_per_quote_target": "A quote has one stance per target.",
    "stance_intensity_1_to_3": "A stance's intensity is 1, 2 or 3.",
    "stance_confidence_0_to_1": "A stance's confidence is between 0 and 1.",
}


def refusal_message(error: IntegrityError) -> str:
    """A database refusal of a quote or stance as a person can act on it: the rule
    it broke, found by the constraint's name in the error (both databases name it)."""
    text = str(error)
    for constraint, message in REFUSALS.items():
        if constraint in text:
            return message
    return "The database refused this change: it breaks a rule of quotes and stances. Reload and try again."


class QuoteHistory(History):
    """Quote's history, which also records ``curated_from``.

    simple_history copies a quote's ``curated_from`` links into every history
    row, at the cost of two reads per save (the links, and the instance again
    for the fields history leaves out). A quote being created has no links yet
    (they need its id), so its first row skips both: a curated copy's links are
    recorded when ``curated_from.set()`` adds them (m2m_changed).
    """

    def create_historical_record_m2ms(self, history_instance: Any, instance: models.Model) -> None:
        # Called right after each record is written: the instance's last change,
        # the undo handle a save's answer offers without reading history back.
        instance.recorded_change_id = history_instance.history_id  # type: ignore[attr-defined]
        if history_instance.history_type == "+":
            return
        super().create_historical_record_m2ms(history_instance, instance)


class UndoRefused(Exception):
    """An undo the rules don't allow; the message says why, for the person who asked."""


# How long a delete or an edit stays undoable.
UNDO_WINDOW = datetime.timedelta(minutes=1)
# Stamped on a deleted quote's history record: when its stances were last as
# they were (the cascade deletes them, and records it, just before the quote).
STANCES_AS_OF = "stances as of "


class QuoteQuerySet(models.QuerySet):
    def curated(self) -> QuoteQuerySet:
        return self.filter(is_curated=True)

    def curated_dataset(self) -> QuoteQuerySet:
        """The curated layer as researchers read it: curated quotes on curated articles
        (a reviewer's curated quotes on an article still in curation are not in it yet)."""
        return self.filter(is_curated=True, article__status=Article.Status.CURATED)

    def raw_layer(self) -> QuoteQuerySet:
        """The annotators' own quotes. (Not ``raw()``: that is Django's raw SQL, which
        a method of this name used to shadow.)"""
        return self.filter(is_curated=False)

    def visible_to(self, user: AnyUser) -> QuoteQuerySet:
        """Quotes a user may read.

        Annotation is blind: an analyst reads their own quotes and the curated
        ones, never another analyst's. Researchers read the curated layer.
        """
        if not user.is_authenticated or not user.is_active:
            return self.none()
        if is_reviewer(user):
            return self.all()
        roles = roles_of(user)
        condition = Q(pk__in=[])
        if Role.ANALYST in roles:
            condition |= Q(annotator=user, is_curated=False)
        if roles & {Role.ANALYST, Role.RESEARCHER}:
            condition |= Q(is_curated=True, article__status=Article.Status.CURATED)
        return self.filter(condition)

    def editable_by(self, user: AnyUser) -> QuoteQuerySet:
        """Quotes a user may change: reviewers any; analysts their own raw quotes
        on articles they have not yet submitted."""
        if not user.is_authenticated or not user.is_active:
            return self.none()
        if is_reviewer(user):
            return self.all()
        if Role.ANALYST not in roles_of(user):
            return self.none()
        locked = Assignment.objects.filter(
            annotator=user,
            status__in=[Assignment.Status.SUBMITTED, Assignment.Status.REVIEWED],
        ).values("article_id")
        return self.filter(annotator=user, is_curated=False).exclude(article_id__in=locked)

    def with_permissions(self, user: AnyUser) -> QuoteQuerySet:
        """Each quote with what ``user`` may do, answered in the query that reads it:
        ``editable`` (``editable_by``), ``discussable`` (``discussable_by``) and
        ``article_annotatable`` (``Article.objects.annotatable_by``: may add quotes to its article)."""
        return self.annotate(
            editable=Exists(Quote.objects.editable_by(user).filter(pk=OuterRef("pk"))),
            discussable=Exists(Quote.objects.discussable_by(user).filter(pk=OuterRef("pk"))),
            article_annotatable=Exists(Article.objects.annotatable_by(user).filter(pk=OuterRef("article_id"))),
        )

    def in_text_order(self) -> QuoteQuerySet:
        return self.order_by("start", "-end", "id")

    def by_done_annotators(self) -> QuoteQuerySet:
        """Raw quotes whose annotator has submitted the article (or had it reviewed):
        the finished work reviewers compare. Work in progress stays out of review."""
        done = Assignment.objects.filter(
            article=OuterRef("article"), annotator=OuterRef("annotator"), status__in=Assignment.DONE
        )
        return self.raw_layer().filter(Exists(done))

    def incomplete(self) -> QuoteQuerySet:
        """Quotes not finished: no speaker, or no stance at all. Each carries
        ``has_stance`` so ``Quote.missing`` says what is missing without a query.
        (The annotate page's list reads the same rule off its value rows:
        ``highlights.ListedQuote.missing``.)"""
        stances = Stance.objects.filter(quote=OuterRef("pk"))
        return self.annotate(has_stance=Exists(stances)).filter(Q(speaker__isnull=True) | Q(has_stance=False))

    def discussable_by(self, user: AnyUser) -> QuoteQuerySet:
        """Quotes whose comment thread and history a user may read and add to:
        reviewers any quote, an analyst only their own raw quotes."""
        if not user.is_authenticated or not user.is_active:
            return self.none()
        if is_reviewer(user):
            return self.all()
        if Role.ANALYST in roles_of(user):
            return self.filter(annotator=user, is_curated=False)
        return self.none()


def missing_parts(*, has_speaker: bool, has_stance: bool) -> str:
    """What an incomplete quote lacks, in words ("" when it is complete)."""
    return ", ".join(part for part, ok in (("no speaker", has_speaker), ("no stance", has_stance)) if not ok)


def quote_in_words(speaker_name: str | None, text: str, *, words: int = 6) -> str:
    """See ``Quote.in_words``: the speaker's possessive, then the quote's first words."""
    first = text.split()
    opening = " ".join(first[:words]) + ("…" if len(first) > words else "")
    if len(opening) > 60:
        opening = opening[:59].rstrip() + "…"
    if not speaker_name:
        return f"an unattributed quote «{opening}»"
    possessive = speaker_name + ("’" if speaker_name.endswith("s") else "’s")
    return f"{possessive} quote «{opening}»"


class Quote(models.Model):
    class Kind(models.TextChoices):
        DIRECT = "direct", "Direct"
        INDIRECT = "indirect", "Indirect"
        MIXED = "mixed", "Mixed"

    class Layer(models.TextChoices):
        """The two readings of the dataset: what reviewers curated, and what annotators marked."""

        CURATED = "curated", "Curated: the reviewed dataset"
        RAW = "raw", "Raw: the annotators' own quotes"

    article = models.ForeignKey(Article, on_delete=models.PROTECT, related_name="quotes")
    start = models.PositiveIntegerField(help_text="Code-point offset of the first character.")
    end = models.PositiveIntegerField(help_text="Code-point offset just past the last character.")
    text = models.TextField(help_text="The content span: always article.text[start:end].")
    kind = models.CharField(max_length=10, choices=Kind, default=Kind.DIRECT)

    speaker = models.ForeignKey(
        Speaker,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="quotes",
        help_text="Empty for an unattributed quote.",
    )
    speaker_role = models.ForeignKey(
        SpeakerRole,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="quotes",
        help_text="The role the speaker held when this was said.",
    )
    cue = models.CharField(max_length=100, blank=True, help_text='The attribution verb, such as "said".')
    mention_start = models.PositiveIntegerField(null=True, blank=True)
    mention_end = models.PositiveIntegerField(null=True, blank=True)
    mention_text = models.CharField(
        max_length=500,
        blank=True,
        help_text='How the text names the source ("State Department Spokesman Ned Price", "he").',
    )
    cue_start = models.PositiveIntegerField(null=True, blank=True)
    cue_end = models.PositiveIntegerField(null=True, blank=True)
    cue_text = models.CharField(max_length=200, blank=True)
    addressee = models.ForeignKey(
        Speaker, null=True, blank=True, on_delete=models.PROTECT, related_name="addressed_quotes"
    )
    attribution_group = models.CharField(
        max_length=64,
        blank=True,
        help_text='Pieces of one statement split by, for example, "Price added" share a group.',
    )
    parent = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="nested",
        help_text="The quote this one is nested inside.",
    )

    annotator = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="quotes"
    )
    is_curated = models.BooleanField("curated", default=False)
    curated_from = models.ManyToManyField(
        "self",
        symmetrical=False,
        blank=True,
        related_name="curated_copies",
        help_text="The annotators' quotes this curated quote was made from.",
    )
    version = models.PositiveIntegerField(default=1, help_text="Bumped on every change (optimistic locking).")
    guidelines_version = models.PositiveIntegerField(
        null=True,
        blank=True,
        editable=False,
        help_text="The guidelines version current when the quote was made; empty if there were none.",
    )
    # NULL rather than "": a NOT NULL column makes SQLite rebuild the quote table
    # to add it, which drops the offset triggers (migration 0002).
    detector_version = models.CharField(  # noqa: DJ001
        max_length=40,
        null=True,
        blank=True,
        editable=False,
        help_text="The detector version whose suggestion this quote came from; empty if an analyst marked it.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = QuoteQuerySet.as_manager()
    has_stance: bool  # annotated by QuoteQuerySet.incomplete()
    # Set on the rows QuoteQuerySet.with_permissions reads.
    editable: bool
    discussable: bool
    article_annotatable: bool
    # curated_from too: which annotators' quotes a curated quote was made from
    # is part of the record a reviewer's decision is judged by.
    history = QuoteHistory(excluded_fields=["updated_at"], m2m_fields=[curated_from])
    # Who simple-history records as the author of the next save, when a caller
    # (the admin) names them; otherwise its middleware takes the request's user.
    _history_user: AnyUser

    class Meta:
        ordering = ["article_id", "start", "-end", "id"]
        indexes = [
            models.Index(fields=["article", "start"], name="quote_article_start_idx"),
            models.Index(fields=["is_curated", "id"], name="quote_curated_id_idx"),
            # The researchers' commonest question, "what did this speaker say",
            # pages through one speaker's curated quotes in id order.
            models.Index(fields=["speaker", "id"], condition=Q(is_curated=True), name="quote_curated_speaker_idx"),
            # The stance statistics join a target's stances to their curated quotes for the
            # article (its date) and the speaker (their country): read from the index alone.
            models.Index(
                fields=["id", "article", "speaker"], condition=Q(is_curated=True), name="quote_curated_stats_idx"
            ),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(end__gt=F("start")), name="quote_span_not_empty"),
            models.CheckConstraint(
                condition=Exact(Length("text"), F("end") - F("start")), name="quote_text_length_matches_span"
            ),
            # Q | (Q & Exact) is a Q at run time; django-stubs types Q & Exact as Combinable.
            models.CheckConstraint(
                condition=(Q(mention_start__isnull=True) & Q(mention_end__isnull=True) & Q(mention_text=""))  # type: ignore[arg-type]
                | (
                    Q(mention_end__gt=F("mention_start"))
                    & Exact(Length("mention_text"), F("mention_end") - F("mention_start"))
                ),
                name="quote_mention_span_valid",
            ),
            models.CheckConstraint(
                condition=(Q(cue_start__isnull=True) & Q(cue_end__isnull=True) & Q(cue_text=""))  # type: ignore[arg-type]
                | (Q(cue_end__gt=F("cue_start")) & Exact(Length("cue_text"), F("cue_end") - F("cue_start"))),
                name="quote_cue_span_valid",
            ),
            models.CheckConstraint(condition=Q(version__gte=1), name="quote_version_positive"),
            models.CheckConstraint(condition=~Q(parent=F("id")), name="quote_not_own_parent"),
        ]

    def __str__(self) -> str:
        text = self.text if len(self.text) <= 60 else self.text[:59] + "…"
        return f"“{text}” ({self.speaker or 'unattributed'})"

    def save(self, *args: Any, **kwargs: Any) -> None:
        # The offset invariant is checked on every save, whatever the path
        # (forms, API, admin, scripts); the database triggers back it up for
        # bulk writes that bypass save().
        check_span(self.article.text, self.start, self.end, self.text, name="quote")
        super().save(*args, **kwargs)

    def _insert(self) -> None:
        """``save()`` of a new quote, its history row with it (``insert_recorded``), in one
        statement; the current guidelines' number is read in that statement too."""
        check_span(self.article.text, self.start, self.end, self.text, name="quote")
        name = connections[router.db_for_write(Quote)].ops.quote_name
        number = name(str(Guidelines._meta.get_field("number").column))
        current = f"SELECT {number} FROM {name(Guidelines._meta.db_table)} ORDER BY {number} DESC LIMIT 1"  # noqa: S608  # nosec B608: names from the model
        inserted = insert_recorded(self, computed={"guidelines_version": current})
        # The undo handle a save's answer offers, as QuoteHistory notes it on a save().
        self.recorded_change_id = inserted.history_id if inserted is not None else None

    def validate_constraints(self, exclude: Any = None) -> None:
        """Nothing to ask the database: ``clean()`` states the rule of every CHECK
        constraint above with a message naming the field, and the database keeps
        them on every write (``annotate`` answers a violation there with a
        ValidationError naming the rule). Django's check would cost a query per constraint on every
        ``full_clean`` (forms, serializers, admin), and on PostgreSQL the mention
        and cue checks don't even compile for an empty span (``NULL > NULL``):
        Django logs a warning and lets the row through."""

    def clean(self) -> None:
        """The offset invariant and the rules that tie a quote to its article."""
        super().clean()
        errors: dict[str, list[str]] = {}
        if self.article_id is None:
            return
        text = self.article.text
        try:
            check_span(text, self.start, self.end, self.text, name="quote")
        except ValidationError as error:
            errors.setdefault("text", []).extend(error.messages)
        for prefix, label in (("mention", "source mention"), ("cue", "cue")):
            start, end = getattr(self, f"{prefix}_start"), getattr(self, f"{prefix}_end")
            span_text = getattr(self, f"{prefix}_text")
            if start is None and end is None and not span_text:
                continue
            try:
                check_span(text, start, end, span_text, name=label)
            except ValidationError as error:
                errors.setdefault(f"{prefix}_text", []).extend(error.messages)
        role = self.speaker_role if self.speaker_role_id else None
        if role is not None and role.speaker_id != self.speaker_id:
            errors.setdefault("speaker_role", []).append("The role must belong to the quote's speaker.")
        parent = self.parent if self.parent_id else None
        if parent is not None:
            if parent.article_id != self.article_id:
                errors.setdefault("parent", []).append("A quote can only be nested in a quote of the same article.")
            elif parent.pk == self.pk:
                errors.setdefault("parent", []).append("A quote can't be nested in itself.")
        if errors:
            raise ValidationError(errors)

    def in_words(self) -> str:
        """The quote as a person names it in a message: whose it is and its first
        words ("Yoav Gallant's quote «I emphasized the importance of…»"), never offsets."""
        return quote_in_words(self.speaker.name if self.speaker is not None else None, self.text)

    @property
    def missing(self) -> str:
        """What keeps this quote incomplete ("" if nothing): see ``QuoteQuerySet.incomplete``."""
        has_stance = self.__dict__.get("has_stance")
        if has_stance is None:
            has_stance = self.stances.exists()
        return missing_parts(has_speaker=self.speaker_id is not None, has_stance=has_stance)

    @property
    def layer(self) -> Quote.Layer:
        return Quote.Layer.CURATED if self.is_curated else Quote.Layer.RAW

    def save_with_version(self, expected_version: int) -> None:
        """Save only if the row still has ``expected_version``; bump the version.

        One conditional UPDATE decides the winner between concurrent editors
        (no read-then-write race); it holds the row lock until commit, so the
        ordinary save that follows (and records history) can't interleave.
        """
        # No savepoint of its own: a failure undoes the caller's whole write (annotate's transaction).
        with transaction.atomic(savepoint=False):
            claimed = Quote.objects.filter(pk=self.pk, version=expected_version).update(version=F("version") + 1)
            if not claimed:
                raise VersionConflict(Quote.objects.filter(pk=self.pk).first())
            self.version = expected_version + 1
            self.save()

    def delete_with_version(self, expected_version: int) -> None:
        """Delete only if nobody changed the quote since ``expected_version``."""
        with transaction.atomic():
            claimed = Quote.objects.filter(pk=self.pk, version=expected_version).update(version=F("version") + 1)
            if not claimed:
                raise VersionConflict(Quote.objects.filter(pk=self.pk).first())
            self.delete()

    def fill_text_from_offsets(self) -> None:
        """Set the span texts from the offsets (for callers that only have offsets)."""
        text = self.article.text
        self.text = text[self.start : self.end]
        if self.mention_start is not None and self.mention_end is not None:
            self.mention_text = text[self.mention_start : self.mention_end]
        if self.cue_start is not None and self.cue_end is not None:
            self.cue_text = text[self.cue_start : self.cue_end]

    def pick_role(self) -> None:
        """Record the role the speaker held on the article's date, when one is known."""
        speaker = self.speaker if self.speaker_id else None
        if speaker is not None and not self.speaker_role_id:
            self.speaker_role = speaker.role_on(self.article.published_on)

    # Everything a curated copy takes over from the version a reviewer accepts.
    CURATED_COPY_FIELDS = (
        "article",
        "start",
        "end",
        "text",
        "kind",
        "speaker",
        "speaker_role",
        "cue",
        "mention_start",
        "mention_end",
        "mention_text",
        "cue_start",
        "cue_end",
        "cue_text",
        "addressee",
        "attribution_group",
    )

    def copy_as_curated(self, *, curator: AnyUser | None, sources: list[Quote] | None = None) -> Quote:
        """Make a curated quote from this version: same spans, attribution and stances.

        ``sources`` are all the annotators' quotes the curated one stands for (the
        whole alignment row), recorded in ``curated_from``; by default this quote.
        A nested quote is nested in the curated copy of its parent when that
        parent has been accepted already, else in nothing (never in a raw quote).
        """
        copy = Quote(is_curated=True, annotator=curator if curator is not None and curator.is_authenticated else None)
        for field in self.CURATED_COPY_FIELDS:
            setattr(copy, field, getattr(self, field))
        if self.parent_id is not None:
            copy.parent = Quote.objects.curated().filter(curated_from=self.parent_id).order_by("id").first()
        stances = {stance.target_id: StanceValues.of(stance) for stance in self.stances.all()}
        with transaction.atomic():
            copy.full_clean(validate_constraints=False)
            copy.annotate(by=copy.annotator, stances=stances)
            copy.curated_from.set(sources or [self])
        return copy

    def annotate(
        self,
        *,
        by: AnyUser | None,
        expected_version: int | None = None,
        stances: Mapping[int, StanceValues] | None = None,
    ) -> None:
        """Store this quote and make its stances exactly ``stances`` (target id → values).

        The one write path for a quote, whichever door it comes through (the
        annotate page, the API, curation, span imports): a new quote is
        created; an existing one is saved only if it still has
        ``expected_version`` (VersionConflict otherwise). The writer's
        assignment is held open for the whole write (PermissionDenied
        "submitted meanwhile") and their first quote on an article starts
        their assignment. ``stances=None`` leaves the stances as they are.
        The same span stored twice by one annotator in one layer is refused
        (ValidationError naming the quote that has it). Many new quotes at
        once (a span import) go through ``annotate_many``.

        Callers validate first (forms, serializers, importers); the database
        constraints and triggers are the last guard, so ``full_clean`` is not
        run again here.
        """
        creating = self._state.adding
        try:
            with transaction.atomic(), self._tallied():
                # The assignment's lock and the duplicate lookup, sent together (one round trip
                # on PostgreSQL): the lookup runs after the lock is taken, as it did after it.
                held: list[str] | None
                lock = Assignment.held_read(self.article_id, by)
                duplicate = self._duplicate_read(using=router.db_for_write(Quote))
                if lock is not None:
                    statuses, found = read_together(lock, duplicate)
                    held = Assignment.held_statuses([status for (status,) in statuses])
                else:
                    held = Assignment.hold_open(self.article_id, by)
                    (found,) = read_together(duplicate)
                self._refuse_duplicate(next(iter(found), None))
                if creating:
                    self._insert()
                    if not self.is_curated and by is not None:
                        Assignment.start(self.article_id, by, held=held)
                else:
                    if expected_version is None:
                        raise ValueError("Changing a stored quote needs the version it was read at.")
                    self.save_with_version(expected_version)
                if stances is not None:
                    self._replace_stances(stances, creating=creating)
        except IntegrityError as error:
            # Rolled back: the quote is as new as it was, and the refusal says which rule.
            if creating:
                self.pk, self._state.adding = None, True
            raise ValidationError(refusal_message(error), code="database_refused") from error

    @classmethod
    def annotate_many(cls, spans: list[tuple[int, int, int, str]], *, by: User) -> dict[tuple[int, int, int], int]:
        """Store ``by``'s new raw quotes, unattributed and without stances, from spans;
        return each new quote's id by (article id, start, end).

        For a span import, which has done for its whole file what ``annotate``
        does per quote: held the writer's assignments (``Assignment.hold_open``
        over every article), refused the spans already stored or repeated (one
        query per batch of articles), and checked every span against its
        article's text, graphemes included. So no model instance and no
        ``save()`` per quote: each batch is one INSERT … SELECT that takes the
        quote's text from its article in the database (``substr`` counts code
        points on both databases, as the offsets do), and one more copies the
        new rows into history (``record_creations``). The constraints and the
        offset triggers still check every row. Assignments are not started,
        as an import never started them.
        """
        if not spans:
            return {}
        connection = connections[router.db_for_write(cls)]
        name = connection.ops.quote_name
        now = connection.ops.adapt_datetimefield_value(timezone.now())
        # Every other column as a new quote's default has it (blank cue, version 1, no speaker…).
        given = {
            "id",
            "article_id",
            "start",
            "end",
            "text",
            "kind",
            "annotator_id",
            "guidelines_version",
            "created_at",
            "updated_at",
        }
        defaults = [
            (str(field.column), field.get_db_prep_save(field.get_default(), connection))
            for field in cls._meta.concrete_fields
            if field.column not in given
        ]
        columns = ", ".join(
            name(column)
            for column in [
                "article_id",
                "start",
                "end",
                "kind",
                "text",
                "annotator_id",
                "guidelines_version",
                "created_at",
                "updated_at",
            ]
            + [column for column, _ in defaults]
        )
        quote, article = name(cls._meta.db_table), name(Article._meta.db_table)
        # PostgreSQL takes a batch as four arrays (one short statement, parsed and planned
        # once); elsewhere it is a VALUES list, four parameters a row. Splitting a VALUES
        # list of 4,000 placeholders into PostgreSQL's $n form was 40% of a large import.
        arrays = connection.vendor == "postgresql"
        batch_size = 10_000 if arrays else min(1000, (connection.features.max_query_params or 4000) // 4 - 10)
        created: dict[tuple[int, int, int], int] = {}
        guidelines = Guidelines.objects.current_number()
        with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
            for index in range(0, len(spans), batch_size):
                batch = spans[index : index + batch_size]
                if arrays:
                    source = "SELECT * FROM unnest(%s::bigint[], %s::integer[], %s::integer[], %s::text[])"
                    values: list[Any] = [list(column) for column in zip(*batch, strict=True)]
                else:
                    source = "VALUES " + ", ".join(
                        ["(CAST(%s AS bigint), CAST(%s AS integer), CAST(%s AS integer), %s)"] * len(batch)
                    )
                    values = [value for span in batch for value in span]
                cursor.execute(
                    # Names from the models, values as parameters.
                    f"WITH span (article_id, start_at, end_at, kind) AS ({source}) "  # noqa: S608  # nosec B608: see above
                    f"INSERT INTO {quote} ({columns}) "
                    "SELECT span.article_id, span.start_at, span.end_at, span.kind, "
                    "substr(article.text, span.start_at + 1, span.end_at - span.start_at), "
                    f"%s, %s, %s, %s{', %s' * len(defaults)} "
                    f"FROM span JOIN {article} article ON article.id = span.article_id "
                    f"RETURNING {name('id')}, {name('article_id')}, {name('start')}, {name('end')}",
                    values + [by.pk, guidelines, now, now] + [value for _, value in defaults],
                )
                for pk, article_id, start, end in cursor.fetchall():
                    created[(article_id, start, end)] = pk
            if len(created) != len({span[:3] for span in spans}):  # a JOIN found no article
                raise IntegrityError("annotate_many: a span names an article that doesn't exist.")
            record_creations(cls, list(created.values()), by=by)
        return created

    def remove(self, *, by: AnyUser | None, expected_version: int) -> None:
        """Delete this quote if nobody changed it since ``expected_version``, holding
        the writer's assignment open as ``annotate`` does."""
        from django.utils import timezone

        with transaction.atomic(), self._tallied():
            Assignment.hold_open(self.article_id, by)
            # The deletion's history record says when the stances were last whole,
            # so that undo can read them back (see ``undo_change``).
            self._change_reason = STANCES_AS_OF + timezone.now().isoformat()
            self.delete_with_version(expected_version)

    def _tallied(self) -> AbstractContextManager[None]:
        """``tallies.tallied`` for a curated quote of a curated article (the statistics count
        its stances); nothing for the others, whose changes the statistics don't see."""
        if not self.is_curated:
            return nullcontext()
        # Read under the article's lock (this runs inside the write's transaction): a
        # "mark curated" committed between this read and the write would count the
        # article without this change, and this change would not count itself.
        status = Article.objects.select_for_update().filter(pk=self.article_id).values_list("status", flat=True)
        if list(status) != [Article.Status.CURATED]:
            return nullcontext()
        from .tallies import tallied

        return tallied([self.article_id])

    # What undo restores from history: everything the analyst edits.
    UNDONE_FIELDS = (*CURATED_COPY_FIELDS[1:], "parent")

    @classmethod
    def last_change_id(cls, pk: int, *, just_saved: Quote | None = None) -> int | None:
        """The history record of the quote's last change (its undo handle).

        ``just_saved``: the instance this request has just saved or removed, whose
        history record ``QuoteHistory`` noted as it wrote it (no query)."""
        noted = getattr(just_saved, "recorded_change_id", None)
        if noted is not None:
            return noted
        # history_id, not history_date: ids only grow, clocks can step back.
        latest = cls.history.filter(id=pk).order_by("-history_id")
        return latest.values_list("history_id", flat=True).first()

    @classmethod
    def undo_change(cls, change_id: int, *, by: AnyUser, layer: Quote.Layer = Layer.RAW) -> Quote:
        """Undo the delete or edit recorded as history record ``change_id``: the
        quote and its stances as they were before it, saved as a new version through
        ``annotate`` (a deleted quote comes back under its own id, a curated one
        with the annotators' quotes it was made from).

        The one undo of both layers: the annotate page undoes raw quotes, the
        curation page curated ones. Refused (UndoRefused, with the reason) unless
        the change is ``by``'s own, on a quote of ``layer`` (the curated layer only
        for a reviewer), at most a minute old and still the quote's last change;
        ``annotate`` refuses it on a submitted article.
        """
        from django.utils import timezone

        history = cls.history.model
        with transaction.atomic():
            record = history.objects.filter(history_id=change_id).first()
            mine = record is not None and by.pk is not None and record.history_user_id == by.pk
            if not mine or record.is_curated != (layer == cls.Layer.CURATED):
                raise UndoRefused("There is no change of yours to undo here.")
            if record.is_curated and not is_reviewer(by):
                raise UndoRefused("Only reviewers can undo changes to the curated version.")
            if record.history_type == "+":
                raise UndoRefused("Only a delete or an edit can be undone.")
            if timezone.now() - record.history_date > UNDO_WINDOW:
                raise UndoRefused("More than a minute has passed: this change can no longer be undone.")
            if cls.last_change_id(record.id) != record.history_id:
                raise UndoRefused("The quote has changed since: only its last change can be undone.")
            if record.history_type == "-":
                before, stances_at = record, record.history_change_reason or ""
                if not stances_at.startswith(STANCES_AS_OF):
                    raise UndoRefused("This deletion was not recorded with its stances: it can't be undone.")
                as_of = datetime.datetime.fromisoformat(stances_at.removeprefix(STANCES_AS_OF))
                quote = cls(
                    pk=record.id,
                    article_id=record.article_id,
                    annotator_id=record.annotator_id,
                    is_curated=record.is_curated,
                )
            else:
                before = record.prev_record
                if before is None:
                    raise UndoRefused("There is no earlier version to go back to.")
                # annotate saves the quote before it writes the stances: the
                # stance records before this record are the stances before the edit.
                as_of = record.history_date - datetime.timedelta(microseconds=1)
                quote = cls.objects.select_related("article").get(pk=record.id)
            for name in cls.UNDONE_FIELDS:
                attname = cls._meta.get_field(name).get_attname()  # type: ignore[union-attr]  # concrete fields
                setattr(quote, attname, getattr(before, attname))
            stances = cls._stances_as_of(record.id, as_of)
            try:
                if record.history_type == "-":
                    quote.version = record.version + 1
                    quote.annotate(by=by, stances=stances)
                    if record.is_curated:
                        quote.curated_from.set(cls._sources_before(record))
                else:
                    quote.annotate(by=by, expected_version=record.version, stances=stances)
            except VersionConflict:
                raise UndoRefused("The quote has changed since: only its last change can be undone.") from None
            except PermissionDenied as refusal:
                raise UndoRefused(f"Can't undo: {refusal}") from None
            except ValidationError as error:
                raise UndoRefused(f"Can't undo: {' '.join(error.messages)}") from None
        return quote

    @classmethod
    def _sources_before(cls, deletion: Any) -> list[int]:
        """The annotators' quotes a dropped curated quote was made from, as its last
        record before the drop had them (the drop's own record has none: the links
        go first), less any deleted since."""
        before = deletion.prev_record
        if before is None:
            return []
        sources = before.curated_from.values_list("to_quote_id", flat=True)
        return list(cls.objects.filter(pk__in=list(sources)).values_list("pk", flat=True))

    @staticmethod
    def _stances_as_of(quote_id: int, moment: datetime.datetime) -> dict[int, StanceValues]:
        """A quote's stances as its stances' history had them at ``moment``."""
        latest: dict[int, Any] = {}
        records = Stance.history.filter(quote_id=quote_id, history_date__lte=moment)
        for record in records.order_by("history_date", "history_id"):
            latest[record.id] = record
        return {
            record.target_id: StanceValues(record.label_id, record.intensity, record.confidence, record.note)
            for record in latest.values()
            if record.history_type != "-"
        }

    def duplicate(self) -> Quote | None:
        """Another quote of this annotator in this layer with exactly this span,
        kind and speaker, if there is one."""
        (found,) = read_together(self._duplicate_read())
        return next(iter(found), None)

    def _duplicate_read(self, using: str | None = None) -> Read:
        # Asked before every save: a statement compiled once per shape (which of the
        # optional ids are set, the kind, the layer), not a queryset built each time.
        optional = (self.speaker_id, self.annotator_id, self.pk)
        ids = [value for value in (self.article_id, self.start, self.end, *optional) if value is not None]
        shape = (self.kind, self.is_curated, *(value is not None for value in optional))
        return _DUPLICATE_SPAN.instances_read(None, *ids, shape=shape, using=using)

    def refuse_duplicate_span(self) -> None:
        self._refuse_duplicate(self.duplicate())

    @staticmethod
    def _refuse_duplicate(existing: Quote | None) -> None:
        if existing is not None:
            raise ValidationError(
                f"You already have this quote: quote {existing.pk} marks {existing.start}–{existing.end} "
                "with the same kind and speaker. Edit that one instead.",
                code="duplicate_span",
                params={"quote": existing.pk},
            )

    def _replace_stances(self, wanted: Mapping[int, StanceValues], *, creating: bool) -> None:
        """Make the stances exactly ``wanted``: an unchanged stance is left alone (same
        id, no history row), a changed one updated in place, a missing one deleted,
        the new ones created together (one INSERT, and one for their history rows).
        History records each row either way."""
        existing = {} if creating else {stance.target_id: stance for stance in self.stances.all()}
        for target_id, stance in existing.items():
            values = wanted.get(target_id)
            if values is None:
                stance.delete()
            elif StanceValues.of(stance) != values:
                values.apply_to(stance)
                stance.save(update_fields=["label", "intensity", "confidence", "note"])
        new = []
        for target_id, values in wanted.items():
            if target_id not in existing:
                stance = Stance(quote=self, target_id=target_id)
                values.apply_to(stance)
                new.append(stance)
        if new:
            bulk_create_with_history(new, Stance)


@dataclass(frozen=True)
class StanceValues:
    """What a stance says about its target: the values ``Quote.annotate`` writes."""

    label_id: int
    intensity: int | None = None
    confidence: float | None = None
    note: str = ""

    @classmethod
    def of(cls, stance: Stance) -> StanceValues:
        return cls(stance.label_id, stance.intensity, stance.confidence, stance.note)

    def apply_to(self, stance: Stance) -> None:
        stance.label_id = self.label_id
        stance.intensity = self.intensity
        stance.confidence = self.confidence
        stance.note = self.note


class Stance(models.Model):
    """A quote's position toward one target. No row: the target is not addressed."""

    quote = models.ForeignKey(Quote, on_delete=models.CASCADE, related_name="stances")
    target = models.ForeignKey(Target, on_delete=models.PROTECT, related_name="stances")
    label = models.ForeignKey(StanceLabel, on_delete=models.PROTECT, related_name="stances")
    intensity = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(3)],
        help_text="1 hedged or implicit, 2 explicit, 3 categorical or emphatic.",
    )
    confidence = models.FloatField(
        null=True,
        blank=True,
        validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],
        help_text="The annotator's confidence, 0 to 1.",
    )
    note = models.TextField(blank=True, max_length=2000)

    history = History()

    class Meta:
        ordering = ["quote_id", "id"]
        indexes = [
            # The statistics of a target (and those below it): its stances and their labels,
            # from the index alone, without reading the table.
            models.Index(fields=["target", "quote", "label"], name="stance_target_stats_idx"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["quote", "target"], name="stance_one_per_quote_target"),
            models.CheckConstraint(
                condition=Q(intensity__isnull=True) | Q(intensity__gte=1, intensity__lte=3),
                name="stance_intensity_1_to_3",
            ),
            models.CheckConstraint(
                condition=Q(confidence__isnull=True) | Q(confidence__gte=0, confidence__lte=1),
                name="stance_confidence_0_to_1",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.label} {self.target}"


# --- Workflow ----------------------------------------------------------------


@dataclass(frozen=True)
class QueueProgress:
    """An analyst's queue in figures: ``position`` is the open article's place in it."""

    total: int
    done: int
    position: int | None = None

    @property
    def percent_done(self) -> int:
        return round(100 * self.done / self.total) if self.total else 0


def _count(queryset: models.QuerySet) -> Subquery:
    """``SELECT COUNT(*)`` of ``queryset`` as a subquery (no GROUP BY: one row, 0 when none match)."""
    counted = queryset.order_by().annotate(count=Func(F("pk"), function="COUNT")).values("count")
    return Subquery(counted, output_field=models.IntegerField())


class AssignmentQuerySet(models.QuerySet):
    def for_user(self, user: AnyUser) -> AssignmentQuerySet:
        if not user.is_authenticated:
            return self.none()
        return self.filter(annotator=user)

    def visible_to(self, user: AnyUser) -> AssignmentQuerySet:
        """Assignments a user may read: reviewers all, an analyst their own, anyone else none."""
        if not user.is_authenticated or not user.is_active:
            return self.none()
        if is_reviewer(user):
            return self.all()
        if Role.ANALYST in roles_of(user):
            return self.filter(annotator=user)
        return self.none()

    def open(self) -> AssignmentQuerySet:
        """Work not yet handed in: assigned or in progress."""
        return self.filter(status__in=Assignment.OPEN)

    def done(self) -> AssignmentQuerySet:
        """Work handed in: submitted or reviewed."""
        return self.filter(status__in=Assignment.DONE)

    def progress(self) -> QueueProgress:
        """How far along these assignments are, in one query: how many, how many handed in."""
        figures = self.aggregate(total=Count("pk"), done=Count("pk", filter=Q(status__in=Assignment.DONE)))
        return QueueProgress(total=figures["total"], done=figures["done"])

    def with_progress(self) -> AssignmentQuerySet:
        """Each assignment read with its annotator's queue (``Assignment.queue``): how many
        assignments, how many handed in, and how many come before this one in the order
        Next article takes them (oldest first)."""
        queue = Assignment.objects.filter(annotator_id=OuterRef("annotator_id")).order_by()
        earlier = Q(created_at__lt=OuterRef("created_at")) | Q(created_at=OuterRef("created_at"), pk__lt=OuterRef("pk"))
        return self.annotate(
            queue_total=_count(queue),
            queue_done=_count(queue.filter(status__in=Assignment.DONE)),
            queue_before=_count(queue.filter(earlier)),
        )

    def next_for(self, user: AnyUser) -> Assignment | None:
        """The analyst's oldest open assignment, else a newly claimed pool article."""
        if not user.is_authenticated:
            return None
        current = Assignment.objects.for_user(user).open().order_by("created_at", "id").first()
        return current or self.claim_next(user)

    def claim_next(self, user: AnyUser) -> Assignment | None:
        """Claim the oldest pool article that still needs annotators and that this
        analyst has no assignment on; None when there is none.

        Race-safe on PostgreSQL: candidates are locked with SKIP LOCKED, so two
        analysts claiming at once take different articles instead of waiting on
        each other, and the count is read again once the row is locked (the
        first read predates the lock: another claim may have committed since).
        SQLite has no row locks; its writes are serialised by the database lock.
        """
        if not user.is_authenticated or not is_analyst(user):
            return None
        mine = Assignment.objects.filter(article=OuterRef("pk"), annotator_id=user.pk)
        candidates = Article.objects.needing_annotators().exclude(Exists(mine)).order_by("created_at", "id")
        if connections[self.db].features.has_select_for_update_skip_locked:
            candidates = candidates.select_for_update(skip_locked=True)
        with transaction.atomic(using=self.db):
            for article in candidates[:20]:
                assignments = Assignment.objects.filter(article=article)
                if (
                    assignments.count() >= article.annotators_needed
                    or assignments.filter(annotator_id=user.pk).exists()
                ):
                    continue
                return Assignment.objects.create(article=article, annotator=user)
        return None

    def assign(
        self,
        articles: list[Article],
        annotators: list[User],
        *,
        per_article: int | None = None,
        assigned_by: User | None = None,
    ) -> tuple[list[Assignment], list[str]]:
        """Assign articles to analysts in bulk; returns (created, reasons for what was skipped).

        Without ``per_article`` every article goes to every analyst given. With it,
        each article is brought up to ``per_article`` analysts in all, picking from
        ``annotators`` those with the fewest open assignments (counting the ones
        made here), and its ``annotators_needed`` is set to ``per_article``. An
        existing article × analyst pair is skipped, never duplicated.
        """
        article_ids = [article.pk for article in articles]
        existing = set(Assignment.objects.filter(article_id__in=article_ids).values_list("article_id", "annotator_id"))
        load = dict.fromkeys((annotator.pk for annotator in annotators), 0)
        load.update(
            Assignment.objects.open()
            .filter(annotator_id__in=list(load))
            .order_by()
            .values("annotator_id")
            .annotate(count=Count("pk"))
            .values_list("annotator_id", "count")
        )
        created: list[Assignment] = []
        skipped: list[str] = []

        def create(article: Article, annotator: User) -> None:
            try:
                with transaction.atomic():
                    assignment = Assignment.objects.create(
                        article=article, annotator=annotator, assigned_by=assigned_by
                    )
            except IntegrityError:  # assigned by someone else meanwhile
                skipped.append(f"{annotator.get_username()} already has “{article}”.")
                return
            existing.add((article.pk, annotator.pk))
            load[annotator.pk] += 1
            created.append(assignment)

        with transaction.atomic():
            for article in articles:
                if article.status != Article.Status.OPEN:
                    skipped.append(f"“{article}” is already curated.")
                    continue
                if per_article is None:
                    for annotator in annotators:
                        if (article.pk, annotator.pk) in existing:
                            skipped.append(f"{annotator.get_username()} already has “{article}”.")
                        else:
                            create(article, annotator)
                    continue
                Article.objects.filter(pk=article.pk).update(annotators_needed=per_article)
                article.annotators_needed = per_article
                have = sum(1 for article_id, _ in existing if article_id == article.pk)
                missing = per_article - have
                if missing <= 0:
                    skipped.append(f"“{article}” already has {have} analyst{'s' if have != 1 else ''}.")
                    continue
                free = sorted(
                    (annotator for annotator in annotators if (article.pk, annotator.pk) not in existing),
                    key=lambda annotator: (load[annotator.pk], annotator.get_username(), annotator.pk),
                )
                for annotator in free[:missing]:
                    create(article, annotator)
                if len(free) < missing:
                    skipped.append(
                        f"“{article}” needs {missing} more analyst{'s' if missing != 1 else ''}, "
                        f"but only {len(free)} of those chosen are free."
                    )
        return created, skipped


class Assignment(models.Model):
    class Status(models.TextChoices):
        ASSIGNED = "assigned", "Assigned"
        IN_PROGRESS = "in_progress", "In progress"
        SUBMITTED = "submitted", "Submitted"
        REVIEWED = "reviewed", "Reviewed"

    # The legal moves of the status machine; anything else is refused.
    TRANSITIONS = {
        Status.ASSIGNED: {Status.IN_PROGRESS, Status.SUBMITTED},
        Status.IN_PROGRESS: {Status.SUBMITTED},
        Status.SUBMITTED: {Status.REVIEWED, Status.IN_PROGRESS},
        Status.REVIEWED: set(),
    }

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="assignments")
    annotator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="assignments")
    status = models.CharField(max_length=16, choices=Status, default=Status.ASSIGNED)
    comment = models.TextField(
        blank=True, max_length=2000, help_text="A reviewer's note when sending the article back."
    )
    assigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    submitted_at = models.DateTimeField(null=True, blank=True)

    OPEN = (Status.ASSIGNED, Status.IN_PROGRESS)
    DONE = (Status.SUBMITTED, Status.REVIEWED)
    LOCKED = frozenset(DONE)  # the annotator's quotes can't change in these

    objects = AssignmentQuerySet.as_manager()
    history = History(excluded_fields=["updated_at"])

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["article", "annotator"], name="assignment_one_per_annotator"),
            models.CheckConstraint(
                condition=Q(status__in=["assigned", "in_progress", "submitted", "reviewed"]),
                name="assignment_status_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.article} → {self.annotator} ({self.get_status_display()})"

    def can_move_to(self, status: str) -> bool:
        return status in self.TRANSITIONS[self.Status(self.status)]

    def move_to(self, status: str, *, comment: str = "") -> None:
        """Change status along a legal transition, or refuse with a clear message.

        The row is locked and its status read again first: a transition decided
        on a stale status (two reviewers at once, or a submission racing an
        edit that holds the row with ``hold_open``) waits or is refused.
        """
        from django.utils import timezone

        status = self.Status(status)
        with transaction.atomic():
            if self.pk:
                self.status = type(self).objects.select_for_update().values_list("status", flat=True).get(pk=self.pk)
            if not self.can_move_to(status):
                raise ValidationError(
                    f"An assignment that is {self.get_status_display().lower()} can't become {status.label.lower()}.",
                    code="illegal_transition",
                )
            self.status = status
            if status == self.Status.SUBMITTED:
                self.submitted_at = timezone.now()
                # The reviewer's note was about the version sent back; a new
                # submission answers it. History keeps the old note.
                self.comment = ""
            if comment:
                self.comment = comment
            self.save(update_fields=["status", "submitted_at", "comment", "updated_at"])

    @classmethod
    def hold_open(cls, article_ids: int | Iterable[int], user: AnyUser | None) -> list[str] | None:
        """Inside a transaction about to change ``user``'s quotes on an article (or
        several): lock their assignments and refuse if one is no longer open for edits.
        Returns the statuses held, in article order (None for a reviewer: nothing held).

        Views check editability when a request starts; a submission committed
        between that check and the write would let the write land on a submitted
        article, after a reviewer may already have curated the older version.
        The lock orders the two: the write waits for the submission and is then
        refused, or the submission waits for the write.
        """
        if user is None or is_reviewer(user):
            return None
        ids = sorted({article_ids} if isinstance(article_ids, int) else set(article_ids))
        lock = cls.held_read(ids[0], user) if len(ids) == 1 else None
        if lock is not None:
            (rows,) = read_together(lock)
            return cls.held_statuses([status for (status,) in rows])
        statuses: list[str] = []
        for start in range(0, len(ids), 500):  # in the same order everywhere: no deadlock between two holders
            held = cls.objects.select_for_update().filter(article_id__in=ids[start : start + 500], annotator_id=user.pk)
            statuses.extend(cls.held_statuses(list(held.order_by("article_id").values_list("status", flat=True))))
        return statuses

    @classmethod
    def held_read(cls, article_id: int, user: AnyUser | None) -> Read | None:
        """``hold_open``'s lock of ``user``'s assignment on one article (a save's), a statement
        compiled once per role, to send with other reads (``read_together``); its rows go to
        ``held_statuses``. None where there is nothing to hold this way (a reviewer, no user)."""
        if user is None or not user.is_authenticated or is_reviewer(user):
            return None
        using = router.db_for_write(cls)
        if transaction.get_autocommit(using=using):  # as select_for_update() refuses
            raise transaction.TransactionManagementError("hold_open locks rows: call it inside a transaction")
        return _HELD_ASSIGNMENT.rows_read(user, article_id, using=using)

    @classmethod
    def held_statuses(cls, statuses: list[str]) -> list[str]:
        """The statuses a lock has read, or PermissionDenied if one is no longer open for edits."""
        if cls.LOCKED.intersection(statuses):
            raise PermissionDenied(
                "You submitted this article meanwhile: its quotes are locked until a reviewer sends it back."
            )
        return statuses

    @classmethod
    def start(cls, article_id: int, user: AnyUser, *, held: list[str] | None = None) -> None:
        """Someone's first quote on an article: their assignment is in progress now
        (created for an article taken from the pool).

        ``held`` is what ``hold_open`` read for this one article (None when it
        read nothing, as for reviewers): with it, the usual case (already in
        progress) costs no query.
        """
        if held and held[0] != cls.Status.ASSIGNED:
            return
        if held == [] and cls._create_in_progress(article_id, user):
            return
        # An assignment to move on, or one another save of this user's has created since hold_open looked.
        assignment, created = cls.objects.get_or_create(
            article_id=article_id, annotator_id=user.pk, defaults={"status": cls.Status.IN_PROGRESS}
        )
        if not created and assignment.status == cls.Status.ASSIGNED:
            assignment.move_to(cls.Status.IN_PROGRESS)

    @classmethod
    def _create_in_progress(cls, article_id: int, user: AnyUser) -> bool:
        """Create ``user``'s assignment on a pool article, in progress, with its history row.

        The first quote on each article of the pool comes here, so it is one
        INSERT … ON CONFLICT DO NOTHING with its history row (``insert_recorded``):
        one statement on PostgreSQL where ``get_or_create`` and simple_history took
        five (a read, a savepoint, the insert, the history row, the release). False
        when the row exists after all (another save of the same user got there
        first), with nothing written.
        """
        row = cls(article_id=article_id, annotator_id=user.pk, status=cls.Status.IN_PROGRESS)  # type: ignore[misc]  # signed in
        row._history_user = user  # type: ignore[attr-defined]  # whose change history records
        return insert_recorded(row, if_new=True) is not None

    @property
    def is_locked(self) -> bool:
        return self.status in self.LOCKED

    # Read by AssignmentQuerySet.with_progress.
    queue_total: int
    queue_done: int
    queue_before: int

    @property
    def queue(self) -> QueueProgress:
        """Where this assignment stands in its annotator's queue, as ``with_progress`` read it."""
        return QueueProgress(total=self.queue_total, done=self.queue_done, position=self.queue_before + 1)


def _duplicate_span_query(_user: None, *values: Any) -> QuoteQuerySet:
    """``Quote.duplicate``'s query: ``values`` are the ids set (article, start, end, then
    speaker, annotator and the quote's own pk where set), then the kind, the layer and
    whether each of the last three is set."""
    *given, kind, is_curated, has_speaker, has_annotator, has_pk = values
    ids = iter(given)
    article_id, start, end = next(ids), next(ids), next(ids)
    speaker_id = next(ids) if has_speaker else None  # None reads as IS NULL: an unattributed span
    annotator_id = next(ids) if has_annotator else None
    same = Quote.objects.filter(
        article_id=article_id,
        start=start,
        end=end,
        kind=kind,
        speaker_id=speaker_id,  # type: ignore[misc]  # None reads as IS NULL
        annotator_id=annotator_id,
        is_curated=is_curated,
    )
    if has_pk:
        same = same.exclude(pk=next(ids))
    return same.order_by("id").only("id", "start", "end")[:1]


_DUPLICATE_SPAN = Statement(Quote, "a quote's duplicate span", _duplicate_span_query)
# Locks the user's assignment on one article (Assignment.hold_open, before every save).
_HELD_ASSIGNMENT = Statement(
    Assignment,
    "the assignment a save holds",
    lambda user, article_id: (
        Assignment.objects.select_for_update().filter(article_id=article_id, annotator_id=user.pk).values_list("status")
    ),
)


# --- Machine suggestions ----------------------------------------------------------
#
# The detector's quotes are a layer of their own: a ``Suggestion`` belongs to an
# article and a detector version, never to an analyst, so it is in no
# agreement figure, curation or export. Each analyst decides each suggestion for
# themselves (``SuggestionDecision``); accepting one makes it that analyst's
# quote through ``Quote.annotate``, with the detector's version as provenance.


def stale_cutoff() -> datetime.datetime:
    """Runs queued or running since before this are taken for lost (``DETECTION_STALE_AFTER``)."""
    return timezone.now() - datetime.timedelta(seconds=settings.DETECTION_STALE_AFTER)


class DetectionRunQuerySet(models.QuerySet["DetectionRun"]):
    def unfinished(self) -> DetectionRunQuerySet:
        return self.filter(status__in=DetectionRun.UNFINISHED)

    def request(self, article_ids: Iterable[int], *, by: AnyUser | None = None) -> list[DetectionRun]:
        """Queue detection for these articles: a run each, its task enqueued once the
        caller's transaction commits (a worker must find the article it is given).
        An article whose detection is already queued or running keeps that run,
        unless that run is stale (``stale_cutoff``)."""
        ids = sorted(set(article_ids))
        busy = set(
            self.unfinished()
            .filter(article_id__in=ids, created_at__gte=stale_cutoff())
            .values_list("article_id", flat=True)
        )
        requested_by = by if by is not None and by.is_authenticated else None
        runs = DetectionRun.objects.bulk_create(
            [DetectionRun(article_id=pk, requested_by=requested_by) for pk in ids if pk not in busy]
        )
        if runs:
            transaction.on_commit(lambda: DetectionRun.enqueue(runs), using=self.db)
        return runs

    def request_on_arrival(self, article_ids: Iterable[int], *, by: AnyUser | None = None) -> list[DetectionRun]:
        """``request`` for articles that have just arrived, unless DETECT_ON_ARRIVAL is off."""
        if not settings.DETECT_ON_ARRIVAL:
            return []
        return self.request(article_ids, by=by)


class DetectionRun(models.Model):
    """One detection of one article's quotes: a task of Django's tasks framework
    that a worker runs; the row is what the article's page polls and shows."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    UNFINISHED = frozenset({Status.QUEUED, Status.RUNNING})

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="detection_runs")
    status = models.CharField(max_length=10, choices=Status, default=Status.QUEUED)
    detector_version = models.CharField(max_length=40, blank=True)
    task_id = models.CharField(max_length=64, blank=True, help_text="The task result's id in the tasks backend.")
    suggestion_count = models.PositiveIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = DetectionRunQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["article", "-id"], name="detection_run_article_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["queued", "running", "done", "failed"]), name="detection_run_status_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"Detection of “{self.article_id}”: {self.get_status_display()}"

    @property
    def is_finished(self) -> bool:
        return self.status in {self.Status.DONE, self.Status.FAILED}

    # Runs a task performs in turn: an import of 10,000 articles queues 200 tasks, not
    # 10,000 (each task costs the backend an INSERT and an UPDATE at enqueueing).
    TASK_BATCH = 50

    @staticmethod
    def enqueue(runs: Sequence[DetectionRun]) -> None:
        """Hand the runs to the tasks backend, ``TASK_BATCH`` to a task. A backend that
        refuses (its table missing, its database down) leaves those runs failed, with
        the reason, to retry."""
        from .tasks import detect_articles

        for first in range(0, len(runs), DetectionRun.TASK_BATCH):
            ids = [run.pk for run in runs[first : first + DetectionRun.TASK_BATCH]]
            try:
                result = detect_articles.enqueue(ids)
            except Exception as error:  # any refusal is shown on the page, with its reason
                DetectionRun.objects.filter(pk__in=ids).update(
                    status=DetectionRun.Status.FAILED,
                    error=f"Could not queue the detection: {type(error).__name__}: {error}",
                    finished_at=timezone.now(),
                )
                continue
            DetectionRun.objects.filter(pk__in=ids).update(task_id=str(result.id))

    def perform(self) -> int:
        """Detect the article's quotes and replace its open suggestions with them;
        return how many there are. A failure is recorded on the run, then raised
        again so that the task's result records it too."""
        from .detection import VERSION, detect
        from .detection.linking import link

        DetectionRun.objects.filter(pk=self.pk).update(status=self.Status.RUNNING, detector_version=VERSION)
        try:
            article = Article.objects.only("text", "language", "published_on").get(pk=self.article_id)
            candidates = detect(article.text, article.language, article.published_on)
            speaker_ids = link(candidates, article.published_on)
            count = Suggestion.objects.replace_for(
                article, candidates, detector_version=VERSION, speaker_ids=speaker_ids
            )
        except Exception as error:
            self._finish(self.Status.FAILED, error=f"{type(error).__name__}: {error}")
            raise
        self._finish(self.Status.DONE, count=count)
        return count

    def _finish(self, status: str, *, error: str = "", count: int | None = None) -> None:
        self.status, self.error, self.suggestion_count = status, error, count
        self.finished_at = timezone.now()
        DetectionRun.objects.filter(pk=self.pk).update(
            status=status, error=error, suggestion_count=count, finished_at=self.finished_at
        )


# Article.read_detection's query.
LATEST_DETECTION = Statement(
    DetectionRun,
    "an article's latest detection run",
    lambda _user, article_id: (
        DetectionRun.objects.filter(article_id=article_id)
        .order_by("-id")
        .only("id", "status", "error", "detector_version", "created_at")[:1]
    ),
)


class SuggestionQuerySet(models.QuerySet["Suggestion"]):
    def open_for(self, user: AnyUser) -> SuggestionQuerySet:
        """The suggestions ``user`` has not decided yet."""
        decided = SuggestionDecision.objects.filter(suggestion=OuterRef("pk"), annotator_id=user.pk)
        return self.exclude(Exists(decided))

    def in_text_order(self) -> SuggestionQuerySet:
        return self.order_by("start", "-end", "id")

    def on_page(self, article: Article, user: AnyUser) -> SuggestionQuerySet:
        """What the annotate page offers ``user`` (and "accept all" accepts): the newest
        detection's suggestions on ``article`` they have not decided, less those on a
        span they have marked already. An older version's suggestions outlive a new
        detection only where someone decided them: they are the detector's record."""
        newest = self.filter(article=article).order_by("-id").values("detector_version")[:1]
        marked = Quote.objects.filter(
            article=article, annotator_id=user.pk, is_curated=False, start=OuterRef("start"), end=OuterRef("end")
        )
        return self.filter(article=article, detector_version=Subquery(newest)).open_for(user).exclude(Exists(marked))

    def replace_for(
        self,
        article: Article,
        candidates: Iterable[Any],
        *,
        detector_version: str,
        speaker_ids: Sequence[int | None] | None = None,
    ) -> int:
        """Make the article's open suggestions exactly ``candidates``, in one transaction:
        no analyst ever sees half a detection. Suggestions someone has decided stay
        (their decisions are the detector's record); a candidate with the span of
        one of those is not suggested again. ``speaker_ids``: the registry's speaker
        for each candidate, where linking found one. Returns how many suggestions of
        this version the article has now."""
        text = article.text
        with transaction.atomic(using=self.db):
            self.filter(article=article).exclude(
                Exists(SuggestionDecision.objects.filter(suggestion=OuterRef("pk")))
            ).delete()
            kept = set(self.filter(article=article, detector_version=detector_version).values_list("start", "end"))
            new: dict[tuple[int, int], Suggestion] = {}
            candidates = list(candidates)
            linked = list(speaker_ids) if speaker_ids is not None else [None] * len(candidates)
            for candidate, speaker_id in zip(candidates, linked, strict=True):
                span = (candidate.start, candidate.end)
                if span in kept or span in new:
                    continue
                check_span(
                    text, candidate.start, candidate.end, text[candidate.start : candidate.end], name="suggestion"
                )
                cue = candidate.cue or (None, None)
                source = candidate.source or (None, None)
                new[span] = Suggestion(
                    article=article,
                    start=candidate.start,
                    end=candidate.end,
                    text=text[candidate.start : candidate.end],
                    kind=candidate.kind,
                    cue_start=cue[0],
                    cue_end=cue[1],
                    source_start=source[0],
                    source_end=source[1],
                    speaker_name=(candidate.speaker or "")[:200],
                    speaker_id=speaker_id,
                    confidence=max(0.0, min(1.0, float(candidate.confidence))),
                    group=candidate.group,
                    detector_version=detector_version,
                )
            self.bulk_create(list(new.values()))  # type: ignore[arg-type]  # the manager's model is Suggestion
        return len(kept) + len(new)


class Suggestion(models.Model):
    """A quote the detector proposes in an article: a machine layer, drawn dashed,
    that is nobody's annotation until an analyst accepts it."""

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="suggestions")
    start = models.PositiveIntegerField()
    end = models.PositiveIntegerField()
    text = models.TextField(help_text="article.text[start:end], as for a quote.")
    kind = models.CharField(max_length=10, choices=Quote.Kind, default=Quote.Kind.DIRECT)
    cue_start = models.PositiveIntegerField(null=True, blank=True)
    cue_end = models.PositiveIntegerField(null=True, blank=True)
    source_start = models.PositiveIntegerField(null=True, blank=True)
    source_end = models.PositiveIntegerField(null=True, blank=True)
    speaker_name = models.CharField(max_length=200, blank=True, help_text="The source's name as written.")
    speaker = models.ForeignKey(
        Speaker, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", help_text="Linked, if known."
    )
    confidence = models.FloatField(default=0.0)
    group = models.PositiveIntegerField(null=True, blank=True, help_text="Links the parts of a split quote.")
    detector_version = models.CharField(max_length=40)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = SuggestionQuerySet.as_manager()

    class Meta:
        ordering = ["article_id", "start", "-end", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(end__gt=F("start")), name="suggestion_span_not_empty"),
            models.CheckConstraint(
                condition=Exact(Length("text"), F("end") - F("start")), name="suggestion_text_length_matches_span"
            ),
            models.CheckConstraint(
                condition=Q(confidence__gte=0, confidence__lte=1), name="suggestion_confidence_0_to_1"
            ),
            models.UniqueConstraint(
                fields=["article", "detector_version", "start", "end"], name="suggestion_one_per_span_and_version"
            ),
        ]

    def __str__(self) -> str:
        return f"Suggestion {quote_in_words(self.speaker_name or None, self.text)} ({self.detector_version})"

    def as_quote(self, *, annotator: User) -> Quote:
        """The quote accepting this suggestion makes (not saved): its spans, kind,
        cue and speaker, with the detector's version as provenance."""
        text = self.article.text
        quote = Quote(
            article=self.article,
            start=self.start,
            end=self.end,
            text=self.text,
            kind=self.kind,
            speaker=self.speaker,
            annotator=annotator,
            detector_version=self.detector_version,
            attribution_group=f"d{self.group}" if self.group is not None else "",
        )
        if self.cue_start is not None and self.cue_end is not None:
            quote.cue_start, quote.cue_end = self.cue_start, self.cue_end
            quote.cue_text = quote.cue = text[self.cue_start : self.cue_end][:100]
        if self.source_start is not None and self.source_end is not None:
            quote.mention_start, quote.mention_end = self.source_start, self.source_end
            quote.mention_text = text[self.source_start : self.source_end]
        quote.pick_role()
        return quote

    def accept(self, *, by: User) -> Quote:
        """Make this suggestion ``by``'s quote, unchanged (ValidationError or
        PermissionDenied as ``Quote.annotate`` refuses it)."""
        quote = self.as_quote(annotator=by)
        with transaction.atomic():
            quote.annotate(by=by)
            self.decide(SuggestionDecision.Outcome.ACCEPTED, by=by, quote=quote)
        return quote

    def decide(self, outcome: str, *, by: User, quote: Quote | None = None) -> SuggestionDecision:
        """Record ``by``'s decision; a suggestion is decided once per analyst
        (IntegrityError on a second decision, which callers answer as "decided meanwhile")."""
        return SuggestionDecision.objects.create(suggestion=self, annotator=by, outcome=outcome, quote=quote)


@dataclass(frozen=True)
class DetectorTally:
    """How analysts judged one detector version's suggestions."""

    detector_version: str
    accepted: int
    corrected: int
    rejected: int

    @property
    def decided(self) -> int:
        return self.accepted + self.corrected + self.rejected

    @property
    def precision(self) -> int:
        """Per cent of decided suggestions that were quotes (accepted as they were or corrected)."""
        return round(100 * (self.accepted + self.corrected) / self.decided) if self.decided else 0

    @property
    def unchanged(self) -> int:
        """Per cent of decided suggestions accepted exactly as detected."""
        return round(100 * self.accepted / self.decided) if self.decided else 0


class SuggestionDecisionQuerySet(models.QuerySet["SuggestionDecision"]):
    def tally(self) -> list[DetectorTally]:
        """Per detector version, how many suggestions were accepted unchanged,
        corrected and rejected: one query."""
        outcome = SuggestionDecision.Outcome
        rows = (
            self.order_by()
            .values("suggestion__detector_version")
            .annotate(
                accepted=Count("pk", filter=Q(outcome=outcome.ACCEPTED)),
                corrected=Count("pk", filter=Q(outcome=outcome.CORRECTED)),
                rejected=Count("pk", filter=Q(outcome=outcome.REJECTED)),
            )
            .order_by("suggestion__detector_version")
        )
        return [
            DetectorTally(row["suggestion__detector_version"], row["accepted"], row["corrected"], row["rejected"])
            for row in rows
        ]


class SuggestionDecision(models.Model):
    """One analyst's verdict on one suggestion."""

    class Outcome(models.TextChoices):
        ACCEPTED = "accepted", "Accepted unchanged"
        CORRECTED = "corrected", "Corrected"
        REJECTED = "rejected", "Rejected"

    suggestion = models.ForeignKey(Suggestion, on_delete=models.CASCADE, related_name="decisions")
    annotator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    outcome = models.CharField(max_length=10, choices=Outcome)
    quote = models.ForeignKey(
        Quote, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", help_text="The quote it became."
    )
    decided_at = models.DateTimeField(auto_now_add=True)

    objects = SuggestionDecisionQuerySet.as_manager()

    class Meta:
        ordering = ["-decided_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["suggestion", "annotator"], name="suggestion_decided_once_per_annotator"),
            models.CheckConstraint(
                condition=Q(outcome__in=["accepted", "corrected", "rejected"]), name="suggestion_decision_outcome_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_outcome_display()} by {self.annotator_id}"


class Release(models.Model):
    """A frozen, versioned snapshot of the curated dataset."""

    name = models.CharField(max_length=100, help_text='What a paper cites, such as "v1".')
    note = models.TextField(blank=True, help_text="Changelog: what changed since the previous release.")
    filters = models.JSONField(default=dict, blank=True)
    quote_count = models.PositiveIntegerField(default=0)
    article_count = models.PositiveIntegerField(default=0)
    sha256 = models.CharField(max_length=64, blank=True)
    datasheet = models.TextField(
        blank=True, help_text="The release's README in Markdown: what it holds and the guidelines it was made under."
    )
    # Frozen with the files, as the page and the API show them: a citation must not
    # change when DATASET_AUTHORS or DATASET_URL do later.
    citation = models.TextField(blank=True, help_text="CITATION.cff (Citation File Format 1.2.0).")
    bibtex = models.TextField(blank=True, help_text="release.bib: the release as a BibTeX entry.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["name"], name="release_name_unique")]

    def __str__(self) -> str:
        return self.name


class Comment(models.Model):
    """A short discussion about a quote, between its analyst and the reviewers."""

    quote = models.ForeignKey(Quote, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    body = models.TextField(max_length=2000)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [models.CheckConstraint(condition=~Q(body=""), name="comment_body_not_empty")]

    def __str__(self) -> str:
        return f"{self.author} on {self.quote_id}: {self.body[:40]}"


class ReleaseFile(models.Model):
    """One export of a release, written once and served unchanged forever."""

    release = models.ForeignKey(Release, on_delete=models.PROTECT, related_name="files")
    format = models.CharField(max_length=20)
    file = models.FileField(upload_to="releases/")
    sha256 = models.CharField(max_length=64)
    size = models.PositiveBigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["release", "format"]
        constraints = [models.UniqueConstraint(fields=["release", "format"], name="release_file_one_per_format")]

    def __str__(self) -> str:
        return f"{self.release} ({self.format})"


class ApiTokenName(models.Model):
    """The name its owner gave a knox API token, and what the tokens page shows of it.

    Knox's token has no name field, and knox deletes an expired token the
    first time someone presents it. This row outlives the token (``token``
    becomes NULL), so the page keeps listing it as expired, with its name,
    prefix and expiry, until its owner deletes it.
    """

    token = models.OneToOneField(
        "knox.AuthToken", null=True, blank=True, on_delete=models.SET_NULL, related_name="name_record"
    )
    # The token's SHA-512 digest, kept after knox deletes the token: the
    # page's delete button names the row by it.
    digest = models.CharField(max_length=128, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_token_names")
    name = models.CharField(max_length=200)
    prefix = models.CharField(max_length=8, help_text="The token's first characters, to tell tokens apart.")
    created_at = models.DateTimeField()
    expiry = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["digest"], name="api_token_name_digest_unique")]
        verbose_name = "API token name"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @classmethod
    def issue(cls, user: User, name: str, lifetime: datetime.timedelta) -> tuple[ApiTokenName, str]:
        """Make a knox token for ``user`` with its name; return the row and the raw
        token, which exists only here (knox stores its digest)."""
        from knox.models import get_token_model

        with transaction.atomic():
            token, raw = get_token_model().objects.create(user=user, expiry=lifetime)
            record = cls.objects.create(
                token=token,
                digest=token.digest,
                user=user,
                name=name,
                prefix=token.token_key[:8],
                created_at=token.created,
                expiry=token.expiry,
            )
        return record, raw

    @property
    def current_expiry(self) -> datetime.datetime | None:
        # Knox's row is the truth while it exists (select_related("token")
        # saves the query); the copy here serves once knox has deleted it.
        token = self.token
        return token.expiry if token is not None else self.expiry

    def is_expired(self, now: datetime.datetime | None = None) -> bool:
        from django.utils import timezone

        expiry = self.current_expiry
        return expiry is not None and expiry <= (now or timezone.now())

    def remove(self) -> None:
        """Revoke the token (if knox still has it) and forget its name."""
        with transaction.atomic():
            token = self.token
            if token is not None:
                token.delete()
            self.delete()


@receiver(pre_delete, sender="knox.AuthToken")
def keep_expiry_of_deleted_token(sender: type, instance: Any, **kwargs: Any) -> None:
    # Knox deletes an expired token when it is presented; the name row outlives
    # it and keeps the expiry knox had (AUTO_REFRESH could have moved it).
    ApiTokenName.objects.filter(token=instance).update(expiry=instance.expiry)


class ThrottleCountQuerySet(models.QuerySet["ThrottleCount"]):
    def hit(self, key: str, period: int) -> tuple[int, int]:
        """Count one request for ``key`` in ``period``; return (this period's count, the previous period's).

        One statement, atomic on both databases: the row is created, or moved on
        to the new period (the old count becomes ``previous`` if the periods are
        adjacent, 0 otherwise), or counted. Every SET expression reads the row as
        it was, so the CASEs see the old period.
        """
        connection = connections[router.db_for_write(self.model)]
        table, key_, period_, count_, previous_ = map(
            connection.ops.quote_name, [self.model._meta.db_table, "key", "period", "count", "previous"]
        )
        sql = (
            f"INSERT INTO {table} ({key_}, {period_}, {count_}, {previous_}) VALUES (%s, %s, 1, 0) "  # noqa: S608  # nosec B608
            f"ON CONFLICT ({key_}) DO UPDATE SET "
            f"{previous_} = CASE WHEN {table}.{period_} = excluded.{period_} THEN {table}.{previous_} "
            f"WHEN {table}.{period_} = excluded.{period_} - 1 THEN {table}.{count_} ELSE 0 END, "
            f"{count_} = CASE WHEN {table}.{period_} = excluded.{period_} THEN {table}.{count_} + 1 ELSE 1 END, "
            f"{period_} = excluded.{period_} "
            f"RETURNING {count_}, {previous_}"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [key, period])
            count, previous = cursor.fetchone()
        return int(count), int(previous)

    def forget_before(self, period: int, *, prefix: str) -> int:
        """Drop the counts of callers (keys starting ``prefix``: one rate's, whose periods these
        are) not seen since before ``period``; they count as 0 anyway."""
        deleted, _ = self.filter(key__startswith=prefix, period__lt=period).delete()
        return deleted


class ThrottleCount(models.Model):
    """How many API requests one caller (``throttle_user_<id>``, ``throttle_anon_<ip>``) made
    in the current and the previous period of its rate; see ``annotations.throttling``.

    A row per caller, updated in place by one statement a request: DRF's own
    throttles keep every request's timestamp in the cache, which grows with the
    rate (10,000 an hour is a 90 KB list read and rewritten on every request).
    """

    key = models.CharField(max_length=200, primary_key=True)
    period = models.BigIntegerField(help_text="Seconds since the epoch ÷ the rate's duration.")
    count = models.PositiveIntegerField()
    previous = models.PositiveIntegerField(help_text="The count of the period before, if it was the last.")

    objects = ThrottleCountQuerySet.as_manager()

    class Meta:
        indexes = [models.Index(fields=["period"], name="throttle_count_period")]

    def __str__(self) -> str:
        return f"{self.key}: {self.count} in period {self.period}"


class CountryTally(models.Model):
    """The curated stances counted per month, target, label and speaker's country.

    What the stance statistics read when their filters allow it (``annotations.tallies``):
    a million curated quotes make about 70,000 rows here, where counting the
    stances themselves joins and groups a million rows per request. Kept equal
    to the curated layer in the transaction of every change to it (marking an
    article curated, editing a curated quote of a curated article, merging or
    correcting a speaker, changing an article's date, merging a target), never
    refreshed after the fact; ``manage.py tally --check`` compares it with a
    count from scratch, ``--rebuild`` makes it again.
    """

    month = models.DateField(help_text="The first day of the month the article was published in.")
    target = models.ForeignKey(Target, on_delete=models.CASCADE, related_name="+")
    label = models.ForeignKey(StanceLabel, on_delete=models.CASCADE, related_name="+")
    country = models.CharField(max_length=2, blank=True, help_text="The speaker's country; empty when unknown.")
    stances = models.PositiveIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["month", "target", "label", "country"], name="country_tally_unique"),
        ]
        indexes = [models.Index(fields=["target", "month"], name="country_tally_target_month")]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} {self.target_id} {self.label_id} {self.country or '—'}: {self.stances}"


class SpeakerStanceTally(models.Model):
    """A speaker's curated stances counted per month, target and label (``annotations.tallies``):
    their page's label counts and stance over time, and the statistics filtered by speaker.
    Undated articles count under ``tallies.UNDATED`` (in a speaker's totals, in no period)."""

    speaker = models.ForeignKey(Speaker, on_delete=models.CASCADE, related_name="+")
    month = models.DateField()
    target = models.ForeignKey(Target, on_delete=models.CASCADE, related_name="+")
    label = models.ForeignKey(StanceLabel, on_delete=models.CASCADE, related_name="+")
    stances = models.PositiveIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["speaker", "month", "target", "label"], name="speaker_stance_tally_unique")
        ]

    def __str__(self) -> str:
        return f"speaker {self.speaker_id} {self.month:%Y-%m} {self.target_id} {self.label_id}: {self.stances}"


class SpeakerQuoteTally(models.Model):
    """A speaker's curated quotes counted per publication day (``annotations.tallies``): their
    quote count and first and last quoted date, on their page, the index and the API.
    Undated articles count under ``tallies.UNDATED``."""

    speaker = models.ForeignKey(Speaker, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    quotes = models.PositiveIntegerField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["speaker", "day"], name="speaker_quote_tally_unique")]

    def __str__(self) -> str:
        return f"speaker {self.speaker_id} {self.day}: {self.quotes}"
