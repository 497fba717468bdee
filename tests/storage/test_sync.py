"""Schema sync: plan and deploy metadata to the database without losing data, on SQLite and
PostgreSQL (the ``database`` fixture runs each test on both)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from tessera.metadata.registry import Registry, build_org_registry
from tessera.storage.database import Database
from tessera.storage import sync
from tessera.storage.sync import SyncError, SyncRefused, SyncResult, apply_sync, deploy, plan_sync
from tessera.storage.sync_steps import Step
from tessera.storage.tables import RETIRED_PREFIX, StorageSchema


def obj(object_name: str, /, indexes: str = "", **fields: str) -> str:
    """An object document: ``obj("lead", name="type: text", phone="type: text, max_length: 40")``."""
    lines = [f"label: {{en: {object_name}, zh-CN: {object_name}}}",
             f"plural_label: {{en: {object_name}s, zh-CN: {object_name}}}", "fields:"]
    for field, props in fields.items():
        lines.append(f"  {field}: {{{props}, label: {{en: {field}, zh-CN: {field}}}}}")
    if "name" not in fields:
        lines.append(f"name_field: {next(iter(fields))}")
    if indexes:
        lines.append(f"indexes: {indexes}")
    return "\n".join(lines) + "\n"


class Org:
    """One org: its metadata (package ``shop`` under tmp_path, rewritten at will) and database."""

    def __init__(self, db: Database, root: Path) -> None:
        self.db = db
        self.root = root
        self.registry: Registry | None = None

    def metadata(self, version: str = "1.0.0", **objects: str) -> Registry:
        folder = self.root / "shop"
        (folder / "objects").mkdir(parents=True, exist_ok=True)
        for old in (folder / "objects").glob("*.yaml"):
            old.unlink()
        (folder / "package.yaml").write_text(
            f"name: shop\nversion: {version}\nlabel: {{en: Shop, zh-CN: 商店}}\n", encoding="utf-8")
        for name, text in objects.items():
            (folder / "objects" / f"{name}.yaml").write_text(text, encoding="utf-8")
        self.registry = build_org_registry(["shop"], search_paths=[self.root])
        return self.registry

    def deploy(self, version: str = "1.0.0", allow_destructive: bool = False, **objects: str) -> SyncResult:
        registry = self.metadata(version, **objects)
        return deploy(registry, self.db, allow_destructive=allow_destructive)

    @property
    def schema(self) -> StorageSchema:
        assert self.registry is not None
        return StorageSchema(self.registry, self.db)

    def insert(self, table: str, rows: Iterable[Mapping[str, Any]]) -> list[int]:
        now = dt.datetime.now(dt.UTC)
        t = self.schema.table(table)
        with self.db.begin() as conn:
            return [conn.execute(t.insert().values(created_at=now, updated_at=now, **row)).inserted_primary_key[0]
                    for row in rows]

    def values(self, table: str, column: str) -> list[Any]:
        """``column`` of every row (by id), read with the current metadata's column type."""
        t = self.schema.table(table)
        with self.db.engine.connect() as conn:
            return [row[0] for row in conn.execute(sa.select(t.c[column]).order_by(t.c.id))]

    def raw(self, table: str, column: str) -> list[Any]:
        """``column`` as stored, whatever the metadata says (also for retired columns)."""
        t = sa.table(table, sa.column("id"), sa.column(column), schema=self.db.schema)
        with self.db.engine.connect() as conn:
            return [row[0] for row in conn.execute(sa.select(t.c[column]).order_by(t.c.id))]

    def execute(self, statement: Any) -> None:
        with self.db.begin() as conn:
            conn.execute(statement)

    def columns(self, table: str) -> dict[str, Any]:
        return {c["name"]: c["type"] for c in sa.inspect(self.db.engine).get_columns(table, schema=self.db.schema)}

    def indexes(self, table: str) -> dict[str, tuple[tuple[str, ...], bool]]:
        return {i["name"]: (tuple(i["column_names"]), bool(i["unique"]))
                for i in sa.inspect(self.db.engine).get_indexes(table, schema=self.db.schema)}

    def foreign_keys(self, table: str) -> dict[str, tuple[str, str | None]]:
        return {fk["constrained_columns"][0]: (fk["referred_table"], (fk["options"] or {}).get("ondelete"))
                for fk in sa.inspect(self.db.engine).get_foreign_keys(table, schema=self.db.schema)}

    def deployments(self) -> list[Mapping[str, Any]]:
        t = self.schema.deployments
        with self.db.engine.connect() as conn:
            return list(conn.execute(sa.select(t).order_by(t.c.id)).mappings())

    def retired_rows(self) -> list[tuple[str, str, str, str]]:
        t = self.schema.retired
        with self.db.engine.connect() as conn:
            return [tuple(r) for r in conn.execute(
                sa.select(t.c.object, t.c.field, t.c.column_name, t.c.field_type).order_by(t.c.object, t.c.field))]


