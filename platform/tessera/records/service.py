"""RecordService: the only door to records. API, screens, flows, imports and plugins all use it.

A :class:`UnitOfWork` is one transaction with one acting user. Writes go through the same
steps every time, so no path can skip one:

1. ``before_validate`` listeners may adjust the input;
2. the input is converted and checked per field (:mod:`.inputs`): types, lengths, ranges,
   digits, options, email/url/phone shapes, unknown and read-only fields;
3. on create, defaults fill what was not given (literals and formulas);
4. the whole record is checked: required, ``required_when``, ``read_only_when``, inactive
   options, lookups that must exist; stored formulas are computed; ``before_rules``
   listeners (before-save flows, stage machines) may set fields and report problems, and the
   formulas are computed again; validation rules run; every problem is reported at once
   (:class:`ValidationFailed`);
5. ``before_save`` listeners; auto-numbers; the row is written — an update only if the record
   is still at the version the caller read (else :class:`StaleRecord` naming what changed);
6. history (who, when, old → new per field), roll-ups of parent records, master-detail
   children; ``after_save`` listeners; ``after_commit`` listeners once committed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from tessera.expressions import EvalContext, FormulaError
from tessera.metadata.model import ObjectDef
from tessera.metadata.registry import Registry
from tessera.storage.database import Database, take_write_turn
from tessera.storage.prepared import Prepared
from tessera.storage.query import Count, Page, QueryParams
from tessera.storage.tables import StorageSchema

from . import errors as E
from . import sharing
from .actions import ActionCall, ActionRegistry
from .batches import BatchFailed, Batches, RowResult  # noqa: F401 - BatchFailed, RowResult: imported from here too
from .checks import Checks, _to_field
from .children import Children
from .deletion import Deletion
from .errors import (
    RecordNotFound,
    StaleRecord,
    UnknownObject,
    ValidationFailed,
)
from .events import ON_COMMIT, RecordChange, RecordEvents
from .hooks import connect_plugins
from .numbering import next_number
from .preview import Previews
from .reading import Reading
from .rollups import Rollups

from .runtime import ObjectRuntime


@dataclass(frozen=True)
class Actor:
    """Who is acting: a user of one org with one role, or the system (id None), which
    flows, jobs and deployments act as and which permissions do not restrict."""

    id: int | None = None
    name: str = "system"
    locale: str = "en"
    org: str = "default"
    role: str | None = None
    username: str | None = None

    @property
    def is_system(self) -> bool:
        return self.id is None


SYSTEM = Actor()
#: what each history row is written with
HISTORY_COLUMNS = ("object", "record_id", "version", "action", "actor", "at", "changes")


class RecordService:
    """Reads and writes records of one org. Thread-safe; cheap to share."""

    def __init__(self, registry: Registry, db: Database, *, schema: StorageSchema | None = None,
                 events: RecordEvents | None = None, clock: Callable[[], dt.datetime] | None = None,
                 plugins: Any = None, org: str = "default", directory: Any = None) -> None:
        from tessera.security.permissions import AccessPolicy

        self.registry = registry
        self.policy = AccessPolicy(registry, directory)
        self.db = db
        self.org = org
        self.schema = schema or StorageSchema(registry, db)
        self.events = events or RecordEvents()
        self.clock = clock or (lambda: dt.datetime.now(dt.UTC))
        self.actions = plugins.actions if plugins is not None else ActionRegistry()
        if plugins is not None:
            connect_plugins(self.events, plugins, org)
        self._runtimes: dict[str, ObjectRuntime] = {}
        self.history_insert = Prepared(sa.insert(self.schema.history), keys=HISTORY_COLUMNS)
        from tessera.flows.builtin import BUILTIN_STEPS
        from tessera.flows.engine import FlowEngine

        step_types = {step.name: step for step in BUILTIN_STEPS}
        if plugins is not None:
            step_types.update(plugins.flow_steps)
        self.flows = FlowEngine(self, step_types)  # record-triggered flows and stage machines
        self.flows.attach()

    def runtime(self, object_name: str) -> ObjectRuntime:
        runtime = self._runtimes.get(object_name)
        if runtime is None:
            if object_name not in self.registry.objects:
                raise UnknownObject(object_name)
            runtime = ObjectRuntime(self.registry.objects[object_name], self.schema, self.registry)
            self._runtimes[object_name] = runtime
        return runtime

    @contextmanager
    def unit_of_work(self, actor: Actor = SYSTEM, *, read_only: bool = False,
                     late_lock: bool = False) -> Iterator[UnitOfWork]:
        """One transaction: everything inside commits together or not at all. An actor of
        another org is refused outright: no record of this org is theirs to reach.
        ``read_only`` work takes no write lock (SQLite) and refuses to write. ``late_lock``
        work takes SQLite's write lock only once a record has passed its checks and is about
        to be written (:meth:`Database.begin_late`), so writers do not queue behind each
        other's validation; for work that writes one record (an API create or update)."""
        if not actor.is_system and actor.org != self.org:
            from tessera.security.permissions import PermissionDenied

            raise PermissionDenied(f"{self.org} org", "use", actor)
        opened = self.db.read() if read_only else self.db.begin_late() if late_lock else self.db.begin()
        with opened as conn:
            work = UnitOfWork(self, conn, actor, read_only=read_only)
            yield work
        self.events.fire_committed(work.committed)

    # one-call conveniences, each its own unit of work
    def create(self, object_name: str, values: Mapping[str, Any], *, actor: Actor = SYSTEM) -> dict[str, Any]:
        with self.unit_of_work(actor) as work:
            return work.create(object_name, values)

    def get(self, object_name: str, record_id: int, *, actor: Actor = SYSTEM) -> dict[str, Any]:
        with self.unit_of_work(actor, read_only=True) as work:
            return work.get(object_name, record_id)

    def update(self, object_name: str, record_id: int, values: Mapping[str, Any], *, version: int | None,
               actor: Actor = SYSTEM) -> dict[str, Any]:
        with self.unit_of_work(actor) as work:
            return work.update(object_name, record_id, values, version=version)

    def delete(self, object_name: str, record_id: int, *, version: int | None = None, hard: bool = False,
               actor: Actor = SYSTEM) -> None:
        with self.unit_of_work(actor) as work:
            work.delete(object_name, record_id, version=version, hard=hard)

    def restore(self, object_name: str, record_id: int, *, actor: Actor = SYSTEM) -> dict[str, Any]:
        with self.unit_of_work(actor) as work:
            return work.restore(object_name, record_id)

    def history(self, object_name: str, record_id: int, *, actor: Actor = SYSTEM) -> list[dict[str, Any]]:
        with self.unit_of_work(actor, read_only=True) as work:
            return work.history(object_name, record_id)

    def query(self, object_name: str, *, actor: Actor = SYSTEM, **options: Any) -> Page:
        with self.unit_of_work(actor, read_only=True) as work:
            return work.query(object_name, **options)

    def count(self, object_name: str, *, actor: Actor = SYSTEM, **options: Any) -> Count:
        with self.unit_of_work(actor, read_only=True) as work:
            return work.count(object_name, **options)


