"""The checks a record passes before it is written: field-level security on input, defaults,
required and conditional fields, options, unique values, lookups, stored formulas and rules.

A mixin of :class:`tessera.records.service.UnitOfWork`; the methods use its state.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from tessera.expressions import EvalContext, FormulaError
from tessera.metadata.model import FieldDef, IndexDef
from tessera.storage.tables import constraint_name

from . import errors as E
from .errors import RECORD, Problem, ValidationFailed

if TYPE_CHECKING:
    from .service import ObjectRuntime


class Checks:
    """What every write is checked for, in the order the service runs them."""

    def _field_security(self, runtime: ObjectRuntime, given: dict[str, Any],
                        prior: Mapping[str, Any] | None) -> dict[str, Any]:
        """Input with the actor's hidden and read-only fields checked: a hidden field does not
        exist for them; a read-only one may be sent back unchanged but not changed."""
        hidden = self.access.hidden(runtime.object.name)
        if not hidden:
            return given
        refused = {key: [Problem(E.UNKNOWN_FIELD, {"name": key})] for key in given if key in hidden}
        if refused:
            raise ValidationFailed(runtime.object.name, refused)
        return given

    def _check_read_only(self, runtime: ObjectRuntime, values: Mapping[str, Any], prior: Mapping[str, Any] | None,
                         problems: dict[str, list[Problem]]) -> None:
        """Read-only fields (for this actor) compared as converted values, so a client sending
        a record back unchanged ("100.00" for 100.00) is not refused."""
        for key in self.access.read_only(runtime.object.name):
            if key in values and (prior is None or prior.get(key) != values[key]):
                problems.setdefault(key, []).append(Problem(E.READ_ONLY))

    def _apply_defaults(self, runtime: ObjectRuntime, record: dict[str, Any], given: Mapping[str, Any]) -> None:
        for field in runtime.defaults:
            if field.name in given or record.get(field.name) is not None:
                continue
            if field.default_formula is not None:
                try:
                    record[field.name] = _to_field(field, field.default_formula(self._context(runtime.object, record)))
                except FormulaError:
                    record[field.name] = None
            else:
                record[field.name] = _literal_default(field)
        if record.get("owner_id") is None:
            record["owner_id"] = self.actor.id

    def _check_record(self, runtime: ObjectRuntime, record: dict[str, Any], prior: dict[str, Any] | None,
                      problems: dict[str, list[Problem]]) -> None:
        for field in runtime.required:
            if field.name not in problems and _blank(record.get(field.name)):
                problems.setdefault(field.name, []).append(Problem(E.REQUIRED))
        if runtime.conditional:
            context = self._context(runtime.object, record, prior)
            for field in runtime.conditional:
                if field.required_when is not None and _blank(record.get(field.name)) and field.name not in problems:
                    if self._condition(field.required_when, context, field.name, problems):
                        problems.setdefault(field.name, []).append(Problem(E.REQUIRED))
                if (field.read_only_when is not None and prior is not None
                        and record.get(field.name) != prior.get(field.name)):
                    prior_context = self._context(runtime.object, prior)
                    if self._condition(field.read_only_when, prior_context, field.name, problems):
                        problems.setdefault(field.name, []).append(Problem(E.READ_ONLY))
        for field in runtime.choices:
            value = record.get(field.name)
            old = prior.get(field.name) if prior else None
            if value is None or value == old or field.name in problems:
                continue
            new_values = value if isinstance(value, list) else [value]
            old_values = set(old) if isinstance(old, list) else {old}
            for item in new_values:
                option = field.option(item)
                if option is not None and not option.active and item not in old_values:
                    problems.setdefault(field.name, []).append(Problem(E.NOT_AN_OPTION, {"value": item}))
        self._check_lookups(runtime, record, prior, problems)
        self._check_owner(record, prior, problems)
        self._check_unique(runtime, record, prior, problems)

    def _check_unique(self, runtime: ObjectRuntime, record: dict[str, Any], prior: dict[str, Any] | None,
                      problems: dict[str, list[Problem]]) -> None:
        table = runtime.table
        for field in runtime.unique:
            value = record.get(field.name)
            if value is None or field.name in problems or (prior is not None and prior.get(field.name) == value):
                continue
            clash = sa.select(table.c.id).where(table.c[field.name] == value)  # the recycle bin counts too
            if prior is not None:
                clash = clash.where(table.c.id != prior["id"])
            if self.conn.execute(clash.limit(1)).first() is not None:
                problems.setdefault(field.name, []).append(Problem(E.NOT_UNIQUE, {"object": runtime.object.name}))
        for index in runtime.unique_indexes:
            values = [record.get(name) for name in index.fields]
            if (any(value is None for value in values) or any(name in problems for name in index.fields)
                    or (prior is not None and all(prior.get(n) == v for n, v in zip(index.fields, values, strict=True)))):
                continue  # NULLs never clash in a unique index; an unchanged combination is fine
            clash = sa.select(table.c.id).where(*(table.c[n] == v for n, v in zip(index.fields, values, strict=True)))
            if prior is not None:
                clash = clash.where(table.c.id != prior["id"])
            if self.conn.execute(clash.limit(1)).first() is not None:
                for name in index.fields:
                    problems.setdefault(name, []).append(_not_unique(runtime, index))

    def _unique_violation(self, runtime: ObjectRuntime, exc: sa.exc.IntegrityError) -> ValidationFailed | None:
        """A writer racing past the check above hits the unique index: say which field."""
        text = str(exc.orig)
        table = runtime.table.name
        for index in runtime.unique_indexes:  # SQLite names the columns, PostgreSQL the index
            if index.name in text or all(f"{table}.{name}" in text for name in index.fields):
                problem = _not_unique(runtime, index)
                return ValidationFailed(runtime.object.name, {name: [problem] for name in index.fields})
        for field in runtime.unique:
            if constraint_name("uq", runtime.object.name, (field.name,)) in text or f"{table}.{field.name}" in text:
                return ValidationFailed(runtime.object.name, {field.name: [
                    Problem(E.NOT_UNIQUE, {"object": runtime.object.name})]})
        return None

    def _check_lookups(self, runtime: ObjectRuntime, record: dict[str, Any], prior: dict[str, Any] | None,
                       problems: dict[str, list[Problem]]) -> None:
        for field in runtime.lookups:
            target_id = record.get(field.name)
            if target_id is None or field.name in problems:
                continue
            if prior is not None and prior.get(field.name) == target_id:
                continue  # unchanged: it existed when it was set
            found = runtime.lookup_exists[field.name].first(self.conn, {"_id": target_id})
            if found is not None and not self.access.unrestricted:  # only records the actor can see
                target = self.service.runtime(field.target)
                if not self.access.allows(field.target, "read") or not self._reaches(target, target_id, "read"):
                    found = None
            if found is None:
                problems.setdefault(field.name, []).append(
                    Problem(E.NO_SUCH_RECORD, {"object": field.target, "id": target_id}))

    def _check_owner(self, record: dict[str, Any], prior: dict[str, Any] | None,
                     problems: dict[str, list[Problem]]) -> None:
        """A record is owned by a user of its own org (user ids are unique across orgs, so an
        id of another org's user is no user here). Checked when the identity store is known."""
        owner = record.get("owner_id")
        directory = self.service.policy.directory
        if (directory is None or owner is None or "owner_id" in problems or owner == self.actor.id
                or (prior is not None and prior.get("owner_id") == owner)):
            return
        if owner not in directory.users_in_roles(self.service.org, self.service.registry.roles):
            problems.setdefault("owner_id", []).append(Problem(E.NO_SUCH_RECORD, {"object": "user", "id": owner}))

    def _compute_stored_formulas(self, runtime: ObjectRuntime, record: dict[str, Any],
                                 prior: dict[str, Any] | None, problems: dict[str, list[Problem]]) -> None:
        for field in runtime.stored_formulas:
            try:
                record[field.name] = _to_field(field, field.formula(self._context(runtime.object, record, prior)))
            except FormulaError:
                record[field.name] = None  # e.g. VALUE('abc'): the formula reads as blank

    def _run_rules(self, runtime: ObjectRuntime, record: dict[str, Any], prior: dict[str, Any] | None,
                   problems: dict[str, list[Problem]]) -> None:
        context = self._context(runtime.object, record, prior)
        broken = set(problems)
        for rule in runtime.rules:
            if broken and any(path[0] in broken for path in rule.condition.references):
                continue  # it reads a value already reported as wrong: its verdict would be noise
            if self._condition(rule.condition, context, rule.error_field or RECORD, problems, rule=rule.name):
                problems.setdefault(rule.error_field or RECORD, []).append(Problem(rule.message))

    @staticmethod
    def _condition(formula: Any, context: EvalContext, field: str, problems: dict[str, list[Problem]],
                   rule: str | None = None) -> bool:
        try:
            return bool(formula(context))
        except FormulaError as exc:
            problems.setdefault(field, []).append(
                Problem(E.FORMULA_FAILED, {"rule": rule or field, "detail": exc.message}))
            return False


def _blank(value: Any) -> bool:
    return value is None or value == "" or value == []


def _literal_default(field: FieldDef) -> Any:
    value = field.default
    if field.type in ("decimal", "currency", "percent") and value is not None:
        return Decimal(str(value))
    if field.type == "date" and isinstance(value, str):
        return dt.date.fromisoformat(value)
    if field.type == "datetime" and isinstance(value, str):
        parsed = dt.datetime.fromisoformat(value)
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
    return list(value) if isinstance(value, list) else value


def _to_field(field: FieldDef, value: Any) -> Any:
    """A formula's result in the field's stored form (rounded to its scale, int for integer)."""
    if value is None:
        return None
    kind = field.result or field.type
    if kind == "integer" and isinstance(value, Decimal):
        return int(value.to_integral_value())
    if kind in ("decimal", "currency", "percent") and isinstance(value, Decimal):
        scale = field.scale if field.scale is not None else 2
        return value.quantize(Decimal(1).scaleb(-scale))
    if kind == "text" and value == "":
        return None
    return value


def _not_unique(runtime: ObjectRuntime, index: IndexDef) -> Problem:
    """The problem of a clash in a unique index of the metadata (one field or several)."""
    return Problem(E.NOT_UNIQUE if len(index.fields) == 1 else E.NOT_UNIQUE_TOGETHER, {"object": runtime.object.name})
