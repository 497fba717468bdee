"""Approval processes: a record is submitted, approvers decide step by step, and the outcome
runs flow steps (set a status, create a record...). While a request is pending the record is
locked: only the system (flows, the outcome steps) may change it.

An approval process is a flow document with ``trigger: {type: approval}``::

    object: quote
    trigger: {type: approval, condition: needs_approval}    # who may submit: the entry criteria
    approval:
      steps:
        - {name: manager, approver: {manager_of: owner_id}}
        - {name: director, approver: {role: sales_director}, condition: total_discount > 30}
      on_submit:  [{type: set_fields, values: {status: '"in_approval"'}}]
      on_approve: [{type: set_fields, values: {status: '"approved"'}}]
      on_reject:  [{type: set_fields, values: {status: '"rejected"'}}]
      on_recall:  [{type: set_fields, values: {status: '"draft"'}}]

Approvers: ``{user: username}``, ``{role: name}`` (anyone with that role), ``{manager_of:
field}`` (the manager of the user in that field, e.g. the owner), ``{field: name}`` (the user a
field holds). A step whose ``condition`` does not hold is skipped; a step with nobody to decide
is an error when it is reached, so a request never waits on no one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from tessera.expressions import CompiledExpression, FormulaError, FormulaType
from tessera.metadata.model import Label
from tessera.records.errors import RECORD, Problem, RecordError, ValidationFailed, _l

from .model import Step
from .people import check_person, resolve_people


LOCKED = _l("This record is waiting for approval (%(process)s) and cannot be changed until it is decided.")
NOT_SUBMITTABLE = _l("This record does not meet the entry criteria of %(process)s.")
ALREADY_PENDING = _l("This record is already waiting for approval (%(process)s).")
NOT_PENDING = _l("This record has no pending approval request.")
NOT_AN_APPROVER = _l("You are not an approver of the current step (%(step)s).")
ONLY_SUBMITTER = _l("Only the person who submitted the request (or an admin) may recall it.")
NO_APPROVER = _l("Step %(step)s of %(process)s has nobody to decide it.")
COMMENT_TOO_LONG = _l("At most %(max)s characters.")
MAX_COMMENT = 2000


@dataclass(frozen=True)
class ApprovalStepDef:
    name: str
    label: Label
    approver: Mapping[str, Any]
    condition: CompiledExpression | None = None


@dataclass(frozen=True)
class ApprovalProcess:
    name: str
    label: Label
    object: str
    condition: CompiledExpression | None
    steps: tuple[ApprovalStepDef, ...]
    outcomes: Mapping[str, tuple[Step, ...]]  # on_submit, on_approve, on_reject, on_recall
    lock: bool = True


class ApprovalRefused(ValidationFailed):
    """The request cannot be made or decided (not an approver, nothing pending...): a
    record-level problem, like a validation rule's."""


def compile_approval(compiler: Any, data: Mapping[str, Any], label: Label, condition: Any) -> ApprovalProcess:
    """The ``approval`` section of a flow, compiled (``compiler`` is the flow's StepCompiler)."""
    section = data.get("approval") or {}
    obj = compiler.object_def()
    steps = []
    for index, raw in enumerate(section.get("steps") or ()):
        compiler.where = f"approval.steps[{index}]"
        approver = check_person(compiler, raw.get("approver"), at="approver")
        step_condition = None
        if raw.get("condition") is not None:
            step_condition = compiler.formula(raw["condition"], expected=FormulaType.BOOLEAN, key="condition")
        steps.append(ApprovalStepDef(str(raw["name"]), Label.of(raw.get("label"), str(raw["name"])),
                                     approver, step_condition))
    if not steps:
        compiler.where = "approval"
        raise compiler.fail("an approval process needs at least one step", at="steps")
    outcomes = {key: compiler.steps(section.get(key), f"approval.{key}")
                for key in ("on_submit", "on_approve", "on_reject", "on_recall")}
    return ApprovalProcess(compiler.flow, label, obj.name, condition, tuple(steps), outcomes,
                           bool(section.get("lock", True)))


