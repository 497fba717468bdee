"""The wait step: a flow pauses until a date or a condition, and goes on exactly once."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from tessera.flows.waits import any_due, resume_due_job
from tessera.jobs import Jobs, JobSettings
from tessera.metadata.errors import MetadataError

FOLLOW_UP = """
label: {en: Follow up, zh-CN: 跟进}
object: opportunity
trigger: {type: record, events: [create]}
steps:
  - type: set_fields
    values: {next_step: "'Call'"}
  - type: wait
    WAIT
    steps:
      - {type: set_fields, values: {touches: "BLANKVALUE(touches, 0) + 1", next_step: "'Followed up ' & name"}}
  - type: set_fields
    values: {region: "'set after the wait step, at once'"}
"""
DAY = dt.datetime(2026, 11, 24, tzinfo=dt.UTC)


def flow(wait: str) -> str:
    return FOLLOW_UP.replace("WAIT", wait)


def waits(service):
    table = service.schema.flow_waits
    with service.db.engine.connect() as conn:
        return [dict(row._mapping) for row in conn.execute(sa.select(table).order_by(table.c.id))]


def resume_at(service, moment):
    with service.unit_of_work() as work:
        return resume_due_job("default", moment, service, work)


def test_a_wait_for_a_date_goes_on_when_the_date_comes_and_only_once(crm):
    service = crm(follow=flow('until: "DATE(2026, 12, 1)"'))
    deal = service.create("opportunity", {"name": "Acme"})

    after = service.get("opportunity", deal["id"])
    assert after["next_step"] == "Call" and after["touches"] is None  # the wait's steps have not run
    assert after["region"] == "set after the wait step, at once"  # the flow went on past the wait
    (wait,) = waits(service)
    assert (wait["status"], wait["flow"], wait["step"]) == ("waiting", "follow", "steps[1]")
    assert wait["resume_at"] == dt.datetime(2026, 12, 1, tzinfo=dt.UTC)  # midnight in JOBS_TIMEZONE (UTC)

    early = dt.datetime(2026, 11, 30, 23, 59, tzinfo=dt.UTC)
    assert not any_due(org="default", at=early, records=service, zone=dt.UTC)
    assert resume_at(service, early) == {}
    due = dt.datetime(2026, 12, 1, 0, 0, tzinfo=dt.UTC)
    assert any_due(org="default", at=due, records=service, zone=dt.UTC)
    assert resume_at(service, due) == {"resumed": 1}
    assert resume_at(service, due + dt.timedelta(minutes=1)) == {}

    resumed = service.get("opportunity", deal["id"])
    assert resumed["touches"] == 1 and resumed["next_step"] == "Followed up Acme"
    assert waits(service)[0]["status"] == "resumed"


def test_a_date_that_has_passed_runs_the_steps_at_once(crm):
    service = crm(follow=flow('until: "DATE(2020, 1, 1)"'))
    deal = service.create("opportunity", {"name": "Acme"})
    assert service.get("opportunity", deal["id"])["touches"] == 1
    assert waits(service) == []


def test_a_write_that_rolls_back_leaves_no_wait(crm):
    service = crm(follow=flow('until: "DATE(2026, 12, 1)"').replace(
        "'set after the wait step, at once'", "TEXT(VALUE(name))"))
    with pytest.raises(Exception, match="follow"):
        service.create("opportunity", {"name": "not a number"})
    assert waits(service) == []


def test_a_deleted_record_cancels_its_wait(crm):
    service = crm(follow=flow('until: "DATE(2026, 12, 1)"'))
    deal = service.create("opportunity", {"name": "Acme"})
    service.delete("opportunity", deal["id"], version=None)
    assert resume_at(service, dt.datetime(2026, 12, 2, tzinfo=dt.UTC)) == {"cancelled": 1}
    (wait,) = waits(service)
    assert wait["status"] == "cancelled" and wait["detail"] == "the record was deleted"


def test_refused_steps_fail_their_wait_and_keep_the_others_going(crm):
    service = crm(follow=flow('until: "DATE(2026, 12, 1)"').replace(
        "'Followed up ' & name", "TEXT(VALUE(name))"))
    bad = service.create("opportunity", {"name": "not a number"})
    good = service.create("opportunity", {"name": "42"})
    assert resume_at(service, dt.datetime(2026, 12, 1, tzinfo=dt.UTC)) == {"failed": 1, "resumed": 1}
    assert service.get("opportunity", good["id"])["touches"] == 1
    assert service.get("opportunity", bad["id"])["touches"] is None  # nothing of the failed steps is kept
    failed = next(w for w in waits(service) if w["record_id"] == bad["id"])
    assert failed["status"] == "failed" and "follow" in failed["detail"]


def with_jobs(service):
    from tessera.default_jobs import tessera_register_job_types

    service.flows.jobs = Jobs(JobSettings(), job_types=tessera_register_job_types(), records=lambda org: service,
                              orgs=lambda: [service.org], clock=lambda: DAY)
    return service


def test_a_wait_for_a_condition_goes_on_after_the_save_that_makes_it_hold(crm):
    service = with_jobs(crm(follow=flow("condition: \"stage = 'negotiation'\"")))
    deal = service.create("opportunity", {"name": "Acme", "stage": "prospecting"})
    assert waits(service)[0]["on_condition"] and waits(service)[0]["resume_at"] is None

    service.update("opportunity", deal["id"], {"amount": 10}, version=None)
    assert service.get("opportunity", deal["id"])["touches"] is None
    service.update("opportunity", deal["id"], {"stage": "negotiation"}, version=None)  # the job runs after commit
    assert service.get("opportunity", deal["id"])["touches"] == 1
    service.update("opportunity", deal["id"], {"amount": 20}, version=None)  # still negotiation: not again
    assert service.get("opportunity", deal["id"])["touches"] == 1
    assert waits(service)[0]["status"] == "resumed"


def test_a_condition_that_already_holds_does_not_wait(crm):
    service = crm(follow=flow("condition: \"stage = 'negotiation'\""))
    deal = service.create("opportunity", {"name": "Acme", "stage": "negotiation"})
    assert service.get("opportunity", deal["id"])["touches"] == 1 and waits(service) == []


def test_a_wait_whose_step_left_the_flow_is_cancelled(crm, write_package, tmp_path, database):
    service = crm(follow=flow('until: "DATE(2026, 12, 1)"'))
    service.create("opportunity", {"name": "Acme"})
    changed = crm(follow=flow('until: "DATE(2026, 12, 1)"').replace("  - type: set_fields\n    values: {next_step",
                                                                   "  - type: set_fields\n    values: {amount: 1, next_step", 1)
                  .replace("  - type: wait\n", "  - type: set_fields\n    values: {touches: 5}\n  - type: wait\n"))
    assert resume_at(changed, dt.datetime(2026, 12, 1, tzinfo=dt.UTC)) == {"cancelled": 1}
    assert "no longer has this wait step" in waits(changed)[0]["detail"]


@pytest.mark.parametrize(("wait", "problem"), [
    ('until: "name"', "until: gives text, not a date"),
    ("{}", "steps"),
])
def test_a_wait_that_cannot_work_is_a_metadata_problem(crm, wait, problem):
    text = flow(wait) if wait != "{}" else FOLLOW_UP.replace("    WAIT\n    steps:\n      - {type: set_fields, values: {touches: \"BLANKVALUE(touches, 0) + 1\", next_step: \"'Followed up ' & name\"}}\n", "")
    with pytest.raises(MetadataError, match=problem):
        crm(follow=text)


def test_a_wait_before_the_record_is_saved_is_refused(crm):
    service = crm(follow=flow('until: "DATE(2026, 12, 1)"').replace("events: [create]}", "events: [create], timing: before_save}"))
    with pytest.raises(Exception, match="a wait needs a saved record"):
        service.create("opportunity", {"name": "Acme"})
