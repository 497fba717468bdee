"""The demo loader on SQLite (and PostgreSQL when TESSERA_TEST_DATABASE_URL is set): what it
loads is what it reports, every record went through the record service, roll-ups hold, the
same seed gives the same data, and a second load is refused politely."""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal

import pytest
import sqlalchemy as sa
from tessera.demo import catalog
from tessera.demo.loader import DemoRefused, load_demo
from tessera.demo.users import DEMO_USERS, admin
from tessera.demo.writes import DemoDataError
from tessera.metadata.registry import build_org_registry
from tessera.records.service import RecordService
from tessera.storage.database import Database
from tessera.storage.sync import deploy
from tessera.storage.tables import StorageSchema

from .conftest import SEED, TODAY

#: objects the demo must fill, whatever the scale
ESSENTIAL = ("currency", "exchange_rate", "unit", "product", "product_variant", "price_book", "price_book_entry",
             "price_tier", "campaign", "campaign_member", "lead", "lead_pool", "lead_pool_member", "lead_score_entry",
             "bid_notice", "bid_subscription", "account", "contact", "opportunity", "opportunity_stage_history",
             "opportunity_contact_role", "activity", "quote", "quote_line", "contract", "contract_version", "order",
             "order_line", "receivable_plan", "invoice", "invoice_line", "payment", "payment_allocation",
             "revenue_schedule")


def rows(db: Database, registry, object_name: str) -> list[dict]:
    table = StorageSchema(registry, db).table(object_name)
    with db.engine.connect() as conn:
        return [dict(r) for r in conn.execute(sa.select(table).where(table.c.deleted_at.is_(None))).mappings()]


def counts(db: Database, registry) -> dict[str, int]:
    schema = StorageSchema(registry, db)
    with db.engine.connect() as conn:
        return {name: conn.execute(sa.select(sa.func.count()).select_from(schema.table(name))).scalar_one()
                for name in registry.objects}


@pytest.fixture(scope="module")
def loaded(registry, module_database):
    """One demo at a tenth of the default volumes, read by the tests below."""
    result = load_demo(registry, module_database, scale=0.1, seed=SEED, today=TODAY)
    return registry, module_database, result


def test_the_database_holds_exactly_what_the_loader_reports(loaded):
    registry, db, result = loaded
    found = counts(db, registry)
    assert {name: n for name, n in found.items() if n} == result.counts
    assert result.counts["lead"] == 100 and result.counts["opportunity"] == 20
    assert [name for name in ESSENTIAL if not result.counts.get(name)] == []
    assert result.total == sum(found.values()) and result.seconds > 0


def test_every_record_was_written_by_the_record_service_as_a_demo_user(loaded):
    registry, db, result = loaded
    history = StorageSchema(registry, db).history
    with db.engine.connect() as conn:
        created = dict(conn.execute(sa.select(history.c.object, sa.func.count()).where(history.c.action == "create")
                                    .group_by(history.c.object)).all())
        actors = set(conn.execute(sa.select(history.c.actor).distinct()).scalars())
    assert created == result.counts  # one "create" history entry per record: nothing bypassed the service
    assert actors <= {u.id for u in DEMO_USERS} | {None}  # web forms and the crawler write as the system


def test_demo_records_still_pass_every_rule_when_saved_again(loaded):
    """Saving a record unchanged runs required checks and every validation rule again."""
    registry, db, _ = loaded
    service = RecordService(registry, db)
    checked = 0
    for name in ("lead", "account", "contact", "opportunity", "activity", "contract", "order", "order_line",
                 "receivable_plan", "invoice", "payment", "payment_allocation", "campaign", "bid_notice",
                 "product_variant", "price_book_entry", "revenue_schedule"):
        for record in rows(db, registry, name)[:15]:
            service.update(name, record["id"], {}, version=None, actor=admin().actor)
            checked += 1
    assert checked > 150


def test_roll_ups_agree_with_the_records_they_summarise(loaded):
    registry, db, _ = loaded
    opportunities = rows(db, registry, "opportunity")
    for account in rows(db, registry, "account"):
        open_ones = [o for o in opportunities if o["account"] == account["id"] and not o["is_closed"]]
        assert account["open_opportunities"] == len(open_ones)
        assert account["pipeline_amount"] == sum((o["amount_base"] for o in open_ones), Decimal(0))
    lines = rows(db, registry, "quote_line")
    for quote in rows(db, registry, "quote"):
        mine = [line for line in lines if line["quote"] == quote["id"]]
        assert quote["line_count"] == len(mine) > 0
        assert quote["subtotal"] == sum(line["net_amount"] for line in mine)
    leads = rows(db, registry, "lead")
    for campaign in rows(db, registry, "campaign"):
        assert (campaign["actual_leads"] or 0) == sum(1 for lead in leads if lead["campaign"] == campaign["id"])


