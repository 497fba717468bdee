"""Compile role documents (``roles/*.yaml``) into :class:`~tessera.metadata.model.RoleDef`."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from .errors import Problems
from .filters import parse_filter, walk
from .merge import MergedDocument
from .model import Label, ObjectDef, RoleDef, SharingRuleDef
from .schema import suggest
from .scope import RegistryScope


def compile_roles(merged: Mapping[str, MergedDocument], objects: Mapping[str, ObjectDef],
                  problems: Problems) -> dict[str, RoleDef]:
    roles: dict[str, RoleDef] = {}
    for name, doc in merged.items():
        data = doc.data
        permissions: dict[str, frozenset[str]] = {}
        for object_name, granted in (data.get("objects") or {}).items():
            if object_name != "*" and object_name not in objects:
                problems.add(doc.location(("objects", object_name), key=True),
                             f"'{object_name}' is not an object{suggest(object_name, objects)}")
                continue
            permissions[object_name] = frozenset(granted)
        field_rules: dict[tuple[str, str], str] = {}
        for key, level in (data.get("fields") or {}).items():
            object_name, _, field_name = key.partition(".")
            obj = objects.get(object_name)
            if obj is None:
                problems.add(doc.location(("fields", key), key=True),
                             f"'{object_name}' is not an object{suggest(object_name, objects)}")
            elif field_name not in obj.fields or obj.fields[field_name].system:
                problems.add(doc.location(("fields", key), key=True),
                             f"'{field_name}' is not a field of {object_name}{suggest(field_name, obj.fields)}")
            else:
                field_rules[(object_name, field_name)] = level
        sharing = tuple(rule for index, item in enumerate(data.get("sharing") or ())
                        if (rule := _sharing_rule(doc, index, item, objects, problems)) is not None)
        roles[name] = RoleDef(
            name=name, label=Label.of(data.get("label"), name), admin=bool(data.get("admin", False)),
            reports_to=data.get("reports_to"), objects=MappingProxyType(permissions),
            fields=MappingProxyType(field_rules), sharing=sharing, description=data.get("description", ""),
            package=doc.created_by.package)
    _check_hierarchy(merged, roles, problems)
    return roles


def _sharing_rule(doc: MergedDocument, index: int, item: Mapping[str, Any], objects: Mapping[str, ObjectDef],
                  problems: Problems) -> SharingRuleDef | None:
    where = ("sharing", index)
    object_name = item.get("object")
    if object_name not in objects:
        problems.add(doc.location(where + ("object",)), f"'{object_name}' is not an object{suggest(object_name, objects)}")
        return None
    scope = RegistryScope(objects, object_name)
    before = len(problems)
    parsed = parse_filter(item.get("filter"), scope.filter_resolver,
                          lambda p, m, k: problems.add(doc.location(where + ("filter",) + p, key=k), str(m)))
    if parsed is None or len(problems) > before:
        return None
    for condition in walk(parsed):
        at = doc.location(where + ("filter",) + condition.where, key=True)
        if len(condition.path) > 1:
            problems.add(at, f"a sharing rule filters on {object_name}'s own fields, not on '{condition.field}'")
            return None
        if not scope.field_at(condition.path).stored:
            problems.add(at, f"'{condition.field}' is a formula computed when read, so a sharing rule cannot use it")
            return None
    return SharingRuleDef(item.get("name") or f"rule_{index + 1}", object_name, parsed, item.get("access", "read"))


def _check_hierarchy(merged: Mapping[str, MergedDocument], roles: Mapping[str, RoleDef], problems: Problems) -> None:
    for name, role in roles.items():
        if role.reports_to is None:
            continue
        if role.reports_to not in roles:
            problems.add(merged[name].location(("reports_to",)),
                         f"'{role.reports_to}' is not a role{suggest(role.reports_to, roles)}")
            continue
        seen, current = [name], role.reports_to
        while current is not None and current in roles:
            if current in seen:
                problems.add(merged[name].location(("reports_to",)),
                             f"roles report to each other in a circle: {' -> '.join([*seen, current])}")
                break
            seen.append(current)
            current = roles[current].reports_to
