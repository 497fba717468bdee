"""What one object's fields are, seen through a compiled registry: dot paths across lookups.

A :class:`RegistryScope` answers "which field does ``account.parent.name`` on an opportunity
mean?" for formulas (``resolve``), filters (``filter_resolver``) and the query compiler
(``steps``). It reads the frozen :class:`~tessera.metadata.model.ObjectDef` objects, so it is
cheap to create per request.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from tessera.expressions import FormulaType
from tessera.i18n import said

from .compiler import ObjectScope
from .model import FieldDef, ObjectDef
from .schema import suggested

if TYPE_CHECKING:
    from .registry import Registry


class RegistryScope(ObjectScope):
    """An ObjectScope over compiled ObjectDefs (used after objects are frozen)."""

    def __init__(self, objects: Mapping[str, ObjectDef], object_name: str,
                 hidden: Mapping[str, frozenset[str]] | None = None) -> None:
        self.objects = objects
        self.object_name = object_name
        #: fields someone may not see, per object: to them they do not exist
        self.hidden = hidden or {}

    @classmethod
    def of(cls, registry: Registry, object_name: str,
           hidden: Mapping[str, frozenset[str]] | None = None) -> RegistryScope:
        """The scope of ``object_name``; KeyError naming the closest object when unknown."""
        registry.object(object_name)
        return cls(registry.objects, object_name, hidden)

    @property
    def object(self) -> ObjectDef:
        return self.objects[self.object_name]

    def steps(self, path: tuple[str, ...]) -> list[tuple[ObjectDef, FieldDef]]:
        """Each step of ``path`` as (the object it is read on, the field). Every step but the
        last is a lookup. Raises LookupError with a message for people (did you mean ...?)."""
        if not path:
            raise LookupError(said("empty field path"))
        current = self.objects[self.object_name]
        found: list[tuple[ObjectDef, FieldDef]] = []
        for index, step in enumerate(path):
            hidden = self.hidden.get(current.name, frozenset())
            field = current.fields.get(step) if step not in hidden else None
            if field is None:
                visible = [name for name in current.fields if name not in hidden]
                if index == 0:
                    raise LookupError(said("unknown field '%(name)s'%(suggestion)s",
                                           name=step, suggestion=suggested(step, visible)))
                raise LookupError(said("unknown field '%(name)s' on %(object)s%(suggestion)s",
                                       name=step, object=current.name, suggestion=suggested(step, visible)))
            found.append((current, field))
            if index == len(path) - 1:
                break
            if not field.target or field.target not in self.objects:
                raise LookupError(said("'%(name)s' is not a lookup, so '.%(next)s' cannot follow it",
                                       name=step, next=path[index + 1]))
            current = self.objects[field.target]
        return found

    def field_at(self, path: tuple[str, ...]) -> FieldDef:  # type: ignore[override]
        return self.steps(path)[-1][1]

    def resolve(self, path: tuple[str, ...]) -> FormulaType:
        return self.field_at(path).formula_type

    def filter_resolver(self, path: tuple[str, ...]) -> tuple[FormulaType, frozenset[str] | None]:  # type: ignore[override]
        found = self.field_at(path)
        options = frozenset(o.value for o in found.options) if found.options else None
        return found.formula_type, options


__all__ = ["RegistryScope"]
