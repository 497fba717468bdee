"""Create and edit forms: ``/o/<object>/new`` and ``/o/<object>/<id>/edit``.

A GET shows the form of the object's layout with what the engine would save (defaults on a new
record). A POST hands the record service the fields the user changed; on success the browser
goes to the record page (``HX-Redirect`` for htmx), otherwise the same form comes back with what
was typed, each problem next to its field, and for a stale edit the conflict: what others
changed, and a form that now overwrites them only if the user saves again.

While the user works, the form posts itself to ``.../refresh`` on every change; the answer
swaps only the widgets whose state (visible, required, read-only) or computed value changed —
conditions, formulas and line totals all come from :meth:`UnitOfWork.preview`.
"""

from __future__ import annotations

import re
from typing import Any

from flask import abort, make_response, redirect, render_template, request
from flask_babel import gettext as _

from tessera.metadata.filters import Condition, QueryError
from tessera.metadata.model import ObjectDef, RelationDef
from tessera.records.errors import StaleRecord, ValidationFailed
from tessera.records.preview import ChildPreview
from tessera.security.permissions import PermissionDenied
from tessera.web.display import format_value

from .form_model import (
    GRID_LIMIT,
    Conflict,
    ConflictField,
    FormModel,
    Posted,
    build_form,
    changed_widgets,
    grid_columns,
    grid_relations,
    grid_row,
    json_object,
    new_row_key,
    read_posted,
)
from .record_parts import with_refs
from .screen import Screen, is_htmx, lookup_pairs, record_id, record_names, record_title, record_url, screen

#: how many choices a lookup's type-ahead offers
LOOKUP_CHOICES = 10
_DOM_ID = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,200}$")


# ------------------------------------------------------------------------------ pages

def new_record(object_name: str) -> Any:
    scr = screen()
    obj = scr.object(object_name)
    if request.method == "POST":
        return _save(scr, obj, None)
    with scr.reading() as work:
        if "create" not in work.permitted(obj.name):
            abort(403)
        grids = grid_relations(scr, work, obj)
        defaults = work.preview(obj.name, {})
        prefill = {k: v for k, v in request.args.items() if k in obj.fields and not obj.fields[k].system
                   and k in defaults.states and not defaults.states[k].read_only}
        preview = work.preview(obj.name, prefill) if prefill else defaults
        model = build_form(scr, work, obj, preview, record_id=None, version=None, grids=grids, stored=defaults.record)
    return _page(scr, model)


def edit_record(object_name: str, record_id_: int) -> Any:
    scr = screen()
    obj = scr.object(object_name)
    ident = record_id(record_id_)
    if request.method == "POST":
        return _save(scr, obj, ident)
    with scr.reading() as work:
        _require_edit(work, obj, ident)
        record = work.get(obj.name, ident)
        grids = grid_relations(scr, work, obj)
        lines = _current_lines(work, obj, ident, grids)
        grids = [(relation, allowed) for relation, allowed in grids if relation.name in lines]
        preview = work.preview(obj.name, lines, record_id=ident)
        model = build_form(scr, work, obj, preview, record_id=ident, version=record["version"], grids=grids,
                           stored=record)
        name = record_title(scr, work, obj, record)
    return _page(scr, model, name=name)


def refresh_form(object_name: str, record_id_: int | None = None) -> Any:
    """The widgets whose state or computed value changed, as out-of-band swaps."""
    scr = screen()
    obj = scr.object(object_name)
    ident = record_id(record_id_) if record_id_ is not None else None
    with scr.reading() as work:
        grids = grid_relations(scr, work, obj)
        posted = read_posted(scr, obj, request.form, grids)
        preview = work.preview(obj.name, dict(posted.values), record_id=ident)
        model = build_form(scr, work, obj, preview, record_id=ident, version=posted.version, posted=posted,
                           grids=grids)
    before = json_object(request.form.get("_view"))
    return render_template("_form_refresh.html", model=model, changed=changed_widgets(model, before))


