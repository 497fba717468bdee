"""List screens: ``/o/<object>`` as a full page, an htmx fragment (only the table) or JSON,
from one query (:func:`tessera.web.listing.load_list`); the filter bar's rows; bulk edit,
assign and delete.

Every interaction of the list page (view, search, filter bar, sort, pages) asks for the
fragment with htmx and the answer carries ``HX-Push-Url`` with the list's canonical URL, so
the address bar always holds a shareable URL that renders the same state as a full page.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode

from flask import Blueprint, current_app, redirect, render_template, request, url_for
from flask_babel import gettext as _
from markupsafe import Markup
from werkzeug.datastructures import MultiDict

from tessera.app import current_records
from tessera.i18n import current_locale
from tessera.metadata.filters import OPERATORS
from tessera.metadata.model import FieldDef, ObjectDef
from tessera.records.errors import RecordError
from tessera.security.web import current_actor, login_required_actor

from .display import Ref, current_timezone, format_ref, formatter, org_users
from .feedback import problem_lines
from .listing import ListResult, canonical_args, load_list, searchable
from .shell import readable_object, vary_on_htmx, wants_fragment

bp = Blueprint("lists", __name__)

#: field types the bulk editor offers (lookups need the record page's type-ahead)
BULK_TYPES = frozenset({"text", "textarea", "email", "phone", "url", "integer", "decimal", "currency", "percent",
                        "boolean", "date", "datetime", "picklist"})
#: the most rows one bulk action takes
BULK_LIMIT = 500


# ------------------------------------------------------------------------------ the list

@bp.get("/o/<object_name>")
@login_required_actor
def list_view(object_name: str) -> Any:
    obj = readable_object(object_name)
    args = canonical_args(request.args)
    if "_f" in request.args and not wants_fragment():
        return redirect(list_url(obj, args), 303)  # a filter bar sent without htmx: the shareable URL
    view = obj.list_views.get(args.get("view") or "")
    if view is not None and view.kanban_field:  # a board view: show it as a board
        board = url_for("kanban.board", object_name=obj.name, view=view.name, group=view.kanban_field)
        if wants_fragment():
            response = current_app.make_response("")
            response.headers["HX-Redirect"] = board
            return response
        return redirect(board, 303)
    return render_list(obj, args)


def render_list(obj: ObjectDef, args: MultiDict[str, str], outcome: BulkOutcome | None = None,
                *, push: bool = True) -> Any:
    locale = current_locale()
    with current_records().unit_of_work(current_actor()) as work:
        result = load_list(work, obj, args, locale)
        tools = _bulk_tools(work, obj, locale)
    status = 400 if result.errors else 200
    if _wants_json():
        return _json(result, status)
    context = dict(result=result, cells=cells(result, locale), tools=tools, outcome=outcome, obj=obj,
                   list_url=lambda **changes: list_url(obj, args, **changes), fragment=wants_fragment(),
                   state=urlencode(list(args.items(multi=True))), select_label=_("Select %(name)s"),
                   **filter_context(obj))
    if wants_fragment():
        response = current_app.make_response((render_template("_list_partial.html", **context), status))
        if push:
            response.headers["HX-Push-Url"] = list_url(obj, args)
    else:
        response = current_app.make_response((render_template("list.html", **context), status))
    return vary_on_htmx(response)


def list_url(obj: ObjectDef, args: MultiDict[str, str], **changes: Any) -> str:
    """The list's URL with some parameters changed (None removes one); a new sort, search or
    filter starts again from the first page."""
    merged = MultiDict(args)
    if changes.keys() - {"cursor"}:
        merged.pop("cursor", None)
    for key, value in changes.items():
        merged.pop(key, None)
        if value not in (None, ""):
            merged.add(key, value)
    query = urlencode(list(merged.items(multi=True)))
    base = url_for("lists.list_view", object_name=obj.name)
    return f"{base}?{query}" if query else base


def cells(result: ListResult, locale: str) -> list[list[Markup | str]]:
    """Each row's cells, formatted once per column (prepared formatters: this is the hot loop).
    The name column links to the record."""
    tz = current_timezone()
    prepared = [(column.path, _as_ref if column.ref_object else formatter(column.field, locale, tz))
                for column in result.columns]
    name_path = result.object.name_field
    base = f"/o/{result.object.name}/"
    out = []
    for row in result.rows:
        line: list[Markup | str] = []
        for path, show in prepared:
            value = row.get(path)
            text = "" if value is None or value == "" or value == [] else show(value, row)
            if path == name_path:
                text = Markup('<a href="{0}{1}">{2}</a>').format(base, row["id"], text or f"#{row['id']}")
            line.append(text)
        out.append(line)
    return out


def _as_ref(value: Any, _row: Any) -> Markup | str:
    return format_ref(value) if isinstance(value, Ref) else str(value)


def _wants_json() -> bool:
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json" and not wants_fragment()


def _json(result: ListResult, status: int) -> Any:
    from tessera.api.serialize import json_response

    def plain(value: Any) -> Any:
        return {"id": value.id, "name": value.name} if isinstance(value, Ref) else value

    count = result.count
    return json_response({
        "view": result.view.name, "errors": result.errors, "next_cursor": result.next_cursor,
        "count": None if count is None else {"value": count.value, "exact": count.exact},
        "data": [{key: plain(value) for key, value in row.items()} for row in result.rows]}, status)


# ------------------------------------------------------------------------------ the filter bar

#: operator labels in the filter bar
def operator_labels() -> dict[str, str]:
    return {"eq": _("is"), "ne": _("is not"), "in": _("is any of"), "not_in": _("is none of"),
            "is_blank": _("is blank"), "lt": _("is less than"), "lte": _("is at most"),
            "gt": _("is greater than"), "gte": _("is at least"), "between": _("is between"),
            "contains": _("contains"), "icontains": _("contains (any case)"), "starts_with": _("starts with"),
            "includes": _("includes"), "excludes": _("excludes")}


def filter_fields(obj: ObjectDef) -> list[FieldDef]:
    """Fields the filter bar offers: stored, active and visible to this user."""
    from .shell import access

    hidden = access().hidden(obj.name)
    shown = [f for f in obj.fields.values()
             if f.stored and f.active and f.name not in hidden and f.type != "json"
             and (not f.system or f.name in ("owner_id", "created_at", "updated_at", "created_by"))]
    locale = current_locale()
    return sorted(shown, key=lambda f: (f.system, f.label(locale)))


def operators_for(field_def: FieldDef | None) -> list[str]:
    if field_def is None:
        return list(OPERATORS)
    return [op for op, types in OPERATORS.items() if types is None or field_def.formula_type in types]


def filter_context(obj: ObjectDef) -> dict[str, Any]:
    """What the filter bar's rows need: fields, operators per field, their labels, users."""
    from .display import user_refs

    users = sorted(user_refs(current_actor().org).values(), key=lambda ref: ref.name or "")
    return {"filter_fields": filter_fields(obj), "filter_ops": operators_for, "op_labels": operator_labels(),
            "filter_users": users}