@pytest.fixture
def org(database: Database, tmp_path: Path) -> Org:
    return Org(database, tmp_path)


ACCOUNT = obj("account", name="type: text, required: true", region="type: text, max_length: 20, indexed: true")
CONTACT = obj("contact", name="type: text",
              account="type: lookup, target: account, on_delete: cascade",
              email="type: email, unique: true",
              indexes="[{fields: [name, email]}]")


# ------------------------------------------------------------------------------ creating and no-ops

def test_first_deploy_creates_every_table_with_its_foreign_keys_and_indexes(org):
    result = org.deploy(account=ACCOUNT, contact=CONTACT)

    assert result.applied and result.deployment_id is not None
    tables = set(sa.inspect(org.db.engine).get_table_names(schema=org.db.schema))
    assert {"account", "contact", "tessera_history", "tessera_counters", "tessera_deployments",
            "tessera_retired_columns"} <= tables
    assert {"id", "created_at", "created_by", "updated_at", "updated_by", "owner_id", "version",
            "name", "region"} <= set(org.columns("account"))
    assert org.foreign_keys("contact") == {"account": ("account", "CASCADE")}
    assert org.indexes("contact").items() >= {
        "ix_contact_account": (("account",), False),
        "uq_contact_email": (("email",), True),
        "ix_contact_name_email": (("name", "email"), False),
        "ix_contact_owner_id": (("owner_id",), False),
    }.items()
    assert set(org.indexes("contact")) == {i.name for i in org.schema.table("contact").indexes}
    assert org.indexes("account")["ix_account_region"] == (("region",), False)
    [row] = org.deployments()
    assert row["packages"] == [{"name": "shop", "version": "1.0.0"}]
    assert "create table contact" in " ".join(row["steps"])
    assert set(row["snapshot"]["objects"]) >= {"account", "contact"}


def test_deploying_unchanged_metadata_is_a_no_op_that_records_nothing(org):
    org.deploy(account=ACCOUNT, contact=CONTACT)

    plan = plan_sync(org.metadata(account=ACCOUNT, contact=CONTACT), org.db)
    assert plan.is_empty and plan.steps == [] and plan.refusals == []
    assert plan.render() == "nothing to change"
    result = org.deploy(account=ACCOUNT, contact=CONTACT)
    assert not result.applied
    assert len(org.deployments()) == 1


def test_the_plan_says_each_step_in_words_and_sql(org):
    plan = plan_sync(org.metadata(account=ACCOUNT, contact=CONTACT), org.db)

    by_words = {step.describe(): step for step in plan.steps}
    [create] = [s for s in plan.steps if s.describe().startswith("create table contact (12 columns, ")]
    assert create.describe().endswith(", foreign keys account → account)" if org.db.is_sqlite else " indexes)")
    assert "CREATE TABLE" in create.sql and "CREATE UNIQUE INDEX uq_contact_email" in create.sql
    if not org.db.is_sqlite:  # PostgreSQL: every new table first, then the foreign keys
        fk = by_words["add foreign key contact.account → account (on delete cascade)"]
        assert "ADD CONSTRAINT fk_contact_account FOREIGN KEY(account)" in fk.sql
        assert plan.steps.index(fk) > plan.steps.index(create)
    assert plan.steps[-1].describe() == "record the first deployment (packages: shop 1.0.0)"
    assert sa.inspect(org.db.engine).get_table_names(schema=org.db.schema) == []  # a plan changes nothing


