"""Schema sync, part 3: the plan — what the registry wants compared with what the database has.

The planner reads the live database (:mod:`.sync_live`), the last deployment's snapshot of the
metadata and the retired columns, and produces ordered :class:`Step` s, each carrying its words
and the Alembic operations that carry it out, plus the :class:`Refusal` s that stop a deploy.
The same operations run twice: against an offline (``as_sql``) context to show the SQL, and
against the deploy's connection to apply it. Counting queries run here, at plan time, on the
connection the deploy will use, so what is counted is what is applied. The steps for one changed
column (a new type, a field made required) and SQLite's table rebuild come from
:mod:`.sync_columns`.

Order of the steps: new tables (on PostgreSQL without their foreign keys), then each existing
table's changes (drop indexes and foreign keys that go, retire and restore columns, add columns,
change types, fill defaults; on SQLite one batch-mode rebuild per table for what SQLite cannot
alter in place), then the foreign keys to add (PostgreSQL), then the indexes to create, then the
notes that change no schema.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic.operations import Operations
from sqlalchemy.engine import Connection

from tessera.metadata.registry import Registry

from .database import Database
from .sync_columns import ColumnChanges, classify
from .sync_live import Counter, LiveForeignKey, LiveTable, Shape, live_shape, normalize_ondelete, read_live, shape_of
from .sync_steps import (
    SNAPSHOT_VERSION,
    Action,
    Plan,
    Refusal,
    Step,
    op_add_column,
    op_copy_columns,
    op_copy_indexes,
    op_create_index,
    op_drop_fk,
    op_drop_index,
    op_rename,
    plural,
    render_sql,
    retired_name,
    says,
    short_name,
    target_table,
)
from .tables import RETIRED_PREFIX, SYSTEM_PREFIX, StorageSchema, index_where

# ------------------------------------------------------------------------------ the planner

class Planner(ColumnChanges):
    def __init__(self, registry: Registry, db: Database, conn: Connection) -> None:
        self.registry = registry
        self.db = db
        self.conn = conn
        self.schema = StorageSchema(registry, db)
        self.dialect = db.dialect
        self.sqlite = db.is_sqlite
        self.live = read_live(conn, db.schema)
        self.count = Counter(conn, db.schema)
        self.last_id, self.last_packages, self.last_snapshot = self._read_last()
        self.retired_rows = self._read_retired()
        self.snapshot = self._build_snapshot()
        self.creates: list[Step] = []
        self.alters: list[Step] = []
        self.fks: list[Step] = []
        self.indexes: list[Step] = []
        self.notes: list[Step] = []
        self.refusals: list[Refusal] = []
        self.kept: list[str] = []

    # -------------------------------------------------------------- reading

    def _read_last(self) -> tuple[int | None, list[dict[str, str]] | None, dict[str, Any] | None]:
        table = self.schema.deployments
        live = self.live.get(table.name)
        if live is None or not {"id", "packages", "snapshot"} <= set(live.columns):
            return None, None, None
        row = self.conn.execute(sa.select(table.c.id, table.c.packages, table.c.snapshot)
                                .order_by(table.c.id.desc()).limit(1)).first()
        if row is None:
            return None, None, None
        snapshot = row.snapshot
        return row.id, list(row.packages or []), snapshot if isinstance(snapshot, dict) else None

    def _read_retired(self) -> dict[tuple[str, str], str]:
        table = self.schema.retired
        if table.name not in self.live:
            return {}
        rows = self.conn.execute(sa.select(table.c.object, table.c.field, table.c.column_name))
        return {(r.object, r.field): r.column_name for r in rows}

    def _build_snapshot(self) -> dict[str, Any]:
        objects: dict[str, Any] = {}
        for name, obj in self.registry.objects.items():
            table = self.schema.tables[name]
            fields: dict[str, Any] = {}
            for f in obj.fields.values():
                if f.system or f.name not in table.c:
                    continue
                entry: dict[str, Any] = {
                    "type": f.type, "column": shape_of(table.c[f.name].type, self.dialect).to_json(),
                    "required": bool(f.required), "unique": bool(f.unique)}
                if f.options:
                    entry["options"] = [o.value for o in f.options]
                fields[f.name] = entry
            objects[name] = {"fields": fields}
        kept = {}
        if self.last_snapshot:
            for name, entry in {**self.last_snapshot.get("kept", {}),
                                **self.last_snapshot.get("objects", {})}.items():
                if name not in objects:
                    kept[name] = entry
        return {"version": SNAPSHOT_VERSION, "objects": objects, "kept": kept}

    def _last_object(self, name: str) -> dict[str, Any]:
        if not self.last_snapshot:
            return {}
        return (self.last_snapshot.get("objects", {}).get(name)
                or self.last_snapshot.get("kept", {}).get(name) or {})

    # -------------------------------------------------------------- the plan

    def run(self) -> Plan:
        desired = [*self.schema.system_tables, *(self.schema.tables[n] for n in self.registry.objects)]
        for table in desired:
            live = self.live.get(table.name)
            if live is None:
                self._create(table)
            else:
                self._alter(table, live)
        names = {t.name for t in desired}
        last_objects = (self.last_snapshot or {}).get("objects", {})
        known = {*last_objects, *(self.last_snapshot or {}).get("kept", {})}
        for name in sorted(self.live):
            # a table that held an object once; other tables in the schema are not the sync's
            if name in names or name.startswith(SYSTEM_PREFIX) or name not in known:
                continue
            self.kept.append(name)
            if name in last_objects:
                self.notes.append(Step("note", name, f"object {name} was removed from the metadata: "
                                                     f"table {name} is kept with its data (never dropped)"))
            if self.live[name].foreign_keys:
                self.alters.append(self._unhook(self.live[name]))
        self._package_notes()
        steps = [*self.creates, *self.alters, *self.fks, *self.indexes, *self.notes]
        if not steps and self._comparable(self.snapshot) != self._comparable(self.last_snapshot):
            steps.append(Step("note", "", "record metadata changes that need no schema change"))
        for step in steps:
            step.sql = render_sql(step, self.db)
        return Plan(self.registry, self.db, self.schema, steps, self.refusals, self.kept, self._packages(),
                    self.snapshot, self.last_id)

    @staticmethod
    def _comparable(snapshot: dict[str, Any] | None) -> Any:
        return {k: v for k, v in (snapshot or {}).items() if k != "kept"}

    def _packages(self) -> list[dict[str, str]]:
        return [{"name": p.name, "version": p.version} for p in self.registry.packages]

    def _package_notes(self) -> None:
        current = self._packages()
        shown = ", ".join(f"{p['name']} {p['version']}" for p in current)
        if self.last_id is None:
            self.notes.append(Step("note", "", f"record the first deployment (packages: {shown})"))
            return
        before = {p.get("name"): p.get("version") for p in self.last_packages or []}
        now = {p["name"]: p["version"] for p in current}
        if before == now:
            return
        changes = []
        for name, version in now.items():
            if name not in before:
                changes.append(f"{name} {version} (new)")
            elif before[name] != version:
                changes.append(f"{name} {before[name]} → {version}")
        changes += [f"{name} (no longer installed)" for name in before if name not in now]
        self.notes.append(Step("note", "", f"packages: {', '.join(changes)}"))

    # -------------------------------------------------------------- new tables

    def _create(self, table: sa.Table) -> None:
        schema = self.db.schema
        inline = self.sqlite
        fks = [(c.name, fk) for c in table.columns for fk in c.foreign_keys]

        def create(op: Operations) -> None:
            op.create_table(table.name, *op_copy_columns(table, with_fks=inline), *op_copy_indexes(table), schema=schema)

        details = [plural(len(table.columns), "column")]
        if table.indexes:
            details.append(f"{len(table.indexes)} index{'es' if len(table.indexes) != 1 else ''}")
        if inline and fks:
            details.append("foreign keys " + ", ".join(f"{c} → {target_table(fk)}" for c, fk in fks))
        self.creates.append(Step("create_table", table.name, f"create table {table.name} ({', '.join(details)})",
                                 [create]))
        if not inline:
            for column, fk in fks:
                self.fks.append(self._add_fk_step(table.name, column, fk))

    def _unhook(self, live: LiveTable) -> Step:
        """A kept table's foreign keys go, so deleting records elsewhere no longer cascades into
        (or is blocked by) data nothing shows any more; they come back with the object."""
        name = live.name
        words = (f"drop the foreign keys of kept table {name} ("
                 + ", ".join(f"{fk.column} → {fk.target}" for fk in live.foreign_keys.values())
                 + ") so deletes elsewhere no longer reach its rows")
        if not self.sqlite:
            return Step("drop_foreign_key", name, words,
                        [op_drop_fk(fk, name, self.db.schema) for fk in live.foreign_keys.values() if fk.name])
        state = self._sqlite_state(live, [], {}, [])
        return self._rebuild_step(name, state, live, set(), {}, [words.split(" (")[0]], [])

    def _add_fk_step(self, table: str, column: str, fk: sa.ForeignKey, fix: Action | None = None) -> Step:
        schema = self.db.schema
        target, ondelete, name = target_table(fk), fk.ondelete, fk.name

        def add(op: Operations) -> None:
            op.create_foreign_key(name, table, target, [column], ["id"], ondelete=ondelete,
                                  source_schema=schema, referent_schema=schema)

        words = f"add foreign key {table}.{column} → {target} (on delete {(ondelete or 'no action').lower()})"
        return Step("add_foreign_key", table, words, [*([fix] if fix else []), add])

    # -------------------------------------------------------------- existing tables

    def _alter(self, table: sa.Table, live: LiveTable) -> None:  # noqa: C901 - one table's whole diff
        name, schema = table.name, self.db.schema
        obj = self.registry.objects.get(name)
        is_object = obj is not None and not name.startswith(SYSTEM_PREFIX)
        last = self._last_object(name)
        last_fields: dict[str, Any] = last.get("fields", {})
        last_retired: dict[str, Any] = last.get("retired", {})
        retired_snapshot = dict(last_retired)

        # where each desired column's data is now
        src: dict[str, str | None] = {}
        restores: list[tuple[str, str]] = []
        adds: list[sa.Column[Any]] = []
        for column in table.columns:
            if column.name in live.columns:
                src[column.name] = column.name
                continue
            found = self._find_retired(name, column.name, live)
            src[column.name] = found
            if found:
                restores.append((column.name, found))
                retired_snapshot.pop(column.name, None)
            else:
                adds.append(column)
        restoring = {found for _, found in restores}
        retires = [c for c in live.columns
                   if c not in table.c and c not in restoring and not c.startswith(RETIRED_PREFIX)]
        taken = set(live.columns)
        retire_names: dict[str, str] = {}
        for column in retires:
            retire_names[column] = retired_name(column, taken)
            taken.add(retire_names[column])

        # type changes
        changes: dict[str, tuple[Shape, Shape, str]] = {}
        for column in table.columns:
            source = src[column.name]
            if source is None:
                continue
            new = shape_of(column.type, self.dialect)
            entry = last_fields.get(column.name) if source == column.name else last_retired.get(column.name)
            hint = Shape.from_json(entry.get("column")) if isinstance(entry, dict) else None
            old = live_shape(live.columns[source].type, self.dialect, hint, new)
            if old != new:
                changes[column.name] = (old, new, classify(old, new))
        converting = {c for c, (_, _, mode) in changes.items() if mode == "convert"}

        # indexes
        desired_indexes = {i.name: (tuple(c.name for c in i.columns), bool(i.unique), index_where(i))
                           for i in sorted(table.indexes, key=lambda i: str(i.name))}
        volatile = set(retires) | restoring | converting
        index_drops = [i for i in live.indexes.values()
                       if desired_indexes.get(i.name) != (i.columns, i.unique, i.where_set)
                       or volatile & set(i.columns)]
        dropped = {i.name for i in index_drops}
        index_creates = [(n, *shape) for n, shape in desired_indexes.items()
                         if n not in live.indexes or n in dropped]

        # foreign keys
        desired_fks = {c.name: fk for c in table.columns for fk in c.foreign_keys}
        restored_as = {found: column for column, found in restores}
        fk_drops: list[LiveForeignKey] = []
        for live_column, live_fk in live.foreign_keys.items():
            column = live_column if src.get(live_column) == live_column else restored_as.get(live_column)
            want = desired_fks.get(column) if column else None
            if want is None or column in converting or not _same_fk(live_fk, want):
                fk_drops.append(live_fk)
        fk_adds: list[str] = []
        for column, fk in desired_fks.items():
            source = src[column]
            live_fk = live.foreign_keys.get(source) if source else None
            if live_fk is None or column in converting or not _same_fk(live_fk, fk):
                fk_adds.append(column)

        label = (lambda c: f"{name}.{c}")
        steps: list[Step] = []
        rebuild_reasons: list[str] = []
        pre_rebuild: list[Action] = []

        for index in index_drops:
            steps.append(Step("drop_index", name, f"drop index {index.name} on {name}",
                              [op_drop_index(index, name, schema)]))
        if not self.sqlite:
            for live_fk in fk_drops:
                if live_fk.name:
                    steps.append(Step("drop_foreign_key", name,
                                      f"drop foreign key {live_fk.name} ({label(live_fk.column)} → {live_fk.target})",
                                      [op_drop_fk(live_fk, name, schema)]))

        for column in retires:
            aside = retire_names[column]
            entry = last_fields.get(column) or {"type": "unknown",
                                                "column": shape_of(live.columns[column].type, self.dialect).to_json()}
            retired_snapshot[column] = {**entry, "column_name": aside}
            steps.append(Step("retire_column", name,
                              f"retire column {label(column)}: rename it to {aside} (its data is kept; "
                              f"adding the field back restores it)",
                              [op_rename(name, column, aside, schema),
                               self._record_retired(name, column, aside, str(entry.get("type", "unknown")))]))
        for column, found in restores:
            steps.append(Step("restore_column", name,
                              f"restore column {label(column)} from {found} (its data comes back)",
                              [op_rename(name, found, column, schema), self._forget_retired(name, column)]))
        for column in adds:
            steps.append(Step("add_column", name, f"add column {label(column.name)} {shape_of(column.type, self.dialect)}",
                              [op_add_column(name, column, schema)]))

        state = self._sqlite_state(live, restores, retire_names, adds) if self.sqlite else None
        fields = obj.fields if obj is not None else {}
        for column, (old, new, mode) in changes.items():
            f = fields.get(column)
            to_list = f is not None and f.type == "multi_picklist"
            step, reason = self._change(name, table.c[column], source_live=src[column] or column,
                                        old=old, new=new, mode=mode, to_list=to_list, state=state)
            steps.append(step)
            if reason:
                rebuild_reasons.append(reason)

        for column in fk_adds:
            fk = desired_fks[column]
            source = src[column]
            fix: Action | None = None
            if source is not None and column not in converting:
                dangling = self.count.dangling(name, source, target_table(fk), target_table(fk) in self.live)
                if dangling:
                    self.refusals.append(Refusal(
                        f"{label(column)}: {says(dangling, 'row', 'refer')} to {target_table(fk)} records that "
                        f"no longer exist", True, "clears those references"))
                    fix = self._clear_dangling(name, column, target_table(fk))
            if self.sqlite:
                if fix:
                    pre_rebuild.append(fix)
            else:
                self.fks.append(self._add_fk_step(name, column, fk, fix))

        if state is not None:
            reasons = self._sqlite_fk_reasons(name, state, desired_fks)
            rebuild_reasons += reasons
            if rebuild_reasons:
                steps.append(self._rebuild_step(name, state, live, dropped, desired_fks, rebuild_reasons, pre_rebuild))

        if is_object and obj is not None:
            steps += self._field_checks(name, obj, src, changes, last_fields)
            self.snapshot["objects"][name]["retired"] = retired_snapshot
            if not retired_snapshot:
                del self.snapshot["objects"][name]["retired"]

        for index_name, columns, unique, where_set in index_creates:
            sources = [src.get(c) for c in columns]
            if unique and all(sources):
                values, rows = self.count.duplicates(name, [s for s in sources if s])
                if values:
                    what = label(columns[0]) if len(columns) == 1 else f"{name} ({', '.join(columns)})"
                    self.refusals.append(Refusal(
                        f"{what}: cannot be made unique: {says(values, 'value', 'appear')} more than once "
                        f"({plural(rows, 'row')}); fix the duplicates first"))
            self.indexes.append(Step("create_index", name,
                                     f"create {'unique ' if unique else ''}index {index_name} on {name} ({', '.join(columns)})"
                                     + (f" where {where_set} is set" if where_set else ""),
                                     [op_create_index(index_name, name, columns, unique, schema, where_set)]))
        self.alters += steps

    def _find_retired(self, table: str, column: str, live: LiveTable) -> str | None:
        recorded = self.retired_rows.get((table, column))
        if recorded and recorded in live.columns:
            return recorded
        candidate = short_name(f"{RETIRED_PREFIX}{column}")
        return candidate if candidate in live.columns else None

    def _record_retired(self, table: str, column: str, aside: str, field_type: str) -> Action:
        retired = self.schema.retired

        def record(op: Operations) -> None:
            op.execute(retired.delete().where(retired.c.object == table, retired.c.field == column))
            op.execute(retired.insert().values(object=table, field=column, column_name=aside,
                                               field_type=field_type[:63],
                                               retired_at=sa.func.current_timestamp()))
        return record

    def _forget_retired(self, table: str, column: str) -> Action:
        retired = self.schema.retired

        def forget(op: Operations) -> None:
            op.execute(retired.delete().where(retired.c.object == table, retired.c.field == column))
        return forget

    def _clear_dangling(self, table: str, column: str, target: str) -> Action:
        schema = self.db.schema
        target_exists = target in self.live

        def clear(op: Operations) -> None:
            t = sa.table(table, sa.column(column, sa.BigInteger()), schema=schema)
            condition: sa.ColumnElement[bool] = t.c[column].is_not(None)
            if target_exists:
                target_t = sa.table(target, sa.column("id", sa.BigInteger()), schema=schema)
                condition = sa.and_(condition, ~sa.select(target_t.c.id).where(target_t.c.id == t.c[column]).exists())
            op.execute(sa.update(t).where(condition).values({column: None}))
        return clear


def _same_fk(live_fk: LiveForeignKey, fk: sa.ForeignKey) -> bool:
    return live_fk.target == target_table(fk) and live_fk.ondelete == normalize_ondelete(fk.ondelete)


def plan_on(conn: Connection, registry: Registry, db: Database) -> Plan:
    return Planner(registry, db, conn).run()
