"""The compiled, immutable registry of one org, and the functions that build it.

``build_registry`` takes packages in any order, validates every document against its JSON
Schema, merges them (base -> templates -> org overlay), compiles objects and formulas, checks
flows, reports, dashboards and apps, and either returns a :class:`Registry` or raises
:class:`~tessera.metadata.errors.MetadataError` carrying every problem found.
"""

from __future__ import annotations

import copy
import dataclasses
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from tessera.expressions import (
    FormulaError,
    FormulaType,
    FunctionRegistry,
    compile_expression,
    default_functions,
)
from tessera.fieldtypes import FieldTypeRegistry, default_field_types
from tessera.paths import bundled_path

from .compiler import INVALID, ObjectCompiler
from .errors import MetadataError, Problems
from .filters import parse_filter, walk
from .merge import MergedDocument, Merger
from .model import DocumentDef, Label, ObjectDef, PackageInfo, RoleDef
from .packages import (
    Catalog,
    PackageSource,
    dependency_closure,
    extension_closure,
    find_package_roots,
    order_packages,
    read_package,
)
from .roles import compile_roles
from .schema import SchemaSet, suggest
from .scope import RegistryScope

if TYPE_CHECKING:
    from tessera.flows.model import CompiledFlows


@dataclass(frozen=True)
class Registry:
    """Everything one org's metadata says, compiled. Never changed after it is built."""

    packages: tuple[PackageInfo, ...]
    objects: Mapping[str, ObjectDef]
    flows: Mapping[str, DocumentDef] = field(default_factory=lambda: MappingProxyType({}))
    reports: Mapping[str, DocumentDef] = field(default_factory=lambda: MappingProxyType({}))
    dashboards: Mapping[str, DocumentDef] = field(default_factory=lambda: MappingProxyType({}))
    apps: Mapping[str, DocumentDef] = field(default_factory=lambda: MappingProxyType({}))
    roles: Mapping[str, RoleDef] = field(default_factory=lambda: MappingProxyType({}))
    field_types: FieldTypeRegistry = field(default_factory=default_field_types, compare=False)
    functions: FunctionRegistry = field(default_factory=default_functions, compare=False)
    #: which state of the org's stored metadata this was built from (storage.overlay.revision):
    #: a process compares it with the database's to notice that another one changed it
    revision: Any = field(default=None, compare=False)
    #: the flows as the build compiled them to check them, for the flow engine to reuse
    #: (:func:`tessera.flows.model.flows_for`); None for a registry made otherwise
    compiled_flows: CompiledFlows | None = field(default=None, compare=False, repr=False)

    def object(self, name: str) -> ObjectDef:
        try:
            return self.objects[name]
        except KeyError:
            raise KeyError(f"unknown object '{name}'{suggest(name, self.objects)}") from None

    @property
    def field_count(self) -> int:
        return sum(sum(1 for f in o.fields.values() if not f.system) for o in self.objects.values())

    @property
    def formula_count(self) -> int:
        count = 0
        for obj in self.objects.values():
            count += len(obj.validations)
            for f in obj.fields.values():
                count += sum(1 for e in (f.formula, f.default_formula, f.visible_when, f.required_when,
                                         f.read_only_when) if e is not None)
        for docs in (self.flows, self.reports, self.dashboards, self.apps):
            count += sum(len(d.expressions) for d in docs.values())
        return count

    def summary(self) -> str:
        shown = ", ".join(f"{p.name} {p.version}" for p in self.packages)
        return (f"{len(self.packages)} package{'s' if len(self.packages) != 1 else ''} ({shown}), "
                f"{len(self.objects)} objects, {self.field_count} fields, {self.formula_count} formulas")


