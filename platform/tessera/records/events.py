"""The seam where plugins and flows join record writes.

``before_validate``, ``before_rules``, ``before_save``, ``after_save`` and ``before_delete`` run inside the
write's transaction (a raising listener rolls everything back); ``after_commit`` runs once the
transaction has committed (queued work: flows with async steps, webhooks). The plugin system wires pluggy
hooks to these lists; the engine itself only calls them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from tessera.metadata.model import ObjectDef

EVENTS = ("before_validate", "before_rules", "before_save", "after_save", "after_commit", "before_delete")
#: marks a callback in a unit of work's ``committed`` list (``UnitOfWork.on_commit``)
ON_COMMIT = "on_commit"

log = logging.getLogger(__name__)


@dataclass
class RecordChange:
    """What a listener sees: the object, the action, the values and the acting user.

    ``values`` is the full record as it will be (or was) saved; a ``before_*`` listener may
    change it. ``changes`` maps each changed field to (old, new). ``problems`` collects field
    problems a ``before_validate``/``before_save`` listener adds (``add_problem``); they are
    reported with the service's own, all at once.
    """

    object: ObjectDef
    action: str  # create, update, delete, restore
    record_id: int | None
    values: dict[str, Any]
    prior: dict[str, Any] | None
    actor: Any
    changes: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    problems: dict[str, list[Any]] = field(default_factory=dict)
    work: Any = None  # the unit of work, for listeners that read or write other records
    hard: bool = False  # a delete that removes the row for good

    def add_problem(self, field_name: str, message: Any) -> None:
        """Report a problem with ``field_name`` (a message id or a bilingual Label)."""
        from .errors import Problem

        item = message if isinstance(message, Problem) else Problem(message)
        self.problems.setdefault(field_name, []).append(item)


Listener = Callable[[RecordChange], None]


class RecordEvents:
    """Listener lists, one per event."""

    def __init__(self) -> None:
        self._listeners: dict[str, list[Listener]] = {name: [] for name in EVENTS}

    def listen(self, event: str, listener: Listener) -> None:
        if event not in self._listeners:
            raise ValueError(f"unknown record event '{event}'; use one of {', '.join(EVENTS)}")
        self._listeners[event].append(listener)

    def fire(self, event: str, change: RecordChange) -> None:
        for listener in self._listeners[event]:
            listener(change)

    def has(self, event: str) -> bool:
        return bool(self._listeners[event])

    def fire_committed(self, committed: Sequence[tuple[str, Any]]) -> None:
        """What a unit of work queued for after its commit, in order: ``after_commit`` events
        and ``on_commit`` callbacks. A failing callback is logged, since the write happened."""
        for event, item in committed:
            if event != ON_COMMIT:
                self.fire(event, item)
                continue
            try:
                item()
            except Exception:  # noqa: BLE001 - the write is committed; the failure must not hide that
                log.exception("an on_commit callback failed after the commit")
