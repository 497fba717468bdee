"""Approval requests over the API, with the L2C discount approval of quotes (issue 9)."""

from __future__ import annotations

import pytest

from tests.api.l2c_records import Copier, World


@pytest.fixture(scope="module")
def desk(api, l2c_templates):
    """An org with a rep (reporting to a manager), the manager, a director; a quote of the rep's
    with a line, marked as needing approval."""
    org = api.another_org("approve", {"rep": "sales_rep", "boss": "sales_manager", "dora": "sales_director"})
    store = org.app.extensions["tessera.platform"]
    store.update_user(store.user(org.org, "rep"), manager="boss")
    store.forget()
    copier = Copier(org.records, l2c_templates)
    world = World(org.users["rep"])
    line = org.records.get("quote_line", copier.record(world, "quote_line"))
    quote_id = line["quote"] if not isinstance(line["quote"], dict) else line["quote"]["id"]
    with org.records.unit_of_work() as work:
        current = work.get("quote", quote_id)
        work.update("quote", quote_id, {"needs_approval": True, "owner_id": org.users["rep"]},
                    version=current["version"])
    return org, quote_id


def test_submit_approve_and_read_the_history_over_the_api(desk):
    org, quote = desk
    submitted = org.post(f"/api/v1/quote/{quote}/approvals", {"comment": "15 % off"}, user="rep")
    assert submitted.status_code == 201, submitted.get_json()
    request = submitted.get_json()
    assert request["status"] == "pending" and request["step"] == "manager"
    assert request["approvers"] == [org.users["boss"]]
    current = org.get(f"/api/v1/quote/{quote}", user="rep").get_json()
    assert current["status"] == "in_approval"

    locked = org.patch(f"/api/v1/quote/{quote}", {"notes": "changed"}, user="rep",
                       headers={"If-Match": f'"{current["version"]}"'})
    assert locked.status_code == 422 and "waiting for approval" in locked.get_json()["errors"]["_record"][0]

    queue = org.get("/api/v1/approvals/queue", user="boss").get_json()["data"]
    assert [(q["object"], q["record_id"]) for q in queue] == [("quote", quote)]
    refused = org.post(f"/api/v1/quote/{quote}/approvals/approve", {}, user="rep")
    assert refused.status_code == 422

    approved = org.post(f"/api/v1/quote/{quote}/approvals/approve", {"comment": "OK"}, user="boss")
    assert approved.status_code == 200
    if float(current["total_discount"] or 0) > 30:  # the director's step follows
        assert approved.get_json()["step"] == "director" and approved.get_json()["approvers"] == [org.users["dora"]]
        approved = org.post(f"/api/v1/quote/{quote}/approvals/approve", {}, user="dora")
    assert approved.get_json()["status"] == "approved"
    assert org.get(f"/api/v1/quote/{quote}", user="rep").get_json()["status"] == "approved"
    listed = org.get(f"/api/v1/quote/{quote}/approvals", user="rep").get_json()["data"]
    assert [h["action"] for h in listed[0]["history"]][:2] == ["submit", "approve"]


@pytest.mark.parametrize(("path", "body", "status"), [
    ("/api/v1/quote/{id}/approvals/teleport", {}, 404),
    ("/api/v1/quote/{id}/approvals", {"comment": 5}, 422),
    ("/api/v1/quote/{id}/approvals", {"colour": "red"}, 422),
    ("/api/v1/account/{id}/approvals", {}, 404),
])
def test_bad_approval_requests_are_clear_problems(desk, path, body, status):
    org, quote = desk
    answer = org.post(path.format(id=quote), body, user="rep")
    assert answer.status_code == status
    assert answer.mimetype == "application/problem+json"
