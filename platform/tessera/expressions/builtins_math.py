"""Number functions: ROUND, ABS, FLOOR, CEILING, MOD, MIN, MAX.

All arithmetic runs in the formula decimal context (see values.CTX). NULL arguments
give NULL, except MIN/MAX, which ignore blank arguments.
"""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from .errors import FormulaEvaluationError
from .registry import FunctionSpec, common_type
from .types import SCALAR, FormulaType
from .values import CTX

N = FormulaType.NUMBER
_ORDERED = frozenset({N, FormulaType.TEXT, FormulaType.DATE, FormulaType.DATETIME})
_QUANTA = {places: Decimal(1).scaleb(-places) for places in range(-6, 11)}


def _round(value: Decimal, digits: Decimal = Decimal(0)) -> Decimal:
    """Round half away from zero (2.5 -> 3, -2.5 -> -3) to ``digits`` decimals;
    negative digits round to tens, hundreds..."""
    places = int(digits)
    if abs(places) > 1000:
        raise FormulaEvaluationError("ROUND's number of digits must be between -1000 and 1000")
    quantum = _QUANTA.get(places) or Decimal(1).scaleb(-places)
    try:
        result = value.quantize(quantum, rounding=ROUND_HALF_UP, context=CTX)
    except InvalidOperation:
        # the result would need more than 34 digits: fine if value has no more decimals
        # than asked for (ROUND(10^30, 10)), since it then needs no rounding at all
        exponent = value.as_tuple().exponent
        if isinstance(exponent, int) and exponent >= -places:
            return value
        raise
    if places < 0:  # show 1200, not 1.2E+3
        result = result.quantize(Decimal(1), context=CTX)
    return result


def _mod(a: Decimal, b: Decimal) -> Decimal | None:
    """Remainder with the sign of the divisor (as in spreadsheets): MOD(-3, 2) = 1."""
    if not b:
        return None
    result = CTX.remainder(a, b)
    if result and (result < 0) != (b < 0):
        result = CTX.add(result, b)
    return result


def _blank(value: Any) -> bool:
    return value is None or value == ""


def _min(*values: Any) -> Any:
    present = [v for v in values if not _blank(v)]
    return min(present) if present else None


def _max(*values: Any) -> Any:
    present = [v for v in values if not _blank(v)]
    return max(present) if present else None


def _extreme_type(name: str) -> Any:
    return lambda t: common_type(name, t, range(len(t)), "arguments", _ORDERED)


SPECS = [
    FunctionSpec("ROUND", _round, (N, N), N, min_args=1,
                 doc="ROUND(number, digits): rounded half away from zero to digits decimals "
                 "(default 0; negative digits round to tens, hundreds...)."),
    FunctionSpec("ABS", lambda a: CTX.abs(a), (N,), N, doc="ABS(number): absolute value."),
    FunctionSpec("FLOOR", lambda a: a.to_integral_value(ROUND_FLOOR, CTX), (N,), N,
                 doc="FLOOR(number): the nearest whole number at or below."),
    FunctionSpec("CEILING", lambda a: a.to_integral_value(ROUND_CEILING, CTX), (N,), N,
                 doc="CEILING(number): the nearest whole number at or above."),
    FunctionSpec("MOD", _mod, (N, N), N,
                 doc="MOD(number, divisor): remainder, with the sign of the divisor; NULL when "
                 "the divisor is 0."),
    FunctionSpec("MIN", _min, (SCALAR,), _extreme_type("MIN"), variadic=True,
                 propagate_null=False, doc="MIN(a, b, ...): the smallest of numbers, dates, "
                 "datetimes or texts; blank arguments are ignored."),
    FunctionSpec("MAX", _max, (SCALAR,), _extreme_type("MAX"), variadic=True,
                 propagate_null=False, doc="MAX(a, b, ...): the largest of numbers, dates, "
                 "datetimes or texts; blank arguments are ignored."),
]  # fmt: skip