@bp.get("/o/<object_name>/filter-row")
@login_required_actor
def filter_row(object_name: str) -> Any:
    """One row of the filter bar, fitted to its field and operator (asked for when either
    changes, or to add a row)."""
    obj = readable_object(object_name)
    context = filter_context(obj)
    chosen = next((f for f in context["filter_fields"] if f.name == request.args.get("_f")), None)
    op = request.args.get("_op") or "eq"
    if op not in operators_for(chosen):
        op = "eq"
    row = request.args.get("row", "")
    if not (row.isalnum() and len(row) <= 16):
        row = secrets.token_hex(4)
    return render_template("list/_filter_row.html", obj=obj, chosen=chosen, op=op, path=request.args.get("_f", ""),
                           value=request.args.get("_v", ""), row=row, **context)


# ------------------------------------------------------------------------------ bulk actions

@dataclass
class BulkTools:
    """What the list's tool bars offer this user (the record service's access decides)."""

    can_edit: bool
    can_delete: bool
    fields: list[FieldDef]
    owners: list[Ref]
    can_create: bool = False
    board_url: str | None = None
    searchable: bool = False

    @property
    def any(self) -> bool:
        return self.can_edit or self.can_delete


@dataclass
class BulkOutcome:
    """What a bulk action did: how many rows succeeded, and why each refused one was refused."""

    action: str
    done: int = 0
    refused: list[tuple[int, str, list[str]]] = field(default_factory=list)  # (id, name, messages)
    problem: str | None = None

    @property
    def refused_ids(self) -> dict[int, list[str]]:
        return {record_id: messages for record_id, _name, messages in self.refused}


def _bulk_tools(work: Any, obj: ObjectDef, locale: str) -> BulkTools:
    can_edit = work.access.allows(obj.name, "edit")
    can_delete = work.access.allows(obj.name, "delete")
    fields = bulk_fields(work, obj, locale) if can_edit else []
    owners = _owners(work.actor.org) if can_edit else []
    hidden = work.access.hidden(obj.name)
    boards = [v for v in obj.list_views.values() if v.kanban_field and v.kanban_field not in hidden]
    picklists = [f for f in obj.fields.values() if f.type == "picklist" and f.stored and f.name not in hidden]
    board_url = None
    if boards or picklists:
        group = boards[0].kanban_field if boards else picklists[0].name
        view = {"view": boards[0].name} if boards else {}
        board_url = url_for("kanban.board", object_name=obj.name, group=group, **view)
    return BulkTools(can_edit, can_delete, fields, owners, work.access.allows(obj.name, "create"), board_url,
                     searchable(obj, hidden))


