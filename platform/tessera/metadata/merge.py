"""Merge the documents of ordered packages into one description per object (and per flow,
report, dashboard and app), remembering which file set every property.

Rules (docs/metadata.md, "Packages and overlays"):

* A package may define new objects. To change an object it must extend (directly or through
  the packages it extends) the package that defined it; an org overlay may change anything.
* Changing an object merges by name: fields by field name and property, picklist options by
  value, validation rules by rule name, list views by view name, indexes by name (or fields).
  The form layout, a list view, ``search_fields`` and labels are replaced whole.
* Changing a field's ``type`` needs ``change_type: true``; removing a field needs
  ``remove: true``. Nothing is ever changed or dropped by accident.
* Two packages that do not depend on each other may not set the same property to different
  values: that is a conflict, reported with both files. A package that depends on another
  overrides it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tessera.fieldtypes import FieldTypeRegistry

from .errors import Location, Problems
from .loader import Document
from .packages import PackageSource

MergedPath = tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class Origin:
    """The package, file and in-file path that set a merged property."""

    package: str
    doc: Document
    path: tuple[Any, ...]

    def location(self, suffix: tuple[Any, ...] = (), *, key: bool = False) -> Location:
        return self.doc.location(self.path + suffix, key=key)


@dataclass
class MergedDocument:
    """One object (or flow, report, ...) after merging every package's documents."""

    kind: str
    name: str
    created_by: Origin
    data: dict[str, Any] = field(default_factory=dict)
    origins: dict[MergedPath, Origin] = field(default_factory=dict)
    removed_fields: dict[str, Origin] = field(default_factory=dict)
    packages: list[str] = field(default_factory=list)
    #: top-level keys a contributing document lost to schema errors (reported there)
    pruned: set[str] = field(default_factory=set)

    def origin(self, path: MergedPath) -> tuple[Origin, tuple[Any, ...]]:
        """The origin of ``path`` (or its nearest recorded ancestor) and the rest of the path."""
        probe = tuple(path)
        while probe:
            found = self.origins.get(probe)
            if found is not None:
                return found, tuple(path[len(probe):])
            probe = probe[:-1]
        return self.created_by, tuple(path)

    def location(self, path: MergedPath = (), *, key: bool = False) -> Location:
        origin, rest = self.origin(path)
        return origin.location(rest, key=key)

    def expression_location(self, path: MergedPath, offset: int) -> Location:
        origin, rest = self.origin(path)
        return origin.doc.expression_location(origin.path + rest, offset)


