"""The one filter syntax, shared by list views, roll-ups, reports, flows and (later) the API.

A filter is a mapping of conditions that must all hold::

    {status: new, score__gte: 50, owner_id: $me, account.region__in: [East, North]}

Operators: eq (the default), ne, lt, lte, gt, gte, in, not_in, contains, icontains,
starts_with, is_blank, between, includes, excludes.

or a group: ``{and: [...]}``, ``{or: [...]}``, ``{not: {...}}``. A key is a field path (lookups
followed with dots) and an optional ``__operator``. Filters are parsed and checked against the
object's fields when metadata loads, so a typo is an error with a line number, not an empty
list at run time. Storage compiles the parsed :class:`Filter` to SQL.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from tessera.expressions import FormulaType

#: operator -> the formula types it applies to (None: any)
OPERATORS: Mapping[str, frozenset[FormulaType] | None] = {
    "eq": None, "ne": None, "in": None, "not_in": None, "is_blank": None,
    "lt": frozenset({FormulaType.NUMBER, FormulaType.DATE, FormulaType.DATETIME, FormulaType.TEXT}),
    "lte": frozenset({FormulaType.NUMBER, FormulaType.DATE, FormulaType.DATETIME, FormulaType.TEXT}),
    "gt": frozenset({FormulaType.NUMBER, FormulaType.DATE, FormulaType.DATETIME, FormulaType.TEXT}),
    "gte": frozenset({FormulaType.NUMBER, FormulaType.DATE, FormulaType.DATETIME, FormulaType.TEXT}),
    "between": frozenset({FormulaType.NUMBER, FormulaType.DATE, FormulaType.DATETIME}),
    "contains": frozenset({FormulaType.TEXT}),
    "icontains": frozenset({FormulaType.TEXT}),
    "starts_with": frozenset({FormulaType.TEXT}),
    "includes": frozenset({FormulaType.LIST}),
    "excludes": frozenset({FormulaType.LIST}),
}
_RELATIVE_DATE = re.compile(r"^\$today(?:([+-])(\d{1,5}))?$")


@dataclass(frozen=True, slots=True)
class Condition:
    path: tuple[str, ...]
    op: str
    value: Any

    @property
    def field(self) -> str:
        return ".".join(self.path)


@dataclass(frozen=True, slots=True)
class Group:
    kind: str  # "and", "or", "not"
    items: tuple[Filter, ...]


Filter = Condition | Group

#: resolves a field path to (formula type, picklist option values or None); raises LookupError
Resolver = Callable[[tuple[str, ...]], tuple[FormulaType, frozenset[str] | None]]
#: reports a problem at a path inside the filter (relative to the filter's own position)
Reporter = Callable[[tuple[Any, ...], str, bool], None]


def parse_filter(data: Any, resolve: Resolver, report: Reporter) -> Filter | None:
    """Parse and check a filter; report each problem; None when it has any."""
    problems: list[int] = []

    def flag(path: tuple[Any, ...], message: str, key: bool = False) -> None:
        problems.append(1)
        report(path, message, key)

    result = _parse(data, (), resolve, flag)
    return None if problems else result


def _parse(data: Any, path: tuple[Any, ...], resolve: Resolver, flag: Reporter) -> Filter:
    if not isinstance(data, dict) or not data:
        flag(path, "a filter is a non-empty mapping of conditions", False)
        return Group("and", ())
    items: list[Filter] = []
    for key, value in data.items():
        here = path + (key,)
        if key in ("and", "or"):
            if not isinstance(value, list) or not value:
                flag(here, f"'{key}' takes a non-empty list of filters", False)
                continue
            items.append(Group(key, tuple(_parse(v, here + (i,), resolve, flag) for i, v in enumerate(value))))
        elif key == "not":
            items.append(Group("not", (_parse(value, here, resolve, flag),)))
        else:
            condition = _condition(key, value, here, resolve, flag)
            if condition is not None:
                items.append(condition)
    return items[0] if len(items) == 1 else Group("and", tuple(items))


def _condition(key: str, value: Any, here: tuple[Any, ...], resolve: Resolver, flag: Reporter) -> Condition | None:
    field_part, _, op = key.partition("__")
    op = op or "eq"
    if op not in OPERATORS:
        flag(here, f"unknown filter operator '{op}'; use one of {', '.join(OPERATORS)}", True)
        return None
    path = tuple(field_part.split("."))
    try:
        ftype, options = resolve(path)
    except LookupError as exc:
        flag(here, str(exc.args[0]) if exc.args else f"unknown field '{field_part}'", True)
        return None
    if ftype is FormulaType.NULL:  # a field whose definition is broken: reported already
        return Condition(path, op, value)
    allowed = OPERATORS[op]
    if allowed is not None and ftype not in allowed:
        flag(here, f"operator '{op}' does not apply to {field_part} ({ftype.value})", True)
        return None
    message = _check_value(op, value, ftype, options)
    if message:
        flag(here, f"{field_part}__{op}: {message}", False)
        return None
    return Condition(path, op, value)


def _check_value(op: str, value: Any, ftype: FormulaType, options: frozenset[str] | None) -> str | None:
    if op == "is_blank":
        return None if isinstance(value, bool) else "is_blank takes true or false"
    if op in ("in", "not_in"):
        if not isinstance(value, list) or not value:
            return f"'{op}' takes a non-empty list of values"
        for item in value:
            found = _check_scalar(item, ftype, options)
            if found:
                return found
        return None
    if op == "between":
        if not isinstance(value, list) or len(value) != 2:
            return "'between' takes a list of two values [low, high]"
        return _check_scalar(value[0], ftype, options) or _check_scalar(value[1], ftype, options)
    if op in ("includes", "excludes"):
        return _check_scalar(value, FormulaType.TEXT, options)
    return _check_scalar(value, ftype, options)


def _check_scalar(value: Any, ftype: FormulaType, options: frozenset[str] | None) -> str | None:
    if value is None:
        return "use __is_blank: true to find blank values"
    if isinstance(value, str) and value.startswith("$"):
        return _check_token(value, ftype)
    if ftype is FormulaType.NUMBER:
        ok = isinstance(value, int | Decimal) and not isinstance(value, bool)
        return None if ok else f"expected a number, got '{value}'"
    if ftype is FormulaType.BOOLEAN:
        return None if isinstance(value, bool) else f"expected true or false, got '{value}'"
    if ftype is FormulaType.ID:
        return None if isinstance(value, int) and not isinstance(value, bool) else f"expected a record id or $me, got '{value}'"
    if ftype in (FormulaType.DATE, FormulaType.DATETIME):
        return None if isinstance(value, str) else f"expected a date like 2026-01-31 or $today, got '{value}'"
    if not isinstance(value, str):
        return f"expected text, got {value}"
    if options is not None and value not in options:
        return f"'{value}' is not one of the options ({', '.join(sorted(options))})"
    return None


def _check_token(value: str, ftype: FormulaType) -> str | None:
    if value == "$me":
        return None if ftype is FormulaType.ID else "$me (the current user) only fits a user lookup such as owner_id"
    if value == "$now":
        return None if ftype is FormulaType.DATETIME else "$now only fits a date-time field"
    if _RELATIVE_DATE.match(value):
        return None if ftype in (FormulaType.DATE, FormulaType.DATETIME) else f"{value} only fits a date field"
    return f"unknown value '{value}'; the special values are $me, $today, $today+N, $today-N and $now"


def walk(filter_: Filter) -> Iterator[Condition]:
    """Every condition inside a filter."""
    if isinstance(filter_, Condition):
        yield filter_
        return
    for item in filter_.items:
        yield from walk(item)
