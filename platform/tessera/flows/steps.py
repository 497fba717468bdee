"""What a flow step type and a flow trigger type are. Built-in steps and triggers register
through the same hooks as a plugin's (``tessera_register_flow_steps``/``_triggers``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class FlowStepType:
    """A kind of step: ``input_schema`` (JSON Schema) checks the step's properties in flow
    metadata; ``run(context, properties)`` does the work and returns what later steps may read."""

    name: str
    label: Mapping[str, str]
    run: Callable[[Any, Mapping[str, Any]], Mapping[str, Any] | None]
    input_schema: Mapping[str, Any] = field(default_factory=lambda: {"type": "object"})
    description: str = ""


@dataclass(frozen=True)
class FlowTriggerType:
    """A kind of trigger (``record``, ``schedule``, ...): what starts a flow."""

    name: str
    label: Mapping[str, str]
    input_schema: Mapping[str, Any] = field(default_factory=lambda: {"type": "object"})
    description: str = ""
