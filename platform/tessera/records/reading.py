"""Queries and counts in the one filter syntax, with the reader's access applied.

A mixin of :class:`tessera.records.service.UnitOfWork`; the methods use its state.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from tessera.expressions import FormulaError
from tessera.metadata.filters import Condition, Filter, Group, checked_filter
from tessera.metadata.scope import RegistryScope
from tessera.storage.query import Count, Page, QuerySpec, count, run_query

from .checks import _to_field

if TYPE_CHECKING:
    from .service import ObjectRuntime


class Reading:
    """Queries and counts in the one filter syntax, with the reader's access applied."""

    # ------------------------------------------------------------------ queries
    def query(self, object_name: str, *, filter: Any = None, sort: Sequence[str] | str = (),
              fields: Sequence[str] | str | None = None, search: str | None = None, limit: int = 50,
              cursor: str | None = None, offset: int | None = None, include_deleted: bool = False) -> Page:
        """A page of records: ``filter`` in the one filter syntax (a dict, or a parsed Filter),
        ``sort`` with '-' for descending, ``fields`` with lookup paths, text ``search``, keyset
        ``cursor`` or ``offset``. Raises QueryError naming every bad parameter."""
        runtime = self.service.runtime(object_name)
        self.access.require(object_name, "read")
        spec = QuerySpec(object=object_name, filter=self._filter(object_name, filter), sort=sort, fields=fields,
                         search=search, limit=limit, cursor=cursor, offset=offset, include_deleted=include_deleted,
                         hidden=self.access.hidden_by_object or None,
                         restriction=self.access.restriction(self.service.schema, object_name, "read", self._query_params()))
        page = run_query(self.conn, self.service.schema, spec, self._query_params())
        wanted = [name for name in page.skipped if "." not in name and name in runtime.object.fields]
        if wanted and page.rows:
            self._fill_read_formulas(runtime, page.rows, wanted)
        return page

    def count(self, object_name: str, *, filter: Any = None, search: str | None = None,
              include_deleted: bool = False, cap: int = 10_000) -> Count:
        """How many records match: exact up to ``cap``, cheap beyond it (see storage.query)."""
        self.service.runtime(object_name)
        self.access.require(object_name, "read")
        spec = QuerySpec(object=object_name, filter=self._filter(object_name, filter), search=search,
                         include_deleted=include_deleted, hidden=self.access.hidden_by_object or None,
                         restriction=self.access.restriction(self.service.schema, object_name, "read", self._query_params()))
        return count(self.conn, self.service.schema, spec, cap=cap, params=self._query_params())

    def _filter(self, object_name: str, data: Any) -> Filter | None:
        if data is None or isinstance(data, Condition | Group):
            return data
        return checked_filter(RegistryScope.of(self.service.registry, object_name,
                                               self.access.hidden_by_object or None), data)

    def _fill_read_formulas(self, runtime: ObjectRuntime, rows: list[dict[str, Any]], names: list[str]) -> None:
        """Formulas computed when read, for a page. Their inputs usually came with the page (a
        page of every field holds them all); otherwise one query loads the missing columns."""
        wanted = [runtime.object.fields[name] for name in names]
        inputs = {path[0] for field in wanted if field.formula for path in field.formula.references}
        missing = sorted(name for name in inputs - rows[0].keys() if name in runtime.table.c)
        extra: dict[Any, Any] = {}
        if missing:
            table = runtime.table
            extra = {r["id"]: r for r in self.conn.execute(
                sa.select(table.c.id, *(table.c[name] for name in missing))
                .where(table.c.id.in_([row["id"] for row in rows]))).mappings()}
        for row in rows:
            record = {**row, **extra.get(row["id"], {})} if missing else row
            context = self._context(runtime.object, record)
            for field in wanted:
                try:
                    value = _to_field(field, field.formula(context)) if field.formula else None
                except FormulaError:
                    value = None  # a formula that cannot be computed reads as blank
                row[field.name] = value
                if record is not row:
                    record[field.name] = value
