"""How the demo writes: every record through the record service, counted, and a refusal turned
into a :class:`DemoDataError` that names the object, the row and the field messages.

Engine-owned fields
-------------------
Some fields are ``read_only`` in metadata because the *engine* maintains them — a lead's
``converted_account`` (set by conversion, and required once a lead is converted), a quote line's
``list_price`` (set by pricing), an opportunity's ``exchange_rate``, a receivable's ``status``.
The record service has no public way yet for engine code (conversion, pricing, flows) to set
them: :class:`RecordInput` refuses read-only keys and only the service's own roll-ups pass
values past it (``UnitOfWork._write(..., trusted=...)``). Until the engines land, the demo plays
the engine and passes such values as ``engine=`` through that same write path, so they still
go through required/required_when checks, stored formulas, every validation rule, history and
roll-ups — only the per-field input check is skipped for them, as for roll-ups (and the object
permission check, which the administrator running the load passes anyway). This is the single
place the demo reaches below the public API of the record service.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from tessera.records.errors import RecordError, ValidationFailed
from tessera.records.service import BatchFailed, UnitOfWork


class DemoDataError(Exception):
    """A demo row the record service refused: a bug in the generator, never in the data."""

    def __init__(self, object_name: str, row: Mapping[str, Any], messages: Mapping[str, list[str]]) -> None:
        self.object = object_name
        self.row = dict(row)
        self.messages = {k: list(v) for k, v in messages.items()}
        super().__init__(self.render())

    def render(self) -> str:
        shown = ", ".join(f"{k}={v!r}" for k, v in self.row.items() if not isinstance(v, list | dict))
        lines = [f"the record service refused a demo {self.object} (a bug in the demo generator):",
                 f"  row: {shown}"]
        lines += [f"  {field}: {' '.join(items)}" for field, items in self.messages.items()]
        return "\n".join(lines)


class Writer:
    """Creates and updates records in a unit of work and counts what it created."""

    def __init__(self) -> None:
        self.created: Counter[str] = Counter()
        self.updated: Counter[str] = Counter()
        self.seconds: Counter[str] = Counter()  # time spent writing, per object (roll-ups included)

    def create(self, work: UnitOfWork, object_name: str, values: Mapping[str, Any], *,
               engine: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """One record; ``engine`` holds values of engine-owned read-only fields."""
        started = time.perf_counter()
        try:
            if engine:
                runtime = work.service.runtime(object_name)
                record = work._write(runtime, None, dict(values), None, trusted=dict(engine))
            else:
                record = work.create(object_name, dict(values))
        except RecordError as exc:
            raise DemoDataError(object_name, {**values, **(engine or {})}, _messages(exc)) from exc
        self._count(work, object_name, values)
        self.seconds[object_name] += time.perf_counter() - started
        return record

    def _count(self, work: UnitOfWork, object_name: str, values: Mapping[str, Any]) -> None:
        """Count the record and the master-detail children given with it (``"lines": [...]``)."""
        self.created[object_name] += 1
        for relation in work.service.registry.object(object_name).relations:
            children = values.get(relation.name) if relation.master_detail else None
            if isinstance(children, list):
                for child in children:
                    self._count(work, relation.object, child)

    def create_each(self, work: UnitOfWork, object_name: str, rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """Several records of one object, one ``create`` each: for the high-volume children
        (score entries, revenue schedules), where ``create_many``'s savepoint per row costs two
        extra statements a row and buys nothing (a refused row aborts the load anyway)."""
        return [self.create(work, object_name, row) for row in rows]

    def create_many(self, work: UnitOfWork, object_name: str, rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """Several records of one object, all or none (``create_many``)."""
        if not rows:
            return []
        started = time.perf_counter()
        try:
            results = work.create_many(object_name, [dict(r) for r in rows])
        except BatchFailed as exc:
            failed = next(r for r in exc.results if r.error)
            assert failed.error is not None
            raise DemoDataError(object_name, rows[failed.index], _messages(failed.error)) from exc
        for row in rows:
            self._count(work, object_name, row)
        self.seconds[object_name] += time.perf_counter() - started
        return [r.record for r in results if r.record is not None]

    def update(self, work: UnitOfWork, object_name: str, record_id: int, values: Mapping[str, Any], *,
               engine: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Change a record at its latest version (the demo is its only writer)."""
        started = time.perf_counter()
        try:
            if engine:
                runtime = work.service.runtime(object_name)
                prior = work._load(runtime, record_id, for_update=True)
                if prior is None:
                    raise DemoDataError(object_name, {"id": record_id}, {"id": ["no such record"]})
                record = work._write(runtime, prior, dict(values), None, trusted=dict(engine))
            else:
                record = work.update(object_name, record_id, dict(values), version=None)
        except RecordError as exc:
            raise DemoDataError(object_name, {"id": record_id, **values, **(engine or {})}, _messages(exc)) from exc
        self.updated[object_name] += 1
        self.seconds[object_name] += time.perf_counter() - started
        return record


def _messages(exc: RecordError) -> dict[str, list[str]]:
    """Field messages of a refusal (a permission, a stale version or a missing record: one line)."""
    return exc.messages() if isinstance(exc, ValidationFailed) else {"_record": [str(exc)]}