class Merger:
    """Applies package documents in dependency order."""

    def __init__(
        self,
        field_types: FieldTypeRegistry,
        depends: Mapping[str, frozenset[str]],
        extends: Mapping[str, frozenset[str]],
        problems: Problems,
    ) -> None:
        self.field_types = field_types
        self.depends = depends
        self.extends = extends
        self.problems = problems
        self.documents: dict[str, dict[str, MergedDocument]] = {}

    # ------------------------------------------------------------------ entry points
    def apply_package(self, package: PackageSource) -> None:
        for kind, doc in package.documents:
            if not isinstance(doc.data, dict):
                self.problems.add(doc.location(()), f"a {kind} document must be a mapping")
                continue
            self.apply(kind, doc, package.name)

    def apply(self, kind: str, doc: Document, package: str) -> None:
        data = doc.data
        stem = Path(doc.display).stem
        name = data.get("name", stem)
        if "name" in data and name != stem and doc.path.suffix:
            self.problems.add(doc.location(("name",)),
                              f"the {kind} is named '{name}' but its file is '{doc.path.name}'; "
                              f"name the file {name}{doc.path.suffix}")
            return
        declared = data.get("kind")
        if declared is not None and declared != kind:
            self.problems.add(doc.location(("kind",)),
                              f"this file sits with {kind} documents but says kind: {declared}")
            return
        origin = Origin(package, doc, ())
        registry = self.documents.setdefault(kind, {})
        merged = registry.get(name)
        if merged is None:
            merged = MergedDocument(kind, name, origin, packages=[package])
            registry[name] = merged
        elif not self._may_change(merged, package, doc, kind, name):
            return
        elif package not in merged.packages:
            merged.packages.append(package)
        merged.pruned |= doc.pruned
        if kind == "object":
            self._apply_object(merged, doc, package)
        else:
            for key, value in data.items():
                if key not in ("kind", "name"):
                    self._set(merged, (key,), value, Origin(package, doc, (key,)))

    def _may_change(self, merged: MergedDocument, package: str, doc: Document, kind: str, name: str) -> bool:
        owner = merged.created_by
        if owner.package == package:
            self.problems.add(doc.location(("name",) if "name" in doc.data else ()),
                              f"{kind} '{name}' is defined twice in package '{package}' "
                              f"(also at {owner.location()})")
            return False
        if owner.package not in self.extends.get(package, frozenset()):
            if owner.package in self.depends.get(package, frozenset()):
                advice = f"declare 'extends: {owner.package}' in package '{package}' to change it"
            else:
                advice = "the two packages are independent; rename one or make one extend the other"
            self.problems.add(doc.location(("name",) if "name" in doc.data else ()),
                              f"{kind} '{name}' already belongs to package '{owner.package}' "
                              f"({owner.location()}); {advice}")
            return False
        return True

    # ------------------------------------------------------------------ objects
    def _apply_object(self, merged: MergedDocument, doc: Document, package: str) -> None:
        for key, value in doc.data.items():
            if key in ("kind", "name"):
                continue
            here = Origin(package, doc, (key,))
            if key == "fields" and isinstance(value, dict):
                merged.data.setdefault("fields", {})
                for field_name, props in value.items():
                    self._apply_field(merged, field_name, props, Origin(package, doc, ("fields", field_name)))
            elif key == "layouts" and isinstance(value, dict):
                merged.data.setdefault("layouts", {"list_views": {}})
                if "form" in value:
                    self._set(merged, ("layouts", "form"), value["form"], Origin(package, doc, ("layouts", "form")))
                for view, spec in (value.get("list_views") or {}).items():
                    self._set(merged, ("layouts", "list_views", view), spec,
                              Origin(package, doc, ("layouts", "list_views", view)))
            elif key == "validations" and isinstance(value, list):
                merged.data.setdefault("validations", {})
                for index, rule in enumerate(value):
                    self._apply_keyed(merged, "validations", rule.get("name"), rule,
                                      Origin(package, doc, ("validations", index)))
            elif key == "indexes" and isinstance(value, list):
                merged.data.setdefault("indexes", {})
                for index, spec in enumerate(value):
                    index_key = spec.get("name") or "+".join(spec.get("fields") or ())
                    self._set(merged, ("indexes", index_key), spec, Origin(package, doc, ("indexes", index)))
            else:
                self._set(merged, (key,), value, here)

    def _apply_field(self, merged: MergedDocument, name: str, props: dict[str, Any], origin: Origin) -> None:
        fields = merged.data["fields"]
        path = ("fields", name)
        existing = fields.get(name)
        if props.get("remove"):
            if existing is None:
                self.problems.add(origin.location(("remove",)),
                                  f"cannot remove field '{name}': object '{merged.name}' has no such field")
            elif self.origins_package(merged, path) == origin.package:
                self.problems.add(origin.location(("remove",)),
                                  f"field '{name}' is defined in this same package; delete it instead of removing it")
            else:
                extra = [k for k in props if k != "remove"]
                if extra:
                    self.problems.add(origin.location((extra[0],), key=True),
                                      "a removed field takes no other properties")
                del fields[name]
                merged.removed_fields[name] = origin
                for key in [k for k in merged.origins if k[:2] == path]:
                    del merged.origins[key]
            return
        if existing is None:
            clean = {k: v for k, v in props.items() if k != "change_type"}
            if "options" in clean and isinstance(clean["options"], list):
                clean["options"] = self._options(clean["options"], origin)
                for index, option in enumerate(props["options"]):
                    merged.origins.setdefault(path + ("options", option.get("value")), Origin(
                        origin.package, origin.doc, origin.path + ("options", index)))
            fields[name] = clean
            merged.origins[path] = origin
            merged.removed_fields.pop(name, None)
            return
        if "change_type" in props and "type" not in props:
            self.problems.add(origin.location(("change_type",), key=True),
                              "change_type: true needs the new 'type' beside it")
        new_type = props.get("type")
        if new_type is not None and new_type != existing.get("type"):
            if not props.get("change_type"):
                self.problems.add(
                    origin.location(("type",)),
                    f"changing the type of {merged.name}.{name} from {existing.get('type')} to {new_type} "
                    "must be explicit: add 'change_type: true'",
                )
                return
            allowed = self.field_types[new_type].allowed_properties() if new_type in self.field_types else set()
            for prop in [p for p in existing if p not in allowed]:
                del existing[prop]
        for prop, value in props.items():
            if prop == "change_type":
                continue
            prop_origin = Origin(origin.package, origin.doc, origin.path + (prop,))
            if prop == "options" and isinstance(value, list) and isinstance(existing.get("options"), dict):
                self._options(value, Origin(origin.package, origin.doc, origin.path))  # reports repeats
                seen: set[Any] = set()
                for index, option in enumerate(value):
                    if option.get("value") in seen:
                        continue
                    seen.add(option.get("value"))
                    option_origin = Origin(origin.package, origin.doc, origin.path + ("options", index))
                    self._apply_keyed(merged, path + ("options",), option.get("value"), option, option_origin)
                continue
            if prop == "options" and isinstance(value, list):
                value = self._options(value, prop_origin)
            self._set(merged, path + (prop,), value, prop_origin)

    def _options(self, options: list[dict[str, Any]], origin: Origin) -> dict[str, Any]:
        """Options keyed by value; a value listed twice is an error."""
        keyed: dict[str, Any] = {}
        for index, option in enumerate(options):
            value = option.get("value")
            if value in keyed:
                self.problems.add(origin.location(("options", index, "value")),
                                  f"option '{value}' is listed twice")
                continue
            keyed[value] = option
        return keyed

    def _apply_keyed(self, merged: MergedDocument, container: Any, key: Any, item: dict[str, Any],
                     origin: Origin) -> None:
        """Merge ``item`` into a by-name collection: new items are added whole, existing ones
        property by property."""
        parent_path = container if isinstance(container, tuple) else (container,)
        target = _get(merged.data, parent_path)
        if key not in target:
            self._set(merged, parent_path + (key,), item, origin)
            return
        for prop, value in item.items():
            self._set(merged, parent_path + (key, prop), value,
                      Origin(origin.package, origin.doc, origin.path + (prop,)))

    # ------------------------------------------------------------------ the one setter
    def _set(self, merged: MergedDocument, path: MergedPath, value: Any, origin: Origin) -> None:
        previous, _ = merged.origin(path)
        current = _get(merged.data, path, default=_MISSING)
        if (
            current is not _MISSING
            and previous.package != origin.package
            and previous.package not in self.depends.get(origin.package, frozenset())
            and _plain(current) != _plain(value)
        ):
            shown = ".".join(str(p) for p in (merged.name, *path))
            self.problems.add(
                origin.location(),
                f"conflict: packages '{previous.package}' and '{origin.package}' both set {shown} "
                f"(also at {previous.location()}); neither depends on the other, so make one "
                "extend the other or change it in one place",
            )
            return
        _put(merged.data, path, value)
        merged.origins[path] = origin
        if current is not _MISSING and isinstance(current, dict | list):
            # the whole container was replaced: forget where its old parts came from
            for key in [k for k in merged.origins if len(k) > len(path) and k[: len(path)] == path]:
                del merged.origins[key]

    @staticmethod
    def origins_package(merged: MergedDocument, path: MergedPath) -> str:
        return merged.origin(path)[0].package


_MISSING = object()


def _get(data: Any, path: MergedPath, default: Any = None) -> Any:
    node = data
    for step in path:
        if not isinstance(node, dict) or step not in node:
            return default
        node = node[step]
    return node


def _put(data: dict[str, Any], path: MergedPath, value: Any) -> None:
    node = data
    for step in path[:-1]:
        node = node.setdefault(step, {})
    node[path[-1]] = value


def _plain(value: Any) -> Any:
    """A comparable form (option dicts and lists compare by content)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value
