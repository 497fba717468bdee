"""The FROM and WHERE of one object's query: dot paths as joins, filters and search as SQL.

:class:`ObjectQuery` turns a field path (``account.parent.name``) into a column, adding one
LEFT OUTER JOIN per distinct lookup path, so fields, filters and sorts that go through the same
lookup share one alias. Filters (:mod:`tessera.metadata.filters`) compile to SQL with bound
parameters only; every value is converted in Python first (ISO text to dates, ``$today-7`` to
a date from :class:`QueryParams`, money through the column's :class:`ExactDecimal`). The
semantics of each operator, NULLs included, are listed in :mod:`tessera.storage.query`.

Problems are collected, not raised one at a time: ``errors`` maps each offending parameter to
its message and the caller raises one :class:`QueryError` naming them all.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal, InvalidOperation
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from tessera.expressions import FormulaType
from tessera.i18n import Said, said
from tessera.metadata.filters import OPERATORS, Condition, Filter, QueryError, parse_temporal, relative_days
from tessera.metadata.model import FieldDef
from tessera.metadata.scope import RegistryScope

from .tables import StorageSchema
from .types import ExactDecimal

_INT64_MAX = 2**63 - 1


@dataclass(frozen=True)
class QueryParams:
    """The run-time values a filter may refer to: ``$me`` is ``user_id``; ``$today±N`` counts
    days from ``today``; ``$now`` is ``now``; dates compared with date-time fields are whole
    days in ``timezone``. Missing ``today``/``now`` are taken from the clock when a query runs."""

    user_id: int | None = None
    today: dt.date | None = None
    now: dt.datetime | None = None
    timezone: dt.tzinfo = dt.UTC

    def resolved(self) -> QueryParams:
        """These params with ``now`` and ``today`` filled in (aware ``now``)."""
        now = self.now or dt.datetime.now(self.timezone)
        if now.tzinfo is None:
            now = now.replace(tzinfo=self.timezone)
        today = self.today or now.astimezone(self.timezone).date()
        return replace(self, now=now, today=today)


class NoColumn(LookupError):
    """A field that exists but has no column (a formula computed when read)."""

    def __init__(self, path: str, field: FieldDef, owner: str) -> None:
        super().__init__(path)
        self.path, self.field, self.owner = path, field, owner

    def refusal(self, doing: str) -> Said:
        """Why the database cannot do ``doing`` (``sort`` or ``filter``) on the field."""
        computed = not self.field.stored
        if doing == "sort":
            return said("'%(field)s' is a formula computed when read (it reads lookups or TODAY/NOW), so the "
                        "database cannot sort on it", field=self.path) if computed else said(
                "'%(field)s' (%(type)s on %(object)s) has no column, so the database cannot sort on it",
                field=self.path, type=self.field.type, object=self.owner)
        return said("'%(field)s' is a formula computed when read (it reads lookups or TODAY/NOW), so the "
                    "database cannot filter on it", field=self.path) if computed else said(
            "'%(field)s' (%(type)s on %(object)s) has no column, so the database cannot filter on it",
            field=self.path, type=self.field.type, object=self.owner)


def negate(clause: sa.ColumnElement[bool]) -> sa.ColumnElement[bool]:
    """NOT that treats unknown (NULL) as false, so ``not {stage: won}`` keeps blank stages."""
    return sa.not_(sa.func.coalesce(clause, sa.false(), type_=sa.Boolean))


class ObjectQuery:
    """One object's table, the lookups joined so far, and the SQL of its filters."""

    def __init__(self, schema: StorageSchema, object_name: str, params: QueryParams, dialect: str,
                 hidden: Mapping[str, frozenset[str]] | None = None) -> None:
        try:
            self.scope = RegistryScope.of(schema.registry, object_name, hidden)
        except KeyError as exc:
            raise QueryError({"object": str(exc.args[0])}) from None
        self.schema = schema
        self.object = self.scope.object
        self.table = schema.table(object_name)
        self.params = params.resolved()
        self.dialect = dialect
        self.errors: dict[str, Any] = {}
        #: whether a filter read ``$now`` (the statement then holds this moment)
        self.read_now = False
        self._joins: dict[tuple[str, ...], tuple[sa.FromClause, sa.ColumnElement[bool]]] = {}

    # ------------------------------------------------------------------ paths and joins
    def column(self, path: tuple[str, ...]) -> tuple[sa.ColumnElement[Any], FieldDef]:
        """The column ``path`` ends at, joining each lookup on the way (once per path).
        Raises LookupError (NoColumn for a field without a column) with a message."""
        steps = self.scope.steps(path)
        source: sa.FromClause = self.table
        for index, (_obj, field) in enumerate(steps[:-1]):
            prefix = path[: index + 1]
            joined = self._joins.get(prefix)
            if joined is None:
                alias = self.schema.table(field.target).alias()  # type: ignore[arg-type]
                joined = (alias, alias.c.id == source.c[field.name])
                self._joins[prefix] = joined
            source = joined[0]
        owner, field = steps[-1]
        if field.name not in source.c:
            raise NoColumn(".".join(path), field, owner.name)
        return source.c[field.name], field

    @property
    def from_clause(self) -> sa.FromClause:
        """The table with every join added so far, in the order they were needed."""
        joined: sa.FromClause = self.table
        for alias, on in self._joins.values():
            joined = joined.outerjoin(alias, on)
        return joined

    def base_conditions(self, include_deleted: bool) -> list[sa.ColumnElement[bool]]:
        return [] if include_deleted else [self.table.c.deleted_at.is_(None)]

    # ------------------------------------------------------------------ filters
    def where(self, filter_: Filter) -> sa.ColumnElement[bool]:
        """SQL for a parsed filter; problems go to ``errors`` (keyed by the condition)."""
        if isinstance(filter_, Condition):
            return self._condition(filter_)
        items = [self.where(item) for item in filter_.items]
        if filter_.kind == "or":
            return sa.or_(*items) if items else sa.false()
        clause = sa.and_(*items) if items else sa.true()
        return negate(clause) if filter_.kind == "not" else clause

    def _condition(self, condition: Condition) -> sa.ColumnElement[bool]:
        key = condition.field if condition.op == "eq" else f"{condition.field}__{condition.op}"
        try:
            if condition.op not in OPERATORS:
                raise ValueError(f"unknown filter operator '{condition.op}'; use one of {', '.join(OPERATORS)}")
            try:
                column, field = self.column(condition.path)
            except NoColumn as exc:
                raise ValueError(exc.refusal("filter")) from None
            except LookupError as exc:
                raise ValueError(exc.args[0]) from None
            return self._compile(_Target(column, field, field_kind(field)), condition.op, condition.value)
        except OverflowError:  # e.g. the day after 9999-12-31
            self.errors[key] = said("%(value)s is beyond the dates this field can hold", value=str(condition.value))
            return sa.false()
        except ValueError as exc:
            self.errors[key] = exc.args[0] if exc.args else str(exc)
            return sa.false()

    def _compile(self, target: _Target, op: str, value: Any) -> sa.ColumnElement[bool]:
        col, kind = target.column, target.kind
        if op == "is_blank":
            if not isinstance(value, bool):
                raise ValueError("is_blank takes true or false")
            blank = self._blank(col, kind)
            return blank if value else sa.not_(blank)
        allowed, ftype = OPERATORS[op], target.field.formula_type
        if allowed is not None and ftype not in allowed:  # JSON fields take is_blank only
            raise ValueError(f"operator '{op}' does not apply to {target.field.name} ({ftype.value})")
        if kind == "list":
            return self._list(col, op, value)
        if op in ("ne", "not_in"):
            return negate(self._compile(target, "eq" if op == "ne" else "in", value))
        if op == "in":
            values = _values(value, "in")
            if kind == "number":
                return _number_in(col, [_number(item) for item in values])
            if kind in ("datetime", "boolean"):
                return sa.or_(*(self._compare(target, "eq", item) for item in values))
            return col.in_([self._scalar(target, item) for item in values])
        if op == "between":
            if not isinstance(value, list | tuple) or len(value) != 2:
                raise ValueError("'between' takes a list of two values [low, high]")
            return sa.and_(self._compare(target, "gte", value[0]), self._compare(target, "lte", value[1]))
        if op in ("contains", "icontains", "starts_with"):
            return self._text_match(col, op, _text(value))
        return self._compare(target, op, value)

    def _compare(self, target: _Target, op: str, value: Any) -> sa.ColumnElement[bool]:
        col, kind = target.column, target.kind
        if kind == "number":
            return _number_compare(col, op, _number(value))
        if kind == "datetime":
            moment = self._moment(value)
            if isinstance(moment, dt.datetime):
                return _COMPARE[op](col, moment)
            start, end = self._day_start(moment), self._day_start(moment + dt.timedelta(days=1))
            return {"eq": lambda: sa.and_(col >= start, col < end), "lt": lambda: col < start,
                    "lte": lambda: col < end, "gt": lambda: col >= end, "gte": lambda: col >= start}[op]()
        if kind == "boolean" and op == "eq":
            if _boolean(value):
                return col == sa.true()
            return sa.or_(col == sa.false(), col.is_(None))  # an unset checkbox is unchecked
        return _COMPARE[op](col, self._scalar(target, value))

    def _scalar(self, target: _Target, value: Any) -> Any:
        """``value`` as the Python value bound against the column."""
        if value is None:
            raise ValueError("use __is_blank: true to find blank values")
        kind = target.kind
        if kind == "id":
            if value == "$me":
                if self.params.user_id is None:
                    raise ValueError("$me means the current user, and this query has none")
                return self.params.user_id
            if isinstance(value, int) and not isinstance(value, bool):
                return value
            raise ValueError(f"expected a record id or $me, got {value!r}")
        if kind == "date":
            return self._date(value)
        if kind == "boolean":
            return _boolean(value)
        return _text(value)

    def _date(self, value: Any) -> dt.date:
        if isinstance(value, dt.datetime):
            raise ValueError(f"expected a date, got the date-time {value.isoformat()}")
        if isinstance(value, dt.date):
            return value
        if isinstance(value, str):
            days = relative_days(value)
            if days is not None:
                return self.params.today + dt.timedelta(days=days)  # type: ignore[operator]
            if value == "$now":
                raise ValueError("$now only fits a date-time field; use $today for a date")
            return parse_temporal(value, with_time=False)  # type: ignore[return-value]
        raise ValueError(f"expected a date like 2026-01-31 or $today, got {value!r}")

    def _moment(self, value: Any) -> dt.date | dt.datetime:
        """An instant (aware datetime) or a whole day (date) for a date-time field."""
        if isinstance(value, dt.datetime):
            return value if value.tzinfo is not None else value.replace(tzinfo=self.params.timezone)
        if isinstance(value, dt.date):
            return value
        if isinstance(value, str):
            if value == "$now":
                self.read_now = True
                return self.params.now  # type: ignore[return-value]
            days = relative_days(value)
            if days is not None:
                return self.params.today + dt.timedelta(days=days)  # type: ignore[operator]
            return parse_temporal(value, with_time=True, tz=self.params.timezone)
        raise ValueError(f"expected a date-time like 2026-01-31T09:30:00Z, a date or $now, got {value!r}")

    def _day_start(self, day: dt.date) -> dt.datetime:
        return dt.datetime.combine(day, dt.time(0), tzinfo=self.params.timezone)

    def _blank(self, col: sa.ColumnElement[Any], kind: str) -> sa.ColumnElement[bool]:
        if kind == "text":
            return sa.or_(col.is_(None), col == "")
        if kind == "list":  # no value, JSON null or an empty list
            if self.dialect == "postgresql":
                return sa.or_(col.is_(None), sa.cast(col, sa.Text).in_(["null", "[]"]))
            return sa.func.coalesce(sa.func.json_array_length(col), 0) == 0
        if kind == "json":
            if self.dialect == "postgresql":
                return sa.or_(col.is_(None), sa.cast(col, sa.Text) == "null")
            return sa.or_(col.is_(None), sa.func.json_type(col) == "null")
        return col.is_(None)

    def _text_match(self, col: sa.ColumnElement[Any], op: str, text: str) -> sa.ColumnElement[bool]:
        if op == "icontains":
            return col.icontains(text, autoescape=True)
        if self.dialect == "sqlite":  # SQLite's LIKE ignores ASCII case; these do not
            if op == "contains":
                return sa.func.instr(col, text) > 0
            return sa.func.substr(col, 1, len(text)) == text
        if op == "contains":
            return col.contains(text, autoescape=True)
        return col.startswith(text, autoescape=True)

    def _list(self, col: sa.ColumnElement[Any], op: str, value: Any) -> sa.ColumnElement[bool]:
        """A multi-select picklist: includes/excludes one option; eq/ne mean the same, and
        in/not_in mean "includes any"/"includes none" of the options."""
        if op in ("includes", "eq"):
            return self._includes(col, _text(value))
        if op in ("excludes", "ne"):
            return negate(self._includes(col, _text(value)))
        if op in ("in", "not_in"):
            found = sa.or_(*(self._includes(col, _text(item)) for item in _values(value, op)))
            return found if op == "in" else negate(found)
        raise ValueError(f"operator '{op}' does not apply to a multi-select picklist")

    def _includes(self, col: sa.ColumnElement[Any], option: str) -> sa.ColumnElement[bool]:
        if self.dialect == "postgresql":
            return sa.type_coerce(col, postgresql.JSONB).contains([option])
        each = sa.func.json_each(col).table_valued("value")
        return sa.select(each.c.value).where(each.c.value == option).exists()

    # ------------------------------------------------------------------ search
    def search(self, term: str) -> sa.ColumnElement[bool] | None:
        """Every word of ``term`` appears (ignoring case) in one of the search fields."""
        words = term.split()
        if not words:
            return None
        names = self.object.search_fields or (self.object.name_field,)
        columns = []
        for name in names:  # a lookup (a contact role named by its contact) searches the target's name
            field = self.object.fields.get(name)
            target = self.schema.registry.objects.get(field.target) if field is not None and field.target else None
            try:
                column, found = self.column((name, target.name_field) if target is not None else (name,))
            except LookupError:
                continue  # hidden from the reader, or no column
            if field_kind(found) == "text":
                columns.append(column)
        if not columns:
            self.errors["search"] = said("%(object)s has no search fields", object=self.object.name)
            return None
        return sa.and_(*(sa.or_(*(c.icontains(word, autoescape=True) for c in columns)) for word in words))


