"""Compile merged object documents into :class:`~tessera.metadata.model.ObjectDef` values.

Works in phases so that every check can see every object: first each field's type and
properties (what formulas need to know), then references between objects, filters and
formulas, then formula cycles. Every problem is reported at the file and line that caused it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tessera.expressions import (
    CompiledExpression,
    FormulaError,
    FormulaType,
    FunctionRegistry,
    compile_expression,
)
from tessera.fieldtypes import FieldType, FieldTypeRegistry

from .errors import Problems
from .filters import Filter, parse_filter, walk
from .freezing import Freezing
from .merge import MergedDocument
from .model import (
    SYSTEM_FIELDS,
    ObjectDef,
    RelationDef,
)
from .naming import automatic_indexes
from .schema import suggest

#: marks a field whose properties failed schema validation (already reported)
INVALID = "__invalid__"

_TEXTUAL = frozenset({"text", "textarea", "email", "phone", "url", "picklist", "auto_number"})


@dataclass
class FieldSpec:
    """A field between merging and freezing: its properties with defaults filled in."""

    name: str
    type: str
    field_type: FieldType | None
    props: dict[str, Any]
    formula_type: FormulaType
    system: bool = False
    valid: bool = True


@dataclass
class ObjectSpec:
    name: str
    merged: MergedDocument | None
    fields: dict[str, FieldSpec] = field(default_factory=dict)
    valid: bool = True

    def path_location(self, path: tuple[Any, ...], *, key: bool = False):
        assert self.merged is not None
        return self.merged.location(path, key=key)


def _system_fields() -> dict[str, FieldSpec]:
    return {
        name: FieldSpec(name, type_name, None, {"label": label, "read_only": True}, ftype, system=True)
        for name, (type_name, ftype, label) in SYSTEM_FIELDS.items()
    }


#: stands for a field behind a broken lookup: its type is unknown, so nothing more is checked
_UNKNOWN = FieldSpec("?", "?", None, {}, FormulaType.NULL, valid=False)


def _article(word: str) -> str:
    return "an" if word[:1] in "aeiou" else "a"


class ObjectScope:
    """What a formula on one object can read: its fields and, through lookups, theirs."""

    def __init__(self, specs: Mapping[str, ObjectSpec], object_name: str) -> None:
        self.specs = specs
        self.object_name = object_name

    def field_at(self, path: tuple[str, ...]) -> FieldSpec:
        current = self.specs[self.object_name]
        for index, step in enumerate(path):
            spec = current.fields.get(step)
            if spec is None:
                where = "" if index == 0 else f" on {current.name}"
                raise LookupError(f"unknown field '{step}'{where}{suggest(step, current.fields)}")
            if index == len(path) - 1:
                return spec
            target = spec.props.get("target")
            if not spec.valid and spec.type in ("lookup", "master_detail"):
                return _UNKNOWN  # a broken lookup is already reported; do not pile on
            if not target:
                raise LookupError(f"'{step}' is not a lookup, so '.{path[index + 1]}' cannot follow it")
            if target not in self.specs:
                raise LookupError(f"'{step}' points to the unknown object '{target}'")
            current = self.specs[target]
        raise LookupError("empty field path")

    def resolve(self, path: tuple[str, ...]) -> FormulaType:
        return self.field_at(path).formula_type

    def filter_resolver(self, path: tuple[str, ...]) -> tuple[FormulaType, frozenset[str] | None]:
        spec = self.field_at(path)
        options = None
        if spec.type in ("picklist", "multi_picklist"):
            options = frozenset((spec.props.get("options") or {}).keys())
        return spec.formula_type, options


class ObjectCompiler(Freezing):
    """Turns every merged object into an ObjectDef, reporting problems as it goes."""

    def __init__(self, merged: Mapping[str, MergedDocument], field_types: FieldTypeRegistry,
                 functions: FunctionRegistry, problems: Problems) -> None:
        self.merged = merged
        self.field_types = field_types
        self.functions = functions
        self.problems = problems
        self.specs: dict[str, ObjectSpec] = {}
        self.formulas: dict[tuple[str, str], CompiledExpression] = {}
        self.compiled: dict[tuple[str, tuple[Any, ...]], CompiledExpression] = {}
        self.filters: dict[tuple[str, tuple[Any, ...]], Filter] = {}

    # ================================================================ phase 1: fields
    def run(self) -> dict[str, ObjectDef]:
        for name, merged in self.merged.items():
            self.specs[name] = self._object_spec(merged)
        for spec in self.specs.values():
            self._resolve_relations(spec)
        for spec in self.specs.values():
            self._resolve_rollups(spec)
        for spec in self.specs.values():
            self._check_object(spec)
        self._check_formula_cycles()
        self._check_index_names()
        self._decide_formula_storage()
        self._check_queries_use_stored_fields()
        relations = self._relations()
        return {name: self._freeze(spec, relations.get(name, ())) for name, spec in self.specs.items()}

    def _report(self, spec: ObjectSpec, path: tuple[Any, ...], message: str, *, key: bool = False) -> None:
        self.problems.add(spec.path_location(path, key=key), message)

    def _object_spec(self, merged: MergedDocument) -> ObjectSpec:
        spec = ObjectSpec(merged.name, merged)
        data = merged.data
        for required in ("label", "plural_label"):
            if required not in data and required not in merged.pruned:
                self._report(spec, (), f"object '{merged.name}' needs a '{required}' (in en and zh-CN)", key=True)
        fields = data.get("fields") or {}
        if not fields and "fields" not in merged.pruned:
            self._report(spec, (), f"object '{merged.name}' needs at least one field under 'fields'", key=True)
        spec.fields.update(_system_fields())
        for field_name, props in fields.items():
            path = ("fields", field_name)
            if field_name in SYSTEM_FIELDS or field_name in ("deleted_at", "deleted_by"):
                self._report(spec, path, f"'{field_name}' is a system field every object has; choose another name", key=True)
                continue
            if field_name in ("true", "false", "null"):
                self._report(spec, path, f"'{field_name}' is a word formulas reserve (TRUE, FALSE, NULL); "
                             "choose another name", key=True)
                continue
            spec.fields[field_name] = self._field_spec(spec, field_name, props, path)
        return spec

    def _field_spec(self, spec: ObjectSpec, name: str, props: dict[str, Any], path: tuple[Any, ...]) -> FieldSpec:
        type_name = props.get("type")
        field_type = self.field_types.get(type_name) if isinstance(type_name, str) else None
        result = FieldSpec(name, str(type_name), field_type, dict(props), FormulaType.NULL)
        if props.get(INVALID):
            # its schema errors are reported; formulas may still read it without more noise
            result.valid = False
            result.props = {}
            if field_type is not None:
                result.formula_type = field_type.formula_type_of({})
            return result
        if type_name is None:
            self._report(spec, path, f"field '{name}' needs a 'type'", key=True)
            result.valid = False
            return result
        if field_type is None:  # the schema reported unknown types already, unless merged from elsewhere
            self._report(spec, path + ("type",), f"unknown field type '{type_name}'{suggest(type_name, self.field_types)}")
            result.valid = False
            return result
        if "label" not in props:
            self._report(spec, path, f"field '{name}' needs a 'label' (in en and zh-CN)", key=True)
        allowed = field_type.allowed_properties()
        for prop in props:
            if prop not in allowed:
                self._report(spec, path + (prop,),
                             f"'{prop}' does not apply to {_article(type_name)} {type_name} field", key=True)
                result.valid = False
        for prop in sorted(field_type.required_properties - set(props)):
            self._report(spec, path, f"{_article(type_name)} {type_name} field needs '{prop}'", key=True)
            result.valid = False
        for prop, value in field_type.property_defaults.items():
            result.props.setdefault(prop, value)
        if isinstance(result.props.get("options"), dict):
            result.props["options"] = dict(result.props["options"])
            options_list = list(result.props["options"].values())
        else:
            options_list = []
        check_view = dict(result.props, options=options_list)
        if result.valid:
            for sub_path, message in field_type.check(check_view):
                if sub_path[:1] == ("options",) and len(sub_path) > 1:
                    value = options_list[sub_path[1]].get("value")
                    sub_path = ("options", value) + tuple(sub_path[2:])
                self._report(spec, path + sub_path, message)
        default = props.get("default")
        if default is not None and not isinstance(default, dict) and result.valid:
            message = field_type.check_literal(default, check_view)
            if message:
                self._report(spec, path + ("default",), f"default of {spec.name}.{name}: {message}")
        result.formula_type = field_type.formula_type_of(result.props)
        return result

    def _resolve_relations(self, spec: ObjectSpec) -> None:
        for name, fspec in spec.fields.items():
            target = fspec.props.get("target")
            if fspec.system or not target:
                continue
            if target not in self.specs:
                self._report(spec, ("fields", name, "target"),
                             f"'{target}' is not an object{suggest(target, self.specs)}")
                fspec.props["target"] = None
                fspec.valid = False

    def _resolve_rollups(self, spec: ObjectSpec) -> None:
        for name, fspec in spec.fields.items():
            if fspec.type != "rollup":
                continue
            resolved = fspec.formula_type
            fspec.formula_type = FormulaType.NULL  # unknown until the roll-up resolves: no cascades
            if not fspec.valid:
                continue
            path = ("fields", name)
            child_name = fspec.props.get("object")
            child = self.specs.get(child_name)
            if child is None:
                self._report(spec, path + ("object",), f"'{child_name}' is not an object{suggest(child_name, self.specs)}")
                fspec.valid = False
                continue
            links = [f.name for f in child.fields.values() if f.props.get("target") == spec.name and not f.system]
            relationship = fspec.props.get("relationship")
            if relationship is None:
                if len(links) != 1:
                    reason = "no field of" if not links else f"several fields of {child_name} ({', '.join(links)})"
                    if not links:
                        self._report(spec, path + ("object",),
                                     f"{reason} {child_name} points to {spec.name}, so it cannot roll up")
                    else:
                        self._report(spec, path, f"{reason} point to {spec.name}; name one with 'relationship'", key=True)
                    fspec.valid = False
                    continue
                fspec.props["relationship"] = links[0]
            elif relationship not in links:
                self._report(spec, path + ("relationship",),
                             f"'{relationship}' is not a field of {child_name} that points to {spec.name}"
                             f"{suggest(relationship, links)}")
                fspec.valid = False
                continue
            aggregate = fspec.props.get("aggregate")
            child_field = fspec.props.get("field")
            if aggregate == "count":
                fspec.formula_type = resolved
                continue
            target = child.fields.get(child_field) if isinstance(child_field, str) else None
            if target is None and not isinstance(child_field, str):
                fspec.valid = False  # "needs 'field'" is reported by the type's own check
                continue
            if target is None:
                self._report(spec, path + ("field",),
                             f"unknown field '{child_field}' on {child_name}{suggest(child_field, child.fields)}")
                fspec.valid = False
                continue
            wanted = {FormulaType.NUMBER} if aggregate in ("sum", "avg") else {
                FormulaType.NUMBER, FormulaType.DATE, FormulaType.DATETIME}
            if target.formula_type not in wanted or target.type == "rollup":
                self._report(spec, path + ("field",),
                             f"cannot {aggregate} {child_name}.{child_field} ({target.type})")
                fspec.valid = False
                continue
            fspec.formula_type = target.formula_type

    # ================================================================ phase 2: references
    def _check_object(self, spec: ObjectSpec) -> None:
        data = spec.merged.data if spec.merged else {}
        scope = ObjectScope(self.specs, spec.name)
        user_fields = [n for n, f in spec.fields.items() if not f.system]
        name_field = data.get("name_field")
        if name_field is None:
            if "name" in spec.fields:
                data["name_field"] = "name"
            elif user_fields:
                self._report(spec, (), f"object '{spec.name}' has no 'name' field, so it needs 'name_field'", key=True)
        elif name_field not in spec.fields:
            self._report(spec, ("name_field",), f"unknown field '{name_field}'{suggest(name_field, spec.fields)}")
        for index, name in enumerate(data.get("search_fields") or ()):
            found = spec.fields.get(name)
            if found is None:
                self._report(spec, ("search_fields", index), f"unknown field '{name}'{suggest(name, spec.fields)}")
            elif found.type not in _TEXTUAL:
                self._report(spec, ("search_fields", index), f"'{name}' is a {found.type} field; only text-like fields can be searched")
        for name, fspec in spec.fields.items():
            if not fspec.system and fspec.valid:
                self._check_field(spec, scope, name, fspec)
        self._check_layouts(spec, scope, data.get("layouts") or {})
        for rule_name, rule in (data.get("validations") or {}).items():
            self._check_rule(spec, scope, rule_name, rule)
        for key, index in (data.get("indexes") or {}).items():
            for position, name in enumerate(index.get("fields") or ()):
                found = spec.fields.get(name)
                if found is None:
                    self._report(spec, ("indexes", key, "fields", position), f"unknown field '{name}'{suggest(name, spec.fields)}")

    def _check_field(self, spec: ObjectSpec, scope: ObjectScope, name: str, fspec: FieldSpec) -> None:
        path = ("fields", name)
        props = fspec.props
        if fspec.type == "formula":
            self._compile(spec, scope, path + ("expression",), props.get("expression"), fspec.formula_type)
        default = props.get("default")
        if isinstance(default, dict) and "formula" in default:
            self._compile(spec, scope, path + ("default", "formula"), default["formula"], fspec.formula_type)
        for condition in ("visible_when", "required_when", "read_only_when"):
            if condition in props:
                self._compile(spec, scope, path + (condition,), props[condition], FormulaType.BOOLEAN)
        currency_field = props.get("currency_field")
        if currency_field is not None:
            found = spec.fields.get(currency_field)
            if found is None or found.type not in ("text", "picklist"):
                self._report(spec, path + ("currency_field",),
                             f"'{currency_field}' must be a text or picklist field of {spec.name} holding a currency code"
                             f"{suggest(currency_field, spec.fields)}")
        if "lookup_filter" in props and props.get("target"):
            self._filter(spec, ObjectScope(self.specs, props["target"]), path + ("lookup_filter",), props["lookup_filter"])
        if fspec.type == "rollup" and "filter" in props:
            self._filter(spec, ObjectScope(self.specs, props["object"]), path + ("filter",), props["filter"])
            parsed = self.filters.get((spec.name, path + ("filter",)))
            for condition in walk(parsed) if parsed is not None else ():
                values = condition.value if isinstance(condition.value, list) else [condition.value]
                if any(isinstance(v, str) and v.startswith(("$today", "$now", "$me")) for v in values):
                    self._report(spec, path + ("filter",) + condition.where,
                                 "a roll-up is recomputed only when its children change, so its filter cannot "
                                 "use $today, $now or $me (the total would go stale)", key=True)

    def _check_layouts(self, spec: ObjectSpec, scope: ObjectScope, layouts: Mapping[str, Any]) -> None:
        form = layouts.get("form")
        if form:
            placed: dict[str, tuple[Any, ...]] = {}
            for s_index, section in enumerate(form.get("sections") or ()):
                for c_index, column in enumerate(section.get("columns") or ()):
                    for f_index, name in enumerate(column):
                        where = ("layouts", "form", "sections", s_index, "columns", c_index, f_index)
                        found = spec.fields.get(name)
                        if found is None:
                            self._report(spec, where, f"unknown field '{name}'{suggest(name, spec.fields)}")
                        elif name in placed:
                            self._report(spec, where, f"field '{name}' is placed twice in the form")
                        placed[name] = where
        for view_name, view in (layouts.get("list_views") or {}).items():
            base = ("layouts", "list_views", view_name)
            for index, column in enumerate(view.get("columns") or ()):
                self._path(spec, scope, base + ("columns", index), column)
            for index, key in enumerate(view.get("sort") or ()):
                self._path(spec, scope, base + ("sort", index), key.lstrip("-"))
            if "filter" in view:
                self._filter(spec, scope, base + ("filter",), view["filter"])
            kanban = view.get("kanban_field")
            if kanban is not None:
                found = spec.fields.get(kanban)
                if found is None or found.type != "picklist":
                    self._report(spec, base + ("kanban_field",), f"kanban_field must be a picklist field of {spec.name}, not '{kanban}'")

    def _check_rule(self, spec: ObjectSpec, scope: ObjectScope, name: str, rule: Mapping[str, Any]) -> None:
        path = ("validations", name)
        for required in ("condition", "message"):
            if required not in rule:
                self._report(spec, path, f"validation rule '{name}' needs a '{required}'", key=True)
        if "condition" in rule:
            self._compile(spec, scope, path + ("condition",), rule["condition"], FormulaType.BOOLEAN)
        error_field = rule.get("error_field")
        if error_field is not None and error_field not in spec.fields:
            self._report(spec, path + ("error_field",), f"unknown field '{error_field}'{suggest(error_field, spec.fields)}")

    # ================================================================ helpers
    def _path(self, spec: ObjectSpec, scope: ObjectScope, where: tuple[Any, ...], dotted: str) -> None:
        try:
            scope.field_at(tuple(dotted.split(".")))
        except LookupError as exc:
            self._report(spec, where, str(exc.args[0]))

    def _filter(self, spec: ObjectSpec, scope: ObjectScope, where: tuple[Any, ...], data: Any) -> None:
        def report(path: tuple[Any, ...], message: Any, key: bool) -> None:
            self._report(spec, where + path, str(message), key=key)

        parsed = parse_filter(data, scope.filter_resolver, report)
        if parsed is not None:
            self.filters[(spec.name, where)] = parsed

    def _compile(self, spec: ObjectSpec, scope: ObjectScope, where: tuple[Any, ...], source: Any,
                 expected: FormulaType) -> CompiledExpression | None:
        if not isinstance(source, str):
            return None
        try:
            compiled = compile_expression(source, scope, expected=expected, functions=self.functions)
        except FormulaError as exc:
            assert spec.merged is not None
            location = spec.merged.expression_location(where, exc.offset or 0)
            self.problems.add(location, exc.message)
            return None
        self.compiled[(spec.name, where)] = compiled
        return compiled

    def _check_formula_cycles(self) -> None:
        graph: dict[tuple[str, str], list[tuple[str, str]]] = {}
        for (object_name, where), compiled in self.compiled.items():
            if len(where) == 3 and where[0] == "fields" and where[2] == "expression":
                node = (object_name, where[1])
                edges = graph.setdefault(node, [])
                scope = ObjectScope(self.specs, object_name)
                for path in compiled.references:
                    final = self._final_field(scope, path)
                    if final is not None:
                        edges.append(final)
        state: dict[tuple[str, str], int] = {}
        for start in graph:
            if state.get(start):
                continue
            stack = [(start, iter(graph.get(start, ())))]
            trail = [start]
            state[start] = 1
            while stack:
                node, children = stack[-1]
                child = next(children, None)
                if child is None:
                    state[node] = 2
                    stack.pop()
                    trail.pop()
                    continue
                if child not in graph:
                    continue
                if state.get(child) == 1:
                    cycle = trail[trail.index(child):] + [child]
                    shown = " -> ".join(f"{o}.{f}" for o, f in cycle)
                    obj, fld = child
                    self._report(self.specs[obj], ("fields", fld, "expression"),
                                 f"formula fields depend on each other in a cycle: {shown}")
                    state[child] = 2
                elif not state.get(child):
                    state[child] = 1
                    stack.append((child, iter(graph.get(child, ()))))
                    trail.append(child)

    def _check_index_names(self) -> None:
        """Index names are shared by every table of an org's schema on PostgreSQL: a declared
        name may not repeat an automatic one or another declared one."""
        taken: dict[str, str] = {}
        for spec in self.specs.values():
            stored = [(n, bool(f.props.get("unique")), bool(f.props.get("indexed") or f.props.get("target")))
                      for n, f in spec.fields.items() if not f.system and f.valid]
            for name in automatic_indexes(spec.name, stored):
                taken.setdefault(name, f"the automatic index of {spec.name}")
        for spec in self.specs.values():
            data = spec.merged.data if spec.merged else {}
            for key, index in (data.get("indexes") or {}).items():
                name = index.get("name")
                if not name:
                    continue
                if name in taken:
                    self._report(spec, ("indexes", key, "name"),
                                 f"index name '{name}' is already used by {taken[name]}; choose another name "
                                 "or leave 'name' out")
                else:
                    taken[name] = f"an index of {spec.name}"

    def _decide_formula_storage(self) -> None:
        """A formula is stored (and kept current on every write) when it reads only its own
        record's stored fields and not the clock; otherwise it is computed when read."""
        self.unstored: set[tuple[str, str]] = set()
        formulas = {
            (obj, where[1]): compiled for (obj, where), compiled in self.compiled.items()
            if len(where) == 3 and where[0] == "fields" and where[2] == "expression"
        }
        for key, compiled in formulas.items():
            if compiled.volatile or any(len(path) > 1 for path in compiled.references):
                self.unstored.add(key)
        changed = True
        while changed:  # a formula reading an unstored formula is unstored too
            changed = False
            for (obj, name), compiled in formulas.items():
                if (obj, name) in self.unstored:
                    continue
                if any((obj, path[0]) in self.unstored for path in compiled.references):
                    self.unstored.add((obj, name))
                    changed = True
        for obj, name in self.unstored:  # formulas that failed to compile stay unstored too
            self.specs[obj].fields[name].props["__stored__"] = False
        for (obj, name), spec in ((k, self.specs[k[0]].fields[k[1]]) for k in formulas):
            spec.props.setdefault("__stored__", True)

    def _check_queries_use_stored_fields(self) -> None:
        """Filters, sorts and indexes need a column: refuse computed-when-read formulas."""
        def unstored(obj: str, path: tuple[str, ...]) -> str | None:
            final = self._final_field(ObjectScope(self.specs, obj), path)
            if final is None:
                return None
            spec = self.specs[final[0]].fields.get(final[1])
            if spec is not None and spec.type == "formula" and not spec.props.get("__stored__", False):
                return ".".join(path)
            return None

        why = "is a formula computed when read (it reads lookups or TODAY/NOW), so it cannot be"
        for (obj, where), parsed in self.filters.items():
            target = obj
            if where[-1] == "lookup_filter":
                target = self.specs[obj].fields[where[1]].props.get("target") or obj
            elif where[0] == "fields" and where[-1] == "filter":
                target = self.specs[obj].fields[where[1]].props.get("object") or obj
            for condition in walk(parsed):
                name = unstored(target, condition.path)
                if name:
                    self._report(self.specs[obj], where + condition.where, f"'{name}' {why} filtered on", key=True)
        for spec in self.specs.values():
            for name, fspec in spec.fields.items():
                if fspec.type == "formula" and fspec.props.get("indexed") and not fspec.props.get("__stored__", False):
                    self._report(spec, ("fields", name, "indexed"), f"'{name}' {why} indexed", key=True)
                if fspec.type == "rollup" and fspec.valid and fspec.props.get("field"):
                    if unstored(fspec.props["object"], (fspec.props["field"],)):
                        self._report(spec, ("fields", name, "field"),
                                     f"'{fspec.props['field']}' {why} rolled up")
            data = spec.merged.data if spec.merged else {}
            for view_name, view in ((data.get("layouts") or {}).get("list_views") or {}).items():
                for index, key in enumerate(view.get("sort") or ()):
                    name = unstored(spec.name, tuple(key.lstrip("-").split(".")))
                    if name:
                        self._report(spec, ("layouts", "list_views", view_name, "sort", index), f"'{name}' {why} sorted on")
            for key, index in (data.get("indexes") or {}).items():
                for position, field_name in enumerate(index.get("fields") or ()):
                    if unstored(spec.name, (field_name,)):
                        self._report(spec, ("indexes", key, "fields", position), f"'{field_name}' {why} indexed")

    def _final_field(self, scope: ObjectScope, path: tuple[str, ...]) -> tuple[str, str] | None:
        """The (object, field) a reference path ends at; None through a broken lookup."""
        current: str | None = scope.object_name
        for step in path[:-1]:
            spec = self.specs.get(current) if current else None
            field_spec = spec.fields.get(step) if spec else None
            current = field_spec.props.get("target") if field_spec else None
        return (current, path[-1]) if current in self.specs else None

    def _relations(self) -> dict[str, tuple[RelationDef, ...]]:
        found: dict[str, list[RelationDef]] = {}
        for spec in self.specs.values():
            links = [f for f in spec.fields.values() if f.props.get("target") and not f.system]
            for fspec in links:
                target = fspec.props["target"]
                same = [f for f in links if f.props["target"] == target]
                default = spec.name if len(same) == 1 else f"{spec.name}_by_{fspec.name}"
                name = fspec.props.get("related_name") or default
                existing = [r for r in found.get(target, []) if r.name == name]
                if existing:
                    other = existing[0]
                    self._report(spec, ("fields", fspec.name, "related_name" if "related_name" in fspec.props else "target"),
                                 f"{target} already has a related list named '{name}' (from {other.object}.{other.field}); "
                                 "set a different 'related_name'")
                    continue
                found.setdefault(target, []).append(
                    RelationDef(name, spec.name, fspec.name, fspec.type == "master_detail"))
        return {k: tuple(v) for k, v in found.items()}