def test_lookups_between_two_new_objects_in_a_cycle_deploy(org):
    org.deploy(a=obj("a", name="type: text", b="type: lookup, target: b"),
               b=obj("b", name="type: text", a="type: lookup, target: a, on_delete: restrict"))

    assert org.foreign_keys("a") == {"b": ("b", "SET NULL")}
    assert org.foreign_keys("b") == {"a": ("a", "RESTRICT")}
    [a_id] = org.insert("a", [{"name": "a1"}])
    [b_id] = org.insert("b", [{"name": "b1", "a": a_id}])
    org.execute(sa.update(org.schema.table("a")).values(b=b_id))
    with pytest.raises(sa.exc.IntegrityError):  # the references are enforced
        org.insert("b", [{"name": "b2", "a": 999}])


# ------------------------------------------------------------------------------ additions

def test_adding_a_field_an_object_and_an_index_applies_them(org):
    org.deploy(account=ACCOUNT, contact=CONTACT)
    org.insert("account", [{"name": "Acme", "region": "East"}])

    result = org.deploy(
        "1.1.0",
        account=obj("account", name="type: text, required: true", region="type: text, max_length: 20, indexed: true",
                    rating="type: integer, indexed: true", indexes="[{fields: [region, rating]}]"),
        contact=CONTACT,
        deal=obj("deal", amount="type: currency", account="type: lookup, target: account, on_delete: restrict"))

    assert result.applied
    assert "add column account.rating integer" in result.steps
    assert "create index ix_account_region_rating on account (region, rating)" in result.steps
    assert org.indexes("account")["ix_account_rating"] == (("rating",), False)
    assert org.foreign_keys("deal") == {"account": ("account", "RESTRICT")}
    assert org.values("account", "name") == ["Acme"]
    assert [d["packages"] for d in org.deployments()][-1] == [{"name": "shop", "version": "1.1.0"}]


def test_a_new_lookup_on_an_existing_table_gets_its_foreign_key(org):
    org.deploy(account=ACCOUNT, contact=obj("contact", name="type: text"))
    org.insert("contact", [{"name": "Ann"}])

    org.deploy(account=ACCOUNT, contact=obj("contact", name="type: text", account="type: lookup, target: account"))

    assert org.foreign_keys("contact") == {"account": ("account", "SET NULL")}
    assert org.values("contact", "name") == ["Ann"]


# ------------------------------------------------------------------------------ retiring and restoring

def test_removing_a_field_renames_its_column_aside_and_re_adding_it_restores_the_data(org):
    lead = obj("lead", name="type: text", phone="type: phone, indexed: true")
    org.deploy(lead=lead)
    org.insert("lead", [{"name": "Ann", "phone": "555-0101"}, {"name": "Bob", "phone": None},
                        {"name": "Cy", "phone": "555-0103"}])

    removed = org.deploy(lead=obj("lead", name="type: text"))

    assert any(s.startswith("retire column lead.phone: rename it to retired__phone") for s in removed.steps)
    assert "phone" not in org.columns("lead") and f"{RETIRED_PREFIX}phone" in org.columns("lead")
    assert org.raw("lead", "retired__phone") == ["555-0101", None, "555-0103"]
    assert org.retired_rows() == [("lead", "phone", "retired__phone", "phone")]
    assert "ix_lead_phone" not in org.indexes("lead")
    assert not org.deploy(lead=obj("lead", name="type: text")).applied  # retired stays retired, quietly

    restored = org.deploy(lead=lead)

    assert "restore column lead.phone from retired__phone (its data comes back)" in restored.steps
    assert org.values("lead", "phone") == ["555-0101", None, "555-0103"]
    assert f"{RETIRED_PREFIX}phone" not in org.columns("lead")
    assert org.retired_rows() == []
    assert org.indexes("lead")["ix_lead_phone"] == (("phone",), False)


