"""The job system of one app: enqueueing, running a job exactly once in effect, periodic
runs and the sweep for jobs whose retry is due or whose dispatch or worker was lost.

How a job runs (:meth:`Jobs.execute`), whichever worker or process it lands in:

1. its own transaction counts the attempt and marks it ``running`` (so an attempt that kills
   its worker is still counted, and visible);
2. one unit of work locks the job's row, skips it if a twin delivery already finished it,
   runs the handler and marks the job ``done``: the effect and the ``done`` commit together,
   so a redelivered job that already committed does nothing;
3. a failure rolls the effect back; its own transaction records the message and makes the
   job ``retrying`` (due after the back-off) or, with the attempts used up, ``failed``.
"""

from __future__ import annotations

import datetime as dt
import inspect
import json
import logging
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from .periodic import PeriodicJob
from .schedule import last_run
from .store import JobStore
from .types import MAX_KEY, JobContext, JobSettings, JobsError, JobType, error_message

if TYPE_CHECKING:
    from tessera.records.service import RecordService, UnitOfWork

log = logging.getLogger(__name__)

#: the prefix of the job types periodic jobs run as
PERIODIC_PREFIX = "periodic."


@dataclass(frozen=True)
class Enqueued:
    """What :func:`enqueue` did: the job's id and key in its org, and whether this call
    created it (False: a job with that key already existed, and nothing new was queued)."""

    org: str
    id: int
    key: str
    created: bool


@dataclass(frozen=True)
class Outcome:
    """How one delivery of a job ended: ``done``, ``retrying`` (again in ``retry_in`` seconds),
    ``failed``, or ``skipped`` (already finished, or no such job)."""

    status: str
    retry_in: int | None = None
    result: Mapping[str, Any] | None = None

    def as_json(self) -> dict[str, Any]:
        return {"status": self.status, "retry_in": self.retry_in, "result": self.result}


