"""RecordService against hand-written SQLAlchemy Core on the same table, in the same run.

One object of ten fields (text, integer, money, picklist, date, boolean, email, a lookup and a
stored formula) over a table seeded with 100,000 rows. Each operation runs in its own
transaction, as an API call would:

* create — service: convert and check input, defaults, lookup exists, formula, rules, insert,
  history. Core: one INSERT ... RETURNING.
* get    — service: select the live row. Core: the same SELECT.
* update — service: the whole write path with the version check and history. Core: one
  UPDATE ... WHERE version = ... RETURNING.
* page   — a filtered, sorted page of 50 with a lookup column. Core: the same SELECT with a
  LEFT JOIN, ORDER BY and LIMIT.

Run: .venv/bin/python bench/records.py [--rows 100000] [--database-url URL]
(PostgreSQL: --database-url postgresql+psycopg://postgres@127.0.0.1/test; a scratch schema is
created and dropped.)
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import statistics
import tempfile
import time
import uuid
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa

from tessera.metadata.registry import build_org_registry
from tessera.records.service import RecordService
from tessera.storage.database import Database
from tessera.storage.tables import StorageSchema

GROUP = """
label: {en: Group, zh-CN: 分组}
plural_label: {en: Groups, zh-CN: 分组}
fields:
  name: {type: text, label: {en: Name, zh-CN: 名称}, required: true}
"""
ITEM = """
label: {en: Item, zh-CN: 条目}
plural_label: {en: Items, zh-CN: 条目}
fields:
  name: {type: text, label: {en: Name, zh-CN: 名称}, required: true, max_length: 120}
  quantity: {type: integer, label: {en: Quantity, zh-CN: 数量}, min: 0}
  amount: {type: currency, label: {en: Amount, zh-CN: 金额}, min: 0}
  status:
    type: picklist
    label: {en: Status, zh-CN: 状态}
    default: open
    options:
      - {value: open, label: {en: Open, zh-CN: 打开}}
      - {value: active, label: {en: Active, zh-CN: 活跃}}
      - {value: hold, label: {en: On hold, zh-CN: 暂停}}
      - {value: done, label: {en: Done, zh-CN: 完成}}
      - {value: lost, label: {en: Lost, zh-CN: 丢失}}
  due: {type: date, label: {en: Due, zh-CN: 到期}}
  active: {type: boolean, label: {en: Active, zh-CN: 有效}}
  email: {type: email, label: {en: Email, zh-CN: 邮箱}}
  group: {type: lookup, target: group, label: {en: Group, zh-CN: 分组}}
  total: {type: formula, result: currency, expression: quantity * amount, label: {en: Total, zh-CN: 合计}}
validations:
  - name: due_needed_when_active
    condition: AND(status = 'active', ISBLANK(due))
    message: {en: Active items need a due date., zh-CN: 活跃条目需要到期日。}
    error_field: due
indexes:
  - {fields: [status, amount]}
