"""Writing many records in one unit of work: all or none, or each row on its own savepoint.

A mixin of :class:`tessera.records.service.UnitOfWork`; the methods use its state.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from . import errors as E
from .errors import Problem, ValidationFailed


@dataclass
class RowResult:
    """One row of a batch: the saved record, or the error that refused it."""

    index: int
    record: dict[str, Any] | None
    error: E.RecordError | None


class BatchFailed(E.RecordError):
    """An all-or-none batch had failing rows; nothing was saved."""

    status = 422

    def __init__(self, results: list[RowResult]) -> None:
        self.results = results
        failed = [r for r in results if r.error]
        super().__init__(f"{len(failed)} of {len(results)} rows were refused; nothing was saved: "
                         + "; ".join(f"row {r.index}: {r.error}" for r in failed[:5]))


class Batches:
    """Creating and updating many records at once."""

    def create_many(self, object_name: str, rows: Sequence[Mapping[str, Any]], *,
                    all_or_none: bool = True) -> list[RowResult]:
        """Create each row. All-or-none: any failure raises :class:`BatchFailed` and nothing is
        saved. Otherwise each row is saved or refused on its own (a savepoint per row)."""
        return self._batch(rows, all_or_none, lambda row: self.create(object_name, row))

    def update_many(self, object_name: str, rows: Sequence[Mapping[str, Any]], *,
                    all_or_none: bool = True) -> list[RowResult]:
        """Update rows given as ``{"id": .., "version": .., field: value, ...}``."""
        def one(row: Mapping[str, Any]) -> dict[str, Any]:
            values = dict(row)
            record_id = values.pop("id", None)
            if record_id is None:
                raise ValidationFailed(object_name, {"id": [Problem(E.REQUIRED)]})
            return self.update(object_name, record_id, values, version=values.pop("version", None))

        return self._batch(rows, all_or_none, one)

    def _batch(self, rows: Sequence[Mapping[str, Any]], all_or_none: bool,
               write: Callable[[Mapping[str, Any]], dict[str, Any]]) -> list[RowResult]:
        results: list[RowResult] = []
        started = len(self.committed)
        whole = self.conn.begin_nested()  # all-or-none: the good rows go too when one fails
        for index, row in enumerate(rows):
            queued = len(self.committed)
            try:
                with self.conn.begin_nested():
                    results.append(RowResult(index, write(row), None))
            except E.RecordError as exc:
                del self.committed[queued:]  # its after_commit work was rolled back with it
                self._related.clear()
                results.append(RowResult(index, None, exc))
        if all_or_none and any(r.error for r in results):
            whole.rollback()
            del self.committed[started:]
            self._related.clear()
            raise BatchFailed(results)
        whole.commit()
        return results
