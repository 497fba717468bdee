"""Scopes tell the compiler which fields exist and what type each one has."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from typing import Protocol, runtime_checkable

from .types import FormulaType

__all__ = ["Scope", "MappingScope", "did_you_mean"]


@runtime_checkable
class Scope(Protocol):
    """Resolves field paths to types.

    ``resolve(("amount",))`` returns the type of a field of the record;
    ``resolve(("account", "industry"))`` follows the lookup ``account``. A lookup field
    on its own resolves to :attr:`FormulaType.ID`. Unknown paths raise ``LookupError``
    whose single argument is a complete human message (the compiler reports it at the
    identifier's position).
    """

    def resolve(self, path: tuple[str, ...]) -> FormulaType: ...


def did_you_mean(name: str, candidates: Iterable[str], cutoff: float = 0.6) -> str:
    """`` (did you mean 'x'?)`` for the closest candidate, or '' when none is close."""
    close = difflib.get_close_matches(name, list(candidates), n=1, cutoff=cutoff)
    return f" (did you mean '{close[0]}'?)" if close else ""


class MappingScope:
    """A scope over plain mappings, for tests and simple uses.

    ``fields`` maps field names to a :class:`FormulaType`, or to a nested mapping for a
    lookup field (the lookup resolves to ID; following it resolves inside the nested
    mapping). ``object_name`` is named in messages about unknown top-level fields unless
    it is the generic default ``"record"``; nested objects are named after their lookup.
    """

    def __init__(
        self, fields: Mapping[str, FormulaType | Mapping], object_name: str = "record"
    ) -> None:
        self._fields = fields
        self._object_name = object_name

    def resolve(self, path: tuple[str, ...]) -> FormulaType:
        fields: Mapping = self._fields
        owner = None if self._object_name == "record" else self._object_name
        for index, name in enumerate(path):
            if name not in fields:
                where = f" on {owner}" if owner else ""
                raise LookupError(f"unknown field '{name}'{where}{did_you_mean(name, fields)}")
            entry = fields[name]
            last = index == len(path) - 1
            if isinstance(entry, Mapping):
                if last:
                    return FormulaType.ID
                fields, owner = entry, name
                continue
            if not isinstance(entry, FormulaType):
                raise TypeError(f"MappingScope: field '{name}' maps to {entry!r}, not a FormulaType")
            if not last:
                raise LookupError(
                    f"'{name}' is not a lookup, so '.{path[index + 1]}' cannot follow it"
                )
            return entry
        raise LookupError("empty field path")