class Jobs:
    """Job types, settings and the way to each org's records; built by :func:`tessera.jobs.init_app`.

    ``records(org)`` gives an org's RecordService; ``orgs()`` the names of the orgs periodic
    jobs run for (every active org). ``dispatch`` is set by the Celery app: it runs the job now
    (no broker) or publishes it. ``clock`` is for tests.
    """

    def __init__(self, settings: JobSettings, *, job_types: Iterable[JobType] = (),
                 periodic: Iterable[PeriodicJob] = (), records: Callable[[str], RecordService],
                 orgs: Callable[[], list[str]], clock: Callable[[], dt.datetime] | None = None) -> None:
        self.settings = settings
        self.records = records
        self.orgs = orgs
        self.clock = clock or (lambda: dt.datetime.now(dt.UTC))
        self.periodic: dict[str, PeriodicJob] = {job.name: job for job in periodic}
        self.types: dict[str, JobType] = {}
        for job_type in [*job_types, *(periodic_type(job) for job in self.periodic.values())]:
            if job_type.name in self.types:
                raise JobsError(f"job type '{job_type.name}' is registered twice")
            self.types[job_type.name] = job_type
        self.send: Callable[[str, int], None] = self.execute_now
        self._stores: dict[int, tuple[Any, JobStore]] = {}
        self._undeployed: set[str] = set()

    @property
    def stale_after(self) -> dt.timedelta:
        return dt.timedelta(seconds=self.settings.visibility_timeout)

    def store(self, records: RecordService) -> JobStore:
        """The job log of an org (one per compiled schema)."""
        found = self._stores.get(id(records.schema))
        if found is None or found[0] is not records.schema:
            found = (records.schema, JobStore(records.schema.jobs))
            self._stores[id(records.schema)] = found
        return found[1]

    # ------------------------------------------------------------------ enqueueing
    def enqueue(self, target: UnitOfWork | RecordService, name: str, payload: Mapping[str, Any] | None = None,
                *, key: str | None = None) -> Enqueued:
        """See :func:`tessera.jobs.enqueue`."""
        from tessera.records.service import SYSTEM, RecordService

        job_type = self.types.get(name) if isinstance(name, str) else None
        if job_type is None:
            raise JobsError(f"there is no job type '{name}' (registered: {', '.join(sorted(self.types)) or 'none'})")
        payload = _checked_payload(name, payload)
        if key is None:
            key = f"{name}:{uuid.uuid4().hex}"
        elif not isinstance(key, str) or not key.strip() or len(key) > MAX_KEY:
            raise JobsError(f"job '{name}': the key must be text of 1 to {MAX_KEY} characters, not {key!r}")
        if isinstance(target, RecordService):
            with target.unit_of_work(SYSTEM) as work:
                return self.enqueue(work, name, payload, key=key)
        work = target
        if work.read_only:
            raise RuntimeError("this unit of work was opened read_only=True: it cannot enqueue jobs")
        org = work.service.org
        job_id, created = self.store(work.service).insert(
            work.conn, key=key, name=name, payload=payload,
            max_attempts=job_type.max_attempts or self.settings.max_attempts, now=self.clock(),
            stale_after=self.stale_after, created_by=work.actor.id)
        if created:
            work.on_commit(lambda: self.dispatch(org, job_id))
        return Enqueued(org, job_id, key, created)

    def dispatch(self, org: str, job_id: int) -> None:
        """Run the job now (no broker) or publish it. A failure to publish is logged: the job
        is in the log as queued, and the sweep dispatches it again after the visibility timeout."""
        try:
            self.send(org, job_id)
        except Exception:  # noqa: BLE001 - the job is safe in the log; the sweep recovers it
            log.exception("job %s of org %s could not be dispatched; the sweep will try again", job_id, org)

    # ------------------------------------------------------------------ running
    def execute_now(self, org: str, job_id: int) -> None:
        """Run a job in this process (what dispatch does until a Celery app is attached)."""
        self.execute(org, job_id)

    def execute(self, org: str, job_id: int) -> Outcome:
        """Run one delivery of a job (see the module docstring)."""
        records = self.records(org)
        store = self.store(records)
        now = self.clock()
        with records.db.begin() as conn:
            job = store.start(conn, job_id, now, self.stale_after)
            if job is not None and job.attempts > job.max_attempts:
                store.fail(conn, job_id, now, f"gave up after {job.max_attempts} attempts: the worker running "
                           "it stopped before it finished", None)
                return Outcome("failed")
        if job is None:
            return Outcome("skipped")
        job_type = self.types.get(job.name)
        try:
            if job_type is None:
                raise JobsError(f"there is no job type '{job.name}' in this process; is the plugin that "
                                "registers it installed and enabled here?")
            context = JobContext(org, job.id, job.name, job.key, job.payload, job.attempts, now, records)
            if not job_type.transactional:
                result = _checked_result(job.name, job_type.run(context))
                with records.db.begin() as conn:
                    store.finish(conn, job.id, self.clock(), result)
                return Outcome("done", result=result)
            from tessera.records.service import SYSTEM

            with records.unit_of_work(SYSTEM) as work:
                current = store.get(work.conn, job.id, lock=True)
                if current is None or current.status in ("done", "failed"):
                    return Outcome("skipped")  # a twin delivery finished it meanwhile
                result = _checked_result(job.name, job_type.run(_with_work(context, work)))
                store.finish(work.conn, job.id, self.clock(), result)
            return Outcome("done", result=result)
        except Exception as exc:  # noqa: BLE001 - any failure of the handler is the job's failure
            return self._failed(records, store, job.id, job.attempts, job.max_attempts, exc)

    def _failed(self, records: RecordService, store: JobStore, job_id: int, attempt: int, max_attempts: int,
                exc: Exception) -> Outcome:
        log.warning("job %s failed (attempt %s of %s)", job_id, attempt, max_attempts, exc_info=exc)
        now = self.clock()
        message = error_message(exc)
        with records.db.begin() as conn:
            if attempt >= max_attempts:
                store.fail(conn, job_id, now, message, None)
                return Outcome("failed")
            delay = self.settings.backoff(attempt)
            store.fail(conn, job_id, now, message, now + dt.timedelta(seconds=delay))
        return Outcome("retrying", retry_in=delay)

    # ------------------------------------------------------------------ periodic runs and the sweep
    def fire_periodic(self, name: str, slot: dt.datetime | None = None) -> list[Enqueued]:
        """Enqueue the periodic job ``name`` for its scheduled time ``slot`` (default: the
        latest one now) in every active org. The key names the slot, so two schedulers firing
        the same time (two serve processes, or beat after a restart) enqueue it once."""
        job = self.periodic.get(name)
        if job is None:
            raise JobsError(f"there is no periodic job '{name}' (registered: {', '.join(sorted(self.periodic)) or 'none'})")
        slot = slot or last_run(job.schedule, self.clock(), self.settings.zone)
        stamp = slot.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%MZ")
        enqueued = []
        for org in self.orgs():
            try:
                if job.wanted is not None and not job.wanted(org=org, at=slot, records=self.records(org),
                                                             zone=self.settings.zone):
                    continue
                enqueued.append(self.enqueue(self.records(org), PERIODIC_PREFIX + name,
                                             {"scheduled_for": slot.isoformat()}, key=f"{PERIODIC_PREFIX}{name}:{stamp}"))
            except Exception as exc:  # noqa: BLE001 - one org's trouble must not keep the others' runs from happening
                self._org_failed(org, f"periodic job {name} could not be enqueued", exc)
        return enqueued

    def sweep(self, now: dt.datetime | None = None) -> int:
        """Dispatch, in every active org, the jobs that are due: retries whose back-off is
        over (with a broker, only when their own retry message is a visibility timeout late)
        and queued or running jobs untouched for the visibility timeout. Returns how many."""
        now = now or self.clock()
        grace = dt.timedelta(0) if self.settings.eager else self.stale_after
        count = 0
        for org in self.orgs():
            try:
                records = self.records(org)
                store = self.store(records)
                with records.db.begin() as conn:
                    due = store.due(conn, now, retry_grace=grace)
                    store.postpone(conn, [job_id for job_id, _status in due], now + self.stale_after)
            except Exception as exc:  # noqa: BLE001 - an org without the table yet, or unreachable: the others go on
                self._org_failed(org, "the job sweep could not read its jobs", exc)
                continue
            for job_id, _status in due:
                self.dispatch(org, job_id)
            count += len(due)
        return count

    def _org_failed(self, org: str, what: str, exc: Exception) -> None:
        """Log an org's trouble in the scheduler's work: an org whose database has no job table
        yet (deployed before jobs existed) is said once per process, in one line."""
        if isinstance(exc, sa.exc.OperationalError | sa.exc.ProgrammingError) and "tessera_jobs" in str(exc):
            if org not in self._undeployed:
                self._undeployed.add(org)
                log.warning("org %s: %s: it has no job table yet; run `tessera metadata deploy --org %s`",
                            org, what, org)
            return
        log.error("org %s: %s", org, what, exc_info=exc)


