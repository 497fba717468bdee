"""Roll-ups kept current: recomputed on the parents a child change touches, up the chain.

A mixin of :class:`tessera.records.service.UnitOfWork`; the methods use its state.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from tessera.metadata.filters import Condition
from tessera.metadata.model import FieldDef
from tessera.storage.query_filter import ObjectQuery

if TYPE_CHECKING:
    from .runtime import ObjectRuntime


class Rollups:
    """Roll-ups kept current: recomputed on the parents a child change touches, up the chain."""

    # ------------------------------------------------------------------ roll-ups
    def _update_parent_rollups(self, runtime: ObjectRuntime, before: Mapping[str, Any] | None,
                               after: Mapping[str, Any] | None) -> None:
        """Recompute the roll-ups that summarise this record on the parents it points to,
        before and after the change (a re-parented line updates both quotes). An update that
        changes none of a roll-up's inputs (its link, the summed field, the fields its filter
        reads) leaves that roll-up alone: renaming a lead does not recount its pool."""
        touched: dict[tuple[str, int], set[str]] = {}
        for parent_name, field, link, inputs in runtime.parent_rollups:
            if before is not None and after is not None and not any(
                    before.get(name) != after.get(name) for name in inputs):
                continue
            for state in (before, after):
                parent_id = state.get(link) if state else None
                if parent_id is not None:
                    touched.setdefault((parent_name, int(parent_id)), set()).add(field.name)
        for (parent_name, parent_id), names in sorted(touched.items()):
            self._recompute_rollups(parent_name, parent_id, names)

    def _recompute_rollups(self, parent_name: str, parent_id: int, names: set[str]) -> None:
        """Recompute the roll-ups ``names`` of one parent; it is written (a new version, with
        history) only when a value actually changed."""
        parent_runtime = self.service.runtime(parent_name)
        current = self._load(parent_runtime, parent_id)
        if current is None:
            return
        values: dict[str, Any] = {}
        for name in sorted(names):
            value = self._aggregate(parent_runtime.object.fields[name], parent_id)
            if value != current.get(name):
                values[name] = value
        if values:
            with self._as_system():
                self._write(parent_runtime, current, {}, None, trusted=values)

    def _aggregate(self, field: FieldDef, parent_id: int) -> Any:
        rollup = field.rollup
        assert rollup is not None
        statement = self._aggregate_statement(field)
        if rollup.aggregate == "count":
            return int(self.conn.execute(statement, {"_parent": parent_id}).scalar() or 0)
        if rollup.aggregate == "avg":
            # exact: sum and count, divided in Decimal (SQL averages of scaled integers are floats)
            total, count = self.conn.execute(statement, {"_parent": parent_id}).one()
            if not count:
                return None
            scale = field.scale if field.scale is not None else 2
            return (Decimal(total) / count).quantize(Decimal(1).scaleb(-scale))
        # sum/min/max results carry the column's type, so they arrive as Decimal/date already
        value = self.conn.execute(statement, {"_parent": parent_id}).scalar()
        column = self.service.schema.table(rollup.object).c[rollup.field]
        if rollup.aggregate == "sum" and value is None:
            return Decimal(0) if not isinstance(column.type, sa.BigInteger) else 0
        return value

    def _aggregate_statement(self, field: FieldDef) -> Any:
        """The roll-up's SELECT, built once per field and run with the parent id bound (roll-up
        filters cannot use $today/$now/$me, so nothing in it changes between calls)."""
        cache = self.service.__dict__.setdefault("_rollup_statements", {})
        statement = cache.get(id(field))
        if statement is not None:
            return statement
        rollup = field.rollup
        assert rollup is not None
        table = self.service.schema.table(rollup.object)
        source: Any = table
        where = (table.c[rollup.relationship] == sa.bindparam("_parent")) & table.c.deleted_at.is_(None)
        if rollup.filter is not None:
            query = ObjectQuery(self.service.schema, rollup.object, self._query_params(), self.conn.dialect.name)
            where &= query.where(rollup.filter)
            source = query.from_clause  # joins for lookup paths the filter follows
        column = table.c[rollup.field] if rollup.field else None
        if rollup.aggregate == "count":
            columns = [sa.func.count()]
        elif rollup.aggregate == "avg":
            columns = [sa.func.sum(column), sa.func.count(column)]
        else:
            columns = [{"sum": sa.func.sum, "min": sa.func.min, "max": sa.func.max}[rollup.aggregate](column)]
        statement = sa.select(*columns).select_from(source).where(where)
        cache[id(field)] = statement
        return statement


def rollup_inputs(field: FieldDef) -> frozenset[str]:
    """The child's fields a roll-up reads: its link, the summarised field, deletion, and the
    fields its filter reads (the first step of each path)."""
    rollup = field.rollup
    assert rollup is not None
    found = {rollup.relationship, "deleted_at"}
    if rollup.field:
        found.add(rollup.field)
    pending: list[Any] = [rollup.filter] if rollup.filter is not None else []
    while pending:
        item = pending.pop()
        if isinstance(item, Condition):
            found.add(item.path[0])
        else:
            pending.extend(item.items)
    return frozenset(found)


def empty_rollup(field: FieldDef, table: sa.Table) -> Any:
    """A roll-up's value over no children: 0 for counts and sums (in the column's own type),
    blank for min, max and average."""
    rollup = field.rollup
    assert rollup is not None
    if rollup.aggregate == "count":
        return 0
    if rollup.aggregate == "sum":
        return 0 if isinstance(table.c[field.name].type, sa.BigInteger) else Decimal(0)
    return None
