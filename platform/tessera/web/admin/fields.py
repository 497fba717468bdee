"""Fields in the builder: add a field of any registered type with the properties that type takes,
change one, deactivate it, or remove it — removal retires its column (renamed aside, data kept)
and adding the field back restores it.

A field the org made is written whole into the object's overlay document; a package's field
gets only what the admin changed (labels, flags, new or relabelled options), merged over the
package's by the metadata language's rules. Formula fields have a Check button (htmx, or a
plain post) that compiles the expression against the object and evaluates it on a record the
admin names. Picklist options are edited in rows with up/down/remove buttons; no script needed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from flask import abort, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from tessera.expressions import FormulaType
from tessera.fieldtypes import RESULT_FIELD_TYPES, FieldType
from tessera.metadata.model import SYSTEM_FIELDS, FieldDef
from tessera.metadata.overlay import ORG_OVERLAY
from tessera.web.screen import is_htmx, screen

from . import bp
from .changes import propose
from .objects import (
    NAME,
    Editing,
    FormulaCheck,
    Placed,
    as_text,
    check_formula,
    editing,
    label_inputs,
    object_choices,
    place,
    planned,
    read_label,
    require_fresh,
    try_on_record,
    typed,
)

FLAGS = ("required", "unique", "indexed", "read_only")
CONDITIONS = ("visible_when", "required_when", "read_only_when")
#: how the form asks for each built-in type property: a kind, or the choices of a select
PROPERTY_KINDS: dict[str, Any] = {
    "target": "object", "related_name": "name", "on_delete": ("set_null", "restrict", "cascade"),
    "expression": "formula", "result": tuple(RESULT_FIELD_TYPES), "object": "object", "relationship": "name",
    "aggregate": ("count", "sum", "min", "max", "avg"), "field": "name", "pattern": "text", "start": "integer",
    "max_length": "integer", "precision": "integer", "scale": "integer", "min": "number", "max": "number",
    "currency_field": "field",
}
PROPERTY_LABELS = {
    "max_length": _l("Maximum length"), "precision": _l("Digits in all (precision)"),
    "scale": _l("Digits after the point (scale)"), "min": _l("Minimum"), "max": _l("Maximum"),
    "currency_field": _l("Currency code field"), "target": _l("Looks up"), "related_name": _l("Related list name"),
    "on_delete": _l("When the looked-up record is deleted"), "result": _l("Result type"),
    "expression": _l("Formula"), "pattern": _l("Pattern"), "start": _l("First number"),
    "object": _l("Child object"), "relationship": _l("Child's lookup field"), "aggregate": _l("Summary"),
    "field": _l("Child field"),
}
CONDITION_LABELS = {"visible_when": _l("Shown only when"), "required_when": _l("Required when"),
                    "read_only_when": _l("Read only when")}
#: edited in YAML, not here; kept as they are
NOT_SHOWN = frozenset({"options", "lookup_filter", "filter"})
OPTION_CAP = 500


def type_properties(ftype: FieldType) -> list[tuple[str, Any]]:
    """(property, input kind) of the properties ``ftype`` takes, built-in ones first."""
    extra = sorted(p for p in ftype.properties if p not in PROPERTY_KINDS)
    found = []
    for prop in (*PROPERTY_KINDS, *extra):
        if prop not in ftype.properties or prop in NOT_SHOWN:
            continue
        kind = PROPERTY_KINDS.get(prop)
        if kind is None:  # a plugin's property: as its JSON Schema types it
            schema = ftype.property_schema.get(prop) or {}
            kind = tuple(map(str, schema["enum"])) if "enum" in schema else \
                {"integer": "integer", "number": "number", "boolean": "boolean"}.get(schema.get("type"), "text")
        found.append((prop, kind))
    return found


def literal_default(ftype: FieldType, text: str) -> Any:
    """A default typed in the form, as the type's literal (checked again by the metadata check)."""
    if ftype.formula_type == FormulaType.NUMBER:
        return typed("number", text, integer=ftype.name == "integer")
    if ftype.formula_type == FormulaType.BOOLEAN:
        if text not in ("true", "false"):
            raise ValueError(_("Choose true or false."))
        return text == "true"
    if ftype.formula_type == FormulaType.LIST:
        return [part.strip() for part in text.split(",") if part.strip()]
    return text


