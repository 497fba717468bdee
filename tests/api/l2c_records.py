"""Valid records of every L2C object, for tests that need "one of each" through the API.

The demo generator (:mod:`tessera.demo`) already knows how to make believable, valid records of
every object: prices that match price books, payments allocated within a receivable's balance,
dates in the order the validation rules want. Rather than a second generator, :func:`load_templates`
loads a small demo company into a scratch SQLite file once, and :class:`Copier` copies its records
into the org under test through that org's record service (as the system):

* a copy takes the demo record's writable values (no computed, read-only or system field: the
  engine fills those again), with its owner set to the world's user;
* each lookup points at the copy, in the same :class:`World`, of the record the demo's pointed at
  (copied first, once per world), so related records stay consistent;
* unique values are made fresh (same length and kind of characters), so copies never clash.

Should the demo make no record of an object (other seeds leave out order milestones or usage
records), one is built from the metadata alone in the scratch org first (required fields, the
default or first option, lookups tried against the demo's records until the validation rules
agree) and copied from there like the rest. An object none of this can make is named in :attr:`Templates.unmade` with the reason.
"""

from __future__ import annotations

import datetime as dt
import itertools
import string
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from tessera.demo import load_demo
from tessera.metadata.filters import walk
from tessera.metadata.model import FieldDef, ObjectDef
from tessera.metadata.registry import Registry, build_org_registry
from tessera.records import RecordService
from tessera.records.errors import RecordError
from tessera.records.service import UnitOfWork
from tessera.storage.database import Database

#: a demo company this small, with this seed and day, has records of every object (about 3 s on SQLite)
DEMO_SCALE = 0.02
DEMO_SEEDS = (6, 5, 8)
DEMO_TODAY = dt.date(2026, 3, 16)
#: how many demo records of an object to try before giving up on copying it
TRIES = 12
#: system fields a caller may write
WRITABLE_SYSTEM = frozenset({"owner_id"})
#: characters a fresh code may use: no I, O, S, V or Z (the credit code's alphabet)
_LETTERS = "ABCDEFGHJKLMNPQRTUWXY"


def writable(field: FieldDef) -> bool:
    """Whether the metadata lets anybody write ``field`` (roles may take more away)."""
    if field.system:
        return field.name in WRITABLE_SYSTEM
    return not (field.computed or field.read_only)


@dataclass
class Templates:
    """The demo's records of each object (as the system reads them), and objects none could be made of."""

    registry: Registry
    rows: dict[str, list[dict[str, Any]]]
    unmade: dict[str, str] = field(default_factory=dict)

    def row(self, object_name: str, record_id: int) -> dict[str, Any] | None:
        return self._by_id.get((object_name, record_id))

    def __post_init__(self) -> None:
        self._by_id = {(name, row["id"]): row for name, rows in self.rows.items() for row in rows}


def load_templates(folder: Path, registry: Registry | None = None, today: dt.date | None = None) -> Templates:
    """Load the demo company into ``folder`` and read every record back, its dates moved as if
    the demo had been loaded ``today`` (rules compare dates with TODAY()). The demo is loaded on
    a fixed day, so the same records come every time; should the generator change so that a
    seed no longer makes every object, the next seed is tried."""
    registry = registry or build_org_registry(["l2c"])
    shift = (today or dt.date.today()) - DEMO_TODAY
    best: Templates | None = None
    for seed in DEMO_SEEDS:
        found = _load(folder / f"demo-{seed}.db", registry, seed, shift)
        if not found.unmade:
            return found
        if best is None or len(found.unmade) < len(best.unmade):
            best = found
    assert best is not None
    return best


def _load(path: Path, registry: Registry, seed: int, shift: dt.timedelta) -> Templates:
    db = Database.connect(f"sqlite:///{path}")
    try:
        load_demo(registry, db, scale=DEMO_SCALE, seed=seed, today=DEMO_TODAY)
        service = RecordService(registry, db, clock=lambda: dt.datetime.combine(DEMO_TODAY, dt.time(4), dt.UTC))
        rows = {name: _all(service, name) for name in registry.objects}
        unmade: dict[str, str] = {}
        for name in [n for n, found in rows.items() if not found]:
            reason = _make_from_metadata(service, registry, name, rows)
            if reason is None:
                rows[name] = _all(service, name)
            else:
                unmade[name] = reason
        for name, found in rows.items():
            dated = [f.name for f in registry.object(name).fields.values() if f.type in ("date", "datetime")]
            for row in found:
                for key in dated:
                    if row.get(key) is not None:
                        row[key] += shift
        return Templates(registry, rows, unmade)
    finally:
        db.dispose()


