"""Built-in plugin: the twenty built-in field types, registered like any plugin's."""

from __future__ import annotations

from collections.abc import Sequence

from .fieldtypes import BUILTIN_TYPES, FieldType
from .hookspecs import hookimpl


@hookimpl
def tessera_register_field_types() -> Sequence[FieldType]:
    return [field_type() for field_type in BUILTIN_TYPES]
