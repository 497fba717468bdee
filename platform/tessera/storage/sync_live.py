"""Schema sync, part 1: what the database holds now, and column shapes.

The live database is read once per plan with SQLAlchemy's inspector (one query per kind of
object on PostgreSQL). A :class:`Shape` is the dialect-neutral description of a column's type
("text(40)", "decimal(18,2)", ...) that the planner compares: the desired shape comes from the
column type a field type gives, the live one from reflection. On SQLite a decimal is stored as a
scaled BIGINT (see :mod:`tessera.storage.types`), so there the live shape of a BIGINT column is
taken from the last deployed snapshot when that says it holds a decimal.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from .types import ExactDecimal, JSONType, UTCDateTime

INT64_MAX = 2**63 - 1

KINDS = ("string", "integer", "decimal", "boolean", "date", "datetime", "json", "other")


@dataclass(frozen=True)
class Shape:
    """A column type as the planner compares it."""

    kind: str
    length: int | None = None      # string: max characters (None: unlimited)
    precision: int | None = None   # decimal
    scale: int | None = None       # decimal
    bits: int = 64                 # integer
    name: str = ""                 # other: the SQL type name

    def __str__(self) -> str:
        if self.kind == "string":
            return f"text({self.length})" if self.length else "text"
        if self.kind == "decimal":
            return f"decimal({self.precision},{self.scale})"
        if self.kind == "integer":
            return "integer" if self.bits == 64 else f"integer ({self.bits}-bit)"
        if self.kind == "other":
            return self.name
        return self.kind

    @property
    def numeric(self) -> bool:
        return self.kind in ("integer", "decimal")

    @property
    def digits_scale(self) -> int:
        """Digits after the point (0 for integers)."""
        return (self.scale or 0) if self.kind == "decimal" else 0

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"kind": self.kind}
        for key in ("length", "precision", "scale"):
            if getattr(self, key) is not None:
                data[key] = getattr(self, key)
        if self.kind == "integer" and self.bits != 64:
            data["bits"] = self.bits
        if self.name:
            data["name"] = self.name
        return data

    @classmethod
    def from_json(cls, data: Any) -> Shape | None:
        if not isinstance(data, dict) or data.get("kind") not in KINDS:
            return None
        return cls(data["kind"], data.get("length"), data.get("precision"), data.get("scale"),
                   data.get("bits", 64), data.get("name", ""))

    def sqla_type(self) -> sa.types.TypeEngine[Any]:
        """A SQLAlchemy type that reads and writes values of this shape."""
        if self.kind == "string":
            return sa.String(self.length) if self.length else sa.Text()
        if self.kind == "integer":
            return sa.BigInteger() if self.bits == 64 else sa.Integer()
        if self.kind == "decimal":
            return ExactDecimal(self.precision or 18, self.scale or 0)
        if self.kind == "boolean":
            return sa.Boolean()
        if self.kind == "date":
            return sa.Date()
        if self.kind == "datetime":
            return UTCDateTime()
        if self.kind == "json":
            return JSONType
        return sa.types.NullType()


def shape_of(type_: sa.types.TypeEngine[Any], dialect: str) -> Shape:
    """The shape of a desired or reflected column type on ``dialect``."""
    if isinstance(type_, ExactDecimal):
        return Shape("decimal", precision=type_.precision, scale=type_.scale)
    type_ = getattr(type_, "_variant_mapping", {}).get(dialect, type_)
    if isinstance(type_, UTCDateTime | sa.DateTime):
        return Shape("datetime")
    if isinstance(type_, sa.types.TypeDecorator):
        type_ = type_.impl_instance
    if isinstance(type_, sa.JSON):
        return Shape("json")
    if isinstance(type_, sa.Boolean):
        return Shape("boolean")
    if isinstance(type_, sa.Date):
        return Shape("date")
    if isinstance(type_, sa.Integer):
        if dialect == "sqlite" or isinstance(type_, sa.BigInteger):
            return Shape("integer")
        return Shape("integer", bits=16 if isinstance(type_, sa.SmallInteger) else 32)
    if isinstance(type_, sa.Numeric) and not isinstance(type_, sa.Float):
        return Shape("decimal", precision=type_.precision, scale=type_.scale or 0)
    if isinstance(type_, sa.String):
        return Shape("string", length=type_.length or None)
    try:
        name = str(type_)
    except Exception:  # noqa: BLE001 - a type that cannot compile without its dialect
        name = type(type_).__name__
    return Shape("other", name=name)


def live_shape(type_: sa.types.TypeEngine[Any], dialect: str, hint: Shape | None, desired: Shape | None) -> Shape:
    """The shape of a live column. On SQLite a BIGINT may hold a scaled decimal: the last
    snapshot (``hint``) says which; without one the column is taken to match what is desired,
    never guessed into a rescale."""
    shape = shape_of(type_, dialect)
    if dialect == "sqlite" and shape.kind == "integer":
        if hint is not None and hint.kind == "decimal":
            return hint
        if hint is None and desired is not None and desired.kind == "decimal":
            return desired
    return shape


# ------------------------------------------------------------------------------ live tables

@dataclass
class LiveColumn:
    name: str
    type: sa.types.TypeEngine[Any]
    nullable: bool = True
    default: str | None = None
    primary_key: bool = False


@dataclass(frozen=True)
class LiveIndex:
    name: str
    columns: tuple[str, ...]
    unique: bool
    where_set: str | None = None  # a partial index over rows where this column IS NOT NULL


_WHERE_SET = re.compile(r'^\(*\s*"?(\w+)"?\s+IS\s+NOT\s+NULL\s*\)*$', re.IGNORECASE)


def _where_set(info: Mapping[str, Any]) -> str | None:
    """The column of a reflected partial index's ``column IS NOT NULL`` condition; any other
    condition is kept as its text, so that it never compares equal to one of ours."""
    options = info.get("dialect_options") or {}
    where = options.get("sqlite_where", options.get("postgresql_where"))
    if where is None:
        return None
    text = str(where).strip()
    found = _WHERE_SET.match(text)
    return found.group(1) if found else text


@dataclass(frozen=True)
class LiveForeignKey:
    name: str | None
    column: str
    target: str
    ondelete: str | None


@dataclass
class LiveTable:
    name: str
    columns: dict[str, LiveColumn] = field(default_factory=dict)
    indexes: dict[str, LiveIndex] = field(default_factory=dict)
    foreign_keys: dict[str, LiveForeignKey] = field(default_factory=dict)  # by column


def normalize_ondelete(value: str | None) -> str | None:
    value = (value or "").upper().strip()
    return None if value in ("", "NO ACTION") else value


def read_live(conn: Connection, schema: str | None) -> dict[str, LiveTable]:
    """Every table of the org's schema (or SQLite file) with its columns, indexes and FKs."""
    inspector = sa.inspect(conn)
    names = [n for n in inspector.get_table_names(schema=schema)
             if not n.startswith(("sqlite_", "_alembic_tmp_"))]
    if not names:
        return {}
    tables = {name: LiveTable(name) for name in names}
    for (_, name), columns in inspector.get_multi_columns(schema=schema, filter_names=names).items():
        for info in columns:
            default = info.get("default")
            tables[name].columns[info["name"]] = LiveColumn(
                info["name"], info["type"], bool(info.get("nullable", True)),
                None if default is None or str(default).startswith("nextval(") else str(default))
    for (_, name), pk in inspector.get_multi_pk_constraint(schema=schema, filter_names=names).items():
        for column in pk.get("constrained_columns") or ():
            if column in tables[name].columns:
                tables[name].columns[column].primary_key = True
    for (_, name), indexes in inspector.get_multi_indexes(schema=schema, filter_names=names).items():
        for info in indexes:
            if info.get("name") and all(info.get("column_names") or [None]):
                tables[name].indexes[info["name"]] = LiveIndex(
                    info["name"], tuple(info["column_names"]), bool(info.get("unique")), _where_set(info))
    for (_, name), fks in inspector.get_multi_foreign_keys(schema=schema, filter_names=names).items():
        for info in fks:
            columns = info.get("constrained_columns") or []
            if len(columns) != 1:
                continue  # not one of ours: Tessera's foreign keys are single-column
            tables[name].foreign_keys[columns[0]] = LiveForeignKey(
                info.get("name"), columns[0], info["referred_table"],
                normalize_ondelete((info.get("options") or {}).get("ondelete")))
    return tables


