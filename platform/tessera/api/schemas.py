"""JSON Schema (2020-12, as OpenAPI 3.1 uses it) of records, built straight from FieldDefs.

One place says how each field type looks on the wire, both ways:

* **out** (:func:`record_schema`): what a read returns — every field the reader may see,
  nullable, ``readOnly`` when computed, system or read-only; money and decimals are strings;
* **in** (:func:`input_schema`): what a create or update takes — the writable fields, enums of
  the active picklist options, lengths and ranges, ``required`` for create; unknown members are
  refused (``additionalProperties: false``), as the record service refuses them.

Field types a plugin adds are described from their formula type (text, number, date ...).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tessera.expressions import FormulaType
from tessera.metadata.model import FieldDef, ObjectDef
from tessera.metadata.registry import Registry

from tessera.records.inputs import _EMAIL, _PHONE, _URL, WRITABLE_SYSTEM_FIELDS

INT64_MAX = 2**63 - 1
DECIMAL_PATTERN = r"^-?[0-9]+(\.[0-9]+)?$"
_TEXT = {"text": None, "textarea": None, "phone": None, "email": "email", "url": "uri"}
_DECIMALS = ("decimal", "currency", "percent")
#: the shapes the record service checks text of these types against
_SHAPES = {"email": _EMAIL.pattern, "url": _URL.pattern, "phone": _PHONE.pattern}
_BY_FORMULA_TYPE: Mapping[FormulaType, dict[str, Any]] = {
    FormulaType.TEXT: {"type": "string"},
    FormulaType.NUMBER: {"type": ["number", "string"]},
    FormulaType.BOOLEAN: {"type": "boolean"},
    FormulaType.DATE: {"type": "string", "format": "date"},
    FormulaType.DATETIME: {"type": "string", "format": "date-time"},
    FormulaType.ID: {"type": "integer", "minimum": 1, "maximum": INT64_MAX},
    FormulaType.LIST: {"type": "array", "items": {"type": "string"}},
}


def schema_name(object_name: str, kind: str = "") -> str:
    """Component names: ``lead`` (a record as read), ``lead.input``, ``lead.update``, ``lead.page``."""
    return f"{object_name}.{kind}" if kind else object_name


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def value_schema(field: FieldDef, registry: Registry, *, writing: bool = False) -> dict[str, Any]:
    """The schema of one field's value (not nullable; see :func:`nullable`)."""
    return _value(field, field.type, registry, writing)


def _value(field: FieldDef, kind: str, registry: Registry, writing: bool) -> dict[str, Any]:
    if kind in _TEXT:
        schema: dict[str, Any] = {"type": "string"}
        if field.max_length:
            schema["maxLength"] = field.max_length
        if _TEXT[kind]:
            schema["format"] = _TEXT[kind]
        if writing and kind in _SHAPES:
            schema["pattern"] = _SHAPES[kind]
        return schema
    if kind == "integer":
        return _bounded({"type": "integer"}, field, -INT64_MAX, INT64_MAX)
    if kind in _DECIMALS:
        if not writing:
            return {"type": "string", "pattern": DECIMAL_PATTERN, "format": "decimal"}
        # the digits before the point the column holds (precision - scale); more is refused
        digits = (field.precision or 18) - (field.scale if field.scale is not None else 2)
        number = _bounded({"type": "number"}, field, None, None)
        if "minimum" not in number:
            number["exclusiveMinimum"] = -(10**digits)
        if "maximum" not in number:
            number["exclusiveMaximum"] = 10**digits
        text = {"type": "string", "pattern": rf"^-?[0-9]{{1,{digits}}}(\.[0-9]+)?$", "format": "decimal"}
        return {"anyOf": [number, text]}
    if kind == "boolean":
        return {"type": "boolean"}
    if kind == "date":
        return {"type": "string", "format": "date"}
    if kind == "datetime":
        return {"type": "string", "format": "date-time"}
    if kind == "picklist":
        return {"type": "string", "enum": _options(field, writing)}
    if kind == "multi_picklist":
        return {"type": "array", "items": {"type": "string", "enum": _options(field, writing)}, "uniqueItems": True}
    if kind in ("lookup", "master_detail") or field.formula_type is FormulaType.ID:
        return {"type": "integer", "minimum": 1, "maximum": INT64_MAX}
    if kind == "auto_number":
        return {"type": "string"}
    if kind == "json":
        return {}
    if kind == "formula" and field.result:
        schema = _value(field, field.result, registry, writing)
        if not field.stored and field.result == "integer":
            # computed when read, a whole-number formula comes as the exact decimal the
            # formula language computes ("3"); stored ones are integers
            schema = {"type": ["integer", "string"], "pattern": r"^-?[0-9]+$"}
        return schema
    if kind == "rollup" and field.rollup is not None:
        return _rollup(field, registry)
    return dict(_BY_FORMULA_TYPE.get(field.formula_type, {}))


