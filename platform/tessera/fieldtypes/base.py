"""The field-type contract: one class per type, registered in a :class:`FieldTypeRegistry`.

A field type says which metadata properties it takes, what it looks like to the formula
language, which literal defaults it accepts, and checks its own properties. Later parts of
the engine add to the same classes (SQL column, input schema, widget, formatter), so each type
stays in one place. Built-in types register exactly as a plugin's types will.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from decimal import Decimal
from typing import Any, ClassVar

from tessera.expressions import FormulaType

#: Properties every field may carry, whatever its type.
COMMON_PROPERTIES = frozenset(
    {
        "type", "label", "help", "description", "required", "unique", "indexed", "read_only",
        "active", "default", "visible_when", "required_when", "read_only_when",
        "change_type", "remove",
    }
)

#: A finding about one property of a field: (property path inside the field, message).
Finding = tuple[tuple[Any, ...], str]


class FieldType:
    """Base class of every field type. Subclasses set the class attributes and may
    override :meth:`check` and :meth:`check_literal`."""

    name: ClassVar[str]
    formula_type: ClassVar[FormulaType]
    label: ClassVar[Mapping[str, str]]
    #: type-specific properties this type accepts (beyond COMMON_PROPERTIES)
    properties: ClassVar[frozenset[str]] = frozenset()
    #: properties that must be given
    required_properties: ClassVar[frozenset[str]] = frozenset()
    #: common properties that make no sense for this type
    refused_properties: ClassVar[frozenset[str]] = frozenset()
    #: values filled in when the metadata leaves them out
    property_defaults: ClassVar[Mapping[str, Any]] = {}
    #: computed types (formula, rollup, auto number) are never written by users
    computed: ClassVar[bool] = False
    #: JSON Schema for the properties a plugin type adds (built-in ones live in object.json)
    property_schema: ClassVar[Mapping[str, Any]] = {}

    def allowed_properties(self) -> frozenset[str]:
        return (COMMON_PROPERTIES - self.refused_properties) | self.properties

    def formula_type_of(self, props: Mapping[str, Any]) -> FormulaType:
        """The type formulas see when they read a field with these properties."""
        return self.formula_type

    def check(self, props: Mapping[str, Any]) -> Iterator[Finding]:
        """Check the type's own properties; yield (property path, message) findings."""
        yield from ()

    def check_literal(self, value: Any, props: Mapping[str, Any]) -> str | None:
        """Check a literal default value; return a message when it does not fit."""
        return None

    def input_field(self, field: Any) -> Any:
        """A marshmallow field that reads this type's input for ``field`` (a FieldDef), raising
        ``ValidationError(Problem(...))`` on bad input. The built-in types' readers live in
        tessera.records.inputs; a plugin type returns its own (None makes the field read-only)."""
        return None

    def column_type(self, field: Any, registry: Any) -> Any:
        """The SQLAlchemy column type storing ``field`` (a FieldDef), or None when the field
        has no column of its own. ``registry`` resolves other objects' fields."""
        raise NotImplementedError(f"field type '{self.name}' does not say how it is stored")

    def __repr__(self) -> str:
        return f"<field type {self.name}>"


class FieldTypeRegistry:
    """The field types one org can use, by name."""

    def __init__(self, types: Mapping[str, FieldType] | None = None) -> None:
        self._types: dict[str, FieldType] = dict(types or {})

    def register(self, field_type: FieldType) -> None:
        if field_type.name in self._types:
            raise ValueError(f"field type '{field_type.name}' is already registered")
        self._types[field_type.name] = field_type

    def copy(self) -> FieldTypeRegistry:
        return FieldTypeRegistry(self._types)

    def get(self, name: str) -> FieldType | None:
        return self._types.get(name)

    def __getitem__(self, name: str) -> FieldType:
        return self._types[name]

    def __contains__(self, name: object) -> bool:
        return name in self._types

    def __iter__(self) -> Iterator[str]:
        return iter(self._types)

    def names(self) -> list[str]:
        return list(self._types)


# ---------------------------------------------------------------------------------------
# literal checks shared by several types

def check_number(value: Any, props: Mapping[str, Any], *, integer: bool = False) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        return f"expected a number, got {describe(value)}"
    if integer and not (isinstance(value, int) or value == value.to_integral_value()):
        return f"expected a whole number, got {value}"
    low, high = props.get("min"), props.get("max")
    if low is not None and value < low:
        return f"{value} is below the minimum {low}"
    if high is not None and value > high:
        return f"{value} is above the maximum {high}"
    return None


def check_text(value: Any, props: Mapping[str, Any]) -> str | None:
    if not isinstance(value, str):
        return f"expected text, got {describe(value)}"
    limit = props.get("max_length")
    if limit is not None and len(value) > limit:
        return f"the default is {len(value)} characters long, more than max_length {limit}"
    return None


def check_date(value: Any, *, with_time: bool) -> str | None:
    if not isinstance(value, str):
        return f"expected an ISO {'date-time' if with_time else 'date'} text, got {describe(value)}"
    try:
        if with_time:
            dt.datetime.fromisoformat(value)
        else:
            dt.date.fromisoformat(value)
    except ValueError:
        example = "2026-01-31T09:00:00+08:00" if with_time else "2026-01-31"
        return f"'{value}' is not an ISO {'date-time' if with_time else 'date'} like {example}"
    return None


def describe(value: Any) -> str:
    """Name a metadata value's kind the way a YAML author thinks of it."""
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | Decimal):
        return f"the number {value}"
    if isinstance(value, str):
        return f"the text '{value}'"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__