def bulk_fields(work: Any, obj: ObjectDef, locale: str) -> list[FieldDef]:
    """Fields one value can be set on for many records at once."""
    hidden = work.access.hidden(obj.name) | work.access.read_only(obj.name)
    return sorted((f for f in obj.fields.values()
                   if f.type in BULK_TYPES and not f.system and not f.computed and not f.read_only
                   and f.active and f.name not in hidden), key=lambda f: f.label(locale))


def _owners(org: str) -> list[Ref]:
    users = [user for user in org_users(org) if user.active]
    return sorted((Ref(user.id, user.name or user.username) for user in users), key=lambda ref: ref.name or "")


@bp.get("/o/<object_name>/bulk-value")
@login_required_actor
def bulk_value(object_name: str) -> Any:
    """The value input fitting the field chosen in the bulk bar."""
    obj = readable_object(object_name)
    with current_records().unit_of_work(current_actor()) as work:
        fields = bulk_fields(work, obj, current_locale())
    chosen = next((f for f in fields if f.name == request.args.get("field")), None)
    return render_template("list/_bulk_value.html", chosen=chosen)


@bp.post("/o/<object_name>/bulk")
@login_required_actor
def bulk(object_name: str) -> Any:
    """Apply one action to the selected rows, each through the record service; the list comes
    back with what was done and, per refused row, why."""
    obj = readable_object(object_name)
    state = MultiDict(parse_qsl(request.form.get("state", ""), keep_blank_values=False))
    action = request.form.get("action", "")
    outcome = BulkOutcome(action)
    selected = _selected(request.form.getlist("selected"))
    if not selected:
        outcome.problem = _("Select at least one record.")
    elif len(selected) > BULK_LIMIT:
        outcome.problem = _("Select at most %(limit)s records at once.", limit=BULK_LIMIT)
    elif action == "delete":
        _delete(obj, selected, outcome)
    elif action in ("edit", "assign"):
        values = _bulk_values(obj, action, outcome)
        if values is not None:
            _update(obj, selected, values, outcome)
    else:
        outcome.problem = _("Choose what to do with the selected records.")
    return render_list(obj, state, outcome, push=False)


def _selected(items: Sequence[str]) -> list[tuple[int, int | None]]:
    """``id:version`` pairs from the row checkboxes (the version the list showed)."""
    found: dict[int, int | None] = {}
    for item in items:
        record_id, _sep, version = item.partition(":")
        if record_id.isdigit():
            found[int(record_id)] = int(version) if version.isdigit() else None
    return list(found.items())


def _bulk_values(obj: ObjectDef, action: str, outcome: BulkOutcome) -> dict[str, Any] | None:
    if action == "assign":
        owner = request.form.get("owner", "")
        if not owner.isdigit():
            outcome.problem = _("Choose the new owner.")
            return None
        return {"owner_id": int(owner)}
    with current_records().unit_of_work(current_actor()) as work:
        allowed = {f.name for f in bulk_fields(work, obj, current_locale())}
    name = request.form.get("field", "")
    if name not in allowed:
        outcome.problem = _("Choose the field to change.")
        return None
    value = request.form.get("value", "").strip()
    return {name: value if value != "" else None}


def _update(obj: ObjectDef, selected: list[tuple[int, int | None]], values: dict[str, Any],
            outcome: BulkOutcome) -> None:
    rows = [{"id": record_id, "version": version, **values} for record_id, version in selected]
    with current_records().unit_of_work(current_actor()) as work:
        results = work.update_many(obj.name, rows, all_or_none=False)
    for (record_id, _version), result in zip(selected, results, strict=True):
        if result.error is None:
            outcome.done += 1
        else:
            outcome.refused.append((record_id, "", problem_lines(result.error, obj, current_locale())))
    _name_refused(obj, outcome)


def _delete(obj: ObjectDef, selected: list[tuple[int, int | None]], outcome: BulkOutcome) -> None:
    service = current_records()
    names = _names(obj, [record_id for record_id, _version in selected])
    for record_id, version in selected:
        try:
            service.delete(obj.name, record_id, version=version, actor=current_actor())
        except RecordError as exc:
            outcome.refused.append((record_id, names.get(record_id, ""), problem_lines(exc, obj, current_locale())))
        else:
            outcome.done += 1


def _name_refused(obj: ObjectDef, outcome: BulkOutcome) -> None:
    names = _names(obj, [record_id for record_id, _name, _messages in outcome.refused])
    outcome.refused = [(record_id, names.get(record_id, ""), messages) for record_id, _n, messages in outcome.refused]


def _names(obj: ObjectDef, ids: list[int]) -> dict[int, str]:
    """Display names of the records ``ids`` this user can see."""
    if not ids:
        return {}
    name_field = obj.fields.get(obj.name_field)
    if name_field is None or not name_field.stored:
        return {}
    with current_records().unit_of_work(current_actor()) as work:
        if obj.name_field in work.access.hidden(obj.name):
            return {}
        page = work.query(obj.name, filter={"id__in": ids}, fields=[obj.name_field], limit=len(ids))
    return {row["id"]: str(row.get(obj.name_field) or "") for row in page.rows}
