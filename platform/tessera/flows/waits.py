"""The ``wait`` step: pause until a date comes or a condition holds, then go on.

::

    - type: wait
      until: end_date - 30              # a date or date-time formula (optional)
      condition: status = "active"      # optional: go on after the first save where it holds
      steps:                            # what runs once the wait is over
        - {type: notify, to: [{field: owner_id}], title: '"Renewal due: " & name'}

When the step is reached and the date has already come (or the condition already holds), its
steps run at once. Otherwise the wait is written down (``tessera_flow_waits``) in the flow's
transaction — a write that rolls back leaves no wait — and the flow goes on with its next
step. Waits for a date are resumed by the ``tessera.flow_waits`` periodic job (every minute;
a date without a time means midnight in the JOBS_TIMEZONE zone); waits for a condition by a
``tessera.flow_resume`` job queued when a save of the record makes the condition hold. A
resumed wait runs its steps as the system against the record as it is then, exactly once.
A wait ends ``cancelled`` when its record was deleted or its flow no longer has the step, and
``failed`` (with the reason) when its steps are refused; /admin/jobs shows the jobs.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from tessera.expressions import FormulaError, FormulaType
from tessera.records.errors import RecordError, RecordNotFound

from .steps import FlowStepType, StepError

RESUME_JOB = "tessera.flow_resume"
#: a periodic run resumes at most this many due waits (the rest on the next minute)
MAX_PER_RUN = 500

SCHEMA = {
    "type": "object", "required": ["steps"], "additionalProperties": False,
    "anyOf": [{"required": ["until"]}, {"required": ["condition"]}],
    "properties": {"until": {"type": "string"}, "condition": {"type": ["string", "boolean"]},
                   "steps": {"type": "array", "minItems": 1, "items": {"type": "object", "required": ["type"]}}},
}


def _prepare(compiler: Any, props: Mapping[str, Any]) -> Any:
    until = None
    if props.get("until") is not None:
        until = compiler.formula(props["until"], key="until")
        if until.result_type not in (FormulaType.DATE, FormulaType.DATETIME, FormulaType.NULL):
            raise compiler.fail(f"until: gives {until.result_type.value}, not a date or date-time", at="until")
    condition = None
    if props.get("condition") is not None:
        condition = compiler.formula(props["condition"], expected=FormulaType.BOOLEAN, key="condition")
    return until, condition, compiler.steps(props["steps"], compiler.where + ".steps")


def _zone() -> dt.tzinfo:
    from flask import current_app, has_app_context

    return ZoneInfo(str((current_app.config.get("JOBS_TIMEZONE") if has_app_context() else None) or "UTC"))


def _moment(value: Any) -> dt.datetime | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    return dt.datetime.combine(value, dt.time(), tzinfo=_zone()).astimezone(dt.UTC)


def _run(run: Any, prepared: Any) -> Mapping[str, Any]:
    until, condition, steps = prepared
    record_id = run.record.get("id")
    if record_id is None:
        raise StepError("a wait needs a saved record: run the flow after saving (timing: after_save)")
    resume_at = _moment(run.evaluate(until)) if until is not None else None
    now = run.work.now
    if condition is not None and run.evaluate(condition):
        run.note("wait: the condition already holds; going on")
        run.run_steps(steps)
        return {"waited": False}
    if resume_at is not None and resume_at <= now:
        run.note(f"wait: {resume_at.isoformat(timespec='minutes')} has come; going on")
        run.run_steps(steps)
        return {"waited": False}
    if resume_at is None and condition is None:
        run.note("wait: the date is blank; nothing to wait for, the steps after it do not run")
        return {"waited": False}
    table = run.work.service.schema.flow_waits
    wait_id = run.work.conn.execute(sa.insert(table).values(
        flow=run.flow.name, step=_where(run), object=run.object, record_id=int(record_id), status="waiting",
        resume_at=resume_at, on_condition=condition is not None, created_at=now).returning(table.c.id)).scalar_one()
    what = " or ".join(filter(None, [resume_at and f"until {resume_at.isoformat(timespec='minutes')}",
                                    condition is not None and "until its condition holds"]))
    run.note(f"wait {wait_id}: {'would wait' if run.dry_run else 'waiting'} {what}")
    return {"waited": True, "wait": int(wait_id)}


def _where(run: Any) -> str:
    step = run.current_step
    return step.where if step is not None else ""


WAIT_STEP = FlowStepType(
    "wait", {"en": "Wait", "zh-CN": "等待"}, _run, SCHEMA,
    "Wait until a date comes or a condition holds, then run its steps.", _prepare)


# ------------------------------------------------------------------------------ resuming

def resume(engine: Any, work: Any, wait: Any) -> str:
    """Resume one waiting row in ``work`` (acting as the system): run its steps against the
    record as it is now; its new status (resumed, cancelled, failed). Its steps' refusal is
    kept as the wait's failure and undoes only their own writes."""
    from .engine import FlowRun

    table = engine.service.schema.flow_waits
    claimed = work.conn.execute(sa.update(table).where((table.c.id == wait.id) & (table.c.status == "waiting"))
                                .values(status="resumed", finished_at=work.now)).rowcount
    if not claimed:
        return "gone"  # another run resumed or cancelled it first
    flow = engine.flows.get(wait.flow)
    step = flow.step_index.get(wait.step) if flow is not None else None
    if flow is None or step is None or step.type.name != "wait" or not flow.active:
        return _finish(work, table, wait.id, "cancelled", "the flow no longer has this wait step (or is inactive)")
    try:
        record = work.get(wait.object, wait.record_id)
    except RecordNotFound:
        return _finish(work, table, wait.id, "cancelled", "the record was deleted")
    system = engine._system_work(work)
    run = FlowRun(engine, flow, system, wait.object, dict(record))
    savepoint = work.conn.begin_nested()
    try:
        with engine._nested(system, flow):
            run.note(f"flow {flow.name}: resuming wait {wait.id} on {wait.object} {wait.record_id}")
            run.run_steps(step.properties[2])
    except (RecordError, FormulaError, StepError) as exc:
        savepoint.rollback()
        return _finish(work, table, wait.id, "failed", _message(exc))
    savepoint.commit()
    return "resumed"


