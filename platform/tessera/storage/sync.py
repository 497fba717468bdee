"""Schema sync: make an org's database match its metadata, in one transaction, losing nothing.

::

    plan = plan_sync(registry, db)     # plan.steps (describe(), sql), plan.refusals, plan.is_empty
    print(plan.render())               # what `tessera metadata diff` prints
    apply_sync(plan, db)               # one transaction; raises SyncRefused when refused
    deploy(registry, db)               # plan and apply at once (tests, `tessera demo load`)

The plan compares the tables the registry compiles to (:class:`~.tables.StorageSchema`) with the
live database and with the last deployment's snapshot of the metadata (to see what changed
that the database cannot show, such as ``required``). How it is computed: :mod:`.sync_plan`,
and for each changed column of an existing table :mod:`.sync_columns`; what a type change does
to each value: :mod:`.sync_convert`; reading the database:
:mod:`.sync_live`. Every schema change is an Alembic operation; on SQLite, changes SQLite cannot
make in place go through batch mode (copy, drop, rename) with foreign keys switched off for the
transaction and checked before it commits. Each applied deploy records the package versions, the
steps and the snapshot in ``tessera_deployments``; a deploy with nothing to change records nothing.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic.operations import Operations
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Connection

from tessera.metadata.registry import Registry

from tessera.metadata.errors import MetadataError

from .database import Database, normalise_url
from .sync_plan import plan_on
from .sync_steps import Plan, Refusal, Step
from .types import JSONType

#: the org `tessera metadata deploy`, the demo and the app use unless told otherwise
DEFAULT_ORG = "default"
#: the table holding one row per applied deploy (StorageSchema.deployments)
DEPLOYMENTS_TABLE = "tessera_deployments"

__all__ = ["DEFAULT_ORG", "Plan", "Refusal", "Step", "SyncError", "SyncRefused", "SyncResult", "apply_plan_on",
           "apply_sync", "database_url", "deploy", "deploy_transaction", "open_org", "open_org_storage",
           "org_database", "org_registry", "plan_sync", "recorded_packages"]


class SyncError(Exception):
    """A deploy that cannot be done; the message is for people. Nothing was changed."""


class SyncRefused(SyncError):
    """The plan would lose data or leave invalid records; ``problems`` lists every reason."""

    def __init__(self, refusals: Sequence[Refusal]) -> None:
        self.refusals = list(refusals)
        self.problems = [str(r) for r in self.refusals]
        super().__init__("deploy refused; nothing was changed:\n" + "\n".join(f"  - {p}" for p in self.problems))

    @property
    def forceable(self) -> bool:
        """True when --allow-destructive would let the deploy go ahead."""
        return all(r.forceable for r in self.refusals)


@dataclass
class SyncResult:
    """What a deploy did: ``applied`` is False when there was nothing to change."""

    applied: bool
    deployment_id: int | None
    steps: list[str]
    packages: list[dict[str, str]]
    plan: Plan = field(repr=False)

    @property
    def destructive(self) -> list[Refusal]:
        """The refusals --allow-destructive overrode (empty unless it was given)."""
        return [r for r in self.plan.refusals if r.forceable] if self.applied else []


# ------------------------------------------------------------------------------ the API

def plan_sync(registry: Registry, db: Database) -> Plan:
    """What deploying ``registry`` to ``db`` would do; reads the database, changes nothing."""
    with db.engine.connect() as conn:
        try:
            return plan_on(conn, registry, db)
        finally:
            conn.rollback()


def apply_sync(plan: Plan, db: Database | None = None, allow_destructive: bool = False,
               actor: str | None = None) -> SyncResult:
    """Apply ``plan`` in one transaction. The plan is made again inside the transaction; if the
    database changed in between, nothing is done (SyncError). Raises SyncRefused when refused."""
    db = db or plan.db
    _refuse(plan, allow_destructive)
    if plan.is_empty:
        return SyncResult(False, None, [], plan.packages, plan)
    with deploy_transaction(db) as conn:
        fresh = plan_on(conn, plan.registry, db)
        if fresh.signature() != plan.signature():
            raise SyncError("the database changed since this plan was made; nothing was changed — "
                            "make the plan again (tessera metadata diff)")
        return _apply_on(conn, fresh, actor)


def deploy(registry: Registry, db: Database, allow_destructive: bool = False,
           actor: str | None = None) -> SyncResult:
    """Plan and apply in one transaction: the tables of ``registry`` exist afterwards."""
    with deploy_transaction(db) as conn:
        plan = plan_on(conn, registry, db)
        result = apply_plan_on(conn, plan, allow_destructive=allow_destructive, actor=actor)
    if result.applied:
        db.analyze(sorted(plan.touched_tables))  # new indexes, rebuilt tables: fresh planner statistics
    return result


def apply_plan_on(conn: Connection, plan: Plan, *, allow_destructive: bool = False,
                  actor: str | None = None) -> SyncResult:
    """Apply ``plan`` (made on ``conn`` inside :func:`deploy_transaction`) and record the
    deployment, so a caller can write its own rows in the same transaction (the org overlay
    does). Raises SyncRefused when refused, SyncError when a step fails; the caller's
    transaction then rolls back and nothing is changed."""
    _refuse(plan, allow_destructive)
    if plan.is_empty:
        return SyncResult(False, None, [], plan.packages, plan)
    return _apply_on(conn, plan, actor)


def _refuse(plan: Plan, allow_destructive: bool) -> None:
    blocking = plan.blocking(allow_destructive)
    if blocking:
        raise SyncRefused(plan.refusals if not allow_destructive else blocking)


@contextmanager
def deploy_transaction(db: Database) -> Iterator[Connection]:
    """One connection in one transaction. On SQLite, foreign keys are switched off for it
    (the pragma is ignored inside a transaction, so it is set before BEGIN): batch mode drops
    and recreates tables, and with foreign keys on, dropping a parent table would run its
    ON DELETE actions on the children. They are checked before the commit instead."""
    with db.engine.connect() as conn:
        raw = conn.connection.driver_connection if db.is_sqlite else None
        if raw is not None:
            raw.execute("PRAGMA foreign_keys = OFF")
        try:
            with conn.begin():
                if db.dialect == "postgresql":  # one deploy at a time per org (SQLite: BEGIN IMMEDIATE)
                    conn.execute(sa.select(sa.func.pg_advisory_xact_lock(
                        sa.func.hashtext(f"tessera_deploy:{db.schema or ''}"))))
                if db.schema is not None and not sa.inspect(conn).has_schema(db.schema):
                    conn.execute(sa.schema.CreateSchema(db.schema))
                yield conn
        finally:
            if raw is not None:
                try:
                    raw.execute("PRAGMA foreign_keys = ON")
                except Exception:  # noqa: BLE001 - a broken connection must not go back to the pool
                    conn.invalidate()


def _apply_on(conn: Connection, plan: Plan, actor: str | None) -> SyncResult:
    op = Operations(MigrationContext.configure(connection=conn))
    for number, step in enumerate(plan.steps, 1):
        try:
            for action in step.actions:
                action(op)
        except sa.exc.DBAPIError as exc:
            raise SyncError(f"step {number} ({step.words}) failed: {_reason(exc)}; nothing was changed") from exc
    if plan.db.is_sqlite:
        _check_foreign_keys(conn, plan.touched_tables)
    words = [step.words for step in plan.steps]
    deployments = plan.storage.deployments
    result = conn.execute(deployments.insert().values(
        at=dt.datetime.now(dt.UTC), actor=actor[:120] if actor else None, packages=plan.packages,
        steps=words, snapshot=plan.snapshot))
    return SyncResult(True, int(result.inserted_primary_key[0]), words, plan.packages, plan)


def _check_foreign_keys(conn: Connection, tables: set[str]) -> None:
    quote = conn.dialect.identifier_preparer.quote
    existing = set(sa.inspect(conn).get_table_names())
    problems = []
    for table in sorted(tables & existing):
        broken: dict[str, int] = {}
        for row in conn.exec_driver_sql(f"PRAGMA foreign_key_check({quote(table)})"):
            broken[row[2]] = broken.get(row[2], 0) + 1
        problems += [f"{table}: {n} row{'s' if n != 1 else ''} refer to missing {parent} records"
                     for parent, n in broken.items()]
    if problems:
        raise SyncError("the deploy would break references; nothing was changed: " + "; ".join(problems))


def _reason(exc: sa.exc.DBAPIError) -> str:
    return str(exc.orig).strip().splitlines()[0] if exc.orig is not None else str(exc)


# ------------------------------------------------------------------------------ opening an org

def database_url(settings: dict[str, Any]) -> str:
    """The database URL from settings, ready for SQLAlchemy; the SQLite file's folder is created."""
    url = normalise_url(str(settings.get("DATABASE_URL") or "sqlite:///instance/tessera.db"))
    if url.startswith("sqlite"):
        database = sa.engine.make_url(url).database
        if database and database != ":memory:" and not database.startswith("file:"):
            Path(database).parent.mkdir(parents=True, exist_ok=True)
    return url


