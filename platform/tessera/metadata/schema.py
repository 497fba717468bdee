"""JSON Schema (2020-12) validation of metadata documents, with messages written for people.

The schema files in ``schemas/`` describe the built-in field types. Field types registered by
plugins extend the object schema at run time (their names join the ``type`` enum and their
property schemas join the field properties), so editors and the validator see one schema.
"""

from __future__ import annotations

import copy
import difflib
import json
from collections.abc import Iterable, Mapping
from functools import cache
from importlib import resources
from typing import Any

import jsonschema_rs
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError
from referencing import Registry, Resource

from tessera.fieldtypes import FieldTypeRegistry
from tessera.fieldtypes.base import describe
from tessera.i18n import Said, said

from .errors import Problems
from .loader import Document

KINDS = ("package", "object", "flow", "report", "dashboard", "app", "role")
_SCHEMA_BASE = "https://tessera.dev/schemas/"
_IDENTIFIER_PATTERN = "^[a-z][a-z0-9_]{0,62}$"


@cache
def _raw_schema(kind: str) -> Mapping[str, Any]:
    text = resources.files("tessera.metadata").joinpath("schemas", f"{kind}.json").read_text("utf-8")
    return json.loads(text)


class SchemaSet:
    """The validators of every document kind for one set of field types."""

    def __init__(self, field_types: FieldTypeRegistry) -> None:
        self.schemas: dict[str, dict[str, Any]] = {k: copy.deepcopy(dict(_raw_schema(k))) for k in (*KINDS, "common")}
        field_schema = self.schemas["object"]["$defs"]["field"]
        field_schema["properties"]["type"]["enum"] = field_types.names()
        for name in field_types:
            extra = field_types[name].property_schema
            for prop, sub in extra.items():
                field_schema["properties"].setdefault(prop, sub)
        registry: Registry = Registry().with_resources(
            (schema["$id"], Resource.from_contents(schema)) for schema in self.schemas.values()
        )
        common = self.schemas["common"]["$defs"]
        # jsonschema (Python) explains failures; jsonschema-rs answers "valid?" fast, so
        # the usual case - a valid document - never pays for the Python walk
        self._validators = {
            kind: Draft202012Validator(_inline_refs(self.schemas[kind], common), registry=registry)
            for kind in KINDS
        }
        fast_registry = jsonschema_rs.Registry([(s["$id"], s) for s in self.schemas.values()])
        self._fast = {
            kind: jsonschema_rs.validator_for(self.schemas[kind], registry=fast_registry) for kind in KINDS
        }

    def schema(self, kind: str) -> dict[str, Any]:
        """The JSON Schema of ``kind`` as served to editors."""
        return self.schemas[kind]

    def validate(self, kind: str, doc: Document, problems: Problems) -> bool:
        """Validate ``doc`` as a ``kind`` document; report each error; True when valid."""
        return not self.errors(kind, doc, problems)

    def errors(self, kind: str, doc: Document, problems: Problems) -> list[tuple[tuple[Any, ...], str]]:
        """Validate ``doc``, report each error, and return (path, failing keyword) pairs."""
        paths: list[tuple[tuple[Any, ...], str]] = []
        if self._fast[kind].is_valid(doc.data):
            return paths
        for error in self._validators[kind].iter_errors(doc.data):
            for path, key, message in _explain(error):
                problems.add(doc.location(path, key=key), message)
            paths.append((tuple(error.absolute_path), str(error.validator)))
        return paths


