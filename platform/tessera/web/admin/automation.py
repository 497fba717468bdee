"""``/admin/automation``: the org's flows, stage machines, approval processes and scheduled
flows — each shown as a diagram with every step's properties, switched on or off through the
overlay (plan, then apply), tried on a record (a dry run: nothing is kept) and checked against
the tests its package ships beside it (``flows/<flow>.test.yaml``).

Switching a flow off writes the overlay's flow document with ``active: false`` (plus the
``label`` and ``trigger`` the flow schema requires of every flow document); switching it back
on removes the org's change again. The record service is rebuilt with the change at once.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from flask import abort, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from tessera.app import current_records, current_registry
from tessera.i18n import current_locale
from tessera.metadata.model import Label
from tessera.records.errors import RecordError, RecordNotFound, ValidationFailed

from . import bp, metadata, section
from .changes import Pending, overlay_data, propose, version_of
from .packages import overlay_change, packaged, stale

KINDS = {"record": _l("Record-triggered"), "stage_machine": _l("Stage machine"), "approval": _l("Approval process"),
         "schedule": _l("Scheduled"), "manual": _l("Started by hand")}
EVENTS = {"create": _l("create"), "update": _l("update"), "delete": _l("delete")}
#: kinds a dry run can try on a record
TRIABLE = ("record", "schedule")
#: step properties holding nested steps, drawn as groups rather than listed
_NESTED = ("steps", "then", "else", "default", "outcomes")
_PROPERTY_LABELS = {
    "values": _l("Values"), "object": _l("Object"), "field": _l("Lookup field"), "condition": _l("Condition"),
    "if": _l("If"), "action": _l("Action"), "input": _l("Input"), "to": _l("To"), "title": _l("Title"),
    "body": _l("Body"), "channels": _l("Channels"), "email_fields": _l("E-mail fields"), "until": _l("Until"),
    "url": _l("URL"), "secret": _l("Secret variable"), "event": _l("Event"), "payload": _l("Payload"),
    "headers": _l("Headers"),
}
_FORMULAS = ("condition", "if", "until", "when")


# ------------------------------------------------------------------------------ reading flows

def _flow_or_404(name: str) -> Any:
    flow = current_records().flows.flows.get(name)
    if flow is None:
        abort(404)
    return flow


def _object_label(name: str | None, locale: str) -> str:
    obj = current_registry().objects.get(name) if name else None
    return obj.label(locale) if obj is not None else (name or "—")


def _field_label(object_name: str | None, field: str, locale: str) -> str:
    obj = current_registry().objects.get(object_name) if object_name else None
    found = obj.fields.get(field) if obj is not None else None
    return found.label(locale) if found is not None else field


def trigger_words(flow: Any, locale: str) -> str:
    """What starts ``flow``, in the reader's language."""
    if flow.kind == "record":
        events = " / ".join(str(EVENTS.get(e, e)) for e in sorted(flow.events))
        timing = _("before saving") if flow.timing == "before_save" else _("after saving")
        return _("On %(events)s, %(timing)s", events=events, timing=timing)
    if flow.kind == "stage_machine" and flow.stage_machine is not None:
        return _("Changes of %(field)s", field=_field_label(flow.object, flow.stage_machine.field, locale))
    if flow.kind == "approval":
        return _("When a record is submitted for approval")
    if flow.kind == "schedule":
        return cron_words(flow.schedule or "", locale)
    return _("Started by hand")


def cron_words(cron: str, locale: str) -> str:
    """``30 0 * * *`` as "Every day at 00:30"; what it cannot say simply, as the schedule itself."""
    from babel.dates import get_day_names
    from babel.lists import format_list

    parts = cron.split()
    if len(parts) == 5 and parts[0].isdigit() and parts[1].isdigit() and parts[2] == "*" and parts[3] == "*":
        at = f"{int(parts[1]):02d}:{int(parts[0]):02d}"
        if parts[4] == "*":
            return _("Every day at %(time)s", time=at)
        days = parts[4].split(",")
        if all(d.isdigit() and int(d) <= 7 for d in days):
            names = get_day_names("wide", locale=locale.replace("-", "_"))
            shown = format_list([names[(int(d) - 1) % 7] for d in days], locale=locale.replace("-", "_"))
            return _("Every %(days)s at %(time)s", days=shown, time=at)
    return _("On the schedule %(cron)s", cron=cron)


def flow_row(flow: Any, locale: str) -> dict[str, Any]:
    return {"name": flow.name, "label": flow.label(locale), "kind": KINDS.get(flow.kind, flow.kind),
            "object": _object_label(flow.object, locale), "trigger": trigger_words(flow, locale),
            "active": flow.active}


