"""A record form as data: sections and columns from the form layout, a widget per field, line
grids for master-detail children, and the errors of a failed save placed next to their fields.

Everything shown comes from a :class:`~tessera.records.preview.Preview`: the record as the
engine would save it (defaults, formulas, roll-ups) and each field's visible/required/read-only
state, so the form never computes a formula or a condition itself. Posted forms are read back
with :func:`read_posted`, which hands the record service only what the user changed.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from markupsafe import Markup
from werkzeug.datastructures import MultiDict

from flask_babel import gettext as _
from tessera.metadata.model import FieldDef, ObjectDef, RelationDef, SectionDef
from tessera.records.preview import FieldState, Preview

from . import widgets
from .screen import Screen, lookup_pairs
from .widgets import Widget

#: master-detail children shown as a line grid when the record has at most this many
GRID_LIMIT = 200
#: columns a line grid shows at most
GRID_COLUMNS = 9
#: a line grid input's name: ``lines-e17-quantity`` (existing line 17), ``lines-n3fa2-product`` (new)
ROW_INPUT = re.compile(r"^(?P<relation>[a-z][a-z0-9_]*)-(?P<key>[en][0-9a-z]+)-(?P<field>[a-z_][a-z0-9_]*)$")


@dataclass
class Section:
    name: str
    label: str
    collapsed: bool
    columns: list[list[Widget]]


@dataclass
class GridRow:
    key: str
    id: int | None
    version: int | None
    cells: list[Widget]
    original: str
    errors: list[str] = field(default_factory=list)


@dataclass
class Grid:
    relation: RelationDef
    label: str
    object: ObjectDef
    columns: list[FieldDef]
    rows: list[GridRow]
    can_add: bool
    can_remove: bool
    errors: list[str] = field(default_factory=list)


@dataclass
class ConflictField:
    label: str
    theirs: Markup | str
    yours: Any


@dataclass
class Conflict:
    """Someone saved the record since the user opened it."""

    fields: list[ConflictField]
    current_version: int
    message: str


@dataclass
class FormModel:
    object: ObjectDef
    record_id: int | None
    version: int | None
    sections: list[Section]
    grids: list[Grid]
    errors: list[str]
    original: str
    view: str
    conflict: Conflict | None = None

    @property
    def has_field_errors(self) -> bool:
        return any(w.errors for w in all_widgets(self)) or any(row.errors for g in self.grids for row in g.rows)


@dataclass
class PostedRow:
    key: str
    id: int | None
    version: int | None
    texts: dict[str, Any]
    original: dict[str, Any]


@dataclass
class Posted:
    """A posted form read back: the service input (changed fields only, children by related
    name), the texts to show again, and problems found before the service was asked."""

    values: dict[str, Any]
    texts: dict[str, Any]
    original: dict[str, Any]
    version: int | None
    rows: dict[str, list[PostedRow]] = field(default_factory=dict)
    #: per grid, the row key of each child sent to the service (problems come back by index)
    sent: dict[str, list[str]] = field(default_factory=dict)
    problems: dict[str, list[str]] = field(default_factory=dict)


# ------------------------------------------------------------------------------ layout

def layout_sections(obj: ObjectDef) -> tuple[SectionDef, ...]:
    """The form layout's sections, or one section of every field when the object has none."""
    if obj.form is not None and obj.form.sections:
        return obj.form.sections
    names = tuple(f.name for f in obj.fields.values() if not f.system)
    return (SectionDef("main", obj.label, (names,)),)


def form_fields(obj: ObjectDef) -> list[FieldDef]:
    """The fields a form may show, in layout order (not system fields, not retired ones)."""
    return [obj.fields[name] for section in layout_sections(obj) for name in section.fields
            if name in obj.fields and not obj.fields[name].system and obj.fields[name].active]


def grid_relations(scr: Screen, work: Any, obj: ObjectDef) -> list[tuple[RelationDef, frozenset[str]]]:
    """Master-detail children that add up to this record's roll-ups (lines of a quote), with
    what the user may do with them."""
    found = []
    for relation in obj.relations:
        if not relation.master_detail:
            continue
        if not any(f.rollup is not None and f.rollup.object == relation.object and f.rollup.relationship == relation.field
                   for f in obj.fields.values()):
            continue
        allowed = work.permitted(relation.object)
        if "read" in allowed:
            found.append((relation, allowed))
    return found


def grid_columns(scr: Screen, relation: RelationDef) -> list[FieldDef]:
    """The child's fields a grid shows, in its form layout's order: those that must be filled
    (required, without a default) and those of its default list view."""
    child = scr.registry.object(relation.object)
    hidden = scr.service.policy.access(scr.actor).hidden(child.name)
    views = list(child.list_views.values())
    view = next((v for v in views if v.default), views[0] if views else None)
    listed = {c for c in view.columns if "." not in c} if view is not None else set()
    wanted = []
    for candidate in form_fields(child) or [f for f in child.fields.values() if not f.system]:
        if candidate.name == relation.field or candidate.name in hidden:
            continue
        must = candidate.required and candidate.default is None and candidate.default_formula is None
        if must or candidate.name in listed:
            wanted.append(candidate)
    return wanted[:GRID_COLUMNS]