def _inline_refs(schema: dict[str, Any], common: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``schema`` with every non-recursive ``$ref`` replaced by its target.

    Resolving references dominates validation time; the served schemas keep their refs, the
    validators get the inlined copy. Recursive definitions (a filter inside a filter) stay refs.
    """
    local = schema.get("$defs", {})

    def target(ref: str) -> tuple[str, Any] | None:
        if ref.startswith("common.json#/$defs/"):
            name = ref.rsplit("/", 1)[1]
            return f"common:{name}", common[name]
        if ref.startswith("#/$defs/"):
            name = ref.rsplit("/", 1)[1]
            return f"local:{name}", local[name]
        return None

    def walk(node: Any, active: tuple[str, ...], base: str) -> Any:
        if isinstance(node, list):
            return [walk(item, active, base) for item in node]
        if not isinstance(node, dict):
            return node
        ref = node.get("$ref")
        if isinstance(ref, str):
            absolute = f"common.json{ref}" if base == "common" and ref.startswith("#") else ref
            found = target(absolute)
            if found is not None and found[0] not in active:
                key, sub = found
                rest = {k: v for k, v in node.items() if k != "$ref"}
                inlined = walk(sub, (*active, key), "common" if key.startswith("common:") else base)
                return {**inlined, **walk(rest, active, base)} if rest else inlined
            if found is not None:  # recursion: point at the definition by absolute id
                return {"$ref": _SCHEMA_BASE + absolute if not absolute.startswith("#") else absolute}
        return {k: walk(v, active, base) for k, v in node.items()}

    return walk(schema, (), "self")


def _explain(error: ValidationError) -> Iterable[tuple[tuple[Any, ...], bool, str]]:
    """Turn one jsonschema error into (path, point-at-key, message) tuples."""
    path = tuple(error.absolute_path)
    schema = error.schema if isinstance(error.schema, dict) else {}
    value = error.instance
    validator = error.validator
    in_property_names = "propertyNames" in error.relative_schema_path
    if in_property_names:
        # the instance is the offending key itself
        key_path = path + (value,)
        if validator == "pattern":
            yield key_path, True, _name_message(value, schema)
        else:
            yield key_path, True, f"'{value}' is not allowed as a name here"
        return
    if validator == "additionalProperties" and isinstance(value, dict):
        known = list(schema.get("properties", {}))
        for key in value:
            if key not in known:
                yield path + (key,), True, f"unknown property '{key}'{_suggest(key, known)}"
        return
    if validator == "required":
        missing = [name for name in error.validator_value if name not in value]
        owner = next((str(p) for p in reversed(path) if isinstance(p, str)), "")
        for name in missing:
            yield path, True, f"{owner} needs '{name}'" if owner else f"'{name}' is required"
        return
    if validator == "enum":
        options = [str(v) for v in error.validator_value]
        shown = ", ".join(options)
        yield path, False, f"{_show(value)} is not one of: {shown}{_suggest(str(value), options)}"
        return
    if validator == "const" and path == ("kind",):
        yield path, False, f"this file sits with {error.validator_value} documents but says kind: {value}"
        return
    if validator == "const":
        yield path, False, f"expected '{error.validator_value}', got {_show(value)}"
        return
    if validator == "type":
        expected = error.validator_value
        names = expected if isinstance(expected, list) else [expected]
        wanted = " or ".join(_TYPE_NAMES.get(n, n) for n in names)
        yield path, False, f"expected {wanted}, got {describe(value)}"
        return
    if validator == "pattern":
        yield path, False, _name_message(value, schema)
        return
    if validator == "minLength":
        yield path, False, "must not be empty" if error.validator_value == 1 else (
            f"must be at least {error.validator_value} characters long")
        return
    if validator == "maxLength":
        yield path, False, f"is {len(value)} characters long; at most {error.validator_value} are allowed"
        return
    name = next((str(p) for p in reversed(path) if isinstance(p, str)), "the value")
    if validator in ("minimum", "exclusiveMinimum"):
        yield path, False, f"{name} must be at least {error.validator_value}, not {value}"
        return
    if validator in ("maximum", "exclusiveMaximum"):
        yield path, False, f"{name} must be at most {error.validator_value}, not {value}"
        return
    if validator == "minItems":
        count = error.validator_value
        yield path, False, f"{name} needs at least {count} item{'s' if count != 1 else ''}"
        return
    if validator == "maxItems":
        yield path, False, f"has {len(value)} items; at most {error.validator_value} are allowed"
        return
    if validator == "uniqueItems":
        yield path, False, "lists the same item more than once"
        return
    if validator == "minProperties":
        yield path, False, "must not be empty"
        return
    if validator == "anyOf" and "default" in error.relative_schema_path:
        yield path, False, "a default is a literal value or {formula: <expression>}"
        return
    yield path, False, error.message  # pragma: no cover - every validator used is handled above


_TYPE_NAMES = {
    "object": "a mapping", "array": "a list", "string": "text", "integer": "a whole number",
    "number": "a number", "boolean": "true or false", "null": "nothing",
}


def _show(value: Any) -> str:
    return f"'{value}'" if isinstance(value, str) else describe(value)


def _name_message(value: Any, schema: Mapping[str, Any]) -> str:
    pattern = schema.get("pattern", "")
    if pattern == _IDENTIFIER_PATTERN or pattern.startswith("^[a-z][a-z0-9_]{0,62}"):
        return (f"'{value}' is not a valid name: use lowercase letters, digits and underscores, "
                "starting with a letter (at most 63 characters)")
    if pattern.startswith("^#"):
        return f"'{value}' is not a colour like #2563eb"
    if "^(and|or|not|" in pattern:
        return f"'{value}' is not a filter key: use field, field__operator, and, or, not"
    if pattern.startswith("^-?[a-z]"):
        return f"'{value}' is not a sort key: a field name, '-' in front to sort descending"
    if pattern.startswith("^[a-z]{2,3}"):
        return f"'{value}' is not a locale code like en or zh-CN"
    if pattern.startswith("^[0-9]+"):
        return f"'{value}' is not a version like 1.0.0"
    if pattern.startswith("^[A-Za-z0-9_]"):
        return (f"'{value}' is not a valid option value: use letters, digits, '_', '.' and '-' "
                "(no spaces, at most 63 characters)")
    if pattern.startswith("^[a-z0-9-]"):
        return f"'{value}' is not an icon name (lowercase letters, digits and dashes)"
    return f"'{value}' does not have the expected form ({pattern})"


def _suggest(word: str, choices: Iterable[str]) -> str:
    if not isinstance(word, str):
        return ""
    close = [c for c in difflib.get_close_matches(word, list(choices), n=2, cutoff=0.6) if c != word]
    return f" (did you mean '{close[0]}'?)" if close else ""


def suggest(word: str, choices: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` when a close match exists, else an empty string."""
    return _suggest(word, choices)


def suggested(word: str, choices: Iterable[str]) -> Said | str:
    """:func:`suggest` to be said in the reader's language (for messages of run time)."""
    if not isinstance(word, str):
        return ""
    close = [c for c in difflib.get_close_matches(word, list(choices), n=2, cutoff=0.6) if c != word]
    return said(" (did you mean '%(name)s'?)", name=close[0]) if close else ""