@bp.get("/automation", endpoint="automation")
def automation_list() -> Any:
    locale = current_locale()
    flows = current_records().flows.flows
    rows = sorted((flow_row(f, locale) for f in flows.values()), key=lambda r: (str(r["kind"]), r["label"]))
    stored = {doc.name: doc.version for doc in metadata().documents() if doc.kind == "flow"}
    versions = {name: stored.get(name, 0) for name in flows}
    return render_template("admin/automation/index.html", flows=rows, versions=versions)


# ------------------------------------------------------------------------------ the diagram

def _text(value: Any, locale: str) -> str:
    return Label.of(value)(locale) if isinstance(value, Mapping) else str(value)


def _person(spec: Any, object_name: str | None, locale: str) -> str:
    if not isinstance(spec, Mapping) or len(spec) != 1:
        return str(spec)
    (kind, value), = spec.items()
    if kind == "user":
        return _("the user %(name)s", name=value)
    if kind == "role":
        role = current_registry().roles.get(str(value))
        return _("everyone with the role %(role)s", role=role.label(locale) if role else value)
    if kind == "field":
        return _("the user in %(field)s", field=_field_label(object_name, str(value), locale))
    if kind == "manager_of":
        return _("the manager of the user in %(field)s", field=_field_label(object_name, str(value), locale))
    return f"{kind}: {value}"


def _property(key: str, value: Any, step: Mapping[str, Any], scope: str | None, locale: str) -> dict[str, Any]:
    """One step property for people: ``code`` (a formula), ``rows`` (name → formula), ``items``
    (a list) or ``text``."""
    shown: dict[str, Any] = {"key": key, "label": _PROPERTY_LABELS.get(key, key)}
    target = step.get("object") if step.get("type") in ("create_record", "update_related") else scope
    if key == "values" and isinstance(value, Mapping):
        shown["rows"] = [(_field_label(str(target), str(k), locale), k, v) for k, v in value.items()]
    elif key in ("input", "payload", "headers") and isinstance(value, Mapping):
        shown["rows"] = [(str(k), k, v) for k, v in value.items()]
    elif key in ("title", "body") and isinstance(value, Mapping):
        shown["rows"] = [(str(k), k, v) for k, v in value.items()]
    elif key == "to" and isinstance(value, list):
        shown["list"] = [_person(p, scope, locale) for p in value]
    elif key == "object":
        shown["text"] = f"{_object_label(str(value), locale)} ({value})"
    elif key == "field":
        shown["text"] = f"{_field_label(str(step.get('object')), str(value), locale)} ({value})"
    elif key in _FORMULAS or key in ("title", "body"):
        shown["code"] = str(value)
    elif isinstance(value, list):
        shown["list"] = [str(v) for v in value]
    elif isinstance(value, Mapping):
        shown["rows"] = [(str(k), k, v) for k, v in value.items()]
    else:
        shown["text"] = str(value)
    return shown


def step_nodes(items: Any, where: str, scope: str | None, locale: str) -> list[dict[str, Any]]:
    """The steps at ``where`` as diagram nodes: their type and properties, and their nested
    steps as groups — side by side for branches and decisions, nested for loops and waits."""
    step_types = current_records().flows.step_types

    def group(title: str, raw: Any, at: str, when: Any = None, inner: str | None = scope) -> dict[str, Any]:
        return {"title": title, "when": when, "nodes": step_nodes(raw, at, inner, locale)}

    nodes = []
    for index, raw in enumerate(items if isinstance(items, list) else ()):
        if not isinstance(raw, Mapping):
            continue
        at = f"{where}[{index}]"
        kind = str(raw.get("type"))
        known = step_types.get(kind)
        node: dict[str, Any] = {
            "where": at, "type": kind, "type_label": Label.of(known.label)(locale) if known else kind,
            "name": raw.get("name"), "label": _text(raw["label"], locale) if raw.get("label") else None,
            "condition": raw.get("if") if kind == "branch" else None,
            "layout": "side" if kind in ("branch", "decision") else "nest", "groups": []}
        if kind == "branch":
            node["groups"] = [group(_("Then"), raw.get("then"), f"{at}.then"),
                              group(_("Else"), raw.get("else"), f"{at}.else")]
        elif kind == "decision":
            node["groups"] = [group(str(o.get("name")), o.get("steps"), f"{at}.outcomes[{n}].steps", o.get("when"))
                              for n, o in enumerate(raw.get("outcomes") or ()) if isinstance(o, Mapping)]
            node["groups"].append(group(_("Otherwise"), raw.get("default"), f"{at}.default"))
        elif kind == "loop":
            inner = str(raw["object"]) if raw.get("object") else scope
            title = _("For each %(object)s record", object=_object_label(inner, locale))
            node["groups"] = [group(title, raw.get("steps"), f"{at}.steps", inner=inner)]
        elif "steps" in raw:  # a wait, or a plugin's step with nested steps
            title = _("Once the wait is over") if kind == "wait" else _("Steps")
            node["groups"] = [group(title, raw.get("steps"), f"{at}.steps")]
        skip = ("type", "name", "label", "if") if kind == "branch" else ("type", "name", "label")
        node["props"] = [_property(key, value, raw, scope, locale) for key, value in raw.items()
                         if key not in skip and not (key in _NESTED and isinstance(value, list | type(None)))]
        nodes.append(node)
    return nodes