def recorded_packages(db: Database) -> list[dict[str, str]]:
    """The packages of the org's last deployment ([] before the first)."""
    table = sa.table(DEPLOYMENTS_TABLE, sa.column("id", sa.BigInteger()), sa.column("packages", JSONType),
                     schema=db.schema)
    with db.engine.connect() as conn:
        if not sa.inspect(conn).has_table(DEPLOYMENTS_TABLE, schema=db.schema):
            return []
        row = conn.execute(sa.select(table.c.packages).order_by(table.c.id.desc()).limit(1)).first()
        conn.rollback()
    return [p for p in (row.packages if row else None) or [] if isinstance(p, dict) and p.get("name")]


def org_database(settings: dict[str, Any], org: str, *, engine: sa.Engine | None = None) -> Database:
    """Where the records of ``org`` live: on PostgreSQL the schema ``org_<org>`` of
    ``DATABASE_URL``; on SQLite the file ``orgs/<org>.db`` next to the platform database
    (an in-memory platform database gives in-memory orgs). ``engine`` (PostgreSQL) shares an
    open engine of that URL instead of opening another. Raises SyncError on a bad URL."""
    from tessera.security.store import ORG_NAME

    if not isinstance(org, str) or not ORG_NAME.match(org):
        raise SyncError(f"'{org}' is not an org name (lowercase letters, digits and _, starting with a letter)")
    url = database_url(settings)
    try:
        parsed = sa.engine.make_url(url)
        if parsed.get_backend_name() == "sqlite":
            path = parsed.database
            if path and path != ":memory:" and not path.startswith("file:"):
                folder = Path(path).parent / "orgs"
                folder.mkdir(parents=True, exist_ok=True)
                url = parsed.set(database=str(folder / f"{org}.db")).render_as_string(hide_password=False)
            elif path and path.startswith("file:"):
                raise SyncError(f"cannot place org databases next to {_safe(url)}: use a plain file path")
            return Database.connect(url)
        if engine is not None:
            return Database(engine, f"org_{org}")
        return Database.connect(url, schema=f"org_{org}")
    except (sa.exc.ArgumentError, sa.exc.NoSuchModuleError, ValueError) as exc:
        raise SyncError(f"cannot use the database URL {_safe(url)}: {exc}") from exc