@dataclass
class FieldForm:
    """What the field form shows and posts: the inputs as typed, the option rows, the
    problems by input, and the result of a formula check."""

    ftype: FieldType
    name: str
    values: dict[str, Any]
    options: list[dict[str, Any]] = field(default_factory=list)
    package_options: frozenset[str] = frozenset()  # a package field's options: not removed or moved
    problems: Placed = field(default_factory=Placed)
    check: FormulaCheck | None = None

    @property
    def allowed(self) -> frozenset[str]:
        return self.ftype.allowed_properties()

    @property
    def flags(self) -> list[str]:
        fixed = {k for k, v in self.ftype.property_defaults.items() if v is True}  # master-detail: always required
        return [f for f in FLAGS if f in self.allowed and f not in fixed]

    @property
    def properties(self) -> list[tuple[str, Any]]:
        return type_properties(self.ftype)

    @property
    def conditions(self) -> list[tuple[str, Any]]:
        return [(c, CONDITION_LABELS[c]) for c in CONDITIONS if c in self.allowed]

    @property
    def conditions_open(self) -> bool:
        return any(self.values.get(c) or self.problems(c) for c, _label in self.conditions)

    def inputs(self) -> list[str]:
        keys = ["label", "help", "description", "default", "options", *FLAGS, *CONDITIONS,
                *(p for p, _k in self.properties)]
        for index in range(len(self.options)):
            keys += [f"options.{index}", f"options.{index}.value", f"options.{index}.label"]
        return keys

    @classmethod
    def of_field(cls, ftype: FieldType, fdef: FieldDef) -> FieldForm:
        """The form of an existing field, as the merged metadata has it."""
        props = fdef.props
        default = props.get("default")
        values: dict[str, Any] = {**label_inputs("label", fdef.label), **label_inputs("help", fdef.help),
                                  "description": fdef.description,
                                  "default": default.get("formula", "") if isinstance(default, Mapping) else as_text(default),
                                  "default_formula": isinstance(default, Mapping)}
        values.update({flag: bool(props.get(flag)) for flag in FLAGS})
        values.update({c: props.get(c) or "" for c in CONDITIONS})
        values.update({p: props.get(p) if k == "boolean" else as_text(props.get(p)) for p, k in type_properties(ftype)})
        options = [{"value": o.value, "en": o.label.values.get("en", ""), "zh": o.label.values.get("zh-CN", ""),
                    "active": o.active} for o in fdef.options]
        fixed = frozenset(o.value for o in fdef.options) if fdef.package != ORG_OVERLAY else frozenset()
        return cls(ftype, fdef.name, values, options, fixed)

    @classmethod
    def posted(cls, ftype: FieldType, name: str, form: Mapping[str, str], package_options: frozenset[str]) -> FieldForm:
        values: dict[str, Any] = {k: form.get(k, "").strip() for k in ("label_en", "label_zh", "help_en", "help_zh",
                                                                        "description", "default", "preview_id")}
        values["default_formula"] = form.get("default_formula") == "true"
        values.update({flag: form.get(flag) == "true" for flag in FLAGS})
        values.update({c: form.get(c, "").strip() for c in CONDITIONS})
        for prop, kind in type_properties(ftype):
            raw = form.get(prop, "")
            values[prop] = raw.strip() == "true" if kind == "boolean" else raw if kind == "formula" else raw.strip()
        count = form.get("option_count", "0")
        options = []
        for index in range(min(int(count) if count.isdigit() else 0, OPTION_CAP)):
            row = {"value": form.get(f"options-{index}-value", "").strip(), "en": form.get(f"options-{index}-en", "").strip(),
                   "zh": form.get(f"options-{index}-zh", "").strip(), "active": form.get(f"options-{index}-active") == "true"}
            if row["value"] or row["en"] or row["zh"] or row["value"] in package_options:
                options.append(row)
        return cls(ftype, name, values, options, package_options)

    def move(self, op: str) -> None:
        """An option-row button: ``add``, ``up:N``, ``down:N``, ``remove:N``."""
        if op == "add" and len(self.options) < OPTION_CAP:
            self.options.append({"value": "", "en": "", "zh": "", "active": True})
            return
        verb, _sep, index_text = op.partition(":")
        index = int(index_text) if index_text.isdigit() else -1
        if not 0 <= index < len(self.options) or self.package_options:
            return
        other = index - 1 if verb == "up" else index + 1 if verb == "down" else None
        if verb == "remove":
            del self.options[index]
        elif other is not None and 0 <= other < len(self.options):
            self.options[index], self.options[other] = self.options[other], self.options[index]

    def props(self) -> dict[str, Any]:
        """The field's properties as metadata, or problems placed at their inputs."""
        props: dict[str, Any] = {"type": self.ftype.name, "label": read_label(self.values, "label")}
        if "help" in self.allowed:
            props["help"] = read_label(self.values, "help")
        props["description"] = self.values.get("description") or None
        for flag in self.flags:
            props[flag] = True if self.values.get(flag) else None
        for condition in CONDITIONS:
            if condition in self.allowed:
                props[condition] = self.values.get(condition) or None
        default = self.values.get("default", "")
        if "default" in self.allowed and default:
            try:
                props["default"] = {"formula": default} if self.values.get("default_formula") else \
                    literal_default(self.ftype, default)
            except ValueError as exc:
                self.problems.add("default", str(exc))
        for prop, kind in self.properties:
            text = self.values.get(prop)
            if kind == "boolean":
                props[prop] = True if text else None
                continue
            if not text:
                continue
            try:
                props[prop] = typed(kind, text)
            except ValueError as exc:
                self.problems.add(prop, str(exc))
        if "options" in self.ftype.properties:
            props["options"] = [{"value": o["value"], "label": {k: v for k, v in (("en", o["en"]), ("zh-CN", o["zh"])) if v},
                                 **({} if o["active"] else {"active": False})} for o in self.options]
        return {k: v for k, v in props.items() if v is not None}


