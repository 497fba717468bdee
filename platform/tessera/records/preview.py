"""Previews: a record as it would be saved, computed without writing anything.

Screens show formulas, roll-ups and the ``visible_when``/``required_when``/``read_only_when``
state of each field while the user types. They ask :meth:`Previews.preview` instead of
computing anything themselves, so a form shows exactly what the engine would store: the same
input conversion, defaults, compiled formulas and conditions as a write, over the record the
user is editing and its master-detail children (a quote and its lines: each line's formulas,
then the quote's roll-ups over the lines, then the quote's formulas).

A preview checks nothing beyond converting the input (a value that does not convert reads as
blank) and never raises ValidationFailed for the record's content: saving reports problems.
Roll-ups with a ``filter`` over children being edited cannot be computed without the
database's filter compiler; they keep their stored value and are listed in
:attr:`Preview.pending` ("recomputed when saved").

A mixin of :class:`tessera.records.service.UnitOfWork`; the methods use its state.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from tessera.expressions import EvalContext, FormulaError
from tessera.metadata.model import FieldDef, ObjectDef

from .errors import Problem, RecordNotFound

if TYPE_CHECKING:
    from .runtime import ObjectRuntime


@dataclass(frozen=True)
class FieldState:
    """How a field shows on a form for one actor and one record state."""

    visible: bool = True
    required: bool = False
    read_only: bool = False


@dataclass
class Preview:
    """A record as it would be saved: its values (hidden fields left out), each field's state,
    its master-detail children by related name (each with its values and states), the input
    problems found while converting, and the roll-ups that only a save recomputes."""

    record: dict[str, Any]
    states: dict[str, FieldState]
    children: dict[str, list[ChildPreview]] = field(default_factory=dict)
    problems: dict[str, list[Problem]] = field(default_factory=dict)
    pending: frozenset[str] = frozenset()


@dataclass
class ChildPreview:
    record: dict[str, Any]
    states: dict[str, FieldState]


class Previews:
    """Records as they would be saved, for forms; nothing is written."""

    def preview(self, object_name: str, values: Mapping[str, Any], *, record_id: int | None = None) -> Preview:
        """``values`` (as a form or the API would send them, children under their related
        name) applied to a new record, or to the stored record ``record_id``. Needs the
        permission the save would need: create, or edit on that record."""
        runtime = self.service.runtime(object_name)
        prior: dict[str, Any] | None = None
        if record_id is None:
            self.access.require(object_name, "create")
        else:
            prior = self._load(runtime, record_id)
            if prior is None:
                raise RecordNotFound(object_name, record_id)
            self._require_record(runtime, record_id, "edit")
            prior = self._with_read_formulas(runtime, prior)
        given = dict(values)
        children = self._split_children(runtime, given)
        record, problems = self._draft(runtime, prior, given)
        previews: dict[str, list[ChildPreview]] = {}
        pending: set[str] = set()
        for relation, link in runtime.children:
            if relation.name not in children:
                continue
            drafts, child_problems = self._draft_children(relation.object, link.name, prior, children[relation.name])
            for key, items in child_problems.items():
                problems.setdefault(f"{relation.name}{key}", []).extend(items)
            pending |= self._preview_rollups(runtime.object, relation.object, link.name, record, drafts)
            child_runtime = self.service.runtime(relation.object)
            previews[relation.name] = [
                ChildPreview(self._present(child_runtime, child), self._states(child_runtime, child, child_prior))
                for child, child_prior in drafts]
        self._compute_stored_formulas(runtime, record, prior, {})
        self._with_read_formulas(runtime, record)
        return Preview(self._present(runtime, record), self._states(runtime, record, prior), previews, problems,
                       frozenset(pending))

    def field_states(self, object_name: str, record_id: int, *, include_deleted: bool = False
                     ) -> dict[str, FieldState]:
        """Each field's state on the stored record, for a reader (a record page shows what
        ``visible_when`` lets it show). Needs read access."""
        runtime = self.service.runtime(object_name)
        row = self._load(runtime, record_id, include_deleted=include_deleted)
        if row is None:
            raise RecordNotFound(object_name, record_id)
        self._require_record(runtime, record_id, "read", include_deleted=include_deleted)
        row = self._with_read_formulas(runtime, row)
        return self._states(runtime, row, row)

    def permitted(self, object_name: str, record_id: int | None = None, *,
                  include_deleted: bool = False) -> frozenset[str]:
        """What the actor may do: with ``object_name`` in general (``create``, ``read``,
        ``edit``, ``delete`` on the records they reach), or with one record (``read``, ``edit``,
        ``delete``, and ``create`` of the object), by the same rules the writes enforce. Empty
        when the record is not there for them."""
        runtime = self.service.runtime(object_name)
        access = self.access
        if record_id is None:
            return frozenset(p for p in ("create", "read", "edit", "delete") if access.allows(object_name, p))
        if (not access.allows(object_name, "read")
                or self._load(runtime, record_id, include_deleted=include_deleted) is None
                or not self._reaches(runtime, record_id, "read", include_deleted=include_deleted)):
            return frozenset()
        found = {"read"}
        if access.allows(object_name, "create"):
            found.add("create")
        if self._reaches(runtime, record_id, "edit", include_deleted=include_deleted):
            found |= {p for p in ("edit", "delete") if access.allows(object_name, p)}
        return frozenset(found)

    def _draft(self, runtime: ObjectRuntime, prior: dict[str, Any] | None, given: dict[str, Any]
               ) -> tuple[dict[str, Any], dict[str, list[Problem]]]:
        """The record with ``given`` converted onto it (defaults on a new one); the hidden
        fields of the actor are ignored, as if they were not there."""
        hidden = self.access.hidden(runtime.object.name)
        wanted = {k: v for k, v in given.items() if k not in hidden and k in runtime.input.writable}
        converted, problems = runtime.input.load(wanted)
        record = dict(prior) if prior else {}
        record.update(converted)
        if prior is None:
            self._apply_defaults(runtime, record, wanted)
        return record, problems

    def _draft_children(self, object_name: str, link: str, parent: Mapping[str, Any] | None,
                        items: list[Any]) -> tuple[list[tuple[dict[str, Any], dict[str, Any] | None]],
                                                   dict[str, list[Problem]]]:
        """Each child as it would be saved: (draft, stored child or None), and problems keyed
        ``[index].field``."""
        runtime = self.service.runtime(object_name)
        existing: dict[int, dict[str, Any]] = {}
        if parent is not None:
            table = runtime.table
            rows = self.conn.execute(sa.select(*runtime.select_columns).where(
                (table.c[link] == parent["id"]) & table.c.deleted_at.is_(None))).mappings()
            existing = {row["id"]: dict(row) for row in rows}
        drafts: list[tuple[dict[str, Any], dict[str, Any] | None]] = []
        problems: dict[str, list[Problem]] = {}
        for index, item in enumerate(items):
            item = dict(item) if isinstance(item, Mapping) else {}
            item_id = _int_or_none(item.pop("id", None))
            item.pop("version", None)
            item.pop(link, None)
            prior = existing.get(item_id) if item_id is not None else None
            draft, found = self._draft(runtime, prior, item)
            draft[link] = parent["id"] if parent is not None else None
            self._compute_stored_formulas(runtime, draft, prior, {})
            self._with_read_formulas(runtime, draft)
            drafts.append((draft, prior))
            for name, messages in found.items():
                problems.setdefault(f"[{index}].{name}", []).extend(messages)
        return drafts, problems

    def _preview_rollups(self, parent: ObjectDef, child: str, link: str, record: dict[str, Any],
                         drafts: list[tuple[dict[str, Any], dict[str, Any] | None]]) -> set[str]:
        """The parent's roll-ups over these children, computed from the drafts; returns the
        filtered ones, which keep their stored value."""
        pending: set[str] = set()
        for candidate in parent.fields.values():
            rollup = candidate.rollup
            if rollup is None or rollup.object != child or rollup.relationship != link:
                continue
            if rollup.filter is not None:
                pending.add(candidate.name)
                continue
            summed = self.service.registry.object(child).fields.get(rollup.field or "")
            record[candidate.name] = _aggregate(candidate, summed, [draft for draft, _prior in drafts])
        return pending

    def _states(self, runtime: ObjectRuntime, record: Mapping[str, Any], prior: Mapping[str, Any] | None
                ) -> dict[str, FieldState]:
        """Each visible-to-the-actor field's state: ``visible_when`` and ``required_when`` on
        the record as it would be, ``read_only_when`` on the record as it was (as saving does)."""
        obj = runtime.object
        hidden = self.access.hidden(obj.name)
        locked = self.access.read_only(obj.name)
        context = self._context(obj, record, prior)
        before = self._context(obj, prior) if prior is not None else None
        states: dict[str, FieldState] = {}
        for candidate in obj.fields.values():
            if candidate.system or candidate.name in hidden:
                continue
            read_only = (candidate.read_only or candidate.computed or candidate.name in locked
                         or candidate.name not in runtime.input.writable)
            if candidate.read_only_when is not None and before is not None and not read_only:
                read_only = _holds(candidate.read_only_when, before, False)
            required = candidate.required or (
                candidate.required_when is not None and _holds(candidate.required_when, context, False))
            visible = candidate.visible_when is None or _holds(candidate.visible_when, context, True)
            states[candidate.name] = FieldState(visible, required and not candidate.computed, read_only)
        return states


def _holds(formula: Any, context: EvalContext, otherwise: bool) -> bool:
    """A condition's verdict; ``otherwise`` when it cannot be evaluated for this record."""
    try:
        return bool(formula(context))
    except FormulaError:
        return otherwise


def _aggregate(rollup_field: FieldDef, summed: FieldDef | None, children: list[Mapping[str, Any]]) -> Any:
    """A roll-up over records in memory, with the results the database gives the stored ones:
    count as int, sum 0 when empty, min/max/avg blank when nothing counts."""
    rollup = rollup_field.rollup
    assert rollup is not None
    if rollup.aggregate == "count":
        return len(children)
    values = [child.get(rollup.field) for child in children if child.get(rollup.field) is not None]  # type: ignore[arg-type]
    if rollup.aggregate == "sum":
        return sum(values, 0 if summed is not None and summed.type == "integer" else Decimal(0))
    if not values:
        return None
    if rollup.aggregate == "min":
        return min(values)
    if rollup.aggregate == "max":
        return max(values)
    scale = rollup_field.scale if rollup_field.scale is not None else 2
    return (sum(values, Decimal(0)) / len(values)).quantize(Decimal(1).scaleb(-scale))


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None
