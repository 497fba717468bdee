"""The L2C contract flows (issue 9): contract approval over the API, and the expiry reminder
that notifies the owner in their language; the caller's notifications over the API."""

from __future__ import annotations

import datetime as dt

import pytest

from tessera.flows.scheduled import scheduled_flows_job


@pytest.fixture(scope="module")
def office(api):
    """An org with a sales manager who owns contracts (reporting to a director, reading
    Chinese), the director and finance."""
    org = api.another_org("contracts", {"rep": "sales_manager", "boss": "sales_director", "fin": "finance"})
    store = org.app.extensions["tessera.platform"]
    store.update_user(store.user(org.org, "rep"), manager="boss", locale="zh-CN")
    store.forget()
    account = org.records.create("account", {"name": "Contract Co", "owner_id": org.users["rep"]})
    return org, account["id"]


def contract(org, account, **values):
    today = dt.date.today()
    body = {"name": "Service agreement", "account": account, "contract_type": "sales", "amount": "250000",
            "start_date": today.isoformat(), "end_date": (today + dt.timedelta(days=365)).isoformat(),
            "signed_date": today.isoformat(), "invoice_mode": "payment_first", **values}
    created = org.post("/api/v1/contract", body, user="rep")
    assert created.status_code == 201, created.get_json()
    return created.get_json()


def test_a_signed_contract_is_approved_by_the_managers_and_becomes_active(office):
    org, account = office
    small = contract(org, account)
    submitted = org.post(f"/api/v1/contract/{small['id']}/approvals", {}, user="rep")
    assert submitted.status_code == 201, submitted.get_json()
    assert submitted.get_json()["approvers"] == [org.users["boss"]]
    assert org.get(f"/api/v1/contract/{small['id']}", user="rep").get_json()["status"] == "in_approval"
    approved = org.post(f"/api/v1/contract/{small['id']}/approvals/approve", {}, user="boss").get_json()
    assert approved["status"] == "approved"  # 250,000 paid first: the manager alone decides
    assert org.get(f"/api/v1/contract/{small['id']}", user="rep").get_json()["status"] == "active"

    large = contract(org, account, amount="2500000")
    org.post(f"/api/v1/contract/{large['id']}/approvals", {}, user="rep")
    after_boss = org.post(f"/api/v1/contract/{large['id']}/approvals/approve", {}, user="boss").get_json()
    assert after_boss["step"] == "finance" and after_boss["approvers"] == [org.users["fin"]]
    org.post(f"/api/v1/contract/{large['id']}/approvals/approve", {}, user="fin")
    assert org.get(f"/api/v1/contract/{large['id']}", user="rep").get_json()["status"] == "active"


def test_an_unsigned_contract_cannot_be_submitted_and_a_rejected_one_goes_back_to_draft(office):
    org, account = office
    unsigned = contract(org, account, signed_date=None)
    refused = org.post(f"/api/v1/contract/{unsigned['id']}/approvals", {}, user="rep")
    assert refused.get_json()["errors"] == {"_record": ["此记录不满足合同审批的提交条件。"]}  # rep reads Chinese
    signed = contract(org, account)
    org.post(f"/api/v1/contract/{signed['id']}/approvals", {}, user="rep")
    org.post(f"/api/v1/contract/{signed['id']}/approvals/reject", {"comment": "Terms"}, user="boss")
    assert org.get(f"/api/v1/contract/{signed['id']}", user="rep").get_json()["status"] == "draft"


def test_the_expiry_reminder_tells_the_owner_on_their_reminder_day_only(office):
    org, account = office
    today = dt.date.today()
    records = org.records
    due = contract(org, account, name="Due in 30 days", end_date=(today + dt.timedelta(days=30)).isoformat())
    custom = contract(org, account, name="Due in 45 days", renewal_notice_days=45,
                      end_date=(today + dt.timedelta(days=45)).isoformat())
    later = contract(org, account, name="Due in 31 days", end_date=(today + dt.timedelta(days=31)).isoformat())
    for record in (due, custom, later):
        with records.unit_of_work() as work:  # activated as approval would
            work.update("contract", record["id"], {"status": "active"}, version=None)

    morning = dt.datetime.combine(today, dt.time(8, 0), tzinfo=dt.UTC)
    with org.app.app_context(), records.unit_of_work() as work:
        ran = scheduled_flows_job(org.org, morning, records, work)
    assert ran["flows"]["contract_expiry_reminder"] == 2

    page = org.get("/api/v1/notifications", user="rep").get_json()
    titles = [n["title"] for n in page["data"] if n["source"] == "contract_expiry_reminder"]
    assert len(titles) == 2 and all("到期" in t for t in titles)  # the owner reads Chinese
    assert any(due["contract_number"] in t for t in titles) and any(custom["contract_number"] in t for t in titles)
    assert not any(later["contract_number"] in t for t in titles)
    assert org.get("/api/v1/notifications", user="boss").get_json()["data"] == []


def test_notifications_are_paged_and_marked_read_over_the_api(office):
    from tessera import notifications
    from tessera.records.service import SYSTEM

    org, _account = office
    with org.records.unit_of_work(SYSTEM) as work:
        ids = [notifications.send(work, [org.users["fin"]], f"Note {n}")[0] for n in range(3)]
    first = org.get("/api/v1/notifications?limit=2", user="fin").get_json()
    assert [n["id"] for n in first["data"]] == [ids[2], ids[1]] and first["unread"] == 3
    rest = org.get(f"/api/v1/notifications?limit=2&before={first['next_before']}", user="fin").get_json()
    assert [n["id"] for n in rest["data"]] == [ids[0]] and rest["next_before"] is None

    assert org.post("/api/v1/notifications/read", {"ids": [ids[0]]}, user="boss").get_json() == {"marked": 0}
    assert org.post("/api/v1/notifications/read", {"ids": [ids[0]]}, user="fin").get_json() == {"marked": 1}
    unread = org.get("/api/v1/notifications?unread=true", user="fin").get_json()
    assert [n["id"] for n in unread["data"]] == [ids[2], ids[1]]
    assert org.post("/api/v1/notifications/read", {}, user="fin").get_json() == {"marked": 2}

    bad = org.post("/api/v1/notifications/read", {"ids": "all", "colour": 1}, user="fin")
    assert bad.status_code == 422 and set(bad.get_json()["errors"]) == {"ids", "colour"}
    assert org.get("/api/v1/notifications?limit=0", user="fin").status_code == 400