def field_entry(edit: Editing, form: FieldForm, props: dict[str, Any], fdef: FieldDef | None) -> None:
    """Write the field into the overlay document: whole when the org made it, else only what
    differs from the package's (flags turned off included)."""
    fields = edit.data.setdefault("fields", {})
    old = dict(fields.get(form.name) or {})
    managed = {"type", "label", "help", "description", "default", "options", *FLAGS, *CONDITIONS,
               *(p for p, _k in form.properties)}
    if fdef is None or fdef.package == ORG_OVERLAY:
        entry = {k: v for k, v in old.items() if k not in managed}
        entry.update(props)
        for key, value in form.ftype.property_defaults.items():
            if entry.get(key) == value and key not in old:
                entry.pop(key)
        extras = {o.get("value"): o for o in old.get("options") or () if isinstance(o, Mapping)}
        if "options" in entry:  # colours, probabilities and outcomes stay with their values
            entry["options"] = [{**{k: v for k, v in extras.get(o["value"], {}).items() if k not in ("label", "active")},
                                 **o} for o in entry["options"]]
    else:
        entry, current = old, fdef.props
        for key, value in props.items():
            if key == "options":
                _package_options(entry, value, fdef)
            elif key != "type" and value != current.get(key):
                entry[key] = value
        for flag in form.flags:
            if current.get(flag) and flag not in props:
                entry[flag] = False
    fields[form.name] = entry


