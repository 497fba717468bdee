"""``/admin/objects``: the object manager — every object of the org, new custom objects, and an
object's page (its settings, fields and validation rules; :mod:`.fields` and :mod:`.rules`
edit the last two).

An edit builds the org's overlay document of the object anew — for a custom object the whole
object, for a package object only the org's changes to it (docs/metadata.md, "Packages and
overlays") — and goes the way of every builder change (:mod:`.changes`): problems shown beside
the inputs they belong to, else the plan page, then Apply. Each form carries the version of
the overlay document the admin read, and that version is what the change expects: an edit made
on top of someone else's newer change is refused (409), never merged over it.

The helpers here (:class:`Editing`, :func:`place`, :func:`check_formula`, :func:`try_on_record`)
serve the field and rule editors too.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from flask import abort, make_response, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from tessera.expressions import CompiledExpression, FormulaError, FormulaType, compile_expression
from tessera.metadata.model import ObjectDef
from tessera.metadata.overlay import ORG_OVERLAY
from tessera.metadata.scope import RegistryScope
from tessera.records.errors import RecordError
from tessera.storage.overlay import DocumentChange, OverlayError
from tessera.storage.sync import SyncError
from tessera.web.screen import screen

from . import bp, section
from .changes import KIND_LABELS, Pending, check, overlay_data, propose, version_of

#: an API name, as the metadata language takes it (common.json#/$defs/identifier)
NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
ICON = re.compile(r"^[a-z0-9-]{1,40}$")
FORMULA_TYPES = {
    FormulaType.NUMBER: _l("number"), FormulaType.TEXT: _l("text"), FormulaType.BOOLEAN: _l("true/false"),
    FormulaType.DATE: _l("date"), FormulaType.DATETIME: _l("date and time"), FormulaType.LIST: _l("list of values"),
    FormulaType.JSON: _l("JSON"), FormulaType.ID: _l("record id"), FormulaType.NULL: _l("blank"),
}


# ------------------------------------------------------------------------------ shared helpers

@dataclass
class Editing:
    """One object as an edit sees it: its compiled definition, the overlay document an edit
    adds to (a copy), and the version of that document the admin read (0: there was none)."""

    name: str
    obj: ObjectDef
    version: int
    data: dict[str, Any]

    @property
    def custom(self) -> bool:
        """Made by this org (the overlay holds the whole object), not by a package."""
        return self.obj.package == ORG_OVERLAY

    @property
    def key(self) -> tuple[str, str]:
        return ("object", self.name)

    def pending(self, summary: str, back: str | None = None) -> Pending:
        """The change writing :attr:`data`, expecting the version the admin read. A package
        object's document left with no change of the org's goes away."""
        data = {k: v for k, v in self.data.items() if v or k not in ("fields", "validations")}
        change = DocumentChange.upsert("object", self.name, signable(data)) if data or self.custom else \
            DocumentChange.remove("object", self.name)
        return Pending([change], {self.key: self.version}, summary, back or url_for("admin.objects_page", name=self.name))


def editing(name: str, *, posted: bool = False) -> Editing:
    """Object ``name`` (a 404 page when unknown). A posted form's version is the one it carries
    (a 400 page without one); a page shows the stored one."""
    obj = screen().registry.objects.get(name)
    if obj is None:
        abort(404)
    version = posted_version() if posted else version_of("object", name)
    return Editing(name, obj, version, overlay_data("object", name))


def posted_version() -> int:
    """The overlay version the posted form was built from."""
    text = request.form.get("version", "")
    if not text.isdigit() or len(text) > 18:
        abort(400)
    return int(text)


def require_fresh(edit: Editing) -> None:
    """Stop with the conflict page (409) when the object's overlay changed since the form was read."""
    now = version_of("object", edit.name)
    if now != edit.version:
        line = _("%(kind)s %(name)s was changed by someone else (change %(by)s) after you opened it.",
                 kind=KIND_LABELS["object"], name=edit.name, by=now or "?")
        back = url_for("admin.objects_page", name=edit.name)
        abort(make_response(render_template("admin/conflict.html", lines=[line], back=back), 409))


def refused(message: str, back: str, status: int = 400) -> Any:
    return render_template("admin/refused.html", message=message, back=back), status