def test_a_retired_lookup_loses_its_foreign_key_so_deleting_its_target_no_longer_cascades(org):
    org.deploy(account=ACCOUNT, contact=CONTACT)
    [acme] = org.insert("account", [{"name": "Acme"}])
    org.insert("contact", [{"name": "Ann", "account": acme}])

    org.deploy(account=ACCOUNT, contact=obj("contact", name="type: text", email="type: email, unique: true",
                                            indexes="[{fields: [name, email]}]"))
    org.execute(sa.delete(org.schema.table("account")))

    assert org.foreign_keys("contact") == {}
    assert org.values("contact", "name") == ["Ann"]  # not cascaded away
    assert org.raw("contact", "retired__account") == [acme]


def test_restoring_a_lookup_whose_targets_were_deleted_is_refused_with_the_count(org):
    org.deploy(account=ACCOUNT, contact=CONTACT)
    [acme, umbrella] = org.insert("account", [{"name": "Acme"}, {"name": "Umbrella"}])
    org.insert("contact", [{"name": "Ann", "account": acme}, {"name": "Bo", "account": umbrella},
                           {"name": "Cy", "account": None}])
    without = obj("contact", name="type: text", email="type: email, unique: true", indexes="[{fields: [name, email]}]")
    org.deploy(account=ACCOUNT, contact=without)
    accounts = org.schema.table("account")
    org.execute(sa.delete(accounts).where(accounts.c.id == acme))

    with pytest.raises(SyncRefused) as refused:
        org.deploy(account=ACCOUNT, contact=CONTACT)
    assert refused.value.problems == [
        "contact.account: 1 row refers to account records that no longer exist "
        "(--allow-destructive clears those references)"]
    assert "account" not in org.columns("contact")

    org.deploy(account=ACCOUNT, contact=CONTACT, allow_destructive=True)
    assert org.values("contact", "account") == [None, umbrella, None]
    assert org.foreign_keys("contact") == {"account": ("account", "CASCADE")}


def test_removing_an_object_keeps_its_table_and_says_so(org):
    org.deploy(account=ACCOUNT, contact=CONTACT)
    [acme] = org.insert("account", [{"name": "Acme"}])
    org.insert("contact", [{"name": "Ann", "account": acme}])

    plan = plan_sync(org.metadata(account=ACCOUNT), org.db)
    words = [s.describe() for s in plan.steps]
    assert "object contact was removed from the metadata: table contact is kept with its data (never dropped)" in words
    assert any("foreign keys of kept table contact" in w for w in words)
    assert plan.kept == ["contact"]
    apply_sync(plan, org.db)

    assert "contact" in sa.inspect(org.db.engine).get_table_names(schema=org.db.schema)
    assert org.foreign_keys("contact") == {}
    org.execute(sa.delete(org.schema.table("account")))  # no longer cascades into the kept rows
    assert org.raw("contact", "name") == ["Ann"]
    again = plan_sync(org.metadata(account=ACCOUNT), org.db)
    assert again.is_empty and again.kept == ["contact"]
    assert "kept: table contact has no object in the metadata" in again.render()


def test_tables_the_metadata_never_described_are_left_alone(org):
    org.deploy(account=ACCOUNT)
    other = sa.Table("sessions", sa.MetaData(schema=org.db.schema), sa.Column("id", sa.Integer, primary_key=True),
                     sa.Column("account_id", sa.BigInteger, sa.ForeignKey(org.schema.table("account").c.id)))
    with org.db.begin() as conn:
        other.create(conn)

    plan = plan_sync(org.metadata(account=ACCOUNT), org.db)

    assert plan.is_empty and plan.kept == []
    assert org.foreign_keys("sessions") == {"account_id": ("account", None)}


