"""Plugins join record writes here: their record hooks become listeners on the service's events.

A ``before_validate`` answer sets values before the checks; a ``before_save`` or
``before_delete`` answer is a set of problems reported with the service's own; ``after_save``
runs in the transaction; ``after_commit`` after it (a failure there is logged, since the write
already happened).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from tessera.metadata.model import Label

from .errors import Problem
from .events import RecordChange, RecordEvents

log = logging.getLogger(__name__)


def connect_plugins(events: RecordEvents, plugins: Any, org: str) -> None:
    """Listen on ``events`` for every record hook some plugin implements."""

    def common(change: RecordChange) -> dict[str, Any]:
        return {"object": change.object, "record": MappingProxyType(change.values),
                "prior": MappingProxyType(change.prior) if change.prior is not None else None,
                "action": change.action, "actor": change.actor, "org": org}

    def before_validate(change: RecordChange) -> None:
        for answer in plugins.call("tessera_record_before_validate", **common(change), work=change.work):
            if answer:
                change.values.update(answer)

    def before_save(change: RecordChange) -> None:
        for answer in plugins.call("tessera_record_before_save", **common(change), changes=change.changes,
                                   work=change.work):
            _add_problems(change, answer)

    def after_save(change: RecordChange) -> None:
        plugins.call("tessera_record_after_save", **common(change), changes=change.changes, work=change.work)

    def after_commit(change: RecordChange) -> None:
        try:
            plugins.call("tessera_record_after_commit", **common(change), changes=change.changes)
        except Exception:  # noqa: BLE001 - the write is committed; the failure must not hide that
            log.exception("after_commit hook failed for %s %s", change.object.name, change.record_id)

    def before_delete(change: RecordChange) -> None:
        for answer in plugins.call("tessera_record_before_delete", object=change.object,
                                   record=MappingProxyType(change.values), hard=change.hard,
                                   actor=change.actor, org=org, work=change.work):
            _add_problems(change, answer)

    for event, listener in (("before_validate", before_validate), ("before_save", before_save),
                            ("after_save", after_save), ("after_commit", after_commit),
                            ("before_delete", before_delete)):
        if plugins.has_implementations(f"tessera_record_{event}"):
            events.listen(event, listener)


def _add_problems(change: RecordChange, answer: Mapping[str, Any] | None) -> None:
    for field, messages in (answer or {}).items():
        for message in messages if isinstance(messages, list) else [messages]:
            change.add_problem(field, Problem(Label.of(message)) if isinstance(message, Mapping) else Problem(str(message)))
