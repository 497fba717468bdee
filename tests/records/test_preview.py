"""Previews: what a form shows while the user types — the record as it would be saved, computed
by the engine's own conversion, defaults, formulas, roll-ups and conditions — with nothing written."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tessera.records.errors import RecordNotFound
from tessera.records.service import Actor
from tessera.security.permissions import PermissionDenied

from .conftest import ALICE


def _account(service) -> int:
    return service.create("account", {"name": "Acme"}, actor=ALICE)["id"]


def test_a_new_quote_with_lines_previews_line_formulas_rollups_and_totals_without_saving(service):
    account = _account(service)
    with service.unit_of_work(ALICE) as work:
        preview = work.preview("quote", {"account": account, "discount": "10", "lines": [
            {"name": "Pump", "quantity": "2", "unit_price": "10.25"},
            {"name": "Valve", "quantity": "1,000", "unit_price": "0.50"}]})
    lines = preview.children["lines"]
    assert [line.record["amount"] for line in lines] == [Decimal("20.50"), Decimal("500.00")]
    assert preview.record["subtotal"] == Decimal("520.50")
    assert preview.record["line_count"] == 2
    assert preview.record["total"] == Decimal("468.45")
    assert preview.record["status"] == "draft"  # defaults apply to a new record
    assert service.count("quote").value == 0 and service.count("quote_line").value == 0


def test_an_edited_quote_previews_the_changed_line_list(service):
    account = _account(service)
    quote = service.create("quote", {"account": account, "lines": [
        {"name": "Pump", "quantity": "1", "unit_price": "100"},
        {"name": "Valve", "quantity": "1", "unit_price": "5"}]}, actor=ALICE)
    first = service.query("quote_line", filter={"name": "Pump"}).rows[0]
    with service.unit_of_work(ALICE) as work:
        preview = work.preview("quote", {"lines": [{"id": first["id"], "quantity": "3"}]}, record_id=quote["id"])
    assert preview.record["subtotal"] == Decimal("300.00")  # Valve left out: it would be deleted
    assert preview.record["line_count"] == 1
    assert preview.children["lines"][0].record["name"] == "Pump"  # unchanged values come from the stored line
    assert service.get("quote", quote["id"])["subtotal"] == Decimal("105.00")


def test_conditions_are_evaluated_as_the_save_would(service):
    account = _account(service)
    with service.unit_of_work(ALICE) as work:
        draft = work.preview("quote", {"account": account, "status": "sent"})
    assert draft.states["valid_until"].required  # required_when status = 'sent'
    assert not draft.states["discount"].read_only  # read_only_when reads the stored record: none yet
    assert draft.states["total"].read_only and draft.states["number"].read_only
    accepted = service.create("quote", {"account": account, "status": "accepted"}, actor=ALICE)
    with service.unit_of_work(ALICE) as work:
        edited = work.preview("quote", {"status": "draft"}, record_id=accepted["id"])
    assert edited.states["discount"].read_only  # the stored quote is accepted
    assert not edited.states["valid_until"].required


def test_values_that_do_not_convert_read_as_blank_and_are_reported(service):
    account = _account(service)
    with service.unit_of_work(ALICE) as work:
        preview = work.preview("quote", {"account": account, "discount": "lots", "lines": [
            {"name": "Pump", "quantity": "two", "unit_price": "10"}]})
    assert set(preview.problems) == {"discount", "lines[0].quantity"}
    assert preview.children["lines"][0].record["amount"] is None
    assert preview.record["subtotal"] == Decimal("0")


def test_previewing_needs_the_permission_the_save_needs(service):
    nobody = Actor(id=99, name="nobody", role="missing")
    with pytest.raises(PermissionDenied):
        with service.unit_of_work(nobody) as work:
            work.preview("account", {"name": "x"})
    with pytest.raises(RecordNotFound):
        with service.unit_of_work(ALICE) as work:
            work.preview("account", {"name": "x"}, record_id=12345)


def test_permitted_names_what_the_actor_may_do(service):
    account = _account(service)
    with service.unit_of_work(ALICE) as work:
        assert work.permitted("account") == {"create", "read", "edit", "delete"}
        assert work.permitted("account", account) == {"create", "read", "edit", "delete"}
        assert work.permitted("account", 4242) == frozenset()
    with service.unit_of_work(Actor(id=99, name="nobody", role="missing")) as work:
        assert work.permitted("account", account) == frozenset()


def test_field_states_of_a_stored_record_need_only_read_access(service):
    account = _account(service)
    sent = service.create("quote", {"account": account, "status": "sent", "valid_until": "2026-12-31"}, actor=ALICE)
    with service.unit_of_work(ALICE) as work:
        states = work.field_states("quote", sent["id"])
    assert states["valid_until"].required and not states["discount"].read_only
    with pytest.raises(RecordNotFound):
        with service.unit_of_work(ALICE) as work:
            work.field_states("quote", 4242)


def test_a_filtered_rollup_over_children_being_edited_waits_for_the_save(write_package, tmp_path, database):
    from tessera.metadata.registry import build_org_registry
    from tessera.records.service import RecordService
    from tessera.storage.tables import StorageSchema

    write_package("pools", {
        "objects/pool.yaml": """
            label: {en: Pool, zh-CN: 池}
            plural_label: {en: Pools, zh-CN: 池}
            fields:
              name: {type: text, label: {en: Name, zh-CN: 名称}}
              member_count: {type: rollup, object: member, aggregate: count, label: {en: Members, zh-CN: 成员}}
              active_members: {type: rollup, object: member, aggregate: count, filter: {active: true},
                               label: {en: Active, zh-CN: 在用}}
            """,
        "objects/member.yaml": """
            label: {en: Member, zh-CN: 成员}
            plural_label: {en: Members, zh-CN: 成员}
            fields:
              name: {type: text, label: {en: Name, zh-CN: 名称}}
              pool: {type: master_detail, target: pool, related_name: members, label: {en: Pool, zh-CN: 池}}
              active: {type: boolean, default: true, label: {en: Active, zh-CN: 在用}}
            """,
    })
    registry = build_org_registry(["pools"], search_paths=[tmp_path])
    schema = StorageSchema(registry, database)
    schema.metadata.create_all(database.engine)
    service = RecordService(registry, database, schema=schema)
    pool = service.create("pool", {"name": "East", "members": [{"name": "a"}]})
    with service.unit_of_work() as work:
        preview = work.preview("pool", {"members": [{"name": "a"}, {"name": "b", "active": False}]},
                               record_id=pool["id"])
    assert preview.record["member_count"] == 2
    assert preview.pending == {"active_members"} and preview.record["active_members"] == 1  # the stored value