def _finish(work: Any, table: sa.Table, wait_id: int, status: str, detail: str) -> str:
    work.conn.execute(sa.update(table).where(table.c.id == wait_id)
                      .values(status=status, finished_at=work.now, detail=detail[:2000]))
    return status


def _message(exc: Exception) -> str:
    return exc.message if isinstance(exc, FormulaError) else str(exc)


def due_waits(records: Any, conn: sa.Connection, at: dt.datetime, *, limit: int = MAX_PER_RUN) -> list[Any]:
    table = records.schema.flow_waits
    return list(conn.execute(sa.select(table).where((table.c.status == "waiting") & (table.c.resume_at <= at))
                             .order_by(table.c.resume_at, table.c.id).limit(limit)))


def any_due(*, org: str, at: dt.datetime, records: Any, zone: dt.tzinfo) -> bool:
    """The periodic job's ``wanted``: whether a wait of the org is due at ``at``."""
    with records.db.engine.connect() as conn:
        return bool(due_waits(records, conn, at, limit=1))


def resume_due_job(org: str, now: dt.datetime, records: Any, work: Any) -> dict[str, Any]:
    """The ``tessera.flow_waits`` periodic job: resume every wait due by ``now``."""
    outcomes: dict[str, int] = {}
    for wait in due_waits(records, work.conn, now):
        status = resume(records.flows, work, wait)
        outcomes[status] = outcomes.get(status, 0) + 1
    return outcomes


# ------------------------------------------------------------------------------ conditions

def attach_condition_waits(engine: Any) -> None:
    """After each save of an object some flow waits on with a condition, queue the resumption
    of the record's waits whose condition now holds."""
    objects = {step_object for flow in engine.flows.values() if flow.active
               for step_object in _condition_wait_objects(engine, flow)}
    if not objects:
        return

    def after_save(change: Any) -> None:
        if change.object.name not in objects or change.record_id is None:
            return
        table = engine.service.schema.flow_waits
        rows = list(change.work.conn.execute(sa.select(table).where(
            (table.c.object == change.object.name) & (table.c.record_id == int(change.record_id))
            & (table.c.status == "waiting") & table.c.on_condition)))
        for wait in rows:
            flow = engine.flows.get(wait.flow)
            step = flow.step_index.get(wait.step) if flow is not None else None
            if step is None or step.type.name != "wait" or step.properties[1] is None:
                continue
            system = engine._system_work(change.work)
            context = system._context(change.object, change.values, change.prior)
            try:
                holds = bool(step.properties[1](context))
            except FormulaError:
                holds = False
            if holds:
                from tessera.jobs import enqueue

                enqueue(change.work, RESUME_JOB, {"wait": int(wait.id)}, key=f"{RESUME_JOB}:{wait.id}",
                        jobs=engine.jobs)

    engine.service.events.listen("after_save", after_save)


def _condition_wait_objects(engine: Any, flow: Any) -> set[str]:
    found = set()
    for step in flow.step_index.values():
        if step.type.name == "wait" and step.properties[1] is not None:
            found.add(_object_at(engine, flow, step.where))
    return found


def _object_at(engine: Any, flow: Any, where: str) -> str:
    """The object a step runs against: the flow's, or a loop's related object above it."""
    obj = flow.object
    path = ""
    for part in where.split("."):
        path = f"{path}.{part}" if path else part
        step = flow.step_index.get(path)
        if step is not None and step.type.name == "loop":
            obj = step.properties[0]
    return obj


def resume_job(job: Any) -> dict[str, Any]:
    """The ``tessera.flow_resume`` job: resume the wait ``payload.wait`` (its condition held)."""
    table = job.records.schema.flow_waits
    wait = job.work.conn.execute(sa.select(table).where(table.c.id == int(job.payload["wait"]))).first()
    if wait is None:
        return {"status": "gone"}
    return {"status": resume(job.records.flows, job.work, wait)}


def resume_job_type() -> Any:
    from tessera.jobs.types import JobType

    return JobType(RESUME_JOB, resume_job, description="Resume a flow whose wait condition now holds.")
