"""Read metadata files into plain data while keeping the position of every key and value.

Errors about metadata must name the file, line and column of the offending key or value, so
the loader composes the YAML node graph (libyaml's C composer when available) and builds
plain Python values from it, recording a :class:`Mark` for each path on the way.

Scalars follow the YAML 1.2 core schema: ``yes``/``no``/``on``/``off`` stay text, dates stay
text, and numbers with a fraction become :class:`~decimal.Decimal` so money defaults such
as ``0.1`` are exact. JSON files are checked with the JSON parser first (for exact JSON error
positions) and then composed the same way, since JSON is YAML 1.2.
"""

from __future__ import annotations

import dataclasses
import json
import pickle
import re
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml

from .errors import Location, MetadataError, Problems

try:  # libyaml is much faster; fall back to the pure-Python parser where it is missing
    from yaml import CSafeLoader as _BaseLoader
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeLoader as _BaseLoader  # type: ignore[assignment]

Path_ = tuple[Any, ...]

_NULL = re.compile(r"^(?:~|null|Null|NULL|)$")
_BOOL = re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")
_INT = re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$")
_FLOAT = re.compile(r"^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$")
_SPECIAL_FLOAT = re.compile(r"^(?:[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$")


class _Loader(_BaseLoader):  # type: ignore[misc, valid-type]
    """A composer whose implicit scalar types are the YAML 1.2 core schema."""

    yaml_implicit_resolvers: dict = {}


_Loader.add_implicit_resolver("tag:yaml.org,2002:merge", re.compile(r"^<<$"), ["<"])
_Loader.add_implicit_resolver("tag:yaml.org,2002:null", _NULL, ["~", "n", "N", ""])
_Loader.add_implicit_resolver("tag:yaml.org,2002:bool", _BOOL, list("tTfF"))
_Loader.add_implicit_resolver("tag:yaml.org,2002:int", _INT, list("-+0123456789"))
_Loader.add_implicit_resolver("tag:yaml.org,2002:float", _FLOAT, list("-+0123456789."))
_Loader.add_implicit_resolver("tag:yaml.org,2002:float", _SPECIAL_FLOAT, list("-+."))


@dataclass(frozen=True, slots=True)
class Mark:
    """Where a key or value starts: 1-based line and column, and the scalar style."""

    line: int
    column: int
    style: str | None = None  # None (plain), "'", '"', "|" or ">"


@dataclass
class Document:
    """One metadata file: its data and the marks of every key and value in it."""

    path: Path
    display: str
    data: Any
    value_marks: dict[Path_, Mark] = field(default_factory=dict)
    key_marks: dict[Path_, Mark] = field(default_factory=dict)
    lines: list[str] = field(default_factory=list)
    #: top-level keys dropped because their value broke the schema (already reported)
    pruned: frozenset[str] = frozenset()

    def location(self, path: Path_ = (), *, key: bool = False) -> Location:
        """Locate ``path`` in this file; falls back to the nearest enclosing item."""
        path = tuple(path)
        while True:
            mark = (self.key_marks.get(path) if key else None) or self.value_marks.get(path)
            if mark is None and not key:
                mark = self.key_marks.get(path)
            if mark is not None:
                return Location(self.display, mark.line, mark.column)
            if not path:
                return Location(self.display, 1, 1)
            path = path[:-1]
            key = True  # the parent exists where its key is

    def expression_location(self, path: Path_, offset: int) -> Location:
        """Map a 0-based character offset inside the text stored at ``path`` to the file.

        YAML changes text on the way in (folded lines become spaces, escapes and quotes go,
        block indentation is stripped), so the parsed value is aligned against the raw source
        from the scalar's start, character by character.
        """
        mark = self.value_marks.get(tuple(path))
        value = self._value_at(path)
        if mark is None or not isinstance(value, str):
            return self.location(path)
        start = self._index_of(mark.line, mark.column)
        source = self.text
        position = start
        if mark.style in ("'", '"'):
            position += 1  # past the opening quote
        elif mark.style in ("|", ">"):
            position = source.find("\n", position) + 1  # past the indicator line
        target = max(0, min(offset, len(value)))
        for index, char in enumerate(value):
            position = _align(source, position, char, mark.style)
            if index == target:
                break
            position += _width(source, position, mark.style)
        else:
            position = min(position, len(source))
        return self._location_of(position)

    def _value_at(self, path: Path_) -> Any:
        node = self.data
        for step in path:
            try:
                node = node[step]
            except (KeyError, IndexError, TypeError):
                return None
        return node

    def _index_of(self, line: int, column: int) -> int:
        return sum(len(text) + 1 for text in self.lines[: line - 1]) + column - 1

    def _location_of(self, index: int) -> Location:
        line = self.text.count("\n", 0, index) + 1
        column = index - (self.text.rfind("\n", 0, index) + 1) + 1
        return Location(self.display, line, column)

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


