"""Cron schedules, read by croniter, for both schedulers: ``tessera beat`` (through
:class:`tessera.jobs.tasks.CronSchedule`, a Celery schedule) and the in-process one of
``tessera serve`` (:mod:`.scheduler`). One reading of a cron expression, so the two never disagree.

croniter rather than Celery's ``crontab``: it keeps standard cron semantics (when both the
day of month and the day of week are restricted, either matches; ``crontab`` wants both),
answers "the next time after t" for any t (the in-process scheduler's clock is injected), and
refuses a bad expression with a message that says which field is wrong.
"""

from __future__ import annotations

import datetime as dt

from croniter import croniter
from croniter.croniter import CroniterError


def check_cron(expression: str) -> str:
    """``expression`` if it is a cron expression of five fields; ValueError saying why not."""
    if not isinstance(expression, str) or len(expression.split()) != 5:
        raise ValueError(f"'{expression}' is not a cron expression of five fields (minute hour day month weekday)")
    try:
        croniter(expression)
    except (CroniterError, ValueError) as exc:
        raise ValueError(f"'{expression}' is not a valid cron expression: {exc}") from None
    return expression


def next_run(expression: str, after: dt.datetime, tz: dt.tzinfo) -> dt.datetime:
    """The first time strictly after ``after`` that ``expression`` names, read in ``tz``."""
    return croniter(expression, after.astimezone(tz)).get_next(dt.datetime)


def last_run(expression: str, at: dt.datetime, tz: dt.tzinfo) -> dt.datetime:
    """The latest time at or before ``at`` that ``expression`` names, read in ``tz``."""
    return croniter(expression, at.astimezone(tz) + dt.timedelta(microseconds=1)).get_prev(dt.datetime)


def aware(moment: dt.datetime) -> dt.datetime:
    """``moment`` with a time zone: a naive one is UTC (as beat stores its times)."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)