class Builder:
    """Reads packages once and builds registries from them; shared by validate and deploy."""

    def __init__(self, *, field_types: FieldTypeRegistry | None = None,
                 functions: FunctionRegistry | None = None, flow_steps: Mapping[str, Any] | None = None) -> None:
        self.field_types = field_types or default_field_types()
        self.functions = functions or default_functions()
        self.flow_steps = flow_steps  # plugins' flow step types, besides the built-in ones
        self.schemas = SchemaSet(self.field_types)
        self.problems = Problems()
        self.catalog = Catalog()

    def scan(self, paths: Iterable[Path]) -> list[PackageSource]:
        """Read every package at or below ``paths`` into the catalog; return them."""
        found: list[PackageSource] = []
        for path in paths:
            for root in find_package_roots(path):
                package = read_package(root, self.schemas, self.problems)
                if package is not None:
                    self.catalog.add(package, self.problems)
                    found.append(package)
        return found

    def build(self, names: Sequence[str], overlay: PackageSource | Sequence[PackageSource] | None = None
              ) -> Registry | None:
        """Build the registry of packages ``names`` (with their dependencies) plus the org's
        overlays, merged last in the order given (each may change anything before it); None when
        there were problems (see ``self.problems``)."""
        for name in names:
            if name not in self.catalog.packages:
                raise MetadataError([])  # callers check names first; this is a programming error
        ordered = self.catalog.closure(names, self.problems)
        overlays = [overlay] if isinstance(overlay, PackageSource) else list(overlay or ())
        for layer in overlays:
            layer.implicit_depends_on_all = True
        ordered = [*ordered, *overlays]
        return compile_packages(ordered, self.field_types, self.functions, self.schemas, self.problems,
                                flow_steps=self.flow_steps)


def compile_packages(
    packages: list[PackageSource],
    field_types: FieldTypeRegistry,
    functions: FunctionRegistry,
    schemas: SchemaSet,
    problems: Problems,
    flow_steps: Mapping[str, Any] | None = None,
) -> Registry | None:
    """Validate, merge and compile ``packages`` (already in dependency order)."""
    before = len(problems)
    valid: list[PackageSource] = []
    for package in packages:
        docs = []
        for kind, doc in package.documents:
            error_paths = schemas.errors(kind, doc, problems)
            if error_paths:
                doc = prune_invalid(kind, doc, error_paths)
            if doc is not None:
                docs.append((kind, doc))
        valid.append(_with_documents(package, docs))
    merger = Merger(field_types, dependency_closure(valid), extension_closure(valid), problems)
    for package in valid:
        merger.apply_package(package)
    merged_objects = merger.documents.get("object", {})
    objects = ObjectCompiler(merged_objects, field_types, functions, problems).run()
    others = {
        kind: _compile_documents(kind, merger.documents.get(kind, {}), objects, merger, functions, problems)
        for kind in ("flow", "report", "dashboard", "app")
    }
    roles = compile_roles(merger.documents.get("role", {}), objects, problems)
    if len(problems) > before:
        return None
    registry = Registry(
        packages=tuple(_package_info(p) for p in packages),
        objects=MappingProxyType(objects),
        flows=MappingProxyType(others["flow"]),
        reports=MappingProxyType(others["report"]),
        dashboards=MappingProxyType(others["dashboard"]),
        apps=MappingProxyType(others["app"]),
        roles=MappingProxyType(roles),
        field_types=field_types,
        functions=functions,
    )
    compiled = _check_flow_steps(registry, merger.documents.get("flow", {}), flow_steps, problems)
    return dataclasses.replace(registry, compiled_flows=compiled) if len(problems) == before else None


def _check_flow_steps(registry: Registry, docs: Mapping[str, MergedDocument], flow_steps: Mapping[str, Any] | None,
                      problems: Problems) -> CompiledFlows:
    """Compile each flow as the engine will (its steps, their formulas, its stage machine), so a
    flow that cannot run is a metadata problem at its place in the file, not a failure at start.
    The flows compiled go with the registry: an engine with the same step types uses them."""
    from tessera.flows.builtin import BUILTIN_STEPS
    from tessera.flows.model import CompiledFlows, FlowDefinitionError, compile_flow, compiled_from

    step_types = {step.name: step for step in BUILTIN_STEPS}
    step_types.update(flow_steps or {})
    compiled: dict[str, Any] = {}
    for name, flow in registry.flows.items():
        try:
            compiled[name] = compile_flow(flow, registry, step_types)
        except FlowDefinitionError as exc:
            path = tuple(int(part) if part.isdigit() else part
                         for part in re.findall(r"[^.\[\]]+", exc.where)) if exc.where else ()
            problems.add(docs[name].location(path), exc.detail)
    return CompiledFlows(MappingProxyType(step_types), MappingProxyType(dict(sorted(compiled.items()))),
                         compiled_from(registry))


