"""The Celery side: the app built from Flask's config (Flask's ``celery_init_app`` pattern),
its three tasks, and the real worker and beat behind ``tessera worker`` / ``tessera beat``.

Every task runs inside the Flask app's context and names its org. With a broker, tasks are
acknowledged late (after they finish) and given back to the queue when their worker is lost,
one at a time per worker process, so a killed worker's job is delivered again; the job log
makes that second delivery harmless (:mod:`.runner`). Without a broker, Celery runs each task
eagerly, in the process that committed it.
"""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from celery import Celery, Task
from celery.schedules import BaseSchedule, schedstate

from .runner import Jobs
from .schedule import aware, check_cron, next_run
from .types import JobSettings

if TYPE_CHECKING:
    from flask import Flask

log = logging.getLogger(__name__)

#: the task that runs one job: ``(org, job_id)``
RUN_JOB = "tessera.jobs.run"
#: the task beat sends when a periodic job is due: ``(name,)``
FIRE_PERIODIC = "tessera.jobs.fire_periodic"
#: the task beat sends every minute to dispatch jobs that are due again
SWEEP = "tessera.jobs.sweep"
#: how often beat sends the sweep, in seconds
SWEEP_SECONDS = 60
#: database errors worth trying a task again for (the server restarting, a dropped connection)
_TRANSIENT = (sa.exc.OperationalError, sa.exc.InterfaceError)


class CronSchedule(BaseSchedule):
    """A cron expression as a Celery beat schedule (``beat_schedule`` entries)."""

    def __init__(self, expression: str, timezone: str, nowfun: Any = None, app: Any = None) -> None:
        super().__init__(nowfun=nowfun, app=app)
        self.expression = check_cron(expression)
        self.timezone = timezone

    @property
    def zone(self) -> dt.tzinfo:
        from zoneinfo import ZoneInfo

        return ZoneInfo(self.timezone)

    def now(self) -> dt.datetime:
        return self.nowfun() if self.nowfun else dt.datetime.now(self.zone)

    def remaining_estimate(self, last_run_at: dt.datetime) -> dt.timedelta:
        return next_run(self.expression, aware(last_run_at), self.zone) - self.now()

    def is_due(self, last_run_at: dt.datetime) -> tuple[bool, float]:
        """Due when a run time has passed since ``last_run_at``; the second value is how many
        seconds beat may sleep before asking again."""
        now = self.now()
        due = next_run(self.expression, aware(last_run_at), self.zone) <= now
        following = next_run(self.expression, now, self.zone)
        return schedstate(due, max(1.0, (following - now).total_seconds()))

    def __reduce__(self) -> tuple[Any, ...]:  # beat keeps its entries in a shelve file
        return self.__class__, (self.expression, self.timezone, self.nowfun)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, CronSchedule):
            return (self.expression, self.timezone) == (other.expression, other.timezone)
        return NotImplemented

    def __hash__(self) -> int:
        return hash((self.expression, self.timezone))

    def __repr__(self) -> str:
        return f"<cron {self.expression} ({self.timezone})>"


