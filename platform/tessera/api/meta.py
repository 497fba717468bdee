"""Describe: what the caller's org holds and what the caller may do with it.

``GET /api/v1/meta/objects`` lists the objects the caller may read; ``/meta/objects/{object}``
describes one: fields (type, labels in the caller's locale, help, required, read-only *for the
caller*, picklist options, lookup targets, formula result types), the form layout, list views,
related lists, actions and the caller's permissions. Fields hidden from the caller are left out
everywhere (also from layouts and list views). ``/meta/schemas/{kind}.json`` serves the metadata
JSON Schemas editors validate against.
"""

from __future__ import annotations

from typing import Any

from flask import current_app

from tessera.metadata.filters import Condition, Filter, Group, walk
from tessera.metadata.model import FieldDef, ListViewDef, ObjectDef
from tessera.metadata.schema import KINDS, SchemaSet

from .context import Caller, caller, refuse_unknown_parameters
from .messages import say
from .problems import ApiProblem
from .schemas import read_only
from .serialize import json_response

#: the permissions the describe calls report
PERMISSIONS = ("create", "read", "edit", "delete")


def list_objects() -> Any:
    who = caller()
    refuse_unknown_parameters((), who.locale)
    objects = [summary(who, obj) for obj in sorted(who.registry.objects.values(), key=lambda o: o.name)
               if who.access.allows(obj.name, "read")]
    return json_response({"data": objects})


def describe_object(object_name: str) -> Any:
    who = caller()
    obj = who.object(object_name)
    refuse_unknown_parameters((), who.locale)
    who.access.require(obj.name, "read")
    return json_response(describe(who, obj))


def metadata_schema(kind: str) -> Any:
    who = caller()
    refuse_unknown_parameters((), who.locale)
    if kind not in (*KINDS, "common"):
        raise ApiProblem("not-found", say("unknown_kind", who.locale, kind=kind))
    return json_response(schema_set(who).schema(kind))


def schema_set(who: Caller) -> SchemaSet:
    """One SchemaSet per set of field types (building one compiles every validator)."""
    cache: dict[int, tuple[Any, SchemaSet]] = current_app.extensions.setdefault("tessera.api.schemas", {})
    types = who.registry.field_types
    found = cache.get(id(types))
    if found is None or found[0] is not types:
        found = (types, SchemaSet(types))
        cache[id(types)] = found
    return found[1]


# ------------------------------------------------------------------------------ describing

def summary(who: Caller, obj: ObjectDef) -> dict[str, Any]:
    locale = who.locale
    return {"name": obj.name, "label": obj.label(locale), "plural_label": obj.plural_label(locale),
            "description": obj.description or None, "icon": obj.icon, "color": obj.color,
            "name_field": obj.name_field, "permissions": permissions(who, obj.name)}


def permissions(who: Caller, object_name: str) -> dict[str, bool]:
    return {name: who.access.allows(object_name, name) for name in PERMISSIONS}


def describe(who: Caller, obj: ObjectDef) -> dict[str, Any]:
    locale = who.locale
    hidden = who.access.hidden(obj.name)
    caller_read_only = who.access.read_only(obj.name)
    visible = [f for f in obj.fields.values() if f.name not in hidden]
    result = summary(who, obj)
    result["search_fields"] = [name for name in obj.search_fields if name not in hidden]
    result["fields"] = [describe_field(f, locale, caller_read_only) for f in visible]
    result["layout"] = _layout(obj, hidden, locale)
    result["list_views"] = [
        {"name": view.name, "label": view.label(locale), "columns": [c for c in view.columns if _shown(c, hidden)],
         "sort": list(view.sort), "filter": filter_data(view.filter), "kanban_field": view.kanban_field,
         "default": view.default}
        for view in obj.list_views.values() if _view_visible(view, hidden)]
    result["related_lists"] = [
        {"name": rel.name, "object": rel.object, "field": rel.field, "master_detail": rel.master_detail}
        for rel in obj.relations if who.access.allows(rel.object, "read")]
    result["actions"] = [
        {"name": action.name, "label": action.label.get(locale) or action.label["en"],
         "description": action.description or None, "permission": action.permission,
         "input_schema": dict(action.input_schema)}
        for action in who.service.actions.for_object(obj.name)]
    return result


def describe_field(field: FieldDef, locale: str, caller_read_only: frozenset[str] = frozenset()) -> dict[str, Any]:
    described: dict[str, Any] = {
        "name": field.name, "type": field.type, "label": field.label(locale),
        "help": field.help(locale) if field.help else None,
        "required": field.required, "read_only": read_only(field, caller_read_only), "unique": field.unique,
        "system": field.system, "filterable": field.stored, "value_type": field.formula_type.value,
    }
    for name in ("max_length", "precision", "scale", "min", "max", "result", "target", "related_name",
                 "on_delete", "pattern"):
        value = getattr(field, name)
        if value is not None:
            described[name] = value
    if field.default is not None:
        described["default"] = field.default
    for name in ("visible_when", "required_when", "read_only_when"):
        expression = getattr(field, name)
        if expression is not None:
            described[name] = expression.source
    if field.options:
        described["options"] = [
            {"value": o.value, "label": o.label(locale), "color": o.color, "active": o.active}
            for o in field.options]
    if field.rollup is not None:
        described["rollup"] = {"object": field.rollup.object, "relationship": field.rollup.relationship,
                               "aggregate": field.rollup.aggregate, "field": field.rollup.field}
    return described


def _layout(obj: ObjectDef, hidden: frozenset[str], locale: str) -> dict[str, Any] | None:
    if obj.form is None:
        return None
    return {"sections": [
        {"name": section.name, "label": section.label(locale), "collapsed": section.collapsed,
         "columns": [[name for name in column if name not in hidden] for column in section.columns]}
        for section in obj.form.sections]}


def _shown(path: str, hidden: frozenset[str]) -> bool:
    return path.split(".")[0] not in hidden


def _view_visible(view: ListViewDef, hidden: frozenset[str]) -> bool:
    """A list view that filters or sorts on a hidden field is not the caller's to use."""
    if not hidden:
        return True
    paths = [key.lstrip("-") for key in view.sort]
    if view.filter is not None:
        paths += [condition.field for condition in walk(view.filter)]
    return all(_shown(path, hidden) for path in paths)


def filter_data(filter_: Filter | None) -> Any:
    """A parsed filter back in the one filter syntax (``{"status__in": [...]}``)."""
    if filter_ is None:
        return None
    if isinstance(filter_, Condition):
        key = filter_.field if filter_.op == "eq" else f"{filter_.field}__{filter_.op}"
        return {key: filter_.value}
    if isinstance(filter_, Group) and filter_.kind == "not":
        return {"not": filter_data(filter_.items[0])}
    items = [filter_data(item) for item in filter_.items]
    if filter_.kind == "and" and all(isinstance(i, Condition) for i in filter_.items):
        merged: dict[str, Any] = {}
        for item in items:
            merged.update(item)
        if len(merged) == len(items):
            return merged
    return {filter_.kind: items}
