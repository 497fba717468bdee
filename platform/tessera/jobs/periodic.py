"""A job that runs on a schedule; plugins register them with ``tessera_register_periodic_jobs``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .schedule import check_cron
from .types import JOB_NAME, MAX_NAME


@dataclass(frozen=True)
class PeriodicJob:
    """``schedule`` is a cron expression (minute hour day month weekday), read in the
    JOBS_TIMEZONE setting's zone; ``task`` is called once per scheduled time and per active
    org with keyword arguments ``org`` (its name) and ``now`` (the scheduled time), and, if it
    takes them, ``records`` (the org's RecordService) and ``work`` (a unit of work whose commit
    also marks the run done, so its writes happen exactly once per scheduled time). It may
    return a JSON-able mapping, kept in the job log. Each run is a job of the type
    ``periodic.<name>``: retried with back-off, visible on /admin/jobs.
    """

    name: str
    schedule: str
    task: Callable[..., Any]
    description: str = ""
    #: optional: ``wanted(org=, at=, records=, zone=)`` says whether the org has anything to do
    #: at the scheduled time ``at``; False skips that org for that time (no job, no log row), so
    #: a job checked every minute logs only the minutes it works
    wanted: Callable[..., bool] | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or len(self.name) > MAX_NAME - 9 or not JOB_NAME.match(self.name):
            raise ValueError(f"'{self.name}' is not a periodic job name: dotted lowercase words such as "
                             "'tessera.planner_statistics'")
        try:
            check_cron(self.schedule)
        except ValueError as exc:
            raise ValueError(f"job '{self.name}': {exc}") from None
        if not callable(self.task):
            raise ValueError(f"job '{self.name}': task must be callable")
