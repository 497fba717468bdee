"""Metadata: YAML/JSON documents -> validated, merged, compiled registry (see docs/metadata.md)."""

from .errors import Location, MetadataError, Problem
from .registry import Builder, Registry, build_org_registry
from .validate import validate_paths

__all__ = ["Builder", "Location", "MetadataError", "Problem", "Registry", "build_org_registry", "validate_paths"]