def celery_config(settings: JobSettings, periodic: Any = ()) -> dict[str, Any]:
    """Celery's settings from Tessera's (docs/jobs.md)."""
    config: dict[str, Any] = {
        "task_serializer": "json", "result_serializer": "json", "accept_content": ["json"],
        "timezone": settings.timezone, "enable_utc": True, "task_default_queue": settings.queue,
    }
    if settings.eager:
        return {**config, "task_always_eager": True, "task_eager_propagates": True, "broker_url": "memory://"}
    timeout = settings.visibility_timeout
    quarter = max(1, timeout // 4)
    transport = {"visibility_timeout": timeout,
                 # look for a lost worker's messages a few times per timeout, however short it is
                 "unacked_restore_interval": min(10, quarter), "unacked_restore_throttle": 1,
                 # a worker killed while it looked holds the look's lock until it expires (300 s
                 # by default): no longer than a quarter of the timeout, so it cannot stall redelivery
                 "unacked_mutex_expire": min(300, quarter),
                 "socket_connect_timeout": 5}
    schedule: dict[str, Any] = {
        f"periodic {job.name}": {"task": FIRE_PERIODIC, "args": (job.name,),
                                 "schedule": CronSchedule(job.schedule, settings.timezone)} for job in periodic}
    schedule["sweep"] = {"task": SWEEP, "schedule": float(SWEEP_SECONDS)}
    return {
        **config,
        "broker_url": settings.broker_url, "result_backend": settings.result_backend, "result_expires": 86400,
        "broker_transport_options": transport,
        "broker_connection_retry_on_startup": True,
        "task_acks_late": True, "task_reject_on_worker_lost": True, "worker_prefetch_multiplier": 1,
        "beat_schedule": schedule,
        "beat_schedule_filename": str(Path(settings.instance_path) / "celerybeat-schedule"),
    }


def celery_init_app(app: Flask, jobs: Jobs) -> Celery:
    """A Celery app configured from ``app.config["CELERY"]`` (Tessera's settings, then the
    app's own), whose tasks run inside ``app.app_context()``; kept in ``app.extensions["celery"]``.
    It is not made Celery's default app: each Flask app has its own."""

    class FlaskTask(Task):
        def __call__(self, *args: Any, **kwargs: Any) -> Any:
            with app.app_context():
                return self.run(*args, **kwargs)

    settings = jobs.settings
    # Tessera's Celery settings, under any the app's CELERY mapping sets (Python config only)
    app.config["CELERY"] = {**celery_config(settings, jobs.periodic.values()), **app.config.get("CELERY", {})}
    celery = Celery(app.import_name, task_cls=FlaskTask)
    celery.config_from_object(app.config["CELERY"])

    # without a broker the sweep tries again later; with one, Celery waits out a database hiccup.
    # A job's outcome is in the job log, so the result backend is spared one write per job.
    @celery.task(name=RUN_JOB, bind=True, ignore_result=True, autoretry_for=() if settings.eager else _TRANSIENT,
                 retry_backoff=max(1, settings.backoff_seconds), retry_backoff_max=max(1, settings.backoff_max_seconds),
                 retry_jitter=False, max_retries=settings.max_attempts)
    def run_job(self: Task, org: str, job_id: int) -> dict[str, Any]:
        outcome = jobs.execute(org, job_id)
        if outcome.retry_in is not None and not self.request.is_eager:
            # the job log counts attempts; Celery only carries the wait
            raise self.retry(countdown=outcome.retry_in, max_retries=None)
        return outcome.as_json()

    @celery.task(name=FIRE_PERIODIC)
    def fire_periodic(name: str) -> int:
        return len(jobs.fire_periodic(name))

    @celery.task(name=SWEEP)
    def sweep() -> int:
        return jobs.sweep()

    def send(org: str, job_id: int) -> None:
        run_job.apply_async((org, job_id))

    jobs.send = send
    app.extensions["celery"] = celery
    return celery


def run_worker(app: Flask, *, concurrency: int | None = None, loglevel: str = "info",
               pool: str | None = None, hostname: str | None = None) -> None:
    """Start the real Celery worker for ``app``'s jobs queue (blocks until it stops)."""
    from tessera.app import ORGS_KEY

    jobs: Jobs = app.extensions["tessera.jobs"]
    _close_connections(app.extensions.get(ORGS_KEY))  # each forked pool process opens its own
    argv = ["worker", f"--loglevel={loglevel}", "-Q", jobs.settings.queue,
            f"--hostname={hostname or 'tessera@%h'}", "--without-gossip", "--without-mingle"]
    if concurrency:
        argv.append(f"--concurrency={concurrency}")
    if pool:
        argv.append(f"--pool={pool}")
    app.extensions["celery"].worker_main(argv)


def run_beat(app: Flask, *, loglevel: str = "info") -> None:
    """Start Celery beat: it sends each periodic job when its cron schedule says, and the
    sweep every minute (blocks until it stops)."""
    jobs: Jobs = app.extensions["tessera.jobs"]
    Path(jobs.settings.instance_path).mkdir(parents=True, exist_ok=True)
    celery: Celery = app.extensions["celery"]
    celery.Beat(loglevel=loglevel.upper(), schedule=celery.conf.beat_schedule_filename).run()


def _close_connections(orgs: Any) -> None:
    """Close the pooled database connections of the open orgs and the platform store: a
    connection must not be shared by the processes a worker forks."""
    if orgs is None:
        return
    for name in orgs.names():
        orgs.get(name).db.engine.dispose()
    orgs.store.db.engine.dispose()