def prune_invalid(kind: str, doc: Any, errors: list[tuple[tuple[Any, ...], str]]) -> Any:
    """A copy of ``doc`` without the parts its schema errors are in, so the rest can still be
    checked and every problem reported in one run. A broken field stays, marked invalid, so
    references to it add no "unknown field" noise; a broken rule, view, form, index or list
    item goes; a top-level value of the wrong type goes and is remembered as pruned, so no
    "needs ..." message repeats the schema's."""
    if not isinstance(doc.data, dict):
        return None
    data = copy.deepcopy(doc.data)
    pruned: set[str] = set()
    for path, keyword in errors:
        if not path:
            continue  # an unknown or missing top-level key: nothing below it to drop
        head, value = path[0], data.get(path[0])
        if len(path) == 1:
            if keyword == "type" or not isinstance(value, dict | list):
                data.pop(head, None)
                pruned.add(head)
            continue  # a mapping missing a part (a label lacking zh-CN) still reads
        if kind == "object" and head == "fields" and isinstance(value, dict):
            props = value.get(path[1])
            kept = {k: v for k, v in props.items() if k in ("type", "change_type", "remove") and isinstance(v, str | bool)} \
                if isinstance(props, dict) else {}
            value[path[1]] = {**kept, INVALID: True}
        elif kind == "object" and head == "layouts" and isinstance(value, dict):
            _drop(data, path[:3] if path[1] == "list_views" and len(path) >= 3 else path[:2])
        elif isinstance(value, list) and isinstance(path[1], int) and path[1] < len(value):
            value[path[1]] = None  # the broken item goes; the list's other items stay
        elif isinstance(value, dict):
            _drop(data, path[:2])
    for head, value in list(data.items()):
        if isinstance(value, list) and any(item is None for item in value):
            data[head] = [item for item in value if item is not None]
    return dataclasses.replace(doc, data=data, pruned=frozenset(pruned))


def _drop(data: dict[str, Any], path: tuple[Any, ...]) -> None:
    node: Any = data
    for step in path[:-1]:
        node = node.get(step) if isinstance(node, dict) else None
        if node is None:
            return
    if isinstance(node, dict):
        node.pop(path[-1], None)
    elif isinstance(node, list) and isinstance(path[-1], int) and path[-1] < len(node):
        node[path[-1]] = {}


def _with_documents(package: PackageSource, docs: list[tuple[str, Any]]) -> PackageSource:
    clone = PackageSource(**{**package.__dict__, "documents": docs})
    return clone


def _package_info(package: PackageSource) -> PackageInfo:
    return PackageInfo(
        name=package.name, version=package.version, label=Label.of(package.label, package.name),
        description=package.description,
        depends=tuple(d.name for d in package.depends), extends=package.extends,
        path=str(package.root),
    )


def _compile_documents(kind: str, merged: Mapping[str, MergedDocument], objects: Mapping[str, ObjectDef],
                       merger: Merger, functions: FunctionRegistry, problems: Problems) -> dict[str, DocumentDef]:
    result: dict[str, DocumentDef] = {}
    for name, doc in merged.items():
        data = doc.data  # required keys are the schema's to report
        expressions: dict[str, Any] = {}
        object_name = data.get("object")
        if object_name is not None and object_name not in objects:
            problems.add(doc.location(("object",)), f"'{object_name}' is not an object{suggest(object_name, objects)}")
            object_name = None
        checker = _DocumentChecker(doc, objects, object_name, merger, functions, problems, expressions)
        getattr(checker, f"check_{kind}")(data)
        result[name] = DocumentDef(kind, name, Label.of(data.get("label"), name), MappingProxyType(dict(data)),
                                   doc.created_by.package, MappingProxyType(expressions))
    return result


_COMPUTED = "is a formula computed when read (it reads lookups or TODAY/NOW), so it cannot be"
_AGGREGATABLE = {
    "sum": {FormulaType.NUMBER}, "avg": {FormulaType.NUMBER},
    "min": {FormulaType.NUMBER, FormulaType.DATE, FormulaType.DATETIME},
    "max": {FormulaType.NUMBER, FormulaType.DATE, FormulaType.DATETIME},
}