def planned(pending: Pending) -> Any:
    """The change's plan; the refusal page when it cannot even be planned."""
    try:
        return check(pending)
    except OverlayError as exc:
        abort(make_response(refused(str(exc), pending.back)))
    except SyncError as exc:
        abort(make_response(refused(str(exc), pending.back, 503)))


def signable(value: Any) -> Any:
    """``value`` with exact decimals as JSON numbers: the plan page signs the change as JSON, and
    the overlay reads a number back as the decimal it prints as."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, Mapping):
        return {k: signable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [signable(v) for v in value]
    return value


def typed(kind: Any, text: str, *, integer: bool = False) -> Any:
    """``text`` as an input of ``kind`` holds it; ValueError with a message for people."""
    if kind == "integer" or (kind == "number" and integer):
        if not text.lstrip("-").isdigit() or len(text) > 18:
            raise ValueError(_("Enter a whole number."))
        return int(text)
    if kind == "number":
        try:
            number = Decimal(text)
        except InvalidOperation:
            raise ValueError(_("Enter a number.")) from None
        if not number.is_finite():
            raise ValueError(_("Enter a number."))
        return number
    if kind == "boolean":
        return text in ("true", "on", "1")
    return text


def as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return ", ".join(map(str, value))
    return str(value)


def read_label(form: Mapping[str, str], prefix: str) -> dict[str, str] | None:
    """A bilingual label from the inputs ``<prefix>_en`` and ``<prefix>_zh`` (None: both empty;
    a missing language is left for the metadata check to name)."""
    label = {"en": form.get(f"{prefix}_en", "").strip(), "zh-CN": form.get(f"{prefix}_zh", "").strip()}
    label = {k: v for k, v in label.items() if v}
    return label or None


def label_inputs(prefix: str, label: Any) -> dict[str, str]:
    """The inputs of :func:`read_label` filled from a label (a mapping or a :class:`Label`)."""
    values = getattr(label, "values", label) or {}
    return {f"{prefix}_en": values.get("en", ""), f"{prefix}_zh": values.get("zh-CN", "")}


@dataclass
class Placed:
    """Problems of a change, by the input they belong to; the rest are ``general``."""

    at: dict[str, list[str]] = field(default_factory=dict)
    general: list[str] = field(default_factory=list)

    def __call__(self, key: str) -> list[str]:
        return self.at.get(key, [])

    def __bool__(self) -> bool:
        return bool(self.at or self.general)

    def add(self, key: str, message: str) -> None:
        self.at.setdefault(key, []).append(message)


def place(problems: Iterable[Any], document: tuple[str, str], base: tuple[Any, ...], inputs: Iterable[str]) -> Placed:
    """Each problem (``DocumentProblem``) at the input of the form it belongs to: the longest of
    ``inputs`` (dotted paths below ``base``) that starts its path in ``document``. Others —
    elsewhere in the document, in other documents or packages — are general."""
    keys = set(inputs)
    placed = Placed()
    for problem in problems:
        path = tuple(problem.path)
        if (problem.kind, problem.name) == document and path[:len(base)] == base and len(path) > len(base):
            rest = [str(step) for step in path[len(base):]]
            key = next((k for k in (".".join(rest[:n]) for n in range(len(rest), 0, -1)) if k in keys), None)
            if key is not None:
                placed.add(key, problem.message)
                continue
        where = problem.where if problem.kind else str(problem.location)
        placed.general.append(f"{where}: {problem.message}" if where else problem.message)
    return placed


@dataclass
class FormulaCheck:
    """What checking a formula found: its result type, or the error and where it is; and what
    it gives for a record (``value``), or why it could not be evaluated."""

    source: str
    error: str = ""
    line: int | None = None
    column: int | None = None
    result: str = ""
    record_id: str = ""
    value: str | None = None
    value_error: str = ""
    verdict: str = ""  # rules: what the rule would say of the record

    @property
    def excerpt(self) -> str:
        """The formula's line the error is on."""
        lines = self.source.splitlines() or [""]
        return lines[self.line - 1] if self.line and self.line <= len(lines) else ""


