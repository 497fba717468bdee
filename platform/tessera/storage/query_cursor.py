"""Sort orders and keyset pagination cursors.

Blank values sort last in both directions, on both databases (explicit ``NULLS LAST``), and the
record id is always the final tie-breaker, so every order is total and a cursor (the last row's
sort values plus its id) names one exact position. The next page is the rows strictly after
that position, written as nested ORs that treat NULL as "after every value"::

    (a > :a OR a IS NULL) OR (a = :a AND ((b < :b OR b IS NULL) OR (b = :b AND id > :id)))

A cursor is base64url JSON of the sort it belongs to, the values and the id. It carries no
secret and needs none: it only says where to continue in a query the caller may run anyway.
Decoding checks its shape and every value's type against the sort, so a cursor that was
tampered with, truncated or made for another sort is refused as "invalid cursor".
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from tessera.i18n import said
from tessera.metadata.filters import QueryError

from .query_filter import NoColumn, ObjectQuery, field_kind

_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")
_MAX_CURSOR = 4096
#: field kinds a sort can use (lists and JSON have no order)
_SORTABLE = frozenset({"number", "id", "boolean", "date", "datetime", "text"})


@dataclass(frozen=True, slots=True)
class SortKey:
    name: str                     # the dot path as written, without '-'
    column: sa.ColumnElement[Any]
    kind: str
    descending: bool
    #: False for NOT NULL columns of the object itself: their SQL stays index-friendly
    nullable: bool = True

    def order_by(self) -> sa.UnaryExpression[Any]:
        ordered = self.column.desc() if self.descending else self.column.asc()
        return ordered.nulls_last() if self.nullable else ordered

    def after(self, value: Any) -> sa.ColumnElement[bool]:
        """Rows that sort strictly after ``value`` on this key alone."""
        if value is None:
            return sa.false()  # blanks sort last: nothing comes after them
        bound = self._bind(value)
        beyond = self.column < bound if self.descending else self.column > bound
        return sa.or_(beyond, self.column.is_(None)) if self.nullable else beyond

    def same(self, value: Any) -> sa.ColumnElement[bool]:
        return self.column.is_(None) if value is None else self.column == self._bind(value)

    def _bind(self, value: Any) -> sa.BindParameter[Any]:
        # typed as the column, so money is scaled like the column and booleans compare
        return sa.bindparam(None, value, type_=self.column.type)


def sort_keys(query: ObjectQuery, sort: tuple[str, ...]) -> list[SortKey]:
    """The keys of ``sort`` ('-' for descending) plus the id tie-breaker, which follows the
    direction of the last key. Unknown or unsortable fields go to ``query.errors['sort']``."""
    keys: list[SortKey] = []
    problems: list[Any] = []
    for item in sort:
        name = item.strip()
        descending = name.startswith("-")
        name = name.lstrip("-").strip()
        if not name:
            problems.append(said("'%(item)s' names no field", item=item))
            continue
        try:
            column, field = query.column(tuple(name.split(".")))
        except NoColumn as exc:
            problems.append(exc.refusal("sort"))
            continue
        except LookupError as exc:
            problems.append(exc.args[0])
            continue
        kind = field_kind(field)
        if kind not in _SORTABLE:
            problems.append(said("'%(field)s' is a %(type)s field, which has no order to sort by",
                                 field=name, type=field.type))
            continue
        if any(key.name == name for key in keys):
            continue
        nullable = "." in name or bool(getattr(column, "nullable", True))  # a join can give NULL
        keys.append(SortKey(name, column, kind, descending, nullable))
    if problems:
        query.errors["sort"] = problems
    if not any(key.name == "id" for key in keys):
        keys.append(SortKey("id", query.table.c.id, "id", keys[-1].descending if keys else False, False))
    return keys


def keyset_after(keys: list[SortKey], values: list[Any]) -> sa.ColumnElement[bool]:
    """Rows strictly after the position ``values`` (one per key, the id last)."""
    clause: sa.ColumnElement[bool] | None = None
    for key, value in reversed(list(zip(keys, values, strict=True))):
        if clause is None:
            clause = key.after(value)
        elif value is None:
            clause = sa.and_(key.same(None), clause)
        else:
            clause = sa.or_(key.after(value), sa.and_(key.same(value), clause))
    assert clause is not None
    return clause


def signature(keys: list[SortKey]) -> list[str]:
    return [("-" if key.descending else "") + key.name for key in keys]


def encode_cursor(keys: list[SortKey], values: list[Any]) -> str:
    payload = {"s": signature(keys), "v": [_to_json(v) for v in values]}
    raw = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def decode_cursor(keys: list[SortKey], cursor: str) -> list[Any]:
    """The position in ``cursor``; QueryError ('invalid cursor') when it does not fit ``keys``."""
    try:
        if not isinstance(cursor, str) or len(cursor) > _MAX_CURSOR:
            raise ValueError
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        payload = json.loads(raw)
        if not isinstance(payload, dict) or payload.get("s") != signature(keys):
            raise ValueError
        values = payload.get("v")
        if not isinstance(values, list) or len(values) != len(keys):
            raise ValueError
        decoded = [_from_json(key, value) for key, value in zip(keys, values, strict=True)]
        if decoded[-1] is None:
            raise ValueError  # the id is never blank
        return decoded
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError, OverflowError):
        raise QueryError({"cursor": said("invalid cursor; start again from the first page")}) from None


def _to_json(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    return value


def _from_json(key: SortKey, value: Any) -> Any:
    if value is None:
        return None
    kind = key.kind
    if kind == "id" or (kind == "number" and isinstance(key.column.type, sa.Integer)):
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise ValueError
    if kind == "number":
        if isinstance(value, str) and _NUMBER.match(value):
            return Decimal(value)
        raise ValueError
    if kind == "boolean":
        if isinstance(value, bool):
            return value
        raise ValueError
    if not isinstance(value, str):
        raise ValueError
    if kind == "date":
        return dt.date.fromisoformat(value)
    if kind == "datetime":
        moment = dt.datetime.fromisoformat(value)
        if moment.tzinfo is None:
            raise ValueError
        return moment
    return value


__all__ = ["SortKey", "decode_cursor", "encode_cursor", "keyset_after", "sort_keys"]