def open_org(settings: dict[str, Any], org: str = DEFAULT_ORG, *,
             templates: Sequence[str] = (), plugins: Any = None,
             engine: sa.Engine | None = None, overlay: Any = None) -> tuple[Database, Registry]:
    """The org's database and registry. The org must exist in the platform store
    (``tessera orgs create``); ``default`` is created there the first time it is opened (by
    ``tessera metadata deploy``, the demo or the app). Installed packages: the PACKAGES setting,
    the packages of the last deployment (so a deployed template stays installed), ``templates``,
    and the packages enabled plugins ship; field types and formula functions come from the
    plugins; the OVERLAY_DIR folder applies to ``default`` only; the overlay stored in the org's
    database comes last (``overlay``: use these documents instead, see :func:`org_registry`).
    Raises SyncError (unknown org, database unreachable), MetadataError or PluginError."""
    _check_org(settings, org, engine)
    return open_org_storage(settings, org, templates=templates, plugins=plugins, engine=engine, overlay=overlay)


def _check_org(settings: dict[str, Any], org: str, engine: sa.Engine | None) -> None:
    from tessera.security.store import ORG_NAME, PlatformStore, platform_database

    if not isinstance(org, str) or not ORG_NAME.match(org):
        raise SyncError(f"'{org}' is not an org name (lowercase letters, digits and _, starting with a letter)")
    url = database_url(settings)
    try:
        platform = platform_database(settings, engine=engine)
    except (sa.exc.ArgumentError, sa.exc.NoSuchModuleError, ValueError) as exc:
        raise SyncError(f"cannot use the database URL {_safe(url)}: {exc}") from exc
    try:
        store = PlatformStore(platform)
        found = store.org(org)
        if found is None and org == DEFAULT_ORG:
            store.ensure_org(DEFAULT_ORG, "Default")
        elif found is None:
            raise SyncError(f"unknown org '{org}': create it with `tessera orgs create {org}` "
                            f"(`tessera orgs list` shows the orgs)")
        elif not found.active:
            raise SyncError(f"the org '{org}' is deactivated")
    except sa.exc.SQLAlchemyError as exc:
        raise SyncError(f"cannot open the database {_safe(url)}: "
                        f"{_reason(exc) if isinstance(exc, sa.exc.DBAPIError) else exc}") from exc
    finally:
        if engine is None:
            platform.dispose()


