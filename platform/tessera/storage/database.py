"""One org's database: the engine, the schema its records live in, and dialect set-up.

On PostgreSQL each org's records live in their own schema (``org_<name>``); on SQLite each org
has its own database file, so no schema is used. Everything that touches records gets its
connection from a :class:`Database`, so the org is never implicit.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

#: the execution option of :meth:`Database.read` connections
READ_ONLY = "tessera_read_only"
_SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


@dataclass
class Database:
    """An engine plus the schema of one org's records (None on SQLite)."""

    engine: Engine
    schema: str | None = None
    _metadata: sa.MetaData | None = field(default=None, repr=False)

    @classmethod
    def connect(cls, url: str, *, schema: str | None = None, **engine_options: Any) -> Database:
        """Open ``url``. ``schema`` applies to PostgreSQL only (ignored on SQLite)."""
        engine = create_engine(url, **engine_options)
        if engine.dialect.name == "sqlite":
            schema = None
        elif schema is not None and not _SCHEMA_NAME.match(schema):
            raise ValueError(f"'{schema}' is not a valid schema name")
        return cls(engine, schema)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    def ensure_schema(self) -> None:
        """Create the org's schema if the database has schemas and it is missing."""
        if self.schema is None:
            return
        with self.engine.begin() as conn:
            conn.execute(sa.schema.CreateSchema(self.schema, if_not_exists=True))

    def drop_schema(self) -> None:
        """Drop the org's schema and everything in it (tests and org deletion only)."""
        if self.schema is None:
            return
        with self.engine.begin() as conn:
            conn.execute(sa.schema.DropSchema(self.schema, cascade=True, if_exists=True))

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        """A connection inside one transaction, committed on success, rolled back on error."""
        with self.engine.begin() as conn:
            yield conn

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A connection inside one transaction that only reads. On SQLite it starts deferred
        (a plain BEGIN), so readers never queue for the write lock :meth:`begin` takes; WAL
        gives them a consistent snapshot while writers go on."""
        with self.engine.connect() as conn:
            conn.execution_options(**{READ_ONLY: True})
            with conn.begin():
                yield conn

    def analyze(self, tables: Iterable[str] = ()) -> None:
        """Bring the query planner's statistics up to date, after loading or changing many
        rows. SQLite keeps none unless asked, and without them it may sort a whole filtered
        table instead of walking the sort index (a page with record-level rules went from
        1.2 ms to 0.5 ms). It reads every index in full: sampled statistics (analysis_limit)
        misjudged that page badly (20 ms). On PostgreSQL autovacuum does this in time;
        ``tables`` are the org's tables to analyse now."""
        with self.engine.connect() as conn:
            if self.is_sqlite:
                conn.exec_driver_sql("ANALYZE")
            else:
                preparer = conn.dialect.identifier_preparer
                for name in tables:
                    qualified = preparer.quote(name) if self.schema is None else \
                        f"{preparer.quote_schema(self.schema)}.{preparer.quote(name)}"
                    conn.exec_driver_sql(f"ANALYZE {qualified}")
            conn.commit()

    def dispose(self) -> None:
        self.engine.dispose()


def normalise_url(url: str) -> str:
    """``postgresql://`` and ``postgres://`` (what people write) mean psycopg 3 here."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def create_engine(url: str, **options: Any) -> Engine:
    """An engine with Tessera's settings for the dialect (SQLite: foreign keys on, WAL,
    a busy timeout so concurrent writers wait instead of failing)."""
    url = normalise_url(url)
    if url.startswith("sqlite"):
        options.setdefault("connect_args", {}).setdefault("timeout", 30)
        engine = sa.create_engine(url, **options)
        sa.event.listen(engine, "connect", _sqlite_on_connect)
        sa.event.listen(engine, "begin", _sqlite_on_begin)
        return engine
    options.setdefault("pool_pre_ping", True)
    return sa.create_engine(url, **options)


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    # let SQLAlchemy, not pysqlite, manage transactions (so BEGIN IMMEDIATE below works)
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.execute("PRAGMA synchronous = NORMAL")
    cursor.close()


def _sqlite_on_begin(conn: Connection) -> None:
    # take the write lock at the start: read-then-write transactions cannot deadlock, and
    # concurrent writers queue on the busy timeout instead of failing half-way. Transactions
    # that only read (Database.read) start deferred and take no lock.
    conn.exec_driver_sql("BEGIN" if conn.get_execution_options().get(READ_ONLY) else "BEGIN IMMEDIATE")
