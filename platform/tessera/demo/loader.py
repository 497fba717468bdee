"""Load the demo company into an org: plan everything, then replay it through the record service.

::

    result = load_demo(registry, db, scale=1, seed=42)      # DemoResult: counts, seconds, users
    result = load_demo(registry, db, reset=True)             # empty the org first

The org must be empty (a second load finds the demo and does nothing). ``reset`` empties it by
dropping the org's storage and deploying the metadata again — records, history, auto-number
counters and retired columns alike — rather than hard-deleting record by record through the
service: a hard delete writes a history entry per record (history of records that no longer
exist), leaves the auto-number counters running (a reloaded demo would be numbered differently)
and recomputes roll-ups on every delete. A load that fails part-way empties the org the same
way, so it is never left half loaded.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import time
from dataclasses import dataclass, field

import sqlalchemy as sa

from tessera.metadata.registry import Registry
from tessera.records.service import RecordService
from tessera.storage.database import Database
from tessera.storage.sync import deploy

from . import accounts, cash, catalog, leads, marketing, pipeline, revenue
from .context import DemoContext
from .timeline import CST
from .users import DEMO_USERS, DemoUser

#: the seed of `tessera demo load` without --seed
DEFAULT_SEED = 42
#: a record only the demo creates: when it exists, the demo is loaded
MARKER = ("product", "code", "XC-TH100")
#: the objects the demo writes (the l2c package's)
NEEDED = ("currency", "exchange_rate", "unit", "product", "price_book", "campaign", "lead", "lead_pool",
          "bid_notice", "account", "contact", "opportunity", "activity", "quote", "contract", "order",
          "receivable_plan", "invoice", "payment", "payment_allocation", "revenue_schedule")


class DemoRefused(Exception):
    """The org holds records that are not the demo's; nothing was loaded."""


@dataclass
class DemoResult:
    """What a load did. ``already_loaded``: the demo was there, nothing was written."""

    seed: int
    scale: float
    today: dt.date
    counts: dict[str, int] = field(default_factory=dict)
    updates: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    units: int = 0
    write_seconds: dict[str, float] = field(default_factory=dict)  # per object, roll-ups included
    already_loaded: bool = False
    users: tuple[DemoUser, ...] = DEMO_USERS

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def china_today() -> dt.date:
    """Today in China, where the demo company works."""
    return dt.datetime.now(CST).date()


def load_demo(registry: Registry, db: Database, *, scale: float = 1.0, seed: int = DEFAULT_SEED,
              today: dt.date | None = None, reset: bool = False) -> DemoResult:
    """Deploy the schema if needed and load the demo. Raises DemoRefused when the org has
    other records, DemoDataError when the record service refuses a demo row (the org is
    emptied again), SyncError when the schema cannot be deployed."""
    if scale <= 0:
        raise ValueError("scale must be above 0")
    missing = sorted(set(NEEDED) - set(registry.objects))
    if missing:
        raise DemoRefused(f"the demo needs the l2c package; this org has no {', '.join(missing)}")
    today = today or china_today()
    result = DemoResult(seed, scale, today)
    if reset:
        empty_org(registry, db)
    else:
        deploy(registry, db)
        if _has_marker(registry, db):
            result.already_loaded = True
            return result
        holding = _record_count(registry, db)
        if holding:
            raise DemoRefused(f"the org already holds {holding} records that are not the demo's; "
                              "load the demo into an empty org, or pass --reset to empty this one first "
                              "(that deletes every record)")
    ctx = DemoContext(seed=seed, today=today, scale=scale)
    for module in (catalog, marketing, leads, accounts, pipeline, revenue):
        module.plan(ctx)
    cash.finish(ctx)
    service = RecordService(registry, db, clock=ctx.timeline.clock)
    started = time.perf_counter()
    try:
        ctx.timeline.run(service)
    except BaseException:
        with contextlib.suppress(Exception):  # the error that stopped the load is the one to report
            empty_org(registry, db)  # never leave a half-loaded demo behind
        raise
    db.analyze([table.name for table in service.schema.metadata.tables.values()])  # the planner meets the data
    result.seconds = time.perf_counter() - started
    result.units = ctx.timeline.units
    result.counts = dict(sorted(ctx.writer.created.items()))
    result.updates = dict(sorted(ctx.writer.updated.items()))
    result.write_seconds = dict(ctx.writer.seconds.most_common())
    return result


def empty_org(registry: Registry, db: Database) -> None:
    """Drop all of the org's storage and deploy ``registry`` again: an empty org."""
    if db.schema is not None:  # PostgreSQL: the org's own schema
        db.drop_schema()
        db.ensure_schema()
    else:  # SQLite: the org's own file; foreign keys off so tables drop in any order
        with db.engine.connect() as conn:
            raw = conn.connection.driver_connection
            raw.execute("PRAGMA foreign_keys = OFF")
            try:
                with conn.begin():
                    quote = conn.dialect.identifier_preparer.quote
                    for name in sa.inspect(conn).get_table_names():
                        if not name.startswith("sqlite_"):
                            conn.exec_driver_sql(f"DROP TABLE {quote(name)}")
            finally:
                raw.execute("PRAGMA foreign_keys = ON")
    deploy(registry, db)


def _has_marker(registry: Registry, db: Database) -> bool:
    object_name, field_name, value = MARKER
    if object_name not in registry.objects:
        return False
    service = RecordService(registry, db)
    return service.count(object_name, filter={field_name: value}, include_deleted=True, cap=1).value > 0


def _record_count(registry: Registry, db: Database) -> int:
    """How many records the org holds (deleted ones included), counting up to 1000 per object."""
    service = RecordService(registry, db)
    return sum(service.count(name, include_deleted=True, cap=1000).value for name in registry.objects)
