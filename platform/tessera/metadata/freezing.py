"""Phase 3 of compiling objects: freezing the checked specs into immutable definitions.

A mixin of :class:`tessera.metadata.compiler.ObjectCompiler`; the methods use its state.
"""

from __future__ import annotations

from decimal import Decimal
from types import MappingProxyType
from typing import TYPE_CHECKING

from .model import (
    FieldDef,
    FormLayout,
    IndexDef,
    Label,
    ListViewDef,
    ObjectDef,
    OptionDef,
    RelationDef,
    RollupDef,
    RuleDef,
    SectionDef,
)
from .naming import constraint_name

if TYPE_CHECKING:
    from .compiler import FieldSpec, ObjectSpec


class Freezing:
    """ObjectSpec/FieldSpec -> ObjectDef/FieldDef, with the compiled formulas and filters."""

    # ================================================================ phase 3: freeze
    def _freeze(self, spec: ObjectSpec, relations: tuple[RelationDef, ...]) -> ObjectDef:
        data = spec.merged.data if spec.merged else {}
        fields = {name: self._freeze_field(spec, f) for name, f in spec.fields.items()}
        layouts = data.get("layouts") or {}
        form = None
        if layouts.get("form"):
            form = FormLayout(tuple(
                SectionDef(s.get("name") or f"section_{i + 1}", Label.of(s.get("label")),
                           tuple(tuple(c) for c in s.get("columns") or ()), bool(s.get("collapsed", False)))
                for i, s in enumerate(layouts["form"].get("sections") or ())))
        views = {
            name: ListViewDef(
                name, Label.of(v.get("label"), name), tuple(v.get("columns") or ()), tuple(v.get("sort") or ()),
                self.filters.get((spec.name, ("layouts", "list_views", name, "filter"))),
                v.get("kanban_field"), bool(v.get("default", False)))
            for name, v in (layouts.get("list_views") or {}).items()
        }
        rules = tuple(
            RuleDef(name, compiled, Label.of(rule.get("message")), rule.get("error_field"),
                    bool(rule.get("active", True)), rule.get("description", ""))
            for name, rule in (data.get("validations") or {}).items()
            if (compiled := self.compiled.get((spec.name, ("validations", name, "condition")))) is not None
        )
        indexes = tuple(
            IndexDef(index.get("name") or constraint_name("uq" if index.get("unique") else "ix", spec.name,
                                                          tuple(index["fields"])),
                     tuple(index["fields"]), bool(index.get("unique", False)))
            for index in (data.get("indexes") or {}).values()
        )
        merged = spec.merged
        return ObjectDef(
            name=spec.name,
            label=Label.of(data.get("label"), spec.name),
            plural_label=Label.of(data.get("plural_label"), spec.name),
            fields=MappingProxyType(fields),
            name_field=data.get("name_field") or "id",
            search_fields=tuple(data.get("search_fields") or ()),
            description=data.get("description", ""),
            icon=data.get("icon"),
            color=data.get("color"),
            active=bool(data.get("active", True)),
            form=form,
            list_views=MappingProxyType(views),
            validations=rules,
            indexes=indexes,
            relations=relations,
            removed_fields=tuple(merged.removed_fields) if merged else (),
            package=merged.created_by.package if merged else "",
            packages=tuple(merged.packages) if merged else (),
        )

    def _freeze_field(self, spec: ObjectSpec, fspec: FieldSpec) -> FieldDef:
        props = fspec.props
        where = ("fields", fspec.name)
        compiled = self.compiled
        options = tuple(
            OptionDef(str(o.get("value")), Label.of(o.get("label"), str(o.get("value"))), o.get("color"),
                      bool(o.get("active", True)),
                      Decimal(str(o["probability"])) if o.get("probability") is not None else None,
                      bool(o.get("closed", False)), bool(o.get("won", False)))
            for o in (props.get("options") or {}).values()
        ) if isinstance(props.get("options"), dict) else ()
        rollup = None
        if fspec.type == "rollup" and fspec.valid:
            rollup = RollupDef(props["object"], props["relationship"], props["aggregate"], props.get("field"),
                               self.filters.get((spec.name, where + ("filter",))))
        default = props.get("default")
        field_type = fspec.field_type
        origin_package = ""
        if spec.merged is not None and not fspec.system:
            origin_package = spec.merged.origin(where)[0].package
        return FieldDef(
            name=fspec.name,
            type=fspec.type,
            label=Label.of(props.get("label"), fspec.name),
            formula_type=fspec.formula_type,
            help=Label.of(props["help"]) if props.get("help") else None,
            description=props.get("description", ""),
            required=bool(props.get("required", False)),
            unique=bool(props.get("unique", False)) or fspec.type == "auto_number",
            indexed=bool(props.get("indexed", False)),
            read_only=bool(props.get("read_only", False)) or bool(field_type and field_type.computed) or fspec.system,
            active=bool(props.get("active", True)),
            system=fspec.system,
            computed=bool(field_type and field_type.computed),
            stored=bool(props.get("__stored__", True)),
            default=None if isinstance(default, dict) else default,
            default_formula=compiled.get((spec.name, where + ("default", "formula"))),
            visible_when=compiled.get((spec.name, where + ("visible_when",))),
            required_when=compiled.get((spec.name, where + ("required_when",))),
            read_only_when=compiled.get((spec.name, where + ("read_only_when",))),
            max_length=props.get("max_length"),
            precision=props.get("precision"),
            scale=props.get("scale"),
            min=props.get("min"),
            max=props.get("max"),
            options=options,
            target=props.get("target"),
            on_delete=props.get("on_delete"),
            related_name=props.get("related_name"),
            lookup_filter=self.filters.get((spec.name, where + ("lookup_filter",))),
            formula=compiled.get((spec.name, where + ("expression",))),
            result=props.get("result"),
            pattern=props.get("pattern"),
            start=props.get("start"),
            rollup=rollup,
            currency_field=props.get("currency_field"),
            package=origin_package,
            props=MappingProxyType({k: v for k, v in props.items() if k not in ("options", "__stored__")}),
        )