def _all(service: RecordService, name: str) -> list[dict[str, Any]]:
    return list(service.query(name, sort="id", limit=1000).rows)


def _make_from_metadata(service: RecordService, registry: Registry, name: str,
                        rows: Mapping[str, list[dict[str, Any]]]) -> str | None:
    """Create one record of ``name`` in the scratch org from its metadata alone; None when it
    worked, else why not. Required values get a plain sample; the first required lookup tries
    each demo record of its target (a validation rule may want a particular one)."""
    obj = registry.object(name)
    body: dict[str, Any] = {}
    lookups: list[FieldDef] = []
    for f in obj.fields.values():
        if not writable(f) or f.system or not f.required or f.default is not None or f.default_formula:
            continue
        if f.target:
            lookups.append(f)
        else:
            body[f.name] = sample(f, DEMO_TODAY)
    if any(not rows.get(f.target or "") for f in lookups):
        return "a required lookup's target has no demo record"
    first, rest = (lookups[0], lookups[1:]) if lookups else (None, [])
    for f in rest:
        body[f.name] = rows[f.target or ""][0]["id"]
    last = "no candidate"
    for candidate in (rows[first.target or ""] if first else [None])[:200]:
        if first is not None and candidate is not None:
            body[first.name] = candidate["id"]
        try:
            service.create(name, body)
            return None
        except RecordError as exc:
            last = str(exc)
    return f"no record built from the metadata passed its checks: {last}"


def sample(f: FieldDef, today: dt.date | None = None) -> Any:
    """A plain valid value of ``f`` on its own (rules about the whole record aside)."""
    today = today or dt.date.today()
    kind = f.type
    if kind in ("picklist", "multi_picklist"):
        active = [o.value for o in f.options if o.active]
        value = f.default if f.default is not None else active[0]
        return [value] if kind == "multi_picklist" and not isinstance(value, list) else value
    if kind in ("integer", "decimal", "currency", "percent"):
        number = Decimal(1)
        if f.min is not None:
            number = max(number, Decimal(str(f.min)))
        if f.max is not None:
            number = min(number, Decimal(str(f.max)))
        return int(number) if kind == "integer" else number
    if kind == "boolean":
        return False
    if kind == "date":
        return today
    if kind == "datetime":
        return dt.datetime.combine(today, dt.time(9), dt.UTC)
    if kind == "email":
        return "someone@example.com"
    if kind == "phone":
        return "13800138000"
    if kind == "url":
        return "https://example.com"
    if kind == "json":
        return {}
    return f"Sample {f.name}"[: f.max_length or 200]


class World:
    """Copies owned by one user: the first copy of each demo record (per state, see
    :class:`Copier`) is remembered and shared by everything copied into the same world."""

    def __init__(self, owner: int | None) -> None:
        self.owner = owner
        self.copies: dict[tuple[str, int, bool], int | None] = {}
        self.first: dict[str, int] = {}


#: the two states a copy is tried in: new (picklists with a default, such as statuses and
#: stages, start at it, as a new record does) and as the demo left it. A quote's lines need a
#: draft quote; an order needs an active contract: each lookup is tried both ways.
NEW, AS_LEFT = True, False


