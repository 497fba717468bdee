"""Field types: one place per type (see base.FieldType)."""

from __future__ import annotations

from .base import COMMON_PROPERTIES, FieldType, FieldTypeRegistry
from .builtin import BUILTIN_TYPES, RESULT_FIELD_TYPES, register_builtin_types


def default_field_types() -> FieldTypeRegistry:
    """A fresh registry holding the built-in field types."""
    registry = FieldTypeRegistry()
    register_builtin_types(registry)
    return registry


__all__ = [
    "BUILTIN_TYPES",
    "COMMON_PROPERTIES",
    "FieldType",
    "FieldTypeRegistry",
    "RESULT_FIELD_TYPES",
    "default_field_types",
]