def check_formula(object_name: str, source: str, expected: FormulaType | None) -> tuple[CompiledExpression | None, FormulaCheck]:
    """Compile ``source`` against the object's fields as the metadata check does."""
    registry = screen().registry
    found = FormulaCheck(source)
    if not source.strip():
        found.error = _("Write a formula first.")
        return None, found
    try:
        compiled = compile_expression(source, RegistryScope.of(registry, object_name), expected=expected,
                                      functions=registry.functions)
    except FormulaError as exc:
        found.error, found.line, found.column = exc.message, exc.line, exc.column
        return None, found
    found.result = str(FORMULA_TYPES.get(compiled.result_type, compiled.result_type.value))
    return compiled, found


def try_on_record(object_name: str, compiled: CompiledExpression, record_id: str, found: FormulaCheck) -> Any:
    """Evaluate ``compiled`` on the stored record ``record_id``, read as the signed-in admin;
    fills ``found.value`` or ``found.value_error`` and returns the value."""
    scr = screen()
    found.record_id = record_id = record_id.strip()
    if not record_id.isdigit() or not 0 < int(record_id) < 2**63:
        found.value_error = _("Enter the id of a record.")
        return None
    try:
        with scr.reading() as work:
            record = work.get(object_name, int(record_id))
            value = compiled(work._context(scr.registry.object(object_name), record, record))
    except RecordError as exc:
        found.value_error = exc.message(scr.locale)
        return None
    except FormulaError as exc:
        found.value_error = str(exc)
        return None
    found.value = shown(value)
    return value


def shown(value: Any) -> str:
    """A formula's value as the admin reads it."""
    if value is None or value == "":
        return _("(blank)")
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, Decimal):
        return format(value.normalize() if value == value.to_integral_value() else value, "f")
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return ", ".join(map(str, value))
    return str(value)


def object_choices() -> list[tuple[str, str]]:
    """(name, label) of every object, for lookups and roll-ups."""
    locale = screen().locale
    return sorted(((o.name, o.label(locale)) for o in screen().registry.objects.values()), key=lambda p: p[1].lower())


# ------------------------------------------------------------------------------ the object list

@bp.get("/objects")
def objects() -> Any:
    return _list_page({"name_field_en": "Name", "name_field_zh": "名称", "icon": "box"}, Placed())


def _list_page(values: Mapping[str, str], problems: Placed, status: int = 200) -> Any:
    scr = screen()
    rows = sorted(scr.registry.objects.values(), key=lambda o: (o.package != ORG_OVERLAY, o.label(scr.locale).lower()))
    return render_template("admin/objects/list.html", rows=rows, custom=ORG_OVERLAY, values=values,
                           problems=problems), status


NEW_OBJECT_INPUTS = ("name", "label", "plural_label", "icon", "fields.name.label")


@bp.post("/objects")
def objects_create() -> Any:
    form = request.form
    values = {k: form.get(k, "").strip() for k in ("name", "label_en", "label_zh", "plural_label_en", "plural_label_zh",
                                                    "icon", "name_field_en", "name_field_zh", "description")}
    problems = Placed()
    name = values["name"]
    if not NAME.match(name):
        problems.add("name", _("Use lowercase letters, digits and _, starting with a letter (at most 63)."))
    elif name in screen().registry.objects:
        problems.add("name", _("There is an object %(name)s already.", name=name))
    if values["icon"] and not ICON.match(values["icon"]):
        problems.add("icon", _("An icon name is lowercase letters, digits and dashes."))
    if problems:
        return _list_page(values, problems, 422)
    data: dict[str, Any] = {"label": read_label(form, "label"), "plural_label": read_label(form, "plural_label")}
    if values["description"]:
        data["description"] = values["description"]
    data.update(name_field="name", search_fields=["name"])
    if values["icon"]:
        data["icon"] = values["icon"]
    data["fields"] = {"name": {"type": "text", "label": read_label(form, "name_field"), "required": True}}
    data = {k: v for k, v in data.items() if v is not None}
    pending = Pending([DocumentChange.upsert("object", name, data)], {("object", name): 0},  # it is new
                      _("Add the object %(name)s", name=name), url_for("admin.objects"))
    plan = planned(pending)
    if plan.problems:
        return _list_page(values, place(plan.problems, ("object", name), (), NEW_OBJECT_INPUTS), 422)
    pending.back = url_for("admin.objects_page", name=name)
    return propose(pending, plan)


