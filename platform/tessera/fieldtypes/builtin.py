"""The twenty built-in field types. They register through the same registry as a plugin's."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

import sqlalchemy as sa

from tessera.expressions import FormulaType
from tessera.storage.types import ExactDecimal, JSONType, UTCDateTime

from .base import (
    Finding,
    FieldType,
    FieldTypeRegistry,
    check_date,
    check_number,
    check_text,
    describe,
)

_COMPUTED_REFUSES = frozenset({"default", "required", "unique", "read_only", "required_when", "read_only_when"})


def _label(en: str, zh: str) -> Mapping[str, str]:
    return {"en": en, "zh-CN": zh}


def _check_range(props: Mapping[str, Any]) -> Iterator[Finding]:
    low, high = props.get("min"), props.get("max")
    if low is not None and high is not None and low > high:
        yield ("min",), f"min ({low}) is greater than max ({high})"


def _check_scale(props: Mapping[str, Any]) -> Iterator[Finding]:
    precision, scale = props.get("precision"), props.get("scale")
    if precision is not None and scale is not None and scale > precision:
        yield ("scale",), f"scale ({scale}) cannot exceed precision ({precision})"


class _Text(FieldType):
    formula_type = FormulaType.TEXT
    properties = frozenset({"max_length"})

    def column_type(self, field: Any, registry: Any) -> Any:
        return sa.String(field.max_length)

    def check_literal(self, value: Any, props: Mapping[str, Any]) -> str | None:
        return check_text(value, props)


class TextType(_Text):
    name = "text"
    label = _label("Text", "文本")
    property_defaults = {"max_length": 255}


class TextareaType(_Text):
    name = "textarea"
    label = _label("Long text", "多行文本")
    property_defaults = {"max_length": 32000}
    refused_properties = frozenset({"unique", "indexed"})

    def column_type(self, field: Any, registry: Any) -> Any:
        return sa.Text()


class EmailType(_Text):
    name = "email"
    label = _label("Email", "电子邮件")
    property_defaults = {"max_length": 254}
    _shape = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

    def check_literal(self, value: Any, props: Mapping[str, Any]) -> str | None:
        problem = check_text(value, props)
        if problem is None and not self._shape.match(value):
            return f"'{value}' is not an email address"
        return problem


class PhoneType(_Text):
    name = "phone"
    label = _label("Phone", "电话")
    property_defaults = {"max_length": 40}


class UrlType(_Text):
    name = "url"
    label = _label("URL", "网址")
    property_defaults = {"max_length": 2048}

    def check_literal(self, value: Any, props: Mapping[str, Any]) -> str | None:
        problem = check_text(value, props)
        if problem is None and not re.match(r"^https?://\S+$", value):
            return f"'{value}' is not an http(s) address"
        return problem


class _Number(FieldType):
    formula_type = FormulaType.NUMBER
    properties = frozenset({"min", "max", "precision", "scale"})

    def check(self, props: Mapping[str, Any]) -> Iterator[Finding]:
        yield from _check_range(props)
        yield from _check_scale(props)

    def check_literal(self, value: Any, props: Mapping[str, Any]) -> str | None:
        return check_number(value, props)

    def column_type(self, field: Any, registry: Any) -> Any:
        return ExactDecimal(field.precision or 18, field.scale if field.scale is not None else 2)


class IntegerType(_Number):
    name = "integer"
    label = _label("Whole number", "整数")
    properties = frozenset({"min", "max"})

    def check_literal(self, value: Any, props: Mapping[str, Any]) -> str | None:
        return check_number(value, props, integer=True)

    def column_type(self, field: Any, registry: Any) -> Any:
        return sa.BigInteger()


class DecimalType(_Number):
    name = "decimal"
    label = _label("Decimal number", "小数")
    property_defaults = {"precision": 18, "scale": 2}


class CurrencyType(_Number):
    name = "currency"
    label = _label("Currency", "金额")
    properties = frozenset({"min", "max", "precision", "scale", "currency_field"})
    property_defaults = {"precision": 18, "scale": 2}


class PercentType(_Number):
    name = "percent"
    label = _label("Percent", "百分比")
    property_defaults = {"precision": 5, "scale": 2}


class BooleanType(FieldType):
    name = "boolean"
    label = _label("Checkbox", "复选框")
    formula_type = FormulaType.BOOLEAN
    refused_properties = frozenset({"unique"})

    def check_literal(self, value: Any, props: Mapping[str, Any]) -> str | None:
        return None if isinstance(value, bool) else f"expected true or false, got {describe(value)}"

    def column_type(self, field: Any, registry: Any) -> Any:
        return sa.Boolean()


class DateType(FieldType):
    name = "date"
    label = _label("Date", "日期")
    formula_type = FormulaType.DATE

    def check_literal(self, value: Any, props: Mapping[str, Any]) -> str | None:
        return check_date(value, with_time=False)

    def column_type(self, field: Any, registry: Any) -> Any:
        return sa.Date()


class DateTimeType(FieldType):
    name = "datetime"
    label = _label("Date and time", "日期时间")
    formula_type = FormulaType.DATETIME

    def check_literal(self, value: Any, props: Mapping[str, Any]) -> str | None:
        return check_date(value, with_time=True)

    def column_type(self, field: Any, registry: Any) -> Any:
        return UTCDateTime()


class _Choice(FieldType):
    formula_type = FormulaType.TEXT
    properties = frozenset({"options"})
    required_properties = frozenset({"options"})

    def _option_problem(self, value: Any, props: Mapping[str, Any]) -> str | None:
        options = {o.get("value"): o for o in props.get("options") or ()}
        if not isinstance(value, str):
            return f"expected an option value, got {describe(value)}"
        if value not in options:
            return f"'{value}' is not one of the options ({', '.join(map(str, options))})"
        if options[value].get("active") is False:
            return f"option '{value}' is inactive and cannot be the default"
        return None


class PicklistType(_Choice):
    name = "picklist"
    label = _label("Picklist", "单选列表")

    def check_literal(self, value: Any, props: Mapping[str, Any]) -> str | None:
        return self._option_problem(value, props)

    def column_type(self, field: Any, registry: Any) -> Any:
        return sa.String(64)


class MultiPicklistType(_Choice):
    name = "multi_picklist"
    label = _label("Multi-select picklist", "多选列表")
    formula_type = FormulaType.LIST
    refused_properties = frozenset({"unique"})

    def check_literal(self, value: Any, props: Mapping[str, Any]) -> str | None:
        if not isinstance(value, list):
            return f"expected a list of option values, got {describe(value)}"
        for item in value:
            problem = self._option_problem(item, props)
            if problem:
                return problem
        return None

    def column_type(self, field: Any, registry: Any) -> Any:
        return JSONType  # a list of option values


class LookupType(FieldType):
    name = "lookup"
    label = _label("Lookup", "查找关系")
    formula_type = FormulaType.ID
    properties = frozenset({"target", "on_delete", "related_name", "lookup_filter"})
    required_properties = frozenset({"target"})
    property_defaults = {"on_delete": "set_null"}
    refused_properties = frozenset({"default"})

    def check(self, props: Mapping[str, Any]) -> Iterator[Finding]:
        if props.get("on_delete") == "set_null" and props.get("required"):
            yield ("on_delete",), "a required lookup cannot use on_delete: set_null; use restrict or cascade"

    def column_type(self, field: Any, registry: Any) -> Any:
        return sa.BigInteger()  # the foreign key is added with the table


class MasterDetailType(LookupType):
    name = "master_detail"
    label = _label("Master-detail", "主从关系")
    properties = frozenset({"target", "on_delete", "related_name"})
    property_defaults = {"on_delete": "cascade", "required": True}

    def check(self, props: Mapping[str, Any]) -> Iterator[Finding]:
        if props.get("on_delete") == "set_null":
            yield ("on_delete",), "a master-detail field is always required, so on_delete must be cascade or restrict"
        if props.get("required") is False:
            yield ("required",), "a master-detail field is always required"


_RESULT_TYPES = {
    "text": FormulaType.TEXT, "integer": FormulaType.NUMBER, "decimal": FormulaType.NUMBER,
    "currency": FormulaType.NUMBER, "percent": FormulaType.NUMBER,
    "boolean": FormulaType.BOOLEAN, "date": FormulaType.DATE, "datetime": FormulaType.DATETIME,
}


class FormulaFieldType(FieldType):
    name = "formula"
    label = _label("Formula", "公式")
    formula_type = FormulaType.TEXT
    properties = frozenset({"expression", "result", "scale"})
    required_properties = frozenset({"expression", "result"})
    refused_properties = _COMPUTED_REFUSES | {"unique"}
    computed = True

    def formula_type_of(self, props: Mapping[str, Any]) -> FormulaType:
        return _RESULT_TYPES.get(props.get("result"), FormulaType.TEXT)

    def check(self, props: Mapping[str, Any]) -> Iterator[Finding]:
        if props.get("scale") is not None and props.get("result") not in ("decimal", "currency", "percent"):
            yield ("scale",), f"scale applies to decimal, currency or percent results, not {props.get('result')}"

    def column_type(self, field: Any, registry: Any) -> Any:
        if not field.stored:
            return None  # computed when read
        return _RESULT_COLUMNS[field.result](field)


class AutoNumberType(FieldType):
    name = "auto_number"
    label = _label("Auto number", "自动编号")
    formula_type = FormulaType.TEXT
    properties = frozenset({"pattern", "start"})
    required_properties = frozenset({"pattern"})
    property_defaults = {"start": 1}
    refused_properties = _COMPUTED_REFUSES
    computed = True
    _token = re.compile(r"\{([^{}]*)\}")
    _date_tokens = frozenset({"YYYY", "YY", "MM", "DD"})

    def check(self, props: Mapping[str, Any]) -> Iterator[Finding]:
        pattern = props.get("pattern") or ""
        counters = 0
        for token in self._token.findall(pattern):
            if re.fullmatch(r"0+", token):
                counters += 1
            elif token not in self._date_tokens:
                yield ("pattern",), (
                    f"unknown token '{{{token}}}' in the pattern; use {{YYYY}}, {{YY}}, {{MM}}, {{DD}} "
                    "and one counter such as {0000}"
                )
        if counters != 1:
            yield ("pattern",), (
                f"the pattern needs exactly one counter such as {{0000}}, found {counters}"
            )
        if pattern.count("{") != pattern.count("}"):
            yield ("pattern",), "unbalanced braces in the pattern"

    def column_type(self, field: Any, registry: Any) -> Any:
        return sa.String(64)


class RollupType(FieldType):
    name = "rollup"
    label = _label("Roll-up summary", "汇总")
    formula_type = FormulaType.NUMBER
    properties = frozenset({"object", "field", "aggregate", "relationship", "filter", "scale"})
    required_properties = frozenset({"object", "aggregate"})
    refused_properties = _COMPUTED_REFUSES
    computed = True

    def check(self, props: Mapping[str, Any]) -> Iterator[Finding]:
        if props.get("aggregate") != "count" and not props.get("field"):
            article = "an" if str(props.get("aggregate"))[:1] in "aeiou" else "a"
            yield ("aggregate",), f"{article} {props.get('aggregate')} roll-up needs 'field' (the child field to aggregate)"
        if props.get("aggregate") == "count" and props.get("field"):
            yield ("field",), "a count roll-up counts child records and takes no 'field'"

    def column_type(self, field: Any, registry: Any) -> Any:
        rollup = field.rollup
        if rollup.aggregate == "count":
            return sa.BigInteger()
        child = registry.object(rollup.object).field(rollup.field)
        if rollup.aggregate == "avg":
            return ExactDecimal(18, field.scale if field.scale is not None else max(child.scale or 0, 2))
        return registry.field_types[child.type].column_type(child, registry)


class JsonType(FieldType):
    name = "json"
    label = _label("JSON", "JSON")
    formula_type = FormulaType.JSON
    refused_properties = frozenset({"unique", "indexed"})

    def column_type(self, field: Any, registry: Any) -> Any:
        return JSONType


_RESULT_COLUMNS = {
    "text": lambda f: sa.Text(),
    "integer": lambda f: sa.BigInteger(),
    "decimal": lambda f: ExactDecimal(18, f.scale if f.scale is not None else 2),
    "currency": lambda f: ExactDecimal(18, f.scale if f.scale is not None else 2),
    "percent": lambda f: ExactDecimal(9, f.scale if f.scale is not None else 2),
    "boolean": lambda f: sa.Boolean(),
    "date": lambda f: sa.Date(),
    "datetime": lambda f: UTCDateTime(),
}


BUILTIN_TYPES: tuple[type[FieldType], ...] = (
    TextType, TextareaType, IntegerType, DecimalType, CurrencyType, PercentType, BooleanType,
    DateType, DateTimeType, EmailType, PhoneType, UrlType, PicklistType, MultiPicklistType,
    LookupType, MasterDetailType, FormulaFieldType, AutoNumberType, RollupType, JsonType,
)

RESULT_FIELD_TYPES = _RESULT_TYPES


def register_builtin_types(registry: FieldTypeRegistry) -> None:
    for cls in BUILTIN_TYPES:
        registry.register(cls())
