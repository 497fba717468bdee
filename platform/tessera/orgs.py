"""Orgs (tenants): each has its own records, metadata overlay, installed templates and users.

::

    orgs = OrgDirectory(settings, plugins)
    acme = orgs.get("acme")              # OrgRuntime: name, db, registry, records; UnknownOrg if none
    acme.records.create("account", {"name": "Acme"}, actor=user.actor())
    orgs.for_actor(actor)                # the RecordService of the actor's org, and no other
    orgs.metadata("acme")                # MetadataChanges: plan/apply/revert the org's overlay

    created = create_org(settings, "acme", templates=["saas"])   # `tessera orgs create acme --template saas`

An org's records live apart from every other org's: on PostgreSQL in the schema ``org_<name>``,
on SQLite in the file ``orgs/<name>.db`` next to the platform database
(:func:`tessera.storage.sync.org_database`). Orgs, users and tokens live in the platform store
(:mod:`tessera.security.store`). A request reaches records only through the record service of
its actor's org, so record ids may repeat across orgs without meaning anything to each other.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from tessera.metadata.registry import Registry
from tessera.records.service import Actor, RecordService
from tessera.security.errors import DUPLICATE_ORG, IdentityError, UnknownOrg
from tessera.security.store import Org, PlatformStore, check_org_name
from tessera.storage.database import Database
from tessera.storage.sync import (
    DEFAULT_ORG,
    SyncError,
    SyncResult,
    deploy,
    open_org,
    open_org_storage,
)

__all__ = ["DEFAULT_ORG", "OrgCreated", "OrgDirectory", "OrgRuntime", "UnknownOrg", "create_org", "org_location"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class OrgRuntime:
    """One open org: its database, its compiled registry and its record service."""

    name: str
    db: Database
    registry: Registry
    records: RecordService


class OrgDirectory:
    """The orgs a process serves, opened on first use and kept (thread-safe).

    The first ``get`` of an org builds its registry (a few hundred milliseconds for L2C); later
    ones are a dictionary look-up. At most every METADATA_REFRESH_SECONDS (default 1; 0: on
    every ``get``) a ``get`` also asks the org's database which revision of its metadata is
    stored (:func:`~tessera.storage.overlay_store.revision`, two indexed look-ups); when it is
    not the one the registry was built from — another process applied an overlay change or
    deployed — the registry and record service are rebuilt (:meth:`refresh`) on the same
    database, so every worker serves the new metadata without a restart. :meth:`forget` drops
    an org. On PostgreSQL the orgs share the platform store's engine, so more orgs do not mean
    more connection pools.
    """

    def __init__(self, settings: dict[str, Any], plugins: Any = None, *, store: PlatformStore | None = None) -> None:
        from tessera.plugins import Plugins

        self.settings = settings
        self.plugins = plugins if plugins is not None else Plugins.load(settings.get("PLUGINS"))
        self.store = store or PlatformStore.from_settings(settings)
        self._engine = self.store.db.engine if not self.store.db.is_sqlite else None
        self._open: dict[str, OrgRuntime] = {}
        self._lock = threading.Lock()
        self.refresh_seconds = float(settings.get("METADATA_REFRESH_SECONDS", 1) or 0)
        self._checked: dict[str, float] = {}  # when each org's revision was last asked
        self._failed: dict[str, Any] = {}  # a revision whose registry could not be built

    def get(self, name: str) -> OrgRuntime:
        """The open org ``name``; :class:`UnknownOrg` when no active org has that name."""
        runtime = self._open.get(name)
        if runtime is not None:
            return self._current(runtime)
        with self._lock:
            runtime = self._open.get(name)
            if runtime is not None:
                return runtime
            found = self.store.org(name) if isinstance(name, str) else None
            if found is None and name != DEFAULT_ORG:
                raise UnknownOrg(str(name))
            if found is not None and not found.active:
                raise UnknownOrg(found.name, inactive=True)
            try:
                db, registry = open_org(self.settings, name, plugins=self.plugins, engine=self._engine)
            except SyncError as exc:
                raise UnknownOrg(str(name)) from exc
            runtime = self._make(name, db, registry)
            self._open[name] = runtime
            self._checked[name] = time.monotonic()  # just built from what is stored
            return runtime

    def add(self, name: str, db: Database, registry: Registry, records: RecordService | None = None) -> OrgRuntime:
        """Serve an org that is already open (the app opens ``default`` at start-up)."""
        with self._lock:
            runtime = OrgRuntime(name, db, registry, records) if records is not None else self._make(name, db, registry)
            self._open[name] = runtime
            self._checked[name] = time.monotonic()
            return runtime

    def records(self, name: str) -> RecordService:
        return self.get(name).records

    def metadata(self, name: str) -> Any:
        """The org's :class:`~tessera.storage.overlay.MetadataChanges` (what the admin screens
        change metadata through); each applied change rebuilds the org's registry here at once."""
        from tessera.storage.overlay import MetadataChanges

        runtime = self.get(name)
        return MetadataChanges(self.settings, name, runtime.db, plugins=self.plugins,
                               on_change=lambda: self.refresh(name))

    def refresh(self, name: str) -> OrgRuntime:
        """Rebuild the org's registry and record service from its database when its stored
        metadata changed. The database stays open; requests under way finish with the old
        registry. When the new metadata cannot be built (a package on disk broke), the old
        one is kept, the problem logged, and the same revision not tried again."""
        from tessera.storage.overlay_store import revision
        from tessera.storage.sync import org_registry

        with self._lock:
            runtime = self._open.get(name)
            if runtime is not None:
                stored = revision(runtime.db)
                if stored is not None and stored in (runtime.registry.revision, self._failed.get(name)):
                    return runtime
                try:
                    registry = org_registry(self.settings, name, runtime.db, plugins=self.plugins)
                except Exception as exc:  # noqa: BLE001 - keep serving the metadata that works
                    self._failed[name] = stored
                    log.error("org %s: its changed metadata cannot be used, serving the previous: %s", name, exc)
                    return runtime
                fresh = self._make(name, runtime.db, registry)
                self._open[name] = fresh
                self._checked[name] = time.monotonic()
                return fresh
        return self.get(name)  # not open: opening it builds it from what is stored

    def _current(self, runtime: OrgRuntime) -> OrgRuntime:
        """``runtime``, or its rebuild when the org's stored metadata moved on (checked at most
        every ``refresh_seconds``)."""
        from tessera.storage.overlay_store import revision

        now = time.monotonic()
        if self.refresh_seconds and now - self._checked.get(runtime.name, 0.0) < self.refresh_seconds:
            return runtime
        self._checked[runtime.name] = now
        stored = revision(runtime.db)
        if stored is None or stored == runtime.registry.revision or stored == self._failed.get(runtime.name):
            return runtime
        return self.refresh(runtime.name)

    def for_actor(self, actor: Actor) -> RecordService:
        """The record service of the actor's org (the system actor's org is its ``org``)."""
        return self.get(actor.org).records

    def forget(self, name: str) -> None:
        with self._lock:
            runtime = self._open.pop(name, None)
            self._checked.pop(name, None)
            self._failed.pop(name, None)
        if runtime is not None and runtime.db.engine is not self._engine:
            runtime.db.dispose()

    def names(self) -> list[str]:
        """The orgs open in this process."""
        return sorted(self._open)

    def close(self) -> None:
        for name in list(self._open):
            self.forget(name)

    def _make(self, name: str, db: Database, registry: Registry) -> OrgRuntime:
        return OrgRuntime(name, db, registry,
                          RecordService(registry, db, plugins=self.plugins, org=name, directory=self.store))