def new_line(object_name: str, relation_name: str) -> Any:
    """A new, empty line for a grid (with the child's defaults)."""
    scr = screen()
    obj = scr.object(object_name)
    relation = next((r for r in obj.relations if r.name == relation_name and r.master_detail), None)
    if relation is None:
        abort(404)
    with scr.reading() as work:
        if "create" not in work.permitted(relation.object):
            abort(403)
        child = work.preview(relation.object, {})
    columns = grid_columns(scr, relation)
    row = grid_row(scr, relation, columns, new_row_key(), ChildPreview(child.record, child.states), None, {}, None, {})
    editable = [cell for cell in row.cells if cell.editable]
    first = next((cell for cell in editable if cell.state.required), editable[0] if editable else None)
    if first is not None:
        first.attrs["autofocus"] = "autofocus"  # htmx focuses it once the line is in
    return render_template("_form_grid_row.html", row=row, relation=relation, can_remove=True)


def lookup_choices(object_name: str, field_name: str) -> Any:
    """Type-ahead choices for a lookup: records of its target the user can see, matching what
    was typed and the field's ``lookup_filter``."""
    scr = screen()
    obj = scr.object(object_name)
    field = obj.fields.get(field_name)
    if field is None or not field.target or field.system:
        abort(404)
    owner = request.args.get("for") or ""
    if not _DOM_ID.match(owner):
        abort(400)
    typed = next((v for k, v in request.args.items() if k == "q" or k.endswith("__search")), "").strip()
    target = scr.registry.object(field.target)
    choices: list[dict[str, Any]] = []
    denied = False
    with scr.reading() as work:
        if field.name in work.access.hidden(obj.name):
            abort(404)
        try:
            choices = _search(work, target, field.lookup_filter, typed)
        except PermissionDenied:
            denied = True
    return render_template("widgets/_lookup_options.html", choices=choices, owner=owner, denied=denied,
                           target=target.label(scr.locale))


def _search(work: Any, target: ObjectDef, lookup_filter: Any, typed: str) -> list[dict[str, Any]]:
    hidden = work.access.hidden(target.name)
    name = target.name_field if target.name_field not in hidden else "id"
    extra = next((f for f in target.search_fields if f not in (name, target.name_field) and f in target.fields
                  and f not in hidden), None)
    fields = [name] + ([extra] if extra else [])
    try:
        page = work.query(target.name, filter=lookup_filter, search=typed or None, fields=fields,
                          sort=(name,), limit=LOOKUP_CHOICES)
    except QueryError:  # the name cannot be sorted on (a formula): newest first
        page = work.query(target.name, filter=lookup_filter, search=typed or None, fields=fields,
                          limit=LOOKUP_CHOICES)
    return [{"id": row["id"], "label": row.get(name) or f"#{row['id']}",
             "detail": row.get(extra) if extra else None} for row in page.rows]


# ------------------------------------------------------------------------------ saving

def _save(scr: Screen, obj: ObjectDef, ident: int | None) -> Any:
    posted: Posted | None = None
    try:
        with scr.work() as work:
            if ident is not None:
                _require_edit(work, obj, ident)
            elif "create" not in work.permitted(obj.name):
                abort(403)
            grids = grid_relations(scr, work, obj)
            posted = read_posted(scr, obj, request.form, grids)
            if posted.problems:
                raise ValidationFailed(obj.name, {})
            if ident is None:
                saved = work.create(obj.name, dict(posted.values))
            else:
                saved = work.update(obj.name, ident, dict(posted.values), version=posted.version)
    except ValidationFailed as exc:
        return _again(scr, obj, ident, posted, exc.messages(scr.locale))
    except StaleRecord as exc:
        return _again(scr, obj, ident, posted, {}, conflict=exc)
    target = record_url(obj.name, saved["id"])
    if is_htmx():
        response = make_response("", 204)
        response.headers["HX-Redirect"] = target
        return response
    return redirect(target, code=303)


