"""Metadata documents written out: as YAML a person would have written, and as exact JSON text.

The org overlay is stored in the database and exported as a package (docs/overlay.md), so the
same document must come out byte for byte the same every time it is written, and read back as
the same data:

* :func:`canonical` puts keys in the order of the document kind's JSON Schema (``name``,
  ``label``, ... ``fields``, ``layouts``; within a field ``type``, ``label``, ...), keys the schema
  does not list after them in the order given. Maps keyed by names (fields, list views, a role's
  objects) and filters keep their order: it means something, or is the author's.
* :func:`render_yaml` writes block style, with flow style (``{en: Lead, zh-CN: 线索}``) for short
  collections, lists of mappings one item per line, and multi-line text as literal blocks.
  Scalars are quoted whenever YAML 1.2 (our loader) or 1.1 (other tools) would read them as
  anything but the same text.
* :func:`dumps_json` / :func:`loads_json` keep key order and exact decimals (``0.10`` stays
  ``0.10``), which a database ``jsonb`` column would not.
"""

from __future__ import annotations

import io
import json
import math
import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import yaml

from .loader import _Loader

#: the longest line a flow collection may make before it is written in block style
WIDTH = 100
_FLOW_DEPTH = 2  # collections nesting at most this deep may be written on one line


class ValueProblem(ValueError):
    """A value metadata cannot hold; ``path`` says where it is."""

    def __init__(self, path: tuple[Any, ...], message: str) -> None:
        self.path = path
        self.message = message
        where = ".".join(str(p) for p in path) or "the document"
        super().__init__(f"{where}: {message}")


# ------------------------------------------------------------------------------ plain data

