"""Forms: the validation every write path shares (pages, imports, admin, API)."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Any, cast

from django import forms
from django.contrib.auth import get_user_model
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db.models import Q

from .models import (
    Article,
    Assignment,
    Quote,
    Role,
    Speaker,
    SpeakerAlias,
    SpeakerRole,
    Stance,
    StanceLabel,
    StanceValues,
    Target,
)
from .offsets import find_occurrence, normalise_text

User = get_user_model()

MAX_ARTICLE_CHARS = 500_000


class SearchField(forms.CharField):
    """A search box's text, safe to filter on.

    PostgreSQL can't take a NUL byte, so NULs are dropped (not refused: a search
    box has no error to show); a term past 200 characters is cut for the same reason.
    """

    max_chars = 200

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def to_python(self, value: object) -> str:
        text = super().to_python(value)
        if text is None:  # only with empty_value=None, which a search box never passes
            return ""
        return text.replace("\x00", "").strip()[: self.max_chars]


class ArticleForm(forms.ModelForm):
    """An article as an analyst pastes it or an import line carries it."""

    # The importer checks duplicates for a whole file in one query instead.
    check_duplicates = True

    published_on = forms.DateField(
        required=False,
        input_formats=["%Y-%m-%d"],
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"invalid": "Enter a real date written YYYY-MM-DD, such as 2023-01-05."},
    )

    class Meta:
        model = Article
        fields = ["title", "outlet", "url", "published_on", "language", "text"]
        widgets = {"text": forms.Textarea(attrs={"rows": 20})}
        error_messages = {
            "title": {"required": "Give the article a title."},
            "text": {"required": "The article text is empty."},
        }

    def clean_title(self) -> str:
        return " ".join(self.cleaned_data["title"].split())

    def clean_text(self) -> str:
        text = normalise_text(self.cleaned_data["text"])
        if not text.strip():
            raise forms.ValidationError("The article text is empty.")
        if len(text) > MAX_ARTICLE_CHARS:
            raise forms.ValidationError(
                f"The article is {len(text):,} characters long; the limit is {MAX_ARTICLE_CHARS:,}."
            )
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as error:
            raise forms.ValidationError(
                f"The text holds half of a character (U+{ord(text[error.start]):04X}) at position "
                f"{error.start}: it was cut from a longer text wrongly. Paste it again from the source."
            ) from None
        if self.check_duplicates:
            duplicate = Article.objects.filter(text_sha256=Article.hash_text(text))
            if self.instance.pk:
                duplicate = duplicate.exclude(pk=self.instance.pk)
            if duplicate.exists():
                raise forms.ValidationError("An article with exactly this text already exists.", code="duplicate_text")
        return text


# --- Quotes ---------------------------------------------------------------------


class ModelErrorsOnShownFields(forms.ModelForm):
    """For model forms over Quote: Quote.clean() may name fields the form doesn't
    show (speaker_role, parent, …); their messages go to the top of the form
    instead of raising (Django's add_error refuses an unknown field)."""

    def _update_errors(self, errors: ValidationError) -> None:
        if hasattr(errors, "error_dict"):
            remapped: dict[str, list] = {}
            for name, messages in errors.error_dict.items():
                remapped.setdefault(name if name in self.fields else NON_FIELD_ERRORS, []).extend(messages)
            errors = ValidationError(remapped)
        super()._update_errors(errors)  # type: ignore[misc]  # a private hook, not in django-stubs


def resolve_typed_speaker(form: forms.BaseForm, data: dict[str, Any]) -> None:
    """Without the autocomplete, a typed name or alias picks the speaker (the annotate
    page's quote form and the curated-quote editor alike)."""
    query = (data.get("speaker_query") or "").strip()
    picked = data.get("speaker")
    if not query:
        return
    if picked is not None:
        # The script keeps the box and the picked speaker together; without it, a name typed
        # over the one shown is the analyst's choice, not the speaker the page was drawn with.
        said = query.casefold()
        if said in {picked.name.casefold(), str(picked).casefold()} or (
            picked.aliases.filter(name__iexact=query).exists()
        ):
            return
        data["speaker"] = None
    matches = list(Speaker.objects.filter(Q(name__iexact=query) | Q(aliases__name__iexact=query)).distinct()[:6])
    if len(matches) == 1:
        data["speaker"] = matches[0]
    elif not matches:
        form.add_error(
            "speaker_query", f"No speaker is called {query!r}: pick one from the list, or add a new speaker."
        )
    else:
        names = ", ".join(str(speaker) for speaker in matches)
        form.add_error("speaker_query", f"{query!r} could be {names}: pick one from the list.")


class QuoteForm(ModelErrorsOnShownFields):
    """A quote as the annotate page sends it.

    Offsets arrive as code points (the page converts the browser's UTF-16
    selection before sending) together with the selected text, and the model's
    clean() refuses any mismatch. Without JavaScript the exact text and an
    occurrence number locate the span instead.
    """

    exact = forms.CharField(
        required=False,
        label="Exact text",
        max_length=MAX_ARTICLE_CHARS,
        help_text="Without a selection: paste or type the quote exactly as written.",
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    occurrence = forms.IntegerField(
        required=False,
        min_value=1,
        initial=1,
        help_text="Which appearance of that text, when it appears more than once.",
    )
    speaker_query = forms.CharField(required=False, label="Speaker", max_length=200)
    version = forms.IntegerField(required=False, widget=forms.HiddenInput)

    class Meta:
        model = Quote
        fields = [
            "start",
            "end",
            "text",
            "kind",
            "speaker",
            "cue",
            "mention_start",
            "mention_end",
            "mention_text",
            "cue_start",
            "cue_end",
            "cue_text",
            "attribution_group",
        ]
        widgets = {
            "start": forms.HiddenInput,
            "end": forms.HiddenInput,
            "text": forms.HiddenInput,
            "kind": forms.RadioSelect,
            "speaker": forms.HiddenInput,
            "mention_start": forms.HiddenInput,
            "mention_end": forms.HiddenInput,
            "mention_text": forms.HiddenInput,
            "cue_start": forms.HiddenInput,
            "cue_end": forms.HiddenInput,
            "cue_text": forms.HiddenInput,
        }

    def __init__(self, *args: Any, article: Article, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.article = article
        self.instance.article = article
        for name in ("start", "end", "text"):
            self.fields[name].required = False
        if self.instance.pk:
            self.fields["version"].initial = self.instance.version
            if self.instance.speaker_id:
                self.fields["speaker_query"].initial = self.instance.speaker.name

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        start, end, exact = data.get("start"), data.get("end"), data.get("exact")
        if start is None and end is None:
            if not exact:
                raise forms.ValidationError(
                    "Select the quote in the text, or type its exact text below.", code="no_selection"
                )
            try:
                span = find_occurrence(self.article.text, exact, data.get("occurrence") or 1)
            except ValidationError as error:
                self.add_error("exact", error)
                return data
            data["start"], data["end"], data["text"] = span.start, span.end, span.text_of(self.article.text)
        elif start is None or end is None or not data.get("text"):
            raise forms.ValidationError("The selection arrived incomplete: select the quote again.", code="partial")
        self.instance.start, self.instance.end, self.instance.text = data["start"], data["end"], data["text"]
        resolve_typed_speaker(self, data)
        return data

    def validate_constraints(self) -> None:
        """Quote.clean() already checks every rule the quote's CHECK constraints
        state, with messages that name the field; the database keeps them too.
        Re-asking the database would cost a query per constraint."""

    def _get_validation_exclusions(self) -> set[str]:
        # The speaker field fetched the speaker already; the model's own foreign
        # key check would ask the database a second time.
        excluded = super()._get_validation_exclusions()  # type: ignore[misc]  # a private hook, not in django-stubs
        return excluded | {"speaker"}

    def _post_clean(self) -> None:
        if "speaker" in self.changed_data:
            # The old role belongs to the old speaker; the view looks up the new one's.
            self.instance.speaker_role = None
        super()._post_clean()  # type: ignore[misc]  # a private hook, not in django-stubs
        # Spans other than the quote's: a cleared cue or mention clears its offsets.
        for prefix in ("mention", "cue"):
            if not getattr(self.instance, f"{prefix}_text"):
                setattr(self.instance, f"{prefix}_start", None)
                setattr(self.instance, f"{prefix}_end", None)


class ReadOnceChoiceField(forms.ModelChoiceField):
    """A ModelChoiceField that finds the chosen row among rows its formset read
    once for all its rows (``rows``: id → row or None), instead of a query per
    row; a value not among them is looked up as usual, so it is refused as before."""

    rows: Callable[[int], Any] | None = None

    def to_python(self, value: Any) -> Any:
        if self.rows is not None and isinstance(value, str) and value.isascii() and value.isdigit():
            found = self.rows(int(value))
            if found is not None:
                return found
        return super().to_python(value)


class StanceForm(forms.ModelForm):
    # The target the page suggested for a new quote's row: left so, without a label,
    # the row is no stance (``has_changed``), with or without the page's script.
    suggested = forms.CharField(required=False, widget=forms.HiddenInput, max_length=20)

    class Meta:
        model = Stance
        fields = ["target", "label", "intensity", "note"]
        field_classes = {"target": ReadOnceChoiceField, "label": ReadOnceChoiceField}
        widgets = {
            "label": forms.RadioSelect,
            "intensity": forms.Select(choices=[("", "—"), (1, "1 hedged"), (2, "2 explicit"), (3, "3 categorical")]),
            "note": forms.TextInput,
        }
        error_messages = {
            # A row an analyst added and labelled but gave no target: say which field, and the way out.
            "target": {"required": "Choose a target for this stance, or remove the row."},
            "label": {"required": "Choose a label for this stance."},
        }

    def __init__(
        self,
        *args: Any,
        target_choices: Callable[[], list[Any]] | None = None,
        label_choices: Callable[[], list[Any]] | None = None,
        rows: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        # Meta.field_classes made both foreign keys ReadOnceChoiceFields.
        target = cast(ReadOnceChoiceField, self.fields["target"])
        label = cast(ReadOnceChoiceField, self.fields["label"])
        if rows is not None:  # a bound formset's targets and labels, read once
            target.rows = rows["target"].get
            label.rows = rows["label"].get
        # Choices shared by every row of the formset, read only when a row is rendered.
        if target_choices is not None:
            target.choices = target_choices
        if label_choices is not None:
            label.choices = label_choices
        label.empty_label = None
        target.widget.attrs["class"] = "target-select"

    def has_changed(self) -> bool:
        """A new row still on its suggested target and given no label is no change, so
        the formset skips it as an empty extra row: a suggestion nobody labelled is not saved."""
        if self.is_bound and self.instance.pk is None:
            suggested = self.data.get(self.add_prefix("suggested"))
            target = self.data.get(self.add_prefix("target"))
            if suggested and suggested == target and not self.data.get(self.add_prefix("label")):
                return False
        return super().has_changed()

    def validate_constraints(self) -> None:
        """The formset checks one stance per target, and the fields check intensity
        and confidence; asking the database the same again costs a query each."""

    def _get_validation_exclusions(self) -> set[str]:
        # The form's fields fetched the target and the label already.
        excluded = super()._get_validation_exclusions()  # type: ignore[misc]  # a private hook, not in django-stubs
        return excluded | {"target", "label"}


class BaseStanceFormSet(forms.BaseInlineFormSet):
    def __init__(self, *args: Any, labels: list[StanceLabel] | None = None, **kwargs: Any) -> None:
        # Callables: a saved POST renders no stance row, so it reads neither list.
        # ``labels``: the stance labels the page has read already (its legend and keys).
        self.target_choices = functools.cache(target_choices)
        self.label_choices = functools.cache(
            label_choices if labels is None else lambda: [(label.pk, label.name) for label in labels]
        )
        super().__init__(*args, **kwargs)

    def get_form_kwargs(self, index: int | None) -> dict:
        kwargs = super().get_form_kwargs(index)
        kwargs["target_choices"] = self.target_choices
        kwargs["label_choices"] = self.label_choices
        if self.is_bound:
            kwargs["rows"] = self.rows_sent
        return kwargs

    @functools.cached_property
    def rows_sent(self) -> dict[str, dict[int, Any]]:
        """The targets and labels the posted rows name, two queries for all the rows
        (each row's select asked the database once per field)."""
        ids: dict[str, set[int]] = {"target": set(), "label": set()}
        for key, value in self.data.items():
            name = key.rsplit("-", 1)[-1]
            is_id = isinstance(value, str) and value.isascii() and value.isdigit() and int(value) < 2**63
            if key.startswith(f"{self.prefix}-") and name in ids and is_id:
                ids[name].add(int(value))  # anything else is left to the field, which refuses it
        return {
            "target": Target.objects.in_bulk(ids["target"]) if ids["target"] else {},
            "label": StanceLabel.objects.in_bulk(ids["label"]) if ids["label"] else {},
        }

    def add_fields(self, form: forms.ModelForm, index: int | None) -> None:
        super().add_fields(form, index)
        if form.is_bound:
            # The hidden stance id: found among this quote's stances, which the
            # formset reads once anyway, rather than a query per row.
            pk_name = Stance._meta.pk.name  # the hidden id field add_fields made (the formset's model)
            # BaseModelFormSet.add_fields made it a ModelChoiceField over the quote's stances.
            shown = cast(forms.ModelChoiceField, form.fields[pk_name])
            field = ReadOnceChoiceField(shown.queryset, initial=shown.initial, required=False, widget=shown.widget)
            field.rows = self._existing_object  # type: ignore[attr-defined]  # a private helper, not in django-stubs
            form.fields[pk_name] = field

    def clean(self) -> None:
        # A row that says it edits a stance (an initial row with an id) but whose id is
        # none of this quote's stances: another analyst's id sent by hand, or a stance
        # deleted meanwhile. Refused whole rather than silently dropped.
        for form in self.initial_forms:
            if form.instance.pk is None and form.data.get(form.add_prefix("id")):
                raise forms.ValidationError(
                    "A stance row refers to a stance this quote doesn't have (it may have been deleted "
                    "meanwhile). Reload the quote and make the change again.",
                    code="unknown_stance",
                )
        # Before the formset's own uniqueness check, whose message names no target.
        seen = set()
        for form in self.forms:
            if not form.cleaned_data or form.cleaned_data.get("DELETE"):
                continue
            target = form.cleaned_data.get("target")
            if target in seen:
                form.add_error("target", f"{target} has two stances: keep one per target.")
            seen.add(target)
        super().clean()

    def values(self) -> dict[int, StanceValues]:
        """The quote's stances after the rows are applied (target id → values), for
        ``Quote.annotate``, with the formset's own reading of the rows: a deleted or
        empty row asks for nothing, a stance the form carries no row for stays as
        it is, and a row whose id is not one of this quote's stances (another
        analyst's, sent by hand) is dropped, never created or written."""
        wanted: dict[int, StanceValues] = {}
        carried = {form.instance.pk for form in self.initial_forms if form.instance.pk is not None}
        for stance in self.get_queryset():  # already read to build the rows: no query
            if stance.pk not in carried:
                wanted[stance.target_id] = StanceValues.of(stance)
        initial = set(self.initial_forms)
        for form in self.forms:
            if form in initial and form.instance.pk is None:
                continue
            data = form.cleaned_data
            if not data or data.get("DELETE") or data.get("target") is None:
                continue
            target_id = data["target"].pk
            # The page doesn't show confidence: a row kept on its target keeps the one it had.
            kept = form.instance.pk is not None and form.initial.get("target") == target_id
            wanted[target_id] = StanceValues(
                label_id=data["label"].pk,
                intensity=data.get("intensity"),
                confidence=form.instance.confidence if kept else None,
                note=data.get("note") or "",
            )
        return wanted


# extra=1 is for the page without JavaScript, which can't add a row; with JavaScript the
# script drops that blank row (data-blank) before anyone sees it: a blank row nobody asked
# for caught label keys and then refused the save ("This field is required") where the
# analyst wasn't looking. "Add a stance" adds rows.
# absolute_max: a posted TOTAL_FORMS of 10**20 would otherwise build 1,030 forms
# (Django's default ceiling) and take seconds; past 30 the formset refuses.
StanceFormSet = forms.inlineformset_factory(
    Quote, Stance, form=StanceForm, formset=BaseStanceFormSet, extra=1, can_delete=True, max_num=30, absolute_max=30
)


def target_paths(targets: dict[int, Target] | None = None) -> dict[int, str]:
    """Each target's path in the hierarchy ("Iran nuclear issue › Return to the
    JCPOA"), a proposed one marked as such; one query when not given the targets."""
    if targets is None:
        targets = {target.pk: target for target in Target.objects.order_by("name")}
    paths = {}
    for target in targets.values():
        path = [target.name]
        ancestor, seen = targets.get(target.parent_id) if target.parent_id else None, {target.pk}
        while ancestor is not None and ancestor.pk not in seen:  # the model refuses cycles; never loop anyway
            path.insert(0, ancestor.name)
            seen.add(ancestor.pk)
            ancestor = targets.get(ancestor.parent_id) if ancestor.parent_id else None
        paths[target.pk] = " › ".join(path) + (" (proposed)" if target.is_proposed else "")
    return paths


def target_choices() -> list:
    """Targets grouped under their top-level topic, each named by its path: the
    page's target combobox searches names and paths alike."""
    targets = {target.pk: target for target in Target.objects.order_by("name")}
    groups: dict[str, list] = {}
    for pk, path in target_paths(targets).items():
        groups.setdefault(path.split(" › ")[0], []).append((pk, path))
    # A topic before its children, the children by path.
    return [
        ("", "Choose a target…"),
        *((topic, sorted(group, key=lambda choice: choice[1])) for topic, group in groups.items()),
    ]


def label_choices() -> list:
    return [(label.pk, label.name) for label in StanceLabel.objects.all()]


class SpeakerNameForm(forms.ModelForm):
    """A speaker's name and country, cleaned alike by the new-speaker and the edit forms
    (the form field has stripped the country already)."""

    def clean_name(self) -> str:
        name = " ".join(self.cleaned_data["name"].split())
        if not name:
            raise forms.ValidationError("Give the speaker a name.")
        return name

    def clean_country(self) -> str:
        return self.cleaned_data["country"].upper()


class SpeakerForm(SpeakerNameForm):
    """A new speaker from the annotate page, with the role they hold."""

    aliases = forms.CharField(
        required=False,
        max_length=2000,
        label="Aliases",
        help_text="Other names the texts use for them, one per line or separated by semicolons.",
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    role_title = forms.CharField(required=False, max_length=200, label="Role")
    role_organisation = forms.CharField(required=False, max_length=200, label="Organisation")
    role_start = forms.DateField(required=False, label="Since", widget=forms.DateInput(attrs={"type": "date"}))
    role_end = forms.DateField(required=False, label="Until", widget=forms.DateInput(attrs={"type": "date"}))

    class Meta:
        model = Speaker
        fields = ["name", "kind", "country"]

    def clean_aliases(self) -> list[str]:
        aliases: list[str] = []
        for alias in re.split(r"[;\n]", self.cleaned_data.get("aliases") or ""):
            alias = " ".join(alias.split())
            if len(alias) > 200:
                raise forms.ValidationError("An alias is at most 200 characters long.")
            if alias and alias not in aliases and alias != self.cleaned_data.get("name"):
                aliases.append(alias)
        return aliases

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        start, end = data.get("role_start"), data.get("role_end")
        if start and end and end < start:
            self.add_error("role_end", "A role can't end before it starts.")
        if (start or end or data.get("role_organisation")) and not data.get("role_title"):
            self.add_error("role_title", "Give the role a title, or leave its other fields empty.")
        return data

    def save(self, commit: bool = True) -> Speaker:
        speaker = super().save(commit=commit)
        if commit:
            SpeakerAlias.objects.bulk_create(
                [SpeakerAlias(speaker=speaker, name=alias) for alias in self.cleaned_data.get("aliases", [])]
            )
        if commit and self.cleaned_data.get("role_title"):
            SpeakerRole.objects.create(
                speaker=speaker,
                title=self.cleaned_data["role_title"],
                organisation=self.cleaned_data.get("role_organisation", ""),
                country=speaker.country,
                start_date=self.cleaned_data.get("role_start"),
                end_date=self.cleaned_data.get("role_end"),
            )
        return speaker


class SpeakerEditForm(SpeakerNameForm):
    """A reviewer's correction of a speaker on their page."""

    class Meta:
        model = Speaker
        fields = ["name", "kind", "country", "wikidata_qid"]

    def clean_wikidata_qid(self) -> str:
        qid = self.cleaned_data["wikidata_qid"].strip().upper()
        other = Speaker.objects.exclude(pk=self.instance.pk).filter(wikidata_qid=qid).first() if qid else None
        if other is not None:
            raise forms.ValidationError(
                "“%(name)s” (speaker %(pk)s) already has %(qid)s: if they are the same person, merge them instead.",
                code="qid_taken",
                params={"name": other.name, "pk": other.pk, "qid": qid},
            )
        return qid

    def validate_constraints(self, exclude: Any = None) -> None:
        """The QID's uniqueness is checked above with a message a person can act on."""


class SpeakerAliasForm(forms.ModelForm):
    class Meta:
        model = SpeakerAlias
        fields = ["name"]
        labels = {"name": "New alias"}

    def __init__(self, *args: Any, speaker: Speaker, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.speaker = speaker

    def clean_name(self) -> str:
        name = " ".join(self.cleaned_data["name"].split())
        if not name:
            raise forms.ValidationError("Type the other name.")
        if name == self.speaker.name or self.speaker.aliases.filter(name=name).exists():
            raise forms.ValidationError("“%(name)s” is already one of their names.", params={"name": name})
        return name

    def save(self, commit: bool = True) -> SpeakerAlias:
        self.instance.speaker = self.speaker
        return super().save(commit=commit)


class SpeakerRoleForm(forms.ModelForm):
    class Meta:
        model = SpeakerRole
        fields = ["title", "organisation", "country", "start_date", "end_date"]
        labels = {"start_date": "Since", "end_date": "Until"}
        widgets = {
            "start_date": forms.DateInput(attrs={"type": "date"}),
            "end_date": forms.DateInput(attrs={"type": "date"}),
        }

    def __init__(self, *args: Any, speaker: Speaker, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.speaker = speaker
        self.instance.speaker = speaker

    def clean_title(self) -> str:
        title = " ".join(self.cleaned_data["title"].split())
        if not title:
            raise forms.ValidationError("Give the role a title.")
        return title

    def clean_country(self) -> str:
        return self.cleaned_data["country"].strip().upper()


class SpeakerMergeForm(forms.Form):
    """Which speaker to merge into this one: the duplicate's number (on its page and in the list)."""

    duplicate = forms.IntegerField(
        label="Duplicate speaker's number",
        min_value=1,
        max_value=2**63 - 1,
        help_text="The number shown on the duplicate's page (“Speaker #12”) and beside it in the speakers list.",
        error_messages={"required": "Give the number of the duplicate speaker."},
    )

    def __init__(self, *args: Any, kept: Speaker, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.kept = kept

    def clean_duplicate(self) -> Speaker:
        pk = self.cleaned_data["duplicate"]
        duplicate = Speaker.objects.filter(pk=pk).first()
        if duplicate is None:
            raise forms.ValidationError("There is no speaker %(pk)s.", params={"pk": pk})
        if duplicate.pk == self.kept.pk:
            raise forms.ValidationError("A speaker can't be merged into itself: give the duplicate's number.")
        return duplicate


class TargetForm(forms.ModelForm):
    class Meta:
        model = Target
        fields = ["name", "slug", "parent", "description"]
        widgets = {"description": forms.Textarea(attrs={"rows": 2})}


class TargetParentField(forms.ModelChoiceField):
    """An accepted target, each named by its path. The choices come as a list
    (``parent_choices()``, one query), so that a page of forms reads them once."""

    def __init__(self, *, choices: list[tuple[Any, str]] | None = None, **kwargs: Any) -> None:
        super().__init__(
            queryset=Target.objects.accepted(),
            error_messages={
                "required": "Choose where the new target goes: the target it is a part of.",
                "invalid_choice": "That parent is not in the taxonomy (any more): choose another.",
            },
            **kwargs,
        )
        if choices is not None:
            self.choices = choices


def parent_choices() -> list[tuple[Any, str]]:
    """The accepted targets by path, after a blank choice."""
    targets = {target.pk: target for target in Target.objects.order_by("name")}
    paths = target_paths(targets)
    accepted = sorted((paths[pk], pk) for pk, target in targets.items() if not target.is_proposed)
    return [("", "Choose…"), *((pk, path) for path, pk in accepted)]


class TargetProposalForm(forms.Form):
    """An analyst's new target, from the stance combobox: name and parent, the
    rest left to the reviewer who accepts it."""

    name = forms.CharField(
        max_length=200,
        help_text="A proposition, so that support and oppose read plainly (“Iran acquiring nuclear weapons”).",
        error_messages={"required": "Name the target."},
    )
    parent = TargetParentField(help_text="The broader target it belongs under.")
    description = forms.CharField(
        max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 2}), help_text="Optional: what it covers."
    )

    def __init__(self, *args: Any, parents: list[tuple[Any, str]] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(TargetParentField, self.fields["parent"]).choices = parents if parents is not None else parent_choices()

    def clean_name(self) -> str:
        name = " ".join(self.cleaned_data["name"].split())
        if not any(character.isalnum() for character in name):
            raise ValidationError("Use at least one letter or digit in the name.")
        return name

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        name, parent = data.get("name"), data.get("parent")
        if name and parent:
            same = Target.objects.filter(parent=parent, name__iexact=name).first()
            if same is not None:
                state = " (proposed)" if same.is_proposed else ""
                raise ValidationError(f"“{same}”{state} is already under “{parent}”: pick it in the target box.")
        return data


class TargetAcceptForm(forms.Form):
    """A reviewer's decision on a proposal: accept it (renamed or moved), or merge
    it into the accepted target that says the same."""

    name = forms.CharField(max_length=200, error_messages={"required": "Name the target."})
    parent = TargetParentField(required=False, help_text="Empty: a topic of its own, at the top.")

    def __init__(self, *args: Any, parents: list[tuple[Any, str]] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(TargetParentField, self.fields["parent"]).choices = parents if parents is not None else parent_choices()


# --- Review pages ----------------------------------------------------------------


def analysts() -> Any:
    return User.objects.filter(groups__name=Role.ANALYST, is_active=True).order_by("username", "id")


class AssignForm(forms.Form):
    articles = forms.ModelMultipleChoiceField(
        queryset=Article.objects.filter(status=Article.Status.OPEN),
        error_messages={"required": "Pick at least one article."},
    )
    analysts = forms.ModelMultipleChoiceField(queryset=analysts(), required=False)
    per_article = forms.IntegerField(
        label="Analysts per article",
        min_value=1,
        max_value=10,
        required=False,
        help_text="Give each article this many analysts in all, choosing those with the fewest open assignments.",
    )

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        if not data.get("analysts") and not data.get("per_article") and not self.errors:
            raise forms.ValidationError("Pick analysts, or give a number of analysts per article.")
        return data


class QueueFilterForm(forms.Form):
    status = forms.ChoiceField(
        choices=[("", "All"), (Article.Status.OPEN, "Awaiting curation"), (Article.Status.CURATED, "Curated")],
        required=False,
    )


class SendBackForm(forms.Form):
    assignment = forms.ModelChoiceField(queryset=Assignment.objects.none())
    comment = forms.CharField(
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": "Say what the analyst should look at again."},
    )

    def __init__(self, *args: Any, article: Article, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Declared above as a ModelChoiceField.
        assignment = cast(forms.ModelChoiceField, self.fields["assignment"])
        assignment.queryset = article.assignments.filter(status=Assignment.Status.SUBMITTED)


class MissedQuoteForm(forms.Form):
    """A quote every annotator missed, added straight to the curated version."""

    exact = forms.CharField(
        label="Exact text",
        widget=forms.Textarea(attrs={"rows": 2}),
        strip=False,
        help_text="Paste the quote exactly as the article writes it.",
    )
    occurrence = forms.IntegerField(
        min_value=1, initial=1, help_text="Which appearance of that text, when it appears more than once."
    )
    speaker = forms.ModelChoiceField(queryset=Speaker.objects.all(), required=False, empty_label="Unattributed")
    kind = forms.ChoiceField(choices=Quote.Kind.choices, initial=Quote.Kind.DIRECT)

    def __init__(self, *args: Any, article: Article, curator: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.article = article
        self.curator = curator
        self.quote: Quote | None = None

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        if self.errors:
            return data
        try:
            span = find_occurrence(self.article.text, data["exact"], data["occurrence"])
        except ValidationError as error:
            raise forms.ValidationError(error.messages) from error
        quote = Quote(
            article=self.article,
            start=span.start,
            end=span.end,
            text=span.text_of(self.article.text),
            speaker=data["speaker"],
            kind=data["kind"],
            is_curated=True,
            annotator=self.curator,
        )
        quote.pick_role()
        try:
            quote.full_clean()
        except ValidationError as error:
            raise forms.ValidationError(error.messages) from error
        self.quote = quote
        return data

    def save(self) -> Quote:
        if self.quote is None:
            raise ValueError("save() needs a valid form.")
        self.quote.annotate(by=self.curator)
        return self.quote


class CuratedQuoteForm(ModelErrorsOnShownFields):
    """Edit a curated quote: its span, attribution, kind and stances.

    The span is given by offsets (code points, end exclusive); the text is read
    from the article and the whole quote re-validated by ``Quote.full_clean``.
    """

    version = forms.IntegerField(widget=forms.HiddenInput)
    # The speaker as the annotate page picks one: by active search (or, without the
    # script, a typed name or alias), the picked id in the hidden speaker field.
    speaker_query = forms.CharField(required=False, label="Speaker", max_length=200)
    # Where the target combobox searches for a target to add a stance toward; the
    # stance itself is its stance_<target> field. Never read.
    add_target = forms.ChoiceField(required=False, label="Add a stance toward", choices=target_choices)

    class Meta:
        model = Quote
        fields = ["start", "end", "speaker", "kind", "cue"]
        widgets = {"speaker": forms.HiddenInput}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["version"].initial = self.instance.version
        # Several editors can be open on one page: ids carry the quote's.
        self.fields["add_target"].widget.attrs.update(
            {"class": "target-select", "id": f"id_add_target_{self.instance.pk}"}
        )
        if self.instance.speaker_id:
            self.fields["speaker_query"].initial = self.instance.speaker.name
        # Quote.speaker is a foreign key, so the model form made it a ModelChoiceField.
        cast(forms.ModelChoiceField, self.fields["speaker"]).empty_label = "Unattributed"
        self.labels = list(StanceLabel.objects.all())
        self.current_stances = {stance.target_id: stance for stance in self.instance.stances.all()}
        choices = [("", "—"), *((label.pk, label.name) for label in self.labels)]
        self.stance_fields = []
        for target in Target.objects.all():
            name = f"stance_{target.pk}"
            self.fields[name] = forms.TypedChoiceField(
                label=target.name, choices=choices, coerce=int, empty_value=None, required=False
            )
            self.fields[name].initial = getattr(self.current_stances.get(target.pk), "label_id", None)
            self.stance_fields.append(name)

    def clean(self) -> dict[str, Any]:
        super().clean()
        resolve_typed_speaker(self, self.cleaned_data)
        return self.cleaned_data

    @property
    def stances_shown(self) -> list[forms.BoundField]:
        """The stance fields with a label (posted or saved): the editor's rows."""
        return [self[name] for name in self.stance_fields if self[name].value() not in (None, "")]

    @property
    def stances_other(self) -> list[forms.BoundField]:
        return [self[name] for name in self.stance_fields if self[name].value() in (None, "")]

    def _post_clean(self) -> None:
        start, end = self.cleaned_data.get("start"), self.cleaned_data.get("end")
        if start is not None and end is not None:
            self.instance.text = self.instance.article.text[start:end]
        picked = self.cleaned_data.get("speaker")
        if (picked.pk if picked is not None else None) != self.instance.speaker_id:
            # The old role belongs to the old speaker; save() looks up the new one's. (Compared
            # with the stored speaker, not the posted field: a name typed without the script
            # changes the speaker while the hidden field still holds the old one.)
            self.instance.speaker_role = None
        super()._post_clean()  # type: ignore[misc]  # a private hook, not in django-stubs

    def stance_values(self) -> dict[int, StanceValues]:
        """The stances chosen, target id → values; the form sets labels only, so a
        stance kept on its target keeps its intensity, confidence and note."""
        wanted = {}
        for name in self.stance_fields:
            label_id = self.cleaned_data.get(name)
            if label_id is None:
                continue
            target_id = int(name.removeprefix("stance_"))
            current = self.current_stances.get(target_id)
            if current is None:
                wanted[target_id] = StanceValues(label_id)
            else:
                wanted[target_id] = StanceValues(label_id, current.intensity, current.confidence, current.note)
        return wanted

    def save(self, commit: bool = True, *, by: Any = None) -> Quote:
        quote = self.instance
        quote.pick_role()
        quote.annotate(by=by, expected_version=self.cleaned_data["version"], stances=self.stance_values())
        return quote


class AgreementFilterForm(forms.Form):
    """The agreement report's filters: ``filters.AgreementFilter`` declares the fields."""

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        start, end = data.get("published_from"), data.get("published_to")
        if start and end and end < start:
            raise forms.ValidationError("The end date is before the start date.")
        return data


class CommentForm(forms.Form):
    body = forms.CharField(
        label="Comment",
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2, "maxlength": 2000}),
        error_messages={
            "required": "Write something before posting: the comment is empty.",
            "max_length": "Keep a comment under 2,000 characters (it has %(show_value)d).",
        },
    )


class GuidelinesForm(forms.Form):
    """The next version of the guidelines: the whole text, and a line on what changed."""

    body = forms.CharField(
        label="Guidelines (Markdown)",
        widget=forms.Textarea(attrs={"rows": 24}),
        max_length=100_000,
        help_text="Markdown: headings (#), lists (-), **bold**, _italics_, [links](https://…). HTML is shown as text.",
    )
    note = forms.CharField(
        label="What changed",
        max_length=200,
        help_text='One line for the version list, such as "Indirect quotes: the cue verb is part of the span".',
    )
