"""One org's database: the engine, the schema its records live in, and dialect set-up.

On PostgreSQL each org's records live in their own schema (``org_<name>``); on SQLite each org
has its own database file, so no schema is used. Everything that touches records gets its
connection from a :class:`Database`, so the org is never implicit.
"""

from __future__ import annotations

import fcntl
import os
import re
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

#: the execution option of :meth:`Database.read` connections
READ_ONLY = "tessera_read_only"
#: where a :meth:`Database.begin_late` connection keeps its :class:`_LateTurn`
_LATE_TURN = "tessera_late_turn"
_SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


@dataclass
class Database:
    """An engine plus the schema of one org's records (None on SQLite)."""

    engine: Engine
    schema: str | None = None
    _metadata: sa.MetaData | None = field(default=None, repr=False)
    _writers: WriterQueue | None = field(default=None, repr=False)
    _probe_statement: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        database = self.engine.url.database if self.engine.dialect.name == "sqlite" else None
        if database and database != ":memory:" and not database.startswith("file:"):
            self._writers = WriterQueue(Path(database).with_name(Path(database).name + ".writers"))

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
        """A connection inside one transaction, committed on success, rolled back on error.
        On a SQLite file, writers take turns in a :class:`WriterQueue` first."""
        if self._writers is None:
            with self.engine.begin() as conn:
                yield conn
            return
        with self._writers, self.engine.begin() as conn:
            yield conn

    @contextmanager
    def begin_late(self) -> Iterator[Connection]:
        """Like :meth:`begin`, but on a SQLite file the transaction starts deferred and takes
        the write lock only when it is about to write: at the first statement that is not a
        SELECT, or earlier by :func:`take_write_turn`. Work that reads and checks a lot before
        a short write (a validated record update) then holds the lock only for the write, and
        other writers are not queued behind its checks.

        When nobody committed since the transaction began, taking the lock upgrades it in
        place and what it read still stands. Otherwise it starts again from the newest state,
        so what was read before may have changed since, as under PostgreSQL's READ COMMITTED
        (which :meth:`begin` gives there too): writes that depend on a row read before must
        check its version (``UPDATE ... WHERE version = :read``), and a result still being
        iterated when the lock is taken does not survive; fetch it whole first."""
        if self._writers is None:
            with self.engine.begin() as conn:
                yield conn
            return
        with self.engine.connect() as conn:
            turn = _LateTurn(self)
            conn.info[_LATE_TURN] = turn
            try:
                with conn.begin():  # deferred: see _sqlite_on_begin
                    yield conn
            finally:
                conn.info.pop(_LATE_TURN, None)
                turn.release()

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A connection inside one transaction that only reads. On SQLite it starts deferred
        (a plain BEGIN), so readers never queue for the write lock :meth:`begin` takes; WAL
        gives them a consistent snapshot while writers go on."""
        with self.engine.connect() as conn:
            conn.execution_options(**{READ_ONLY: True})
            with conn.begin():
                yield conn

    def _probe(self, dbapi_connection: Any) -> str | None:
        """A write that changes nothing, to upgrade a :meth:`begin_late` transaction in
        place: an empty DELETE from one of Tessera's own tables (None before any exists)."""
        if self._probe_statement is None:
            found = dbapi_connection.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'tessera!_%' ESCAPE '!' "
                "ORDER BY name LIMIT 1").fetchone()
            if found is None:
                return None
            quoted = '"' + found[0].replace('"', '""') + '"'
            self._probe_statement = f"DELETE FROM {quoted} WHERE 0"
        return self._probe_statement

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
        if self._writers is not None:
            self._writers.close()