def normalize(value: Any, path: tuple[Any, ...] = ()) -> Any:
    """``value`` as plain metadata data: dicts with text keys, lists, text, int, bool, None and
    exact :class:`~decimal.Decimal` (floats from JSON become the decimal they print as).
    Raises :class:`ValueProblem` naming the path of anything else."""
    if value is None or isinstance(value, bool | str | int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueProblem(path, f"{value} is not a usable number in metadata")
        return Decimal(repr(value))
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueProblem(path, f"{value} is not a usable number in metadata")
        return value
    if isinstance(value, Mapping):
        result: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValueProblem(path, f"the key {key!r} is not text")
            result[key] = normalize(item, (*path, key))
        return result
    if isinstance(value, list | tuple):
        return [normalize(item, (*path, index)) for index, item in enumerate(value)]
    raise ValueProblem(path, f"a {type(value).__name__} is not a value metadata can hold")


def _plain_value(value: Any) -> str | None:
    """A null, boolean or number as JSON and YAML both write it (decimals exactly); None for
    anything else."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | Decimal):
        return str(value)
    return None


def dumps_json(value: Any) -> str:
    """Compact JSON text that keeps key order and writes decimals exactly."""
    plain_value = _plain_value(value)
    if plain_value is not None:
        return plain_value
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, Mapping):
        return "{" + ",".join(f"{json.dumps(k, ensure_ascii=False)}:{dumps_json(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(dumps_json(v) for v in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} as metadata JSON")


def loads_json(text: str) -> Any:
    """The inverse of :func:`dumps_json`: numbers with a fraction or exponent are decimals."""
    return json.loads(text, parse_float=Decimal)


# ------------------------------------------------------------------------------ key order

class KeyOrder:
    """Orders document keys as their JSON Schemas list them (see :func:`canonical`)."""

    def __init__(self, schemas: Mapping[str, Mapping[str, Any]]) -> None:
        self.schemas = schemas

    def canonical(self, kind: str, data: Any) -> Any:
        schema = self.schemas.get(kind)
        if schema is None:
            return data
        return self._walk(data, schema, kind)

    def _resolve(self, schema: Mapping[str, Any], kind: str) -> tuple[Mapping[str, Any], str] | None:
        """Follow ``$ref`` s; None for a filter (kept exactly as written)."""
        seen = 0
        while "$ref" in schema and seen < 10:
            ref = schema["$ref"]
            file, _, pointer = ref.partition("#")
            if pointer.endswith("/filter"):
                return None
            if file:
                kind = file.removesuffix(".json")
            node: Any = self.schemas.get(kind, {})
            for part in [p for p in pointer.split("/") if p]:
                node = node.get(part, {}) if isinstance(node, Mapping) else {}
            schema = node
            seen += 1
        return schema, kind

    def _walk(self, data: Any, schema: Mapping[str, Any], kind: str) -> Any:
        resolved = self._resolve(schema, kind)
        if resolved is None:
            return data
        schema, kind = resolved
        branches = [schema, *schema.get("oneOf", ()), *schema.get("anyOf", ()), *schema.get("allOf", ())]
        if isinstance(data, dict):
            properties: dict[str, Any] = {}
            for branch in branches:
                for key, sub in (branch.get("properties") or {}).items():
                    properties.setdefault(key, sub)
            extra = schema.get("additionalProperties")
            ordered = [k for k in properties if k in data] + [k for k in data if k not in properties]
            result = {}
            for key in ordered:
                sub = properties.get(key, extra if isinstance(extra, Mapping) else None)
                result[key] = self._walk(data[key], sub, kind) if sub is not None else data[key]
            return result
        if isinstance(data, list):
            items = next((b["items"] for b in branches if isinstance(b.get("items"), Mapping)), None)
            return [self._walk(item, items, kind) for item in data] if items is not None else data
        return data


# ------------------------------------------------------------------------------ YAML

_EMITTER = yaml.emitter.Emitter(io.StringIO(), allow_unicode=True)
_YAML11 = yaml.resolver.Resolver()
_RESOLVE_12 = _Loader("")
_ESCAPE = re.compile("[\x85\u2028\u2029\ufeff]|" + yaml.reader.Reader.NON_PRINTABLE.pattern)
_STR = "tag:yaml.org,2002:str"


def _reads_as_text(text: str) -> bool:
    implicit = (True, False)
    return (_RESOLVE_12.resolve(yaml.ScalarNode, text, implicit) == _STR
            and _YAML11.resolve(yaml.ScalarNode, text, implicit) == _STR)


def _quoted(text: str) -> str:
    quoted = json.dumps(text, ensure_ascii=False)
    return _ESCAPE.sub(lambda m: f"\\u{ord(m.group()):04x}" if ord(m.group()) < 0x10000
                       else f"\\U{ord(m.group()):08x}", quoted)


def scalar(value: Any, *, flow: bool = False) -> str:
    """One scalar as YAML text on one line."""
    plain_value = _plain_value(value)
    if plain_value is not None:
        return plain_value
    text = str(value)
    analysis = _EMITTER.analyze_scalar(text)
    plain = analysis.allow_flow_plain if flow else analysis.allow_block_plain
    if text and plain and not analysis.multiline and _reads_as_text(text):
        return text
    return _quoted(text)


def _literal(text: str) -> str | None:
    """The header of a literal block for multi-line ``text`` (``|`` or ``|-``), or None when
    a block cannot carry it exactly."""
    if "\n" not in text or text.startswith((" ", "\n")) or "\r" in text or _ESCAPE.search(text):
        return None
    if not _EMITTER.analyze_scalar(text).allow_block:
        return None
    if text.removesuffix("\n").endswith("\n"):
        return None  # several trailing line breaks: quoted instead
    return "|" if text.endswith("\n") else "|-"


def _depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    return 0


def _has_lines(value: Any) -> bool:
    if isinstance(value, str):
        return "\n" in value
    if isinstance(value, dict):
        return any(_has_lines(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_lines(v) for v in value)
    return False


def _flow(value: Any) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{scalar(k, flow=True)}: {_flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_flow(v) for v in value) + "]"
    return scalar(value, flow=True)


def _flow_fits(value: Any, prefix: str) -> str | None:
    """``value`` in flow style when it may be and fits after ``prefix``."""
    if not value:
        return _flow(value)
    if _has_lines(value) or _depth(value) > _FLOW_DEPTH:
        return None
    if isinstance(value, list) and any(isinstance(item, dict) for item in value):
        return None  # lists of mappings: one item per line, as people write options and rules
    text = _flow(value)
    return text if len(prefix) + len(text) <= WIDTH else None


def _block_mapping(data: Mapping[str, Any], indent: int, lines: list[str]) -> None:
    pad = " " * indent
    for key, value in data.items():
        head = f"{pad}{scalar(key)}:"
        _block_value(head, value, indent, lines)


def _block_value(head: str, value: Any, indent: int, lines: list[str]) -> None:
    """Write ``value`` after ``head`` (``key:`` or ``-``), its lines indented below it."""
    if isinstance(value, dict | list):
        flow = _flow_fits(value, head + " ")
        if flow is not None:
            lines.append(f"{head} {flow}")
        elif isinstance(value, dict):
            lines.append(head)
            _block_mapping(value, indent + 2, lines)
        else:
            lines.append(head)
            _block_list(value, indent + 2, lines)
        return
    header = _literal(value) if isinstance(value, str) else None
    if header is None:
        lines.append(f"{head} {scalar(value)}")
        return
    lines.append(f"{head} {header}")
    body = value.removesuffix("\n")
    lines.extend(f"{' ' * (indent + 2)}{line}" if line else "" for line in body.split("\n"))


def _block_list(items: list[Any], indent: int, lines: list[str]) -> None:
    pad = " " * indent
    for item in items:
        if isinstance(item, dict) and item and _flow_fits(item, pad + "- ") is None:
            nested: list[str] = []
            _block_mapping(item, indent + 2, nested)
            nested[0] = f"{pad}- {nested[0][indent + 2:]}"
            lines.extend(nested)
        else:
            _block_value(f"{pad}-", item, indent, lines)


def render_yaml(data: Mapping[str, Any]) -> str:
    """A mapping as a YAML document (block style at the top), ending with a line break."""
    lines: list[str] = []
    _block_mapping(data, 0, lines)
    return "\n".join(lines) + "\n"


def render_document(name: str, data: Mapping[str, Any], kind: str, order: KeyOrder) -> str:
    """One metadata document as its file would hold it: ``name`` first, keys in schema order."""
    body = {k: v for k, v in data.items() if k not in ("kind", "name")}
    return render_yaml(order.canonical(kind, {"name": name, **body}))


__all__ = ["KeyOrder", "ValueProblem", "dumps_json", "loads_json", "normalize", "render_document", "render_yaml",
           "scalar"]