# ------------------------------------------------------------------------------ creating an org

@dataclass
class OrgCreated:
    """What ``create_org`` did."""

    org: Org
    location: str
    deploy: SyncResult
    packages: list[dict[str, str]] = field(default_factory=list)


def org_location(settings: dict[str, Any], name: str) -> str:
    """Where the org's records live, in words (for messages)."""
    from tessera.storage.sync import org_database

    db = org_database(settings, name)
    try:
        if db.is_sqlite:
            return f"SQLite file {db.engine.url.database or '(in memory)'}"
        return f"PostgreSQL schema {db.schema}"
    finally:
        db.dispose()


def create_org(settings: dict[str, Any], name: str, *, label: str | None = None,
               templates: Sequence[str] = (), plugins: Any = None, actor: str | None = None,
               store: PlatformStore | None = None) -> OrgCreated:
    """Add the org to the platform store and deploy its records' schema (the PACKAGES
    setting plus ``templates``). Nothing is left behind when it fails: the metadata is
    compiled before anything is written, and the org's row is removed if the deploy fails.
    Raises IdentityError (bad or taken name), SyncError, MetadataError or PluginError."""
    name = check_org_name(name)
    own_store = store is None
    store = store or PlatformStore.from_settings(settings)
    try:
        if store.org(name) is not None:
            raise IdentityError(DUPLICATE_ORG, field="org", org=name)
        db, registry = open_org_storage(settings, name, templates=templates, plugins=plugins)
        try:
            org = store.create_org(name, label)
            try:
                result = deploy(registry, db, actor=actor)
            except BaseException:
                with store.db.begin() as conn:
                    conn.execute(store.t.orgs.delete().where(store.t.orgs.c.id == org.id))
                raise
        finally:
            db.dispose()
        return OrgCreated(org, org_location(settings, name), result, list(result.packages))
    except sa.exc.SQLAlchemyError as exc:
        raise SyncError(f"cannot create the org '{name}': {exc}") from exc
    finally:
        if own_store:
            store.dispose()
