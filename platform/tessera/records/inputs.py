"""Input schemas: one marshmallow schema per object, generated once per registry.

They turn what callers send (JSON from the API, strings from HTML forms, Python values from
flows and plugins) into the field's Python type — Decimal, date, aware datetime, int, list —
and check everything a single value can be checked for: type, max length, min/max, digits,
option membership, email/url/phone shape. Problems that need the whole record (required,
required_when, lookups existing, validation rules) are checked afterwards by the service.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from marshmallow import Schema, ValidationError, fields

from tessera.metadata.model import FieldDef, ObjectDef

from . import errors as E
from .errors import Problem

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_URL = re.compile(r"^https?://[^\s/$.?#][^\s]*$", re.IGNORECASE)
_PHONE = re.compile(r"^\+?[0-9 ()\-.]{3,40}$")
_INT64_MAX = 2**63 - 1

#: fields callers may set besides the object's own writable fields
WRITABLE_SYSTEM_FIELDS = ("owner_id",)


def _fail(message: str, **params: Any) -> ValidationError:
    return ValidationError(Problem(message, params))  # type: ignore[arg-type]


class _Text(fields.String):
    def __init__(self, field: FieldDef, shape: re.Pattern[str] | None = None, shape_message: str = "") -> None:
        super().__init__(allow_none=True, error_messages={"invalid": Problem(E.NOT_TEXT)})
        self.max_length = field.max_length
        self.shape, self.shape_message = shape, shape_message

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> str | None:
        text = super()._deserialize(value, attr, data, **kwargs)
        if text == "":
            return None  # blank text is stored as NULL, so "is blank" has one meaning
        if self.max_length is not None and len(text) > self.max_length:
            raise _fail(E.TOO_LONG, max=self.max_length)
        if self.shape is not None and not self.shape.match(text.strip()):
            raise _fail(self.shape_message)
        return text.strip() if self.shape is not None else text


class _Integer(fields.Field):
    def __init__(self, field: FieldDef | None) -> None:
        super().__init__(allow_none=True)
        self.low = field.min if field else None
        self.high = field.max if field else None

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> int | None:
        if value is None or value == "":
            return None
        if isinstance(value, bool):
            raise _fail(E.NOT_A_WHOLE_NUMBER)
        try:
            number = Decimal(str(value).strip()) if not isinstance(value, int) else Decimal(value)
        except InvalidOperation:
            raise _fail(E.NOT_A_WHOLE_NUMBER) from None
        if not number.is_finite() or number != number.to_integral_value():
            raise _fail(E.NOT_A_WHOLE_NUMBER)
        _check_range(number, self.low, self.high)
        if abs(number) > _INT64_MAX:  # the column is 64-bit
            raise _fail(E.ABOVE_MAX, max=_INT64_MAX) if number > 0 else _fail(E.BELOW_MIN, min=-_INT64_MAX)
        return int(number)


class _Decimal(fields.Field):
    def __init__(self, field: FieldDef) -> None:
        super().__init__(allow_none=True)
        self.scale = field.scale if field.scale is not None else 2
        self.precision = field.precision or 18
        self.quantum = Decimal(1).scaleb(-self.scale)
        self.low, self.high = field.min, field.max

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Decimal | None:
        if value is None or value == "":
            return None
        if isinstance(value, bool) or isinstance(value, list | dict):
            raise _fail(E.NOT_A_NUMBER)
        try:
            number = Decimal(str(value).strip().replace(",", "")) if not isinstance(value, Decimal) else value
        except InvalidOperation:
            raise _fail(E.NOT_A_NUMBER) from None
        if not number.is_finite():
            raise _fail(E.NOT_A_NUMBER)
        digits = self.precision - self.scale
        if number.adjusted() >= digits:  # checked before rounding: 1e400 cannot be quantized
            raise _fail(E.TOO_MANY_DIGITS, digits=digits)
        number = number.quantize(self.quantum, rounding=ROUND_HALF_UP)  # documented: rounds to scale
        if abs(number) >= Decimal(10) ** digits:
            raise _fail(E.TOO_MANY_DIGITS, digits=digits)
        _check_range(number, self.low, self.high)
        return number


def _check_range(number: Decimal, low: Any, high: Any) -> None:
    if low is not None and number < Decimal(str(low)):
        raise _fail(E.BELOW_MIN, min=low)
    if high is not None and number > Decimal(str(high)):
        raise _fail(E.ABOVE_MAX, max=high)


class _Boolean(fields.Boolean):
    def __init__(self) -> None:
        super().__init__(allow_none=True, error_messages={"invalid": Problem(E.NOT_TRUE_FALSE)})

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> bool | None:
        if value == "":
            return None
        return super()._deserialize(value, attr, data, **kwargs)


class _Date(fields.Field):
    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> dt.date | None:
        if value is None or value == "":
            return None
        if isinstance(value, dt.datetime):
            raise _fail(E.NOT_A_DATE)
        if isinstance(value, dt.date):
            return value
        try:
            return dt.date.fromisoformat(str(value).strip())
        except ValueError:
            raise _fail(E.NOT_A_DATE) from None


class _DateTime(fields.Field):
    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> dt.datetime | None:
        if value is None or value == "":
            return None
        if not isinstance(value, dt.datetime):
            try:
                value = dt.datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
            except ValueError:
                raise _fail(E.NOT_A_DATETIME) from None
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)  # documented: naive input is UTC
        return value.astimezone(dt.UTC)


class _Choice(fields.Field):
    def __init__(self, field: FieldDef) -> None:
        super().__init__(allow_none=True)
        self.values = frozenset(o.value for o in field.options)

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> str | None:
        if value is None or value == "":
            return None
        if not isinstance(value, str) or value not in self.values:
            raise _fail(E.NOT_AN_OPTION, value=value)
        return value


class _MultiChoice(fields.Field):
    def __init__(self, field: FieldDef) -> None:
        super().__init__(allow_none=True)
        self.order = {o.value: i for i, o in enumerate(field.options)}

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> list[str] | None:
        if value is None or value == "" or value == []:
            return None
        if isinstance(value, str):
            value = [part.strip() for part in value.split(";") if part.strip()]
        if not isinstance(value, list | tuple):
            raise _fail(E.NOT_A_LIST)
        for item in value:
            if item not in self.order:
                raise _fail(E.NOT_AN_OPTION, value=item)
        return sorted(set(value), key=self.order.__getitem__)  # stored in option order, once each


class _RecordId(fields.Field):
    def __init__(self, target: str) -> None:
        super().__init__(allow_none=True)
        self.target = target

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> int | None:
        if value is None or value == "":
            return None
        if isinstance(value, Mapping) and "id" in value:
            value = value["id"]
        if isinstance(value, bool):
            raise _fail(E.NOT_A_RECORD_ID, object=self.target)
        try:
            number = int(str(value).strip()) if not isinstance(value, int) else value
        except ValueError:
            raise _fail(E.NOT_A_RECORD_ID, object=self.target) from None
        if number <= 0 or number > _INT64_MAX:
            raise _fail(E.NOT_A_RECORD_ID, object=self.target)
        return number


def input_field(field: FieldDef, field_type: Any = None) -> fields.Field | None:
    """The marshmallow field that reads ``field`` from input; None when it is not writable.
    Types other than the built-in ones bring their own reader (``FieldType.input_field``)."""
    kind = field.type
    if field.computed:
        return None
    if kind in ("text", "textarea"):
        return _Text(field)
    if kind == "email":
        return _Text(field, _EMAIL, E.NOT_AN_EMAIL)
    if kind == "url":
        return _Text(field, _URL, E.NOT_A_URL)
    if kind == "phone":
        return _Text(field, _PHONE, E.NOT_A_PHONE)
    if kind == "integer":
        return _Integer(field)
    if kind in ("decimal", "currency", "percent"):
        return _Decimal(field)
    if kind == "boolean":
        return _Boolean()
    if kind == "date":
        return _Date(allow_none=True)
    if kind == "datetime":
        return _DateTime(allow_none=True)
    if kind == "picklist":
        return _Choice(field)
    if kind == "multi_picklist":
        return _MultiChoice(field)
    if kind in ("lookup", "master_detail"):
        return _RecordId(field.target or "")
    if kind == "json":
        return fields.Raw(allow_none=True)
    return field_type.input_field(field) if field_type is not None else None


#: how many field sets one object keeps a schema for (RecordInput._schema_for)
_MAX_SCHEMAS = 256


class RecordInput:
    """Reads input for one object: which keys are writable, and their conversion."""

    def __init__(self, obj: ObjectDef, field_types: Any = None) -> None:
        self.object = obj
        declared: dict[str, fields.Field] = {}
        self.read_only: set[str] = set()
        for field in obj.fields.values():
            if field.system:
                if field.name in WRITABLE_SYSTEM_FIELDS:
                    declared[field.name] = _RecordId("user")
                else:
                    self.read_only.add(field.name)
                continue
            reader = input_field(field, field_types.get(field.type) if field_types is not None else None)
            if reader is None or field.read_only:
                self.read_only.add(field.name)
            if reader is not None:
                declared[field.name] = reader
        self.schema: Schema = Schema.from_dict(declared, name=f"{obj.name}_input")()
        self.writable = frozenset(declared) - self.read_only
        self._declared = declared
        self._schemas: dict[frozenset[str], Schema] = {}

    def load(self, data: Mapping[str, Any], *, allow_read_only: bool = False
             ) -> tuple[dict[str, Any], dict[str, list[Problem]]]:
        """Convert ``data``; returns (values, problems by field). Unknown and read-only keys
        are problems too, so a caller learns every mistake at once."""
        problems: dict[str, list[Problem]] = {}
        accepted: dict[str, Any] = {}
        for key, value in data.items():
            if key not in self.object.fields:
                problems.setdefault(key, []).append(Problem(E.UNKNOWN_FIELD, {"name": key}))
            elif key in self.read_only and not (allow_read_only and key in self.schema.fields):
                problems.setdefault(key, []).append(Problem(E.READ_ONLY))
            else:
                accepted[key] = value
        try:
            values = self._schema_for(accepted).load(accepted, partial=True)
        except ValidationError as exc:
            values = exc.valid_data or {}
            for key, messages in exc.normalized_messages().items():
                items = messages if isinstance(messages, list) else [messages]
                problems.setdefault(key, []).extend(
                    m if isinstance(m, Problem) else Problem(E.INVALID_VALUE) for m in items)
        return dict(values), problems

    def _schema_for(self, keys: Mapping[str, Any]) -> Schema:
        """The schema of just these fields. marshmallow visits every declared field on each
        load, partial or not: an update of one field of a 40-field object paid for all 40.
        Kept per set of fields (the sets clients send are few; past _MAX_SCHEMAS, the whole)."""
        wanted = frozenset(keys)
        schema = self._schemas.get(wanted)
        if schema is None:
            if len(self._schemas) >= _MAX_SCHEMAS or not wanted <= self._declared.keys():
                return self.schema
            schema = Schema.from_dict({name: self._declared[name] for name in wanted},
                                      name=f"{self.object.name}_input")()
            self._schemas[wanted] = schema
        return schema