def test_a_full_index_that_should_be_partial_is_replaced_once_and_then_left_alone(org):
    """Databases deployed before the shares indexes became partial get them replaced on the next
    deploy; the reflected condition then compares equal, so a further deploy changes nothing."""
    org.deploy(account=ACCOUNT)
    shares = org.schema.shares
    with org.db.begin() as conn:
        sa.Index("ix_tessera_shares_role", shares.c.object, shares.c.role, shares.c.record_id).drop(conn)
        sa.Index("ix_tessera_shares_role", shares.c.object, shares.c.role, shares.c.record_id).create(conn)

    plan = plan_sync(org.metadata(account=ACCOUNT), org.db)

    assert [(s.kind, s.table) for s in plan.steps if s.kind != "note"] == [
        ("drop_index", "tessera_shares"), ("create_index", "tessera_shares")]
    assert "create index ix_tessera_shares_role on tessera_shares (object, role, record_id) where role is set" \
        in plan.render()
    apply_sync(plan)
    [live] = [i for i in sa.inspect(org.db.engine).get_indexes("tessera_shares", schema=org.db.schema)
              if i["name"] == "ix_tessera_shares_role"]
    assert "role IS NOT NULL" in str(next(iter(live["dialect_options"].values()))).replace('"', "")
    assert plan_sync(org.metadata(account=ACCOUNT), org.db).is_empty


def test_the_bundled_l2c_package_deploys_and_a_second_deploy_changes_nothing(database):
    registry = build_org_registry(["l2c"])

    first = deploy(registry, database)
    second = plan_sync(registry, database)

    assert first.applied and len(first.steps) > len(registry.objects)
    assert second.is_empty, second.render()


# ------------------------------------------------------------------------------ refusals

def test_text_to_integer_with_values_is_refused_with_the_count_and_changes_nothing(org):
    org.deploy(item=obj("item", code="type: text"))
    org.insert("item", [{"code": "12"}, {"code": "abc"}, {"code": "7 kg"}, {"code": None}])
    before = org.columns("item")

    with pytest.raises(SyncRefused) as refused:
        org.deploy("2.0.0", item=obj("item", code="type: integer", note="type: text"))

    assert refused.value.problems == [
        "item.code: 2 rows have values that are not whole numbers (e.g. '7 kg', 'abc') "
        "(--allow-destructive converts what it can and leaves the rest blank)"]
    assert org.columns("item").keys() == before.keys()  # the new field was not added either
    assert org.raw("item", "code") == ["12", "abc", "7 kg", None]
    assert [d["packages"] for d in org.deployments()] == [[{"name": "shop", "version": "1.0.0"}]]


def test_allow_destructive_converts_text_to_integer_and_blanks_what_cannot_be_converted(org):
    org.deploy(item=obj("item", code="type: text, indexed: true"))
    org.insert("item", [{"code": "12"}, {"code": "abc"}, {"code": "-3"}, {"code": None}])

    result = org.deploy(item=obj("item", code="type: integer, indexed: true"), allow_destructive=True)

    assert "convert column item.code from text(255) to integer, value by value (1 row loses data)" in result.steps
    assert org.values("item", "code") == [12, None, -3, None]
    assert org.indexes("item")["ix_item_code"] == (("code",), False)
    assert [r.message for r in result.destructive] == [
        "item.code: 1 row has values that are not whole numbers (e.g. 'abc')"]


def test_a_text_to_integer_change_that_loses_nothing_applies_without_force(org):
    org.deploy(item=obj("item", code="type: text"))
    org.insert("item", [{"code": "12"}, {"code": "-40"}, {"code": ""}])

    org.deploy(item=obj("item", code="type: integer"))

    assert org.values("item", "code") == [12, -40, None]


def test_a_picklist_becoming_multi_select_keeps_each_value_as_a_one_item_list(org):
    options = "options: [{value: a, label: {en: A, zh-CN: A}}, {value: b, label: {en: B, zh-CN: B}}]"
    org.deploy(item=obj("item", kind=f"type: picklist, {options}"))
    org.insert("item", [{"kind": "a"}, {"kind": None}, {"kind": "b"}])

    org.deploy(item=obj("item", kind=f"type: multi_picklist, {options}"))

    assert org.values("item", "kind") == [["a"], None, ["b"]]


