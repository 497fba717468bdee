"""Built-in jobs, registered through the same hooks a plugin's jobs use."""

from __future__ import annotations

import datetime as dt
from typing import Any

from .hookspecs import hookimpl
from .jobs.periodic import PeriodicJob

#: when planner statistics are refreshed: nightly, 03:00 in the JOBS_TIMEZONE zone
PLANNER_STATISTICS_SCHEDULE = "0 3 * * *"


def refresh_planner_statistics(org: str, now: dt.datetime, records: Any) -> dict[str, Any]:
    """Bring the query planner's statistics of the org's tables up to date (``Database.analyze``):
    a day of writes can change which index a list page should walk."""
    schema = records.schema
    tables = sorted(table.name for table in (*schema.system_tables, *schema.tables.values()))
    records.db.analyze(tables)
    return {"tables": len(tables)}


@hookimpl
def tessera_register_periodic_jobs() -> list[PeriodicJob]:
    from .flows import waits
    from .flows.scheduled import any_due, scheduled_flows_job

    return [PeriodicJob("tessera.planner_statistics", PLANNER_STATISTICS_SCHEDULE, refresh_planner_statistics,
                        description="Refresh the query planner's statistics of every table of the org."),
            PeriodicJob("tessera.scheduled_flows", "* * * * *", scheduled_flows_job,
                        description="Run the org's scheduled flows that are due this minute.", wanted=any_due),
            PeriodicJob("tessera.flow_waits", "* * * * *", waits.resume_due_job,
                        description="Resume the flows whose wait date has come.", wanted=waits.any_due)]


@hookimpl
def tessera_register_job_types() -> list[Any]:
    """The built-in job types: e-mail (notifications), flow resumption after a wait."""
    from .flows.waits import resume_job_type
    from .jobs.types import JobType
    from .notifications.email import EMAIL_JOB, send_email_job

    return [JobType(EMAIL_JOB, send_email_job, transactional=False,
                    description="Send one e-mail through the configured sender."),
            resume_job_type()]
