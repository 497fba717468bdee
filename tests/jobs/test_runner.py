"""Running jobs: retries with back-off, the job log, and deliveries that come twice."""

from __future__ import annotations

import datetime as dt

import pytest

from tessera.jobs import JobSettings, JobsError, enqueue


def test_a_failing_job_is_retried_after_a_doubling_back_off_then_done(probe_org):
    records, jobs, clock = probe_org.records, probe_org.jobs, probe_org.clock
    started = clock()

    enqueue(records, "probe.flaky", {"fail_times": 2}, key="flaky", jobs=jobs)
    job = probe_org.job("flaky")
    assert (job.status, job.attempts, job.last_error) == ("retrying", 1, "RuntimeError: planned failure 1")
    assert job.run_after == started + dt.timedelta(seconds=10)

    clock.advance(seconds=9)
    assert jobs.sweep() == 0  # the back-off is not over
    clock.advance(seconds=1)
    assert jobs.sweep() == 1
    job = probe_org.job("flaky")
    assert (job.status, job.attempts, job.last_error) == ("retrying", 2, "RuntimeError: planned failure 2")
    assert job.run_after == clock() + dt.timedelta(seconds=20)  # doubled

    clock.advance(seconds=20)
    assert jobs.sweep() == 1
    job = probe_org.job("flaky")
    assert (job.status, job.attempts, job.finished_at) == ("done", 3, clock())
    assert probe_org.notes_by_key() == {"flaky": 1}  # the failed attempts left nothing behind


def test_a_job_that_keeps_failing_ends_failed_with_its_last_error_and_no_traceback(probe_org):
    records, jobs, clock = probe_org.records, probe_org.jobs, probe_org.clock

    enqueue(records, "probe.flaky", {"fail_times": 99}, key="hopeless", jobs=jobs)
    for wait in (10, 20):
        clock.advance(seconds=wait)
        jobs.sweep()
    clock.advance(days=1)
    assert jobs.sweep() == 0  # failed for good: nothing is due any more

    job = probe_org.job("hopeless")
    assert (job.status, job.attempts, job.max_attempts) == ("failed", 3, 3)
    assert job.last_error == "RuntimeError: planned failure 3"
    assert job.finished_at is not None and job.run_after is None
    assert probe_org.notes_by_key() == {}


def test_a_second_delivery_of_a_finished_job_changes_nothing(probe_org):
    queued = enqueue(probe_org.records, "probe.note", {}, key="twice", jobs=probe_org.jobs)

    outcome = probe_org.jobs.execute(probe_org.records.org, queued.id)

    assert outcome.status == "skipped"
    assert probe_org.job("twice").attempts == 1
    assert probe_org.notes_by_key() == {"twice": 1}


def test_a_job_whose_worker_died_mid_run_runs_again_and_takes_effect_once(probe_org):
    """The worker counted the attempt and died before its effect committed: the next
    delivery runs the job, and the attempt that died still counts."""
    records, jobs = probe_org.records, probe_org.jobs
    jobs.send = lambda org, job_id: None  # published, not yet delivered
    queued = enqueue(records, "probe.note", {}, key="orphan", jobs=jobs)
    store = jobs.store(records)
    with records.db.begin() as conn:  # what the dead worker managed to commit
        store.start(conn, queued.id, probe_org.clock(), jobs.stale_after)
    assert probe_org.job("orphan").status == "running"

    outcome = jobs.execute(records.org, queued.id)  # the redelivery

    assert outcome.status == "done"
    assert (probe_org.job("orphan").status, probe_org.job("orphan").attempts) == ("done", 2)
    assert probe_org.notes_by_key() == {"orphan": 1}


def test_a_job_that_killed_its_worker_on_every_attempt_is_failed_not_run_again(probe_org):
    records, jobs = probe_org.records, probe_org.jobs
    jobs.send = lambda org, job_id: None
    queued = enqueue(records, "probe.flaky", {}, key="poison", jobs=jobs)
    store = jobs.store(records)
    for _ in range(3):  # max_attempts of probe.flaky: each attempt died with its worker
        with records.db.begin() as conn:
            store.start(conn, queued.id, probe_org.clock(), jobs.stale_after)

    assert jobs.execute(records.org, queued.id).status == "failed"
    job = probe_org.job("poison")
    assert job.status == "failed" and "the worker running it stopped" in job.last_error
    assert probe_org.notes_by_key() == {}


def test_a_lost_dispatch_is_recovered_by_the_sweep_after_the_visibility_timeout(probe_org):
    records, jobs, clock = probe_org.records, probe_org.jobs, probe_org.clock
    jobs.send = lambda org, job_id: None  # the process stopped between the commit and the dispatch
    enqueue(records, "probe.note", {}, key="lost", jobs=jobs)
    jobs.send = jobs.execute_now

    clock.advance(seconds=jobs.settings.visibility_timeout - 1)
    assert jobs.sweep() == 0
    clock.advance(seconds=1)
    assert jobs.sweep() == 1
    assert probe_org.job("lost").status == "done" and probe_org.notes_by_key() == {"lost": 1}