def test_a_shorter_max_length_is_refused_with_the_count_of_longer_values(org):
    org.deploy(lead=obj("lead", phone="type: phone"))
    org.insert("lead", [{"phone": "+86 21 5555 0101"}, {"phone": "12345"}, {"phone": "+1 555 0102"}])

    with pytest.raises(SyncRefused) as refused:
        org.deploy(lead=obj("lead", phone="type: phone, max_length: 5"))

    assert refused.value.problems == [
        "lead.phone: 2 rows have values longer than 5 characters (--allow-destructive truncates them to 5 characters)"]
    assert org.values("lead", "phone") == ["+86 21 5555 0101", "12345", "+1 555 0102"]
    assert org.columns("lead")["phone"].length == 40


def test_allow_destructive_truncates_to_the_shorter_max_length(org):
    org.deploy(lead=obj("lead", phone="type: phone, indexed: true"))
    org.insert("lead", [{"phone": "+86 21 5555 0101"}, {"phone": "12345"}])

    result = org.deploy(lead=obj("lead", phone="type: phone, max_length: 5, indexed: true"), allow_destructive=True)

    assert result.applied
    assert org.values("lead", "phone") == ["+86 2", "12345"]
    assert org.columns("lead")["phone"].length == 5
    assert org.indexes("lead")["ix_lead_phone"] == (("phone",), False)
    assert org.deploy(lead=obj("lead", phone="type: phone, max_length: 5, indexed: true")).applied is False


def test_a_longer_max_length_applies_and_keeps_the_values(org):
    org.deploy(lead=obj("lead", phone="type: phone"))
    org.insert("lead", [{"phone": "+86 21 5555 0101"}])

    org.deploy(lead=obj("lead", phone="type: phone, max_length: 80"))

    assert org.columns("lead")["phone"].length == 80
    assert org.values("lead", "phone") == ["+86 21 5555 0101"]


def test_adding_unique_to_a_field_with_duplicates_is_refused_with_the_count(org):
    org.deploy(lead=obj("lead", email="type: email"))
    org.insert("lead", [{"email": e} for e in ["a@x.cn", "a@x.cn", "b@x.cn", "b@x.cn", "b@x.cn", "c@x.cn", None, None]])

    for force in (False, True):  # no flag makes duplicates unique
        with pytest.raises(SyncRefused) as refused:
            org.deploy(lead=obj("lead", email="type: email, unique: true"), allow_destructive=force)
        assert refused.value.problems == [
            "lead.email: cannot be made unique: 2 values appear more than once (5 rows); fix the duplicates first"]
    assert "uq_lead_email" not in org.indexes("lead")


def test_adding_required_to_a_field_with_blank_rows_is_refused_with_the_count(org):
    org.deploy(lead=obj("lead", company="type: text"))
    org.insert("lead", [{"company": "Acme"}, {"company": None}, {"company": ""}])

    with pytest.raises(SyncRefused) as refused:  # a default does not overwrite existing blanks either
        org.deploy(lead=obj("lead", company="type: text, required: true, default: n/a"), allow_destructive=True)

    assert refused.value.problems == ["lead.company: cannot be made required: 2 rows are blank; fill them first"]
    assert len(org.deployments()) == 1

    org.execute(sa.update(org.schema.table("lead")).values(company="Filled"))
    result = org.deploy(lead=obj("lead", company="type: text, required: true"))
    assert result.steps == ["lead.company is now required (no blank rows)"]
    assert len(org.deployments()) == 2
    assert org.columns("lead")["company"] is not None  # required is enforced by the record service


def test_a_new_required_field_with_a_default_fills_the_existing_rows(org):
    org.deploy(lead=obj("lead", name="type: text"))
    org.insert("lead", [{"name": "Ann"}, {"name": "Bo"}])

    with pytest.raises(SyncRefused) as refused:
        org.deploy(lead=obj("lead", name="type: text", score="type: integer, required: true"))
    assert "lead.score: a new required field, but the table has 2 rows" in refused.value.problems[0]

    result = org.deploy(lead=obj("lead", name="type: text", score="type: integer, required: true, default: 10"))
    assert "fill lead.score with its default 10 in 2 existing rows (a new required field)" in result.steps
    assert org.values("lead", "score") == [10, 10]


