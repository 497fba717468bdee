"""The one filter syntax, shared by list views, roll-ups, reports, flows and (later) the API.

A filter is a mapping of conditions that must all hold::

    {status: new, score__gte: 50, owner_id: $me, account.region__in: [East, North]}

Operators: eq (the default), ne, lt, lte, gt, gte, in, not_in, contains, icontains,
starts_with, is_blank, between, includes, excludes.

or a group: ``{and: [...]}``, ``{or: [...]}``, ``{not: {...}}``. A key is a field path (lookups
followed with dots) and an optional ``__operator``. Filters are parsed and checked against the
object's fields when metadata loads, so a typo is an error with a line number, not an empty
list at run time. Storage compiles the parsed :class:`Filter` to SQL
(:mod:`tessera.storage.query`).

At run time the API takes the same syntax as query-string parameters
(``?status=new&score__gte=50&owner.region=East&stage__in=a,b``) plus a JSON ``filter``
parameter for and/or groups; :func:`parse_query_filters` turns them into the same
:class:`Filter`, converting each text value to the field's type. Problems raise
:class:`QueryError`, which names every offending parameter and what was expected.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from tessera.expressions import FormulaType
from tessera.i18n import Said, in_locale, said

from .schema import suggested

if TYPE_CHECKING:
    from .scope import RegistryScope

#: every type but JSON, which has no values to compare (only is_blank applies to it)
_COMPARABLE = frozenset(FormulaType) - {FormulaType.JSON}
#: operator -> the formula types it applies to (None: any)
OPERATORS: Mapping[str, frozenset[FormulaType] | None] = {
    "eq": _COMPARABLE, "ne": _COMPARABLE, "in": _COMPARABLE, "not_in": _COMPARABLE, "is_blank": None,
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
#: record ids are 64-bit
MAX_ID = 2**63 - 1
_RELATIVE_DATE = re.compile(r"^\$today(?:([+-])(\d{1,5}))?$")


@dataclass(frozen=True, slots=True)
class Condition:
    path: tuple[str, ...]
    op: str
    value: Any
    #: where the condition's key sits inside the filter as written (for error positions)
    where: tuple[Any, ...] = field(default=(), compare=False)

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
        flag(path, said("a filter is a non-empty mapping of conditions"), False)
        return Group("and", ())
    items: list[Filter] = []
    for key, value in data.items():
        here = path + (key,)
        if key in ("and", "or"):
            if not isinstance(value, list) or not value:
                flag(here, said("'%(key)s' takes a non-empty list of filters", key=key), False)
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
        flag(here, _unknown_operator(op), True)
        return None
    path = tuple(field_part.split("."))
    try:
        ftype, options = resolve(path)
    except LookupError as exc:
        flag(here, exc.args[0] if exc.args else said("unknown field '%(name)s'", name=field_part), True)
        return None
    if ftype is FormulaType.NULL:  # a field whose definition is broken: reported already
        return Condition(path, op, value, here)
    allowed = OPERATORS[op]
    if allowed is not None and ftype not in allowed:
        flag(here, _not_applicable(op, field_part, ftype), True)
        return None
    found = False
    for suffix, message in _check_value(op, value, ftype, options):
        flag(here + suffix, said("%(key)s: %(problem)s", key=f"{field_part}__{op}", problem=message), False)
        found = True
    return None if found else Condition(path, op, value, here)


def _check_value(op: str, value: Any, ftype: FormulaType, options: frozenset[str] | None
                 ) -> Iterator[tuple[tuple[int, ...], Said]]:
    """Each problem with a condition's value: (position inside the value, message)."""
    if op == "is_blank":
        if not isinstance(value, bool):
            yield (), said("is_blank takes true or false")
        return
    if op in ("in", "not_in", "between"):
        if op == "between" and (not isinstance(value, list) or len(value) != 2):
            yield (), said("'between' takes a list of two values [low, high]")
            return
        if not isinstance(value, list) or not value:
            yield (), said("'%(operator)s' takes a non-empty list of values", operator=op)
            return
        for index, item in enumerate(value):
            message = _check_scalar(item, ftype, options)
            if message:
                yield (index,), message
        return
    message = _check_scalar(value, FormulaType.TEXT if op in ("includes", "excludes") else ftype, options)
    if message:
        yield (), message


