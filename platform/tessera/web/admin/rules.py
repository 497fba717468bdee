"""Validation rules in the builder: add or change a rule (its condition formula, bilingual
message, the field it is shown on), deactivate or remove it. The condition is checked as it is
typed (Check) and can be tried on a stored record (Test against record): would the rule
refuse it, and with which message?

Rules live in the object's overlay document under ``validations``, merged by name: a rule the
org added is written whole, a package's rule gets only what the admin changed. A package's
rule cannot be removed, only deactivated.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import abort, render_template, request, url_for
from flask_babel import gettext as _

from tessera.expressions import FormulaType
from tessera.metadata.model import RuleDef
from tessera.web.screen import is_htmx, screen

from . import bp
from .changes import propose
from .objects import (
    NAME,
    Editing,
    FormulaCheck,
    Placed,
    check_formula,
    editing,
    label_inputs,
    place,
    planned,
    read_label,
    refused,
    require_fresh,
    try_on_record,
)

RULE_INPUTS = ("name", "condition", "message", "error_field", "active", "description")


def rule_values(rule: RuleDef) -> dict[str, Any]:
    """The form's inputs for a compiled rule."""
    return {"name": rule.name, "condition": rule.condition.source, **label_inputs("message", rule.message),
            "error_field": rule.error_field or "", "active": rule.active, "description": rule.description}


def posted_values(form: Mapping[str, str], name: str) -> dict[str, Any]:
    values: dict[str, Any] = {k: form.get(k, "").strip() for k in ("message_en", "message_zh", "error_field",
                                                                    "description", "record_id")}
    values.update(name=name, condition=form.get("condition", ""), active=form.get("active") == "true")
    return values


def rule_data(values: Mapping[str, Any]) -> dict[str, Any]:
    """A rule as the metadata language writes it."""
    data: dict[str, Any] = {"name": values["name"], "condition": values["condition"],
                            "message": read_label(values, "message"), "error_field": values.get("error_field") or None,
                            "active": None if values.get("active") else False,
                            "description": values.get("description") or None}
    return {k: v for k, v in data.items() if v is not None}


def rule_entry(edit: Editing, data: dict[str, Any], rule: RuleDef | None) -> int:
    """Write the rule into the overlay document's ``validations``; its index there."""
    rules = edit.data.setdefault("validations", [])
    index = next((i for i, r in enumerate(rules) if isinstance(r, Mapping) and r.get("name") == data["name"]), None)
    if rule is None or edit.custom:
        entry = data
    else:  # a rule on a package object: what differs from the merged rule, over what the overlay said
        entry = dict(rules[index]) if index is not None else {"name": rule.name}
        current = rule_data(rule_values(rule))
        for key, value in data.items():
            if current.get(key) != value:
                entry[key] = value
        if "active" not in data and current.get("active") is False:
            entry["active"] = True
        for key in ("error_field", "description"):
            if key not in data:
                entry.pop(key, None)  # the org's own value goes; a package's comes back
    if index is None:
        rules.append(entry)
        return len(rules) - 1
    rules[index] = entry
    return index


def _render(edit: Editing, values: Mapping[str, Any], rule: RuleDef | None, problems: Placed,
            check: FormulaCheck | None = None, status: int = 200) -> Any:
    scr = screen()
    action = url_for("admin.objects_rule", name=edit.name, rule_name=rule.name) if rule else \
        url_for("admin.objects_rule_new", name=edit.name)
    fields = [(f.name, f.label(scr.locale)) for f in edit.obj.fields.values() if not f.system]
    return render_template("admin/objects/rule.html", edit=edit, obj=edit.obj, rule=rule, values=values,
                           problems=problems, check=check, action=action, fields=fields), status


@bp.route("/objects/<name>/rules/new", methods=["GET", "POST"])
def objects_rule_new(name: str) -> Any:
    if request.method == "GET":
        return _render(editing(name), {"active": True}, None, Placed())
    return _submit(editing(name, posted=True), None)


@bp.route("/objects/<name>/rules/<rule_name>", methods=["GET", "POST"])
def objects_rule(name: str, rule_name: str) -> Any:
    edit = editing(name, posted=request.method == "POST")
    rule = next((r for r in edit.obj.validations if r.name == rule_name), None)
    if rule is None:
        abort(404)
    if request.method == "GET":
        return _render(edit, rule_values(rule), rule, Placed())
    return _submit(edit, rule)