def test_every_refusal_is_listed_at_once(org):
    org.deploy(lead=obj("lead", name="type: text", email="type: email", code="type: text"))
    org.insert("lead", [{"name": None, "email": "a@x.cn", "code": "x"}, {"name": "B", "email": "a@x.cn", "code": "1"}])

    with pytest.raises(SyncRefused) as refused:
        org.deploy(lead=obj("lead", name="type: text, required: true", email="type: email, unique: true",
                            code="type: integer"))

    assert len(refused.value.problems) == 3
    assert [p.split(":")[0] for p in refused.value.problems] == ["lead.code", "lead.name", "lead.email"]
    assert not refused.value.forceable


def test_a_removed_picklist_option_keeps_existing_values_readable(org):
    two = "options: [{value: hot, label: {en: Hot, zh-CN: 热}}, {value: cold, label: {en: Cold, zh-CN: 冷}}]"
    org.deploy(lead=obj("lead", rating=f"type: picklist, {two}"))
    org.insert("lead", [{"rating": "hot"}, {"rating": "cold"}, {"rating": "cold"}])

    result = org.deploy(lead=obj("lead", rating="type: picklist, options: [{value: hot, label: {en: Hot, zh-CN: 热}}]"))

    assert result.steps == ["lead.rating: option cold removed; 2 rows keep it — existing values stay readable "
                            "(the column holds text: nothing to change)"]
    assert org.values("lead", "rating") == ["hot", "cold", "cold"]


# ------------------------------------------------------------------------------ decimals

def test_a_currency_scale_change_keeps_the_values_right(org):
    org.deploy(deal=obj("deal", amount="type: currency, indexed: true"))
    org.insert("deal", [{"amount": Decimal("12.34")}, {"amount": Decimal("-0.05")}, {"amount": None},
                        {"amount": Decimal("1000")}])

    up = org.deploy(deal=obj("deal", amount="type: currency, scale: 4, indexed: true"))
    assert up.applied
    assert org.values("deal", "amount") == [Decimal("12.3400"), Decimal("-0.0500"), None, Decimal("1000.0000")]
    if org.db.is_sqlite:  # a scaled integer: rescaled in place
        assert org.raw("deal", "amount") == [123400, -500, None, 10000000]
        assert "rescaled (×100)" in " ".join(up.steps)

    down = org.deploy(deal=obj("deal", amount="type: currency, scale: 2, indexed: true"))  # no digit lost
    assert down.applied
    assert org.values("deal", "amount") == [Decimal("12.34"), Decimal("-0.05"), None, Decimal("1000.00")]
    if org.db.is_sqlite:
        assert org.raw("deal", "amount") == [1234, -5, None, 100000]

    with pytest.raises(SyncRefused) as refused:
        org.deploy(deal=obj("deal", amount="type: currency, scale: 1, indexed: true"))
    assert refused.value.problems == [
        "deal.amount: 2 rows have more than 1 decimal place (e.g. -0.05, 12.34) "
        "(--allow-destructive rounds them (values too large become blank))"]
    org.metadata(deal=obj("deal", amount="type: currency, scale: 2, indexed: true"))  # read as deployed
    assert org.values("deal", "amount") == [Decimal("12.34"), Decimal("-0.05"), None, Decimal("1000.00")]

    org.deploy(deal=obj("deal", amount="type: currency, scale: 1, indexed: true"), allow_destructive=True)
    assert org.values("deal", "amount") == [Decimal("12.3"), Decimal("-0.1"), None, Decimal("1000.0")]
    if org.db.is_sqlite:  # still exact integers, rounded half away from zero like PostgreSQL
        assert org.raw("deal", "amount") == [123, -1, None, 10000]
        assert all(isinstance(v, int) for v in org.raw("deal", "amount") if v is not None)
    assert "ix_deal_amount" in org.indexes("deal")