class _DocumentChecker:
    def __init__(self, doc: MergedDocument, objects: Mapping[str, ObjectDef], object_name: str | None,
                 merger: Merger, functions: FunctionRegistry, problems: Problems,
                 expressions: dict[str, Any]) -> None:
        self.doc, self.objects, self.object_name = doc, objects, object_name
        self.merger, self.functions, self.problems, self.expressions = merger, functions, problems, expressions

    def scope(self) -> RegistryScope | None:
        return RegistryScope(self.objects, self.object_name) if self.object_name else None

    def path(self, where: tuple[Any, ...], dotted: str, *, needs_column: str | None = None) -> Any:
        """Check a field path; with ``needs_column`` (what the query does with it: "sorted on",
        "aggregated"), refuse formulas computed when read. Returns the field or None."""
        scope = self.scope()
        if scope is None:
            return None
        try:
            found = scope.field_at(tuple(dotted.split(".")))
        except LookupError as exc:
            self.problems.add(self.doc.location(where), str(exc.args[0]))
            return None
        if needs_column and not found.stored:
            self.problems.add(self.doc.location(where), f"'{dotted}' {_COMPUTED} {needs_column}")
            return None
        return found

    def filter(self, where: tuple[Any, ...], data: Any) -> None:
        scope = self.scope()
        if scope is None:
            return
        parsed = parse_filter(data, scope.filter_resolver,
                              lambda p, m, k: self.problems.add(self.doc.location(where + p, key=k), str(m)))
        for condition in walk(parsed) if parsed is not None else ():
            if not scope.field_at(condition.path).stored:
                self.problems.add(self.doc.location(where + condition.where, key=True),
                                  f"'{condition.field}' {_COMPUTED} filtered on")

    def formula(self, where: tuple[Any, ...], source: Any) -> None:
        scope = self.scope()
        if scope is None or not isinstance(source, str):
            return
        try:
            self.expressions[".".join(map(str, where))] = compile_expression(
                source, scope, expected=FormulaType.BOOLEAN, functions=self.functions)
        except FormulaError as exc:
            self.problems.add(self.doc.expression_location(where, exc.offset or 0), exc.message)

    def check_flow(self, data: Mapping[str, Any]) -> None:
        trigger = data.get("trigger") or {}
        if trigger.get("type") == "record":
            if not data.get("object"):
                self.problems.add(self.doc.location(("trigger",), key=True), "a record-triggered flow needs 'object'")
            if not trigger.get("events"):
                self.problems.add(self.doc.location(("trigger",)), "a record trigger needs 'events' (create, update, delete)")
        if trigger.get("type") == "stage_machine":
            if not data.get("object") or not data.get("field"):
                self.problems.add(self.doc.location(("trigger",), key=True),
                                  "a stage machine needs 'object' and 'field' (a picklist of that object)")
            for index, transition in enumerate(data.get("transitions") or ()):
                if isinstance(transition, Mapping) and "condition" in transition:
                    self.formula(("transitions", index, "condition"), transition["condition"])
        if trigger.get("type") == "approval" and not data.get("object"):
            self.problems.add(self.doc.location(("trigger",), key=True), "an approval process needs 'object'")
        if trigger.get("type") == "schedule" and not trigger.get("schedule"):
            self.problems.add(self.doc.location(("trigger",)), "a scheduled flow needs 'schedule' (a cron expression)")
        if "schedule" in trigger:
            fields = str(trigger["schedule"]).split()
            if len(fields) != 5:
                self.problems.add(self.doc.location(("trigger", "schedule")),
                                  f"'{trigger['schedule']}' is not a cron expression of five fields (minute hour day month weekday)")
        if "condition" in trigger:
            self.formula(("trigger", "condition"), trigger["condition"])
        if "filter" in trigger:
            self.filter(("trigger", "filter"), trigger["filter"])

    def check_report(self, data: Mapping[str, Any]) -> None:
        for key in ("columns", "group_by"):
            for index, dotted in enumerate(data.get(key) or ()):
                self.path((key, index), dotted)
        for index, dotted in enumerate(data.get("sort") or ()):
            self.path(("sort", index), dotted.lstrip("-"), needs_column="sorted on")
        for index, aggregate in enumerate(data.get("aggregates") or ()):
            function = aggregate.get("function")
            if function != "count" and not aggregate.get("field"):
                article = "an" if str(function)[:1] in "aeiou" else "a"
                self.problems.add(self.doc.location(("aggregates", index), key=False),
                                  f"{article} {function} aggregate needs 'field'")
            elif aggregate.get("field"):
                where = ("aggregates", index, "field")
                found = self.path(where, aggregate["field"], needs_column="aggregated")
                wanted = _AGGREGATABLE.get(function)
                if found is not None and wanted is not None and found.formula_type not in wanted:
                    self.problems.add(self.doc.location(where),
                                      f"cannot {function} {aggregate['field']} ({found.type})")
        if "filter" in data:
            self.filter(("filter",), data["filter"])

    def check_dashboard(self, data: Mapping[str, Any]) -> None:
        reports = self.merger.documents.get("report", {})
        for index, widget in enumerate(data.get("widgets") or ()):
            report = widget.get("report")
            if report not in reports:
                self.problems.add(self.doc.location(("widgets", index, "report")),
                                  f"'{report}' is not a report{suggest(report, reports)}")

    def check_app(self, data: Mapping[str, Any]) -> None:
        dashboards = self.merger.documents.get("dashboard", {})
        for index, item in enumerate(data.get("menu") or ()):
            if "object" in item and item["object"] not in self.objects:
                self.problems.add(self.doc.location(("menu", index, "object")),
                                  f"'{item['object']}' is not an object{suggest(item['object'], self.objects)}")
            if "dashboard" in item and item["dashboard"] not in dashboards:
                self.problems.add(self.doc.location(("menu", index, "dashboard")),
                                  f"'{item['dashboard']}' is not a dashboard{suggest(item['dashboard'], dashboards)}")