class WriterQueue:
    """Writers of one SQLite file take turns here before ``BEGIN IMMEDIATE``.

    SQLite lets one writer in at a time; the others wait in its busy handler, which sleeps 1,
    2, 5, 10... ms between tries, so under concurrent writes a writer spends much of its time
    asleep after the lock was already free. Here they wait on an exclusive ``flock`` of a file
    beside the database (across processes: gunicorn workers) behind a lock per process
    (threads), and the kernel wakes the next one the moment the lock is released. Reentrant
    within a thread: only the outermost turn holds the file lock.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.RLock()
        self._depth = 0
        self._fd: int | None = None
        self._pid = 0

    def __enter__(self) -> None:
        self._lock.acquire()
        try:
            if self._depth == 0:
                fcntl.flock(self._descriptor(), fcntl.LOCK_EX)
            self._depth += 1
        except BaseException:
            self._lock.release()
            raise

    def __exit__(self, *exc: object) -> None:
        try:
            self._depth -= 1
            if self._depth == 0 and self._fd is not None:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self._lock.release()

    def close(self) -> None:
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None

    def _descriptor(self) -> int:
        if self._fd is not None and self._pid != os.getpid():
            os.close(self._fd)  # a forked worker's own copy: the parent keeps its lock
            self._fd = None
        if self._fd is None:  # a descriptor of this process: a parent's lock is not shared
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            self._pid = os.getpid()
        return self._fd


class _LateTurn:
    """The write turn of one :meth:`Database.begin_late` transaction, taken at most once."""

    __slots__ = ("database", "held")

    def __init__(self, database: Database) -> None:
        self.database = database
        self.held = False

    def take(self, dbapi_connection: Any) -> bool:
        """Take the writers' turn and make the transaction the writer. When nobody committed
        since it began, it goes on with what it read (False); else it starts again from the
        newest state (True), having only read."""
        assert self.database._writers is not None
        self.database._writers.__enter__()
        self.held = True
        probe = self.database._probe(dbapi_connection)
        if probe is not None:
            # a write that changes nothing upgrades the transaction in place, which SQLite
            # refuses (SQLITE_BUSY_SNAPSHOT) when another writer committed since it began
            try:
                dbapi_connection.execute(probe)
                return False
            except sqlite3.OperationalError as exc:
                if getattr(exc, "sqlite_errorcode", None) not in _SQLITE_BUSY:
                    raise
        dbapi_connection.execute("ROLLBACK")
        dbapi_connection.execute("BEGIN IMMEDIATE")
        return True

    def release(self) -> None:
        if self.held:
            self.held = False
            assert self.database._writers is not None
            self.database._writers.__exit__(None, None, None)


#: SQLITE_BUSY, SQLITE_BUSY_SNAPSHOT
_SQLITE_BUSY = (5, 517)


def take_write_turn(conn: Connection) -> bool:
    """Take the write lock of a :meth:`Database.begin_late` transaction now, if it has not
    been taken yet. True when rows read before may have changed since: another writer
    committed meanwhile and the transaction started again. False when what it read still
    stands, the lock was already held, or the connection holds it from the start
    (:meth:`Database.begin`, PostgreSQL)."""
    turn = conn.info.get(_LATE_TURN) if conn.dialect.name == "sqlite" else None
    if turn is None or turn.held:
        return False
    return turn.take(conn.connection.dbapi_connection)


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
        sa.event.listen(engine, "before_cursor_execute", sqlite_statement_listener, retval=True)
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
    # that only read (Database.read) start deferred and take no lock; so do those that take
    # it when they first write (Database.begin_late).
    deferred = conn.get_execution_options().get(READ_ONLY) or _LATE_TURN in conn.info
    # straight to the driver: the whole statement machinery cost as much as the BEGIN itself
    conn.connection.driver_connection.execute("BEGIN" if deferred else "BEGIN IMMEDIATE")


def sqlite_statement_listener(conn: Connection, _cursor: Any, statement: str, parameters: Any,
                              context: Any, _executemany: bool) -> tuple[str, Any]:
    """Before each statement on SQLite: a :meth:`Database.begin_late` transaction takes the
    write lock before its first write. (Registered with ``retval=True``, so that
    :mod:`.prepared` can tell it from listeners of others.)"""
    turn = conn.info.get(_LATE_TURN)
    if turn is not None and not turn.held and _writes(statement, context):
        turn.take(conn.connection.dbapi_connection)
    return statement, parameters


def _writes(statement: str, context: Any) -> bool:
    """Whether a statement may write (a SAVEPOINT counts: it must be inside the write
    transaction, not the snapshot that taking the lock ends)."""
    compiled = getattr(context, "compiled", None)
    if compiled is not None and getattr(compiled.statement, "is_select", False):
        return False
    return statement.lstrip()[:6].upper() not in ("SELECT", "BEGIN")