def periodic_type(job: PeriodicJob) -> JobType:
    """The job type a periodic job's runs are: its task called with the arguments it takes."""
    parameters = inspect.signature(job.task).parameters
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values())
    wanted = {name for name in ("org", "now", "records", "work") if takes_any or name in parameters}

    def run(context: JobContext) -> Mapping[str, Any] | None:
        offered = {"org": context.org, "now": dt.datetime.fromisoformat(context.payload["scheduled_for"]),
                   "records": context.records, "work": context.work}
        answer = job.task(**{name: value for name, value in offered.items() if name in wanted})
        return answer if answer is None or isinstance(answer, Mapping) else {"value": answer}

    return JobType(PERIODIC_PREFIX + job.name, run, transactional="work" in wanted, description=job.description)


def _with_work(context: JobContext, work: UnitOfWork) -> JobContext:
    from dataclasses import replace

    return replace(context, work=work)


def _checked_payload(name: str, payload: Mapping[str, Any] | None) -> dict[str, Any]:
    if payload is None:
        return {}
    if not isinstance(payload, Mapping):
        raise JobsError(f"job '{name}': the payload must be a mapping, not {type(payload).__name__}")
    try:
        return json.loads(json.dumps(dict(payload), allow_nan=False))
    except (TypeError, ValueError) as exc:
        raise JobsError(f"job '{name}': the payload must be JSON (text, numbers, true/false, null, lists "
                        f"and mappings with text keys): {exc}") from None


def _checked_result(name: str, result: Any) -> dict[str, Any] | None:
    if result is None:
        return None
    if not isinstance(result, Mapping):
        raise JobsError(f"job '{name}' returned {type(result).__name__}; a job returns a mapping or None")
    try:
        return json.loads(json.dumps(dict(result), allow_nan=False, default=str))
    except (TypeError, ValueError) as exc:
        raise JobsError(f"job '{name}' returned a result that is not JSON: {exc}") from None