# ------------------------------------------------------------------------------ reading a post

def read_posted(scr: Screen, obj: ObjectDef, form: MultiDict, grids: list[tuple[RelationDef, frozenset[str]]]) -> Posted:
    """The service input of a posted form: each field whose text differs from what the form
    first showed (so untouched defaults stay the engine's and nobody else's change is undone),
    and for each line grid the full list of lines (lines left out are deleted)."""
    original = json_object(form.get("_original"))
    version = _int(form.get("version"))
    posted = Posted({}, {}, original, version)
    for candidate in form_fields(obj):
        _read_field(scr, candidate, form, candidate.name, original, posted.texts, posted.values, posted.problems,
                    candidate.name)
    shown = set(form.getlist("_grid"))
    for relation, _allowed in grids:
        if relation.name not in shown:
            continue
        child = scr.registry.object(relation.object)
        rows = _posted_rows(form, relation.name)
        items: list[dict[str, Any]] = []
        sent: list[str] = []
        for row in rows:
            item: dict[str, Any] = {}
            for candidate in child.fields.values():
                if candidate.system or candidate.name == relation.field:
                    continue
                _read_field(scr, candidate, form, f"{relation.name}-{row.key}-{candidate.name}", row.original,
                            row.texts, item, posted.problems, candidate.name,
                            problem_key=f"{relation.name}[{len(items)}].{candidate.name}")
            if row.id is None and not item:
                continue  # a new line left as it came: nothing to save
            if row.id is not None:
                item.update(id=row.id, version=row.version)
            items.append(item)
            sent.append(row.key)
        posted.values[relation.name] = items
        posted.rows[relation.name] = rows
        posted.sent[relation.name] = sent
    return posted


def _read_field(scr: Screen, candidate: FieldDef, form: MultiDict, name: str, original: Mapping[str, Any],
                texts: dict[str, Any], values: dict[str, Any], problems: dict[str, list[str]], key: str,
                problem_key: str | None = None) -> None:
    text = widgets.posted_text(candidate, form, name)
    if text is None:
        return  # not on the form: hidden by a condition, read-only, or not in the layout
    texts[key] = text
    before = original.get(key)
    if (text == before) or (before is None and widgets.is_blank(text)):
        return
    try:
        values[key] = widgets.service_value(candidate, text, scr.tz)
    except widgets.BadInput:
        problems.setdefault(problem_key or key, []).append(_("Enter valid JSON, such as {\"size\": \"L\"}."))


def _posted_rows(form: MultiDict, relation: str) -> list[PostedRow]:
    rows: dict[str, PostedRow] = {}
    for name in form.keys():
        found = ROW_INPUT.match(name)
        if found is None or found["relation"] != relation:
            continue
        key = found["key"]
        if key not in rows:
            rows[key] = PostedRow(key, None, None, {}, {})
        row = rows[key]
        if found["field"] == "id":
            row.id = _int(form.get(name))
        elif found["field"] == "version":
            row.version = _int(form.get(name))
        elif found["field"] == "original":
            row.original = json_object(form.get(name))
    return list(rows.values())


def json_object(text: str | None) -> dict[str, Any]:
    try:
        found = json.loads(text or "{}")
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}


def _int(text: Any) -> int | None:
    try:
        return int(text) if text not in (None, "") else None
    except (TypeError, ValueError):
        return None


# ------------------------------------------------------------------------------ building

