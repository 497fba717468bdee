"""RecordService: validation, defaults, formulas, numbering, history, deletes, roll-ups."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from tessera.records.errors import DeleteRefused, RecordNotFound, StaleRecord, ValidationFailed

from .conftest import ALICE, BOB


def account(service, name="Acme", **values):
    return service.create("account", {"name": name, **values}, actor=ALICE)


# ------------------------------------------------------------------ create and validation

def test_create_converts_input_and_fills_system_fields(service, clock):
    record = account(service, credit_limit="1,250.505", region="East")
    assert record["credit_limit"] == Decimal("1250.51")  # rounded half-up to the field's scale
    assert record["version"] == 1
    assert record["created_by"] == ALICE.id and record["owner_id"] == ALICE.id
    assert record["created_at"] == clock.now and record["created_at"].tzinfo is not None


def test_every_problem_comes_back_at_once_attributed_to_fields(service):
    with pytest.raises(ValidationFailed) as raised:
        service.create("account", {"name": "x" * 41, "credit_limit": -5, "email": "nope",
                                   "website": "ftp://x", "tier": "platinum", "colour": "red"})
    problems = raised.value.messages("en")
    assert problems == {
        "name": ["At most 40 characters."],
        "credit_limit": ["Must be at least 0."],
        "email": ["Enter an email address."],
        "website": ["Enter a web address starting with http:// or https://."],
        "tier": ["'platinum' is not one of the choices."],
        "colour": ["There is no field called 'colour'."],
    }


def test_problems_read_in_chinese_too(service):
    with pytest.raises(ValidationFailed) as raised:
        service.create("contact", {"name": "Li"})
    assert raised.value.messages("zh-CN") == {"_record": ["请填写电话或邮箱。"]}


def test_required_fields_are_enforced_on_every_write(service):
    with pytest.raises(ValidationFailed) as raised:
        service.create("account", {"region": "East"})
    assert raised.value.messages()["name"] == ["This field is required."]
    created = account(service)
    with pytest.raises(ValidationFailed):
        service.update("account", created["id"], {"name": ""}, version=1)


def test_required_when_is_enforced_by_the_server(service):
    acme = account(service)
    quote = service.create("quote", {"account": acme["id"], "valid_until": None})
    with pytest.raises(ValidationFailed) as raised:
        service.update("quote", quote["id"], {"status": "sent", "valid_until": None}, version=quote["version"])
    assert raised.value.messages() == {"valid_until": ["This field is required."]}


def test_read_only_when_blocks_changes_once_the_condition_holds(service):
    acme = account(service)
    quote = service.create("quote", {"account": acme["id"], "status": "accepted", "discount": 5})
    with pytest.raises(ValidationFailed) as raised:
        service.update("quote", quote["id"], {"discount": 10}, version=quote["version"])
    assert raised.value.messages() == {"discount": ["This field cannot be changed."]}


def test_computed_and_system_fields_cannot_be_written(service):
    acme = account(service)
    with pytest.raises(ValidationFailed) as raised:
        service.create("quote", {"account": acme["id"], "total": 5, "number": "Q-1", "version": 9})
    assert set(raised.value.messages()) == {"total", "number", "version"}


def test_lookups_must_point_at_existing_live_records(service):
    with pytest.raises(ValidationFailed) as raised:
        service.create("contact", {"name": "Li", "phone": "123456", "account": 999})
    assert raised.value.messages() == {"account": ["There is no account with id 999."]}


def test_inactive_options_are_refused_for_new_values_but_kept_on_old_records(service, crm_registry):
    with pytest.raises(ValidationFailed):
        account(service, tier="tin")
    legacy = account(service, name="Legacy")
    table = service.schema.table("account")
    with service.db.begin() as conn:  # a value from before the option was retired
        conn.execute(table.update().where(table.c.id == legacy["id"]).values(tier="tin"))
    updated = service.update("account", legacy["id"], {"region": "West"}, version=1)
    assert updated["tier"] == "tin"


def test_defaults_fill_literals_and_formulas_on_create(service, clock):
    acme = account(service)
    assert acme["tier"] == "silver"
    quote = service.create("quote", {"account": acme["id"]})
    assert quote["status"] == "draft"
    assert quote["valid_until"] == clock.now.date() + dt.timedelta(days=30)


def test_validation_rules_run_after_field_checks(service):
    acme = account(service)
    with pytest.raises(ValidationFailed) as raised:
        service.create("quote", {"account": acme["id"], "discount": 120})
    assert raised.value.messages() == {"discount": ["Discount is between 0 and 100 %."]}


# ------------------------------------------------------------------ formulas and numbering

def test_stored_formulas_are_computed_on_write(service):
    acme = account(service)
    quote = service.create("quote", {"account": acme["id"], "lines": [
        {"name": "Pump", "quantity": "2", "unit_price": "10.25"}]})
    assert quote["subtotal"] == Decimal("20.50")
    assert quote["total"] == Decimal("20.50")


def test_read_time_formulas_follow_lookups(service):
    acme = account(service, region="East")
    contact = service.create("contact", {"name": "Li", "phone": "13800000000", "account": acme["id"]})
    assert contact["account_region"] == "East"
    service.update("account", acme["id"], {"region": "North"}, version=acme["version"])
    assert service.get("contact", contact["id"])["account_region"] == "North"


def test_auto_numbers_follow_the_pattern_and_restart_each_year(service, clock):
    acme = account(service)
    first = service.create("quote", {"account": acme["id"]})
    second = service.create("quote", {"account": acme["id"]})
    clock.now = dt.datetime(2027, 1, 2, tzinfo=dt.UTC)
    next_year = service.create("quote", {"account": acme["id"]})
    assert [first["number"], second["number"], next_year["number"]] == ["Q-2026-0001", "Q-2026-0002", "Q-2027-0001"]


def test_a_failed_create_gives_its_number_back(service):
    acme = account(service)
    with pytest.raises(ValidationFailed):
        service.create("quote", {"account": acme["id"], "lines": [{"name": "x", "quantity": 0, "unit_price": 1}]})
    assert service.create("quote", {"account": acme["id"]})["number"] == "Q-2026-0001"


# ------------------------------------------------------------------ updates, concurrency, history

def test_update_is_partial_and_bumps_the_version(service):
    acme = account(service, region="East", credit_limit=100)
    updated = service.update("account", acme["id"], {"region": "West"}, version=1, actor=BOB)
    assert (updated["region"], updated["credit_limit"], updated["version"]) == ("West", Decimal("100.00"), 2)
    assert updated["updated_by"] == BOB.id and updated["created_by"] == ALICE.id


def test_what_an_update_answers_is_what_a_read_returns(service, clock):
    acme = account(service, region="East", credit_limit=100)
    quote = service.create("quote", {"account": acme["id"], "discount": "5"})
    service.create("quote_line", {"quote": quote["id"], "name": "Widget", "quantity": 3, "unit_price": "9.99"})
    clock.now += dt.timedelta(minutes=5)
    changes = [("account", acme["id"], {"credit_limit": "250.5", "email": "A@Acme.example"}),
               ("quote", quote["id"], {"discount": 7.5, "status": "sent", "valid_until": "2026-12-31"})]
    for object_name, record_id, values in changes:
        version = service.get(object_name, record_id)["version"]
        saved = service.update(object_name, record_id, values, version=version, actor=BOB)
        assert saved == service.get(object_name, record_id)


def test_an_update_that_changes_nothing_keeps_the_version(service):
    acme = account(service, region="East")
    assert service.update("account", acme["id"], {"region": "East"}, version=1)["version"] == 1


def test_a_stale_update_is_rejected_naming_the_fields_changed_since(service):
    acme = account(service, region="East")
    service.update("account", acme["id"], {"region": "West", "credit_limit": 5}, version=1, actor=BOB)
    with pytest.raises(StaleRecord) as raised:
        service.update("account", acme["id"], {"region": "North"}, version=1, actor=ALICE)
    assert raised.value.changed_fields == ["credit_limit", "region"]
    assert raised.value.current == 2
    assert service.get("account", acme["id"])["region"] == "West"


def test_history_records_who_when_and_old_to_new(service, clock):
    acme = account(service, region="East")
    clock.now += dt.timedelta(hours=1)
    service.update("account", acme["id"], {"region": "West"}, version=1, actor=BOB)
    service.delete("account", acme["id"], actor=BOB)
    history = service.history("account", acme["id"])
    assert [(h["action"], h["version"], h["actor"]) for h in history] == [
        ("create", 1, ALICE.id), ("update", 2, BOB.id), ("delete", 3, BOB.id)]
    assert history[1]["changes"] == {"region": ["East", "West"]}
    assert history[1]["at"] == clock.now
    assert history[0]["changes"]["name"] == [None, "Acme"]


# ------------------------------------------------------------------ delete, restore, cascade

def test_delete_is_soft_and_restore_brings_the_record_back(service):
    acme = account(service)
    service.delete("account", acme["id"])
    with pytest.raises(RecordNotFound):
        service.get("account", acme["id"])
    restored = service.restore("account", acme["id"])
    assert restored["name"] == "Acme" and restored["version"] == 3


def test_hard_delete_removes_the_row(service):
    acme = account(service)
    service.delete("account", acme["id"], hard=True)
    with pytest.raises(RecordNotFound):
        service.restore("account", acme["id"])


def test_a_restrict_lookup_blocks_the_delete_with_counts(service):
    acme = account(service)
    service.create("contact", {"name": "Li", "phone": "123456", "account": acme["id"]})
    with pytest.raises(DeleteRefused) as raised:
        service.delete("account", 0 + acme["id"])
    assert raised.value.blockers == {"contacts": 1}


def test_cascade_deletes_children_and_restore_brings_them_back(service):
    acme = account(service)
    quote = service.create("quote", {"account": acme["id"], "lines": [
        {"name": "A", "quantity": 1, "unit_price": 5}, {"name": "B", "quantity": 2, "unit_price": 5}]})
    service.delete("quote", quote["id"])
    lines = service.schema.table("quote_line")
    with service.db.begin() as conn:
        live = conn.execute(lines.select().where(lines.c.deleted_at.is_(None))).all()
    assert live == []
    assert service.restore("quote", quote["id"])["line_count"] == 2


# ------------------------------------------------------------------ roll-ups and children

def test_rollups_follow_child_changes_up_two_levels(service):
    acme = account(service)
    quote = service.create("quote", {"account": acme["id"], "discount": 10, "lines": [
        {"name": "A", "quantity": 1, "unit_price": "100"}]})
    assert (quote["subtotal"], quote["line_count"], quote["total"]) == (Decimal("100.00"), 1, Decimal("90.00"))
    assert service.get("account", acme["id"])["quote_total"] == Decimal("90.00")
    quote = service.get("quote", quote["id"])
    service.update("quote", quote["id"], {"lines": [
        {"name": "C", "quantity": 3, "unit_price": "10"}]}, version=quote["version"])
    quote = service.get("quote", quote["id"])
    assert (quote["subtotal"], quote["line_count"], quote["total"]) == (Decimal("30.00"), 1, Decimal("27.00"))
    assert service.get("account", acme["id"])["quote_total"] == Decimal("27.00")


def test_child_problems_are_reported_under_the_parent_with_their_position(service):
    acme = account(service)
    with pytest.raises(ValidationFailed) as raised:
        service.create("quote", {"account": acme["id"], "lines": [
            {"name": "ok", "quantity": 1, "unit_price": 1}, {"quantity": -1, "unit_price": 1}]})
    assert raised.value.messages() == {
        "lines[1].name": ["This field is required."],
        "lines[1].quantity": ["Quantity must be above zero."],
    }
    quotes = service.schema.table("quote")
    with service.db.begin() as conn:
        assert conn.execute(quotes.select()).all() == []  # nothing half-saved


# ------------------------------------------------------------------ batches

def test_an_all_or_none_batch_saves_nothing_when_one_row_fails(service):
    from tessera.records.service import BatchFailed

    with pytest.raises(BatchFailed) as raised, service.unit_of_work(ALICE) as work:
        work.create_many("account", [{"name": "A"}, {"name": "B", "credit_limit": -1}, {"name": "C"}])
    assert [r.index for r in raised.value.results if r.error] == [1]
    with service.unit_of_work() as work:
        assert work.create_many("account", [{"name": "A"}])[0].record["name"] == "A"  # "A" was never saved


def test_a_partial_batch_saves_the_good_rows_and_reports_the_bad(service):
    with service.unit_of_work(ALICE) as work:
        results = work.create_many("account", [{"name": "A"}, {"name": "A"}, {"credit_limit": 1}, {"name": "D"}],
                                   all_or_none=False)
    assert [bool(r.record) for r in results] == [True, False, False, True]
    assert results[2].error.messages() == {"name": ["This field is required."]}
    names = {service.get("account", r.record["id"])["name"] for r in results if r.record}
    assert names == {"A", "D"}


def test_update_many_checks_each_rows_version(service):
    a, b = account(service, "A"), account(service, "B")
    service.update("account", b["id"], {"region": "X"}, version=1)
    with service.unit_of_work() as work:
        results = work.update_many("account", [{"id": a["id"], "version": 1, "region": "N"},
                                               {"id": b["id"], "version": 1, "region": "S"}], all_or_none=False)
    assert results[0].record["region"] == "N"
    assert isinstance(results[1].error, StaleRecord)


def test_unique_fields_refuse_a_value_another_record_has(service):
    account(service, "Acme")
    with pytest.raises(ValidationFailed) as raised:
        service.create("account", {"name": "Acme", "credit_limit": -1})
    assert raised.value.messages() == {"name": ["Another account already has this value."],
                                       "credit_limit": ["Must be at least 0."]}


RATE = """
label: {en: Rate, zh-CN: 汇率}
plural_label: {en: Rates, zh-CN: 汇率}
name_field: currency
fields:
  currency: {type: text, label: {en: Currency, zh-CN: 币种}}
  day: {type: date, label: {en: Day, zh-CN: 日期}}
  value: {type: decimal, label: {en: Value, zh-CN: 值}}
