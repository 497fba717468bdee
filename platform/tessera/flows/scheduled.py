"""Scheduled flows: ``trigger: {type: schedule, schedule: "0 8 * * *", filter: {...}}`` runs the
flow's steps for each record of its object that matches the filter (and the trigger's
``condition``, when it has one, evaluated per record), when the cron schedule says (read in
the ``JOBS_TIMEZONE`` zone, like every periodic job).

One built-in periodic job, ``tessera.scheduled_flows``, runs every minute in every org and runs
the flows due at that minute. The job's unit of work carries the flows' writes and the mark
that the minute's run is done, so a minute's flows take effect once, even when a worker dies
half-way and the job is delivered again.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from .steps import StepError

#: a scheduled flow reaches at most this many records per run (a step failure beyond)
MAX_RECORDS = 10_000
_PAGE = 200


def is_due(schedule: str, at: dt.datetime, tz: dt.tzinfo) -> bool:
    """Whether the cron ``schedule`` names the minute of ``at``."""
    from tessera.jobs.schedule import last_run

    minute = at.astimezone(tz).replace(second=0, microsecond=0)
    return last_run(schedule, minute, tz) == minute


def run_scheduled(engine: Any, flow: Any, work: Any) -> int:
    """Run ``flow``'s steps for each record its filter matches (as the system, in ``work``);
    the number of records it ran for."""
    from .engine import FlowRun

    system = engine._system_work(work)
    cursor = None
    done = 0
    with engine._nested(system, flow):
        while True:
            page = system.query(flow.object, filter=flow.filter or {}, sort=["id"], limit=_PAGE, cursor=cursor)
            for row in page.rows:
                if done >= MAX_RECORDS:
                    raise StepError(f"flow '{flow.name}' matches more than {MAX_RECORDS} records; narrow its filter")
                record = system.get(flow.object, row["id"])
                run = FlowRun(engine, flow, system, flow.object, record)
                if flow.condition is not None and not run.evaluate(flow.condition):
                    continue  # the filter narrows in the database, the condition per record
                run.run_steps(flow.steps)
                done += 1
            if page.next_cursor is None:
                return done
            cursor = page.next_cursor


def due_flows(records: Any, at: dt.datetime, tz: dt.tzinfo) -> list[Any]:
    """The org's active scheduled flows whose schedule names the minute of ``at``."""
    return [flow for flow in records.flows.flows.values()
            if flow.kind == "schedule" and flow.active and flow.object and flow.schedule
            and is_due(flow.schedule, at, tz)]


def any_due(*, org: str, at: dt.datetime, records: Any, zone: dt.tzinfo) -> bool:
    """The periodic job's ``wanted``: whether the org has a scheduled flow due at ``at``."""
    return bool(due_flows(records, at, zone))


def scheduled_flows_job(org: str, now: dt.datetime, records: Any, work: Any) -> dict[str, Any]:
    """The periodic job: every active scheduled flow of the org due at ``now``, run in ``work``."""
    from flask import current_app, has_app_context

    zone = (current_app.config.get("JOBS_TIMEZONE") if has_app_context() else None) or "UTC"
    tz = ZoneInfo(str(zone))
    return {"flows": {flow.name: run_scheduled(records.flows, flow, work) for flow in due_flows(records, now, tz)}}
