"""Date functions: TODAY, NOW, DATE, DATEVALUE, YEAR, MONTH, DAY, ADDMONTHS,
DAYS_BETWEEN.

TODAY() and NOW() read the EvalContext, so the caller (and tests) decide the clock and
the organisation's time zone.
"""

from __future__ import annotations

import calendar
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from .errors import FormulaEvaluationError
from .registry import CallInfo, Evaluator, FunctionSpec
from .types import FormulaType
from .values import CTX, number_text

N, T, D, DT = FormulaType.NUMBER, FormulaType.TEXT, FormulaType.DATE, FormulaType.DATETIME
DATES = frozenset({D, DT})


def _today(call: CallInfo) -> Evaluator:
    return lambda ctx: ctx.today


def _now(call: CallInfo) -> Evaluator:
    return lambda ctx: ctx.now


def _date(year: Decimal, month: Decimal, day: Decimal) -> date:
    parts = (year, month, day)
    if any(p != p.to_integral_value() for p in parts):
        raise FormulaEvaluationError("DATE needs whole numbers for year, month and day")
    try:
        return date(int(year), int(month), int(day))
    except (ValueError, OverflowError):
        shown = ", ".join(number_text(p) for p in parts)
        raise FormulaEvaluationError(f"DATE({shown}) is not a valid date") from None


def _datevalue(value: Any) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if not value or not value.strip():
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        shown = value if len(value) <= 40 else value[:37] + "..."
        raise FormulaEvaluationError(
            f"DATEVALUE cannot read '{shown}' as a date (expected YYYY-MM-DD)"
        ) from None


def _addmonths(value: date, months: Decimal) -> date:
    """Add whole months, clamping to the end of the month (Jan 31 + 1 = Feb 28/29)."""
    total = value.year * 12 + (value.month - 1) + int(months)
    year, month = divmod(total, 12)
    if not 1 <= year <= 9999:
        raise FormulaEvaluationError("ADDMONTHS gives a date out of range")
    day = min(value.day, calendar.monthrange(year, month + 1)[1])
    return value.replace(year=year, month=month + 1, day=day)


def _days_between(start: date, end: date) -> Decimal:
    """end - start in days: whole days for dates, fractional for two datetimes; a date
    and a datetime compare calendar dates."""
    start_is_dt, end_is_dt = isinstance(start, datetime), isinstance(end, datetime)
    if start_is_dt and end_is_dt:
        delta = end - start  # type: ignore[operator]
        micros = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
        return CTX.divide(Decimal(micros), Decimal(86_400_000_000))
    if start_is_dt:
        start = start.date()  # type: ignore[attr-defined]
    if end_is_dt:
        end = end.date()  # type: ignore[attr-defined]
    return Decimal((end - start).days)


def _same_as_first(types: tuple[FormulaType, ...]) -> FormulaType:
    return D if types[0] is FormulaType.NULL else types[0]


SPECS = [
    FunctionSpec("TODAY", _today, (), D, special=True, volatile=True,
                 doc="TODAY(): the current date in the organisation's time zone."),
    FunctionSpec("NOW", _now, (), DT, special=True, volatile=True, doc="NOW(): the current date and time."),
    FunctionSpec("DATE", _date, (N, N, N), D,
                 doc="DATE(year, month, day): that date; an error if it does not exist."),
    FunctionSpec("DATEVALUE", _datevalue, (frozenset({T, DT}),), D,
                 doc="DATEVALUE(text): the date written as YYYY-MM-DD (or the date part of a "
                 "datetime); NULL when blank."),
    FunctionSpec("YEAR", lambda d: Decimal(d.year), (DATES,), N,
                 doc="YEAR(date): the year as a number."),
    FunctionSpec("MONTH", lambda d: Decimal(d.month), (DATES,), N,
                 doc="MONTH(date): the month, 1 to 12."),
    FunctionSpec("DAY", lambda d: Decimal(d.day), (DATES,), N,
                 doc="DAY(date): the day of the month, 1 to 31."),
    FunctionSpec("ADDMONTHS", _addmonths, (DATES, N), _same_as_first,
                 doc="ADDMONTHS(date, months): the date months later (earlier if negative), "
                 "clamped to the end of shorter months."),
    FunctionSpec("DAYS_BETWEEN", _days_between, (DATES, DATES), N,
                 doc="DAYS_BETWEEN(start, end): end minus start in days."),
]  # fmt: skip
