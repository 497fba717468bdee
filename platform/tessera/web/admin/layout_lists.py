"""The list view editor of ``/admin/layouts``: add, change or remove an object's list views
(name, labels, columns, sorts, filter, board field, default), with a preview of the view's
first rows read through the record service as the admin. See :mod:`.layouts` for how an
editor's state becomes a planned change."""

from __future__ import annotations

from typing import Any

from flask import abort, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict

from tessera.app import current_registry
from tessera.i18n import current_locale
from tessera.metadata.model import ObjectDef
from tessera.metadata.scope import RegistryScope
from tessera.storage.overlay import OverlayError
from tessera.storage.sync import SyncError

from ..listing import load_list
from ..lists import cells
from ..screen import is_htmx, screen
from . import bp
from .changes import Pending, _refused, check, overlay_data, propose, version_of
from .layout_form import BadInput, whole
from .layout_views import (
    ViewState,
    blank_view,
    board_fields,
    column_choices,
    definition_data,
    edit_view,
    filter_data_of,
    problem_input,
    read_view,
    sort_choices,
    view_data,
    view_of,
    view_problems,
)
from .layouts import Checked, check_change, document_change, object_or_404, read_state, stale_page

#: rows the list preview shows
PREVIEW_ROWS = 10


@bp.route("/layouts/<object_name>/new-view", methods=["GET", "POST"])
def layouts_view_new(object_name: str) -> Any:
    return _view_editor(object_or_404(object_name), None)


@bp.route("/layouts/<object_name>/views/<view_name>", methods=["GET", "POST"])
def layouts_view(object_name: str, view_name: str) -> Any:
    obj = object_or_404(object_name)
    if view_name not in obj.list_views:
        abort(404)
    return _view_editor(obj, view_name)


def _view_editor(obj: ObjectDef, existing: str | None) -> Any:
    if request.method == "GET":
        version = version_of("object", obj.name)
        state = view_of(obj.list_views[existing], version) if existing else blank_view(obj, version)
        return _view_page(obj, state, existing)
    state, stale = read_state(obj, lambda: read_view(request.form, obj, existing), _view_url(obj, existing))
    if stale is not None:
        return stale
    state.sort_rows = list(range(len(state.sort)))  # the page comes back with the sorts in a row
    op = request.form.get("op") or "refresh"
    notes = edit_view(state, op, request.form, _scope(obj))
    if op != "save":
        return _view_page(obj, state, existing, notes=notes)
    back = _view_url(obj, existing)
    stale = stale_page(obj, state.version, back)
    if stale is not None:
        return stale
    pending, checked = _view_checked(obj, state, existing)
    if not checked.ok:
        return _view_page(obj, state, existing, checked=checked, status=422)
    return propose(pending, checked.plan)


@bp.post("/layouts/<object_name>/view-preview")
def layouts_view_preview(object_name: str) -> Any:
    obj = object_or_404(object_name)
    existing = request.form.get("existing") or None
    if existing is not None and existing not in obj.list_views:
        raise BadInput(f"there is no list view '{existing}'")
    state = read_view(request.form, obj, existing)
    _pending, checked = _view_checked(obj, state, existing)
    return render_template("admin/layouts/_view_preview.html", obj=obj, state=state, checked=checked,
                           preview=_view_preview(obj, state, checked), slot_oob=True,
                           slots=_view_slots(len(request.form.getlist("sort_path"))))


@bp.post("/layouts/<object_name>/views/<view_name>/remove")
def layouts_view_remove(object_name: str, view_name: str) -> Any:
    """Forget the overlay's own version of a list view: a view the org added goes; a package
    view the org changed is the package's again."""
    obj = object_or_404(object_name)
    version = whole(request.form.get("version"), "version")
    back = url_for("admin.layouts")
    stale = stale_page(obj, version, back)
    if stale is not None:
        return stale
    data = overlay_data("object", obj.name)
    views = (data.get("layouts") or {}).get("list_views") or {}
    if view_name not in views:
        return _refused(_("Only list views added or changed in this org can be removed; a package's own views stay."),
                        back, 400)
    del views[view_name]
    label = obj.list_views[view_name].label(current_locale()) if view_name in obj.list_views else view_name
    words = {"view": label, "object": obj.label(current_locale())}
    pending = Pending([document_change(obj, data)], {("object", obj.name): version},
                      _("Remove the list view %(view)s of %(object)s", **words), back)
    try:
        plan = check(pending)
    except (OverlayError, SyncError) as exc:
        return _refused(str(exc), back, 503 if isinstance(exc, SyncError) else 400)
    if plan.registry is not None and view_name in plan.registry.objects[obj.name].list_views:
        pending.summary = _("Restore the package's list view %(view)s of %(object)s", **words)
    return propose(pending, plan)


