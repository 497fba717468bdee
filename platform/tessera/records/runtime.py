"""What the record service prepares once per object and registry: the object's table, input
schema, checks, formulas in dependency order, roll-up links and the statements it runs with
bound values."""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa

from tessera.metadata.model import FieldDef, ObjectDef
from tessera.metadata.registry import Registry
from tessera.storage.prepared import Prepared
from tessera.storage.tables import StorageSchema

from .inputs import RecordInput
from .rollups import empty_rollup, rollup_inputs

#: how many UPDATE statements (one per set of columns) an object keeps
_MAX_STATEMENTS = 256

#: columns a record carries besides its fields
SYSTEM_COLUMNS = ("id", "created_at", "created_by", "updated_at", "updated_by", "owner_id", "version")
#: the system columns an INSERT of a record sets (the id is the database's)
INSERTED_SYSTEM_COLUMNS = ("created_at", "updated_at", "created_by", "updated_by", "owner_id", "version")
#: the system columns an UPDATE of a record sets besides the version
UPDATED_SYSTEM_COLUMNS = ("updated_at", "updated_by")


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
        # statements built once and executed with bound values (tessera.storage.prepared):
        # building SQLAlchemy constructs per call costs more than running them
        table = self.table
        by_id = sa.select(*self.select_columns).where(table.c.id == sa.bindparam("_id"))
        self.select_any = Prepared(by_id)
        self.select_live = Prepared(by_id.where(table.c.deleted_at.is_(None)))
        self.select_live_locked = Prepared(self.select_live.statement.with_for_update())
        self.insert = Prepared(sa.insert(table).returning(*self.select_columns),
                               keys=self.stored + INSERTED_SYSTEM_COLUMNS)
        self.lookup_exists = {}
        for field in self.lookups:
            target = schema.table(field.target)
            self.lookup_exists[field.name] = Prepared(sa.select(target.c.id).where(
                (target.c.id == sa.bindparam("_id")) & target.c.deleted_at.is_(None)))
        self._update = (sa.update(table)
                        .where((table.c.id == sa.bindparam("_id")) & (table.c.version == sa.bindparam("_version"))
                               & table.c.deleted_at.is_(None))
                        .values(version=table.c.version + 1))
        self._updates: dict[frozenset[str], Prepared] = {}

    def update(self, changed: Iterable[str]) -> Prepared:
        """The UPDATE of a record at a version, setting the ``changed`` columns, updated_at and
        updated_by (bound by name, with ``_id`` and ``_version``) and returning what it sets and
        the version: the rest of the saved row is the row read before. Returning all of a wide
        row cost a quarter of the statement. One per set of columns."""
        key = frozenset(changed)
        statement = self._updates.get(key)
        if statement is None:
            table = self.table
            columns = sorted(key)
            statement = Prepared(self._update.returning(
                *(table.c[name] for name in columns), table.c.version, table.c.updated_at, table.c.updated_by),
                keys=(*columns, *UPDATED_SYSTEM_COLUMNS))
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