def build_form(scr: Screen, work: Any, obj: ObjectDef, preview: Preview, *, record_id: int | None,
               version: int | None, posted: Posted | None = None,
               messages: Mapping[str, list[str]] | None = None,
               grids: list[tuple[RelationDef, frozenset[str]]] = (), stored: Mapping[str, Any] | None = None
               ) -> FormModel:
    """The form of ``obj`` showing ``preview``. ``posted``: what the user sent (shown again);
    ``messages``: the save's problems by field key; ``stored``: the record as stored, whose
    texts are the form's starting point (else the preview's, for a new record)."""
    messages = dict(messages or {})
    if posted is not None:
        for key, items in posted.problems.items():
            messages.setdefault(key, []).extend(items)
    rows_by_grid = {}
    for relation, allowed in grids:
        rows_by_grid[relation.name] = _grid_rows(relation, preview, posted)
    labels = work_labels(work, obj, preview, rows_by_grid)
    sections, placed = build_sections(scr, obj, preview.record, preview.states, texts=posted.texts if posted else {},
                                      messages=messages, labels=labels)
    built_grids = [_grid(scr, relation, allowed, rows_by_grid[relation.name], labels, messages)
                   for relation, allowed in grids]
    for section in sections:  # roll-ups the preview cannot recompute say so
        for widget in (w for column in section.columns for w in column if w.name in preview.pending):
            widget.help = _("Recomputed when the record is saved.")
    errors = _form_errors(scr, obj, messages, placed, {g.relation.name for g in built_grids})
    row_messages = {k: v for k, v in messages.items() if "[" in k and k.split("[")[0] in rows_by_grid}
    if posted is not None:
        original = posted.original
    else:
        start = stored if stored is not None else preview.record
        original = {f.name: widgets.input_text(f, start.get(f.name), scr.tz) for f in form_fields(obj)
                    if f.name in preview.states and not preview.states[f.name].read_only}
    model = FormModel(obj, record_id, version, sections, built_grids, errors, json.dumps(original, default=str), "")
    place_row_errors(model, posted, row_messages, scr)
    model.view = json.dumps(view_tokens(model))
    return model


def build_sections(scr: Screen, obj: ObjectDef, record: Mapping[str, Any], states: Mapping[str, FieldState], *,
                   texts: Mapping[str, Any] | None = None, messages: Mapping[str, list[str]] | None = None,
                   labels: Mapping[tuple[str, int], str] | None = None, read_only: bool = False
                   ) -> tuple[list[Section], set[str]]:
    """The layout's sections with a widget per field the user may see (``read_only``: every
    widget shows its value, for the record page). Returns the sections and the fields placed."""
    sections: list[Section] = []
    placed: set[str] = set()
    for section in layout_sections(obj):
        columns = []
        for column in section.columns:
            cells = []
            for name in column:
                candidate = obj.fields.get(name)
                state = states.get(name)
                if candidate is None or state is None or not candidate.active:
                    continue  # hidden from this user, a system field, or retired (active: false)
                if read_only:
                    state = FieldState(state.visible, False, True)
                if state.visible:
                    placed.add(name)  # its problems show beside it (an invisible one's at the top)
                cells.append(widgets.build(
                    candidate, name=name, state=state, locale=scr.locale, tz=scr.tz, value=record.get(name),
                    text=(texts or {}).get(name), record=record, errors=(messages or {}).get(name, ()),
                    lookup_labels=labels, lookup_url=lookup_url(obj.name, name)))
            columns.append(cells)
        if any(columns):
            sections.append(Section(section.name, section.label(scr.locale), section.collapsed, columns))
    return sections, placed


def lookup_url(object_name: str, field_name: str) -> str:
    return f"/o/{object_name}/lookup/{field_name}"


def _grid_rows(relation: RelationDef, preview: Preview, posted: Posted | None) -> list[tuple[str, Any, Any, dict, dict]]:
    """(key, child preview or None, posted row or None, texts, original) per line, in order."""
    children = preview.children.get(relation.name, [])
    if posted is None or relation.name not in posted.rows:
        rows = []
        for child in children:
            key = f"e{child.record['id']}" if child.record.get("id") else new_row_key()
            rows.append((key, child, None, {}, None))
        return rows
    by_key = dict(zip(posted.sent.get(relation.name, []), children, strict=False))
    return [(row.key, by_key.get(row.key), row, row.texts, row.original) for row in posted.rows[relation.name]]


def new_row_key() -> str:
    return "n" + secrets.token_hex(4)


def _grid(scr: Screen, relation: RelationDef, allowed: frozenset[str], rows: list[tuple], labels: Mapping,
          messages: dict[str, list[str]]) -> Grid:
    child = scr.registry.object(relation.object)
    columns = grid_columns(scr, relation)
    grid = Grid(relation, child.plural_label(scr.locale), child, columns, [], "create" in allowed,
                "delete" in allowed, errors=list(messages.pop(relation.name, [])))
    for key, preview_child, posted_row, texts, original in rows:
        editable = ("create" if key.startswith("n") else "edit") in allowed
        grid.rows.append(grid_row(scr, relation, columns, key, preview_child, posted_row, texts, original, labels,
                                  editable=editable))
    return grid


