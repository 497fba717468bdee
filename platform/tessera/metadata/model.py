"""The compiled metadata: frozen definitions the engine reads and never changes.

Everything here is built once per org by :mod:`tessera.metadata.registry`; formulas arrive
already parsed and type-checked (:class:`~tessera.expressions.CompiledExpression`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from types import MappingProxyType
from typing import Any

from tessera.expressions import CompiledExpression, FormulaType

DEFAULT_LOCALE = "en"
LOCALES = ("en", "zh-CN")


@dataclass(frozen=True, slots=True)
class Label:
    """A text in several locales; ``label('zh-CN')`` picks one, falling back to English."""

    values: Mapping[str, str]

    def __call__(self, locale: str | None = None) -> str:
        if locale and locale in self.values:
            return self.values[locale]
        if locale and "-" in locale and locale.split("-")[0] in self.values:
            return self.values[locale.split("-")[0]]
        return self.values.get(DEFAULT_LOCALE) or next(iter(self.values.values()), "")

    def __str__(self) -> str:
        return self()

    @classmethod
    def of(cls, value: Mapping[str, str] | None, fallback: str = "") -> Label:
        if not value:
            return cls(MappingProxyType({"en": fallback, "zh-CN": fallback}))
        return cls(MappingProxyType(dict(value)))


@dataclass(frozen=True, slots=True)
class OptionDef:
    value: str
    label: Label
    color: str | None = None
    active: bool = True
    probability: Decimal | None = None
    closed: bool = False
    won: bool = False


@dataclass(frozen=True, slots=True)
class RollupDef:
    object: str             # the child object
    relationship: str       # the child's lookup/master-detail field pointing here
    aggregate: str          # count, sum, min, max, avg
    field: str | None       # the child field aggregated (None for count)
    filter: Any = None      # a parsed filter on the child (tessera.metadata.filters.Filter)


@dataclass(frozen=True, slots=True)
class FieldDef:
    """One field of an object. ``props`` keeps every metadata property, including those a
    plugin's field type defines; the common ones are also plain attributes."""

    name: str
    type: str
    label: Label
    formula_type: FormulaType
    help: Label | None = None
    description: str = ""
    required: bool = False
    unique: bool = False
    indexed: bool = False
    read_only: bool = False
    active: bool = True
    system: bool = False
    computed: bool = False
    #: has a column; False only for formulas computed when read (lookups, TODAY/NOW)
    stored: bool = True
    default: Any = None
    default_formula: CompiledExpression | None = None
    visible_when: CompiledExpression | None = None
    required_when: CompiledExpression | None = None
    read_only_when: CompiledExpression | None = None
    max_length: int | None = None
    precision: int | None = None
    scale: int | None = None
    min: Decimal | int | None = None
    max: Decimal | int | None = None
    options: tuple[OptionDef, ...] = ()
    target: str | None = None
    on_delete: str | None = None
    related_name: str | None = None
    lookup_filter: Any = None
    formula: CompiledExpression | None = None
    result: str | None = None
    pattern: str | None = None
    start: int | None = None
    rollup: RollupDef | None = None
    currency_field: str | None = None
    package: str = ""
    props: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def is_relation(self) -> bool:
        return self.target is not None

    def option(self, value: str) -> OptionDef | None:
        for option in self.options:
            if option.value == value:
                return option
        return None


@dataclass(frozen=True, slots=True)
class SectionDef:
    name: str
    label: Label
    columns: tuple[tuple[str, ...], ...]
    collapsed: bool = False

    @property
    def fields(self) -> tuple[str, ...]:
        return tuple(name for column in self.columns for name in column)


@dataclass(frozen=True, slots=True)
class FormLayout:
    sections: tuple[SectionDef, ...]


@dataclass(frozen=True, slots=True)
class ListViewDef:
    name: str
    label: Label
    columns: tuple[str, ...]
    sort: tuple[str, ...] = ()
    filter: Any = None  # tessera.metadata.filters.Filter
    kanban_field: str | None = None
    default: bool = False


@dataclass(frozen=True, slots=True)
class RuleDef:
    """A validation rule: the record is invalid when ``condition`` is TRUE."""

    name: str
    condition: CompiledExpression
    message: Label
    error_field: str | None = None
    active: bool = True
    description: str = ""


