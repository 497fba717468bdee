"""What a flow step type and a flow trigger type are. Built-in steps and triggers register
through the same hooks as a plugin's (``tessera_register_flow_steps``/``_triggers``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any


class StepError(Exception):
    """Raised by a step's ``run`` when it cannot do its work: the flow stops, and the write
    that started it is refused with this message (naming the flow and the step)."""


@dataclass(frozen=True)
class FlowStepType:
    """A kind of step: ``input_schema`` (JSON Schema) checks the step's properties in flow
    metadata; ``prepare(compiler, properties)``, when given, turns them into what ``run`` takes
    (compiling formulas with ``compiler.formula``/``field_values``, nested steps with
    ``compiler.steps``) once, when the flows are compiled; ``run(context, prepared)`` does the
    work (a :class:`tessera.flows.engine.FlowRun`) and returns what later steps may read."""

    name: str
    label: Mapping[str, str]
    run: Callable[[Any, Any], Mapping[str, Any] | None]
    input_schema: Mapping[str, Any] = field(default_factory=lambda: {"type": "object"})
    description: str = ""
    prepare: Callable[[Any, Mapping[str, Any]], Any] | None = None


@dataclass(frozen=True)
class FlowTriggerType:
    """A kind of trigger (``record``, ``schedule``, ...): what starts a flow."""

    name: str
    label: Mapping[str, str]
    input_schema: Mapping[str, Any] = field(default_factory=lambda: {"type": "object"})
    description: str = ""