def _check_scalar(value: Any, ftype: FormulaType, options: frozenset[str] | None) -> Said | None:
    if value is None:
        return said("use __is_blank: true to find blank values")
    if isinstance(value, str) and value.startswith("$"):
        return _check_token(value, ftype)
    if ftype is FormulaType.NUMBER:
        ok = isinstance(value, int | Decimal) and not isinstance(value, bool)
        return None if ok else said("expected a number, got %(value)s", value=_describe(value))
    if ftype is FormulaType.BOOLEAN:
        return None if isinstance(value, bool) else true_or_false(_describe(value))
    if ftype is FormulaType.ID:
        ok = isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_ID
        return None if ok else said("expected a record id or $me, got %(value)s", value=_describe(value))
    if ftype in (FormulaType.DATE, FormulaType.DATETIME):
        if isinstance(value, str):
            try:
                parse_temporal(value, with_time=ftype is FormulaType.DATETIME)
                return None
            except ValueError:
                pass
        return said("%(value)s is not a date like 2026-01-31, $today or $today+N", value=_describe(value))
    if not isinstance(value, str):
        return said("expected text, got %(value)s", value=_describe(value))
    if options is not None and value not in options:
        return said("'%(value)s' is not one of the options (%(options)s)", value=value, options=", ".join(sorted(options)))
    return None


def _check_token(value: str, ftype: FormulaType) -> Said | None:
    if value == "$me":
        return None if ftype is FormulaType.ID else said("$me (the current user) only fits a user lookup such as owner_id")
    if value == "$now":
        return None if ftype is FormulaType.DATETIME else said("$now only fits a date-time field")
    if _RELATIVE_DATE.match(value):
        return None if ftype in (FormulaType.DATE, FormulaType.DATETIME) else said(
            "%(value)s only fits a date field", value=value)
    return said("unknown value '%(value)s'; the special values are $me, $today, $today+N, $today-N and $now",
                value=value)


def _describe(value: Any) -> Said | str:
    if isinstance(value, dict):
        return said("a mapping")
    if isinstance(value, list):
        return said("a list")
    if isinstance(value, bool):
        return "true" if value else "false"
    return f"'{value}'"


def whole_number_between(low: int, high: int, shown: str) -> Said:
    """What a query parameter that is not a whole number from ``low`` to ``high`` gets told."""
    return said("expected a whole number from %(low)s to %(high)s, got %(value)s", low=low, high=high, value=shown)


def whole_number_from(low: int, shown: str) -> Said:
    """What a query parameter that is not a whole number of at least ``low`` gets told."""
    return said("expected a whole number of at least %(low)s, got %(value)s", low=low, value=shown)


def true_or_false(shown: str) -> Said:
    """What a query parameter that is not a truth value gets told."""
    return said("expected true or false, got %(value)s", value=shown)


def _unknown_operator(op: str) -> Said:
    return said("unknown filter operator '%(operator)s'%(suggestion)s; use one of %(operators)s",
                operator=op, suggestion=suggested(op, OPERATORS), operators=", ".join(OPERATORS))


def _not_applicable(op: str, field: str, ftype: FormulaType) -> Said:
    return said("operator '%(operator)s' does not apply to %(field)s (%(type)s)",
                operator=op, field=field, type=ftype.value)


def walk(filter_: Filter) -> Iterator[Condition]:
    """Every condition inside a filter."""
    if isinstance(filter_, Condition):
        yield filter_
        return
    for item in filter_.items:
        yield from walk(item)


def combine(*filters: Filter | None) -> Filter | None:
    """All of ``filters`` at once (a list view's filter, the API's, a permission filter...);
    None when there are none."""
    present = tuple(f for f in filters if f is not None)
    if not present:
        return None
    return present[0] if len(present) == 1 else Group("and", present)


def relative_days(token: str) -> int | None:
    """The day offset of ``$today``, ``$today+N`` or ``$today-N``; None for anything else."""
    match = _RELATIVE_DATE.match(token)
    if match is None:
        return None
    sign, days = match.groups()
    return 0 if days is None else (int(days) if sign == "+" else -int(days))


