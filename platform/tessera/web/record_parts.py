"""The parts of a record page as data: its header, details, related lists, activity timeline,
field history, plugin panels and actions. Each reads through the user's unit of work, so the
record service's permissions decide what is there; the templates only lay the parts out.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from flask import render_template
from markupsafe import Markup
from werkzeug.datastructures import MultiDict

from flask_babel import gettext as _
from tessera.metadata.filters import Condition, QueryError
from tessera.metadata.model import FieldDef, ObjectDef, RelationDef
from tessera.records.actions import ActionDef
from tessera.plugins import PluginHookError
from tessera.records.preview import FieldState
from tessera.web.display import USER_FIELDS, Ref, format_value, user_refs

from .form_model import Section, build_sections, layout_sections
from .screen import Screen, list_url, lookup_pairs, record_names, record_title

log = logging.getLogger(__name__)

#: fields the header shows besides the record's name
HEADER_FIELDS = 4
#: rows a related list shows (the rest are one link away)
RELATED_ROWS = 5
#: activities and history entries a record page shows
TIMELINE_ITEMS = 10
HISTORY_ENTRIES = 30
#: the L2C object whose records form a record's activity timeline
ACTIVITY = "activity"
ACTIVITY_FIELDS = ("subject", "activity_type", "status", "start_at", "summary", "outcome", "next_step", "owner_id")


@dataclass
class Fact:
    label: str
    value: Markup | str


@dataclass
class RelatedList:
    relation: RelationDef
    label: str
    url: str
    new_url: str | None
    fragment_url: str
    headers: list[str] = field(default_factory=list)
    rows: list[list[Markup | str]] = field(default_factory=list)
    count: Any = None
    loaded: bool = True


@dataclass
class TimelineItem:
    url: str
    subject: str
    facts: list[Fact]
    summary: str | None
    when: Markup | str


@dataclass
class Timeline:
    label: str
    items: list[TimelineItem]
    url: str
    new_url: str | None


@dataclass
class HistoryEntry:
    at: Markup | str
    who: Markup | str
    action: str
    changes: list[tuple[str, Markup | str, Markup | str]]


@dataclass
class ActionInput:
    name: str
    label: str
    kind: str          # text, number, boolean, choice, date
    required: bool
    options: list[str] = field(default_factory=list)
    max_length: int | None = None
    value: Any = ""
    errors: list[str] = field(default_factory=list)


@dataclass
class ActionButton:
    name: str
    label: str
    description: str
    inputs: list[ActionInput]


@dataclass
class Panel:
    name: str
    title: str
    html: Markup


@dataclass
class RecordView:
    """Everything a record page shows."""

    object: ObjectDef
    record: dict[str, Any]
    title: str
    deleted: bool
    allowed: frozenset[str]
    facts: list[Fact]
    sections: list[Section]
    system: list[Fact]
    actions: list[ActionButton]
    related: list[RelatedList]
    timeline: Timeline | None
    history: list[HistoryEntry]
    history_more: int
    panels: list[Panel]
    approval: Any = None  # web.approvals.ApprovalPanel, for objects with an approval process


def load_record(scr: Screen, work: Any, obj: ObjectDef, ident: int) -> RecordView:
    """The record page of record ``ident`` (a record in the recycle bin shows too, to restore)."""
    allowed = work.permitted(obj.name, ident)
    deleted = not allowed
    if deleted:
        allowed = work.permitted(obj.name, ident, include_deleted=True)
    record = work.get(obj.name, ident, include_deleted=deleted)  # RecordNotFound when not theirs
    states = work.field_states(obj.name, ident, include_deleted=deleted)
    names = record_names(work, lookup_pairs(obj, record, obj.fields))
    shown = with_refs(obj, record, names, scr.actor.org)
    sections, _placed = build_sections(scr, obj, shown, states, labels=names, read_only=True)
    title = record_title(scr, work, obj, shown)
    from .approvals import approval_panel

    return RecordView(
        obj, record, title, deleted, allowed, header_facts(scr, obj, shown, states), sections,
        system_facts(scr, obj, shown), action_buttons(scr, obj, allowed) if not deleted else [],
        related_lists(scr, work, obj, ident) if not deleted else [],
        timeline(scr, work, obj, ident) if not deleted else None,
        *history(scr, work, obj, ident), panels(scr, obj, record),
        approval_panel(scr, work, obj, record, allowed) if not deleted else None)


def with_refs(obj: ObjectDef, record: Mapping[str, Any], names: Mapping[tuple[str, int], str],
               org: str) -> dict[str, Any]:
    """The record with lookups as named references and user ids as user names."""
    shown = dict(record)
    users = None
    for name, value in record.items():
        candidate = obj.fields.get(name)
        if candidate is None or not isinstance(value, int) or isinstance(value, bool):
            continue
        if candidate.system and name in USER_FIELDS:
            users = users if users is not None else user_refs(org)
            shown[name] = users.get(value) or Ref(value, None)
        elif candidate.target and not candidate.system:
            shown[name] = Ref(value, names.get((candidate.target, value)), candidate.target)
    return shown


def header_facts(scr: Screen, obj: ObjectDef, record: Mapping[str, Any], states: Mapping[str, FieldState]
                 ) -> list[Fact]:
    """The first fields of the form layout (row by row across its first section's columns)."""
    sections = layout_sections(obj)
    if not sections:
        return []
    columns = sections[0].columns
    ordered = [column[row] for row in range(max(map(len, columns), default=0)) for column in columns if row < len(column)]
    facts = []
    for name in ordered:
        candidate = obj.fields.get(name)
        state = states.get(name)
        if name == obj.name_field or candidate is None or state is None or not state.visible:
            continue
        facts.append(Fact(candidate.label(scr.locale), _show(scr, candidate, record.get(name), record)))
        if len(facts) >= HEADER_FIELDS:
            break
    return facts


def system_facts(scr: Screen, obj: ObjectDef, record: Mapping[str, Any]) -> list[Fact]:
    found = []
    for name in ("owner_id", "created_by", "created_at", "updated_by", "updated_at"):
        candidate = obj.fields.get(name)
        if candidate is not None and record.get(name) is not None:
            found.append(Fact(candidate.label(scr.locale), _show(scr, candidate, record.get(name), record)))
    return found


def _show(scr: Screen, candidate: FieldDef, value: Any, record: Mapping[str, Any] | None = None) -> Markup | str:
    return format_value(candidate, value, scr.locale, record=record, tz=scr.tz) or "—"


# ------------------------------------------------------------------------------ related records

def related_relations(scr: Screen, work: Any, obj: ObjectDef) -> list[RelationDef]:
    """The related lists the user may read (the activity timeline is shown apart)."""
    found = []
    for relation in obj.relations:
        if relation.object == ACTIVITY and relation.object in scr.registry.objects:
            continue
        child = scr.registry.objects.get(relation.object)
        if child is None or not child.active or relation.field in work.access.hidden(relation.object):
            continue
        if "read" in work.permitted(relation.object):
            found.append(relation)
    return found


def related_lists(scr: Screen, work: Any, obj: ObjectDef, ident: int) -> list[RelatedList]:
    """Master-detail lists are read with the page; lookup lists load when scrolled to."""
    return [related_list(scr, work, obj, ident, relation, load=relation.master_detail)
            for relation in related_relations(scr, work, obj)]


def related_list(scr: Screen, work: Any, obj: ObjectDef, ident: int, relation: RelationDef, *,
                 load: bool = True) -> RelatedList:
    """The first rows of one related list, with its count and the link to all of them."""
    from .listing import load_list
    from .lists import cells

    child = scr.registry.object(relation.object)
    allowed = work.permitted(child.name)
    new_url = f"/o/{child.name}/new?{relation.field}={ident}" if "create" in allowed else None
    shown = RelatedList(relation, _relation_label(scr, obj, relation),
                        list_url(child.name, **{relation.field: ident}, view="all"), new_url,
                        f"/o/{obj.name}/{ident}/related/{relation.name}", loaded=load)
    if not load:
        return shown
    result = load_list(work, child, MultiDict([("view", "all"), (relation.field, str(ident))]), scr.locale,
                       limit=RELATED_ROWS)
    result.columns = [c for c in result.columns if c.path.split(".")[0] != relation.field]  # the record itself
    shown.headers = [column.label for column in result.columns]
    shown.rows = cells(result, scr.locale)
    shown.count = result.count
    return shown


def _relation_label(scr: Screen, obj: ObjectDef, relation: RelationDef) -> str:
    """The children's plural name, and the lookup's when it does not just name this object
    ("Contacts" of an account; "Accounts (Source lead)" of a lead)."""
    child = scr.registry.object(relation.object)
    label = child.plural_label(scr.locale)
    link = child.fields[relation.field].label(scr.locale)
    return label if link == obj.label(scr.locale) else f"{label} ({link})"


def timeline(scr: Screen, work: Any, obj: ObjectDef, ident: int) -> Timeline | None:
    """The activities linked to this record, newest first, when the org has activities."""
    relation = next((r for r in obj.relations if r.object == ACTIVITY), None)
    if relation is None or "read" not in work.permitted(ACTIVITY):
        return None
    activity = scr.registry.object(ACTIVITY)
    hidden = work.access.hidden(ACTIVITY)
    fields = [name for name in ACTIVITY_FIELDS if name in activity.fields and name not in hidden]
    sort = ("-start_at",) if "start_at" in fields else ()
    try:
        page = work.query(ACTIVITY, filter=Condition((relation.field,), "eq", ident), fields=fields,
                          sort=sort, limit=TIMELINE_ITEMS)
    except QueryError:
        return None
    users = user_refs(scr.actor.org)
    items = []
    for row in page.rows:
        facts = []
        for name in ("activity_type", "status", "outcome", "next_step", "owner_id"):
            if name in fields and row.get(name) not in (None, ""):
                value = users.get(row[name]) or Ref(row[name], None) if name == "owner_id" else row[name]
                facts.append(Fact(activity.fields[name].label(scr.locale), _show(scr, activity.fields[name], value)))
        when = _show(scr, activity.fields["start_at"], row.get("start_at")) if "start_at" in fields else ""
        items.append(TimelineItem(f"/o/{ACTIVITY}/{row['id']}", str(row.get(activity.name_field) or f"#{row['id']}"),
                                  facts, row.get("summary"), when))
    new_url = f"/o/{ACTIVITY}/new?{relation.field}={ident}" if "create" in work.permitted(ACTIVITY) else None
    return Timeline(activity.plural_label(scr.locale), items, list_url(ACTIVITY, **{relation.field: ident}, view="all"),
                    new_url)


# ------------------------------------------------------------------------------ history

def history(scr: Screen, work: Any, obj: ObjectDef, ident: int) -> tuple[list[HistoryEntry], int]:
    """Who changed what, old -> new, newest first; and how many older entries are not shown."""
    recorded = work.history(obj.name, ident)
    more = max(0, len(recorded) - HISTORY_ENTRIES)
    entries = list(reversed(recorded))[:HISTORY_ENTRIES]
    users = user_refs(scr.actor.org)
    names = record_names(work, {(obj.fields[name].target, value) for entry in entries
                                for name, pair in (entry.get("changes") or {}).items()
                                if name in obj.fields and obj.fields[name].target and not obj.fields[name].system
                                for value in pair if isinstance(value, int)})
    at_field = obj.fields["updated_at"]
    shown = []
    for entry in entries:
        changes = []
        for name, pair in (entry.get("changes") or {}).items():
            candidate = obj.fields.get(name)
            if candidate is None or not isinstance(pair, list | tuple) or len(pair) != 2:
                continue
            old, new = (_show(scr, candidate, _from_history(candidate, v, users, names)) for v in pair)
            changes.append((candidate.label(scr.locale), old, new))
        who = users.get(entry.get("actor")) if entry.get("actor") is not None else None
        actor = who.name if who is not None else _("System")
        shown.append(HistoryEntry(_show(scr, at_field, entry.get("at")), actor or "",
                                  _action_label(entry.get("action")), changes))
    return shown, more


def _from_history(candidate: FieldDef, value: Any, users: Mapping[int, Ref],
                  names: Mapping[tuple[str, int], str]) -> Any:
    """A value as history keeps it (JSON: decimals and dates as text) in its field's type;
    lookups and users by name."""
    if value is None:
        return None
    if candidate.system and candidate.name in USER_FIELDS and isinstance(value, int):
        return users.get(value) or Ref(value, None)
    if candidate.target and isinstance(value, int):
        return Ref(value, names.get((candidate.target, value)), candidate.target)
    kind = candidate.result or candidate.type
    if kind in ("decimal", "currency", "percent") and isinstance(value, str):
        try:
            return Decimal(value)
        except InvalidOperation:
            return value
    if kind == "datetime" and isinstance(value, str):
        return dt.datetime.fromisoformat(value)
    return value


def _action_label(action: Any) -> str:
    if action == "create":
        return _("Created")
    if action == "delete":
        return _("Deleted")
    if action == "restore":
        return _("Restored")
    return _("Changed")


# ------------------------------------------------------------------------------ plugins

def panels(scr: Screen, obj: ObjectDef, record: Mapping[str, Any]) -> list[Panel]:
    """Plugin panels (``tessera_record_panels``), each rendered from its own template."""
    if not scr.plugins.has_implementations("tessera_record_panels"):
        return []
    try:
        answers = scr.plugins.call("tessera_record_panels", object=obj, record=record, actor=scr.actor,
                                   org=scr.actor.org)
    except PluginHookError:  # a broken plugin costs its panels, not the page
        log.exception("record panels failed for %s %s", obj.name, record.get("id"))
        return []
    found = []
    for answer in answers:
        for panel in ([answer] if not isinstance(answer, list | tuple) else answer):
            if panel is not None:
                found.append(panel)
    found.sort(key=lambda p: (p.order, p.name))
    shown = []
    for panel in found:
        try:
            html = Markup(render_template(panel.template, **dict(panel.context)))
        except Exception:  # noqa: BLE001 - a panel whose template fails is left out, and logged
            log.exception("record panel %s failed to render", panel.name)
            continue
        shown.append(Panel(panel.name, panel.title.get(scr.locale) or panel.title.get("en", panel.name), html))
    return shown


def action_buttons(scr: Screen, obj: ObjectDef, allowed: frozenset[str]) -> list[ActionButton]:
    """The plugin actions of this object the user has the record permission for."""
    return [ActionButton(a.name, a.label.get(scr.locale) or a.label["en"], a.description, action_inputs(a, scr.locale))
            for a in scr.service.actions.for_object(obj.name) if a.permission in allowed]


def action_inputs(action: ActionDef, locale: str, values: Mapping[str, Any] | None = None,
                  errors: Mapping[str, Sequence[str]] | None = None) -> list[ActionInput]:
    """An input per property of the action's input schema."""
    schema = action.input_schema or {}
    required = set(schema.get("required") or ())
    inputs = []
    for name, spec in (schema.get("properties") or {}).items():
        spec = spec if isinstance(spec, Mapping) else {}
        kind = _input_kind(spec)
        label = _input_label(spec, name, locale)
        inputs.append(ActionInput(name, str(label), kind, name in required,
                                  [str(o) for o in spec.get("enum", ())], spec.get("maxLength"),
                                  (values or {}).get(name, ""), list((errors or {}).get(name, ()))))
    return inputs


def _input_label(spec: Mapping[str, Any], name: str, locale: str) -> str:
    """A property's bilingual ``label`` (a keyword JSON Schema ignores), else its ``title``,
    else its name."""
    label = spec.get("label")
    if isinstance(label, Mapping):
        return str(label.get(locale) or label.get("en") or name)
    return str(spec.get("title") or name.replace("_", " ").capitalize())


def _input_kind(spec: Mapping[str, Any]) -> str:
    if "enum" in spec:
        return "choice"
    kind = spec.get("type")
    if kind in ("integer", "number"):
        return "number"
    if kind == "boolean":
        return "boolean"
    if kind == "string" and spec.get("format") == "date":
        return "date"
    return "text"


def action_data(action: ActionDef, form: MultiDict) -> dict[str, Any]:
    """A posted action form as the action's JSON input: numbers as numbers, ticked boxes as
    true; blank inputs are left out (the schema says whether they were required)."""
    data: dict[str, Any] = {}
    for item in action_inputs(action, "en"):
        text = form.get(item.name, "")
        if item.kind == "boolean":
            data[item.name] = item.name in form
        elif text.strip() == "":
            continue
        elif item.kind == "number":
            data[item.name] = _number(text)
        else:
            data[item.name] = text
    return data


def _number(text: str) -> Any:
    try:
        number = Decimal(text.strip())
    except InvalidOperation:
        return text  # the schema reports it as not a number
    return int(number) if number == number.to_integral_value() and "." not in text else number