def _package_options(entry: dict[str, Any], rows: list[dict[str, Any]], fdef: FieldDef) -> None:
    """New options appended, package options relabelled or (de)activated: merged by value."""
    changes = list(entry.get("options") or [])
    for row in rows:
        current = fdef.option(row["value"])
        if current is None:
            change = row
        else:
            change = {"value": row["value"], "label": row["label"]}
            if row.get("active", True) != current.active:
                change["active"] = row.get("active", True)
            if len(change) == 2 and row["label"] == dict(current.label.values):
                continue
        for index, given in enumerate(changes):
            if given.get("value") == row["value"]:
                changes[index] = change
                break
        else:
            changes.append(change)
    if changes:
        entry["options"] = changes


# ------------------------------------------------------------------------------ routes

def _types() -> Any:
    return screen().registry.field_types


def _render(edit: Editing, form: FieldForm, fdef: FieldDef | None, status: int = 200) -> Any:
    scr = screen()
    obj = edit.obj
    action = url_for("admin.objects_field", name=edit.name, field_name=fdef.name) if fdef else \
        url_for("admin.objects_field_new", name=edit.name)
    labels = form.ftype.label or {}

    def choices(kind: Any) -> list[tuple[str, str]]:
        if kind == "object":
            return object_choices()
        if kind == "field":  # where a currency field reads its ISO code
            return [(f.name, f.label(scr.locale)) for f in obj.fields.values() if f.type in ("text", "picklist")]
        return [(str(c), str(c)) for c in kind]

    return render_template(
        "admin/objects/field.html", edit=edit, obj=obj, form=form, fdef=fdef, action=action, choices=choices,
        type_label=labels.get(scr.locale) or labels.get("en") or form.ftype.name, labels=PROPERTY_LABELS,
        custom=ORG_OVERLAY), status


@bp.route("/objects/<name>/fields/new", methods=["GET", "POST"])
def objects_field_new(name: str) -> Any:
    if request.method == "GET":
        edit = editing(name)
        type_name = request.args.get("type")
        if not type_name:
            types = _types()
            choices = [(n, (types[n].label or {}).get(screen().locale) or n) for n in types.names()]
            return render_template("admin/objects/field_type.html", edit=edit, obj=edit.obj, choices=choices)
        ftype = _types().get(type_name) or abort(404)
        values = {"default_formula": False, **({"result": "text"} if "result" in ftype.properties else {})}
        return _render(edit, FieldForm(ftype, "", values, [{"value": "", "en": "", "zh": "", "active": True}]
                                       if "options" in ftype.properties else []), None)
    edit = editing(name, posted=True)
    ftype = _types().get(request.form.get("type", "")) or abort(400)
    return _submit(edit, ftype, None)


@bp.route("/objects/<name>/fields/<field_name>", methods=["GET", "POST"])
def objects_field(name: str, field_name: str) -> Any:
    edit = editing(name, posted=request.method == "POST")
    fdef = edit.obj.fields.get(field_name)
    if fdef is None or fdef.system:
        abort(404)
    ftype = _types().get(fdef.type) or abort(404)
    if request.method == "GET":
        return _render(edit, FieldForm.of_field(ftype, fdef), fdef)
    return _submit(edit, ftype, fdef)


def _submit(edit: Editing, ftype: FieldType, fdef: FieldDef | None) -> Any:
    fixed = FieldForm.of_field(ftype, fdef).package_options if fdef is not None else frozenset()
    name = fdef.name if fdef is not None else request.form.get("name", "").strip()
    form = FieldForm.posted(ftype, name, request.form, fixed)
    op = request.form.get("op", "save")
    if op.startswith("option:"):
        form.move(op.removeprefix("option:"))
        return _render(edit, form, fdef)
    if op == "check":
        form.check = _check(edit.name, form)
        if is_htmx():
            return render_template("admin/objects/_formula_check.html", check=form.check)
        return _render(edit, form, fdef)
    props = form.props()
    if fdef is None:
        _check_name(edit, form)
    if form.problems:
        return _render(edit, form, fdef, 422)
    require_fresh(edit)
    field_entry(edit, form, props, fdef)
    summary = _("Change the field %(field)s of %(object)s", field=name, object=edit.name) if fdef else \
        _("Add the field %(field)s to %(object)s", field=name, object=edit.name)
    pending = edit.pending(summary)
    plan = planned(pending)
    if plan.problems:
        form.problems = place(plan.problems, edit.key, ("fields", name), form.inputs())
        return _render(edit, form, fdef, 422)
    return propose(pending, plan)


