"""A list page for a user with record-level rules, against the same page for an admin.

100,000 accounts owned by 200 users; a rep sees their own (plus those of the reps below them
when --manager), records shared by hand (5,000 shares) and by team membership (5,000 team rows),
and a sharing rule (region = East). The page: status in (...), sorted by newest, 50 rows,
through RecordService. The ratio is restricted / unrestricted, measured in the same run.

Run: .venv/bin/python bench/permissions.py [--database-url postgresql+psycopg://postgres@127.0.0.1/test]
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from functools import partial
from pathlib import Path

from tessera.metadata.registry import build_org_registry
from tessera.records.service import Actor, RecordService
from tessera.storage.database import Database
from tessera.storage.sync import deploy

ACCOUNT = """
label: {en: Account, zh-CN: 客户}
plural_label: {en: Accounts, zh-CN: 客户}
fields:
  name: {type: text, label: {en: Name, zh-CN: 名称}, required: true}
  region: {type: text, label: {en: Region, zh-CN: 区域}, indexed: true}
  status:
    type: picklist
    label: {en: Status, zh-CN: 状态}
    options:
      - {value: prospect, label: {en: Prospect, zh-CN: 潜在}}
      - {value: active, label: {en: Active, zh-CN: 活跃}}
      - {value: dormant, label: {en: Dormant, zh-CN: 休眠}}
indexes:
  - {fields: [status, created_at]}
"""
ROLES = {
    "admin": "label: {en: Admin, zh-CN: 管理员}\nadmin: true\n",
    "manager": "label: {en: Manager, zh-CN: 经理}\nobjects: {account: [read, edit]}\n",
    "rep": ("label: {en: Rep, zh-CN: 销售}\nreports_to: manager\nobjects: {account: [read, edit]}\n"
            "sharing:\n  - {object: account, filter: {region: East}, access: read}\n"),
}
USERS = 200


class Directory:
    def users_in_roles(self, org, roles):
        return set(range(10, 10 + USERS)) if "rep" in set(roles) else set()

    def reports_of(self, user_id):
        return set()


def build(folder: Path, url: str | None):
    root = folder / "bench_perm"
    (root / "objects").mkdir(parents=True)
    (root / "roles").mkdir()
    (root / "package.yaml").write_text("name: bench_perm\nversion: 1.0.0\nlabel: {en: B, zh-CN: B}\n")
    (root / "objects" / "account.yaml").write_text(ACCOUNT)
    for name, text in ROLES.items():
        (root / "roles" / f"{name}.yaml").write_text(text)
    registry = build_org_registry(["bench_perm"], search_paths=[folder])
    if url:
        db = Database.connect(url, schema=f"bench_{uuid.uuid4().hex[:8]}")
        db.ensure_schema()
    else:
        db = Database.connect(f"sqlite:///{folder / 'bench.db'}")
    deploy(registry, db)
    return registry, db


def seed(service: RecordService, rows: int) -> None:
    rng = random.Random(5)
    schema, now = service.schema, dt.datetime.now(dt.UTC)
    table = schema.table("account")
    with service.db.begin() as conn:
        batch = []
        for i in range(rows):
            batch.append(dict(name=f"Account {i}", region=rng.choice(["East", "West", "North", "South", "Central"]),
                              status=rng.choice(["prospect", "active", "dormant"]), owner_id=10 + rng.randrange(USERS),
                              created_at=now - dt.timedelta(minutes=i), updated_at=now, version=1))
            if len(batch) == 5000:
                conn.execute(table.insert(), batch)
                batch.clear()
        if batch:
            conn.execute(table.insert(), batch)
        conn.execute(schema.shares.insert(), [
            dict(object="account", record_id=rng.randint(1, rows), user_id=10 + rng.randrange(USERS), access="read",
                 created_at=now) for _ in range(5000)])
        conn.execute(schema.team_members.insert(), [
            dict(object="account", record_id=i, user_id=10 + (i % USERS), access="read", created_at=now)
            for i in rng.sample(range(1, rows + 1), 5000)])
    service.db.analyze(["account", "tessera_shares", "tessera_team_members"])  # as a deploy or a load leaves it


def interleaved(repeat: int, funcs: dict[str, Callable[[], object]]) -> dict[str, float]:
    """The median time of each function, run in turn (a, b, c, a, b, c, ...) so that a change in
    the machine's load falls on all of them alike."""
    samples: dict[str, list[float]] = {name: [] for name in funcs}
    for _ in range(repeat):
        for name, func in funcs.items():
            started = time.perf_counter()
            func()
            samples[name].append(time.perf_counter() - started)
    return {name: statistics.median(values) for name, values in samples.items()}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=200)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        registry, db = build(Path(folder), args.database_url)
        try:
            service = RecordService(registry, db, directory=Directory())
            seed(service, args.rows)
            admin = Actor(id=1, name="admin", role="admin")
            rep = Actor(id=10, name="rep", role="rep")
            manager = Actor(id=2, name="manager", role="manager")
            options = dict(filter={"status__in": ["prospect", "active"]}, fields=["name", "region", "status"], limit=50)
            print(f"{db.dialect}: {args.rows:,} accounts, {USERS} owners; median of {args.repeat} pages, "
                  "the readers in turn")
            readers = {"admin": admin, "rep (own + shares + team + rule)": rep, "manager (200 reps below)": manager}
            times = interleaved(args.repeat, {label: partial(service.query, "account", actor=actor, **options)
                                              for label, actor in readers.items()})
            base = times.pop("admin")
            for label, mine in times.items():
                print(f"{label:<34} {base * 1e3:7.2f} ms unrestricted, {mine * 1e3:7.2f} ms restricted, "
                      f"ratio {mine / base:.2f}")
        finally:
            db.drop_schema()
            db.dispose()


if __name__ == "__main__":
    main()
