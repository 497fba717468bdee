"""Changing an org's metadata overlay: plan, apply (one transaction), history, revert.

Admins change their org's metadata in the browser and implementers deploy overlay packages from
git; both go through :class:`MetadataChanges`::

    changes = MetadataChanges(settings, "acme", db)           # or OrgDirectory.metadata("acme")
    ticket = DocumentChange.upsert("object", "ticket", {"label": ..., "fields": {...}})
    plan = changes.plan([ticket])          # problems, or the schema diff; applies nothing
    result = changes.apply([ticket], expected_versions={("object", "ticket"): 0},
                           actor="user:alice", summary="add tickets")
    changes.history()                      # newest first: who changed what, when
    changes.revert(result.change_id, actor="user:alice")

A change is a set of document upserts and removals. Applying one builds the org's registry
with the change merged in (every problem is reported, nothing is applied), then in one
transaction (:func:`~.sync.deploy_transaction`): checks that the documents the change read are
still at the versions it read (:class:`Conflict` otherwise), makes and applies the storage plan
(removed fields and objects are retired, never dropped; destructive steps are refused unless
allowed), records the deployment, and writes the documents and the history row. Changes to
other documents made meanwhile are merged, not lost: the change is planned again on top of them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from tessera.metadata.errors import MetadataError
from tessera.metadata.overlay import (
    DocumentKey,
    DocumentProblem,
    OverlayDocument,
    OverlayLayer,
    clean_data,
    key_text,
    parse_key,
)
from tessera.metadata.registry import Registry
from tessera.metadata.schema import SchemaSet
from tessera.metadata.writer import KeyOrder, dumps_json

from .database import Database
from .overlay_store import ChangeRecord, OverlayRows
from .sync import Plan, SyncError, SyncResult, apply_plan_on, deploy_transaction, org_registry, plan_sync
from .sync_plan import plan_on

__all__ = ["ChangePlan", "ChangeRecord", "ChangeResult", "Conflict", "DocumentChange", "DocumentConflict",
           "InvalidChange", "MetadataChanges", "OverlayError"]

_ATTEMPTS = 5  # how often a change is planned again when other changes keep arriving


class OverlayError(Exception):
    """A change that cannot be made; the message is for people. Nothing was changed."""


class InvalidChange(OverlayError):
    """The metadata with the change merged in has problems; ``problems`` lists every one."""

    def __init__(self, problems: list[DocumentProblem]) -> None:
        self.problems = problems
        listing = "\n".join(f"  {p}" for p in problems)
        super().__init__(f"the change leaves the metadata with {len(problems)} "
                         f"problem{'s' if len(problems) != 1 else ''}; nothing was changed:\n{listing}")


@dataclass(frozen=True)
class DocumentConflict:
    """A document changed since the change read it: the version read and the one stored now
    (0: absent), and the change that wrote the stored one."""

    kind: str
    name: str
    expected: int
    current: int
    by: ChangeRecord | None = None
    since: str = "it was read"

    def __str__(self) -> str:
        if self.current == 0:
            what = "was removed"
        elif self.expected == 0:
            what = "was added"
        else:
            what = "was changed"
        who = ""
        if self.by is not None:
            who = f" (change {self.by.id}{f' by {self.by.actor}' if self.by.actor else ''}: {self.by.summary})"
        return f"{self.kind} '{self.name}' {what} since {self.since}{who}"


class Conflict(OverlayError):
    """Someone else changed a document this change read (HTTP 409): reload it and make the
    change again. ``conflicts`` names each document."""

    def __init__(self, conflicts: list[DocumentConflict], advice: str = "reload and make the change again") -> None:
        self.conflicts = conflicts
        named = "; ".join(str(c) for c in conflicts)
        super().__init__(f"{named}; nothing was changed — {advice}" if named else f"{advice}; nothing was changed")


@dataclass(frozen=True)
class DocumentChange:
    """One document of a change: its new ``data`` (without kind and name), or None to remove it."""

    kind: str
    name: str
    data: Mapping[str, Any] | None
    source: Any = field(default=None, compare=False, repr=False)  # the file it was read from, if any

    @classmethod
    def upsert(cls, kind: str, name: str, data: Mapping[str, Any]) -> DocumentChange:
        return cls(kind, name, data)

    @classmethod
    def remove(cls, kind: str, name: str) -> DocumentChange:
        return cls(kind, name, None)

    @property
    def key(self) -> DocumentKey:
        return (self.kind, self.name)


@dataclass
class ChangePlan:
    """What applying a change would do. ``changes`` are the documents that differ from the
    stored ones (before → after); ``problems`` every metadata problem of the result; ``storage``
    the schema diff when there are none (``storage.refusals``: what a deploy would refuse)."""

    before: dict[DocumentKey, Mapping[str, Any] | None]
    after: dict[DocumentKey, Mapping[str, Any] | None]
    problems: list[DocumentProblem]
    storage: Plan | None
    versions: dict[DocumentKey, int] = field(repr=False)  # of every stored document, when planned
    registry: Registry | None = field(default=None, repr=False)

    @property
    def valid(self) -> bool:
        return not self.problems

    @property
    def is_empty(self) -> bool:
        return not self.after

    def describe(self) -> list[str]:
        """``add object ticket``, ``change object lead``, ``remove role support``."""
        return [f"{_verb(self.before[key], self.after[key])} {key[0]} {key[1]}" for key in sorted(self.after)]

    def render(self, *, sql: bool = False) -> str:
        if self.is_empty:
            return "the overlay already holds these documents: nothing to change"
        lines = ["documents:", *(f"  {line}" for line in self.describe())]
        if self.problems:
            lines.append(f"{len(self.problems)} problem{'s' if len(self.problems) != 1 else ''}:")
            lines.extend(f"  {p}" for p in self.problems)
        elif self.storage is not None:
            lines.append("storage:")
            lines.extend(f"  {line}" for line in self.storage.render(sql=sql).splitlines())
        return "\n".join(lines)


@dataclass(frozen=True)
class ChangeResult:
    """What ``apply`` or ``revert`` did: the history row (None when nothing differed), the new
    version of each document it wrote (0: removed), and the storage deploy."""

    change_id: int | None
    versions: Mapping[DocumentKey, int]
    storage: SyncResult | None
    plan: ChangePlan = field(repr=False)

    @property
    def applied(self) -> bool:
        return self.change_id is not None


class _Moved(Exception):
    """Other documents changed between planning and the transaction: plan again."""


class MetadataChanges:
    """The service the admin screens and ``tessera metadata deploy --overlay`` use to read and
    change one org's overlay. ``on_change`` runs after each applied change (the org directory
    rebuilds the org's registry with it)."""

    def __init__(self, settings: Mapping[str, Any], org: str, db: Database, *, plugins: Any = None,
                 templates: Iterable[str] = (), on_change: Callable[[], None] | None = None) -> None:
        from tessera.plugins import Plugins

        self.settings = dict(settings)
        self.org = org
        self.db = db
        self.plugins = plugins if plugins is not None else Plugins.load(self.settings.get("PLUGINS"))
        self.templates = tuple(templates)
        self.on_change = on_change
        self.rows = OverlayRows(db)
        self.order = KeyOrder(SchemaSet(self.plugins.field_types).schemas)

    # -------------------------------------------------------------- reading
    def documents(self) -> list[OverlayDocument]:
        """Every document of the overlay, by kind and name, each with its version."""
        return list(self._stored().values())

    def document(self, kind: str, name: str) -> OverlayDocument | None:
        return self._stored().get(parse_key((kind, name)))

    def history(self, *, limit: int | None = 50, before: int | None = None) -> list[ChangeRecord]:
        """Applied changes, newest first (``before``: only those with a smaller id, to page)."""
        with self.db.read() as conn:  # deferred: never holds the write lock
            found = self.rows.history(conn, limit=limit, before=before)
        return found

    def change(self, change_id: int) -> ChangeRecord:
        with self.db.read() as conn:  # deferred: never holds the write lock
            found = self.rows.change(conn, int(change_id))
        if found is None:
            raise OverlayError(f"the overlay of org '{self.org}' has no change {change_id}")
        return found

    # -------------------------------------------------------------- planning
    def plan(self, changes: Iterable[DocumentChange]) -> ChangePlan:
        """The documents that would change, and the metadata problems or the storage plan of
        the result. Reads the database; changes nothing. Raises OverlayError (a malformed
        change), SyncError (database)."""
        return self._plan(self._checked(changes), storage=True)

    def _checked(self, changes: Iterable[DocumentChange]) -> list[DocumentChange]:
        checked: dict[DocumentKey, DocumentChange] = {}
        for change in changes:
            try:
                kind, name = parse_key((change.kind, change.name))
                data = None if change.data is None else clean_data(kind, name, change.data, self.order)
            except ValueError as exc:
                raise OverlayError(str(exc)) from None
            if (kind, name) in checked:
                raise OverlayError(f"the change names {kind} '{name}' twice")
            checked[(kind, name)] = DocumentChange(kind, name, data, change.source)
        return list(checked.values())

    def _plan(self, changes: list[DocumentChange], *, storage: bool) -> ChangePlan:
        stored = self._stored()
        before: dict[DocumentKey, Any] = {}
        after: dict[DocumentKey, Any] = {}
        sources: dict[DocumentKey, Any] = {}
        for change in changes:
            old = stored[change.key].data if change.key in stored else None
            if _same(old, change.data):
                continue
            before[change.key], after[change.key] = old, change.data
            if change.source is not None:
                sources[change.key] = change.source
        versions = {key: doc.version for key, doc in stored.items()}
        plan = ChangePlan(before, after, [], None, versions)
        if plan.is_empty:
            return plan
        proposed = {key: doc for key, doc in stored.items() if key not in after}
        for key, data in after.items():
            if data is not None:
                proposed[key] = OverlayDocument(key[0], key[1], data, versions.get(key, 0), sources.get(key))
        layer = OverlayLayer(proposed.values())
        try:
            plan.registry = org_registry(self.settings, self.org, self.db, templates=self.templates,
                                         plugins=self.plugins, overlay=layer)
        except MetadataError as exc:
            plan.problems = layer.place(exc.problems)
            return plan
        if storage:
            try:
                plan.storage = plan_sync(plan.registry, self.db)
            except sa.exc.SQLAlchemyError as exc:
                raise SyncError(f"cannot compare with the database: {exc}") from exc
        return plan

    # -------------------------------------------------------------- applying
    def apply(self, changes: Iterable[DocumentChange], *, expected_versions: Mapping[Any, int] | None,
              actor: str | None, summary: str, allow_destructive: bool = False) -> ChangeResult:
        """Apply ``changes`` in one transaction: the tables, the deployment record, the
        documents and the history row, or nothing.

        ``expected_versions`` maps each document the change read — at least every one it
        touches — to the version read (0: it did not exist); None overwrites whatever is
        stored (a package deploy). Raises :class:`Conflict` when one of them changed since,
        :class:`InvalidChange` with every metadata problem, SyncRefused when the storage
        plan would lose data (``allow_destructive`` as ``tessera metadata deploy``), SyncError,
        OverlayError."""
        return self._apply(self._checked(changes), expected_versions, actor, summary.strip() or "change",
                           allow_destructive, reverts=None)

    def revert(self, change_id: int, *, actor: str | None, summary: str | None = None,
               allow_destructive: bool = False) -> ChangeResult:
        """Apply the inverse of change ``change_id``: its documents as they were before it.
        Refused (:class:`Conflict`) when it was reverted already, or when one of its documents
        is no longer as the change left it (a later change touched it and was not undone):
        revert the later change first."""
        record = self.change(change_id)
        if record.reverted_by is not None:
            raise Conflict([], f"change {record.id} was already reverted by change {record.reverted_by}")
        stored = self._stored()
        with self.db.read() as conn:  # deferred: never holds the write lock
            later = self.rows.history(conn, limit=None, after=record.id)
        clashes, blocking = [], set()
        for key in record.documents:
            now = stored.get(key)
            if _same(now.data if now else None, record.after[key]):
                continue
            touching = [r for r in later if key in r.after]
            standing = [r.id for r in touching if r.reverted_by is None and r.reverts is None]
            blocking.update(standing or [r.id for r in touching[:1]])
            newest = touching[0] if touching else None
            clashes.append(DocumentConflict(key[0], key[1], record.id, now.version if now else 0, newest,
                                            f"change {record.id}"))
        if clashes:
            shown = ", ".join(map(str, sorted(blocking, reverse=True)))
            raise Conflict(clashes, f"change {record.id} cannot be reverted while later changes to its documents "
                                    f"stand; revert change{'s' if len(blocking) > 1 else ''} {shown} first")
        changes = [DocumentChange(kind, name, record.before.get((kind, name))) for kind, name in record.documents]
        expected = {key: stored[key].version if key in stored else 0 for key in record.documents}
        return self._apply(self._checked(changes), expected, actor, summary or f"revert change {record.id}: "
                           f"{record.summary}", allow_destructive, reverts=record.id)

    def _apply(self, changes: list[DocumentChange], expected_versions: Mapping[Any, int] | None,
               actor: str | None, summary: str, allow_destructive: bool, *, reverts: int | None) -> ChangeResult:
        expected = None if expected_versions is None else _expected(expected_versions)
        if expected is not None:
            missing = [key for key in (c.key for c in changes) if key not in expected]
            if missing:
                raise OverlayError("say which version of " + ", ".join(f"{k} '{n}'" for k, n in missing)
                                   + " the change read (0 when it was new), so a concurrent change is not lost")
        for _attempt in range(_ATTEMPTS):
            plan = self._plan(changes, storage=False)
            if expected is not None:
                self._check(expected, plan.versions)
            if plan.problems:
                raise InvalidChange(plan.problems)
            if plan.is_empty:
                return ChangeResult(None, {}, None, plan)
            try:
                result = self._commit(plan, expected, actor, summary, allow_destructive, reverts)
            except _Moved:
                continue
            if result.storage is not None and result.storage.applied:
                self.db.analyze(sorted(result.storage.plan.touched_tables))
            if self.on_change is not None:
                self.on_change()
            return result
        raise OverlayError("other changes to the overlay kept arriving while this one was applied; "
                           "nothing was changed — try again")

    def _commit(self, plan: ChangePlan, expected: dict[DocumentKey, int] | None, actor: str | None,
                summary: str, allow_destructive: bool, reverts: int | None) -> ChangeResult:
        assert plan.registry is not None
        with deploy_transaction(self.db) as conn:
            current = self.rows.versions(conn)  # under the deploy lock: nobody writes meanwhile
            if expected is not None:
                self._check(expected, current, conn)
            if current != plan.versions:
                raise _Moved
            storage = apply_plan_on(conn, plan_on(conn, plan.registry, self.db),
                                    allow_destructive=allow_destructive, actor=actor)
            try:
                change_id = self.rows.record(conn, actor=actor, summary=summary, before=plan.before,
                                             after=plan.after, reverts=reverts,
                                             deployment_id=storage.deployment_id)
            except LookupError as exc:
                raise Conflict([], str(exc)) from None
        versions = {key: (change_id if data is not None else 0) for key, data in plan.after.items()}
        return ChangeResult(change_id, versions, storage, plan)

    def _check(self, expected: dict[DocumentKey, int], current: Mapping[DocumentKey, int], conn: Any = None) -> None:
        stale = [(key, version, current.get(key, 0)) for key, version in sorted(expected.items())
                 if current.get(key, 0) != version]
        if not stale:
            return
        conflicts = []
        for (kind, name), version, now in stale:
            by = None
            if now:
                by = self.rows.change(conn, now) if conn is not None else self.change(now)
            conflicts.append(DocumentConflict(kind, name, version, now, by))
        raise Conflict(conflicts)

    def _stored(self) -> dict[DocumentKey, OverlayDocument]:
        try:
            with self.db.read() as conn:  # deferred: never holds the write lock
                found = self.rows.read(conn)
        except sa.exc.SQLAlchemyError as exc:
            raise SyncError(f"cannot read the overlay of org '{self.org}': {exc}") from exc
        return found


def _expected(versions: Mapping[Any, int]) -> dict[DocumentKey, int]:
    result = {}
    for key, version in versions.items():
        try:
            parsed = parse_key(key)
        except ValueError as exc:
            raise OverlayError(str(exc)) from None
        if not isinstance(version, int) or isinstance(version, bool) or version < 0:
            raise OverlayError(f"the version of {key_text(parsed)} must be a whole number (0: not there)")
        result[parsed] = version
    return result


def _same(old: Mapping[str, Any] | None, new: Mapping[str, Any] | None) -> bool:
    if old is None or new is None:
        return old is new
    return dumps_json(old) == dumps_json(new)


def _verb(before: Any, after: Any) -> str:
    return "add" if before is None else "remove" if after is None else "change"
