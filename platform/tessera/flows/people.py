"""Who a flow means: the approvers of an approval step, the recipients of a notification.

A person is named by one of ``{user: username}``, ``{role: name}`` (everyone with that role),
``{manager_of: field}`` (the manager of the user a field holds, e.g. the owner's manager) or
``{field: name}`` (the user a field holds, e.g. ``owner_id``). The spec is checked when the flow
is compiled (:func:`check_person`) and resolved against a record when the flow runs
(:func:`resolve_people`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

KINDS = ("user", "role", "manager_of", "field")

#: the JSON Schema of one person spec
PERSON_SCHEMA = {"type": "object", "minProperties": 1, "maxProperties": 1, "additionalProperties": False,
                 "properties": {kind: {"type": "string"} for kind in KINDS}}


def check_person(compiler: Any, spec: Any, *, at: str) -> dict[str, str]:
    """``spec`` checked against the flow's object (``compiler`` is its StepCompiler); raises
    the compiler's FlowDefinitionError at ``at`` when it cannot name anyone."""
    if not isinstance(spec, Mapping) or len(spec) != 1:
        raise compiler.fail("a person is one of user, role, manager_of or field", at=at)
    kind, value = next(iter(spec.items()))
    if kind not in KINDS or not isinstance(value, str):
        raise compiler.fail("a person is one of user, role, manager_of or field", at=at)
    if kind in ("manager_of", "field"):
        obj = compiler.object_def()
        target = obj.fields.get(value)
        if target is None or not (value == "owner_id" or target.type == "lookup" and target.target == "user"
                                  or target.type == "integer"):
            raise compiler.fail(f"{kind}: {obj.name}.{value} does not hold a user", at=at)
    elif kind == "role" and value not in compiler.registry.roles:
        raise compiler.fail(f"role: unknown role '{value}'", at=at)
    return {kind: value}


def resolve_people(service: Any, spec: Mapping[str, Any], record: Mapping[str, Any]) -> set[int]:
    """The ids of the users ``spec`` names for ``record`` (none when there is no user
    directory, the field is blank or the user has no manager)."""
    directory = service.policy.directory
    kind, value = next(iter(spec.items()))
    if kind == "field":
        return {int(record[value])} if record.get(value) is not None else set()
    if directory is None:
        return set()
    if kind == "role":
        return set(directory.users_in_roles(service.org, [value]))
    if kind == "user":
        found = directory.user(service.org, str(value)) if hasattr(directory, "user") else None
        return {found.id} if found is not None and found.active else set()
    holder = record.get(value)  # manager_of
    user = directory.user_by_id(int(holder)) if holder is not None and hasattr(directory, "user_by_id") else None
    return {user.manager_id} if user is not None and user.manager_id is not None else set()


def user_of(service: Any, user_id: int) -> Any:
    """The directory's user with this id (None without a directory or when there is none)."""
    directory = service.policy.directory
    if directory is None or not hasattr(directory, "user_by_id"):
        return None
    return directory.user_by_id(user_id)