def test_a_job_of_a_type_this_process_does_not_know_fails_saying_so(probe_org):
    """A worker without the plugin that registers the job's type (not installed there)."""
    from tessera.jobs import Jobs

    records = probe_org.records
    probe_org.jobs.send = lambda org, job_id: None
    queued = enqueue(records, "probe.note", {}, key="stranger", jobs=probe_org.jobs)
    bare = Jobs(JobSettings(), records=lambda org: records, orgs=lambda: [records.org])

    outcomes = [bare.execute(records.org, queued.id).status for _ in range(5)]

    assert outcomes == ["retrying", "retrying", "retrying", "retrying", "failed"]
    assert "there is no job type 'probe.note' in this process" in probe_org.job("stranger").last_error


def test_the_job_log_lists_the_newest_first_filters_by_status_and_pages(probe_org):
    records, jobs = probe_org.records, probe_org.jobs
    for number in range(5):
        enqueue(records, "probe.note", {}, key=f"log:{number}", jobs=jobs)
    enqueue(records, "probe.flaky", {"fail_times": 9}, key="log:flaky", jobs=jobs)
    store = jobs.store(records)

    with records.db.read() as conn:
        first = store.page(conn, limit=4)
        second = store.page(conn, before=first.next_before, limit=4)
        retrying = store.page(conn, status="retrying")
        counts = store.counts(conn)

    assert [job.key for job in first.rows] == ["log:flaky", "log:4", "log:3", "log:2"]
    assert [job.key for job in second.rows] == ["log:1", "log:0"] and second.next_before is None
    assert [job.key for job in retrying.rows] == ["log:flaky"]
    assert counts == {"queued": 0, "running": 0, "retrying": 1, "done": 5, "failed": 0}
    with records.db.read() as conn, pytest.raises(ValueError, match="'lost' is not a job status"):
        store.page(conn, status="lost")


def test_back_off_doubles_from_the_base_and_stops_at_the_cap():
    settings = JobSettings(backoff_seconds=10, backoff_max_seconds=60)

    assert [settings.backoff(attempt) for attempt in range(1, 6)] == [10, 20, 40, 60, 60]


@pytest.mark.parametrize(("config", "message"), [
    ({"JOBS_MAX_ATTEMPTS": "0"}, "TESSERA_JOBS_MAX_ATTEMPTS must be a whole number of at least 1, not '0'"),
    ({"JOBS_VISIBILITY_TIMEOUT": "soon"}, "TESSERA_JOBS_VISIBILITY_TIMEOUT must be a whole number"),
    ({"JOBS_TIMEZONE": "Mars/Olympus"}, "TESSERA_JOBS_TIMEZONE must be a time zone name"),
    ({"BROKER_URL": "amqp://localhost"}, "TESSERA_BROKER_URL must be a Redis URL"),
    ({"JOBS_QUEUE": "two words"}, "TESSERA_JOBS_QUEUE must be letters"),
])
def test_bad_jobs_settings_are_refused_naming_the_variable(config, message):
    with pytest.raises(JobsError, match=message):
        JobSettings.from_config(config)


def test_jobs_settings_come_from_the_environment_as_text():
    settings = JobSettings.from_config({"JOBS_MAX_ATTEMPTS": "7", "BROKER_URL": "redis://127.0.0.1:6379/2",
                                        "JOBS_TIMEZONE": "Asia/Shanghai"})

    assert (settings.max_attempts, settings.eager, settings.result_backend) == (7, False, "redis://127.0.0.1:6379/2")
    assert settings.zone.key == "Asia/Shanghai"


def test_an_org_without_the_job_table_is_reported_once_and_the_other_orgs_go_on(probe_org, tmp_path, caplog):
    """An org deployed before jobs existed: the scheduler says once what to run, and keeps
    serving the orgs that have the table."""
    from tessera.jobs import Jobs
    from tessera.records.service import RecordService
    from tessera.storage.database import Database

    records, clock = probe_org.records, probe_org.clock
    bare_db = Database.connect(f"sqlite:///{tmp_path / 'bare.db'}")
    bare = RecordService(records.registry, bare_db, org="bare")
    jobs = Jobs(probe_org.jobs.settings, job_types=probe_org.jobs.types.values(),
                records={"bare": bare, records.org: records}.__getitem__, orgs=lambda: ["bare", records.org],
                clock=clock)
    jobs.send = lambda org, job_id: None
    enqueue(records, "probe.note", {}, key="elsewhere", jobs=jobs)
    jobs.send = jobs.execute_now
    clock.advance(seconds=jobs.settings.visibility_timeout)

    with caplog.at_level("WARNING", logger="tessera.jobs.runner"):
        assert jobs.sweep() == 1
        assert jobs.sweep() == 0

    assert probe_org.job("elsewhere").status == "done"
    said = [r.getMessage() for r in caplog.records if r.name == "tessera.jobs.runner"]
    assert said == ["org bare: the job sweep could not read its jobs: it has no job table yet; "
                    "run `tessera metadata deploy --org bare`"]
    bare_db.dispose()