@dataclass(frozen=True, slots=True)
class IndexDef:
    name: str
    fields: tuple[str, ...]
    unique: bool = False


@dataclass(frozen=True, slots=True)
class RelationDef:
    """A child relationship seen from the parent: ``child.field`` points at this object."""

    name: str       # the related name (e.g. ``contacts`` on account)
    object: str     # the child object
    field: str      # the child's lookup or master-detail field
    master_detail: bool


@dataclass(frozen=True, slots=True)
class ObjectDef:
    name: str
    label: Label
    plural_label: Label
    fields: Mapping[str, FieldDef]
    name_field: str
    search_fields: tuple[str, ...] = ()
    description: str = ""
    icon: str | None = None
    color: str | None = None
    active: bool = True
    form: FormLayout | None = None
    list_views: Mapping[str, ListViewDef] = field(default_factory=lambda: MappingProxyType({}))
    validations: tuple[RuleDef, ...] = ()
    indexes: tuple[IndexDef, ...] = ()
    relations: tuple[RelationDef, ...] = ()
    removed_fields: tuple[str, ...] = ()
    package: str = ""
    packages: tuple[str, ...] = ()

    def field(self, name: str) -> FieldDef:
        return self.fields[name]

    @property
    def stored_fields(self) -> tuple[FieldDef, ...]:
        """Fields with a column of their own (some formulas are computed when read)."""
        return tuple(f for f in self.fields.values() if f.stored)


@dataclass(frozen=True, slots=True)
class DocumentDef:
    """A flow, report, dashboard or app: its name, label and its (validated) content."""

    kind: str
    name: str
    label: Label
    data: Mapping[str, Any]
    package: str = ""
    expressions: Mapping[str, CompiledExpression] = field(default_factory=lambda: MappingProxyType({}))


@dataclass(frozen=True, slots=True)
class PackageInfo:
    name: str
    version: str
    label: Label
    description: str = ""
    depends: tuple[str, ...] = ()
    extends: str | None = None
    path: str = ""


#: fields every object has; their names are reserved
SYSTEM_FIELDS: Mapping[str, tuple[str, FormulaType, Mapping[str, str]]] = MappingProxyType({
    "id": ("integer", FormulaType.ID, {"en": "ID", "zh-CN": "编号"}),
    "created_at": ("datetime", FormulaType.DATETIME, {"en": "Created at", "zh-CN": "创建时间"}),
    "created_by": ("integer", FormulaType.ID, {"en": "Created by", "zh-CN": "创建人"}),
    "updated_at": ("datetime", FormulaType.DATETIME, {"en": "Updated at", "zh-CN": "修改时间"}),
    "updated_by": ("integer", FormulaType.ID, {"en": "Updated by", "zh-CN": "修改人"}),
    "owner_id": ("integer", FormulaType.ID, {"en": "Owner", "zh-CN": "负责人"}),
    "version": ("integer", FormulaType.NUMBER, {"en": "Version", "zh-CN": "版本"}),
})


#: what a role may do with an object's records
OBJECT_PERMISSIONS = ("create", "read", "edit", "delete", "view_all", "modify_all", "import", "export")


@dataclass(frozen=True, slots=True)
class SharingRuleDef:
    """Records of ``object`` matching ``filter`` are shared with a role, for ``access``."""

    name: str
    object: str
    filter: Any
    access: str = "read"


@dataclass(frozen=True, slots=True)
class RoleDef:
    """A role: object permissions, field-level security, its place in the hierarchy and the
    records shared with it by criteria."""

    name: str
    label: Label
    admin: bool = False
    reports_to: str | None = None
    objects: Mapping[str, frozenset[str]] = field(default_factory=lambda: MappingProxyType({}))
    fields: Mapping[tuple[str, str], str] = field(default_factory=lambda: MappingProxyType({}))
    sharing: tuple[SharingRuleDef, ...] = ()
    description: str = ""
    package: str = ""

    def permissions(self, object_name: str) -> frozenset[str]:
        """What this role may do with ``object_name`` (admins: everything)."""
        if self.admin:
            return frozenset(OBJECT_PERMISSIONS)
        return self.objects.get(object_name, self.objects.get("*", frozenset()))
