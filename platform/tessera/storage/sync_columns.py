"""Schema sync, part 3b: what the plan does to the columns of a table that already exists.

The planner (:mod:`.sync_plan`) works out which columns of an existing table are added, retired,
restored or given a new type; the methods here, mixed into its :class:`~.sync_plan.Planner`, make
the steps for each column that changes. A type change is one of four modes: ``string`` (a new
length; what is too long is truncated when forced), ``numeric`` (a new precision or scale: altered
in place on PostgreSQL, rescaled in place on SQLite, where decimals are scaled integers),
``convert`` (another kind: the column is renamed aside, added anew and filled value by value
through :mod:`.sync_convert`) or ``unsupported`` (refused). Rows that would lose data are counted
at plan time and refuse the deploy unless it is forced.

SQLite cannot change a column's type or foreign keys in place, so there the planner follows what
the table's columns will be once its renames and additions ran, and ends the table's changes with
one batch-mode rebuild (copy, drop, rename) to that shape.

Metadata can also change what a column must hold without changing the column: a field made
required has its blank rows filled with its default (a new field with a literal default) or
refuses the deploy; removed options and a new field type on the same column become notes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from alembic.operations import Operations

from tessera.metadata.model import FieldDef, ObjectDef

from .database import Database
from .sync_convert import converter, force_effect, is_safe_widening, loss_phrase
from .sync_live import Counter, LiveTable, Shape, normalize_ondelete, shape_of
from .sync_steps import (
    Action,
    Refusal,
    StateColumn,
    Step,
    copy_index,
    examples_text,
    op_add_column,
    op_alter_type,
    op_drop_column,
    op_fill,
    op_fill_blanks,
    op_null_values,
    op_rename,
    op_rescale,
    op_truncate,
    plural,
    says,
    short_name,
    target_table,
)
from .tables import StorageSchema


def classify(old: Shape, new: Shape) -> str:
    """The mode of a type change: ``string``, ``numeric``, ``convert`` or ``unsupported``."""
    if "other" in (old.kind, new.kind):
        return "unsupported"
    if old.kind == new.kind == "string":
        return "string"
    if old.numeric and new.numeric:
        return "numeric"
    return "convert"


class ColumnChanges:
    """The :class:`~.sync_plan.Planner`'s steps for one changed column, and SQLite's table rebuild."""

    db: Database
    schema: StorageSchema
    dialect: str
    sqlite: bool
    count: Counter
    refusals: list[Refusal]

    # -------------------------------------------------------------- type changes

    def _change(self, table: str, column: sa.Column[Any], *, source_live: str, old: Shape, new: Shape, mode: str,
                to_list: bool, state: dict[str, StateColumn] | None) -> tuple[Step, str | None]:
        name, schema, col = table, self.db.schema, column.name
        words = f"change column {name}.{col} from {old} to {new}"
        if mode == "unsupported":
            self.refusals.append(Refusal(f"{name}.{col}: Tessera cannot change a column from {old} to {new}; "
                                         "add a new field and copy the data instead"))
            return Step("change_type", name, words), None
        convert = converter(old, new, sqlite=self.sqlite, to_list=to_list)
        assert convert is not None
        lost, examples, nulled = 0, [], []
        if not is_safe_widening(old, new, sqlite=self.sqlite):
            if mode == "string":
                lost = self.count.longer(name, source_live, new.length or 0)
            else:
                lost, examples, nulled = self.count.lossy(name, source_live, old, convert)
        if lost:
            self.refusals.append(Refusal(f"{name}.{col}: {says(lost, 'row', 'have')} {loss_phrase(old, new)}"
                                         f"{examples_text(examples)}", True, force_effect(old, new)))
            words += f" ({says(lost, 'row', 'lose')} data)"
        actions: list[Action] = []
        reason = note = None
        if mode == "string":
            if lost:
                actions.append(op_truncate(name, col, new.length or 0, schema))
            if self.sqlite:
                assert state is not None
                state[col].type = column.type
                reason = f"declare {col} as {new}"
                note = "the table rebuild below declares the new type"
            else:
                actions.append(op_alter_type(name, col, column.type, old.sqla_type(), schema))
        elif mode == "numeric":
            if nulled:
                actions.append(op_null_values(name, col, old, nulled, schema, new))
            if self.sqlite:
                shift = new.digits_scale - old.digits_scale
                if shift:
                    actions.append(op_rescale(name, col, shift, schema))
                    words += f"; stored values rescaled ({'×' if shift > 0 else '÷'}{10 ** abs(shift)}"
                    words += ", rounded)" if shift < 0 else ")"
                else:
                    note = "SQLite keeps decimals as scaled 64-bit integers: the column stays BIGINT"
            else:
                actions.append(op_alter_type(name, col, column.type, old.sqla_type(), schema))
        else:  # convert, value by value
            temp = short_name(f"{col}__converting")
            actions += [op_rename(name, col, temp, schema), op_add_column(name, column, schema),
                        op_fill(name, temp, col, old, column.type, convert, schema)]
            words = f"convert column {name}.{col} from {old} to {new}, value by value" + (
                f" ({says(lost, 'row', 'lose')} data)" if lost else "")
            if self.sqlite:
                assert state is not None
                moved = state.pop(col)
                moved.name = temp
                state[temp] = moved
                state[col] = StateColumn(col, column.type)
                if moved.fk is None:
                    actions.append(op_drop_column(name, temp, schema))
                    del state[temp]
                else:
                    moved.drop = True
                    reason = f"drop the old {col} column (kept as {temp} during the conversion)"
            else:
                actions.append(op_drop_column(name, temp, schema))
        return Step("change_type", name, words, actions, sql_note=note or ""), reason

    # -------------------------------------------------------------- SQLite rebuilds

    def _sqlite_state(self, live: LiveTable, restores: list[tuple[str, str]], retire_names: Mapping[str, str],
                      adds: list[sa.Column[Any]]) -> dict[str, StateColumn]:
        """The columns of an existing table as they will be once its renames and additions ran."""
        state = {c.name: StateColumn(c.name, c.type, c.nullable, c.primary_key, c.default,
                                      (live.foreign_keys[c.name].target, live.foreign_keys[c.name].ondelete)
                                      if c.name in live.foreign_keys else None)
                 for c in live.columns.values()}
        renames = {found: column for column, found in restores}
        renames.update(retire_names)
        renamed: dict[str, StateColumn] = {}
        for key, column in state.items():
            new_name = renames.get(key, key)
            column.name = new_name
            renamed[new_name] = column
        for column in adds:
            renamed[column.name] = StateColumn(column.name, column.type)
        return renamed

    def _sqlite_fk_reasons(self, table: str, state: dict[str, StateColumn],
                           desired_fks: Mapping[str, sa.ForeignKey]) -> list[str]:
        reasons = []
        for column in state.values():
            if column.drop:
                continue
            fk = desired_fks.get(column.name)
            want = (target_table(fk), normalize_ondelete(fk.ondelete)) if fk else None
            if column.fk != want:
                if want:
                    reasons.append(f"add foreign key {column.name} → {want[0]} (on delete {(want[1] or 'no action').lower()})")
                elif column.fk:
                    reasons.append(f"drop foreign key {column.name} → {column.fk[0]}")
        return reasons

    def _rebuild_step(self, table: str, state: dict[str, StateColumn], live: LiveTable, dropped: set[str],
                      desired_fks: Mapping[str, sa.ForeignKey], reasons: list[str], pre: list[Action]) -> Step:
        schema = self.db.schema
        columns = list(state.values())
        kept_indexes = [i for i in live.indexes.values() if i.name not in dropped]
        drop = [c.name for c in columns if c.drop]
        fk_names = {c: fk.name for c, fk in desired_fks.items()}

        def shape_table() -> sa.Table:
            md = sa.MetaData()
            cols = []
            for c in columns:
                fk = desired_fks.get(c.name)
                args = [sa.ForeignKey(f"{target_table(fk)}.id", ondelete=fk.ondelete, name=fk_names[c.name])] if fk else []
                cols.append(sa.Column(c.name, c.type, *args, primary_key=c.primary_key, nullable=c.nullable,
                                      server_default=sa.text(c.default) if c.default is not None else None))
            indexes = [copy_index(i.name, i.columns, i.unique, i.where_set) for i in kept_indexes]
            return sa.Table(table, md, *cols, *indexes, schema=schema)

        def rebuild(op: Operations) -> None:
            with op.batch_alter_table(table, schema=schema, recreate="always", copy_from=shape_table()) as batch:
                for name in drop:
                    batch.drop_column(name)

        return Step("rebuild_table", table, f"rebuild table {table} (SQLite batch mode) to {'; '.join(reasons)}",
                    [*pre, rebuild])

    # -------------------------------------------------------------- field checks and notes

    def _field_checks(self, table: str, obj: ObjectDef, src: Mapping[str, str | None],
                      changes: Mapping[str, tuple[Shape, Shape, str]], last_fields: Mapping[str, Any]) -> list[Step]:
        steps: list[Step] = []
        rows: int | None = None
        for f in obj.fields.values():
            if f.system or f.name not in self.schema.tables[table].c:
                continue
            entry = last_fields.get(f.name) if isinstance(last_fields.get(f.name), dict) else None
            source = src.get(f.name)
            new = shape_of(self.schema.tables[table].c[f.name].type, self.dialect)
            if f.required:
                newly = source is None or source != f.name or entry is None or not entry.get("required")
                if newly:
                    if source is None:
                        rows = self.count.rows(table) if rows is None else rows
                        blanks = rows
                    else:
                        old = changes.get(f.name, (new, new, ""))[0]
                        blanks = self.count.blank(table, source, old)
                    if blanks:
                        steps.append(self._backfill_or_refuse(table, f, new, blanks, is_new=source is None))
                    elif entry is not None and source == f.name:
                        steps.append(Step("note", table, f"{table}.{f.name} is now required (no blank rows)"))
            elif entry is not None and entry.get("required"):
                steps.append(Step("note", table, f"{table}.{f.name} is no longer required"))
            if entry is None:
                continue
            removed = [v for v in entry.get("options") or () if v not in {o.value for o in f.options}]
            if removed and f.options:
                holding = ""
                if new.kind == "string" and source == f.name:
                    t = self.count.table(table, {f.name: sa.Text()})
                    count = self.count.scalar(sa.select(sa.func.count()).select_from(t).where(t.c[f.name].in_(removed)))
                    holding = f"; {says(count, 'row', 'keep')} {'it' if len(removed) == 1 else 'them'}"
                steps.append(Step("note", table,
                                  f"{table}.{f.name}: option{'s' if len(removed) != 1 else ''} "
                                  f"{', '.join(removed)} removed{holding} — existing values stay readable "
                                  "(the column holds text: nothing to change)"))
            if entry.get("type") != f.type and f.name not in changes and source == f.name:
                steps.append(Step("note", table, f"{table}.{f.name}: type {entry.get('type')} → {f.type} "
                                                 "(same column; nothing to change)"))
        return steps

    def _backfill_or_refuse(self, table: str, f: FieldDef, new: Shape, blanks: int, *, is_new: bool) -> Step:
        """A new required field with a literal default fills the existing rows with it; otherwise
        blank rows refuse the deploy (existing blanks are the users' data: never overwritten)."""
        what = f"{table}.{f.name}"
        value = None
        if is_new and f.default is not None and f.default_formula is None:
            convert = converter(Shape("json"), new, sqlite=self.sqlite, to_list=f.type == "multi_picklist")
            if convert is not None:
                value, _ = convert(f.default)
        if value is None:
            if is_new:
                message = (f"{what}: a new required field, but the table has {plural(blanks, 'row')} that would "
                           "be blank; give the field a default, or add it first and make it required once filled")
            else:
                message = f"{what}: cannot be made required: {says(blanks, 'row', 'are')} blank; fill them first"
            self.refusals.append(Refusal(message))
            return Step("note", table, f"{what} becomes required")
        return Step("fill_default", table,
                    f"fill {what} with its default {value if not isinstance(value, str) else repr(value)} "
                    f"in {plural(blanks, 'existing row')} (a new required field)",
                    [op_fill_blanks(table, f.name, self.schema.tables[table].c[f.name].type, new, value, self.db.schema)])