class Approvals:
    """Approval requests of one record service: submit, approve, reject, recall, history,
    the approver's queue, and the lock on pending records."""

    def __init__(self, engine: Any, processes: Mapping[str, ApprovalProcess]) -> None:
        self.engine = engine
        self.service = engine.service
        self.processes = dict(processes)
        self.by_object: dict[str, list[ApprovalProcess]] = {}
        for process in self.processes.values():
            self.by_object.setdefault(process.object, []).append(process)

    # ------------------------------------------------------------------ the lock
    def attach(self) -> None:
        if any(p.lock for p in self.processes.values()):
            self.service.events.listen("before_validate", self._locked)

    def _locked(self, change: Any) -> None:
        if change.action != "update" or change.actor.is_system or change.object.name not in self.by_object:
            return
        pending = self._pending(change.work, change.object.name, change.record_id)
        if pending is not None and self.processes.get(pending["process"], None) is not None \
                and self.processes[pending["process"]].lock:
            label = self.processes[pending["process"]].label
            raise ValidationFailed(change.object.name, {RECORD: [Problem(LOCKED, {"process": label})]})

    def _label(self, process_name: str) -> Label | str:
        """A process's name in every language (its plain name once it left the metadata)."""
        process = self.processes.get(process_name)
        return process.label if process is not None else process_name

    # ------------------------------------------------------------------ requests
    def submit(self, work: Any, object_name: str, record_id: int, process_name: str | None = None,
               comment: str | None = None) -> dict[str, Any]:
        """Start an approval request for a record the actor may edit; runs ``on_submit``."""
        work.access.require(object_name, "edit")  # submitting is a change the submitter must be allowed
        work.get(object_name, record_id)
        work._require_record(self.service.runtime(object_name), record_id, "edit")
        process = self._process(object_name, process_name)
        comment = _comment(object_name, comment)
        pending = self._pending(work, object_name, record_id)
        if pending is not None:
            raise ApprovalRefused(object_name, {RECORD: [Problem(ALREADY_PENDING, {"process": self._label(pending["process"])})]})
        system = self.engine._system_work(work)
        full = system.get(object_name, record_id)
        if process.condition is not None and not self._holds(system, process, process.condition, full):
            raise ApprovalRefused(object_name, {RECORD: [Problem(NOT_SUBMITTABLE, {"process": process.label})]})
        tables = self.service.schema
        request_id = int(work.conn.execute(sa.insert(tables.approvals).values(
            object=object_name, record_id=record_id, process=process.name, status="pending", step=None,
            submitted_by=work.actor.id, submitted_at=work.now).returning(tables.approvals.c.id)).scalar_one())
        self._log(work, request_id, None, "submit", comment)
        self._run_outcome(system, process, "on_submit", full)
        self._advance(work, system, process, request_id, object_name, record_id, after=None)
        return self.request(work, request_id)

    def decide(self, work: Any, object_name: str, record_id: int, decision: str, comment: str | None = None
               ) -> dict[str, Any]:
        """``approve`` or ``reject`` the current step as one of its approvers."""
        assert decision in ("approve", "reject")
        work.get(object_name, record_id)  # the approver must be able to see the record
        comment = _comment(object_name, comment)
        pending = self._pending(work, object_name, record_id, lock=True)
        if pending is None:
            raise ApprovalRefused(object_name, {RECORD: [Problem(NOT_PENDING)]})
        process = self.processes[pending["process"]]
        if work.actor.id not in self._assignees(work, pending["id"]) and not self._is_admin(work.actor):
            step = next((s.label for s in process.steps if s.name == pending["step"]), pending["step"])
            raise ApprovalRefused(object_name, {RECORD: [Problem(NOT_AN_APPROVER, {"step": step})]})
        self._log(work, pending["id"], pending["step"], decision, comment)
        system = self.engine._system_work(work)
        if decision == "reject":
            self._close(work, pending["id"], "rejected")
            self._run_outcome(system, process, "on_reject", system.get(object_name, record_id))
        else:
            self._advance(work, system, process, pending["id"], object_name, record_id, after=pending["step"])
        return self.request(work, pending["id"])

    def recall(self, work: Any, object_name: str, record_id: int, comment: str | None = None) -> dict[str, Any]:
        """Withdraw a pending request (its submitter or an admin); runs ``on_recall``."""
        work.get(object_name, record_id)
        comment = _comment(object_name, comment)
        pending = self._pending(work, object_name, record_id, lock=True)
        if pending is None:
            raise ApprovalRefused(object_name, {RECORD: [Problem(NOT_PENDING)]})
        if pending["submitted_by"] != work.actor.id and not self._is_admin(work.actor) and not work.actor.is_system:
            raise ApprovalRefused(object_name, {RECORD: [Problem(ONLY_SUBMITTER)]})
        process = self.processes[pending["process"]]
        self._log(work, pending["id"], pending["step"], "recall", comment)
        self._close(work, pending["id"], "recalled")
        system = self.engine._system_work(work)
        self._run_outcome(system, process, "on_recall", system.get(object_name, record_id))
        return self.request(work, pending["id"])

    # ------------------------------------------------------------------ reading
    def request(self, work: Any, request_id: int) -> dict[str, Any]:
        t = self.service.schema.approvals
        row = dict(work.conn.execute(sa.select(t).where(t.c.id == request_id)).mappings().one())
        row["approvers"] = sorted(self._assignees(work, request_id)) if row["status"] == "pending" else []
        row["history"] = self._history(work, request_id)
        return row

    def for_record(self, work: Any, object_name: str, record_id: int) -> list[dict[str, Any]]:
        """Every request of a record, newest first, with its history (the record must be visible)."""
        work.get(object_name, record_id)
        t = self.service.schema.approvals
        ids = work.conn.execute(sa.select(t.c.id).where((t.c.object == object_name) & (t.c.record_id == record_id))
                                .order_by(t.c.id.desc())).scalars().all()
        return [self.request(work, request_id) for request_id in ids]

    def queue(self, work: Any) -> list[dict[str, Any]]:
        """The pending requests the actor decides now, oldest first."""
        t, a = self.service.schema.approvals, self.service.schema.approval_assignees
        rows = work.conn.execute(
            sa.select(t).join(a, a.c.approval_id == t.c.id)
            .where((a.c.user_id == work.actor.id) & (t.c.status == "pending") & (a.c.step == t.c.step))
            .order_by(t.c.submitted_at, t.c.id)).mappings().all()
        return [dict(row) for row in rows]

    # ------------------------------------------------------------------ inside
    def _process(self, object_name: str, name: str | None) -> ApprovalProcess:
        candidates = self.by_object.get(object_name, [])
        if name is not None:
            candidates = [p for p in candidates if p.name == name]
        if not candidates:
            raise UnknownProcess(object_name, name)
        return candidates[0]

    def _pending(self, work: Any, object_name: str, record_id: Any, *, lock: bool = False) -> dict[str, Any] | None:
        t = self.service.schema.approvals
        query = sa.select(t).where((t.c.object == object_name) & (t.c.record_id == record_id)
                                   & (t.c.status == "pending"))
        if lock and work.conn.dialect.name == "postgresql":
            query = query.with_for_update()
        row = work.conn.execute(query).mappings().first()
        return dict(row) if row is not None else None

    def _assignees(self, work: Any, request_id: int) -> set[int]:
        t, a = self.service.schema.approvals, self.service.schema.approval_assignees
        return set(work.conn.execute(sa.select(a.c.user_id).join(t, t.c.id == a.c.approval_id)
                                     .where((a.c.approval_id == request_id) & (a.c.step == t.c.step))).scalars())

    def _history(self, work: Any, request_id: int) -> list[dict[str, Any]]:
        h = self.service.schema.approval_actions
        return [dict(r) for r in work.conn.execute(
            sa.select(h.c.step, h.c.action, h.c.actor, h.c.comment, h.c.at)
            .where(h.c.approval_id == request_id).order_by(h.c.id)).mappings()]

    def _log(self, work: Any, request_id: int, step: str | None, action: str, comment: str | None) -> None:
        work.conn.execute(sa.insert(self.service.schema.approval_actions).values(
            approval_id=request_id, step=step, action=action, actor=work.actor.id, comment=comment, at=work.now))

    def _close(self, work: Any, request_id: int, status: str) -> None:
        t = self.service.schema.approvals
        work.conn.execute(sa.update(t).where(t.c.id == request_id).values(status=status, decided_at=work.now))

    def _advance(self, work: Any, system: Any, process: ApprovalProcess, request_id: int, object_name: str,
                 record_id: int, *, after: str | None) -> None:
        """Move to the next step whose condition holds, assigning its approvers; approve the
        request when there is none left."""
        names = [s.name for s in process.steps]
        start = names.index(after) + 1 if after is not None else 0
        record = system.get(object_name, record_id)
        t = self.service.schema.approvals
        for step in process.steps[start:]:
            if step.condition is not None and not self._holds(system, process, step.condition, record):
                continue
            approvers = self._approvers(work, step, record)
            if not approvers:
                raise ApprovalRefused(object_name, {RECORD: [Problem(NO_APPROVER, {"step": step.label,
                                                                                   "process": process.label})]})
            work.conn.execute(sa.update(t).where(t.c.id == request_id).values(step=step.name))
            work.conn.execute(sa.insert(self.service.schema.approval_assignees), [
                {"approval_id": request_id, "step": step.name, "user_id": user} for user in sorted(approvers)])
            return
        work.conn.execute(sa.update(t).where(t.c.id == request_id).values(step=None))
        self._close(work, request_id, "approved")
        self._run_outcome(system, process, "on_approve", record)

    def _approvers(self, work: Any, step: ApprovalStepDef, record: Mapping[str, Any]) -> set[int]:
        return resolve_people(self.service, step.approver, record)

    def _holds(self, system: Any, process: ApprovalProcess, condition: CompiledExpression,
               record: Mapping[str, Any]) -> bool:
        obj = self.service.registry.object(process.object)
        try:
            return bool(condition(system._context(obj, record)))
        except FormulaError:
            return False

    def _run_outcome(self, system: Any, process: ApprovalProcess, key: str, record: dict[str, Any]) -> None:
        steps = process.outcomes.get(key) or ()
        if not steps:
            return
        from .engine import FlowRun

        flow = self.engine.flows[process.name]
        with self.engine._nested(system, flow):
            FlowRun(self.engine, flow, system, process.object, dict(record)).run_steps(steps)

    def _is_admin(self, actor: Any) -> bool:
        role = self.service.registry.roles.get(actor.role) if actor.role else None
        return actor.is_system or (role is not None and role.admin)


class UnknownProcess(RecordError):
    status = 404

    def __init__(self, object_name: str, name: str | None) -> None:
        self.object, self.name = object_name, name
        what = f"approval process '{name}'" if name else "approval process"
        super().__init__(f"{object_name} has no {what}")


def _comment(object_name: str, comment: Any) -> str | None:
    if comment is None or comment == "":
        return None
    if not isinstance(comment, str) or len(comment) > MAX_COMMENT:
        raise ValidationFailed(object_name, {"comment": [Problem(COMMENT_TOO_LONG, {"max": MAX_COMMENT})]})
    return comment