def _rollup(field: FieldDef, registry: Registry) -> dict[str, Any]:
    rollup = field.rollup
    assert rollup is not None
    if rollup.aggregate == "count":
        return {"type": "integer", "minimum": 0}
    if rollup.aggregate == "avg":
        return {"type": "string", "pattern": DECIMAL_PATTERN, "format": "decimal"}
    child = registry.objects.get(rollup.object)
    source = child.fields.get(rollup.field) if child is not None and rollup.field else None
    if source is None:
        return dict(_BY_FORMULA_TYPE.get(field.formula_type, {}))
    schema = _value(source, source.type, registry, False)
    return {k: v for k, v in schema.items() if k not in ("minimum", "maximum", "maxLength")}


def _bounded(schema: dict[str, Any], field: FieldDef, low: Any, high: Any) -> dict[str, Any]:
    low = field.min if field.min is not None else low
    high = field.max if field.max is not None else high
    if low is not None:
        schema["minimum"] = int(low) if low == int(low) else float(low)
    if high is not None:
        schema["maximum"] = int(high) if high == int(high) else float(high)
    return schema


def _options(field: FieldDef, writing: bool) -> list[str]:
    return [o.value for o in field.options if o.active or not writing]


def nullable(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` or null."""
    if not schema:
        return schema
    schema = dict(schema)
    if "enum" in schema:
        schema["enum"] = [*schema["enum"], None]
    if "anyOf" in schema:
        schema["anyOf"] = [*schema["anyOf"], {"type": "null"}]
    elif "type" in schema:
        kinds = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        schema["type"] = [*kinds, "null"]
    return schema


def read_only(field: FieldDef, caller_read_only: frozenset[str] = frozenset()) -> bool:
    """Whether the caller can never write the field: computed, read-only in metadata or for
    the caller's role, or a system field (all but the owner)."""
    if field.name in caller_read_only:
        return True
    if field.system:
        return field.name not in WRITABLE_SYSTEM_FIELDS
    return field.computed or field.read_only


_ALWAYS = frozenset({"id", "version", "created_at", "updated_at"})


def record_schema(obj: ObjectDef, registry: Registry, hidden: frozenset[str],
                  caller_read_only: frozenset[str], children: Mapping[str, str]) -> dict[str, Any]:
    """A record as a read returns it. Every row carries ``id``; a get carries every field
    (lists may ask for fewer with ``fields``, and for lookup paths such as ``account.name``,
    which come as extra members). ``children``: related name -> child object, present with
    ``expand``."""
    properties: dict[str, Any] = {}
    for field in obj.fields.values():
        if field.name in hidden:
            continue
        schema = value_schema(field, registry)
        if field.name not in _ALWAYS:
            schema = nullable(schema)
        if read_only(field, caller_read_only):
            schema["readOnly"] = True
        schema["title"] = field.label("en")
        if field.help:
            schema["description"] = field.help("en")
        properties[field.name] = schema
    for name, child in children.items():
        properties[name] = {"type": "array", "items": ref(schema_name(child)), "readOnly": True,
                            "description": f"the {child} records under this one (with expand={name})"}
    return {"type": "object", "title": obj.label("en"), "description": obj.description or obj.label("en"),
            "properties": properties, "required": ["id"]}


def input_schema(obj: ObjectDef, registry: Registry, hidden: frozenset[str], caller_read_only: frozenset[str],
                 children: Mapping[str, str], *, create: bool) -> dict[str, Any]:
    """What a create (``create``) or a partial update takes."""
    properties: dict[str, Any] = {}
    required: list[str] = []
    for field in obj.fields.values():
        if field.name in hidden or read_only(field, caller_read_only):
            continue
        schema = value_schema(field, registry, writing=True)
        if not field.required:
            schema = nullable(schema)
        schema["title"] = field.label("en")
        properties[field.name] = schema
        if create and field.required and field.default is None and field.default_formula is None:
            required.append(field.name)
    for name, child in children.items():
        properties[name] = {
            "type": "array", "items": {"type": "object"},
            "description": f"the {child} records under this one: items with an id (and their version) are "
                           f"updated, items without are created, and existing ones left out are deleted"}
    schema: dict[str, Any] = {"type": "object", "properties": properties, "additionalProperties": False}
    if required:
        schema["required"] = required
    return schema
