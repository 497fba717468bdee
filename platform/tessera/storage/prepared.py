"""Statements the record service runs on every request, compiled once and, on SQLite, run
straight on the driver's connection.

SQLAlchemy's ``Connection.execute`` does a great deal per call besides running the statement:
it looks the compiled form up in its cache, builds an execution context, fires events, wraps
the cursor in a result, and converts each row through the result's processors. For a record
read by id that was about 45 us, against 9 us for sqlite3 running the same SQL; an API update
runs three such statements (the record, the UPDATE, the history row). A :class:`Prepared`
statement is compiled once by SQLAlchemy, with SQLAlchemy's own type processors for its
parameters and result columns, so values are converted exactly as ``Connection.execute``
converts them; only the per-call machinery is left out.

It keeps the rules of the connection it runs on: it runs inside the connection's transaction
(beginning one as SQLAlchemy would), a write first takes the write turn of a
:meth:`~tessera.storage.database.Database.begin_late` transaction, and driver errors come out
as SQLAlchemy's exceptions (``sqlalchemy.exc.IntegrityError`` and so on).

Everywhere else the statement simply goes through ``Connection.execute``: on PostgreSQL,
for statements it cannot run straight (expanding ``IN`` lists, Python-side column defaults,
parameters computed at run time), for an INSERT or UPDATE given other columns than it was
prepared for, and whenever anything else listens to the engine's statements (``echo``,
statement counting in tests, tracing): they then see every statement.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Dialect

from .database import sqlite_statement_listener, take_write_turn

Processor = Callable[[Any], Any]


class Prepared:
    """One statement with bound parameters, run many times. ``keys`` are the parameter names
    of an INSERT or UPDATE whose values are given at run time (as ``Connection.execute``
    works them out from the parameters it is given). A run that gives other names (one left
    out, or one more) goes through SQLAlchemy, whose statement then sets the columns given."""

    __slots__ = ("statement", "keys", "_dialect", "_straight")

    def __init__(self, statement: sa.Executable, keys: Iterable[str] | None = None) -> None:
        self.statement = statement
        self.keys = tuple(keys) if keys is not None else None
        self._dialect: Dialect | None = None
        self._straight: _Straight | None = None

    def first(self, conn: Connection, params: Mapping[str, Any]) -> dict[str, Any] | None:
        """The first row as a dict (the rest discarded), or None."""
        straight = self._for(conn)
        if straight is not None:
            values = straight.values(params)
            if values is not None:
                return straight.first(conn, values)
        row = conn.execute(self.statement, params).mappings().first()
        return dict(row) if row is not None else None

    def run(self, conn: Connection, params: Mapping[str, Any]) -> None:
        """Run it for its effect."""
        straight = self._for(conn)
        if straight is not None:
            values = straight.values(params)
            if values is not None:
                straight.run(conn, values)
                return
        conn.execute(self.statement, params)

    def _for(self, conn: Connection) -> _Straight | None:
        """How to run it straight on this connection's driver; None to go through SQLAlchemy."""
        dialect = conn.dialect
        if dialect.name != "sqlite" or not _quiet(conn):
            return None
        if self._dialect is not dialect:
            self._straight = _Straight.compile(self.statement, dialect, self.keys)
            self._dialect = dialect
        return self._straight


def _quiet(conn: Connection) -> bool:
    """Whether nothing but Tessera's own SQLite listener watches this connection's statements."""
    if conn.engine.echo:
        return False
    dispatch = conn.dispatch
    if dispatch.after_cursor_execute or conn.dialect.dispatch.handle_error:
        return False
    return all(listener is sqlite_statement_listener for listener in dispatch.before_cursor_execute)


