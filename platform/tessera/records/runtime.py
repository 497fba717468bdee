"""What the record service prepares once per object and registry: the object's table, input
schema, checks, formulas in dependency order, roll-up links and the statements it runs with
bound values."""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa

from tessera.metadata.model import FieldDef, ObjectDef
from tessera.metadata.registry import Registry
from tessera.storage.tables import StorageSchema

from .inputs import RecordInput
from .rollups import empty_rollup, rollup_inputs

#: how many UPDATE statements (one per set of columns) an object keeps
_MAX_STATEMENTS = 256

#: columns a record carries besides its fields
SYSTEM_COLUMNS = ("id", "created_at", "created_by", "updated_at", "updated_by", "owner_id", "version")


class ObjectRuntime:
    """Everything the service needs about one object, prepared once per registry."""

    def __init__(self, obj: ObjectDef, schema: StorageSchema, registry: Registry) -> None:
        self.object = obj
        self.table = schema.table(obj.name)
        self.input = RecordInput(obj, registry.field_types)
        self.stored = tuple(f.name for f in obj.fields.values() if f.stored and not f.system)
        self.columns = tuple(SYSTEM_COLUMNS) + self.stored
        self.select_columns = [self.table.c[name] for name in self.columns]
        self.defaults = [f for f in obj.fields.values() if not f.system and (f.default is not None or f.default_formula)]
        self.required = [f for f in obj.fields.values() if f.required and not f.computed and not f.system]
        self.conditional = [f for f in obj.fields.values() if f.required_when or f.read_only_when]
        self.lookups = [f for f in obj.fields.values() if f.target and not f.system]
        self.auto_numbers = [f for f in obj.fields.values() if f.type == "auto_number"]
        self.stored_formulas = _formula_order([f for f in obj.fields.values() if f.type == "formula" and f.stored])
        self.read_formulas = [f for f in obj.fields.values() if f.type == "formula" and not f.stored]
        self.rules = [r for r in obj.validations if r.active]
        self.choices = [f for f in obj.fields.values() if f.type in ("picklist", "multi_picklist")]
        self.unique = [f for f in obj.fields.values() if f.unique and not f.system and f.type != "auto_number"]
        self.unique_indexes = [index for index in obj.indexes if index.unique]  # `indexes:` of the metadata
        # what a record's roll-ups are before it has children: counts and sums 0, the rest blank
        self.empty_rollups = {f.name: empty_rollup(f, self.table) for f in obj.fields.values() if f.rollup is not None}
        # roll-ups on other objects that summarise this one: (parent object, parent field, link
        # field, the fields of this object it reads)
        self.parent_rollups = [
            (other.name, field, field.rollup.relationship, rollup_inputs(field))
            for other in registry.objects.values() for field in other.fields.values()
            if field.rollup is not None and field.rollup.object == obj.name
        ]
        self.children = [
            (rel, registry.object(rel.object).field(rel.field)) for rel in obj.relations
        ]
        # statements built once and executed with bound values: building SQLAlchemy
        # constructs per call costs more than running them
        table = self.table
        by_id = sa.select(*self.select_columns).where(table.c.id == sa.bindparam("_id"))
        self.select_any = by_id
        self.select_live = by_id.where(table.c.deleted_at.is_(None))
        self.select_live_locked = self.select_live.with_for_update()
        self.insert = sa.insert(table).returning(*self.select_columns)
        self.lookup_exists = {}
        for field in self.lookups:
            target = schema.table(field.target)
            self.lookup_exists[field.name] = sa.select(target.c.id).where(
                (target.c.id == sa.bindparam("_id")) & target.c.deleted_at.is_(None))
        self._update = (sa.update(table)
                        .where((table.c.id == sa.bindparam("_id")) & (table.c.version == sa.bindparam("_version"))
                               & table.c.deleted_at.is_(None))
                        .values(version=table.c.version + 1))
        self._updates: dict[frozenset[str], sa.Update] = {}

    def update(self, changed: Iterable[str]) -> sa.Update:
        """The UPDATE of a record at a version, returning what it sets (the ``changed`` columns,
        version, updated_at, updated_by): the rest of the saved row is the row read before.
        Returning all of a wide row cost a quarter of the statement. One per set of columns."""
        key = frozenset(changed)
        statement = self._updates.get(key)
        if statement is None:
            table = self.table
            statement = self._update.returning(
                *(table.c[name] for name in sorted(key)), table.c.version, table.c.updated_at, table.c.updated_by)
            if len(self._updates) < _MAX_STATEMENTS:
                self._updates[key] = statement
        return statement


def _formula_order(formulas: list[FieldDef]) -> tuple[FieldDef, ...]:
    """Stored formulas in an order where each comes after the formulas it reads."""
    by_name = {f.name: f for f in formulas}
    ordered: list[FieldDef] = []
    seen: set[str] = set()

    def visit(field: FieldDef) -> None:
        if field.name in seen:
            return
        seen.add(field.name)
        for path in field.formula.references if field.formula else ():
            if path[0] in by_name:
                visit(by_name[path[0]])
        ordered.append(field)

    for field in formulas:
        visit(field)
    return tuple(ordered)
