"""The org overlay's rows: its documents and the history of changes to them.

``tessera_overlay`` holds one row per document (kind, name, data as JSON text, version) and
``tessera_overlay_changes`` one row per applied change: when, who, a summary, every document it
touched as it was before and as it was after, and which change reverted it. A document's
version is the id of the change that last wrote it. Both tables are system tables of the org
(:func:`~.tables.overlay_tables`), created by the first deploy; before that the overlay is
empty. Everything here runs on a connection the caller provides, so a change's rows are written
in the transaction that changes the tables (:mod:`.overlay`).
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from tessera.metadata.overlay import DocumentKey, OverlayDocument, key_text, parse_key
from tessera.metadata.writer import dumps_json, loads_json

from .database import Database
from .tables import overlay_tables

DEPLOYMENTS_TABLE = "tessera_deployments"

Documents = Mapping[DocumentKey, Mapping[str, Any] | None]


@dataclass(frozen=True)
class ChangeRecord:
    """One applied change of the overlay. ``before`` and ``after`` map each document it touched
    to its data (None: absent) before and after the change."""

    id: int
    at: dt.datetime
    actor: str | None
    summary: str
    before: Documents
    after: Documents
    reverts: int | None = None
    reverted_by: int | None = None
    deployment_id: int | None = None

    @property
    def documents(self) -> list[DocumentKey]:
        return sorted(self.after)

    def describe(self) -> str:
        """``add object ticket, change object lead, remove role support``."""
        parts = []
        for key in self.documents:
            verb = "add" if self.before.get(key) is None else "remove" if self.after[key] is None else "change"
            parts.append(f"{verb} {key[0]} {key[1]}")
        return ", ".join(parts)

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "at": self.at.isoformat(), "actor": self.actor, "summary": self.summary,
                "documents": [key_text(k) for k in self.documents],
                "before": {key_text(k): v for k, v in self.before.items()},
                "after": {key_text(k): v for k, v in self.after.items()},
                "reverts": self.reverts, "reverted_by": self.reverted_by, "deployment_id": self.deployment_id}


class OverlayRows:
    """Reads and writes one org's overlay tables (in ``db.schema``)."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.documents, self.changes = overlay_tables(sa.MetaData(schema=db.schema))

    def exists(self, conn: Connection) -> bool:
        return sa.inspect(conn).has_table(self.documents.name, schema=self.db.schema)

    # -------------------------------------------------------------- reading
    def read(self, conn: Connection) -> dict[DocumentKey, OverlayDocument]:
        """Every stored document (none before the tables exist)."""
        if not self.exists(conn):
            return {}
        t = self.documents
        rows = conn.execute(sa.select(t.c.kind, t.c.name, t.c.data, t.c.version).order_by(t.c.kind, t.c.name))
        return {(r.kind, r.name): OverlayDocument(r.kind, r.name, loads_json(r.data), int(r.version)) for r in rows}

    def versions(self, conn: Connection) -> dict[DocumentKey, int]:
        if not self.exists(conn):
            return {}
        t = self.documents
        return {(r.kind, r.name): int(r.version) for r in conn.execute(sa.select(t.c.kind, t.c.name, t.c.version))}

    def history(self, conn: Connection, *, limit: int | None = 50, before: int | None = None,
                after: int | None = None) -> list[ChangeRecord]:
        """Changes newest first (``before``/``after``: only ids below/above it)."""
        if not self.exists(conn):
            return []
        t = self.changes
        query = sa.select(t).order_by(t.c.id.desc())
        if before is not None:
            query = query.where(t.c.id < before)
        if after is not None:
            query = query.where(t.c.id > after)
        if limit is not None:
            query = query.limit(limit)
        return [_record(row) for row in conn.execute(query)]

    def change(self, conn: Connection, change_id: int) -> ChangeRecord | None:
        if not self.exists(conn):
            return None
        row = conn.execute(sa.select(self.changes).where(self.changes.c.id == change_id)).first()
        return _record(row) if row is not None else None

    # -------------------------------------------------------------- writing
    def record(self, conn: Connection, *, actor: str | None, summary: str, before: Documents, after: Documents,
               reverts: int | None, deployment_id: int | None) -> int:
        """Write the change's history row and its documents; the documents' version becomes
        the change's id. Returns the id."""
        t = self.changes
        result = conn.execute(t.insert().values(
            at=dt.datetime.now(dt.UTC), actor=actor[:120] if actor else None, summary=summary,
            documents_before=_dump(before), documents_after=_dump(after), reverts=reverts,
            deployment_id=deployment_id))
        change_id = int(result.inserted_primary_key[0])
        docs = self.documents
        for (kind, name), data in sorted(after.items()):
            where = sa.and_(docs.c.kind == kind, docs.c.name == name)
            if data is None:
                conn.execute(docs.delete().where(where))
            elif before.get((kind, name)) is None:
                conn.execute(docs.insert().values(kind=kind, name=name, data=dumps_json(data), version=change_id))
            else:
                conn.execute(docs.update().where(where).values(data=dumps_json(data), version=change_id))
        if reverts is not None:
            done = conn.execute(t.update().where(t.c.id == reverts, t.c.reverted_by.is_(None))
                                .values(reverted_by=change_id))
            if done.rowcount != 1:
                raise LookupError(f"change {reverts} was reverted meanwhile")
        return change_id


def revision(db: Database) -> tuple[int, int] | None:
    """Where the org's stored metadata stands: the last overlay change and the last deployment
    (0 when there is none). Two indexed look-ups; a process compares it with the revision its
    registry was built from. None when the database cannot say (the tables are missing)."""
    query = _revision_query(db.schema)
    try:
        with db.read() as conn:  # deferred on SQLite: never waits for (or holds) the write lock
            row = conn.execute(query).one()
    except sa.exc.DBAPIError:
        return None
    return int(row[0] or 0), int(row[1] or 0)


@functools.lru_cache(maxsize=256)
def _revision_query(schema: str | None) -> sa.Select[Any]:
    """The statement of :func:`revision` for one schema, built once: every process asks for
    it every METADATA_REFRESH_SECONDS."""
    changes = overlay_tables(sa.MetaData(schema=schema))[1]
    deployments = sa.table(DEPLOYMENTS_TABLE, sa.column("id", sa.BigInteger()), schema=schema)
    return sa.select(sa.select(sa.func.max(changes.c.id)).scalar_subquery(),
                     sa.select(sa.func.max(deployments.c.id)).scalar_subquery())


def _dump(documents: Documents) -> str:
    return dumps_json({key_text(key): documents[key] for key in sorted(documents)})


def _load(text: str) -> dict[DocumentKey, Any]:
    return {parse_key(key): value for key, value in loads_json(text).items()}


def _record(row: Any) -> ChangeRecord:
    return ChangeRecord(int(row.id), row.at, row.actor, row.summary, _load(row.documents_before),
                        _load(row.documents_after), row.reverts, row.reverted_by, row.deployment_id)


__all__ = ["ChangeRecord", "OverlayRows", "revision"]
