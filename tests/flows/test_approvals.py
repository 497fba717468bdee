"""Approval processes: submit, decide step by step, recall; the lock while pending; the queue."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from tessera.flows.approvals import ApprovalRefused
from tessera.metadata.errors import MetadataError
from tessera.records import ValidationFailed
from tessera.records.service import Actor

APPROVAL = """
label: {en: Big deal approval, zh-CN: 大单审批}
object: opportunity
trigger: {type: approval, condition: "amount >= 10000"}
approval:
  steps:
    - {name: manager, approver: {manager_of: owner_id}}
    - {name: director, approver: {role: manager}, condition: "amount >= 100000"}
  on_submit: [{type: set_fields, values: {next_step: "'Waiting for approval'"}}]
  on_approve: [{type: set_fields, values: {next_step: "'Approved'"}}]
  on_reject: [{type: set_fields, values: {next_step: "'Rejected'"}}]
  on_recall: [{type: set_fields, values: {next_step: "'Recalled'"}}]
"""
REP = Actor(id=3, name="ann", role="rep")
BOSS = Actor(id=2, name="max", role="manager")  # ann's manager
DIRECTOR = Actor(id=5, name="dora", role="manager")
OTHER_REP = Actor(id=4, name="bo", role="rep")


@dataclass
class Person:
    id: int
    manager_id: int | None
    role: str
    active: bool = True


class Directory:
    people = {2: Person(2, None, "manager"), 3: Person(3, 2, "rep"), 4: Person(4, 2, "rep"), 5: Person(5, None, "manager")}

    def users_in_roles(self, org, roles):
        return {p.id for p in self.people.values() if p.role in set(roles)}

    def reports_of(self, user_id):
        return {p.id for p in self.people.values() if p.manager_id == user_id}

    def user_by_id(self, user_id):
        return self.people.get(user_id)


@pytest.fixture
def sales(crm):
    service = crm(directory=Directory(), big_deal=APPROVAL)
    return service, service.flows.approvals


def deal(service, amount):
    return service.create("opportunity", {"name": f"Deal {amount}", "amount": amount}, actor=REP)


def test_a_request_goes_to_the_owners_manager_and_approval_runs_the_outcome(sales):
    service, approvals = sales
    record = deal(service, 20_000)
    with service.unit_of_work(REP) as work:
        request = approvals.submit(work, "opportunity", record["id"], comment="Please")
    assert request["status"] == "pending" and request["step"] == "manager" and request["approvers"] == [2]
    assert service.get("opportunity", record["id"])["next_step"] == "Waiting for approval"
    with service.unit_of_work(BOSS) as work:
        assert [r["id"] for r in approvals.queue(work)] == [request["id"]]
        decided = approvals.decide(work, "opportunity", record["id"], "approve", "Fine")
    assert decided["status"] == "approved" and decided["decided_at"] is not None  # the director step is skipped
    assert [(h["action"], h["step"], h["actor"], h["comment"]) for h in decided["history"]] == [
        ("submit", None, 3, "Please"), ("approve", "manager", 2, "Fine")]
    assert service.get("opportunity", record["id"])["next_step"] == "Approved"


def test_a_large_deal_needs_both_steps_and_anyone_with_the_role_decides_the_second(sales):
    service, approvals = sales
    record = deal(service, 500_000)
    with service.unit_of_work(REP) as work:
        approvals.submit(work, "opportunity", record["id"])
    with service.unit_of_work(BOSS) as work:
        second = approvals.decide(work, "opportunity", record["id"], "approve")
    assert second["status"] == "pending" and second["step"] == "director" and second["approvers"] == [2, 5]
    with service.unit_of_work(DIRECTOR) as work:
        assert approvals.decide(work, "opportunity", record["id"], "reject", "Too big")["status"] == "rejected"
    assert service.get("opportunity", record["id"])["next_step"] == "Rejected"


def test_the_record_is_locked_while_pending_and_free_after_a_recall(sales):
    service, approvals = sales
    record = deal(service, 20_000)
    with service.unit_of_work(REP) as work:
        approvals.submit(work, "opportunity", record["id"])
    current = service.get("opportunity", record["id"])
    with pytest.raises(ValidationFailed) as raised:
        service.update("opportunity", record["id"], {"amount": 1}, version=current["version"], actor=REP)
    assert "waiting for approval" in raised.value.messages()["_record"][0]
    with pytest.raises(ApprovalRefused) as raised, service.unit_of_work(OTHER_REP) as work:
        approvals.recall(work, "opportunity", record["id"])  # they may edit it, but did not submit it
    assert raised.value.messages() == {"_record": [
        "Only the person who submitted the request (or an admin) may recall it."]}
    with service.unit_of_work(REP) as work:
        assert approvals.recall(work, "opportunity", record["id"], "Wrong amount")["status"] == "recalled"
    current = service.get("opportunity", record["id"])
    assert current["next_step"] == "Recalled"
    assert service.update("opportunity", record["id"], {"amount": 12_000}, version=current["version"],
                          actor=REP)["amount"] == 12_000


def test_requests_that_cannot_be_made_or_decided_are_refused_with_the_reason(sales):
    service, approvals = sales
    small = deal(service, 500)
    with pytest.raises(ApprovalRefused) as raised, service.unit_of_work(REP) as work:
        approvals.submit(work, "opportunity", small["id"])
    assert raised.value.messages() == {"_record": [
        "This record does not meet the entry criteria of Big deal approval."]}
    record = deal(service, 20_000)
    with service.unit_of_work(REP) as work:
        approvals.submit(work, "opportunity", record["id"])
    with pytest.raises(ApprovalRefused) as raised, service.unit_of_work(REP) as work:
        approvals.submit(work, "opportunity", record["id"])
    assert "already waiting" in raised.value.messages()["_record"][0]
    with pytest.raises(ApprovalRefused) as raised, service.unit_of_work(REP) as work:
        approvals.decide(work, "opportunity", record["id"], "approve")  # the submitter is no approver
    assert raised.value.messages() == {"_record": ["You are not an approver of the current step (manager)."]}
    with service.unit_of_work(DIRECTOR) as work:
        assert approvals.queue(work) == []  # not at the director step yet


def test_a_step_with_nobody_to_decide_refuses_the_submission_and_keeps_nothing(crm):
    service = crm(directory=Directory(), big_deal=APPROVAL)
    orphan = Actor(id=5, name="dora", role="manager")  # no manager above her
    record = service.create("opportunity", {"name": "Orphan", "amount": 50_000}, actor=orphan)
    with pytest.raises(ApprovalRefused) as raised, service.unit_of_work(orphan) as work:
        service.flows.approvals.submit(work, "opportunity", record["id"])
    assert raised.value.messages() == {"_record": ["Step manager of Big deal approval has nobody to decide it."]}
    with service.unit_of_work(orphan, read_only=True) as work:
        assert service.flows.approvals.for_record(work, "opportunity", record["id"]) == []
    assert service.get("opportunity", record["id"])["next_step"] is None


@pytest.mark.parametrize(("approval", "expected"), [
    ("steps: [{name: a, approver: {role: nobody}}]", "role: unknown role 'nobody'"),
    ("steps: [{name: a, approver: {manager_of: name}}]", "manager_of: opportunity.name does not hold a user"),
    ("steps: [{name: a, approver: {user: x}}]\n  on_approve: [{type: set_fields, values: {nope: 1}}]",
     "opportunity has no field 'nope'"),
])
def test_an_approval_process_that_cannot_run_is_a_metadata_problem(crm, approval, expected):
    flow = ("label: {en: Bad, zh-CN: 坏}\nobject: opportunity\ntrigger: {type: approval}\n"
            f"approval:\n  {approval}\n")
    with pytest.raises(MetadataError) as raised:
        crm(bad=flow)
    assert expected in str(raised.value)