def _values(raw: Any) -> list[str] | None:
    if raw in (None, "*"):
        return None
    return [raw] if isinstance(raw, str) else [str(v) for v in raw]


def stage_view(doc: Mapping[str, Any], flow: Any, locale: str) -> dict[str, Any]:
    """A stage machine as its states, its transitions (a table) and a from × to grid."""
    obj = current_registry().objects.get(flow.object)
    field = obj.fields.get(str(doc.get("field"))) if obj is not None else None
    options = [(o.value, o.label(locale)) for o in field.options] if field is not None else []
    labels = dict(options)
    roles = current_registry().roles
    transitions = []
    for raw in doc.get("transitions") or ():
        sources, targets = _values(raw.get("from")), _values(raw.get("to")) or []
        transitions.append({
            "from": [labels.get(v, v) for v in sources] if sources is not None else None,
            "to": [labels.get(v, v) for v in targets], "sources": sources, "targets": targets,
            "condition": raw.get("condition"),
            "roles": [roles[r].label(locale) if r in roles else r for r in raw.get("roles") or ()],
            "message": _text(raw["message"], locale) if raw.get("message") else None})
    grid = []
    for value, label in options:
        cells = []
        for target, _target_label in options:
            ways = [t for t in transitions
                    if (t["sources"] is None or value in t["sources"]) and target in t["targets"]]
            free = any(not t["condition"] and not t["roles"] for t in ways)
            cells.append({"same": value == target, "allowed": bool(ways), "free": free,
                          "conditions": [t["condition"] for t in ways if t["condition"]],
                          "roles": sorted({r for t in ways for r in t["roles"]})})
        grid.append({"value": value, "label": label, "cells": cells})
    initial = _values(doc.get("initial"))
    return {"field": field.label(locale) if field is not None else doc.get("field"), "options": options,
            "initial": [labels.get(v, v) for v in initial] if initial else None,
            "transitions": transitions, "grid": grid}


def approval_view(doc: Mapping[str, Any], flow: Any, locale: str) -> dict[str, Any]:
    """An approval process as its ordered steps (approvers, conditions) and its outcomes."""
    section_data = doc.get("approval") or {}
    steps = [{"name": s.get("name"), "label": _text(s["label"], locale) if s.get("label") else s.get("name"),
              "approver": _person(s.get("approver"), flow.object, locale), "condition": s.get("condition")}
             for s in section_data.get("steps") or ()]
    names = {"on_submit": _("When submitted"), "on_approve": _("When approved"), "on_reject": _("When rejected"),
             "on_recall": _("When recalled")}
    outcomes = [{"title": title, "when": None,
                 "nodes": step_nodes(section_data.get(key), f"approval.{key}", flow.object, locale)}
                for key, title in names.items()]
    return {"steps": steps, "outcomes": outcomes, "lock": section_data.get("lock", True)}


# ------------------------------------------------------------------------------ the flow page

def _tests(name: str) -> tuple[list[Any], str | None]:
    from tessera.flows.testing import FlowTestError, find_test_files

    try:
        return [t for t in find_test_files(current_registry()) if t.flow == name], None
    except FlowTestError as exc:
        return [], str(exc)