def _again(scr: Screen, obj: ObjectDef, ident: int | None, posted: Posted | None,
           messages: dict[str, list[str]], conflict: StaleRecord | None = None) -> Any:
    """The form again with what was sent, and the problems next to their fields."""
    assert posted is not None
    with scr.reading() as work:
        grids = grid_relations(scr, work, obj)
        version = posted.version
        current = None
        if conflict is not None and ident is not None:
            current = work.get(obj.name, ident)
            version = current["version"]
        preview = work.preview(obj.name, dict(posted.values), record_id=ident)
        model = build_form(scr, work, obj, preview, record_id=ident, version=version, posted=posted,
                           messages=messages, grids=grids)
        if conflict is not None and current is not None:
            model.conflict = _conflict_of(scr, work, obj, conflict, current, posted, preview)
            _refresh_line_versions(work, model)
        name = record_title(scr, work, obj, {**preview.record, "id": ident}) if ident else None
    status = 409 if conflict is not None else 422
    if is_htmx():  # the form replaces itself (base.html lets htmx swap 409 and 422 answers)
        return render_template("_form.html", model=model), status
    return _page(scr, model, name=name, status=status)


def _conflict_of(scr: Screen, work: Any, obj: ObjectDef, exc: StaleRecord, current: dict[str, Any],
                 posted: Posted, preview: Any) -> Conflict:
    """What others changed since the user's version (their values now), beside the user's own."""
    if exc.object != obj.name:  # one of its lines changed
        lines = scr.registry.object(exc.object).plural_label(scr.locale)
        return Conflict([], current["version"],
                        _("%(lines)s of this record were changed by someone else since you opened it.", lines=lines))
    names = record_names(work, lookup_pairs(obj, current, exc.changed_fields))
    shown = with_refs(obj, current, names, scr.actor.org)
    fields = []
    for name in exc.changed_fields:
        field = obj.fields.get(name)
        if field is None or name not in preview.states or field.computed:
            continue
        theirs = format_value(field, shown.get(name), scr.locale, record=shown, tz=scr.tz)
        yours = _as_text(posted.texts.get(name)) if name in posted.values else None
        fields.append(ConflictField(field.label(scr.locale), theirs, yours))
    return Conflict(fields, current["version"], _("These fields were changed by someone else since you opened it:"))


def _as_text(text: Any) -> str:
    if isinstance(text, list):
        return ", ".join(text)
    if isinstance(text, bool):
        return _("Yes") if text else _("No")
    return "" if text is None else str(text)


def _refresh_line_versions(work: Any, model: FormModel) -> None:
    """Lines carry their current versions, so saving again overwrites consciously."""
    for grid in model.grids:
        ids = [row.id for row in grid.rows if row.id is not None]
        if not ids:
            continue
        page = work.query(grid.object.name, filter=Condition(("id",), "in", ids), fields=["version"], limit=len(ids))
        versions = {row["id"]: row["version"] for row in page.rows}
        for row in grid.rows:
            if row.id in versions:
                row.version = versions[row.id]


def _current_lines(work: Any, obj: ObjectDef, ident: int, grids: list[tuple[RelationDef, frozenset[str]]]
                   ) -> dict[str, list[dict[str, int]]]:
    """The lines of each grid as the preview takes them (``{"id": ..}``), in the child's list
    order; a relation with more lines than a grid holds is left to its related list."""
    lines = {}
    for relation, _allowed in grids:
        child = work.service.registry.object(relation.object)
        view = next((v for v in child.list_views.values() if v.default), None)
        sort = tuple(s for s in (view.sort if view else ()) if "." not in s and s.lstrip("-") != relation.field)
        page = work.query(child.name, filter=Condition((relation.field,), "eq", ident), fields=["id"],
                          sort=sort or ("id",), limit=GRID_LIMIT + 1)
        if len(page.rows) <= GRID_LIMIT:
            lines[relation.name] = [{"id": row["id"]} for row in page.rows]
    return lines


def _require_edit(work: Any, obj: ObjectDef, ident: int) -> None:
    # a role that may not change the object at all gets 403 whatever the record (as the API
    # answers): never 404, which would tell it which ids exist
    if "edit" not in work.permitted(obj.name):
        abort(403)
    allowed = work.permitted(obj.name, ident)
    if not allowed:
        abort(404)
    if "edit" not in allowed:
        abort(403)


def _page(scr: Screen, model: FormModel, *, name: Any = None, status: int = 200) -> Any:
    return render_template("form.html", model=model, obj=model.object, record_name=name), status