def parse_temporal(text: str, *, with_time: bool, tz: dt.tzinfo = dt.UTC) -> dt.date | dt.datetime:
    """An ISO date (``2026-01-31``) or, when ``with_time``, an ISO date-time
    (``2026-01-31T09:30``, ``...Z``, ``...+08:00``; without an offset it is in ``tz``).
    A date-time is returned aware; a date stays a date. ValueError names what was expected."""
    text = text.strip()
    if len(text) == 10:
        try:
            return dt.date.fromisoformat(text)
        except ValueError:
            pass
    elif with_time:
        try:
            moment = dt.datetime.fromisoformat(text)
        except ValueError:
            pass
        else:
            return moment if moment.tzinfo is not None else moment.replace(tzinfo=tz)
    if with_time:
        raise ValueError(said("expected a date like 2026-01-31, a date-time like 2026-01-31T09:30:00Z, "
                              "$today, $today+N, $today-N or $now, got '%(value)s'", value=text))
    raise ValueError(said("expected a date like 2026-01-31, $today, $today+N or $today-N, got '%(value)s'",
                          value=text))


# ------------------------------------------------------------------------------ run time

class QueryError(ValueError):
    """A query that cannot run, said for people. ``problems`` maps each offending parameter
    (a filter key such as ``score__gte``, or ``filter``, ``sort``, ``fields``, ``search``,
    ``cursor``, ``limit``) to what was wrong with it (:class:`~tessera.i18n.Said`, or a list
    of them); :meth:`messages` says them in a language, ``errors`` and ``str()`` in English."""

    def __init__(self, problems: Mapping[str, Any] | Said | str) -> None:
        given = problems if isinstance(problems, Mapping) else {"query": problems}
        self.problems: dict[str, list[Any]] = {
            name: list(value) if isinstance(value, list | tuple) else [value] for name, value in given.items()}
        super().__init__("; ".join(
            message if name == "query" else f"{name}: {message}" for name, message in self.errors.items()))

    def messages(self, locale: str = "en") -> dict[str, list[str]]:
        """Each offending parameter and what was wrong with it, in ``locale``."""
        return {name: [str(in_locale(item, locale)) for item in items] for name, items in self.problems.items()}

    @property
    def errors(self) -> dict[str, str]:
        """Each offending parameter and what was wrong with it, in English."""
        return {name: "; ".join(items) for name, items in self.messages("en").items()}


_TRUE, _FALSE = frozenset({"true", "1", "yes"}), frozenset({"false", "0", "no"})
_WHOLE = re.compile(r"^[+-]?\d+$")


def parse_query_filters(scope: RegistryScope, items: Iterable[tuple[str, str]], *,
                        ignore: Collection[str] = ()) -> Filter | None:
    """The filter in an API query string, as (name, text) pairs in order.

    ``field=value`` and ``field__op=value`` (lookups followed with dots, ``in``/``not_in`` and
    ``between`` take comma-separated values) all must hold; ``filter`` holds a JSON filter for
    ``and``/``or``/``not`` groups. Text is converted to the field's type: numbers to int or
    Decimal, ``true``/``false``, ISO dates; options and special values are checked as in
    metadata. Names in ``ignore`` (the API's own parameters) are skipped. Raises QueryError
    naming every bad parameter at once; None when there is no filter."""
    conditions: list[Filter] = []
    errors: dict[str, list[Any]] = {}
    for name, text in items:
        if name in ignore:
            continue
        if name == "filter":
            parsed = _json_filter(scope, text, errors)
            if parsed is not None:
                conditions.append(parsed)
            continue
        try:
            conditions.append(_query_condition(scope, name, text))
        except ValueError as exc:
            errors.setdefault(name, []).append(exc.args[0] if exc.args else str(exc))
    if errors:
        raise QueryError(errors)
    return combine(*conditions)


def checked_filter(scope: RegistryScope, data: Any) -> Filter | None:
    """A filter given as data (a dict from code, a flow, a report) checked against the
    object's fields; raises QueryError naming every problem. None for an empty filter."""
    if data is None or data == {}:
        return None
    errors: dict[str, list[Any]] = {}
    parsed = _filter_data(scope, data, errors)
    if errors:
        raise QueryError(errors)
    return parsed


