"""The job log: the org's ``tessera_jobs`` table (``StorageSchema.jobs``), read and written here only.

A job moves ``queued -> running -> done``; a failed attempt makes it ``retrying`` (its
``run_after`` is the back-off) until the attempts are used up, then ``failed``. Each step is
one statement on a connection the caller's transaction owns, so the runner decides what
commits together: above all, a job's effect and its ``done``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from .types import OPEN_STATUSES, STATUSES

#: the most jobs one page of the log shows
MAX_PAGE = 200


@dataclass(frozen=True)
class JobRecord:
    """One row of the job log."""

    id: int
    key: str
    name: str
    payload: Mapping[str, Any]
    status: str
    attempts: int
    max_attempts: int
    last_error: str | None
    result: Mapping[str, Any] | None
    created_by: int | None
    created_at: dt.datetime
    updated_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    run_after: dt.datetime | None

    def as_json(self) -> dict[str, Any]:
        """The job as the API shows it."""
        return {"id": self.id, "key": self.key, "name": self.name, "status": self.status,
                "attempts": self.attempts, "max_attempts": self.max_attempts, "last_error": self.last_error,
                "payload": dict(self.payload), "result": self.result, "created_by": self.created_by,
                "created_at": self.created_at,
                "updated_at": self.updated_at, "started_at": self.started_at, "finished_at": self.finished_at,
                "run_after": self.run_after}


@dataclass(frozen=True)
class JobPage:
    rows: list[JobRecord]
    #: pass as ``before`` for the next (older) page; None on the last page
    next_before: int | None


class JobStore:
    """Statements over one org's job table."""

    def __init__(self, table: sa.Table) -> None:
        self.table = table
        self._columns = [table.c[name] for name in JobRecord.__dataclass_fields__]

    # ------------------------------------------------------------------ writing
    def insert(self, conn: Connection, *, key: str, name: str, payload: Mapping[str, Any], max_attempts: int,
               now: dt.datetime, stale_after: dt.timedelta, created_by: int | None) -> tuple[int, bool]:
        """Add a queued job unless one with ``key`` exists: ``(id, created)``. The existing row
        wins (ON CONFLICT DO NOTHING), so the caller's transaction is never aborted by it."""
        values = dict(key=key, name=name, payload=dict(payload), status="queued", attempts=0,
                      max_attempts=max_attempts, created_by=created_by, created_at=now, updated_at=now,
                      run_after=now + stale_after)
        dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
        statement = (dialect.insert(self.table).values(**values)
                     .on_conflict_do_nothing(index_elements=[self.table.c.key]).returning(self.table.c.id))
        inserted = conn.execute(statement).scalar()
        if inserted is not None:
            return int(inserted), True
        existing = conn.execute(sa.select(self.table.c.id).where(self.table.c.key == key)).scalar_one()
        return int(existing), False

    def start(self, conn: Connection, job_id: int, now: dt.datetime, stale_after: dt.timedelta) -> JobRecord | None:
        """Count an attempt and mark the job running; None when there is nothing to run (no
        such job, or it is done or failed). The attempt is committed on its own, so an attempt
        that kills its worker still counts."""
        job = self.get(conn, job_id, lock=True)
        if job is None or job.status not in OPEN_STATUSES:
            return None
        self._set(conn, job_id, status="running", attempts=job.attempts + 1, started_at=now, updated_at=now,
                  run_after=now + stale_after)
        return self.get(conn, job_id)

    def finish(self, conn: Connection, job_id: int, now: dt.datetime, result: Mapping[str, Any] | None) -> None:
        self._set(conn, job_id, status="done", result=dict(result) if result else None, finished_at=now,
                  updated_at=now, run_after=None)

    def fail(self, conn: Connection, job_id: int, now: dt.datetime, error: str, retry_at: dt.datetime | None) -> None:
        """Record a failed attempt: ``retrying`` until ``retry_at``, or ``failed`` for good."""
        if retry_at is None:
            self._set(conn, job_id, status="failed", last_error=error, finished_at=now, updated_at=now,
                      run_after=None)
        else:
            self._set(conn, job_id, status="retrying", last_error=error, updated_at=now, run_after=retry_at)

    def postpone(self, conn: Connection, job_ids: Sequence[int], until: dt.datetime) -> None:
        """Move the due time of jobs the sweep dispatches again, so the next sweep waits."""
        if job_ids:
            conn.execute(sa.update(self.table).where(self.table.c.id.in_(list(job_ids))).values(run_after=until))

    def _set(self, conn: Connection, job_id: int, **values: Any) -> None:
        conn.execute(sa.update(self.table).where(self.table.c.id == job_id).values(**values))

    # ------------------------------------------------------------------ reading
    def get(self, conn: Connection, job_id: int, *, lock: bool = False) -> JobRecord | None:
        """The job; ``lock`` holds its row until the transaction ends (PostgreSQL; SQLite's
        writers take turns anyway), so two deliveries of one job cannot both run it."""
        query = sa.select(*self._columns).where(self.table.c.id == job_id)
        if lock:
            query = query.with_for_update()
        row = conn.execute(query).mappings().first()
        return JobRecord(**row) if row is not None else None

    def by_key(self, conn: Connection, key: str) -> JobRecord | None:
        row = conn.execute(sa.select(*self._columns).where(self.table.c.key == key)).mappings().first()
        return JobRecord(**row) if row is not None else None

    def page(self, conn: Connection, *, status: str | None = None, name: str | None = None,
             before: int | None = None, limit: int = 50) -> JobPage:
        """The newest jobs first, optionally of one status or job type; ``before`` an id pages on."""
        if status is not None and status not in STATUSES:
            raise ValueError(f"'{status}' is not a job status; use one of {', '.join(STATUSES)}")
        limit = max(1, min(limit, MAX_PAGE))
        query = sa.select(*self._columns).order_by(self.table.c.id.desc()).limit(limit + 1)
        if status is not None:
            query = query.where(self.table.c.status == status)
        if name:
            query = query.where(self.table.c.name == name)
        if before is not None:
            query = query.where(self.table.c.id < before)
        rows = [JobRecord(**row) for row in conn.execute(query).mappings()]
        more = len(rows) > limit
        rows = rows[:limit]
        return JobPage(rows, rows[-1].id if more and rows else None)

    def counts(self, conn: Connection) -> dict[str, int]:
        """Jobs per status (every status, zero included)."""
        found = dict(conn.execute(sa.select(self.table.c.status, sa.func.count())
                                  .group_by(self.table.c.status)).all())
        return {status: int(found.get(status, 0)) for status in STATUSES}

    def due(self, conn: Connection, now: dt.datetime, *, retry_grace: dt.timedelta = dt.timedelta(0),
            limit: int = 100) -> list[tuple[int, str]]:
        """Unfinished jobs whose due time has passed: retries whose back-off ended ``retry_grace``
        ago, and queued or running jobs nobody has touched for the visibility timeout (their
        dispatch or their worker was lost). ``(id, status)``, the longest overdue first."""
        table = self.table
        waiting = table.c.status.in_(("queued", "running")) & (table.c.run_after <= now)
        retrying = (table.c.status == "retrying") & (table.c.run_after <= now - retry_grace)
        query = (sa.select(table.c.id, table.c.status).where(waiting | retrying)
                 .order_by(table.c.run_after, table.c.id).limit(limit))
        return [(int(job_id), status) for job_id, status in conn.execute(query)]
