"""Flows compiled from metadata: what starts them, what they check, what they do.

A flow document (``flows/*.yaml``) is validated by the flow JSON Schema when the registry is
built; here its formulas are compiled against its object and its steps against their step
types (built-in and plugin), once per registry build: the record service's flow engine reuses
what the build compiled when its step types are the same. A problem is a
:class:`FlowDefinitionError` naming the flow, the step and what is wrong.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import jsonschema

from tessera.expressions import CompiledExpression, FormulaError, FormulaType, compile_expression
from tessera.metadata.model import DocumentDef, Label, ObjectDef
from tessera.metadata.registry import Registry
from tessera.metadata.scope import RegistryScope

from .steps import FlowStepType

#: flows that change records start flows in turn; past this depth the write is refused
MAX_DEPTH = 5


class FlowDefinitionError(ValueError):
    """A flow that cannot run as written (found when the flows are compiled)."""

    def __init__(self, flow: str, where: str, message: str) -> None:
        self.flow, self.where, self.detail = flow, where, message
        super().__init__(f"flow '{flow}'{(' ' + where) if where else ''}: {message}")


@dataclass(frozen=True)
class Step:
    """One step of a flow: its type, where it sits (``steps[2]``, ``steps[1].then[0]``) and its
    properties as its type prepared them (formulas compiled)."""

    type: FlowStepType
    where: str
    name: str | None
    properties: Any


@dataclass(frozen=True)
class Transition:
    sources: frozenset[str] | None  # None: from any value (and from blank)
    targets: frozenset[str]
    condition: CompiledExpression | None = None
    roles: frozenset[str] | None = None
    message: Label | None = None


@dataclass(frozen=True)
class StageMachine:
    """The allowed changes of one picklist field; any change not listed is refused."""

    field: str
    transitions: tuple[Transition, ...]
    initial: frozenset[str] | None = None  # the values a new record may start with


@dataclass(frozen=True)
class Flow:
    name: str
    label: Label
    object: str | None
    kind: str  # record, schedule, manual, stage_machine
    events: frozenset[str] = frozenset()
    timing: str = "after_save"
    condition: CompiledExpression | None = None
    steps: tuple[Step, ...] = ()
    stage_machine: StageMachine | None = None
    schedule: str | None = None
    filter: Any = None
    active: bool = True
    approval: Any = None  # an ApprovalProcess (flows/approvals.py)
    #: every step of the flow, nested ones too, by where it sits (``steps[1].then[0]``)
    step_index: Mapping[str, Step] = field(default_factory=dict)


@dataclass
class StepCompiler:
    """What a step type's ``prepare`` gets: formula compilation in the scope of an object, and
    the compilation of nested step lists (branches, loops)."""

    registry: Registry
    flow: str
    object: str | None
    where: str
    step_types: Mapping[str, FlowStepType]
    _compile_steps: Any = field(default=None, repr=False)

    def fail(self, message: str, *, at: str = "") -> FlowDefinitionError:
        """The problem ``message`` at this step, or at ``at`` inside it (``values.amount``)."""
        return FlowDefinitionError(self.flow, f"{self.where}.{at}" if at else self.where, message)

    def object_def(self, name: str | None = None) -> ObjectDef:
        name = name or self.object
        if name is None or name not in self.registry.objects:
            raise self.fail(f"unknown object '{name}'" if name else "this step needs the flow's 'object'")
        return self.registry.objects[name]

    def formula(self, source: Any, *, expected: FormulaType | None = None, object_name: str | None = None,
                key: str = "") -> CompiledExpression:
        if isinstance(source, bool):  # YAML's true/false and numbers are formulas too
            source = "TRUE" if source else "FALSE"
        elif isinstance(source, int | float):
            source = str(source)
        if not isinstance(source, str):
            raise self.fail(f"{key or 'a formula'} must be a formula (text), not {type(source).__name__}", at=key)
        scope = RegistryScope.of(self.registry, self.object_def(object_name).name)
        try:
            return compile_expression(source, scope, expected=expected, functions=self.registry.functions)
        except FormulaError as exc:
            raise self.fail(f"{key + ': ' if key else ''}{exc.message} (in '{source}')", at=key) from None

    def field_values(self, values: Any, *, target: str | None = None, scope: str | None = None,
                     key: str = "values") -> dict[str, Any]:
        """``{field: formula}`` for a write to ``target`` (default: the flow's object), the
        formulas read in the scope of ``scope`` (default: the flow's object): each field must
        exist and be one a flow may set, each formula must give that field's type."""
        if not isinstance(values, Mapping) or not values:
            raise self.fail(f"'{key}' must map field names to formulas")
        obj = self.object_def(target)
        types = RegistryScope.of(self.registry, obj.name)
        compiled: dict[str, CompiledExpression] = {}
        for name, source in values.items():
            field_def = obj.fields.get(name)
            if field_def is None or field_def.system and name != "owner_id":
                raise self.fail(f"{key}: {obj.name} has no field '{name}' a flow may set", at=f"{key}.{name}")
            if field_def.formula is not None or field_def.rollup is not None:
                raise self.fail(f"{key}: {obj.name}.{name} is computed; a flow cannot set it", at=f"{key}.{name}")
            expected = types.resolve((name,))
            compiled[name] = self.formula(source, expected=None if expected is FormulaType.NULL else expected,
                                          object_name=scope, key=f"{key}.{name}")
        return compiled

    def steps(self, items: Any, where: str, *, object_name: str | None = None) -> tuple[Step, ...]:
        return self._compile_steps(items, where, self.object if object_name is None else object_name)


@dataclass(frozen=True)
class CompiledFlows:
    """Every flow of a registry, compiled (by name, in name order) with ``step_types``: what
    the registry build compiled to check the flows, kept as ``Registry.compiled_flows`` for
    the flow engine (see :func:`flows_for`). ``source`` is what the compilation read of that
    registry (:func:`compiled_from`)."""

    step_types: Mapping[str, FlowStepType]
    flows: Mapping[str, Flow]
    source: tuple[Any, ...]


def compiled_from(registry: Registry) -> tuple[Any, ...]:
    """What compiling the flows reads of ``registry``: a copy of it with other metadata
    (``dataclasses.replace``) does not reuse flows compiled for the original."""
    return registry.objects, registry.flows, registry.roles, registry.functions


def flows_for(registry: Registry, step_types: Mapping[str, FlowStepType]) -> dict[str, Flow]:
    """Every flow of ``registry`` compiled with ``step_types``: the ones its build compiled
    when it used the same step types (a plugin can add some), else compiled now as
    :func:`compile_flows` does."""
    built = registry.compiled_flows
    if (built is not None and built.step_types == step_types
            and all(a is b for a, b in zip(built.source, compiled_from(registry), strict=True))):
        return dict(built.flows)
    return compile_flows(registry, step_types)


def compile_flows(registry: Registry, step_types: Mapping[str, FlowStepType]) -> dict[str, Flow]:
    """Every flow of ``registry``, compiled; raises :class:`FlowDefinitionError` on the first
    that cannot run."""
    return {name: compile_flow(doc, registry, step_types) for name, doc in sorted(registry.flows.items())}


def compile_flow(doc: DocumentDef, registry: Registry, step_types: Mapping[str, FlowStepType]) -> Flow:
    """One flow, compiled; raises :class:`FlowDefinitionError` when it cannot run as written."""
    data = doc.data
    trigger = data.get("trigger") or {}
    kind = str(trigger.get("type") or "record")
    object_name = data.get("object")
    if object_name is not None and object_name not in registry.objects:
        raise FlowDefinitionError(doc.name, "", f"unknown object '{object_name}'")
    by_where: dict[str, Step] = {}

    def compile_steps(items: Any, where: str, scope_object: str | None) -> tuple[Step, ...]:
        if items is None:
            return ()
        if not isinstance(items, Sequence) or isinstance(items, str):
            raise FlowDefinitionError(doc.name, where, "steps must be a list")
        steps = []
        for index, item in enumerate(items):
            at = f"{where}[{index}]"
            if not isinstance(item, Mapping) or "type" not in item:
                raise FlowDefinitionError(doc.name, at, "a step needs a 'type'")
            step_type = step_types.get(str(item["type"]))
            if step_type is None:
                known = ", ".join(sorted(step_types))
                raise FlowDefinitionError(doc.name, at, f"unknown step type '{item['type']}' (known: {known})")
            properties = {k: v for k, v in item.items() if k not in ("type", "name", "label")}
            try:
                jsonschema.validate(properties, dict(step_type.input_schema))
            except jsonschema.ValidationError as exc:
                place = ".".join(str(p) for p in exc.absolute_path)
                raise FlowDefinitionError(doc.name, at + (f".{place}" if place else ""),
                                          f"{step_type.name}: {exc.message}") from None
            compiler = StepCompiler(registry, doc.name, scope_object, at, step_types, compile_steps)
            prepared = step_type.prepare(compiler, properties) if step_type.prepare else properties
            steps.append(Step(step_type, at, item.get("name"), prepared))
            by_where[at] = steps[-1]
        return tuple(steps)

    root = StepCompiler(registry, doc.name, object_name, "trigger", step_types, compile_steps)
    condition = None
    if trigger.get("condition") is not None:
        condition = root.formula(trigger["condition"], expected=FormulaType.BOOLEAN, key="condition")
    machine = _stage_machine(doc, registry, root) if kind == "stage_machine" else None
    approval = None
    if kind == "approval":
        from .approvals import compile_approval

        approval = compile_approval(root, data, doc.label, condition)
    steps = compile_steps(data.get("steps"), "steps", object_name)
    return Flow(
        name=doc.name, label=doc.label, object=object_name, kind=kind,
        events=frozenset(trigger.get("events") or ()), timing=str(trigger.get("timing") or "after_save"),
        condition=condition, steps=steps, stage_machine=machine, schedule=trigger.get("schedule"),
        filter=trigger.get("filter"), active=bool(data.get("active", True)), approval=approval,
        step_index=by_where)


def _stage_machine(doc: DocumentDef, registry: Registry, compiler: StepCompiler) -> StageMachine:
    data = doc.data
    obj = compiler.object_def()
    field_name = data.get("field")
    target = obj.fields.get(str(field_name)) if field_name else None
    if target is None or target.type != "picklist":
        raise FlowDefinitionError(doc.name, "field", f"a stage machine needs a picklist field of {obj.name}")
    options = {o.value for o in target.options}

    def values(raw: Any, where: str) -> frozenset[str] | None:
        if raw in (None, "*"):
            return None
        items = [raw] if isinstance(raw, str) else list(raw)
        unknown = [str(v) for v in items if v not in options]
        if unknown:
            raise FlowDefinitionError(doc.name, where, f"{', '.join(unknown)}: not an option of {obj.name}.{field_name}")
        return frozenset(items)

    transitions = []
    for index, item in enumerate(data.get("transitions") or ()):
        at = f"transitions[{index}]"
        targets = values(item.get("to"), at + ".to")
        if targets is None:
            raise FlowDefinitionError(doc.name, at + ".to", "name the values a transition leads to")
        condition = None
        if item.get("condition") is not None:
            compiler.where = at
            condition = compiler.formula(item["condition"], expected=FormulaType.BOOLEAN, key="condition")
        roles = frozenset(item["roles"]) if item.get("roles") else None
        unknown_roles = sorted((roles or frozenset()) - set(registry.roles))
        if unknown_roles:
            raise FlowDefinitionError(doc.name, at + ".roles", f"unknown role {', '.join(unknown_roles)}")
        message = Label.of(item["message"]) if item.get("message") else None
        transitions.append(Transition(values(item.get("from"), at + ".from"), targets, condition, roles, message))
    return StageMachine(str(field_name), tuple(transitions), values(data.get("initial"), "initial"))