def open_org_storage(settings: dict[str, Any], org: str, *, templates: Sequence[str] = (), plugins: Any = None,
                     engine: sa.Engine | None = None, overlay: Any = None) -> tuple[Database, Registry]:
    """:func:`open_org` without asking the platform store whether the org exists (for
    ``tessera orgs create``, which builds the registry before it adds the org)."""
    from tessera.plugins import Plugins

    plugins = plugins if plugins is not None else Plugins.load(settings.get("PLUGINS"))
    db = org_database(settings, org, engine=engine)
    try:
        try:
            db.ensure_schema()
        except sa.exc.SQLAlchemyError as exc:
            raise SyncError(f"cannot open the database {_safe(database_url(settings))}: "
                            f"{_reason(exc) if isinstance(exc, sa.exc.DBAPIError) else exc}") from exc
        registry = org_registry(settings, org, db, templates=templates, plugins=plugins, overlay=overlay)
    except BaseException:
        if engine is None:
            db.dispose()
        raise
    return db, registry


def org_registry(settings: dict[str, Any], org: str, db: Database, *, templates: Sequence[str] = (),
                 plugins: Any = None, overlay: Any = None) -> Registry:
    """The registry of ``org`` as its database stands: the PACKAGES setting, the packages
    enabled plugins ship, the packages of the last deployment (so a deployed template stays
    installed), ``templates``, the OVERLAY_DIR folder (``default`` only), and last the overlay
    stored in the database — or ``overlay`` in its place (OverlayDocuments or an
    :class:`~tessera.metadata.overlay.OverlayLayer`), to check a change before it is applied.
    ``registry.revision`` is the stored state it was built from (see storage.overlay_store).
    Raises SyncError (database), MetadataError or PluginError."""
    from tessera.config import metadata_paths, split_list
    from tessera.metadata.overlay import ORG_OVERLAY, OverlayLayer
    from tessera.metadata.packages import package_name
    from tessera.metadata.registry import build_org_registry, default_search_paths
    from tessera.plugins import Plugins

    from .overlay_store import OverlayRows, revision

    plugins = plugins if plugins is not None else Plugins.load(settings.get("PLUGINS"))
    built_from = None
    try:
        if overlay is None:
            built_from = revision(db)  # before the documents: a change in between is noticed later
            with db.engine.connect() as conn:
                overlay = list(OverlayRows(db).read(conn).values())
                conn.rollback()
        recorded = recorded_packages(db)
    except sa.exc.SQLAlchemyError as exc:
        raise SyncError(f"cannot open the database {_safe(database_url(settings))}: "
                        f"{_reason(exc) if isinstance(exc, sa.exc.DBAPIError) else exc}") from exc
    layer = overlay if isinstance(overlay, OverlayLayer) else OverlayLayer(overlay)
    folder = Path(settings["OVERLAY_DIR"]) if settings.get("OVERLAY_DIR") and org == DEFAULT_ORG else None
    overlays = {ORG_OVERLAY, _overlay_name(folder) if folder else None}
    shipped = [name for root in plugins.metadata_packages if (name := package_name(root))]
    names = [*split_list(settings.get("PACKAGES") or ""), *shipped,
             *(p["name"] for p in recorded if p["name"] not in overlays), *templates]
    try:
        registry = build_org_registry(list(dict.fromkeys(names)),
                                      search_paths=[*metadata_paths(settings), *plugins.metadata_packages,
                                                    *default_search_paths()],
                                      overlay=folder, field_types=plugins.field_types,
                                      functions=plugins.functions, flow_steps=plugins.flow_steps,
                                      org_overlay=layer)
    except MetadataError as exc:
        owners = sorted({o for p in exc.problems if (o := plugins.owner_of(p.location.file))})
        if owners:  # say which plugin ships the broken metadata, then where and what
            from tessera.plugins import PluginError

            listing = "\n".join(f"  {p}" for p in exc.problems)
            raise PluginError(f"plugin{'s' if len(owners) > 1 else ''} {', '.join(repr(o) for o in owners)} "
                              f"ship{'' if len(owners) > 1 else 's'} invalid metadata:\n{listing}") from exc
        raise
    return dataclasses.replace(registry, revision=built_from) if built_from is not None else registry


def _overlay_name(path: Path) -> str:
    """The package name an overlay folder gets (from its optional package.yaml)."""
    import yaml

    manifest = path / "package.yaml"
    if manifest.is_file():
        try:
            data = yaml.safe_load(manifest.read_text(encoding="utf-8"))
            if isinstance(data, dict) and isinstance(data.get("name"), str):
                return data["name"]
        except (OSError, yaml.YAMLError):
            pass
    return "overlay"


def _safe(url: str) -> str:
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        return url
