"""Run-time value helpers: the decimal context, coercion of record values into the
formula types, text conversion and blank tests.

Record values arrive from many places (database rows, JSON, tests), so reading a
field coerces what it finds into the field's formula type once, and everything after
that can rely on exact Python types (``Decimal`` for numbers and so on).
"""

from __future__ import annotations

import decimal
import re
from collections.abc import Callable, Mapping
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any

from .errors import FormulaEvaluationError
from .types import FormulaType

__all__ = [
    "CTX",
    "Coercer",
    "coercer_for",
    "fast_class_for",
    "to_text",
    "number_text",
    "is_blank",
    "same_value",
    "parse_number",
    "describe_exception",
]

#: The decimal context used for all formula arithmetic. It is never installed as the
#: thread's current context: operations call its methods (``CTX.add`` ...) directly.
#: 34 significant digits; magnitudes beyond 1E+999 trap as Overflow ("number too large").
CTX = decimal.Context(
    prec=34,
    rounding=decimal.ROUND_HALF_EVEN,
    Emax=999,
    Emin=-999,
    capitals=1,
    clamp=0,
    flags=[],
    traps=[decimal.InvalidOperation, decimal.DivisionByZero, decimal.Overflow],
)

_NUMBER_TEXT = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d{1,6})?")

Coercer = Callable[[Any, str], Any]


def _show(value: Any) -> str:
    text = repr(value) if not isinstance(value, str) else f"'{value}'"
    return text if len(text) <= 40 else text[:37] + "..."


def _bad(value: Any, what: str, kind: str) -> FormulaEvaluationError:
    return FormulaEvaluationError(f"{what} holds {_show(value)}, which is not {kind}")


def parse_number(text: str) -> Decimal | None:
    """Read text as a number the way VALUE() does; None if it is not one."""
    text = text.strip()
    if not _NUMBER_TEXT.fullmatch(text):
        return None
    return CTX.create_decimal(text)


def _number(value: Any, what: str) -> Decimal | None:
    if value is None or type(value) is Decimal:
        return value
    if isinstance(value, bool):
        raise _bad(value, what, "a number")
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise _bad(value, what, "a number")
        return Decimal(str(value))
    if isinstance(value, Decimal):
        return Decimal(value)
    if isinstance(value, str):
        if not value.strip():
            return None
        number = parse_number(value)
        if number is None:
            raise _bad(value, what, "a number")
        return number
    raise _bad(value, what, "a number")


def _text(value: Any, what: str) -> str | None:
    if value is None or type(value) is str:
        return value
    if isinstance(value, str):
        return str(value)
    if isinstance(value, (list, tuple, dict, set, frozenset)):
        raise _bad(value, what, "text")
    return to_text(_scalar(value))


def _boolean(value: Any, what: str) -> bool | None:
    if value is None or type(value) is bool:
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in ("true", "false"):
            return lowered == "true"
        if not lowered:
            return None
    raise _bad(value, what, "true or false")


def _date(value: Any, what: str) -> date | None:
    if value is None or type(value) is date:
        return value
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return date(value.year, value.month, value.day)
    if isinstance(value, str):
        if not value.strip():
            return None
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            try:
                return datetime.fromisoformat(value.strip()).date()
            except ValueError:
                pass
    raise _bad(value, what, "a date")


def _datetime(value: Any, what: str) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=timezone.utc)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=timezone.utc)
    if isinstance(value, str):
        if not value.strip():
            return None
        try:
            return _datetime(datetime.fromisoformat(value.strip()), what)
        except ValueError:
            pass
    raise _bad(value, what, "a date and time")


def _list(value: Any, what: str) -> tuple[str, ...] | None:
    if value is None or type(value) is tuple:
        return value
    if isinstance(value, str):
        return (value,) if value else ()
    if isinstance(value, (list, tuple)):
        return tuple(value)
    if isinstance(value, (set, frozenset)):
        return tuple(sorted(value))
    raise _bad(value, what, "a list of values")