def flow_page(name: str, *, dry_run: dict[str, Any] | None = None, results: list[Any] | None = None,
              tests_error: str | None = None) -> Any:
    """The flow's page: what starts it, its diagram, the dry-run form and its tests."""
    flow = _flow_or_404(name)
    locale = current_locale()
    doc = current_registry().flows[name].data
    tests, problem = _tests(name)
    trigger = doc.get("trigger") or {}
    view = {
        **flow_row(flow, locale), "description": doc.get("description"), "condition": trigger.get("condition"),
        "filter": trigger.get("filter"), "object_name": flow.object, "kind_key": flow.kind,
        "package": current_registry().flows[name].package, "version": version_of("flow", name),
        "changed": bool(overlay_data("flow", name)), "triable": flow.kind in TRIABLE and flow.object is not None}
    context = {"flow": view, "nodes": step_nodes(doc.get("steps"), "steps", flow.object, locale),
               "stages": stage_view(doc, flow, locale) if flow.kind == "stage_machine" else None,
               "approval": approval_view(doc, flow, locale) if flow.kind == "approval" else None,
               "tests": [(t.path.name, len(t.cases)) for t in tests],
               "results": results, "tests_error": tests_error or problem, "dry_run": dry_run or {}}
    return render_template("admin/automation/flow.html", **context)


@bp.get("/automation/<name>", endpoint="automation_flow")
def automation_flow(name: str) -> Any:
    return flow_page(name)


@bp.post("/automation/<name>/active", endpoint="automation_active")
def automation_active(name: str) -> Any:
    """Switch a flow on or off: an overlay change of its document, shown as a plan first."""
    flow = _flow_or_404(name)
    back = url_for("admin.automation_flow", name=name)
    read = request.form.get("version", type=int)
    conflict = stale("flow", name, read, back)
    if conflict is not None:
        return conflict
    want = request.form.get("active") == "true"
    data = overlay_data("flow", name)
    package = packaged("flow", name).flows.get(name)
    base = dict(package.data) if package is not None else None
    if base is not None and bool(base.get("active", True)) == want:
        data.pop("active", None)
    else:
        data["active"] = want
    change = overlay_change("flow", name, data, base, ("label", "trigger"))
    label = flow.label(current_locale())
    summary = _("Activate the flow %(name)s", name=label) if want else _("Deactivate the flow %(name)s", name=label)
    return propose(Pending([change], {("flow", name): read or 0}, summary, back))


def _parse_changes(text: str) -> tuple[dict[str, str], list[str]]:
    values: dict[str, str] = {}
    problems: list[str] = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        field, sep, value = line.partition("=")
        if not sep or not field.strip():
            problems.append(_("Line %(number)s: write field=value.", number=number))
            continue
        values[field.strip()] = value.strip()
    return values, problems


@bp.post("/automation/<name>/try", endpoint="automation_try")
def automation_try(name: str) -> Any:
    """Run the flow on a record in a transaction that is rolled back; show its log."""
    from tessera.web.feedback import problem_lines
    from tessera.web.shell import wants_fragment

    flow = _flow_or_404(name)
    locale = current_locale()
    form = {"record": request.form.get("record", "").strip(), "changes": request.form.get("changes", ""),
            "mode": "create" if request.form.get("mode") == "create" else "update"}
    result: dict[str, Any] = {"form": form, "log": [], "problems": [], "ran": False, "refused": False}
    if flow.kind not in TRIABLE or flow.object is None:
        result["problems"] = [_("Only record-triggered and scheduled flows can be tried on a record.")]
    elif not re.fullmatch(r"[0-9]{1,18}", form["record"]) or int(form["record"]) < 1:
        result["problems"] = [_("Give the id of a record (a whole number).")]
    else:
        values, result["problems"] = _parse_changes(form["changes"])
        if not result["problems"]:
            try:
                result["log"] = current_records().flows.dry_run(flow, int(form["record"]), changes=values,
                                                                as_update=form["mode"] == "update")
                result["ran"] = True
            except RecordNotFound:
                result["problems"] = [_("There is no %(object)s with the id %(id)s.",
                                        object=_object_label(flow.object, locale), id=form["record"])]
            except ValidationFailed as exc:
                result["problems"], result["refused"] = problem_lines(exc, current_registry().object(flow.object),
                                                                      locale), True
            except RecordError as exc:
                result["problems"], result["refused"] = [exc.message(locale)], True
    if wants_fragment():
        return render_template("admin/automation/_dry_run.html", dry_run=result)
    return flow_page(name, dry_run=result)


@bp.post("/automation/<name>/tests", endpoint="automation_tests")
def automation_tests(name: str) -> Any:
    """Run the flow's shipped tests (each case in a transaction that is rolled back)."""
    from tessera.flows.testing import FlowTestError, run_test_file

    _flow_or_404(name)
    tests, problem = _tests(name)
    results: list[Any] = []
    try:
        for test in tests:
            results.extend(run_test_file(current_records(), test))
    except FlowTestError as exc:
        problem = str(exc)
    return flow_page(name, results=results, tests_error=problem)


section("admin.automation", _l("Automation"))