def test_allocations_never_exceed_the_payment_or_the_receivable(loaded):
    registry, db, _ = loaded
    allocations = rows(db, registry, "payment_allocation")
    for payment in rows(db, registry, "payment"):
        allocated = sum(a["amount"] for a in allocations if a["payment"] == payment["id"])
        assert payment["allocated_amount"] == allocated <= payment["amount"]
    receivables = rows(db, registry, "receivable_plan")
    for plan in receivables:
        received = sum((a["amount"] for a in allocations if a["receivable_plan"] == plan["id"]), Decimal(0))
        assert (plan["received_amount"] or 0) == received <= plan["amount"]
        assert plan["status"] == ("paid" if received == plan["amount"] else plan["status"])
    assert {"paid", "overdue"} <= {plan["status"] for plan in receivables}


def test_the_demo_covers_every_lead_status_and_closed_and_open_stages(loaded):
    registry, db, _ = loaded
    assert {lead["status"] for lead in rows(db, registry, "lead")} == {
        "unassigned", "pending", "in_progress", "invalid", "converted", "voided"}
    stages = {o["stage"] for o in rows(db, registry, "opportunity")}
    assert {"won", "lost"} <= stages and stages & {"qualify", "needs", "proposal", "negotiation"}
    converted = [lead for lead in rows(db, registry, "lead") if lead["status"] == "converted"]
    assert all(lead["converted_account"] and lead["converted_contact"] for lead in converted)


def digest(db: Database, registry, names: tuple[str, ...]) -> str:
    """A stable digest of some objects' rows, without ids, record links and time stamps."""
    skip = {"id", "created_at", "updated_at", "version", "deleted_at", "deleted_by"}
    text = []
    for name in names:
        links = {f.name for f in registry.object(name).fields.values() if f.target}
        for row in rows(db, registry, name):
            text.append(json.dumps({k: v for k, v in sorted(row.items()) if k not in skip | links},
                                   default=str, ensure_ascii=False, sort_keys=True))
    return hashlib.sha256("\n".join(sorted(text)).encode()).hexdigest()


def test_the_same_seed_gives_identical_data_and_another_seed_does_not(registry, tmp_path):
    names = ("lead", "account", "opportunity", "quote_line", "invoice", "payment")
    digests = []
    for number, seed in enumerate((SEED, SEED, SEED + 1)):
        db = Database.connect(f"sqlite:///{tmp_path / f'org{number}.db'}")
        load_demo(registry, db, scale=0.02, seed=seed, today=TODAY)
        digests.append(digest(db, registry, names))
        db.dispose()
    assert digests[0] == digests[1] != digests[2]


def test_a_second_load_finds_the_demo_and_changes_nothing(registry, database):
    first = load_demo(registry, database, scale=0.02, seed=SEED, today=TODAY)
    before = counts(database, registry)
    again = load_demo(registry, database, scale=0.02, seed=SEED, today=TODAY)
    assert again.already_loaded and again.counts == {}
    assert counts(database, registry) == before
    reloaded = load_demo(registry, database, scale=0.02, seed=SEED, today=TODAY, reset=True)
    assert reloaded.counts == first.counts and counts(database, registry) == before
    numbers = sorted(q["quote_number"] for q in rows(database, registry, "quote"))
    assert numbers[0].endswith("-0001")  # the reset restarted the auto-numbers too


def test_an_org_holding_other_records_is_refused_and_left_alone(registry, database):
    deploy(registry, database)
    RecordService(registry, database).create("account", {"name": "Real Customer Ltd."}, actor=admin().actor)
    before = counts(database, registry)
    with pytest.raises(DemoRefused, match="--reset"):
        load_demo(registry, database, scale=0.02, seed=SEED, today=TODAY)
    assert counts(database, registry) == before


def test_a_row_the_service_refuses_names_object_row_and_fields_and_leaves_the_org_empty(
        registry, database, monkeypatch):
    monkeypatch.setattr(catalog, "_book_price", lambda book, standard: Decimal(-1))
    with pytest.raises(DemoDataError) as raised:
        load_demo(registry, database, scale=0.02, seed=SEED, today=TODAY)
    error = raised.value
    assert error.object == "price_book_entry" and error.row["list_price"] == Decimal(-1)
    assert error.messages["list_price"] == ["Must be at least 0."]
    assert "price_book_entry" in error.render() and "list_price: Must be at least 0." in error.render()
    assert sum(counts(database, registry).values()) == 0


def test_an_org_without_the_l2c_objects_is_refused_before_anything_is_written(write_package, tmp_path, database):
    write_package("shop", {"objects/widget.yaml": """
        label: {en: Widget, zh-CN: 部件}
        plural_label: {en: Widgets, zh-CN: 部件}
        fields:
          name: {type: text, label: {en: Name, zh-CN: 名称}}
        """})
    shop = build_org_registry(["shop"], search_paths=[tmp_path])
    with pytest.raises(DemoRefused, match="needs the l2c package"):
        load_demo(shop, database, scale=0.02, seed=SEED, today=TODAY)
