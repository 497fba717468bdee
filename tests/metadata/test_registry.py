"""The compiled registry: the bundled packages, immutability, and the seams plugins use."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from decimal import Decimal
from typing import Any, ClassVar

import pytest
from jsonschema import Draft202012Validator

from tessera.expressions import EvalContext, FormulaType
from tessera.fieldtypes import FieldType, default_field_types
from tessera.metadata.errors import MetadataError
from tessera.metadata.registry import build_org_registry
from tessera.metadata.schema import KINDS, SchemaSet, _raw_schema
from tessera.metadata.validate import validate_paths


@pytest.fixture(scope="module")
def l2c():
    return build_org_registry(["l2c"])


def test_bundled_packages_validate_without_problems():
    report = validate_paths([])
    assert [str(p) for p in report.problems] == []
    assert "l2c" in report.summary()


def test_every_object_field_and_option_is_labelled_in_english_and_chinese(l2c):
    missing = []
    for obj in l2c.objects.values():
        for text, where in [(obj.label, obj.name), (obj.plural_label, f"{obj.name} (plural)")]:
            if not (text.values.get("en") and text.values.get("zh-CN")):
                missing.append(where)
        for field in obj.fields.values():
            if not (field.label.values.get("en") and field.label.values.get("zh-CN")):
                missing.append(f"{obj.name}.{field.name}")
            for option in field.options:
                if not (option.label.values.get("en") and option.label.values.get("zh-CN")):
                    missing.append(f"{obj.name}.{field.name}={option.value}")
    assert missing == []


def test_labels_pick_the_locale_and_fall_back_to_english(l2c):
    label = l2c.object("opportunity").label
    assert label("zh-CN") == "商机"
    assert label("en") == "Opportunity"
    assert label("fr") == "Opportunity"


def test_the_registry_cannot_be_changed_after_it_is_built(l2c):
    opportunity = l2c.object("opportunity")
    with pytest.raises(TypeError):
        l2c.objects["x"] = opportunity  # type: ignore[index]
    with pytest.raises(TypeError):
        opportunity.fields["x"] = opportunity.fields["amount"]  # type: ignore[index]
    with pytest.raises(dataclasses.FrozenInstanceError):
        opportunity.name = "deal"  # type: ignore[misc]


def test_formula_fields_arrive_compiled_and_evaluate_with_decimals(l2c):
    weighted = l2c.object("opportunity").field("weighted_amount")
    assert weighted.formula is not None and weighted.formula_type is FormulaType.NUMBER
    assert weighted.formula(EvalContext({"amount": Decimal("1000.50"), "probability": 30})) == Decimal("300.15")


def test_unknown_object_names_suggest_the_closest(l2c):
    with pytest.raises(KeyError, match="did you mean 'opportunity'"):
        l2c.object("oportunity")


def test_a_formula_through_a_broken_lookup_reports_only_the_lookup(write_package, tmp_path):
    write_package("base", {"objects/thing.yaml": """
        name: thing
        label: {en: Thing, zh-CN: 物品}
        plural_label: {en: Things, zh-CN: 物品}
        fields:
          name: {type: text, label: {en: Name, zh-CN: 名称}}
          owner_account: {type: lookup, target: acount, label: {en: Account, zh-CN: 客户}}
          shown: {type: formula, result: text, expression: owner_account.name, label: {en: S, zh-CN: 显示}}
        """})
    with pytest.raises(MetadataError) as raised:
        build_org_registry(["base"], search_paths=[tmp_path])
    assert [p.message for p in raised.value.problems] == ["'acount' is not an object"]


@pytest.mark.parametrize("kind", [*KINDS, "common"])
def test_each_shipped_schema_is_a_valid_2020_12_schema(kind):
    Draft202012Validator.check_schema(_raw_schema(kind))


class RatingType(FieldType):
    """A plugin-style field type: stars from 1 to ``stars``."""

    name = "rating"
    label: ClassVar[Mapping[str, str]] = {"en": "Rating", "zh-CN": "评分"}
    formula_type = FormulaType.NUMBER
    properties = frozenset({"stars"})
    property_defaults: ClassVar[Mapping[str, Any]] = {"stars": 5}
    property_schema: ClassVar[Mapping[str, Any]] = {"stars": {"type": "integer", "minimum": 1, "maximum": 10}}

    def check(self, props: Mapping[str, Any]) -> Iterator[tuple[tuple[Any, ...], str]]:
        if props.get("min") is not None:
            yield ("min",), "unreachable"


def test_a_registered_field_type_joins_the_schema_and_the_compiler(write_package, tmp_path):
    types = default_field_types()
    types.register(RatingType())
    assert "rating" in SchemaSet(types).schema("object")["$defs"]["field"]["properties"]["type"]["enum"]
    write_package("base", {"objects/review.yaml": """
        name: review
        label: {en: Review, zh-CN: 评价}
        plural_label: {en: Reviews, zh-CN: 评价}
        fields:
          name: {type: text, label: {en: Name, zh-CN: 名称}}
          score: {type: rating, stars: 7, label: {en: Score, zh-CN: 评分}}
          good: {type: formula, result: boolean, expression: score >= 4, label: {en: Good, zh-CN: 好评}}
        """})
    registry = build_org_registry(["base"], search_paths=[tmp_path], field_types=types)
    assert registry.object("review").field("score").props["stars"] == 7
    with pytest.raises(MetadataError, match="'rating' is not one of"):
        build_org_registry(["base"], search_paths=[tmp_path])  # without the type registered


def test_registering_a_field_type_twice_is_refused():
    types = default_field_types()
    with pytest.raises(ValueError, match="'text' is already registered"):
        types.register(default_field_types()["text"])
