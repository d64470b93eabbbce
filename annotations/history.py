"""A quote's history as the history page reads it: who changed which field, from what to what.

django-simple-history stores ids in foreign-key columns; the entries name them.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model

from .models import Quote, Speaker, SpeakerRole, StanceLabel, Target

User = get_user_model()


@dataclass
class HistoryEntry:
    when: datetime.datetime
    who: Any
    what: str  # "Created", "Changed", "Deleted"
    subject: str  # "quote" or "stance on <target>"
    changes: list[tuple[str, str, str]]  # (field, old, new)


QUOTE_FIELDS_SHOWN = ["start", "end", "text", "kind", "speaker", "speaker_role", "cue", "mention_text", "cue_text"]
QUOTE_FIELDS_SHOWN += ["addressee", "attribution_group", "parent", "annotator", "is_curated"]
ACTIONS = {"+": "Created", "~": "Changed", "-": "Deleted"}


def history_entries(records: list[Any], stance_records: list[Any]) -> list[HistoryEntry]:
    """The entries of a quote's history and its stances' histories, oldest first.

    ``records`` and ``stance_records`` are in history order. Diffs pair each record
    with the one before it in these lists (the same pairing as ``record.prev_record``,
    without a query per record).
    """
    names = _history_names(records, stance_records)

    def shown(field_name: str, value: Any) -> str:
        if value in (None, ""):
            return "—"
        lookup = names.get(field_name)
        return str(lookup.get(value, f"#{value}")) if lookup is not None else str(value)

    entries: list[HistoryEntry] = []
    previous = None
    for record in records:
        entries.append(
            HistoryEntry(
                record.history_date,
                record.history_user,
                ACTIONS[record.history_type],
                "quote",
                _changes(record, previous, QUOTE_FIELDS_SHOWN, shown),
            )
        )
        previous = record
    last_of_stance: dict[int, Any] = {}
    for record in stance_records:
        before = last_of_stance.get(record.id)
        entries.append(
            HistoryEntry(
                record.history_date,
                record.history_user,
                ACTIONS[record.history_type],
                f"stance on {names['target'].get(record.target_id, 'a target')}",
                _changes(record, before, ["label", "intensity", "confidence", "note"], shown),
            )
        )
        last_of_stance[record.id] = record
    entries.sort(key=lambda entry: entry.when)
    return entries


def _changes(record: Any, previous: Any, fields: list[str], shown: Callable[[str, Any], str]) -> list[tuple]:
    if record.history_type == "-":
        return []
    if previous is None or record.history_type == "+":
        return [
            (_label(record, name), "", shown(name, _value(record, name)))
            for name in fields
            if _value(record, name) not in (None, "", False)
        ]
    delta = record.diff_against(previous, included_fields=fields)
    return [
        (_label(record, change.field), shown(change.field, change.old), shown(change.field, change.new))
        for change in delta.changes
    ]


def _value(record: Any, name: str) -> Any:
    field_ = record._meta.get_field(name)
    return getattr(record, field_.attname)


def _label(record: Any, name: str) -> str:
    return str(record.instance_type._meta.get_field(name).verbose_name).capitalize()


def _history_names(records: list[Any], stance_records: list[Any]) -> dict[str, dict[Any, str]]:
    """Names for the ids history stores in foreign-key columns, read in one query per model."""
    speaker_ids = {r.speaker_id for r in records} | {r.addressee_id for r in records}
    role_ids = {r.speaker_role_id for r in records}
    user_ids = {r.annotator_id for r in records}
    speakers = dict(Speaker.objects.filter(pk__in=speaker_ids - {None}).values_list("pk", "name"))
    roles = {role.pk: str(role) for role in SpeakerRole.objects.filter(pk__in=role_ids - {None})}
    users = dict(User.objects.filter(pk__in=user_ids - {None}).values_list("pk", "username"))
    targets = dict(Target.objects.filter(pk__in={r.target_id for r in stance_records}).values_list("pk", "name"))
    labels = dict(StanceLabel.objects.filter(pk__in={r.label_id for r in stance_records}).values_list("pk", "name"))
    return {
        "speaker": speakers,
        "addressee": speakers,
        "speaker_role": roles,
        "annotator": users,
        "target": targets,
        "label": labels,
        "kind": dict(Quote.Kind.choices),
        "parent": {},
    }