def _submit(edit: Editing, rule: RuleDef | None) -> Any:
    name = rule.name if rule is not None else request.form.get("name", "").strip()
    values = posted_values(request.form, name)
    op = request.form.get("op", "save")
    if op in ("check", "test"):
        found = _check(edit, values, test=op == "test")
        if is_htmx():
            return render_template("admin/objects/_formula_check.html", check=found)
        return _render(edit, values, rule, Placed(), found)
    problems = Placed()
    if rule is None:
        if not NAME.match(name):
            problems.add("name", _("Use lowercase letters, digits and _, starting with a letter (at most 63)."))
        elif any(r.name == name for r in edit.obj.validations):
            problems.add("name", _("There is a rule %(name)s already.", name=name))
    if values["error_field"] and values["error_field"] not in edit.obj.fields:
        problems.add("error_field", _("Choose one of the object's fields."))
    if problems:
        return _render(edit, values, rule, problems, status=422)
    require_fresh(edit)
    index = rule_entry(edit, rule_data(values), rule)
    summary = _("Change the rule %(rule)s of %(object)s", rule=name, object=edit.name) if rule else \
        _("Add the rule %(rule)s to %(object)s", rule=name, object=edit.name)
    pending = edit.pending(summary)
    plan = planned(pending)
    if plan.problems:
        placed = place(plan.problems, edit.key, ("validations", index), RULE_INPUTS)
        return _render(edit, values, rule, placed, status=422)
    return propose(pending, plan)


def _check(edit: Editing, values: Mapping[str, Any], *, test: bool) -> FormulaCheck:
    """Compile the condition; with ``test``, say what the rule would do with the record named."""
    compiled, found = check_formula(edit.name, values["condition"], FormulaType.BOOLEAN)
    if compiled is None or not test:
        return found
    refuses = try_on_record(edit.name, compiled, values.get("record_id") or "", found)
    if found.value_error:
        return found
    if refuses:
        locale = screen().locale
        message = (values.get("message_zh") if locale == "zh-CN" else None) or values.get("message_en") or \
            values.get("message_zh") or _("(no message)")
        target = edit.obj.fields.get(values.get("error_field") or "")
        where = target.label(locale) if target is not None else _("the whole record")
        found.verdict = _("This rule refuses the record, on %(where)s: %(message)s", where=where, message=message)
    else:
        found.verdict = _("This rule accepts the record.")
    return found


# ------------------------------------------------------------------------------ deactivate, remove

def _rule_action(name: str, rule_name: str) -> tuple[Editing, RuleDef]:
    edit = editing(name, posted=True)
    rule = next((r for r in edit.obj.validations if r.name == rule_name), None)
    if rule is None:
        abort(404)
    return edit, rule


@bp.post("/objects/<name>/rules/<rule_name>/active")
def objects_rule_active(name: str, rule_name: str) -> Any:
    edit, rule = _rule_action(name, rule_name)
    require_fresh(edit)
    active = request.form.get("active") == "true"
    values = {**rule_values(rule), "active": active}
    rule_entry(edit, rule_data(values), rule)
    summary = _("Reactivate the rule %(rule)s of %(object)s", rule=rule_name, object=name) if active else \
        _("Deactivate the rule %(rule)s of %(object)s", rule=rule_name, object=name)
    return propose(edit.pending(summary))


@bp.post("/objects/<name>/rules/<rule_name>/remove")
def objects_rule_remove(name: str, rule_name: str) -> Any:
    """Remove a rule the org added; a package's rule can only be deactivated."""
    edit, _rule = _rule_action(name, rule_name)
    require_fresh(edit)
    back = url_for("admin.objects_page", name=name)
    package_rule = _("%(rule)s comes from a package: deactivate it instead.", rule=rule_name)
    rules = edit.data.get("validations") or []
    kept = [r for r in rules if not (isinstance(r, Mapping) and r.get("name") == rule_name)]
    if len(kept) == len(rules):
        return refused(package_rule, back)
    edit.data["validations"] = kept
    if not kept:
        edit.data.pop("validations")
    pending = edit.pending(_("Remove the rule %(rule)s of %(object)s", rule=rule_name, object=name))
    plan = planned(pending)
    if plan.registry is not None and any(r.name == rule_name for r in plan.registry.objects[name].validations):
        return refused(package_rule, back)
    return propose(pending, plan)
