"""Running flows: record-triggered flows and stage machines join every record write.

The engine listens on the record service's events, so the API, the screens, the kanban, imports,
plugins and flows themselves all start the same flows:

* ``before_save`` flows run inside the write once its values are checked and its formulas
  computed, before the validation rules (which see what the flows set), and may set fields of
  the record being saved (no second write);
* ``after_save`` flows run inside the same transaction once the record is saved; what they
  write (the record again, related records, new records) commits or rolls back with it;
* stage machines check every change of their picklist field before the save; a refused
  change is a validation problem on that field, whatever wrote it.

Flows act as the system (their writes are not limited by the user's permissions; the
history shows the system as the author). A flow whose writes start flows that start it again
stops at :data:`~tessera.flows.model.MAX_DEPTH` levels with a validation error naming the
chain, and nothing of the write is kept.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from tessera.expressions import CompiledExpression, FormulaError
from tessera.metadata.model import Label
from tessera.records.errors import RECORD, Problem, ValidationFailed, _l
from tessera.records.events import RecordChange

from .model import MAX_DEPTH, Flow, StageMachine, Step, flows_for
from .steps import FlowStepType, StepError


FLOW_TOO_DEEP = _l("Automation stopped: flows started each other %(depth)s levels deep (%(chain)s). "
                   "A flow probably changes the record that starts it; give it an entry condition.")
FLOW_FAILED = _l("The flow '%(flow)s' failed at %(step)s: %(detail)s")
STAGE_NOT_ALLOWED = _l("Cannot change from '%(old)s' to '%(new)s'.")
STAGE_NOT_INITIAL = _l("A new record cannot start at '%(new)s'.")
STAGE_ROLE = _l("Only %(roles)s may change from '%(old)s' to '%(new)s'.")
STAGE_CONDITION = _l("The change from '%(old)s' to '%(new)s' needs its condition to hold.")


class FlowStepFailed(ValidationFailed):
    """A step could not do its work; the write that started the flow is refused with it."""


@dataclass
class FlowRun:
    """What a step sees while it runs: the record (and its prior values), the unit of work the
    flow writes in (as the system), what earlier steps returned, and a log of what was done.

    ``dry_run`` runs write exactly as for real; the caller rolls the transaction back."""

    engine: FlowEngine
    flow: Flow
    work: Any  # UnitOfWork, acting as the system
    object: str
    record: dict[str, Any]
    prior: dict[str, Any] | None = None
    timing: str = "after_save"
    change: RecordChange | None = None
    outputs: dict[str, Any] = field(default_factory=dict)
    log: list[str] = field(default_factory=list)
    dry_run: bool = False
    #: the step being run (a step's ``run`` may read where it sits)
    current_step: Step | None = None

    # ------------------------------------------------------------------ values
    def evaluate(self, formula: CompiledExpression, *, record: Mapping[str, Any] | None = None,
                 object_name: str | None = None, prior: Mapping[str, Any] | None = None) -> Any:
        obj = self.engine.service.registry.object(object_name or self.object)
        values = self.record if record is None else record
        context = self.work._context(obj, values, self.prior if record is None and prior is None else prior)
        return formula(context)

    def values(self, compiled: Mapping[str, CompiledExpression], *, record: Mapping[str, Any] | None = None,
               object_name: str | None = None) -> dict[str, Any]:
        return {name: self.evaluate(f, record=record, object_name=object_name) for name, f in compiled.items()}

    def for_record(self, object_name: str, record: dict[str, Any]) -> FlowRun:
        """The same run, looking at another record (a loop's item)."""
        return FlowRun(self.engine, self.flow, self.work, object_name, record, None, "after_save", None,
                       self.outputs, self.log, self.dry_run)

    # ------------------------------------------------------------------ writes
    def set_fields(self, values: Mapping[str, Any]) -> None:
        """Set fields of the record this run looks at: in place before it is saved, else as a
        write of its own (which starts that record's flows in turn)."""
        shown = ", ".join(f"{k} = {_shown(v)}" for k, v in values.items())
        if self.timing == "before_save" and self.change is not None:
            self.change.values.update(values)
            self.note(f"set {shown} on {self.object} {self.record.get('id') or '(new)'} before saving")
            return
        saved = self.work.update(self.object, self.record["id"], dict(values), version=None)
        self.record.update(saved)
        self.note(f"updated {self.object} {self.record['id']}: {shown}")

    def run_steps(self, steps: tuple[Step, ...]) -> None:
        for step in steps:
            self.current_step = step
            try:
                result = step.type.run(self, step.properties)
            except FormulaError as exc:
                raise self.failed(step, exc.message) from None
            except StepError as exc:
                raise self.failed(step, str(exc)) from None
            if step.name and result is not None:
                self.outputs[step.name] = dict(result)

    def failed(self, step: Step, detail: str) -> FlowStepFailed:
        problem = Problem(FLOW_FAILED, {"flow": self.flow.name, "step": step.where, "detail": detail})
        return FlowStepFailed(self.object, {RECORD: [problem]})

    def note(self, text: str) -> None:
        self.log.append(text)

    def enqueue(self, name: str, payload: Mapping[str, Any], *, key: str) -> Any:
        """Queue the background job ``name`` in the flow's transaction: it exists and runs only
        if the write that started the flow commits (a dry run never commits). A step that needs
        the job system where there is none fails with a message saying so. A dry run queues
        nothing (and needs no job system)."""
        from tessera.jobs import JobsError, enqueue

        if self.dry_run:
            return None
        try:
            return enqueue(self.work, name, payload, key=key, jobs=self.engine.jobs)
        except JobsError as exc:
            raise StepError(str(exc)) from None


class FlowEngine:
    """The flows of one record service, listening on its events. They are compiled once per
    registry: the engine takes those its registry's build compiled when the step types match."""

    def __init__(self, service: Any, step_types: Mapping[str, FlowStepType]) -> None:
        self.service = service
        #: the job system steps enqueue into (webhooks, e-mail, resumptions); None: the app's
        self.jobs: Any = None
        self.step_types = dict(step_types)
        self.flows = flows_for(service.registry, self.step_types)
        self._by_object: dict[tuple[str, str, str], list[Flow]] = {}
        for flow in self.flows.values():
            if flow.kind == "record" and flow.object and flow.active:
                for action in flow.events:
                    self._by_object.setdefault((flow.object, action, flow.timing), []).append(flow)
        self.machines: dict[str, list[StageMachine]] = {}
        for flow in self.flows.values():
            if flow.stage_machine is not None and flow.active and flow.object:
                self.machines.setdefault(flow.object, []).append(flow.stage_machine)
        from .approvals import Approvals

        self.approvals = Approvals(self, {f.name: f.approval for f in self.flows.values()
                                          if f.approval is not None and f.active})

    def attach(self) -> None:
        from .waits import attach_condition_waits

        events = self.service.events
        self.approvals.attach()
        attach_condition_waits(self)
        if self.machines or any(key[2] == "before_save" for key in self._by_object):
            events.listen("before_rules", self._before_save)
        if any(key[2] == "after_save" for key in self._by_object):
            events.listen("after_save", self._after_save)

    # ------------------------------------------------------------------ listeners
    def _before_save(self, change: RecordChange) -> None:
        for machine in self.machines.get(change.object.name, ()):
            self._check_stage(machine, change)
        if change.problems:
            return
        for flow in self._by_object.get((change.object.name, change.action, "before_save"), ()):
            self.run(flow, change.work, change.values, change.prior, timing="before_save", change=change)

    def _after_save(self, change: RecordChange) -> None:
        for flow in self._by_object.get((change.object.name, change.action, "after_save"), ()):
            self.run(flow, change.work, change.values, change.prior, timing="after_save", change=change)

    # ------------------------------------------------------------------ running
    def run(self, flow: Flow, work: Any, record: dict[str, Any], prior: dict[str, Any] | None, *,
            timing: str = "after_save", change: RecordChange | None = None, dry_run: bool = False,
            check_condition: bool = True, log: list[str] | None = None) -> FlowRun | None:
        """Run ``flow`` for ``record`` if its entry condition holds; the run (with its log), or
        None when the condition kept it from starting."""
        assert flow.object is not None
        system = self._system_work(work)
        run = FlowRun(self, flow, system, flow.object, record, prior, timing, change,
                      log=log if log is not None else [], dry_run=dry_run)
        if check_condition and flow.condition is not None:
            try:
                started = bool(run.evaluate(flow.condition))
            except FormulaError as exc:
                problem = Problem(FLOW_FAILED, {"flow": flow.name, "step": "trigger.condition", "detail": exc.message})
                raise FlowStepFailed(flow.object, {RECORD: [problem]}) from None
            if not started:
                run.note(f"flow {flow.name}: the entry condition does not hold; nothing to do")
                return None
        with self._nested(work, flow):
            run.note(f"flow {flow.name} on {flow.object} {record.get('id') or '(new)'}")
            run.run_steps(flow.steps)
        return run

    def dry_run(self, flow: Flow, record_id: int, *, changes: Mapping[str, Any] | None = None,
                as_update: bool = True) -> list[str]:
        """What ``flow`` would do to a record: it runs for real in a transaction that is rolled
        back, and its log says each step's work. ``changes`` (field → value, as typed in a form
        or the API) make it run as for an update that changes them; ``as_update=False`` as for
        the record's creation. Raises what the flow would raise (a ``RecordError``)."""
        assert flow.object is not None
        log: list[str] = []
        with self._rolled_back() as work:
            stored = work.get(flow.object, record_id)
            record = dict(stored)
            if changes:
                runtime = self.service.runtime(flow.object)
                values, problems = runtime.input.load(dict(changes), allow_read_only=True)
                if problems:
                    raise ValidationFailed(flow.object, problems)
                record.update(values)
                work._compute_stored_formulas(runtime, record, stored, problems)  # as a write would
                if problems:
                    raise ValidationFailed(flow.object, problems)
            prior = dict(stored) if as_update else None
            change = None
            if flow.timing == "before_save":  # as in a real write: fields are set in place
                obj = self.service.registry.object(flow.object)
                change = RecordChange(obj, "update" if as_update else "create", record_id, record, prior,
                                      work.actor, work=work)
            self.run(flow, work, record, prior, timing=flow.timing, change=change, dry_run=True, log=log)
        return log

    @contextmanager
    def _rolled_back(self) -> Iterator[Any]:
        """A unit of work (as the system) whose writes are never kept."""

        class _Rollback(Exception):
            pass

        try:
            with self.service.unit_of_work() as work:
                yield work
                raise _Rollback
        except _Rollback:
            pass

    @contextmanager
    def _nested(self, work: Any, flow: Flow) -> Iterator[None]:
        """``flow`` runs inside ``work``: refused past MAX_DEPTH flows started by each other."""
        chain = work.flow_chain
        if len(chain) >= MAX_DEPTH:
            names = " → ".join([*chain, flow.name])
            problem = Problem(FLOW_TOO_DEEP, {"depth": MAX_DEPTH, "chain": names})
            raise FlowStepFailed(flow.object or "", {RECORD: [problem]})
        chain.append(flow.name)
        try:
            yield
        finally:
            chain.pop()

    def _system_work(self, work: Any) -> Any:
        """A unit of work on the same transaction acting as the system; its after-commit work
        joins ``work``'s, and the flows running in either count toward MAX_DEPTH together."""
        if work.actor.is_system:
            return work
        found = work.flow_system_work
        if found is None:
            from tessera.records.service import SYSTEM, UnitOfWork

            found = UnitOfWork(self.service, work.conn, SYSTEM)
            found.now = work.now
            found.committed = work.committed
            found.flow_chain = work.flow_chain
            work.flow_system_work = found
        return found

    # ------------------------------------------------------------------ stage machines
    def _check_stage(self, machine: StageMachine, change: RecordChange) -> None:
        name = machine.field
        new = change.values.get(name)
        old = change.prior.get(name) if change.prior else None
        labels = {o.value: o.label for o in change.object.fields[name].options}
        shown = {"old": labels.get(old, old or ""), "new": labels.get(new, new or "")}  # in the reader's language
        if change.prior is not None and new == old:
            return
        if change.prior is None:
            if machine.initial is not None and new is not None and new not in machine.initial:
                change.add_problem(name, Problem(STAGE_NOT_INITIAL, {"new": shown["new"]}))
            return
        candidates = [t for t in machine.transitions
                      if (t.sources is None or old in t.sources) and new in t.targets]
        if not candidates:
            change.add_problem(name, Problem(STAGE_NOT_ALLOWED, shown))
            return
        actor = change.actor
        role = self.service.registry.roles.get(actor.role) if actor.role else None
        unlimited = actor.is_system or (role is not None and role.admin)  # admins may do everything
        allowed = [t for t in candidates if t.roles is None or unlimited or actor.role in t.roles]
        if not allowed:
            roles = ", ".join(sorted(set().union(*(t.roles or () for t in candidates))))
            change.add_problem(name, Problem(STAGE_ROLE, {"roles": roles, **shown}))
            return
        obj = change.object
        failures: list[Problem | Label] = []
        for transition in allowed:
            if transition.condition is None:
                return
            context = change.work._context(obj, change.values, change.prior)
            try:
                if transition.condition(context):
                    return
            except FormulaError:
                pass
            failures.append(transition.message or Problem(STAGE_CONDITION, shown))
        first = failures[0]
        change.add_problem(name, first if isinstance(first, Problem) else Problem(first))


def _shown(value: Any) -> str:
    """A value as a log line shows it: ISO dates, plain numbers, quoted text."""
    if value is None:
        return "blank"
    if hasattr(value, "isoformat"):
        return value.isoformat(timespec="seconds") if hasattr(value, "hour") else value.isoformat()
    if isinstance(value, str):
        return repr(value)
    return str(value)
