"""Deleting records (to the recycle bin or for good) and restoring them, honouring each lookup's on_delete.

A mixin of :class:`tessera.records.service.UnitOfWork`; the methods use its state.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from .errors import DeleteRefused, RecordNotFound, ValidationFailed
from .events import RecordChange

if TYPE_CHECKING:
    from .runtime import ObjectRuntime


class Deletion:
    """Deleting records (to the recycle bin or for good) and restoring them, honouring each lookup's on_delete."""

    # ------------------------------------------------------------------ delete / restore
    def delete(self, object_name: str, record_id: int, *, version: int | None = None, hard: bool = False) -> None:
        """Soft-delete (to the recycle bin) unless ``hard``; honours each lookup's on_delete."""
        self._require_writable()
        runtime = self.service.runtime(object_name)
        self.access.require(object_name, "delete")  # first: without it, no id may tell whether it exists
        prior = self._load(runtime, record_id, include_deleted=hard, for_update=True)
        if prior is None:
            raise RecordNotFound(object_name, record_id)
        self._require_record(runtime, record_id, "delete", include_deleted=hard)
        if version is not None and prior["version"] != version:
            raise self._stale(runtime, record_id, version, prior["version"])
        self._refuse_restricted(runtime, record_id)
        change = RecordChange(runtime.object, "delete", record_id, prior, prior, self.actor, work=self, hard=hard)
        if self.service.events.has("before_delete"):
            self.service.events.fire("before_delete", change)
            if change.problems:
                raise ValidationFailed(object_name, change.problems)
        with self._as_system():  # what the delete sets off (cascades, roll-ups) is the engine's
            if hard:
                self._update_parent_rollups(runtime, prior, None)
                self.conn.execute(sa.delete(runtime.table).where(runtime.table.c.id == record_id))
                self._record_history(object_name, record_id, prior["version"] + 1, "delete", {"_hard": (None, True)})
            else:
                self._soft_delete(runtime, prior, self.now)
        self.committed.append(("after_commit", change))

    def _refuse_restricted(self, runtime: ObjectRuntime, record_id: int) -> None:
        blockers: dict[str, int] = {}
        for relation, field in runtime.children:
            if field.on_delete != "restrict":
                continue
            child = self.service.schema.table(relation.object)
            count = self.conn.execute(sa.select(sa.func.count()).select_from(child).where(
                (child.c[relation.field] == record_id) & child.c.deleted_at.is_(None))).scalar_one()
            if count:
                blockers[relation.name] = count
        if blockers:
            raise DeleteRefused(runtime.object.name, record_id, blockers)

    def _soft_delete(self, runtime: ObjectRuntime, prior: dict[str, Any], stamp: dt.datetime) -> None:
        table = runtime.table
        self.conn.execute(sa.update(table).where(table.c.id == prior["id"]).values(
            deleted_at=stamp, deleted_by=self.actor.id, version=table.c.version + 1))
        self._record_history(runtime.object.name, prior["id"], prior["version"] + 1, "delete", {})
        for relation, field in runtime.children:
            child_runtime = self.service.runtime(relation.object)
            child = child_runtime.table
            live = (child.c[relation.field] == prior["id"]) & child.c.deleted_at.is_(None)
            if field.on_delete == "cascade":
                # children go to the recycle bin with the same stamp, so a restore brings them back
                for row in self.conn.execute(sa.select(*child_runtime.select_columns).where(live)).mappings():
                    self._soft_delete(child_runtime, dict(row), stamp)
            elif field.on_delete == "set_null":
                for row in self.conn.execute(sa.select(*child_runtime.select_columns).where(live)).mappings():
                    self.update(relation.object, row["id"], {relation.field: None}, version=None)
        self._update_parent_rollups(runtime, prior, None)

    def restore(self, object_name: str, record_id: int) -> dict[str, Any]:
        """Bring a soft-deleted record back, with the children deleted along with it."""
        self._require_writable()
        runtime = self.service.runtime(object_name)
        self.access.require(object_name, "delete")  # first: without it, no id may tell whether it exists
        prior = self._load(runtime, record_id, include_deleted=True, for_update=True)
        if prior is None or prior.get("deleted_at") is None and not self._is_deleted(runtime, record_id):
            raise RecordNotFound(object_name, record_id)
        self._require_record(runtime, record_id, "delete", include_deleted=True)
        stamp = self.conn.execute(sa.select(runtime.table.c.deleted_at).where(
            runtime.table.c.id == record_id)).scalar_one()
        with self._as_system():
            self._restore(runtime, record_id, stamp)
        return self.get(object_name, record_id)

    def _is_deleted(self, runtime: ObjectRuntime, record_id: int) -> bool:
        table = runtime.table
        return self.conn.execute(sa.select(table.c.deleted_at).where(table.c.id == record_id)).scalar() is not None

    def _restore(self, runtime: ObjectRuntime, record_id: int, stamp: dt.datetime) -> None:
        table = runtime.table
        self.conn.execute(sa.update(table).where(table.c.id == record_id).values(
            deleted_at=None, deleted_by=None, version=table.c.version + 1))
        version = self.conn.execute(sa.select(table.c.version).where(table.c.id == record_id)).scalar_one()
        self._record_history(runtime.object.name, record_id, version, "restore", {})
        for relation, field in runtime.children:
            if field.on_delete != "cascade":
                continue
            child_runtime = self.service.runtime(relation.object)
            child = child_runtime.table
            ids = self.conn.execute(sa.select(child.c.id).where(
                (child.c[relation.field] == record_id) & (child.c.deleted_at == stamp))).scalars().all()
            for child_id in ids:
                self._restore(child_runtime, child_id, stamp)
        restored = self._load(runtime, record_id)
        self._update_parent_rollups(runtime, None, restored)
