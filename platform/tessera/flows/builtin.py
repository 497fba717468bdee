"""The built-in flow steps. Values are formulas of the one formula language, evaluated against
the record the step looks at (``PRIORVALUE``/``ISCHANGED`` see the change that started the
flow). See docs/flows.md for each step's properties.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tessera.expressions import FormulaType

from .notify import NOTIFY_STEP
from .steps import FlowStepType, StepError
from .waits import WAIT_STEP
from .webhooks import WEBHOOK_STEP

_FORMULA = {"type": ["string", "number", "boolean"]}
_VALUES = {"type": "object", "minProperties": 1, "additionalProperties": _FORMULA}
_STEPS = {"type": "array", "items": {"type": "object", "required": ["type"]}}
#: a loop or an update of related records reaches at most this many records
MAX_RELATED = 1000


# ------------------------------------------------------------------------------ set_fields

def _prepare_set_fields(compiler: Any, props: Mapping[str, Any]) -> Any:
    return compiler.field_values(props["values"])


def _run_set_fields(run: Any, values: Any) -> Mapping[str, Any]:
    computed = run.values(values)
    run.set_fields(computed)
    return computed


# ------------------------------------------------------------------------------ create_record

def _prepare_create(compiler: Any, props: Mapping[str, Any]) -> Any:
    target = compiler.object_def(props["object"]).name
    return target, compiler.field_values(props["values"], target=target)


def _run_create(run: Any, prepared: Any) -> Mapping[str, Any]:
    target, values = prepared
    created = run.work.create(target, run.values(values))
    run.note(f"created {target} {created['id']} ({created.get(run.engine.service.registry.object(target).name_field)})")
    return {"id": created["id"]}


# ------------------------------------------------------------------------------ related records

def _prepare_related(compiler: Any, props: Mapping[str, Any]) -> Any:
    child = compiler.object_def(props["object"])
    link = child.fields.get(props["field"])
    if link is None or link.target != compiler.object_def().name:
        raise compiler.fail(f"{child.name}.{props['field']} is not a lookup to {compiler.object_def().name}")
    condition = None
    if props.get("condition") is not None:
        condition = compiler.formula(props["condition"], expected=FormulaType.BOOLEAN, object_name=child.name,
                                     key="condition")
    values = compiler.field_values(props["values"], target=child.name, scope=child.name) if "values" in props else None
    steps = compiler.steps(props.get("steps"), compiler.where + ".steps", object_name=child.name) \
        if "steps" in props else ()
    return child.name, link.name, condition, values, steps


def _related(run: Any, child: str, link: str, condition: Any) -> list[dict[str, Any]]:
    record_id = run.record.get("id")
    if record_id is None:
        return []
    page = run.work.query(child, filter={link: record_id}, limit=MAX_RELATED, sort=["id"])
    if page.next_cursor is not None:
        raise StepError(f"more than {MAX_RELATED} {child} records are linked; a flow handles at most {MAX_RELATED}")
    rows = [run.work.get(child, row["id"]) for row in page.rows]
    if condition is not None:
        rows = [row for row in rows if run.evaluate(condition, record=row, object_name=child, prior=row)]
    return rows


def _run_update_related(run: Any, prepared: Any) -> Mapping[str, Any]:
    child, link, condition, values, _steps = prepared
    rows = _related(run, child, link, condition)
    for row in rows:
        computed = run.values(values, record=row, object_name=child)
        run.work.update(child, row["id"], computed, version=None)
    run.note(f"updated {len(rows)} {child} record(s) linked by {link}")
    return {"count": len(rows)}


def _run_loop(run: Any, prepared: Any) -> Mapping[str, Any]:
    child, link, condition, _values, steps = prepared
    rows = _related(run, child, link, condition)
    for row in rows:
        run.for_record(child, row).run_steps(steps)
    run.note(f"looped over {len(rows)} {child} record(s)")
    return {"count": len(rows)}


# ------------------------------------------------------------------------------ branch, decision

def _prepare_branch(compiler: Any, props: Mapping[str, Any]) -> Any:
    condition = compiler.formula(props["if"], expected=FormulaType.BOOLEAN, key="if")
    return (condition, compiler.steps(props.get("then"), compiler.where + ".then"),
            compiler.steps(props.get("else"), compiler.where + ".else"))


def _run_branch(run: Any, prepared: Any) -> Mapping[str, Any]:
    condition, then, otherwise = prepared
    taken = bool(run.evaluate(condition))
    run.note(f"branch: {'then' if taken else 'else'}")
    run.run_steps(then if taken else otherwise)
    return {"taken": "then" if taken else "else"}


def _prepare_decision(compiler: Any, props: Mapping[str, Any]) -> Any:
    outcomes = []
    for index, outcome in enumerate(props["outcomes"]):
        where = f"{compiler.where}.outcomes[{index}]"
        outcomes.append((outcome["name"],
                         compiler.formula(outcome["when"], expected=FormulaType.BOOLEAN, key=f"outcomes[{index}].when"),
                         compiler.steps(outcome.get("steps"), where + ".steps")))
    return tuple(outcomes), compiler.steps(props.get("default"), compiler.where + ".default")


def _run_decision(run: Any, prepared: Any) -> Mapping[str, Any]:
    outcomes, default = prepared
    for name, when, steps in outcomes:
        if run.evaluate(when):
            run.note(f"decision: {name}")
            run.run_steps(steps)
            return {"outcome": name}
    run.note("decision: default")
    run.run_steps(default)
    return {"outcome": None}


# ------------------------------------------------------------------------------ plugin actions

def _prepare_action(compiler: Any, props: Mapping[str, Any]) -> Any:
    inputs = {}
    for key, source in (props.get("input") or {}).items():
        inputs[key] = compiler.formula(source, key=f"input.{key}")
    return props["action"], inputs


def _run_action(run: Any, prepared: Any) -> Mapping[str, Any]:
    action, inputs = prepared
    data = {key: _jsonable(run.evaluate(f)) for key, f in inputs.items()}
    result = run.work.run_action(run.object, run.record["id"], action, data)
    run.note(f"ran the action {action} on {run.object} {run.record['id']}")
    return dict(result or {})


def _jsonable(value: Any) -> Any:
    from decimal import Decimal

    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def _label(en: str, zh: str) -> dict[str, str]:
    return {"en": en, "zh-CN": zh}


BUILTIN_STEPS: tuple[FlowStepType, ...] = (
    FlowStepType("set_fields", _label("Set fields", "设置字段"), _run_set_fields,
                 {"type": "object", "required": ["values"], "additionalProperties": False,
                  "properties": {"values": _VALUES}},
                 "Set fields of the record (before saving: in the same write).", _prepare_set_fields),
    FlowStepType("create_record", _label("Create a record", "创建记录"), _run_create,
                 {"type": "object", "required": ["object", "values"], "additionalProperties": False,
                  "properties": {"object": {"type": "string"}, "values": _VALUES}},
                 "Create a record of any object; its id is the step's output.", _prepare_create),
    FlowStepType("update_related", _label("Update related records", "更新相关记录"), _run_update_related,
                 {"type": "object", "required": ["object", "field", "values"], "additionalProperties": False,
                  "properties": {"object": {"type": "string"}, "field": {"type": "string"},
                                 "condition": _FORMULA, "values": _VALUES}},
                 "Update the records of an object whose lookup points at this record.", _prepare_related),
    FlowStepType("loop", _label("Loop over related records", "遍历相关记录"), _run_loop,
                 {"type": "object", "required": ["object", "field", "steps"], "additionalProperties": False,
                  "properties": {"object": {"type": "string"}, "field": {"type": "string"},
                                 "condition": _FORMULA, "steps": _STEPS}},
                 "Run steps for each related record (formulas inside see that record).", _prepare_related),
    FlowStepType("branch", _label("If / else", "条件分支"), _run_branch,
                 {"type": "object", "required": ["if"], "additionalProperties": False,
                  "properties": {"if": _FORMULA, "then": _STEPS, "else": _STEPS}},
                 "Run 'then' when the condition holds, else 'else'.", _prepare_branch),
    FlowStepType("decision", _label("Decision", "决策"), _run_decision,
                 {"type": "object", "required": ["outcomes"], "additionalProperties": False,
                  "properties": {"outcomes": {"type": "array", "minItems": 1, "items": {
                      "type": "object", "required": ["name", "when"], "additionalProperties": False,
                      "properties": {"name": {"type": "string"}, "when": _FORMULA, "steps": _STEPS}}},
                      "default": _STEPS}},
                 "Run the steps of the first outcome whose condition holds.", _prepare_decision),
    FlowStepType("call_action", _label("Run a record action", "执行记录操作"), _run_action,
                 {"type": "object", "required": ["action"], "additionalProperties": False,
                  "properties": {"action": {"type": "string"},
                                 "input": {"type": "object", "additionalProperties": _FORMULA}}},
                 "Run a plugin's record action on this record.", _prepare_action),
    NOTIFY_STEP,
    WAIT_STEP,
    WEBHOOK_STEP,
)