class UnitOfWork(Checks, Reading, Deletion, Rollups, Children, Previews, Batches):
    """Record operations inside one transaction, acting as one user."""

    def __init__(self, service: RecordService, conn: Connection, actor: Actor, *, read_only: bool = False) -> None:
        self.service = service
        self.conn = conn
        self.actor = actor
        self.read_only = read_only
        self.now = service.clock()
        self.committed: list[tuple[str, Any]] = []  # (event, RecordChange) or (ON_COMMIT, callback)
        self._related: dict[tuple[str, int], dict[str, Any] | None] = {}
        self.access = service.policy.access(actor)
        self._system = service.policy.access(None)
        #: the flows running in this transaction, outermost first: the flow engine refuses a
        #: chain of flows started by each other past flows.model.MAX_DEPTH
        self.flow_chain: list[str] = []
        #: the unit of work on the same transaction acting as the system, that flows write in
        #: (made by the flow engine when first needed; it shares ``now``, ``committed`` and
        #: ``flow_chain`` with this one)
        self.flow_system_work: UnitOfWork | None = None

    # ------------------------------------------------------------------ reads
    def get(self, object_name: str, record_id: int, *, include_deleted: bool = False) -> dict[str, Any]:
        runtime = self.service.runtime(object_name)
        self.access.require(object_name, "read")
        row = self._load(runtime, record_id, include_deleted=include_deleted)
        if row is None or not self._reaches(runtime, record_id, "read", include_deleted=include_deleted):
            raise RecordNotFound(object_name, record_id)
        return self._present(runtime, self._with_read_formulas(runtime, row))

    def on_commit(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` once this unit of work has committed, in order with the
        ``after_commit`` events; never when it rolls back, nor when the batch row (savepoint) it
        was registered in is refused. Background jobs are dispatched so (:func:`tessera.jobs.enqueue`);
        a failing callback is logged, not raised: the write has happened."""
        self._require_writable()
        self.committed.append((ON_COMMIT, callback))

    # ------------------------------------------------------------------ access
    def _require_writable(self) -> None:
        if self.read_only:
            raise RuntimeError("this unit of work was opened read_only=True: it cannot write")

    @contextmanager
    def _as_system(self) -> Iterator[None]:
        """The engine's own follow-up writes (roll-ups, cascades) are not the actor's to permit."""
        saved, self.access = self.access, self._system
        try:
            yield
        finally:
            self.access = saved

    def _reaches(self, runtime: ObjectRuntime, record_id: Any, level: str, *, include_deleted: bool = False) -> bool:
        """Whether the actor may ``level`` (read/edit) this record (record-level security)."""
        if self.access.sees_everything(runtime.object.name, level):
            return True
        clause = self.access.row_filter(self.service.schema, runtime.object.name, level, self._query_params())
        table = runtime.table
        query = sa.select(table.c.id).where((table.c.id == record_id) & clause)
        if not include_deleted:
            query = query.where(table.c.deleted_at.is_(None))
        return self.conn.execute(query).first() is not None

    def _require_record(self, runtime: ObjectRuntime, record_id: Any, permission: str,
                        include_deleted: bool = False) -> None:
        """Object permission, then the record: invisible is 'not found', visible but not
        changeable is 'denied' — so ids of records someone cannot see reveal nothing."""
        from tessera.security.permissions import PermissionDenied

        name = runtime.object.name
        self.access.require(name, permission)
        if not self._reaches(runtime, record_id, "read", include_deleted=include_deleted):
            raise RecordNotFound(name, record_id)
        if permission != "read" and not self._reaches(runtime, record_id, "edit", include_deleted=include_deleted):
            raise PermissionDenied(name, permission, self.actor)

    def _present(self, runtime: ObjectRuntime, record: dict[str, Any]) -> dict[str, Any]:
        """The record as this actor may see it: hidden fields never leave the service."""
        hidden = self.access.hidden(runtime.object.name)
        return {k: v for k, v in record.items() if k not in hidden} if hidden else record

    def _load(self, runtime: ObjectRuntime, record_id: Any, *, include_deleted: bool = False,
              for_update: bool = False) -> dict[str, Any] | None:
        if include_deleted:
            query = runtime.select_any
        elif for_update and self.conn.dialect.name == "postgresql":
            query = runtime.select_live_locked
        else:
            query = runtime.select_live
        return query.first(self.conn, {"_id": record_id})

    def _with_read_formulas(self, runtime: ObjectRuntime, row: dict[str, Any]) -> dict[str, Any]:
        for field in runtime.read_formulas:
            try:
                row[field.name] = _to_field(field, field.formula(self._context(runtime.object, row))) if field.formula else None
            except FormulaError:
                row[field.name] = None  # a formula that cannot be computed reads as blank
        return row

    def history(self, object_name: str, record_id: int) -> list[dict[str, Any]]:
        """Who changed what, when: one entry per version (hidden fields left out)."""
        runtime = self.service.runtime(object_name)
        self._require_record(runtime, record_id, "read", include_deleted=True)
        if self._load(runtime, record_id, include_deleted=True) is None:  # who reaches every record: not this one
            raise RecordNotFound(object_name, record_id)
        history = self.service.schema.history
        rows = self.conn.execute(
            sa.select(history).where((history.c.object == object_name) & (history.c.record_id == record_id))
            .order_by(history.c.version, history.c.id)).mappings()
        hidden = self.access.hidden(object_name)
        entries = [dict(row) for row in rows]
        for entry in entries:
            if hidden:
                entry["changes"] = {k: v for k, v in entry["changes"].items() if k not in hidden}
        return entries

    # ------------------------------------------------------------------ formulas
    def _context(self, obj: ObjectDef, values: Mapping[str, Any], prior: Mapping[str, Any] | None = None) -> EvalContext:
        return EvalContext(values, prior=prior, now=self.now, today=self.now.date(),
                           resolver=lambda path: self._resolve(obj, values, path))

    def _resolve(self, obj: ObjectDef, values: Mapping[str, Any], path: tuple[str, ...]) -> Any:
        """The value at a lookup path (``account.parent.name``), loading related records."""
        current_obj, current = obj, values
        for step in path[:-1]:
            field = current_obj.fields[step]
            target_id = current.get(step)
            if target_id is None or field.target is None:
                return None
            if isinstance(target_id, Mapping):
                target_id = target_id.get("id")
            key = (field.target, int(target_id))
            if key not in self._related:
                runtime = self.service.runtime(field.target)
                row = self._load(runtime, target_id)
                self._related[key] = self._with_read_formulas(runtime, row) if row is not None else None
            current = self._related[key]
            if current is None:
                return None
            current_obj = self.service.registry.object(field.target)
        return current.get(path[-1])

    # ------------------------------------------------------------------ writes
    def create(self, object_name: str, values: Mapping[str, Any]) -> dict[str, Any]:
        runtime = self.service.runtime(object_name)
        self.access.require(object_name, "create")
        children = self._split_children(runtime, values)
        record = self._write(runtime, None, dict(values), None)
        self._write_children(runtime, record, children)
        return self.get(object_name, record["id"]) if children else record

    def update(self, object_name: str, record_id: int, values: Mapping[str, Any], *,
               version: int | None) -> dict[str, Any]:
        """Change the given fields. ``version`` is the version the caller read; pass None only
        from code that acts on the latest state on purpose (flows, roll-ups)."""
        runtime = self.service.runtime(object_name)
        self.access.require(object_name, "edit")  # first: without it, no id may tell whether it exists
        prior = self._load(runtime, record_id, for_update=True)
        if prior is None:
            raise RecordNotFound(object_name, record_id)
        self._require_record(runtime, record_id, "edit")
        if version is not None and prior["version"] != version:
            raise self._stale(runtime, record_id, version, prior["version"])
        children = self._split_children(runtime, values)
        record = self._write(runtime, prior, dict(values), version)
        self._write_children(runtime, record, children)
        return self.get(object_name, record_id) if children else record

    def _write(self, runtime: ObjectRuntime, prior: dict[str, Any] | None, given: dict[str, Any],
               expected: int | None, trusted: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The one write path. ``trusted`` values come from the engine itself (roll-ups) and
        skip input checks; everything else about the record is checked as usual."""
        self._require_writable()
        original = dict(given)  # to make the write again on a newer record (late_lock)
        obj = runtime.object
        action = "create" if prior is None else "update"
        events = self.service.events
        change = RecordChange(obj, action, prior["id"] if prior else None, given, prior, self.actor, work=self)
        if events.has("before_validate"):
            events.fire("before_validate", change)
            given = change.values
        # the system (flows, jobs) may set fields people may not: read_only ones such as a stamp
        values, problems = runtime.input.load(self._field_security(runtime, given, prior),
                                              allow_read_only=self.actor.is_system)
        self._check_read_only(runtime, values, prior, problems)
        for key, items in change.problems.items():
            problems.setdefault(key, []).extend(items)
        record = dict(prior) if prior else {}
        record.update(values)
        if trusted:
            record.update(trusted)
        if prior is None:
            self._apply_defaults(runtime, record, given)
            record.update(runtime.empty_rollups)  # a new record has no children yet
        self._check_record(runtime, record, prior, problems)
        self._compute_stored_formulas(runtime, record, prior, problems)
        if events.has("before_rules") and not problems:
            # flows set fields and stage machines judge the change here, before the validation
            # rules, so that the rules see what the flows set
            change.values = record
            events.fire("before_rules", change)
            record = change.values
            for key, items in change.problems.items():
                problems.setdefault(key, []).extend(items)
            change.problems = {}
            self._compute_stored_formulas(runtime, record, prior, problems)
        self._run_rules(runtime, record, prior, problems)
        if problems:
            raise ValidationFailed(obj.name, problems)
        change.values = record
        if take_write_turn(self.conn) and prior is not None and expected is None:
            # the record was read before this unit of work took the write lock (late_lock);
            # the version check of the UPDATE refuses a caller's stale version, but a write
            # meant for the latest state is made again on it
            current = self._load(runtime, prior["id"])
            if current is None:
                raise RecordNotFound(obj.name, prior["id"])
            if current["version"] != prior["version"]:
                return self._write(runtime, current, original, None, trusted)
        if events.has("before_save"):
            events.fire("before_save", change)
            if change.problems:
                raise ValidationFailed(obj.name, change.problems)
            record = change.values
        changes = _diff(runtime, prior, record)
        if prior is None:
            saved = self._insert(runtime, record)
        else:
            if not changes:  # nothing changed: no new version
                return self._present(runtime, self._with_read_formulas(runtime, dict(prior)))
            saved = self._update_row(runtime, prior, record, changes, expected)
        record_id = saved["id"]
        self._related.clear()  # records read through lookups may have just changed
        self._record_history(obj.name, record_id, saved["version"], action, changes)
        self._update_parent_rollups(runtime, prior, saved)
        change.record_id, change.values, change.changes = record_id, saved, changes
        if events.has("after_save"):
            events.fire("after_save", change)
        self.committed.append(("after_commit", change))
        return self._present(runtime, self._with_read_formulas(runtime, saved))

    def _insert(self, runtime: ObjectRuntime, record: dict[str, Any]) -> dict[str, Any]:
        for field in runtime.auto_numbers:
            record[field.name] = next_number(self.conn, self.service.schema.counters, runtime.object.name,
                                             field, self.now.date())
        row = {name: record.get(name) for name in runtime.stored}
        row.update(created_at=self.now, updated_at=self.now, created_by=self.actor.id,
                   updated_by=self.actor.id, owner_id=record.get("owner_id"), version=1)
        try:  # an integrity error aborts the unit of work (or the batch row's savepoint)
            saved = runtime.insert.first(self.conn, row)
        except sa.exc.IntegrityError as exc:
            raise self._unique_violation(runtime, exc) or exc
        assert saved is not None  # INSERT ... RETURNING gives the row it inserted
        return saved

    def _update_row(self, runtime: ObjectRuntime, prior: dict[str, Any], record: dict[str, Any],
                    changes: Mapping[str, Any], expected: int | None) -> dict[str, Any]:
        params = {name: record.get(name) for name in changes}
        params.update(updated_at=self.now, updated_by=self.actor.id, _id=prior["id"],
                      _version=expected if expected is not None else prior["version"])
        try:
            row = runtime.update(changes).first(self.conn, params)
        except sa.exc.IntegrityError as exc:
            raise self._unique_violation(runtime, exc) or exc
        if row is None:
            current = self._load(runtime, prior["id"])
            if current is None:
                raise RecordNotFound(runtime.object.name, prior["id"])
            raise self._stale(runtime, prior["id"], expected or prior["version"], current["version"])
        saved = dict(prior)  # as it was read, at the version the UPDATE matched
        saved.update(row)
        return saved

    def _stale(self, runtime: ObjectRuntime, record_id: int, expected: int, current: int) -> StaleRecord:
        history = self.service.schema.history
        rows = self.conn.execute(sa.select(history.c.changes).where(
            (history.c.object == runtime.object.name) & (history.c.record_id == record_id)
            & (history.c.version > expected)))
        changed = sorted({name for (changes,) in rows for name in changes})
        return StaleRecord(runtime.object.name, record_id, expected, current, changed)

    def _record_history(self, object_name: str, record_id: int, version: int, action: str,
                        changes: Mapping[str, tuple[Any, Any]]) -> None:
        self.service.history_insert.run(self.conn, dict(
            object=object_name, record_id=record_id, version=version, action=action,
            actor=self.actor.id, at=self.now,
            changes={name: [_jsonable(old), _jsonable(new)] for name, (old, new) in changes.items()}))

    def _query_params(self) -> QueryParams:
        return QueryParams(user_id=self.actor.id, today=self.now.date(), now=self.now)

    # ------------------------------------------------------------------ sharing and teams
    def share(self, object_name: str, record_id: int, **options: Any) -> int:
        """Share one record with a user (``user_id``) or a role (``role``), ``access`` read/edit."""
        self._require_writable()
        return sharing.share(self, object_name, record_id, **options)

    def unshare(self, object_name: str, record_id: int, share_id: int) -> None:
        self._require_writable()
        sharing.unshare(self, object_name, record_id, share_id)

    def set_team_member(self, object_name: str, record_id: int, user_id: int, **options: Any) -> None:
        self._require_writable()
        sharing.set_team_member(self, object_name, record_id, user_id, **options)

    def remove_team_member(self, object_name: str, record_id: int, user_id: int) -> None:
        self._require_writable()
        sharing.remove_team_member(self, object_name, record_id, user_id)

    def team(self, object_name: str, record_id: int) -> list[dict[str, Any]]:
        return sharing.team(self, object_name, record_id)

    # ------------------------------------------------------------------ actions
    def run_action(self, object_name: str, record_id: int, name: str, data: Any = None) -> Mapping[str, Any]:
        """Run the record action ``name`` on a record: its input checked against the action's
        schema (every problem at once), its handler called in this unit of work."""
        self._require_writable()
        self.service.runtime(object_name)
        action = self.service.actions.get(object_name, name)
        runtime = self.service.runtime(object_name)
        self.access.require(object_name, action.permission)  # first: without it, no id may tell whether it exists
        if self._load(runtime, record_id) is None:
            raise RecordNotFound(object_name, record_id)
        self._require_record(runtime, record_id, action.permission)
        data = {} if data is None else data
        problems = action.check_input(data)
        if problems:
            raise ValidationFailed(object_name, problems)
        record = self.get(object_name, record_id)
        call = ActionCall(self.service.registry.object(object_name), record, data, self.actor,
                          self.service.org, self)
        try:
            result = action.handler(call)
        except E.RecordError:
            raise
        except Exception as exc:
            from tessera.plugins import PluginHookError

            owner = self.service.actions.owner(name)
            raise PluginHookError(owner, f"action '{name}'", exc) from exc
        return dict(result or {})

def _diff(runtime: ObjectRuntime, prior: Mapping[str, Any] | None, record: Mapping[str, Any]) -> dict[str, tuple[Any, Any]]:
    changes: dict[str, tuple[Any, Any]] = {}
    for name in (*runtime.stored, "owner_id"):
        old = prior.get(name) if prior else None
        new = record.get(name)
        if old != new and not (prior is None and new is None):
            changes[name] = (old, new)
    return changes


def _jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return value



