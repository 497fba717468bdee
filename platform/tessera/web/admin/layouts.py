"""``/admin/layouts``: an object's form layout and list views, each with a live preview
(the list view editor's routes are in :mod:`.layout_lists`).

Both editors carry their whole state in the page's form (:mod:`.layout_form`,
:mod:`.layout_views`): every button is a submit that works without JavaScript, and htmx swaps
the editor in place. The preview is what applying would give: the editor's state becomes the
overlay document (:class:`~.changes.Pending`), the plan merges it into the org's metadata, and
the preview renders the form of a blank record or the first rows of the list from the
*planned* registry — or the problems that stop it, beside their inputs. Saving shows the plan
page; Apply writes it in one transaction (:mod:`.changes`). The editor remembers the overlay
document's version as it read it: when another admin changed the object meanwhile, saving
answers 409 and their change is kept.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from flask import abort, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from tessera.app import current_registry
from tessera.i18n import current_locale
from tessera.metadata.model import ObjectDef
from tessera.metadata.overlay import ORG_OVERLAY
from tessera.storage.overlay import DocumentChange, OverlayError
from tessera.storage.sync import SyncError

from ..form_model import Section, build_sections
from ..screen import is_htmx, screen
from . import bp, metadata, section
from .changes import KIND_LABELS, Pending, _refused, check, overlay_data, propose, version_of
from .layout_form import (
    MAX_COLUMNS,
    BadInput,
    LayoutState,
    edit_layout,
    form_problem_input,
    layout_data,
    layout_fields,
    layout_of,
    layout_problems,
    read_layout,
)


@dataclass
class Checked:
    """A proposed change checked: the object as it would be (None when it cannot be), and the
    problems by editor input and the others."""

    plan: Any = None
    object: ObjectDef | None = None
    by_input: dict[str, str] = field(default_factory=dict)
    general: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.object is not None


@bp.errorhandler(BadInput)
def _bad_input(exc: BadInput) -> Any:
    message = _("This form cannot be read (%(reason)s). Open the editor again.", reason=str(exc))
    if is_htmx():
        return render_template("admin/layouts/_bad_input.html", message=message), 400
    return _refused(message, url_for("admin.layouts"), 400)


# ------------------------------------------------------------------------------ the index

@bp.get("/layouts")
def layouts() -> Any:
    registry = current_registry()
    locale = current_locale()
    overlay = {doc.name: doc.data for doc in metadata().documents() if doc.kind == "object"}
    objects = sorted(registry.objects.values(), key=lambda o: (not o.active, o.label(locale).lower()))
    rows = []
    for obj in objects:
        layouts_data = overlay.get(obj.name, {}).get("layouts") or {}
        rows.append({"object": obj, "custom": obj.package == ORG_OVERLAY, "form_changed": "form" in layouts_data,
                     "sections": len(obj.form.sections) if obj.form else 0,
                     "placed": sum(len(s.fields) for s in obj.form.sections) if obj.form else 0,
                     "views": list(obj.list_views.values()),
                     "changed_views": set(layouts_data.get("list_views") or {})})
    return render_template("admin/layouts/index.html", rows=rows)


def object_or_404(name: str) -> ObjectDef:
    obj = current_registry().objects.get(name)
    if obj is None:
        abort(404)
    return obj


# ------------------------------------------------------------------------------ the form layout

@bp.route("/layouts/<object_name>/form", methods=["GET", "POST"])
def layouts_form(object_name: str) -> Any:
    obj = object_or_404(object_name)
    if request.method == "GET":
        return _form_page(obj, layout_of(obj, version_of("object", obj.name)))
    fields = layout_fields(obj)
    state, stale = read_state(obj, lambda: read_layout(request.form, fields), _form_url(obj))
    if stale is not None:
        return stale
    op = request.form.get("op") or "refresh"
    if op == "reset":
        return _reset_form(obj, state)
    notes = edit_layout(state, op, request.form, fields)
    if op != "save":
        return _form_page(obj, state, notes=notes)
    stale = stale_page(obj, state.version, _form_url(obj))
    if stale is not None:
        return stale
    pending = _form_pending(obj, state)
    checked = _form_checked(obj, state, pending)
    if not checked.ok:
        return _form_page(obj, state, checked=checked, status=422)
    return propose(pending, checked.plan)


@bp.post("/layouts/<object_name>/form/preview")
def layouts_form_preview(object_name: str) -> Any:
    obj = object_or_404(object_name)
    state = read_layout(request.form, layout_fields(obj))
    checked = _form_checked(obj, state, _form_pending(obj, state))
    return render_template("admin/layouts/_form_preview.html", obj=obj, preview=_form_preview(obj, checked),
                           checked=checked, slots=_form_slots(state), slot_oob=True)


def _form_page(obj: ObjectDef, state: LayoutState, *, notes: dict[str, str] | None = None,
               checked: Checked | None = None, status: int = 200) -> Any:
    deferred = checked is None and is_htmx()  # the editor at once; its preview asks for itself
    if checked is None:
        checked = Checked(by_input=layout_problems(state)) if deferred else _form_checked(obj, state,
                                                                                          _form_pending(obj, state))
    locale = current_locale()
    placed = set(state.placed)
    context = dict(obj=obj, state=state, checked=checked, problems={**checked.by_input, **(notes or {})},
                   preview=[] if deferred else _form_preview(obj, checked), deferred=deferred,
                   labels={name: obj.fields[name].label(locale) for name in layout_fields(obj)},
                   inactive={name for name in layout_fields(obj) if not obj.fields[name].active},
                   unplaced=[name for name in layout_fields(obj) if name not in placed and obj.fields[name].active],
                   max_columns=MAX_COLUMNS, slots=_form_slots(state), slot_oob=False,
                   can_reset=obj.package != ORG_OVERLAY and "form" in _overlay_layouts(obj))
    template = "admin/layouts/_form_editor.html" if is_htmx() else "admin/layouts/form.html"
    return render_template(template, **context), status


def _overlay_layouts(obj: ObjectDef) -> dict[str, Any]:
    layouts_data = overlay_data("object", obj.name).get("layouts")
    return layouts_data if isinstance(layouts_data, dict) else {}


def _form_pending(obj: ObjectDef, state: LayoutState) -> Pending:
    """The overlay document with the layout (left alone when the layout is the package's,
    unchanged: the org then keeps following the package)."""
    data = overlay_data("object", obj.name)
    layouts_data = data.get("layouts") if isinstance(data.get("layouts"), dict) else {}
    layout = layout_data(state)
    if "form" in layouts_data or layout != layout_data(layout_of(obj, state.version)):
        data["layouts"] = {**layouts_data, "form": layout}
    return Pending([document_change(obj, data)], {("object", obj.name): state.version},
                   _("Form layout of %(object)s", object=obj.label(current_locale())), _form_url(obj))


def _form_checked(obj: ObjectDef, state: LayoutState, pending: Pending) -> Checked:
    local = layout_problems(state)
    if local:
        return Checked(by_input=local)
    return check_change(pending, obj.name, form_problem_input)


def _form_preview(obj: ObjectDef, checked: Checked) -> list[Section]:
    """The form of a blank record as the planned layout shows it (to the admin, who sees
    every field); empty when the change has problems."""
    if checked.object is None:
        return []
    scr = screen()
    with scr.reading() as work:
        blank = work.preview(obj.name, {})
    sections, _placed = build_sections(scr, checked.object, blank.record, blank.states)
    return sections


def _form_slots(state: LayoutState) -> list[str]:
    """The inputs a problem may be shown beside (the preview updates them in place)."""
    return [f"s{index}-{key}" for index in range(len(state.sections)) for key in ("name", "en", "zh", "fields")]


def _reset_form(obj: ObjectDef, state: LayoutState) -> Any:
    """Back to the package's form layout: the overlay forgets its own."""
    stale = stale_page(obj, state.version, _form_url(obj))
    if stale is not None:
        return stale
    data = overlay_data("object", obj.name)
    layouts_data = data.get("layouts") if isinstance(data.get("layouts"), dict) else {}
    if obj.package == ORG_OVERLAY or "form" not in layouts_data:
        raise BadInput("there is no layout of this org's own to forget")
    layouts_data.pop("form")
    pending = Pending([document_change(obj, data)], {("object", obj.name): state.version},
                      _("Restore the package's form layout of %(object)s", object=obj.label(current_locale())),
                      _form_url(obj))
    return propose_or_refuse(pending)