# ------------------------------------------------------------------------------ counting rows

class Counter:
    """The counting queries the planner runs to say how many rows a change affects."""

    EXAMPLES = 3

    def __init__(self, conn: Connection, schema: str | None) -> None:
        self.conn = conn
        self.schema = schema

    def table(self, name: str, columns: Mapping[str, Any]) -> sa.TableClause:
        return sa.table(name, *(sa.column(c, t) for c, t in columns.items()), schema=self.schema)

    def scalar(self, statement: sa.Select[Any]) -> int:
        return int(self.conn.execute(statement).scalar() or 0)

    def rows(self, table: str) -> int:
        return self.scalar(sa.select(sa.func.count()).select_from(self.table(table, {})))

    def blank(self, table: str, column: str, shape: Shape) -> int:
        """Rows without a value (NULL, or empty text)."""
        t = self.table(table, {column: shape.sqla_type() if shape.kind == "string" else sa.types.NullType()})
        blank = t.c[column].is_(None)
        if shape.kind == "string":
            blank = sa.or_(blank, t.c[column] == "")
        return self.scalar(sa.select(sa.func.count()).select_from(t).where(blank))

    def longer(self, table: str, column: str, length: int) -> int:
        t = self.table(table, {column: sa.Text()})
        return self.scalar(sa.select(sa.func.count()).select_from(t).where(sa.func.length(t.c[column]) > length))

    def lossy(self, table: str, column: str, old: Shape, convert: Callable[[Any], tuple[Any, bool]]
              ) -> tuple[int, list[Any], list[Any]]:
        """Rows whose value would not survive ``convert``; a few examples; the distinct values
        that would become NULL. Reads each distinct value once, decoded as ``old``."""
        t = self.table(table, {column: old.sqla_type()})
        c = t.c[column]
        lost, examples, nulled = 0, [], []
        for value, count in self.conn.execute(sa.select(c, sa.func.count()).where(c.is_not(None)).group_by(c)):
            new_value, lossless = convert(value)
            if not lossless:
                lost += count
                if len(examples) < self.EXAMPLES:
                    examples.append(value)
                if new_value is None:
                    nulled.append(value)
        return lost, sorted(examples, key=str), nulled

    def duplicates(self, table: str, columns: list[str]) -> tuple[int, int]:
        """(values held by more than one row, rows holding them), ignoring blanks."""
        t = self.table(table, {c: sa.types.NullType() for c in columns})
        cols = [t.c[c] for c in columns]
        groups = (sa.select(sa.func.count().label("n")).where(*(c.is_not(None) for c in cols))
                  .group_by(*cols).having(sa.func.count() > 1).subquery())
        row = self.conn.execute(sa.select(sa.func.count(), sa.func.coalesce(sa.func.sum(groups.c.n), 0))
                                .select_from(groups)).first()
        return (int(row[0]), int(row[1])) if row else (0, 0)

    def dangling(self, table: str, column: str, target: str, target_exists: bool) -> int:
        """Rows whose reference points at no ``target`` record (all of them if it is new)."""
        t = self.table(table, {column: sa.BigInteger()})
        condition: sa.ColumnElement[bool] = t.c[column].is_not(None)
        if target_exists:
            target_t = self.table(target, {"id": sa.BigInteger()})
            condition = sa.and_(condition, ~sa.select(target_t.c.id).where(target_t.c.id == t.c[column]).exists())
        return self.scalar(sa.select(sa.func.count()).select_from(t).where(condition))
