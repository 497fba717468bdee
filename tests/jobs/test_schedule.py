"""Periodic jobs: the in-process scheduler of `tessera serve` and beat's cron schedule."""

from __future__ import annotations

import datetime as dt

import pytest

from tessera.jobs import PeriodicJob
from tessera.jobs.runner import periodic_type
from tessera.jobs.scheduler import Scheduler
from tessera.jobs.tasks import FIRE_PERIODIC, SWEEP, CronSchedule, celery_config
from tests.jobs.conftest import START, make_jobs

QUARTER = dt.timedelta(minutes=15)  # the probe's periodic job runs at :00, :15, :30 and :45


def ticks(probe_org) -> dict[str, int]:
    return {key: count for key, count in probe_org.notes_by_key().items() if key and key.startswith("tick:")}


def test_the_in_process_scheduler_fires_a_due_periodic_job_once_for_its_time(probe_org):
    clock = probe_org.clock
    clock.advance(minutes=10)  # 02:10: the probe is next due at 02:15
    scheduler = Scheduler(probe_org.jobs)

    assert scheduler.tick() == []
    clock.advance(minutes=4, seconds=59)
    assert scheduler.tick() == []  # 02:14:59
    clock.advance(seconds=1)
    assert scheduler.tick() == ["probe.tick"]  # 02:15:00
    assert scheduler.tick() == []  # the same time fires once

    job = probe_org.job("periodic.probe.tick:2026-05-04T02:15Z")
    assert (job.status, job.name, job.result) == ("done", "periodic.probe.tick",
                                                  {"scheduled_for": "2026-05-04T02:15:00+00:00"})
    assert ticks(probe_org) == {f"tick:{probe_org.records.org}": 1}


def test_a_scheduler_that_slept_through_several_times_fires_once_for_the_latest(probe_org):
    scheduler = Scheduler(probe_org.jobs)
    probe_org.clock.advance(hours=1, minutes=7)  # 03:07: 02:15, 02:30, 02:45 and 03:00 went by

    assert scheduler.tick() == ["probe.tick", "tessera.planner_statistics"]  # the nightly 03:00 too
    assert probe_org.job("periodic.probe.tick:2026-05-04T03:00Z").status == "done"
    assert scheduler.next_due["probe.tick"] == START + dt.timedelta(hours=1, minutes=15)
    assert sum(ticks(probe_org).values()) == 1


def test_two_schedulers_firing_the_same_time_run_the_job_once(probe_org):
    """`tessera serve` runs a scheduler in each worker process: the job's key names the time."""
    other = make_jobs(probe_org.records, probe_org.plugins, probe_org.clock)
    first, second = Scheduler(probe_org.jobs), Scheduler(other)
    probe_org.clock.advance(minutes=15)

    assert first.tick() == second.tick() == ["probe.tick"]
    assert sum(ticks(probe_org).values()) == 1


def test_a_failing_periodic_run_is_retried_by_the_scheduler_after_its_back_off(probe_org):
    records = probe_org.records
    calls = []

    def flaky(org, now, work):
        calls.append(now)
        if len(calls) == 1:
            raise ConnectionError("the directory service is down")
        work.create("note", {"name": "made it", "job_key": "tick:retried"})

    jobs = make_jobs(records, probe_org.plugins, probe_org.clock, backoff_seconds=60)
    jobs.periodic["probe.tick"] = PeriodicJob("probe.tick", "*/15 * * * *", flaky)
    jobs.types["periodic.probe.tick"] = periodic_type(jobs.periodic["probe.tick"])
    scheduler = Scheduler(jobs)

    probe_org.clock.advance(minutes=15)
    scheduler.tick()
    job = probe_org.job("periodic.probe.tick:2026-05-04T02:15Z")
    assert (job.status, job.last_error) == ("retrying", "ConnectionError: the directory service is down")
    probe_org.clock.advance(seconds=60)
    scheduler.tick()

    assert probe_org.job("periodic.probe.tick:2026-05-04T02:15Z").status == "done"
    assert calls == [START + QUARTER] * 2  # both attempts are the run of 02:15
    assert ticks(probe_org) == {"tick:retried": 1}