def _check_name(edit: Editing, form: FieldForm) -> None:
    name = form.name
    if not NAME.match(name):
        form.problems.add("name", _("Use lowercase letters, digits and _, starting with a letter (at most 63)."))
    elif name in SYSTEM_FIELDS or name in ("deleted_at", "deleted_by", "true", "false", "null"):
        form.problems.add("name", _("%(name)s is a name every object reserves; choose another.", name=name))
    elif name in edit.obj.fields:
        form.problems.add("name", _("There is a field %(name)s already.", name=name))
    elif name in edit.obj.removed_fields:
        form.problems.add("name", _("This package field was removed; restore it on the object's page."))


def _check(object_name: str, form: FieldForm) -> FormulaCheck:
    """Compile the expression for the chosen result type; evaluate it on the record named."""
    expected = RESULT_FIELD_TYPES.get(form.values.get("result") or "")
    compiled, found = check_formula(object_name, form.values.get("expression") or "", expected)
    if compiled is not None and form.values.get("preview_id"):
        try_on_record(object_name, compiled, form.values["preview_id"], found)
    return found


# ------------------------------------------------------------------------------ deactivate, remove, restore

def _field_action(name: str, field_name: str, *, removed: bool = False) -> tuple[Editing, Any, dict[str, Any]]:
    edit = editing(name, posted=True)
    fdef = edit.obj.fields.get(field_name)
    known = field_name in edit.obj.removed_fields if removed else fdef is not None and not fdef.system
    if not known:
        abort(404)
    return edit, fdef, edit.data.setdefault("fields", {})


@bp.post("/objects/<name>/fields/<field_name>/active")
def objects_field_active(name: str, field_name: str) -> Any:
    edit, fdef, fields = _field_action(name, field_name)
    require_fresh(edit)
    active = request.form.get("active") == "true"
    entry = fields.setdefault(field_name, {})
    if active and fdef.package == ORG_OVERLAY:
        entry.pop("active", None)
    else:
        entry["active"] = active
    summary = _("Reactivate the field %(field)s of %(object)s", field=field_name, object=name) if active else \
        _("Deactivate the field %(field)s of %(object)s", field=field_name, object=name)
    return propose(edit.pending(summary))


@bp.post("/objects/<name>/fields/<field_name>/remove")
def objects_field_remove(name: str, field_name: str) -> Any:
    """Remove a field: the org's own leaves the overlay, a package's is marked ``remove: true``;
    either way its column is retired with its data, and comes back when the field does."""
    edit, fdef, fields = _field_action(name, field_name)
    require_fresh(edit)
    if fdef.package == ORG_OVERLAY:
        fields.pop(field_name, None)
    else:
        fields[field_name] = {"remove": True}
    return propose(edit.pending(_("Remove the field %(field)s of %(object)s (its data is kept aside)",
                                  field=field_name, object=name)))


@bp.post("/objects/<name>/fields/<field_name>/restore")
def objects_field_restore(name: str, field_name: str) -> Any:
    """Bring back a package field this org removed, with its data."""
    edit, _fdef, fields = _field_action(name, field_name, removed=True)
    require_fresh(edit)
    fields.pop(field_name, None)
    return propose(edit.pending(_("Restore the field %(field)s of %(object)s", field=field_name, object=name)))
