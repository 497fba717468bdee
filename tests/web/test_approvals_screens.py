"""Approvals on the screens: the record page's panel and buttons, and the approver's queue."""

from __future__ import annotations

import pytest


@pytest.fixture
def waiting_quote(records, actor):
    """A quote with lines, back to draft, owned by zhang.wei (a rep under liu.yang), needing approval."""
    rep = actor("zhang.wei")
    found = records.query("quote", filter={"line_count__gt": 0, "status__in": ["expired", "superseded"]},
                          sort=["id"], limit=1).rows
    assert found, "the demo has a quote with lines"
    quote = found[0]["id"]
    with records.unit_of_work() as work:
        work.update("quote", quote, {"needs_approval": True, "owner_id": rep.id, "status": "draft"}, version=None)
    yield quote
    with records.unit_of_work() as work:  # leave no pending request behind for other tests
        for request in records.flows.approvals.for_record(work, "quote", quote):
            if request["status"] == "pending":
                records.flows.approvals.recall(work, "quote", quote)


def post(client, csrf, path, **form):
    return client.post(path, data={"csrf_token": csrf(client, path.rsplit("/approvals", 1)[0]), **form})


def test_a_rep_submits_from_the_record_page_and_the_manager_approves_from_the_queue(sign_in, csrf, waiting_quote):
    rep = sign_in("zhang.wei")
    page = rep.get(f"/o/quote/{waiting_quote}").get_data(as_text=True)
    assert 'id="approval"' in page and "Submit for approval" in page and "Not submitted for approval." in page

    answer = post(rep, csrf, f"/o/quote/{waiting_quote}/approvals", comment="<b>15 % off</b>")
    assert answer.status_code == 302 and answer.headers["Location"].endswith(f"/o/quote/{waiting_quote}#approval")
    page = rep.get(f"/o/quote/{waiting_quote}").get_data(as_text=True)
    assert "Submitted for approval." in page and "Waiting for approval" in page
    assert "&lt;b&gt;15 % off&lt;/b&gt;" in page and "<b>15 % off</b>" not in page  # the comment is escaped
    assert "Recall" in page and ">Approve<" not in page

    boss = sign_in("liu.yang")
    queue = boss.get("/approvals").get_data(as_text=True)
    assert f"/o/quote/{waiting_quote}#approval" in queue
    answer = post(boss, csrf, f"/o/quote/{waiting_quote}/approvals/approve", comment="OK")
    assert answer.status_code == 302
    page = boss.get(f"/o/quote/{waiting_quote}").get_data(as_text=True)
    assert "Approved." in page
    assert f"/o/quote/{waiting_quote}#approval" not in boss.get("/approvals").get_data(as_text=True)


def test_a_refused_decision_is_a_message_on_the_page(sign_in, csrf, waiting_quote):
    rep = sign_in("zhang.wei")
    post(rep, csrf, f"/o/quote/{waiting_quote}/approvals")
    answer = post(rep, csrf, f"/o/quote/{waiting_quote}/approvals/approve")  # not hers to decide
    assert answer.status_code == 302
    page = rep.get(f"/o/quote/{waiting_quote}").get_data(as_text=True)
    assert "You are not an approver of the current step" in page
    assert rep.post(f"/o/quote/{waiting_quote}/approvals/approve").status_code == 400  # no CSRF token


def test_the_approval_screens_speak_chinese(sign_in, waiting_quote):
    rep = sign_in("zhang.wei", lang="zh-CN")
    page = rep.get(f"/o/quote/{waiting_quote}").get_data(as_text=True)
    assert "提交审批" in page
    assert "我的审批" in rep.get("/approvals").get_data(as_text=True)
