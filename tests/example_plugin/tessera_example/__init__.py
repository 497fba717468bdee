"""An example plugin: a field type, a formula function, a record action, a before_save rule,
a metadata package, a blueprint and a template folder — one of each kind of extension."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any, ClassVar

import sqlalchemy as sa
from flask import Blueprint, render_template
from marshmallow import ValidationError, fields

from tessera.expressions import FormulaType, FunctionSpec
from tessera.fieldtypes import FieldType
from tessera.hookspecs import hookimpl
from tessera.metadata.model import Label
from tessera.records import Problem
from tessera.records.actions import ActionCall, ActionDef

HERE = Path(__file__).parent


class _RatingInput(fields.Field):
    def __init__(self, stars: int) -> None:
        super().__init__(allow_none=True)
        self.stars = stars

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> int | None:
        if value is None or value == "":
            return None
        if isinstance(value, bool) or not str(value).isdigit() or not 1 <= int(value) <= self.stars:
            raise ValidationError(Problem(_label(self.stars)))  # type: ignore[arg-type]
        return int(value)


def _label(stars: int) -> Label:
    return Label.of({"en": f"Give 1 to {stars} stars.", "zh-CN": f"请给出 1 到 {stars} 颗星。"})


class RatingType(FieldType):
    """A star rating from 1 to ``stars``."""

    name = "rating"
    label: ClassVar[Mapping[str, str]] = {"en": "Rating", "zh-CN": "评分"}
    formula_type = FormulaType.NUMBER
    properties = frozenset({"stars"})
    property_defaults: ClassVar[Mapping[str, Any]] = {"stars": 5}
    property_schema: ClassVar[Mapping[str, Any]] = {"stars": {"type": "integer", "minimum": 1, "maximum": 10}}

    def column_type(self, field: Any, registry: Any) -> Any:
        return sa.SmallInteger()

    def input_field(self, field: Any) -> Any:
        return _RatingInput(int(field.props.get("stars", 5)))


def _stars(value: Decimal) -> str:
    filled = max(0, min(5, int(value)))
    return "★" * filled + "☆" * (5 - filled)


def _escalate(call: ActionCall) -> dict[str, Any]:
    record = call.work.update("gadget", call.record["id"],
                              {"priority": "high", "escalation_reason": call.input["reason"]},
                              version=call.record["version"])
    return {"priority": record["priority"], "version": record["version"]}


bp = Blueprint("example", __name__, url_prefix="/example")


@bp.get("/hello")
def hello() -> str:
    return render_template("example_hello.html", message="Hello from the example plugin")


@hookimpl
def tessera_metadata_packages() -> list[Path]:
    return [HERE / "metadata" / "example_gadgets"]


@hookimpl
def tessera_register_field_types() -> list[FieldType]:
    return [RatingType()]


@hookimpl
def tessera_register_formula_functions() -> list[FunctionSpec]:
    return [FunctionSpec("STARS", _stars, (FormulaType.NUMBER,), FormulaType.TEXT,
                         doc="STARS(n): n filled stars out of five, as text.")]


@hookimpl
def tessera_register_actions() -> list[ActionDef]:
    return [ActionDef(
        "escalate", {"en": "Escalate", "zh-CN": "升级"}, _escalate, objects=("gadget",),
        input_schema={"type": "object", "required": ["reason"], "additionalProperties": False,
                      "properties": {"reason": {"type": "string", "maxLength": 200}}},
        description="Raise the gadget's priority, saying why.")]


@hookimpl
def tessera_record_before_save(object, record):
    if object.name == "gadget" and record.get("status") == "published" and (record.get("rating") or 0) < 2:
        return {"rating": {"en": "A published gadget needs at least 2 stars.", "zh-CN": "已发布的小工具至少需要 2 颗星。"}}
    return None


@hookimpl
def tessera_record_after_save(object, record):
    if object.name == "gadget" and record.get("name") == "explode":
        raise RuntimeError("the example plugin refuses to save a gadget called 'explode'")


@hookimpl
def tessera_register_blueprints() -> list[Blueprint]:
    return [bp]


@hookimpl
def tessera_template_folders() -> list[Path]:
    return [HERE / "templates"]
