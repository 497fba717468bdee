"""The L2C package's flows through the API: the opportunity stage machine and what a stage
change sets (issue 9)."""

from __future__ import annotations

import datetime as dt


def opportunity(api, user="boss", **values):
    account = api.records.create("account", {"name": f"Flows {dt.datetime.now().timestamp()}",
                                             "owner_id": api.users[user]})
    body = {"name": "Flow deal", "account": account["id"], "close_date": "2026-12-31", **values}
    created = api.post("/api/v1/opportunity", body, user=user)
    assert created.status_code == 201, created.get_json()["errors"]
    return created.get_json()


def move(api, record, stage, user="boss", **values):
    return api.patch(f"/api/v1/opportunity/{record['id']}", {"stage": stage, **values}, user=user,
                     headers={"If-Match": f'"{record["version"]}"'})


def test_a_new_opportunity_gets_its_stages_defaults(api):
    created = opportunity(api, stage="qualify")
    assert created["probability"] == "10.00" and created["stage_changed_at"] is not None
    assert created["forecast_category"] == "pipeline" and created["closed_on"] is None


def test_skipping_to_won_is_refused_with_the_reason_in_the_readers_language(api):
    record = opportunity(api, stage="qualify")
    refused = move(api, record, "won")
    assert refused.status_code == 422
    assert refused.get_json()["errors"] == {"stage": ["Cannot change from 'Qualify' to 'Closed won'."]}
    theirs = opportunity(api, user="mei", stage="qualify")  # mei reads Chinese
    chinese = move(api, theirs, "won", user="mei")
    assert chinese.get_json()["errors"] == {"stage": ["不能从“验证客户”变更为“赢单”。"]}
    proposal = move(api, record, "proposal", amount=1000).get_json()
    no_amount = opportunity(api, stage="proposal", amount=0)
    refused = move(api, no_amount, "won")
    assert refused.get_json()["errors"] == {"stage": ["A deal is won with its amount filled in."]}
    assert proposal["probability"] == "50.00"


def test_winning_sets_probability_forecast_and_close_date_so_the_rules_pass(api):
    record = opportunity(api, stage="negotiation", amount=5000)
    won = move(api, record, "won")
    assert won.status_code == 200, won.get_json()
    body = won.get_json()
    assert body["probability"] == "100.00" and body["forecast_category"] == "won" and body["is_closed"] is True
    assert body["closed_on"] is not None and body["stage_changed_at"] >= record["stage_changed_at"]


def test_a_probability_set_in_the_same_edit_is_kept(api):
    record = opportunity(api, stage="qualify")
    moved = move(api, record, "needs", probability=45).get_json()
    assert moved["probability"] == "45.00"


def test_only_managers_reopen_a_closed_deal(api):
    record = opportunity(api, user="alice", stage="proposal", amount=10)
    lost = move(api, record, "lost", user="alice", lost_reason="price")
    assert lost.status_code == 200, lost.get_json()
    refused = move(api, lost.get_json(), "qualify", user="alice")
    assert refused.status_code == 422
    assert refused.get_json()["errors"]["stage"] == [
        "Only sales_director, sales_manager may change from 'Closed lost' to 'Qualify'."]
    reopened = move(api, lost.get_json(), "qualify")  # an admin may do everything in the org
    assert reopened.status_code == 200 and reopened.get_json()["probability"] == "10.00"
    assert reopened.get_json()["closed_on"] is None