@dataclass(frozen=True, slots=True)
class _Straight:
    """The compiled form of a statement for one dialect, run on the DB-API connection."""

    sql: str
    names: tuple[str, ...]  # the parameters, in the statement's order
    given: int | None  # how many parameters a run of an INSERT or UPDATE gives (None: any)
    fixed: dict[str, Any]  # the statement's own literals (version + 1)
    bind_processors: list[tuple[int, Processor]]
    columns: tuple[str, ...]  # of the rows it returns
    result_processors: list[tuple[int, Processor]]
    writes: bool
    dbapi_error: type[Exception]

    @classmethod
    def compile(cls, statement: sa.Executable, dialect: Dialect, keys: tuple[str, ...] | None) -> _Straight | None:
        compiled = statement.compile(dialect=dialect, column_keys=list(keys) if keys is not None else None)
        if (not compiled.positional or compiled.positiontup is None or compiled.escaped_bind_names
                or compiled.post_compile_params or compiled.literal_execute_params
                or compiled.insert_prefetch or compiled.update_prefetch):
            return None  # what SQLAlchemy works out per execution: leave it to SQLAlchemy
        names = tuple(compiled.positiontup)
        fixed: dict[str, Any] = {}
        bind_processors: list[tuple[int, Processor]] = []
        for index, name in enumerate(names):
            bind = compiled.binds[name]
            if bind.callable is not None:
                return None
            if not bind.required and (keys is None or name not in keys):
                fixed[name] = bind.value  # a literal of the statement (version + 1)
            processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if processor is not None:
                bind_processors.append((index, processor))
        if getattr(statement, "is_select", False):
            descriptions = statement.column_descriptions  # type: ignore[attr-defined]
            writes = False
        else:
            descriptions = getattr(statement, "returning_column_descriptions", None) or []
            writes = True
        columns = tuple(description["name"] for description in descriptions)
        if len(set(columns)) != len(columns):
            return None  # same-named columns: SQLAlchemy's mappings decide which one wins
        result_processors: list[tuple[int, Processor]] = []
        for index, description in enumerate(descriptions):
            processor = description["type"].dialect_impl(dialect).result_processor(dialect, None)
            if processor is not None:
                result_processors.append((index, processor))
        given = len(set(names) - set(fixed)) if keys is not None else None
        return cls(compiled.string, names, given, fixed, bind_processors, columns, result_processors, writes,
                   dialect.loaded_dbapi.Error)

    def values(self, params: Mapping[str, Any]) -> list[Any] | None:
        """The parameters in the statement's order, converted for the driver; None when one of
        them is not given, or an INSERT or UPDATE is given a column it was not prepared for."""
        if self.given is not None and len(params) != self.given:
            return None
        try:
            values = [params[name] if name in params else self.fixed[name] for name in self.names]
        except KeyError:
            return None
        for index, processor in self.bind_processors:
            values[index] = processor(values[index])
        return values

    def first(self, conn: Connection, values: list[Any]) -> dict[str, Any] | None:
        cursor = self._execute(conn, values)
        try:
            # a write's RETURNING rows are all read, so the statement is finished before COMMIT
            rows = cursor.fetchall() if self.writes else cursor.fetchmany(1)
        except self.dbapi_error as exc:
            raise sa.exc.DBAPIError.instance(self.sql, None, exc, self.dbapi_error, dialect=conn.dialect) from exc
        finally:
            cursor.close()
        if not rows:
            return None
        row = list(rows[0])
        for index, processor in self.result_processors:
            row[index] = processor(row[index])
        return dict(zip(self.columns, row, strict=True))

    def run(self, conn: Connection, values: list[Any]) -> None:
        self._execute(conn, values).close()

    def _execute(self, conn: Connection, values: list[Any]) -> Any:
        if not conn.in_transaction():
            conn.begin()  # as SQLAlchemy's autobegin would
        if self.writes:
            take_write_turn(conn)  # what the SQLite statement listener does for a write
        try:
            return conn.connection.driver_connection.execute(self.sql, values)  # type: ignore[union-attr]
        except self.dbapi_error as exc:
            raise sa.exc.DBAPIError.instance(self.sql, values, exc, self.dbapi_error, dialect=conn.dialect) from exc