def test_the_built_in_nightly_job_refreshes_planner_statistics(probe_org):
    from tessera.plugins import Plugins

    records = probe_org.records
    plugins = Plugins.load("")
    assert plugins.periodic_jobs["tessera.planner_statistics"].schedule == "0 3 * * *"
    for number in range(3):
        records.create("note", {"name": f"note {number}"})
    if records.db.is_sqlite:
        with records.db.begin() as conn:
            conn.exec_driver_sql("DELETE FROM sqlite_stat1")  # forget what the deploy measured
    jobs = make_jobs(records, plugins, probe_org.clock)

    [queued] = jobs.fire_periodic("tessera.planner_statistics")

    done = probe_org.job(queued.key)
    assert queued.key == "periodic.tessera.planner_statistics:2026-05-03T03:00Z"  # last night's run
    assert done.status == "done"
    assert done.result == {"tables": len(records.schema.system_tables) + 1}  # and the note table
    assert _planner_rows(records, "note") == 3


def _planner_rows(records, table: str) -> int:
    """The row count the planner's statistics hold for ``table``."""
    with records.db.read() as conn:
        if records.db.is_sqlite:
            stat = conn.exec_driver_sql("SELECT stat FROM sqlite_stat1 WHERE tbl = ? AND stat IS NOT NULL",
                                        (table,)).scalar()
            return int(stat.split()[0])
        return int(conn.exec_driver_sql(
            "SELECT reltuples FROM pg_class WHERE oid = to_regclass(%(name)s)",
            {"name": f"{records.db.schema}.{table}"}).scalar())


def test_beat_schedules_each_periodic_job_by_its_cron_and_the_sweep_every_minute(probe_org):
    from tessera.jobs import JobSettings

    config = celery_config(JobSettings(broker_url="redis://127.0.0.1:6379/0", timezone="Asia/Shanghai"),
                           probe_org.jobs.periodic.values())

    entry = config["beat_schedule"]["periodic probe.tick"]
    assert (entry["task"], entry["args"]) == (FIRE_PERIODIC, ("probe.tick",))
    assert entry["schedule"] == CronSchedule("*/15 * * * *", "Asia/Shanghai")
    assert config["beat_schedule"]["sweep"] == {"task": SWEEP, "schedule": 60.0}
    assert (config["task_acks_late"], config["task_reject_on_worker_lost"], config["worker_prefetch_multiplier"]) \
        == (True, True, 1)


def test_a_cron_schedule_is_due_once_its_time_has_passed_in_its_time_zone():
    now = dt.datetime(2026, 5, 4, 2, 59, 30, tzinfo=dt.UTC)  # 10:59:30 in Shanghai
    nightly = CronSchedule("0 11 * * *", "Asia/Shanghai", nowfun=lambda: now)
    last = dt.datetime(2026, 5, 3, 3, 0, tzinfo=dt.UTC)

    assert nightly.is_due(last) == (False, 30.0)
    now += dt.timedelta(seconds=30)
    assert nightly.is_due(last) == (True, 86400.0)


@pytest.mark.parametrize(("schedule", "message"), [
    ("every morning", "is not a cron expression of five fields"),
    ("61 * * * *", "is not a valid cron expression"),
    ("@daily", "is not a cron expression of five fields"),
])
def test_a_periodic_job_with_a_bad_schedule_is_refused_with_the_reason(schedule, message):
    with pytest.raises(ValueError, match=message):
        PeriodicJob("reports.nightly", schedule, lambda org, now: None)


def test_a_periodic_job_name_must_be_a_dotted_lowercase_name():
    with pytest.raises(ValueError, match="'Nightly Report' is not a periodic job name"):
        PeriodicJob("Nightly Report", "0 1 * * *", lambda org, now: None)


def test_the_scheduler_thread_ticks_by_itself_until_stopped(probe_org):
    import time

    probe_org.clock.advance(minutes=14, seconds=59)  # a second before 02:15
    scheduler = Scheduler(probe_org.jobs)
    probe_org.clock.advance(seconds=1)  # due now: the thread's first wait is its shortest
    scheduler.start()
    assert scheduler.running
    try:
        deadline = time.monotonic() + 10
        while probe_org.job("periodic.probe.tick:2026-05-04T02:15Z") is None and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        scheduler.stop()

    assert probe_org.job("periodic.probe.tick:2026-05-04T02:15Z").status == "done"
    assert not scheduler.running


def test_a_periodic_job_an_org_does_not_want_queues_nothing_there(probe_org):
    """The minute job of scheduled flows: an org without a flow due that minute gets no job."""
    from tessera.plugins import Plugins

    jobs = make_jobs(probe_org.records, Plugins.load(""), probe_org.clock)
    assert jobs.periodic["tessera.scheduled_flows"].schedule == "* * * * *"

    assert jobs.fire_periodic("tessera.scheduled_flows") == []
    assert probe_org.job("periodic.tessera.scheduled_flows:2026-05-04T02:00Z") is None
