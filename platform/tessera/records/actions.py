"""Record actions: named operations on one record (a button on its page, and
``POST /api/v1/{object}/{id}/actions/{name}``), registered by plugins.

An action declares the objects it applies to, the JSON Schema of its input, the record
permission the actor needs and its handler. Running one checks the input (every problem at
once, in the same bilingual messages as record fields), loads the record, and calls the handler
inside the unit of work: what the handler writes through ``call.work`` commits with it or not
at all.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from . import errors as E
from .errors import Problem, RecordError

_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
_INPUT_MESSAGES = {
    "required": E.REQUIRED, "additionalProperties": E.UNKNOWN_FIELD, "enum": E.NOT_AN_OPTION,
    "maxLength": E.TOO_LONG, "minimum": E.BELOW_MIN, "maximum": E.ABOVE_MAX,
}
_TYPE_MESSAGES = {"number": E.NOT_A_NUMBER, "integer": E.NOT_A_WHOLE_NUMBER, "string": E.NOT_TEXT,
                  "boolean": E.NOT_TRUE_FALSE, "array": E.NOT_A_LIST}


@dataclass(frozen=True)
class ActionCall:
    """What a handler gets: the object, the record as read, the checked input, who acts, the
    org, and the unit of work to read and write other records in the same transaction."""

    object: Any
    record: Mapping[str, Any]
    input: Mapping[str, Any]
    actor: Any
    org: str
    work: Any


@dataclass(frozen=True)
class ActionDef:
    """A record action. ``objects`` lists the objects it applies to (``("*",)`` for all);
    ``permission`` is the record permission the actor needs (``read``, ``edit``, ``delete``);
    ``handler(call)`` returns a JSON-ready mapping (the action's result) or None."""

    name: str
    label: Mapping[str, str]
    handler: Callable[[ActionCall], Mapping[str, Any] | None]
    objects: tuple[str, ...] = ("*",)
    input_schema: Mapping[str, Any] = field(
        default_factory=lambda: {"type": "object", "properties": {}, "additionalProperties": False})
    permission: str = "edit"
    description: str = ""

    def __post_init__(self) -> None:
        if not _NAME.match(self.name):
            raise ValueError(f"action name '{self.name}' must be lowercase letters, digits and underscores")
        if not self.label.get("en") or not self.label.get("zh-CN"):
            raise ValueError(f"action '{self.name}' needs a label in en and zh-CN")
        if self.permission not in ("read", "edit", "delete"):
            raise ValueError(f"action '{self.name}': permission must be read, edit or delete")
        try:
            Draft202012Validator.check_schema(self.input_schema)
        except SchemaError as exc:
            raise ValueError(f"action '{self.name}': its input_schema is not a valid JSON Schema: "
                             f"{exc.message}") from None
        object.__setattr__(self, "_validator", Draft202012Validator(self.input_schema))

    def applies_to(self, object_name: str) -> bool:
        return "*" in self.objects or object_name in self.objects

    def check_input(self, data: Any) -> dict[str, list[Problem]]:
        """Every problem with ``data``, by input property (``_record`` for the whole input)."""
        problems: dict[str, list[Problem]] = {}
        for error in self._validator.iter_errors(data):  # type: ignore[attr-defined]
            path = [str(p) for p in error.absolute_path]
            key = ".".join(path) or E.RECORD
            if error.validator == "required":
                for name in error.validator_value:
                    if isinstance(error.instance, dict) and name not in error.instance:
                        problems.setdefault(".".join([*path, name]), []).append(Problem(E.REQUIRED))
                continue
            if error.validator == "additionalProperties" and isinstance(error.instance, dict):
                known = set(error.schema.get("properties", {}))
                for name in error.instance:
                    if name not in known:
                        problems.setdefault(".".join([*path, name]), []).append(
                            Problem(E.UNKNOWN_FIELD, {"name": name}))
                continue
            if error.validator == "type":
                wanted = error.validator_value if isinstance(error.validator_value, str) else error.validator_value[0]
                problems.setdefault(key, []).append(Problem(_TYPE_MESSAGES.get(wanted, E.INVALID_VALUE)))
                continue
            message = _INPUT_MESSAGES.get(str(error.validator), E.INVALID_VALUE)
            params = {"max": error.validator_value, "min": error.validator_value, "value": error.instance}
            problems.setdefault(key, []).append(Problem(message, params))
        return problems


class UnknownAction(RecordError):
    status = 404

    def __init__(self, object_name: str, name: str, known: Iterable[str]) -> None:
        self.object, self.name = object_name, name
        names = ", ".join(sorted(known)) or "none"
        super().__init__(f"{object_name} has no action '{name}' (its actions: {names})")


class ActionRegistry:
    """The actions of one app, checked for clashes when registered."""

    def __init__(self) -> None:
        self._actions: dict[str, ActionDef] = {}
        self._owners: dict[str, str] = {}

    def register(self, action: ActionDef, owner: str = "") -> None:
        other = self._actions.get(action.name)
        if other is not None:
            raise ValueError(f"action '{action.name}' is registered by both '{self._owners[action.name]}' "
                             f"and '{owner}'")
        self._actions[action.name] = action
        self._owners[action.name] = owner

    def owner(self, name: str) -> str:
        """The plugin that registered action ``name``."""
        return self._owners.get(name, "unknown")

    def for_object(self, object_name: str) -> list[ActionDef]:
        return [a for a in self._actions.values() if a.applies_to(object_name)]

    def get(self, object_name: str, name: str) -> ActionDef:
        action = self._actions.get(name)
        if action is None or not action.applies_to(object_name):
            raise UnknownAction(object_name, name, (a.name for a in self.for_object(object_name)))
        return action

    def __iter__(self):
        return iter(self._actions.values())

    def __len__(self) -> int:
        return len(self._actions)
