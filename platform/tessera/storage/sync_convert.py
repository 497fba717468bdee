"""Schema sync, part 2: what a column type change does to each value.

One function per change decides, for every stored value, the value it becomes and whether
anything is lost. The planner uses it to count the rows a change would affect (and refuses
the change when there are any, unless forced); the apply step uses the very same function to
write the values, so what was counted is exactly what happens.

Loss is judged strictly: text becomes a number only when it is a plain number (``12``,
``-3.50``; not ``007`` or ``12 kg``), a decimal keeps its value only when no digit is rounded
away and it fits the new precision, text fits only when it is not longer than the new length.
Under ``--allow-destructive`` a lossy value is truncated or rounded when that is possible, and
otherwise becomes blank (NULL).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from .sync_live import INT64_MAX, Shape

Converter = Callable[[Any], tuple[Any, bool]]  # value -> (new value, nothing lost)

_PLAIN_INTEGER = re.compile(r"^-?(0|[1-9][0-9]*)$")
_PLAIN_DECIMAL = re.compile(r"^-?(0|[1-9][0-9]*)(\.[0-9]+)?$")
_TRUE = frozenset({"true", "t", "yes", "y", "1"})
_FALSE = frozenset({"false", "f", "no", "n", "0"})


def converter(old: Shape, new: Shape, *, sqlite: bool, to_list: bool = False) -> Converter | None:
    """The value conversion from ``old`` to ``new`` (None when Tessera cannot convert it).
    ``to_list``: the new field holds a list of option values (a multi-select picklist)."""
    if "other" in (old.kind, new.kind):
        return None
    to = _TARGETS[new.kind]

    def convert(value: Any) -> tuple[Any, bool]:
        if value is None:
            return None, True
        return to(_unwrap(value) if new.kind != "json" else value, new, sqlite, to_list)

    return convert


def _unwrap(value: Any) -> Any:
    """A JSON list of one scalar (a multi-select with one option) reads as that scalar."""
    if isinstance(value, list) and len(value) == 1 and not isinstance(value[0], list | dict):
        return value[0]
    if isinstance(value, list) and not value:
        return ""
    if isinstance(value, float):
        return Decimal(repr(value))
    return value


def _to_string(value: Any, new: Shape, sqlite: bool, to_list: bool) -> tuple[Any, bool]:
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, Decimal):
        text = format(value, "f")
    elif isinstance(value, dt.datetime | dt.date):
        text = value.isoformat()
    elif isinstance(value, list | dict):
        text = json.dumps(value, ensure_ascii=False)
    else:
        text = str(value)
    if text == "":
        return None, True
    if new.length is not None and len(text) > new.length:
        return text[:new.length], False
    return text, True


def _number(value: Any) -> tuple[Decimal | None, bool]:
    """A value as a Decimal, and whether it was a plain number."""
    if isinstance(value, bool):
        return Decimal(int(value)), True
    if isinstance(value, int | Decimal):
        return Decimal(value), True
    if isinstance(value, str):
        text = value.strip()
        if text == "":
            return None, True
        try:
            number = Decimal(text)
        except InvalidOperation:
            return None, False
        if not number.is_finite():
            return None, False
        return number, bool(_PLAIN_DECIMAL.match(text))
    return None, False


def _to_integer(value: Any, new: Shape, sqlite: bool, to_list: bool) -> tuple[Any, bool]:
    number, plain = _number(value)
    if number is None:
        return None, plain
    if isinstance(value, str) and not _PLAIN_INTEGER.match(value.strip()):
        plain = False
    rounded = number.to_integral_value(rounding=ROUND_HALF_UP)
    limit = 2 ** (new.bits - 1)
    if abs(rounded) >= limit:
        return None, False
    return int(rounded), plain and rounded == number


def _to_decimal(value: Any, new: Shape, sqlite: bool, to_list: bool) -> tuple[Any, bool]:
    number, plain = _number(value)
    if number is None:
        return None, plain
    scale = new.scale or 0
    precision = new.precision or 18
    rounded = number.quantize(Decimal(1).scaleb(-scale), rounding=ROUND_HALF_UP)
    if abs(rounded) >= Decimal(10) ** (precision - scale):
        return None, False
    if sqlite and abs(int(rounded.scaleb(scale))) > INT64_MAX:
        return None, False
    return rounded, plain and rounded == number


def _to_boolean(value: Any, new: Shape, sqlite: bool, to_list: bool) -> tuple[Any, bool]:
    if isinstance(value, bool):
        return value, True
    if isinstance(value, int | Decimal):
        return (bool(value), True) if value in (0, 1) else (None, False)
    if isinstance(value, str):
        word = value.strip().lower()
        if word == "":
            return None, True
        if word in _TRUE:
            return True, True
        if word in _FALSE:
            return False, True
    return None, False


def _to_date(value: Any, new: Shape, sqlite: bool, to_list: bool) -> tuple[Any, bool]:
    if isinstance(value, dt.datetime):
        return value.date(), value.timetz().replace(tzinfo=None) == dt.time()
    if isinstance(value, dt.date):
        return value, True
    if isinstance(value, str):
        text = value.strip()
        if text == "":
            return None, True
        try:
            day = dt.date.fromisoformat(text)
            return day, day.isoformat() == text
        except ValueError:
            pass
        try:
            return dt.datetime.fromisoformat(text).date(), False
        except ValueError:
            return None, False
    return None, False


def _to_datetime(value: Any, new: Shape, sqlite: bool, to_list: bool) -> tuple[Any, bool]:
    if isinstance(value, dt.datetime):
        return value, True
    if isinstance(value, dt.date):
        return dt.datetime.combine(value, dt.time(), tzinfo=dt.UTC), True
    if isinstance(value, str):
        text = value.strip()
        if text == "":
            return None, True
        try:
            moment = dt.datetime.fromisoformat(text)
        except ValueError:
            return None, False
        return (moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)), True
    return None, False


def _to_json(value: Any, new: Shape, sqlite: bool, to_list: bool) -> tuple[Any, bool]:
    if isinstance(value, Decimal):
        value = int(value) if value == value.to_integral_value() else str(value)
    elif isinstance(value, dt.datetime | dt.date):
        value = value.isoformat()
    if to_list:
        if isinstance(value, list):
            return value, True
        if value == "":
            return [], True
        return [value if isinstance(value, str) else json.dumps(value)], True
    return value, True


_TARGETS: dict[str, Callable[[Any, Shape, bool, bool], tuple[Any, bool]]] = {
    "string": _to_string, "integer": _to_integer, "decimal": _to_decimal, "boolean": _to_boolean,
    "date": _to_date, "datetime": _to_datetime, "json": _to_json,
}


def loss_phrase(old: Shape, new: Shape) -> str:
    """What the affected rows have, in words: '12 rows have <phrase>'."""
    if old.kind == new.kind == "string":
        return f"values longer than {new.length} characters"
    if old.numeric and new.numeric:
        parts = []
        if new.digits_scale < old.digits_scale:
            places = new.digits_scale
            parts.append("a fraction" if new.kind == "integer" else
                         f"more than {places} decimal place{'s' if places != 1 else ''}")
        if _integer_digits(new) < _integer_digits(old) or not parts:
            parts.append(f"values too large for {new}")
        return " or ".join(parts)
    if new.kind in ("integer", "decimal"):
        kind = "whole numbers" if new.kind == "integer" else f"plain numbers that fit {new}"
        return f"values that are not {kind}"
    if new.kind == "string":
        return f"values longer than {new.length} characters once written as text"
    if new.kind == "date":
        return "values that are not dates (YYYY-MM-DD)"
    if new.kind == "datetime":
        return "values that are not dates and times"
    if new.kind == "boolean":
        return "values that are not true or false"
    return f"values that cannot become {new}"


def force_effect(old: Shape, new: Shape) -> str:
    """What --allow-destructive does to the affected rows."""
    if old.kind == new.kind == "string":
        return f"truncates them to {new.length} characters"
    if old.numeric and new.numeric:
        return "rounds them (values too large become blank)"
    if new.kind == "string":
        return "truncates them"
    return "converts what it can and leaves the rest blank"


def _integer_digits(shape: Shape) -> int:
    if shape.kind == "integer":
        return 19 if shape.bits == 64 else (10 if shape.bits == 32 else 5)
    return (shape.precision or 18) - (shape.scale or 0)


def is_safe_widening(old: Shape, new: Shape, *, sqlite: bool) -> bool:
    """True when every value of ``old`` fits ``new`` unchanged (no need to count rows)."""
    if old.kind == new.kind == "string":
        return new.length is None or (old.length is not None and new.length >= old.length)
    if old.kind == new.kind == "integer":
        return new.bits >= old.bits
    if old.numeric and new.kind == "decimal":
        fits = new.digits_scale >= old.digits_scale and _integer_digits(new) >= _integer_digits(old)
        return fits and (not sqlite or (new.precision or 18) <= 18)
    return False
