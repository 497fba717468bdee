"""Schema sync, part 4: the plan's parts — refusals, steps, the plan itself — and the Alembic
operations its steps are made of.

Each step holds actions: functions of an Alembic :class:`~alembic.operations.Operations`. The
same actions run against an offline (``as_sql``) context to print the SQL, and against the
deploy's connection to apply it, so what ``tessera metadata diff`` shows is what runs. An action
that moves data row by row (a type conversion) prints a comment saying so.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from alembic.operations import Operations
from alembic.runtime.migration import MigrationContext

from tessera.metadata.registry import Registry

from .database import Database
from .sync_live import LiveForeignKey, LiveIndex, Shape
from .tables import RETIRED_PREFIX, StorageSchema, index_where, index_where_set

SNAPSHOT_VERSION = 1
_MAX_NAME = 63

Action = Callable[[Operations], None]


@dataclass(frozen=True)
class Refusal:
    """A reason the deploy cannot go ahead. ``forceable`` ones go ahead under
    ``--allow-destructive``, which then does ``effect`` to the affected rows."""

    message: str
    forceable: bool = False
    effect: str = ""

    def __str__(self) -> str:
        if self.forceable:
            return f"{self.message} (--allow-destructive {self.effect})"
        return self.message


@dataclass
class Step:
    """One change: ``describe()`` says it in words, ``sql`` shows the statements."""

    kind: str
    table: str
    words: str
    actions: list[Action] = field(default_factory=list, repr=False)
    sql: str = ""
    sql_note: str = ""

    def describe(self) -> str:
        return self.words

    def __str__(self) -> str:
        return self.words


@dataclass
class Plan:
    """What a deploy would do to one org's database."""

    registry: Registry = field(repr=False)
    db: Database = field(repr=False)
    storage: StorageSchema = field(repr=False)
    steps: list[Step]
    refusals: list[Refusal]
    kept: list[str]
    packages: list[dict[str, str]]
    snapshot: dict[str, Any] = field(repr=False)
    last_deployment: int | None = None

    @property
    def is_empty(self) -> bool:
        return not self.steps

    @property
    def touched_tables(self) -> set[str]:
        return {step.table for step in self.steps if step.actions}

    def blocking(self, allow_destructive: bool) -> list[Refusal]:
        """The refusals that stop this deploy."""
        return [r for r in self.refusals if not (allow_destructive and r.forceable)]

    def signature(self) -> tuple[Any, ...]:
        return (tuple(s.words for s in self.steps), tuple(str(r) for r in self.refusals))

    def render(self, *, sql: bool = True) -> str:
        """The plan for people: numbered steps (with their SQL), kept tables, refusals."""
        lines: list[str] = []
        if self.is_empty:
            lines.append("nothing to change")
        for number, step in enumerate(self.steps, 1):
            lines.append(f"{number}. {step.words}")
            if sql and step.sql:
                lines.extend(f"     {line}" for line in step.sql.splitlines())
        for table in self.kept:
            lines.append(f"kept: table {table} has no object in the metadata; it stays with its data")
        if self.refusals:
            lines.append(f"a deploy would be refused ({len(self.refusals)} "
                         f"problem{'s' if len(self.refusals) != 1 else ''}):")
            lines.extend(f"  - {refusal}" for refusal in self.refusals)
        return "\n".join(lines)


# ------------------------------------------------------------------------------ helpers

def short_name(name: str) -> str:
    """``name`` within PostgreSQL's identifier limit, kept unique by a digest."""
    if len(name) <= _MAX_NAME:
        return name
    return f"{name[:52]}_{hashlib.sha1(name.encode()).hexdigest()[:10]}"


def retired_name(field_name: str, taken: set[str]) -> str:
    base = short_name(f"{RETIRED_PREFIX}{field_name}")
    name, number = base, 2
    while name in taken:
        name = short_name(f"{base}_{number}")
        number += 1
    return name


def target_table(fk: sa.ForeignKey) -> str:
    return fk.target_fullname.split(".")[-2]


def plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def says(count: int, word: str, verb: str) -> str:
    """'1 row has', '2 rows have': ``verb`` is given in the plural ('have', 'are', 'refer')."""
    singular = {"have": "has", "are": "is"}.get(verb, f"{verb}s")
    return f"{plural(count, word)} {singular if count == 1 else verb}"


def examples_text(values: list[Any]) -> str:
    if not values:
        return ""
    shown = ", ".join(repr(v) if isinstance(v, str) else str(v) for v in values[:3])
    return f" (e.g. {shown})"


@dataclass
class StateColumn:
    """A column of an existing SQLite table as it will be just before its rebuild."""

    name: str
    type: Any
    nullable: bool = True
    primary_key: bool = False
    default: str | None = None
    fk: tuple[str, str | None] | None = None  # (target table, on delete)
    drop: bool = False  # the old column of a conversion, dropped by the rebuild


# ------------------------------------------------------------------------------ operations

def op_copy_columns(table: sa.Table, *, with_fks: bool) -> list[sa.Column[Any]]:
    columns = []
    for c in table.columns:
        args = []
        if with_fks:
            args = [sa.ForeignKey(fk.target_fullname, ondelete=fk.ondelete, name=fk.name) for fk in c.foreign_keys]
        if c.identity is not None:
            args.append(sa.Identity(always=c.identity.always, start=c.identity.start, increment=c.identity.increment))
        default = c.server_default.arg if isinstance(c.server_default, sa.DefaultClause) else None
        columns.append(sa.Column(c.name, c.type, *args, primary_key=c.primary_key, nullable=c.nullable,
                                 autoincrement=c.autoincrement, server_default=default))
    return columns


def op_copy_indexes(table: sa.Table) -> list[sa.Index]:
    return [copy_index(i.name, tuple(c.name for c in i.columns), i.unique, index_where(i))
            for i in sorted(table.indexes, key=lambda i: str(i.name))]


def copy_index(name: str, columns: tuple[str, ...], unique: bool, where_set: str | None) -> sa.Index:
    if where_set is None:
        return sa.Index(name, *columns, unique=unique)
    return index_where_set(name, where_set, *columns)


def op_drop_index(index: LiveIndex, table: str, schema: str | None) -> Action:
    return lambda op: op.drop_index(index.name, table_name=table, schema=schema)


def op_create_index(name: str, table: str, columns: tuple[str, ...], unique: bool, schema: str | None,
                    where_set: str | None = None) -> Action:
    if where_set is None:
        return lambda op: op.create_index(name, table, list(columns), unique=unique, schema=schema)
    where = sa.text(f"{where_set} IS NOT NULL")
    return lambda op: op.create_index(name, table, list(columns), unique=unique, schema=schema,
                                      sqlite_where=where, postgresql_where=where)


def op_drop_fk(fk: LiveForeignKey, table: str, schema: str | None) -> Action:
    return lambda op: op.drop_constraint(fk.name, table, type_="foreignkey", schema=schema)


def op_rename(table: str, old: str, new: str, schema: str | None) -> Action:
    return lambda op: op.alter_column(table, old, new_column_name=new, schema=schema)


def op_add_column(table: str, column: sa.Column[Any], schema: str | None) -> Action:
    """Add a nullable column; its foreign key comes separately (PostgreSQL: ADD CONSTRAINT after
    the new tables; SQLite: the table rebuild, so that the constraint has its name)."""
    return lambda op: op.add_column(table, sa.Column(column.name, column.type, nullable=True), schema=schema)


def op_drop_column(table: str, column: str, schema: str | None) -> Action:
    return lambda op: op.drop_column(table, column, schema=schema)


def op_alter_type(table: str, column: str, new_type: Any, old_type: Any, schema: str | None) -> Action:
    return lambda op: op.alter_column(table, column, type_=new_type, existing_type=old_type,
                                      existing_nullable=True, schema=schema)


