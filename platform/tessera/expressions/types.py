"""The value types of the formula language.

Every expression has a static type, known at compile time. Python representations:

==========  =====================================================================
NUMBER      ``decimal.Decimal`` (ints and floats from records are coerced)
TEXT        ``str``; the empty string counts as blank
BOOLEAN     ``bool``
DATE        ``datetime.date``
DATETIME    time-zone aware ``datetime.datetime``
LIST        tuple of ``str`` (multi-select values)
JSON        any JSON-like value; opaque to formulas
ID          ``int`` record id: the value of a lookup field itself
NULL        the type of the ``NULL`` literal; compatible with every type
==========  =====================================================================
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import Enum

__all__ = ["FormulaType", "ParamKind", "ANY", "SCALAR", "ParamType", "accepts", "param_label"]


class FormulaType(Enum):
    """Static type of a formula expression."""

    NUMBER = "number"
    TEXT = "text"
    BOOLEAN = "boolean"
    DATE = "date"
    DATETIME = "datetime"
    LIST = "list"
    JSON = "json"
    ID = "id"
    NULL = "null"

    @property
    def label(self) -> str:
        """The name used in messages for administrators."""
        return _LABELS[self]

    @property
    def is_scalar(self) -> bool:
        """True for single values (everything but LIST and JSON)."""
        return self not in (FormulaType.LIST, FormulaType.JSON)


_LABELS = {
    FormulaType.NUMBER: "number",
    FormulaType.TEXT: "text",
    FormulaType.BOOLEAN: "boolean",
    FormulaType.DATE: "date",
    FormulaType.DATETIME: "datetime",
    FormulaType.LIST: "multi-select list",
    FormulaType.JSON: "JSON value",
    FormulaType.ID: "record id",
    FormulaType.NULL: "NULL",
}


class ParamKind:
    """A parameter type that is not a single :class:`FormulaType`: ``ANY`` accepts every
    type, ``SCALAR`` every single value (not a multi-select list or JSON)."""

    __slots__ = ("name", "types", "label")

    def __init__(self, name: str, types: Iterable[FormulaType], label: str) -> None:
        self.name = name
        self.types = frozenset(types)
        self.label = label

    def __repr__(self) -> str:
        return self.name


ANY = ParamKind("ANY", FormulaType, "any value")
SCALAR = ParamKind("SCALAR", (t for t in FormulaType if t.is_scalar), "a single value")

#: What a function parameter may declare: one type, ANY/SCALAR, or a set of types.
ParamType = FormulaType | ParamKind | frozenset


def accepts(param: ParamType, actual: FormulaType) -> bool:
    """Does a parameter declared as ``param`` accept an argument of type ``actual``?
    NULL is accepted everywhere."""
    if actual is FormulaType.NULL:
        return True
    if isinstance(param, FormulaType):
        return param is actual
    if isinstance(param, ParamKind):
        return actual in param.types
    return actual in param


def param_label(param: ParamType) -> str:
    """Human description of a parameter type, e.g. ``date or datetime``."""
    if isinstance(param, FormulaType):
        return param.label
    if isinstance(param, ParamKind):
        return param.label
    labels = sorted(t.label for t in param)
    if len(labels) == 1:
        return labels[0]
    return ", ".join(labels[:-1]) + " or " + labels[-1]