indexes:
  - {name: ux_rate_day, fields: [currency, day], unique: true}
"""


@pytest.fixture
def rates(write_package, tmp_path, database):
    from tessera.metadata.registry import build_org_registry
    from tessera.records.service import RecordService
    from tessera.storage.sync import deploy

    write_package("fx", {"objects/rate.yaml": RATE})
    registry = build_org_registry(["fx"], search_paths=[tmp_path])
    deploy(registry, database)
    return RecordService(registry, database)


def test_a_unique_index_of_several_fields_refuses_a_combination_another_record_has(rates):
    first = rates.create("rate", {"currency": "USD", "day": "2026-03-01", "value": 7.1})
    rates.create("rate", {"currency": "USD", "day": "2026-03-02", "value": 7.2})
    rates.create("rate", {"currency": "EUR", "day": "2026-03-01", "value": 7.9})
    rates.create("rate", {"currency": "USD", "value": 7.0})
    rates.create("rate", {"currency": "USD", "value": 7.0})  # a blank never clashes
    expected = {"currency": ["Another rate already has this combination of values."],
                "day": ["Another rate already has this combination of values."]}
    with pytest.raises(ValidationFailed) as raised:
        rates.create("rate", {"currency": "USD", "day": "2026-03-01", "value": 7.3})
    assert raised.value.messages() == expected
    second = rates.query("rate", filter={"day": "2026-03-02"}).rows[0]
    with pytest.raises(ValidationFailed) as raised:
        rates.update("rate", second["id"], {"day": "2026-03-01"}, version=second["version"])
    assert raised.value.messages() == expected
    rates.update("rate", first["id"], {"value": 7.15}, version=first["version"])  # its own combination


def test_a_clash_that_races_past_the_check_is_still_a_validation_error(rates, monkeypatch):
    from tessera.records.checks import Checks

    rates.create("rate", {"currency": "USD", "day": "2026-03-01", "value": 7.1})
    monkeypatch.setattr(Checks, "_check_unique", lambda *args: None)  # as if written meanwhile
    with pytest.raises(ValidationFailed) as raised:
        rates.create("rate", {"currency": "USD", "day": "2026-03-01", "value": 7.3})
    assert set(raised.value.messages()) == {"currency", "day"}


# ------------------------------------------------------------------ queries

def test_a_parent_is_written_only_when_a_change_moves_one_of_its_rollups(service):
    acme = account(service)
    quote = service.create("quote", {"account": acme["id"]})
    assert service.get("account", acme["id"])["version"] == 1  # totals of 0 stayed 0
    quote = service.update("quote", quote["id"], {"valid_until": "2026-12-31"}, version=quote["version"])
    assert service.get("account", acme["id"])["version"] == 1  # no roll-up reads valid_until
    service.update("quote", quote["id"], {"status": "accepted"}, version=quote["version"])
    after = service.get("account", acme["id"])
    assert after["accepted_quotes"] == 1 and after["version"] == 2
    assert [entry["changes"] for entry in service.history("account", acme["id"])][-1] == {"accepted_quotes": [0, 1]}


def test_filtered_rollups_count_only_matching_children(service):
    acme = account(service)
    draft = service.create("quote", {"account": acme["id"]})
    service.create("quote", {"account": acme["id"], "status": "accepted"})
    assert service.get("account", acme["id"])["accepted_quotes"] == 1
    service.update("quote", draft["id"], {"status": "accepted"}, version=draft["version"])
    assert service.get("account", acme["id"])["accepted_quotes"] == 2


def test_query_takes_the_filter_syntax_as_data_and_pages(service):
    for name, limit in [("A", 10), ("B", 500), ("C", 300), ("D", None)]:
        account(service, name, credit_limit=limit, region="East" if name != "C" else "West")
    page = service.query("account", filter={"region": "East", "credit_limit__gte": 10},
                         sort=["-credit_limit"], fields=["name", "credit_limit"], limit=1)
    assert [r["name"] for r in page.rows] == ["B"]
    rest = service.query("account", filter={"region": "East", "credit_limit__gte": 10},
                         sort=["-credit_limit"], fields=["name"], limit=5, cursor=page.next_cursor)
    assert [r["name"] for r in rest.rows] == ["A"] and rest.next_cursor is None
    assert str(service.count("account", filter={"region": "East"})) == "3"


def test_query_fills_formulas_computed_when_read(service):
    acme = account(service, region="East")
    service.create("contact", {"name": "Li", "phone": "123456", "account": acme["id"]})
    page = service.query("contact", fields=["name", "account_region", "account.name"])
    assert page.rows[0]["account_region"] == "East" and page.rows[0]["account.name"] == "Acme"


def test_a_bad_query_names_every_problem(service):
    from tessera.metadata.filters import QueryError

    with pytest.raises(QueryError) as raised:
        service.query("account", filter={"regoin": "East", "credit_limit__gte": "lots"})
    assert "did you mean 'region'" in str(raised.value)
    assert "credit_limit" in str(raised.value)


def test_a_failed_all_or_none_batch_saves_nothing_even_when_the_caller_carries_on(service):
    from tessera.records.service import BatchFailed

    with service.unit_of_work(ALICE) as work:
        with pytest.raises(BatchFailed):
            work.create_many("account", [{"name": "Kept?"}, {"credit_limit": -1}])
        work.create("account", {"name": "After"})
    assert [r["name"] for r in service.query("account", actor=ALICE).rows] == ["After"]


def test_lookups_read_in_a_unit_of_work_see_its_own_writes(service):
    acme = account(service, region="East")
    with service.unit_of_work(ALICE) as work:
        contact = work.create("contact", {"name": "Li", "phone": "123456", "account": acme["id"]})
        assert work.get("contact", contact["id"])["account_region"] == "East"
        work.update("account", acme["id"], {"region": "West"}, version=acme["version"])
        assert work.get("contact", contact["id"])["account_region"] == "West"