@dataclass(frozen=True, slots=True)
class _Target:
    column: sa.ColumnElement[Any]
    field: FieldDef
    kind: str


_KINDS = {
    FormulaType.NUMBER: "number", FormulaType.ID: "id", FormulaType.BOOLEAN: "boolean",
    FormulaType.DATE: "date", FormulaType.DATETIME: "datetime", FormulaType.LIST: "list",
    FormulaType.JSON: "json",
}


def field_kind(field: FieldDef) -> str:
    """How the query compiler treats a field: number, id, boolean, date, datetime, list, json, text."""
    return _KINDS.get(field.formula_type, "text")


_COMPARE: dict[str, Callable[[Any, Any], sa.ColumnElement[bool]]] = {
    "eq": lambda c, v: c == v, "lt": lambda c, v: c < v, "lte": lambda c, v: c <= v,
    "gt": lambda c, v: c > v, "gte": lambda c, v: c >= v,
}


def _values(value: Any, op: str) -> Sequence[Any]:
    if not isinstance(value, list | tuple) or not value:
        raise ValueError(f"'{op}' takes a non-empty list of values")
    return value


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    raise ValueError(f"expected text, got {value!r}")


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    raise ValueError(f"expected true or false, got {value!r}")


def _number(value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise ValueError(f"expected a number, got {value!r}")
    number = Decimal(str(value)) if isinstance(value, float) else Decimal(value)
    if not number.is_finite():
        raise ValueError(f"expected a number, got {value!r}")
    return number


def _number_compare(col: sa.ColumnElement[Any], op: str, number: Decimal) -> sa.ColumnElement[bool]:
    """Compare exactly at the column's scale: ``amount > 100.505`` on a 2-decimal column is
    ``amount >= 100.51``, never a rounded ``amount > 100.51``; an integer column gets ints."""
    fitted = _fit(col, number)
    if fitted is None:
        return _COMPARE[op](col, number)
    floor, ceiling = fitted
    if floor == ceiling:
        return _COMPARE[op](col, floor)
    if op == "eq":
        return sa.false()  # more decimals than the column keeps: no value can be equal
    if op in ("lt", "lte"):
        return col <= floor
    return col >= ceiling


def _number_in(col: sa.ColumnElement[Any], numbers: list[Decimal]) -> sa.ColumnElement[bool]:
    kept = []
    for number in numbers:
        fitted = _fit(col, number)
        if fitted is None:
            kept.append(number)
        elif fitted[0] == fitted[1]:
            kept.append(fitted[0])
    return col.in_(kept) if kept else sa.false()


def _fit(col: sa.ColumnElement[Any], number: Decimal) -> tuple[Any, Any] | None:
    """(floor, ceiling) of ``number`` at the column's scale, as the column binds them; equal
    when the number fits exactly. None for a column of no known scale."""
    column_type = col.type
    if isinstance(column_type, ExactDecimal):
        scale, limit = column_type.scale, Decimal(10) ** (column_type.precision - column_type.scale)
        bind: Callable[[Decimal], Any] = Decimal
    elif isinstance(column_type, sa.Integer):
        scale, limit, bind = 0, Decimal(_INT64_MAX), int
    else:
        return None
    if abs(number) >= limit:
        raise ValueError(f"{number} is beyond what this field can hold")
    quantum = Decimal(1).scaleb(-scale)
    try:
        floor, ceiling = number.quantize(quantum, ROUND_FLOOR), number.quantize(quantum, ROUND_CEILING)
    except InvalidOperation:
        raise ValueError(f"{number} is beyond what this field can hold") from None
    return bind(floor), bind(ceiling)


__all__ = ["NoColumn", "ObjectQuery", "QueryParams", "field_kind", "negate"]
