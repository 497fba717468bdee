"""Master-detail children written with their parent.

A mixin of :class:`tessera.records.service.UnitOfWork`; the methods use its state.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from . import errors as E
from .errors import Problem, ValidationFailed

if TYPE_CHECKING:
    from .service import ObjectRuntime


class Children:
    """Master-detail children written with their parent."""

    # ------------------------------------------------------------------ master-detail children
    def _split_children(self, runtime: ObjectRuntime, values: Mapping[str, Any]) -> dict[str, list[Any]]:
        children: dict[str, list[Any]] = {}
        for relation, _field in runtime.children:
            if relation.master_detail and relation.name in values and relation.name not in runtime.object.fields:
                items = values[relation.name]  # type: ignore[index]
                if not isinstance(items, list):
                    raise ValidationFailed(runtime.object.name, {relation.name: [Problem(E.NOT_A_LIST)]})
                children[relation.name] = items
        if isinstance(values, dict):
            for name in children:
                values.pop(name)  # type: ignore[attr-defined]
        return children

    def _write_children(self, runtime: ObjectRuntime, record: Mapping[str, Any],
                        children: Mapping[str, list[Any]]) -> None:
        """The given child list becomes the record's children: items with an id are updated
        (at the version they carry), items without are created, missing ones are deleted."""
        problems: dict[str, list[Problem]] = {}
        for relation, _field in runtime.children:
            if relation.name not in children:
                continue
            child_runtime = self.service.runtime(relation.object)
            table = child_runtime.table
            existing = set(self.conn.execute(sa.select(table.c.id).where(
                (table.c[relation.field] == record["id"]) & table.c.deleted_at.is_(None))).scalars())
            kept: set[int] = set()
            for index, item in enumerate(children[relation.name]):
                item = dict(item)
                item[relation.field] = record["id"]
                item_id = item.pop("id", None)
                version = item.pop("version", None)
                try:
                    if item_id is not None and int(item_id) in existing:
                        kept.add(int(item_id))
                        self.update(relation.object, int(item_id), item, version=version)
                    else:
                        self.create(relation.object, item)
                except ValidationFailed as exc:
                    for name, items in exc.problems.items():
                        problems.setdefault(f"{relation.name}[{index}].{name}", []).extend(items)
            for gone in sorted(existing - kept):
                self.delete(relation.object, gone)
        if problems:
            raise ValidationFailed(runtime.object.name, problems)