# ------------------------------------------------------------------------------ one object

SETTINGS_INPUTS = ("label", "plural_label", "description", "icon", "name_field", "search_fields")


@bp.get("/objects/<name>")
def objects_page(name: str) -> Any:
    edit = editing(name)
    obj = edit.obj
    values = {**label_inputs("label", obj.label), **label_inputs("plural_label", obj.plural_label),
              "description": obj.description, "icon": obj.icon or "", "name_field": obj.name_field}
    return _object_page(edit, values, list(obj.search_fields), Placed())


def _object_page(edit: Editing, values: Mapping[str, str], search: list[str], problems: Placed, status: int = 200) -> Any:
    scr = screen()
    obj = edit.obj
    overlay_rules = {r.get("name") for r in edit.data.get("validations") or () if isinstance(r, Mapping)}
    fields = [f for f in obj.fields.values() if not f.system]
    types = scr.registry.field_types
    return render_template(
        "admin/objects/object.html", edit=edit, obj=obj, values=values, search=search, problems=problems,
        fields=fields, custom=ORG_OVERLAY, type_label=lambda f: _type_label(types, f.type, scr.locale),
        searchable=[f for f in fields if f.formula_type == FormulaType.TEXT and f.stored],
        rules=obj.validations, overlay_rules=overlay_rules,
        retired=[n for n in obj.removed_fields if n in (edit.data.get("fields") or {})]), status


def _type_label(types: Any, name: str, locale: str) -> str:
    found = types.get(name)
    labels = getattr(found, "label", None) or {}
    return labels.get(locale) or labels.get("en") or name


@bp.post("/objects/<name>")
def objects_save(name: str) -> Any:
    """The object's labels, description, icon, name field and search fields."""
    edit = editing(name, posted=True)
    form = request.form
    values = {k: form.get(k, "").strip() for k in ("label_en", "label_zh", "plural_label_en", "plural_label_zh",
                                                    "description", "icon", "name_field")}
    search = [s for s in form.getlist("search_fields") if s in edit.obj.fields]
    problems = Placed()
    if values["icon"] and not ICON.match(values["icon"]):
        problems.add("icon", _("An icon name is lowercase letters, digits and dashes."))
    if values["name_field"] not in edit.obj.fields:
        problems.add("name_field", _("Choose one of the object's fields."))
    if problems:
        return _object_page(edit, values, search, problems, 422)
    require_fresh(edit)
    wanted = {"label": read_label(form, "label"), "plural_label": read_label(form, "plural_label"),
              "description": values["description"] or None, "icon": values["icon"] or None,
              "name_field": values["name_field"], "search_fields": search}
    obj = edit.obj
    current = {"label": dict(obj.label.values), "plural_label": dict(obj.plural_label.values),
               "description": obj.description or None, "icon": obj.icon, "name_field": obj.name_field,
               "search_fields": list(obj.search_fields)}
    for key, value in wanted.items():
        if edit.custom:  # the overlay holds the whole object: say it as it is
            if value in (None, []):
                edit.data.pop(key, None)
            else:
                edit.data[key] = value
        elif value != current[key] and value is not None:  # a package object: only what changed
            edit.data[key] = value
    pending = edit.pending(_("Change the settings of %(name)s", name=name))
    plan = planned(pending)
    if plan.problems:
        return _object_page(edit, values, search, place(plan.problems, edit.key, (), SETTINGS_INPUTS), 422)
    return propose(pending, plan)


@bp.post("/objects/<name>/active")
def objects_active(name: str) -> Any:
    """Deactivate the object (hidden everywhere, its data kept) or bring it back."""
    edit = editing(name, posted=True)
    require_fresh(edit)
    active = request.form.get("active") == "true"
    if active and edit.custom:
        edit.data.pop("active", None)  # active is what an object is unless it says otherwise
    else:
        edit.data["active"] = active
    summary = _("Reactivate the object %(name)s", name=name) if active else _("Deactivate the object %(name)s", name=name)
    return propose(edit.pending(summary))


section("admin.objects", _l("Objects"))