def test_a_smaller_precision_is_refused_for_values_that_no_longer_fit(org):
    org.deploy(deal=obj("deal", amount="type: decimal, precision: 12, scale: 2"))
    org.insert("deal", [{"amount": Decimal("123456.78")}, {"amount": Decimal("99.99")}])

    with pytest.raises(SyncRefused) as refused:
        org.deploy(deal=obj("deal", amount="type: decimal, precision: 5, scale: 2"))
    assert refused.value.problems[0].startswith("deal.amount: 1 row has values too large for decimal(5,2)")

    org.deploy(deal=obj("deal", amount="type: decimal, precision: 5, scale: 2"), allow_destructive=True)
    assert org.values("deal", "amount") == [None, Decimal("99.99")]


def test_an_integer_becoming_a_decimal_is_a_safe_widening(org):
    org.deploy(item=obj("item", qty="type: integer"))
    org.insert("item", [{"qty": 3}, {"qty": -12}])

    org.deploy(item=obj("item", qty="type: decimal, scale: 3"))

    assert org.values("item", "qty") == [Decimal("3.000"), Decimal("-12.000")]


# ------------------------------------------------------------------------------ keys and the transaction

def test_changing_a_tables_columns_keeps_the_rows_that_point_at_it(org):
    """On SQLite a type change rebuilds the table (copy, drop, rename): with foreign keys on,
    dropping the parent would cascade to its children. Nothing may be lost, and the keys must
    work afterwards."""
    org.deploy(account=ACCOUNT, contact=CONTACT)
    [acme] = org.insert("account", [{"name": "Acme", "region": "East"}])
    org.insert("contact", [{"name": "Ann", "account": acme}, {"name": "Bo", "account": acme}])

    org.deploy(account=obj("account", name="type: text, required: true",
                           region="type: text, max_length: 10, indexed: true"), contact=CONTACT)

    assert org.columns("account")["region"].length == 10
    assert org.values("contact", "name") == ["Ann", "Bo"]
    assert org.foreign_keys("contact") == {"account": ("account", "CASCADE")}
    if org.db.is_sqlite:
        with org.db.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    org.execute(sa.delete(org.schema.table("account")))
    assert org.values("contact", "name") == []  # the cascade still works


def test_changing_on_delete_replaces_the_foreign_key(org):
    org.deploy(account=ACCOUNT, contact=CONTACT)
    [acme] = org.insert("account", [{"name": "Acme"}])
    org.insert("contact", [{"name": "Ann", "account": acme}])

    org.deploy(account=ACCOUNT, contact=CONTACT.replace("on_delete: cascade", "on_delete: restrict"))

    assert org.foreign_keys("contact") == {"account": ("account", "RESTRICT")}
    assert org.values("contact", "account") == [acme]
    with pytest.raises(sa.exc.IntegrityError):
        org.execute(sa.delete(org.schema.table("account")))


def test_a_failing_step_rolls_the_whole_deploy_back(org, monkeypatch):
    org.deploy(lead=obj("lead", name="type: text"))
    real_plan = sync.plan_on

    def plan_with_a_broken_step(conn, registry, db):
        plan = real_plan(conn, registry, db)
        plan.steps.append(Step("broken", "lead", "a step that fails",
                               [lambda op: op.execute("SELECT no_such_column FROM no_such_table")]))
        return plan

    monkeypatch.setattr(sync, "plan_on", plan_with_a_broken_step)
    with pytest.raises(SyncError, match=r"step \d+ \(a step that fails\) failed: .*; nothing was changed"):
        org.deploy(lead=obj("lead", name="type: text", email="type: email, unique: true"),
                   extra=obj("extra", name="type: text"))

    assert "extra" not in sa.inspect(org.db.engine).get_table_names(schema=org.db.schema)
    assert "email" not in org.columns("lead")
    assert len(org.deployments()) == 1


def test_applying_a_plan_made_before_the_database_changed_is_refused(org):
    org.deploy(lead=obj("lead", name="type: text"))
    plan = plan_sync(org.metadata(lead=obj("lead", name="type: text", phone="type: phone")), org.db)
    org.deploy(lead=obj("lead", name="type: text", email="type: email"))

    with pytest.raises(SyncError, match="changed since this plan was made"):
        apply_sync(plan, org.db)
    assert "phone" not in org.columns("lead")