def _id(value: Any, what: str) -> Any:
    if value is None or type(value) is int:
        return value
    if isinstance(value, Mapping):
        return _id(value.get("id"), what)
    if isinstance(value, bool):
        raise _bad(value, what, "a record id")
    if isinstance(value, int):
        return int(value)
    if isinstance(value, str):
        stripped = value.strip()
        if not stripped:
            return None
        return int(stripped) if stripped.isdigit() else stripped
    raise _bad(value, what, "a record id")


def _json(value: Any, what: str) -> Any:
    return value


def _null(value: Any, what: str) -> Any:
    return value


def _scalar(value: Any) -> Any:
    """Best-effort normalisation of an untyped scalar (used for text conversion)."""
    if isinstance(value, (bool, str, date)) or value is None:
        return value
    if isinstance(value, (int, float, Decimal)):
        return _number(value, "value")
    return str(value)


_COERCERS: dict[FormulaType, Coercer] = {
    FormulaType.NUMBER: _number,
    FormulaType.TEXT: _text,
    FormulaType.BOOLEAN: _boolean,
    FormulaType.DATE: _date,
    FormulaType.DATETIME: _datetime,
    FormulaType.LIST: _list,
    FormulaType.JSON: _json,
    FormulaType.ID: _id,
    FormulaType.NULL: _null,
}

_FAST_CLASS: dict[FormulaType, type | None] = {
    FormulaType.NUMBER: Decimal,
    FormulaType.TEXT: str,
    FormulaType.BOOLEAN: bool,
    FormulaType.DATE: date,
    FormulaType.DATETIME: None,  # needs the time-zone check
    FormulaType.LIST: tuple,
    FormulaType.JSON: None,
    FormulaType.ID: int,
    FormulaType.NULL: None,
}


def coercer_for(ftype: FormulaType) -> Coercer:
    """The function turning a raw record value into ``ftype`` (or raising a
    FormulaEvaluationError naming the field). Called as ``coerce(value, "field 'x'")``."""
    return _COERCERS[ftype]


def fast_class_for(ftype: FormulaType) -> type | None:
    """The exact Python class a raw value may already have to skip coercion."""
    return _FAST_CLASS[ftype]


def number_text(value: Decimal) -> str:
    """Plain notation without exponent or trailing fractional zeros: 150.00 -> '150'."""
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    if text in ("-0", "-"):
        text = "0"
    return text


def to_text(value: Any) -> str:
    """Convert a scalar formula value to text, as TEXT() and ``&`` do. NULL becomes ''."""
    cls = value.__class__
    if cls is str:
        return value
    if value is None:
        return ""
    if cls is Decimal:
        return number_text(value)
    if cls is bool:
        return "TRUE" if value else "FALSE"
    if isinstance(value, datetime):
        text = value.isoformat()
        return text[:-6] + "Z" if text.endswith("+00:00") else text
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (int, float)):
        return number_text(_number(value, "value"))
    return str(value)


def is_blank(value: Any) -> bool:
    """NULL, the empty string, an empty list and an empty JSON object/array are blank."""
    if value is None:
        return True
    if isinstance(value, (str, tuple, list, dict, set, frozenset)):
        return not value
    return False


def same_value(a: Any, b: Any) -> bool:
    """Equality used by ISCHANGED: blanks are equal, lists ignore order."""
    if is_blank(a) or is_blank(b):
        return is_blank(a) and is_blank(b)
    if isinstance(a, tuple) and isinstance(b, tuple):
        return sorted(a) == sorted(b)
    return a == b


def describe_exception(exc: BaseException) -> str:
    """Turn an arithmetic/date exception into words for administrators."""
    if isinstance(exc, decimal.Overflow):
        return "number too large"
    if isinstance(exc, decimal.DivisionByZero):
        return "division by zero"
    if isinstance(exc, decimal.DecimalException):
        return "the number is out of range for this operation"
    if isinstance(exc, OverflowError):
        return "date or number out of range"
    return str(exc) or "unexpected problem"