def _form_url(obj: ObjectDef) -> str:
    return url_for("admin.layouts_form", object_name=obj.name)


# ------------------------------------------------------------------------------ shared

def check_change(pending: Pending, object_name: str, place: Callable[[Sequence[Any]], str | None]) -> Checked:
    """Plan ``pending``: the object as it would be, or each problem beside its input."""
    try:
        plan = check(pending)
    except (OverlayError, SyncError) as exc:
        return Checked(general=[str(exc)])
    if plan.problems:
        checked = Checked(plan)
        for problem in plan.problems:
            key = place(problem.path or ()) if (problem.kind, problem.name) == ("object", object_name) else None
            if key is None:
                where = ".".join(str(p) for p in problem.path or ())
                checked.general.append(f"{where}: {problem.message}" if where else problem.message)
            else:
                checked.by_input[key] = "; ".join(filter(None, (checked.by_input.get(key), problem.message)))
        return checked
    registry = plan.registry if plan.registry is not None else current_registry()
    return Checked(plan, registry.objects.get(object_name))


def read_state(obj: ObjectDef, reader: Callable[[], Any], back: str) -> tuple[Any, Any]:
    """(the editor's state from the form, None), or (None, the conflict page) when the form
    cannot be read because the object changed since the editor showed it (a field removed
    meanwhile): that is a conflict, not a bad request. BadInput otherwise."""
    try:
        return reader(), None
    except BadInput:
        version = request.form.get("version", "")
        stale = stale_page(obj, int(version), back) if version.isdigit() and len(version) < 19 else None
        if stale is None:
            raise
        return None, stale


def stale_page(obj: ObjectDef, version: int, back: str) -> Any:
    """The conflict page when another change wrote the object's overlay document since the
    editor read it (nothing is changed, so theirs is kept)."""
    current = version_of("object", obj.name)
    if current == version:
        return None
    line = _("%(kind)s %(name)s was changed by someone else (change %(by)s) after you opened it.",
             kind=KIND_LABELS["object"], name=obj.name, by=current or "?")
    return render_template("admin/conflict.html", lines=[line], back=back), 409


def document_change(obj: ObjectDef, data: dict[str, Any]) -> DocumentChange:
    """Write ``data``, tidied: empty layout parts go, and a package object's document left
    with nothing is removed."""
    layouts_data = data.get("layouts")
    if isinstance(layouts_data, dict):
        if not layouts_data.get("list_views"):
            layouts_data.pop("list_views", None)
        if not layouts_data:
            data.pop("layouts")
    if not data and obj.package != ORG_OVERLAY:
        return DocumentChange.remove("object", obj.name)
    return DocumentChange.upsert("object", obj.name, data)


def propose_or_refuse(pending: Pending) -> Any:
    try:
        return propose(pending)
    except SyncError as exc:
        return _refused(str(exc), pending.back, 503)


section("admin.layouts", _l("Layouts"))

from . import layout_lists  # noqa: E402,F401 - the list view editor's routes