def grid_row(scr: Screen, relation: RelationDef, columns: list[FieldDef], key: str, child: Any, posted_row: Any,
             texts: Mapping[str, Any], original: Mapping[str, Any] | None, labels: Mapping, *,
             editable: bool = True) -> GridRow:
    """One line of a grid: a widget per column (named ``<relation>-<key>-<field>``)."""
    record = child.record if child is not None else {}
    states = child.states if child is not None else {}
    cells = []
    for column in columns:
        state = states.get(column.name) or FieldState(True, column.required, column.read_only or column.computed)
        if not editable:
            state = FieldState(state.visible, state.required, True)
        cells.append(widgets.build(
            column, name=f"{relation.name}-{key}-{column.name}", state=state, locale=scr.locale, tz=scr.tz,
            value=record.get(column.name), text=texts.get(column.name), record=record,
            lookup_labels=labels, lookup_url=lookup_url(relation.object, column.name), compact=True))
    if original is None:
        original = {c.name: widgets.input_text(c, record.get(c.name), scr.tz)
                    for c in columns if not (states.get(c.name) or FieldState()).read_only}
    ident = record.get("id") if child is not None and key.startswith("e") else (posted_row.id if posted_row else None)
    version = posted_row.version if posted_row is not None and posted_row.version is not None else record.get("version")
    return GridRow(key, ident, version if ident is not None else None, cells, json.dumps(original, default=str))


def place_row_errors(model: FormModel, posted: Posted | None, messages: Mapping[str, list[str]], scr: Screen) -> None:
    """Problems of lines (``lines[2].quantity``) next to their cells, or under their row."""
    pattern = re.compile(r"^(?P<relation>[a-z][a-z0-9_]*)\[(?P<index>\d+)\]\.(?P<field>.+)$")
    for key, items in messages.items():
        found = pattern.match(key)
        if found is None:
            continue
        grid = next((g for g in model.grids if g.relation.name == found["relation"]), None)
        sent = (posted.sent.get(found["relation"]) if posted else None) or []
        index = int(found["index"])
        row_key = sent[index] if index < len(sent) else None
        row = next((r for r in grid.rows if r.key == row_key), None) if grid else None
        if row is None:
            model.errors.extend(items)
            continue
        cell = next((c for c in row.cells if c.field.name == found["field"]), None)
        if cell is not None and cell.kind != "output" and cell.state.visible:
            cell.errors.extend(items)
        else:
            child = grid.object
            label = child.fields[found["field"]].label(scr.locale) if found["field"] in child.fields else found["field"]
            row.errors.extend(f"{label}: {item}" for item in items)


def _form_errors(scr: Screen, obj: ObjectDef, messages: dict[str, list[str]], placed: set[str],
                 grids: set[str]) -> list[str]:
    """Problems not shown next to a field: the whole record's, and fields not on the form."""
    errors: list[str] = []
    for key, items in messages.items():
        if key in placed or key.split("[")[0] in grids:
            continue
        if key == "_record":
            errors.extend(items)
        elif key in obj.fields:
            errors.extend(f"{obj.fields[key].label(scr.locale)}: {item}" for item in items)
        else:
            errors.extend(f"{key}: {item}" for item in items)
    return errors


def work_labels(work: Any, obj: ObjectDef, preview: Preview, rows_by_grid: Mapping[str, list[tuple]]) -> dict:
    """Names of the records the form's lookups point at, one query per target object."""
    from .screen import record_names

    wanted = lookup_pairs(obj, _as_ids(obj, preview.record), obj.fields)
    for name, rows in rows_by_grid.items():
        relation = next(r for r in obj.relations if r.name == name)
        child = work.service.registry.object(relation.object)
        for _key, preview_child, _posted, texts, _original in rows:
            if preview_child is not None:
                wanted |= lookup_pairs(child, preview_child.record, child.fields)
            wanted |= lookup_pairs(child, _as_ids(child, texts), child.fields)
    return record_names(work, wanted)


def _as_ids(obj: ObjectDef, values: Mapping[str, Any]) -> dict[str, Any]:
    """Lookup values as ids (posted texts are strings)."""
    found = {}
    for name, value in values.items():
        candidate = obj.fields.get(name)
        if candidate is not None and candidate.target:
            try:
                found[name] = int(value)
            except (TypeError, ValueError):
                continue
    return found


# ------------------------------------------------------------------------------ refreshing

def view_tokens(model: FormModel) -> dict[str, str]:
    """What each conditional or computed widget shows now, so a refresh swaps only the
    widgets whose state or value changed."""
    tokens = {}
    for widget in all_widgets(model):
        field_def = widget.field
        conditional = field_def.visible_when or field_def.required_when or field_def.read_only_when
        if conditional or not widget.editable or widget.currency is not None:
            state = widget.state
            tokens[widget.name] = (f"{int(state.visible)}{int(state.required)}{int(state.read_only)}"
                                   f"|{widget.display}|{widget.currency or ''}")
    return tokens


def all_widgets(model: FormModel) -> list[Widget]:
    found = [w for section in model.sections for column in section.columns for w in column]
    for grid in model.grids:
        found.extend(cell for row in grid.rows for cell in row.cells)
    return found


def changed_widgets(model: FormModel, before: Mapping[str, str]) -> list[Widget]:
    tokens = json.loads(model.view)
    return [w for w in all_widgets(model) if w.name in tokens and before.get(w.name) != tokens[w.name]]
