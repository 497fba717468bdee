"""Scheduled flows: run for the records their filter matches, when their cron schedule says."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from tessera.flows.engine import FlowStepFailed
from tessera.flows.scheduled import is_due, scheduled_flows_job

NIGHTLY = """
label: {en: Nightly, zh-CN: 每晚}
object: opportunity
trigger:
  type: schedule
  schedule: "30 0 * * *"
  filter: {stage: proposal, amount__gte: 1000}
steps:
  - {type: set_fields, values: {next_step: "'Chase ' & name", touches: "BLANKVALUE(touches, 0) + 1"}}
"""
SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_a_cron_schedule_is_due_at_the_minutes_it_names_in_the_zone():
    at = dt.datetime(2026, 11, 24, 0, 30, tzinfo=SHANGHAI)
    assert is_due("30 0 * * *", at, SHANGHAI)
    assert is_due("30 0 * * *", at.replace(second=42), SHANGHAI)
    assert not is_due("30 0 * * *", at + dt.timedelta(minutes=1), SHANGHAI)
    assert not is_due("30 0 * * *", at, dt.UTC)  # 00:30 in Shanghai is 16:30 UTC


def test_the_job_runs_a_due_flow_for_each_matching_record_once_per_minute(crm):
    service = crm(nightly=NIGHTLY)
    matching = [service.create("opportunity", {"name": f"Big {n}", "stage": "proposal", "amount": 5000})
                for n in range(3)]
    small = service.create("opportunity", {"name": "Small", "stage": "proposal", "amount": 10})
    due = dt.datetime(2026, 11, 24, 0, 30, tzinfo=dt.UTC)

    with service.unit_of_work() as work:
        assert scheduled_flows_job("default", due + dt.timedelta(minutes=1), service, work) == {"flows": {}}
        assert scheduled_flows_job("default", due, service, work) == {"flows": {"nightly": 3}}

    for record in matching:
        after = service.get("opportunity", record["id"])
        assert after["next_step"] == f"Chase {record['name']}" and after["touches"] == 1
    assert service.get("opportunity", small["id"])["next_step"] is None


def test_a_failing_scheduled_run_keeps_nothing(crm):
    service = crm(nightly=NIGHTLY.replace("\"'Chase ' & name\"", "\"TEXT(VALUE(name))\""))
    first = service.create("opportunity", {"name": "12", "stage": "proposal", "amount": 5000})
    service.create("opportunity", {"name": "not a number", "stage": "proposal", "amount": 5000})
    with pytest.raises(FlowStepFailed) as raised, service.unit_of_work() as work:
        scheduled_flows_job("default", dt.datetime(2026, 11, 24, 0, 30, tzinfo=dt.UTC), service, work)
    assert "'nightly'" in raised.value.messages()["_record"][0]
    assert service.get("opportunity", first["id"])["next_step"] is None


def test_the_minute_job_is_wanted_only_in_the_minutes_a_flow_is_due(crm):
    from tessera.flows.scheduled import any_due

    service = crm(nightly=NIGHTLY)
    at = dt.datetime(2026, 11, 24, 0, 30, tzinfo=dt.UTC)
    assert any_due(org="default", at=at, records=service, zone=dt.UTC)
    assert not any_due(org="default", at=at + dt.timedelta(minutes=1), records=service, zone=dt.UTC)