def op_truncate(table: str, column: str, length: int, schema: str | None) -> Action:
    def truncate(op: Operations) -> None:
        t = sa.table(table, sa.column(column, sa.Text()), schema=schema)
        op.execute(sa.update(t).where(sa.func.length(t.c[column]) > length)
                   .values({column: sa.func.substr(t.c[column], 1, length)}))
    return truncate


def op_rescale(table: str, column: str, shift: int, schema: str | None) -> Action:
    """SQLite keeps decimals as scaled integers: a scale change multiplies or divides them
    (rounding half away from zero, as the Decimal conversion does)."""
    def rescale(op: Operations) -> None:
        t = sa.table(table, sa.column(column, sa.BigInteger()), schema=schema)
        c = t.c[column]
        if shift > 0:
            value: Any = c * (10 ** shift)
        else:
            divisor, half = 10 ** -shift, 10 ** -shift // 2
            value = sa.case((c >= 0, (c + half) // divisor), else_=(c - half) // divisor)  # integer division
        op.execute(sa.update(t).where(c.is_not(None)).values({column: value}))
    return rescale


def op_null_values(table: str, column: str, old: Shape, values: list[Any], schema: str | None, new: Shape) -> Action:
    """Blank the values that cannot be kept at all (too large for the new type)."""
    def blank(op: Operations) -> None:
        if op.get_context().as_sql:
            op.get_context().impl.static_output(
                f"-- set {column} to NULL in the rows whose value does not fit {new} ({plural(len(values), 'value')})")
            return
        t = sa.table(table, sa.column(column, old.sqla_type()), schema=schema)
        for value in values:
            op.execute(sa.update(t).where(t.c[column] == value).values({column: None}))
    return blank


def op_fill(table: str, source: str, target: str, old: Shape, new_type: Any,
          convert: Callable[[Any], tuple[Any, bool]], schema: str | None) -> Action:
    """Copy every value from ``source`` to ``target``, converted in Python."""
    def fill(op: Operations) -> None:
        if op.get_context().as_sql:
            op.get_context().impl.static_output(
                f"-- for each row: {target} = {source} converted from {old} (values that cannot be converted stay NULL)")
            return
        conn = op.get_bind()
        t = sa.table(table, sa.column("id", sa.BigInteger()), sa.column(source, old.sqla_type()),
                     sa.column(target, new_type), schema=schema)
        rows = conn.execute(sa.select(t.c.id, t.c[source]).where(t.c[source].is_not(None))).all()
        updates = []
        for row_id, value in rows:
            new_value, _ = convert(value)
            if new_value is not None:
                updates.append({"row_id": row_id, "new_value": new_value})
        statement = (sa.update(t).where(t.c.id == sa.bindparam("row_id"))
                     .values({target: sa.bindparam("new_value", type_=new_type)}))
        for start in range(0, len(updates), 1000):
            conn.execute(statement, updates[start:start + 1000])
    return fill


def op_fill_blanks(table: str, column: str, column_type: Any, shape: Shape, value: Any, schema: str | None) -> Action:
    def fill(op: Operations) -> None:
        t = sa.table(table, sa.column(column, column_type), schema=schema)
        blank: sa.ColumnElement[bool] = t.c[column].is_(None)
        if shape.kind == "string":
            blank = sa.or_(blank, t.c[column] == "")
        op.execute(sa.update(t).where(blank).values({column: sa.bindparam("value", value, type_=column_type)}))
    return fill


# ------------------------------------------------------------------------------ SQL text

def render_sql(step: Step, db: Database) -> str:
    """The statements of ``step`` as the database would receive them (offline Alembic)."""
    if not step.actions:
        return f"-- {step.sql_note}" if step.sql_note else ""
    buffer = io.StringIO()
    context = MigrationContext.configure(dialect=db.engine.dialect,
                                         opts={"as_sql": True, "output_buffer": buffer, "literal_binds": True})
    op = Operations(context)
    for action in step.actions:
        action(op)
    text = "\n".join(line.rstrip() for line in buffer.getvalue().splitlines() if line.strip())
    if step.sql_note:
        text = f"-- {step.sql_note}\n{text}"
    return text