class Copier:
    """Copies demo records into one org (``service``), as the system."""

    def __init__(self, service: RecordService, templates: Templates) -> None:
        self.service = service
        self.templates = templates
        self.registry = service.registry
        self._serial = itertools.count(1)
        self._worked: dict[str, int] = {}
        self._work: UnitOfWork | None = None
        self.failures: dict[str, str] = {}

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Copy inside one unit of work (a savepoint per attempt): much faster on PostgreSQL,
        where every transaction is a round of commits."""
        with self.service.unit_of_work() as work:
            self._work = work
            try:
                yield
            finally:
                self._work = None

    # ------------------------------------------------------------------ what tests ask for
    def record(self, world: World, object_name: str) -> int:
        """The world's record of ``object_name`` (copied the first time it is asked for)."""
        if object_name not in world.first:
            for row in self._rows(object_name):
                made = self._copy(world, object_name, row, NEW)
                if made is not None:
                    world.first[object_name] = made
                    break
            else:
                raise AssertionError(self.why(object_name))
        return world.first[object_name]

    def another(self, world: World, object_name: str, **values: Any) -> int:
        """A further record of ``object_name`` in ``world`` that nothing points at: its lookups
        shared with the world's records where the rules allow, else copied afresh."""
        made: list[int] = []

        def create(name: str, body: dict[str, Any]) -> bool:
            record = self._try(name, body)
            if record is not None:
                made.append(record["id"])
            return record is not None

        self.body(world, object_name, check=create, **values)
        return made[-1]

    def body(self, world: World, object_name: str, *, check: Any = None, **values: Any) -> dict[str, Any]:
        """A valid create body for ``object_name`` with ``values``, its lookups pointing into
        ``world``: the first that ``check(object_name, body)`` accepts (by default: the system
        could create it; nothing is kept)."""
        check = check or self.would_create
        worked = self._worked.get(object_name)
        for place in (world, World(world.owner)):
            rows = self._rows(object_name)
            if worked is not None:  # what worked last time is likely to work again: try it first
                rows = sorted(rows, key=lambda row: row["id"] != worked)
            for row in rows:
                for body in self._bodies(place, object_name, row, values):
                    if check(object_name, body):
                        self._worked[object_name] = row["id"]
                        return body
        raise AssertionError(self.why(object_name))

    def would_create(self, object_name: str, body: Mapping[str, Any]) -> bool:
        """Whether the system could create this record (nothing is kept)."""
        return self._try(object_name, body, keep=False) is not None

    def create(self, object_name: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """Create a record as the system (in the batch, when one is open)."""
        return self._in_work(lambda work: work.create(object_name, dict(body)))

    def update(self, object_name: str, record_id: int, values: Mapping[str, Any], *, keep: bool = True) -> bool:
        """Change a record as the system; False when the record service refuses (nothing is
        changed). ``keep=False`` only tells whether it could (a dry run)."""

        def update(work: UnitOfWork) -> None:
            work.update(object_name, record_id, dict(values), version=None)
            if not keep:
                raise _RolledBack(None)

        try:
            self._in_work(update)
        except _RolledBack:
            return True
        except (RecordError, sa.exc.IntegrityError):
            return False
        return True

    def why(self, object_name: str) -> str:
        reason = self.templates.unmade.get(object_name) or self.failures.get(object_name, "no demo record")
        return f"cannot make a valid {object_name}: {reason}"

    # ------------------------------------------------------------------ copying
    def _rows(self, object_name: str) -> list[dict[str, Any]]:
        return self.templates.rows.get(object_name, [])[:TRIES]

    def _in_work(self, step: Any) -> Any:
        """``step(work)`` in a unit of work of its own, or in a savepoint of the batch's."""
        if self._work is None:
            with self.service.unit_of_work() as work:
                return step(work)
        work = self._work
        try:
            with work.conn.begin_nested():
                return step(work)
        except BaseException:
            work._related.clear()  # records it read through lookups may have been rolled back
            raise

    def _try(self, object_name: str, body: Mapping[str, Any], *, keep: bool = True) -> dict[str, Any] | None:
        """Create as the system: the record, or None when the record service refuses it (the
        reason is kept for :meth:`why`). ``keep=False`` rolls it back (a dry run)."""

        def create(work: UnitOfWork) -> dict[str, Any]:
            record = work.create(object_name, dict(body))
            if not keep:
                raise _RolledBack(record)
            return record

        try:
            return self._in_work(create)
        except _RolledBack as done:
            return done.args[0]
        except (RecordError, sa.exc.IntegrityError) as exc:
            self.failures[object_name] = str(exc)
            return None

    def _copy(self, world: World, object_name: str, row: Mapping[str, Any], new: bool) -> int | None:
        """The world's copy of a demo record, preferring state ``new`` (remembered)."""
        key = (object_name, row["id"], new)
        if key in world.copies:
            return world.copies[key]
        world.copies[key] = None  # a lookup cycle back to this record is left blank
        for body in self._bodies(world, object_name, row, {}, first=new):
            record = self._try(object_name, body)
            if record is not None:
                world.copies[key] = record["id"]
                break
        return world.copies[key]

    def _bodies(self, world: World, object_name: str, row: Mapping[str, Any], values: Mapping[str, Any],
                first: bool = NEW) -> Iterator[dict[str, Any]]:
        """Create bodies for a copy of ``row``: the record new or as left; its lookups all new,
        then one at a time as left, then all as left (their copies are made on the way)."""
        lookups = [f.name for f in self.registry.object(object_name).fields.values()
                   if f.target and not f.system and row.get(f.name) is not None]
        for new in (first, not first):
            for as_left in ((), *((name,) for name in lookups), tuple(lookups)):
                body = self._body(world, object_name, row, values, new, frozenset(as_left))
                if body is not None:
                    yield body

    def _body(self, world: World, object_name: str, row: Mapping[str, Any], values: Mapping[str, Any],
              new: bool, as_left: frozenset[str]) -> dict[str, Any] | None:
        obj = self.registry.object(object_name)
        body: dict[str, Any] = {}
        for f in obj.fields.values():
            if f.system or not writable(f) or f.name in values:
                continue
            if new and f.type == "picklist" and f.default is not None:
                continue
            value = row.get(f.name)
            if value is None:
                continue
            if f.target:
                target = self.templates.row(f.target, value)
                value = self._copy(world, f.target, target, f.name not in as_left) if target else None
                if value is None:
                    if f.required:
                        return None
                    continue
            elif f.unique:
                value = self.fresh(value)
            body[f.name] = value
        body.update(values)
        body.setdefault("owner_id", world.owner)
        return body

    def fresh(self, value: Any) -> Any:
        """``value`` made unique in this org: its last (up to four) letters and digits replaced
        by a serial number written in the same kinds of characters, so formats and lengths hold."""
        if not isinstance(value, str):
            return value
        serial = next(self._serial)
        chars = list(value)
        places = [i for i in reversed(range(len(chars))) if chars[i].isascii() and chars[i].isalnum()][:4]
        if not places:
            return f"{value} {serial}"
        for index in places:
            alphabet = string.digits if chars[index].isdigit() else _LETTERS
            chars[index] = alphabet[serial % len(alphabet)]
            if not value[index].isdigit() and value[index].islower():
                chars[index] = chars[index].lower()
            serial //= len(alphabet)
        return "".join(chars) + (f"-{serial}" if serial else "")


class _RolledBack(Exception):
    """Leaves a unit of work (or savepoint) so that it rolls back: a dry run went through."""


def as_json(value: Any) -> Any:
    """A Python value as the API takes it in JSON (decimals as strings, dates as ISO text)."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {k: as_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [as_json(v) for v in value]
    return value


def json_body(body: Mapping[str, Any]) -> dict[str, Any]:
    return {name: as_json(value) for name, value in body.items()}


def referenced(registry: Registry, obj: ObjectDef) -> set[str]:
    """Fields of ``obj`` that something reads: validation rules, formulas, conditions on
    fields, roll-up filters, sharing rules (changing them could trip a rule)."""
    found: set[str] = set()
    expressions = [rule.condition for rule in obj.validations]
    for f in obj.fields.values():
        expressions += [f.formula, f.default_formula, f.visible_when, f.required_when, f.read_only_when]
    for expression in expressions:
        if expression is not None:
            found |= {path[0] for path in expression.references}
    for other in registry.objects.values():
        for f in other.fields.values():
            if f.rollup is not None and f.rollup.object == obj.name and f.rollup.filter is not None:
                found |= {c.path[0] for c in walk(f.rollup.filter)}
    for role in registry.roles.values():
        for rule in role.sharing:
            if rule.object == obj.name:
                found |= {c.path[0] for c in walk(rule.filter)}
    return found


def free_text(registry: Registry, object_name: str) -> set[str]:
    """Text fields of ``object_name`` anybody may write and nothing reads: changing them
    cannot trip a rule, so tests change them freely."""
    obj = registry.object(object_name)
    read = referenced(registry, obj)
    return {f.name for f in obj.fields.values()
            if f.type in ("text", "textarea") and writable(f) and not f.unique and f.name not in read}


def l2c_objects(registry: Registry) -> list[ObjectDef]:
    return [obj for obj in registry.objects.values() if obj.package == "l2c"]


__all__ = ["Copier", "Templates", "World", "as_json", "free_text", "json_body", "l2c_objects", "load_templates",
           "referenced", "sample", "writable"]
