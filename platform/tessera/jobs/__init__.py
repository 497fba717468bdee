"""Background jobs: Celery with Redis, eager in-process when no broker is configured (docs/jobs.md).

Register a kind of job, then enqueue it from a record write; it runs after the commit, never
for a write that rolled back::

    from tessera.hookspecs import hookimpl
    from tessera.jobs import JobContext, JobType, enqueue

    def send_welcome(job: JobContext) -> dict | None:
        lead = job.work.get("lead", job.payload["lead"])        # the effect goes through job.work:
        job.work.create("activity", {"subject": f"Welcome {lead['name']}"})  # it commits with "done"
        return {"activity": "created"}

    @hookimpl
    def tessera_register_job_types():
        return [JobType("leads.welcome", send_welcome)]

    # inside a unit of work (a record hook, a flow step, an action):
    enqueue(work, "leads.welcome", {"lead": record_id}, key=f"leads.welcome:{record_id}")
    # or on its own (its own short transaction):
    enqueue(records, "leads.welcome", {"lead": record_id})

The guarantees: a job enqueued in a unit of work exists only if that unit of work commits (the
job's row is written in its transaction; a refused batch row's savepoint drops it too) and is
dispatched only after the commit; a key enqueues at most once per org; a job's effect through
``job.work`` happens exactly once however often it is delivered; a failing job is retried
with exponential back-off, then marked failed; /admin/jobs shows every job's status, attempts
and last error.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .periodic import PeriodicJob
from .runner import Enqueued, Jobs, Outcome
from .types import STATUSES, JobContext, JobSettings, JobsError, JobType

if TYPE_CHECKING:
    from flask import Flask

    from tessera.records.service import RecordService, UnitOfWork

__all__ = ["JOBS_KEY", "STATUSES", "Enqueued", "JobContext", "JobSettings", "JobType", "Jobs", "JobsError",
           "Outcome", "PeriodicJob", "current_jobs", "enqueue", "init_app"]

#: where the app keeps its :class:`Jobs` (``app.extensions[JOBS_KEY]``)
JOBS_KEY = "tessera.jobs"


def enqueue(target: UnitOfWork | RecordService, name: str, payload: Mapping[str, Any] | None = None, *,
            key: str | None = None, jobs: Jobs | None = None) -> Enqueued:
    """Queue the job type ``name`` with ``payload`` (JSON: text, numbers, booleans, null, lists,
    mappings) for the org of ``target``.

    ``target`` is a writable unit of work: the job's row is written in its transaction and the
    job is dispatched only once it commits; if it rolls back (or the batch row's savepoint it
    was enqueued in is refused), the job never existed. ``target`` may also be a RecordService:
    the job is then written in a transaction of its own and dispatched at once.

    ``key`` is the job's idempotency key (at most 200 characters; default: a new random one):
    a second enqueue with a key the org already has does nothing and returns the existing
    job's id with ``created=False`` — name keys after what must happen once
    (``"flows.resume:approval:42:v7"``).

    Without a broker the job runs in this process right after the commit (a failure waits
    for its back-off and the in-process scheduler); with one, a ``tessera worker`` runs it.
    ``jobs`` is the app's job system, found through the Flask app context (requests, jobs and
    app commands have one); pass it explicitly elsewhere. Raises :class:`JobsError` for an
    unknown job type, a payload that is not JSON or a bad key, and when there is no app.
    """
    return (jobs or current_jobs()).enqueue(target, name, payload, key=key)


def current_jobs() -> Jobs:
    """The job system of the current Flask app."""
    from flask import current_app, has_app_context

    if not has_app_context() or JOBS_KEY not in current_app.extensions:
        raise JobsError("jobs need the Tessera app: enqueue inside a request, a job or an app command, "
                        "or pass jobs=app.extensions['tessera.jobs']")
    return current_app.extensions[JOBS_KEY]


def init_app(app: Flask) -> Jobs:
    """Build the app's job system from its config and plugins (job types, periodic jobs), its
    Celery app, and the job log's page and API. Raises JobsError on a bad jobs setting."""
    from tessera.app import ORGS_KEY, PLUGINS_KEY

    from . import views
    from .tasks import celery_init_app

    settings = JobSettings.from_config(app.config, instance_path=app.instance_path)
    plugins = app.extensions[PLUGINS_KEY]
    orgs = app.extensions[ORGS_KEY]
    jobs = Jobs(settings, job_types=plugins.job_types.values(), periodic=plugins.periodic_jobs.values(),
                records=orgs.records, orgs=lambda: [org.name for org in orgs.store.orgs() if org.active])
    app.extensions[JOBS_KEY] = jobs
    celery_init_app(app, jobs)
    app.register_blueprint(views.bp)
    return jobs