def _json_filter(scope: RegistryScope, text: str, errors: dict[str, list[Any]]) -> Filter | None:
    try:
        data = json.loads(text, parse_float=Decimal)
    except ValueError as exc:
        errors.setdefault("filter", []).append(said(
            'expected a JSON filter such as {"or": [{"status": "new"}]}: %(reason)s', reason=str(exc)))
        return None
    return _filter_data(scope, data, errors)


def _filter_data(scope: RegistryScope, data: Any, errors: dict[str, list[Any]]) -> Filter | None:
    def report(path: tuple[Any, ...], message: Any, _key: bool) -> None:
        if path and isinstance(message, Said) and message.params.get("key") == path[-1] and "problem" in message.params:
            message = message.params["problem"]  # the key is named once, in its place
        where = ".".join(str(p) for p in path)
        errors.setdefault("filter", []).append(said("%(key)s: %(problem)s", key=where, problem=message)
                                               if where else message)

    parsed = parse_filter(data, scope.filter_resolver, report)
    if parsed is None:
        return None
    for condition in walk(parsed):
        if not scope.field_at(condition.path).stored:
            report((), _unstored(condition.field), False)
            return None
    return parsed


def _unstored(name: str) -> Said:
    return said("'%(field)s' is a formula computed when read (it reads lookups or TODAY/NOW), so it cannot be "
                "filtered on", field=name)


def _query_condition(scope: RegistryScope, name: str, text: str) -> Condition:
    field_part, _, op = name.partition("__")
    op = op or "eq"
    if op not in OPERATORS:
        raise ValueError(_unknown_operator(op))
    path = tuple(field_part.split("."))
    try:
        field = scope.field_at(path)
    except LookupError as exc:
        raise ValueError(exc.args[0]) from None
    if not field.stored:
        raise ValueError(_unstored(field_part))
    ftype = field.formula_type
    allowed = OPERATORS[op]
    if allowed is not None and ftype not in allowed:
        raise ValueError(_not_applicable(op, field_part, ftype))
    value = _typed(op, text, ftype)
    options = frozenset(o.value for o in field.options) if field.options else None
    for _where, problem in _check_value(op, value, ftype, options):
        raise ValueError(problem)
    return Condition(path, op, value)


def _typed(op: str, text: str, ftype: FormulaType) -> Any:
    if op == "is_blank":
        word = text.strip().lower()
        if word in _TRUE or word in _FALSE:
            return word in _TRUE
        raise ValueError(true_or_false(f"'{text}'"))
    if op in ("in", "not_in", "between"):
        parts = [part.strip() for part in text.split(",")]
        if op == "between" and len(parts) != 2:
            raise ValueError(said("expected two comma-separated values low,high, got '%(value)s'", value=text))
        if any(part == "" for part in parts):
            raise ValueError(said("expected comma-separated values without blanks, got '%(value)s'", value=text))
        return [_scalar(part, ftype) for part in parts]
    if op in ("includes", "excludes"):
        return text
    return _scalar(text, ftype)


def _scalar(text: str, ftype: FormulaType) -> Any:
    if text.startswith("$"):
        return text  # a special value: checked against the field by _check_value
    if ftype is FormulaType.NUMBER:
        if _WHOLE.match(text.strip()):
            return int(text)
        try:
            number = Decimal(text.strip())
        except InvalidOperation:
            raise ValueError(said("expected a number, got %(value)s", value=f"'{text}'")) from None
        if not number.is_finite():
            raise ValueError(said("expected a number, got %(value)s", value=f"'{text}'"))
        return number
    if ftype is FormulaType.ID:
        if _WHOLE.match(text.strip()) and 0 < int(text) <= MAX_ID:
            return int(text)
        raise ValueError(said("expected a record id (a whole number) or $me, got '%(value)s'", value=text))
    if ftype is FormulaType.BOOLEAN:
        word = text.strip().lower()
        if word in _TRUE or word in _FALSE:
            return word in _TRUE
        raise ValueError(true_or_false(f"'{text}'"))
    if ftype in (FormulaType.DATE, FormulaType.DATETIME):
        parse_temporal(text, with_time=ftype is FormulaType.DATETIME)
        return text.strip()
    return text