#: the old private name, kept for code written before the scope became public
_RegistryScope = RegistryScope


# ------------------------------------------------------------------------------ org registry

def default_search_paths() -> list[Path]:
    """Where packages are found: the bundled metadata/ folder."""
    return [bundled_path("metadata")]


def build_org_registry(
    packages: Sequence[str] = ("l2c",),
    *,
    search_paths: Sequence[Path] | None = None,
    overlay: Path | None = None,
    field_types: FieldTypeRegistry | None = None,
    functions: FunctionRegistry | None = None,
    flow_steps: Mapping[str, Any] | None = None,
    org_overlay: Callable[[Builder], PackageSource | None] | None = None,
) -> Registry:
    """Build one org's registry: installed ``packages`` (with dependencies) from
    ``search_paths``, then the org's ``overlay`` folder, then the overlay stored in the org's
    database (``org_overlay`` makes its package with the builder's schemas; see
    :mod:`tessera.metadata.overlay`). Raises MetadataError."""
    builder = Builder(field_types=field_types, functions=functions, flow_steps=flow_steps)
    builder.scan(search_paths if search_paths is not None else default_search_paths())
    for name in packages:
        if name not in builder.catalog.packages:
            from .errors import Location
            builder.problems.add(Location("(configuration)", 1, 1),
                                 f"package '{name}' is not installed{suggest(name, builder.catalog.packages)}")
    builder.problems.raise_if_any()
    overlays = [read_overlay(overlay, builder) if overlay is not None else None,
                org_overlay(builder) if org_overlay is not None else None]
    builder.problems.raise_if_any()
    registry = builder.build(list(packages), [layer for layer in overlays if layer is not None])
    builder.problems.raise_if_any()
    assert registry is not None
    return registry


def read_overlay(path: Path, builder: Builder) -> PackageSource | None:
    """An org overlay folder: a package whose package.yaml is optional."""
    from .packages import MANIFEST, read_documents

    if (path / MANIFEST).is_file():
        return read_package(path, builder.schemas, builder.problems)
    package = PackageSource(name="overlay", version="0", root=path, manifest=None)
    if path.is_dir():
        package.documents = list(read_documents(path, builder.problems))
    return package


__all__ = ["Builder", "Registry", "RegistryScope", "build_org_registry", "compile_packages", "default_search_paths",
           "order_packages"]