def _view_page(obj: ObjectDef, state: ViewState, existing: str | None, *, notes: dict[str, str] | None = None,
               checked: Checked | None = None, status: int = 200) -> Any:
    registry = current_registry()
    scope = _scope(obj)
    deferred = checked is None and is_htmx()  # the editor at once; its preview asks for itself
    if checked is None:
        checked = (Checked(by_input=view_problems(state, obj, scope, new=existing is None)) if deferred
                   else _view_checked(obj, state, existing)[1])
    sortable = sort_choices(obj)
    context = dict(obj=obj, state=state, existing=existing, checked=checked,
                   problems={**checked.by_input, **(notes or {})}, deferred=deferred,
                   preview=None if deferred else _view_preview(obj, state, checked),
                   slots=_view_slots(len(state.sort) + 1), slot_oob=False,
                   column_labels={path: _path_label(scope, path) for path in state.columns},
                   column_choices=column_choices(obj, registry, state.columns), sort_fields=sortable,
                   sort_labels={path: _path_label(scope, path) for path, _d in state.sort},
                   sort_names={f.name for f in sortable}, boards=board_fields(obj),
                   removable=existing is not None and existing in _overlay_views(obj))
    template = "admin/layouts/_view_editor.html" if is_htmx() else "admin/layouts/view.html"
    return render_template(template, **context), status


def _view_checked(obj: ObjectDef, state: ViewState, existing: str | None) -> tuple[Pending, Checked]:
    scope = _scope(obj)
    filter_data, _problem = filter_data_of(scope, state.filter_text)
    pending = _view_pending(obj, state, filter_data, existing)
    local = view_problems(state, obj, scope, new=existing is None)
    if local:
        return pending, Checked(by_input=local)
    return pending, check_change(pending, obj.name, lambda path: problem_input(path, state.name, state.sort_rows))


def _view_pending(obj: ObjectDef, state: ViewState, filter_data: Any, existing: str | None) -> Pending:
    """The overlay document with the view; when it becomes the default, the object's other
    default views stop being one (each written whole, as list views merge)."""
    data = overlay_data("object", obj.name)
    layouts_data = data.get("layouts") if isinstance(data.get("layouts"), dict) else {}
    views = dict(layouts_data.get("list_views") or {})
    view = view_data(state, filter_data)
    if existing is None or existing in views or view != definition_data(obj.list_views[existing]):
        views[state.name] = view  # (a package view left as it is stays the package's)
    if state.default:
        for other in obj.list_views.values():
            if other.name != state.name and other.default:
                views[other.name] = {k: v for k, v in (views.get(other.name) or definition_data(other)).items()
                                     if k != "default"}
    if views:
        data["layouts"] = {**layouts_data, "list_views": views}
    locale = current_locale()
    words = {"view": state.en if locale == "en" else state.zh or state.en, "object": obj.label(locale)}
    summary = (_("New list view %(view)s of %(object)s", **words) if existing is None
               else _("List view %(view)s of %(object)s", **words))
    return Pending([document_change(obj, data)], {("object", obj.name): state.version}, summary,
                   _view_url(obj, existing))


def _view_preview(obj: ObjectDef, state: ViewState, checked: Checked) -> dict[str, Any] | None:
    """The first rows of the planned view, read as the admin through the record service."""
    if checked.object is None:
        return None
    locale = current_locale()
    with screen().reading() as work:
        result = load_list(work, checked.object, MultiDict([("view", state.name)]), locale, limit=PREVIEW_ROWS,
                           with_count=False)
    return {"result": result, "cells": cells(result, locale) if result.ok else []}


def _overlay_views(obj: ObjectDef) -> dict[str, Any]:
    """The list views the org's overlay document sets for ``obj`` (its own or changed ones)."""
    layouts_data = overlay_data("object", obj.name).get("layouts")
    return (layouts_data.get("list_views") or {}) if isinstance(layouts_data, dict) else {}


def _view_slots(rows: int) -> list[str]:
    return ["name", "label_en", "label_zh", "columns", "filter", "kanban_field", *(f"sort-{i}" for i in range(rows))]


def _view_url(obj: ObjectDef, existing: str | None) -> str:
    if existing is None:
        return url_for("admin.layouts_view_new", object_name=obj.name)
    return url_for("admin.layouts_view", object_name=obj.name, view_name=existing)


def _scope(obj: ObjectDef) -> RegistryScope:
    return RegistryScope(current_registry().objects, obj.name)


def _path_label(scope: RegistryScope, path: str) -> str:
    try:
        steps = scope.steps(tuple(path.split(".")))
    except LookupError:
        return path
    return " › ".join(step.label(current_locale()) for _obj, step in steps)
