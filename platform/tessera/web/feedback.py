"""What the record service refused, said for people in their language (bulk rows, kanban cards)."""

from __future__ import annotations

from tessera.metadata.model import ObjectDef
from tessera.records.errors import RECORD, RecordError, ValidationFailed


def problem_lines(error: RecordError, obj: ObjectDef, locale: str) -> list[str]:
    """One line per problem: ``Field label: message`` for field problems (``lines[1].qty``
    keeps its path), the message alone for the record as a whole and for other refusals
    (permission, stale version, not found, delete refused)."""
    if not isinstance(error, ValidationFailed):
        return [error.message(locale)]
    lines = []
    for key, messages in error.messages(locale).items():
        field = obj.fields.get(key)
        prefix = "" if key == RECORD else f"{field.label(locale) if field is not None else key}: "
        lines.extend(prefix + message for message in messages)
    return lines