"""
STATUSES = ["open", "active", "hold", "done", "lost"]


def build(tmp: Path, url: str | None):
    root = tmp / "bench"
    (root / "objects").mkdir(parents=True)
    (root / "package.yaml").write_text("name: bench\nversion: 1.0.0\nlabel: {en: Bench, zh-CN: 基准}\n")
    (root / "objects" / "group.yaml").write_text(GROUP)
    (root / "objects" / "item.yaml").write_text(ITEM)
    registry = build_org_registry(["bench"], search_paths=[tmp])
    if url:
        db = Database.connect(url, schema=f"bench_{uuid.uuid4().hex[:8]}")
        db.ensure_schema()
    else:
        db = Database.connect(f"sqlite:///{tmp / 'bench.db'}")
    schema = StorageSchema(registry, db)
    schema.metadata.create_all(db.engine)
    return registry, db, schema


def seed(db: Database, schema: StorageSchema, rows: int) -> list[int]:
    now = dt.datetime.now(dt.UTC)
    rng = random.Random(7)
    groups, items = schema.table("group"), schema.table("item")
    with db.begin() as conn:
        conn.execute(groups.insert(), [dict(name=f"G{i}", created_at=now, updated_at=now, version=1) for i in range(50)])
        group_ids = list(conn.execute(sa.select(groups.c.id)).scalars())
        batch = []
        for i in range(rows):
            quantity, amount = rng.randint(0, 100), Decimal(rng.randint(0, 1_000_000)) / 100
            batch.append(dict(name=f"Item {i}", quantity=quantity, amount=amount, status=rng.choice(STATUSES),
                              due=dt.date(2026, 1, 1) + dt.timedelta(days=rng.randint(0, 365)),
                              active=rng.random() < 0.5, email=f"i{i}@example.com", group=rng.choice(group_ids),
                              total=amount * quantity, created_at=now, updated_at=now, version=1))
            if len(batch) == 5000:
                conn.execute(items.insert(), batch)
                batch.clear()
        if batch:
            conn.execute(items.insert(), batch)
    return group_ids


def timed(repeat: int, func) -> float:
    """Median seconds per call."""
    samples = []
    for index in range(repeat):
        started = time.perf_counter()
        func(index)
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=400)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        registry, db, schema = build(Path(folder), args.database_url)
        try:
            run(registry, db, schema, args)
        finally:
            db.drop_schema()
            db.dispose()


def run(registry, db, schema, args) -> None:
    started = time.perf_counter()
    group_ids = seed(db, schema, args.rows)
    print(f"{db.dialect}: seeded {args.rows:,} rows in {time.perf_counter() - started:.1f} s; "
          f"median of {args.repeat} calls each")
    service = RecordService(registry, db, schema=schema)
    items = schema.table("item")
    now = dt.datetime.now(dt.UTC)
    payload = {"name": "New item", "quantity": "3", "amount": "19.99", "status": "active", "due": "2026-12-01",
               "active": True, "email": "new@example.com", "group": group_ids[0]}
    core_values = dict(name="New item", quantity=3, amount=Decimal("19.99"), status="active", due=dt.date(2026, 12, 1),
                       active=True, email="new@example.com", group=group_ids[0], total=Decimal("59.97"))

    # the hand-written side is written well too: statements built once, values bound per call
    insert = items.insert().returning(items.c.id)
    select_one = sa.select(items).where((items.c.id == sa.bindparam("_id")) & items.c.deleted_at.is_(None))
    update = (items.update().where((items.c.id == sa.bindparam("_id")) & (items.c.version == sa.bindparam("_v")))
              .values(version=items.c.version + 1).returning(items.c.version))

    def core_create(_):
        with db.begin() as conn:
            conn.execute(insert, dict(core_values, created_at=now, updated_at=now, version=1)).scalar_one()

    def service_create(_):
        service.create("item", payload)

    ids = list(range(1, args.rows + 1))
    rng = random.Random(11)

    def core_get(_):
        with db.begin() as conn:
            conn.execute(select_one, {"_id": rng.choice(ids)}).one()

    def service_get(_):
        service.get("item", rng.choice(ids))

    core_versions: dict[int, int] = {}
    service_versions: dict[int, int] = {}

    def core_update(index):
        record_id = ids[index]
        version = core_versions.get(record_id, 1)
        with db.begin() as conn:
            quantity = index % 90
            amount = conn.execute(sa.select(items.c.amount).where(items.c.id == record_id)).scalar_one()
            new = conn.execute(update, {"_id": record_id, "_v": version, "quantity": quantity,
                                        "total": amount * quantity, "updated_at": now}).scalar_one()
        core_versions[record_id] = new

    def service_update(index):
        record_id = ids[len(ids) // 2 + index]
        version = service_versions.get(record_id, 1)
        service_versions[record_id] = service.update("item", record_id, {"quantity": index % 90},
                                                     version=version)["version"]

    results = []
    for name, core, ours in (("create", core_create, service_create), ("get", core_get, service_get),
                             ("update", core_update, service_update)):
        core(0), ours(0)  # warm up caches and compiled statements
        base = timed(args.repeat, core)
        mine = timed(args.repeat, ours)
        results.append((name, base, mine))
    page = page_case(db, schema, service)
    if page is not None:
        results.append(page)
    print(f"{'operation':<10} {'hand-written':>14} {'service':>10} {'ratio':>6}")
    for name, base, mine in results:
        print(f"{name:<10} {base * 1e6:>11.0f} µs {mine * 1e6:>7.0f} µs {mine / base:>6.2f}")


def page_case(db, schema, service):
    """A filtered, sorted page of 50 with a lookup column (once the query compiler exists)."""
    try:
        from tessera.storage.query import QuerySpec  # noqa: F401
    except ImportError:
        return None
    items, groups = schema.table("item"), schema.table("group")
    joined = items.outerjoin(groups, items.c.group == groups.c.id)
    columns = [items.c.id, items.c.name, items.c.amount, items.c.status, items.c.due, groups.c.name.label("group.name")]

    def core(_):
        with db.begin() as conn:
            conn.execute(sa.select(*columns).select_from(joined)
                         .where(items.c.status.in_(["open", "active"]) & (items.c.amount >= Decimal("5000"))
                                & items.c.deleted_at.is_(None))
                         .order_by(items.c.amount.desc(), items.c.id.desc()).limit(50)).all()

    def ours(_):
        service.query("item", filter={"status__in": ["open", "active"], "amount__gte": 5000},
                      sort=["-amount"], fields=["name", "amount", "status", "due", "group.name"], limit=50)

    core(0), ours(0)
    return "page", timed(200, core), timed(200, ours)


if __name__ == "__main__":
    main()