def _align(source: str, position: int, char: str, style: str | None) -> int:
    """Where ``char`` of the parsed value sits in ``source`` at or after ``position``:
    skips what YAML removed (line breaks and indentation folded into a space, quotes)."""
    limit = len(source)
    while position < limit:
        here = source[position]
        if here == char and not (style == '"' and here == "\\"):
            return position
        if style == '"' and here == "\\":
            return position  # an escape sequence stands for this character
        if style == "'" and source.startswith("''", position) and char == "'":
            return position
        if here in " \t\n\r" or (char in " \n" and here in " \t\n\r"):
            position += 1
            continue
        return position  # no better match: point here rather than run away
    return limit


def _width(source: str, position: int, style: str | None) -> int:
    """How many source characters the value character at ``position`` took."""
    if style == '"' and source.startswith("\\", position):
        if source.startswith("\\u", position):
            return 6
        if source.startswith("\\x", position):
            return 4
        return 2
    if style == "'" and source.startswith("''", position):
        return 2
    return 1


def display_path(path: Path) -> str:
    """Show ``path`` relative to the working directory when it is below it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


#: files read without problems, by (path, display, mtime, size): packages on disk are read
#: again for every registry an overlay change builds; parsing is most of that time
_LOADED: dict[tuple[str, str, int, int], Document] = {}
_LOADED_MAX = 5000


def load_file(path: Path, problems: Problems, *, display: str | None = None) -> Document | None:
    """Load one YAML or JSON file; report syntax errors to ``problems`` and return None.
    A file read before and not changed since (same modification time and size) is not
    parsed again: its document comes back with a fresh copy of its data."""
    shown = display or display_path(path)
    try:
        stat = path.stat()
        key = (str(path.resolve()), shown, stat.st_mtime_ns, stat.st_size)
    except OSError:
        key = None
    cached = _LOADED.get(key) if key is not None else None
    if cached is not None:
        return dataclasses.replace(cached, data=pickle.loads(pickle.dumps(cached.data, pickle.HIGHEST_PROTOCOL)))
    before = len(problems)
    found = _load_file(path, problems, shown)
    if found is not None and key is not None and len(problems) == before:
        if len(_LOADED) >= _LOADED_MAX:
            _LOADED.clear()
        _LOADED[key] = dataclasses.replace(found, data=pickle.loads(pickle.dumps(found.data, pickle.HIGHEST_PROTOCOL)))
    return found


def _load_file(path: Path, problems: Problems, shown: str) -> Document | None:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        problems.add(Location(shown, 1, 1), f"file is not UTF-8 text ({exc.reason})")
        return None
    except OSError as exc:
        problems.add(Location(shown, 1, 1), f"cannot read file: {exc.strerror}")
        return None
    return load_text(text, shown, problems, path=path, is_json=path.suffix.lower() == ".json")


def load_text(
    text: str,
    display: str,
    problems: Problems,
    *,
    path: Path | None = None,
    is_json: bool = False,
) -> Document | None:
    """Load metadata from ``text``; ``display`` names it in error messages."""
    if is_json:
        try:
            json.loads(text)
        except json.JSONDecodeError as exc:
            problems.add(Location(display, exc.lineno, exc.colno), f"invalid JSON: {exc.msg}")
            return None
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        message = exc.problem or exc.context or "invalid YAML"
        message = f"invalid YAML: {message}"
        if mark is not None and 0 <= mark.index < len(text) and text[mark.index] == "\t":
            message = "tab character: indent YAML with spaces"
        if "expected a single document" in str(exc):
            message = "invalid YAML: one document per file: remove the '---' separator"
        location = Location(display, mark.line + 1, mark.column + 1) if mark else Location(display, 1, 1)
        problems.add(location, message)
        return None
    except yaml.YAMLError as exc:  # pragma: no cover - unmarked errors are rare
        problems.add(Location(display, 1, 1), f"invalid YAML: {exc}")
        return None
    finally:
        loader.dispose()
    doc = Document(path=path or Path(display), display=display, data=None, lines=text.splitlines())
    if node is None:
        problems.add(Location(display, 1, 1), "the file is empty")
        return None
    before = len(problems)
    doc.data = _build(node, (), doc, problems)
    doc.value_marks[()] = _mark(node)
    if len(problems) > before:
        return None
    return doc


def _mark(node: yaml.Node) -> Mark:
    style = getattr(node, "style", None) if isinstance(node, yaml.ScalarNode) else None
    return Mark(node.start_mark.line + 1, node.start_mark.column + 1, style or None)


def _build(node: yaml.Node, path: Path_, doc: Document, problems: Problems) -> Any:
    if isinstance(node, yaml.MappingNode):
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                problems.add(_loc(doc, key_node), "a key must be a plain name, not a list or mapping")
                continue
            if key_node.tag == "tag:yaml.org,2002:merge":
                problems.add(_loc(doc, key_node), "YAML merge keys ('<<') are not supported")
                continue
            key = key_node.value
            child = path + (key,)
            if key in result:
                first = doc.key_marks[child]
                problems.add(
                    _loc(doc, key_node),
                    f"duplicate key '{key}' (first given at line {first.line})",
                )
                continue
            doc.key_marks[child] = _mark(key_node)
            doc.value_marks[child] = _mark(value_node)
            result[key] = _build(value_node, child, doc, problems)
        return result
    if isinstance(node, yaml.SequenceNode):
        items = []
        for index, item in enumerate(node.value):
            child = path + (index,)
            doc.value_marks[child] = _mark(item)
            items.append(_build(item, child, doc, problems))
        return items
    return _scalar(node, doc, problems)


def _scalar(node: yaml.ScalarNode, doc: Document, problems: Problems) -> Any:
    tag, value = node.tag, node.value
    if tag == "tag:yaml.org,2002:str":
        return value
    if tag == "tag:yaml.org,2002:null":
        return None
    if tag == "tag:yaml.org,2002:bool":
        return value.lower() == "true"
    if tag == "tag:yaml.org,2002:int":
        if value.startswith("0o"):
            return int(value[2:], 8)
        if value.startswith("0x"):
            return int(value[2:], 16)
        return int(value)
    if tag == "tag:yaml.org,2002:float":
        if _SPECIAL_FLOAT.match(value):
            problems.add(_loc(doc, node), f"'{value}' is not a usable number in metadata")
            return None
        return Decimal(value)
    problems.add(_loc(doc, node), f"unsupported YAML tag '{tag}'")
    return None


def _loc(doc: Document, node: yaml.Node) -> Location:
    return Location(doc.display, node.start_mark.line + 1, node.start_mark.column + 1)


__all__ = ["Document", "Mark", "MetadataError", "display_path", "load_file", "load_text"]
