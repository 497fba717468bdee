"""A plugin for the job tests: job types whose effects the tests can count.

Every job writes one ``note`` record carrying the job's key, through ``job.work``, so a test
counts notes per key to see that each job took effect exactly once. The tests put this package
on the path with a hand-written distribution (tests/jobs/conftest.py), so a ``tessera worker``
subprocess loads it through its entry point like any installed plugin.
"""

from __future__ import annotations

import time
from pathlib import Path

from tessera.hookspecs import hookimpl
from tessera.jobs import JobContext, JobType, PeriodicJob

#: the key of a job that takes its time, so a test can kill the worker while it runs
SLOW_KEY = "probe:slow"


def write_note(job: JobContext) -> dict:
    """One note per run; the first attempt of the job whose key is SLOW_KEY then keeps its
    transaction open for ``seconds``, long enough to be killed in the middle."""
    note = job.work.create("note", {"name": job.payload.get("name", job.key), "job_key": job.key})
    if job.key == SLOW_KEY and job.attempt == 1:
        time.sleep(float(job.payload.get("seconds", 3)))
    return {"note": note["id"]}


def flaky_note(job: JobContext) -> dict:
    """Fails its first ``fail_times`` attempts, then writes its note."""
    if job.attempt <= int(job.payload.get("fail_times", 0)):
        raise RuntimeError(f"planned failure {job.attempt}")
    return write_note(job)


def periodic_note(org: str, now, work) -> dict:
    """The periodic probe: a note named after the scheduled time, in the run's transaction."""
    work.create("note", {"name": f"tick {now.isoformat()}", "job_key": f"tick:{org}"})
    return {"scheduled_for": now.isoformat()}


@hookimpl
def tessera_metadata_packages() -> list[Path]:
    return [Path(__file__).parent / "metadata" / "jobs_probe"]


@hookimpl
def tessera_register_job_types() -> list[JobType]:
    return [JobType("probe.note", write_note, label={"en": "Probe note", "zh-CN": "探针便签"}),
            JobType("probe.flaky", flaky_note, max_attempts=3)]


@hookimpl
def tessera_register_periodic_jobs() -> list[PeriodicJob]:
    return [PeriodicJob("probe.tick", "*/15 * * * *", periodic_note)]
