"""Text functions: TEXT, VALUE, ISNUMBER, LEN, LOWER, UPPER, TRIM, LEFT, RIGHT,
SUBSTITUTE, CONTAINS, BEGINS, REGEX.

NULL text is treated as '' throughout. REGEX uses RE2 (linear time, no backtracking),
so an administrator's pattern can never hang the server.
"""

from __future__ import annotations

from decimal import Decimal
from functools import lru_cache
from typing import Any

import re2

from .errors import FormulaEvaluationError, FormulaLimitError
from .registry import NOT_CONSTANT, CallInfo, Evaluator, FunctionArgumentError, FunctionSpec
from .types import SCALAR, FormulaType
from .values import parse_number, to_text

N, T, B = FormulaType.NUMBER, FormulaType.TEXT, FormulaType.BOOLEAN


def _value(text: Any) -> Decimal | None:
    if not text or not text.strip():
        return None
    number = parse_number(text)
    if number is None:
        shown = text if len(text) <= 40 else text[:37] + "..."
        raise FormulaEvaluationError(f"VALUE cannot read '{shown}' as a number")
    return number


def _count(n: Decimal | None) -> int:
    return 0 if n is None else max(0, int(n))


def _left(text: Any, n: Any) -> str:
    count = _count(n)
    return (text or "")[:count] if count else ""


def _right(text: Any, n: Any) -> str:
    count = _count(n)
    return (text or "")[-count:] if count else ""


# ---------------------------------------------------------------- SUBSTITUTE
def _substitute(call: CallInfo) -> Evaluator:
    text_fn, old_fn, new_fn = (a.evaluate for a in call.args)
    limit = call.limits.max_text_length

    def run(ctx: Any) -> str:
        text, old, new = text_fn(ctx) or "", old_fn(ctx) or "", new_fn(ctx) or ""
        if not old or not text:
            return text
        count = text.count(old)
        size = len(text) + count * (len(new) - len(old))
        if size > limit:  # checked before building, so nothing huge is ever allocated
            message = f"text too long: {size} characters, the limit is {limit}"
            raise call.error(message, kind=FormulaLimitError)
        return text.replace(old, new)

    return run


# ---------------------------------------------------------------- REGEX
_OPTIONS = re2.Options()
_OPTIONS.log_errors = False
_OPTIONS.max_mem = 8 << 20


def _regex_message(exc: Exception) -> str:
    detail = exc.args[0] if exc.args else ""
    if isinstance(detail, bytes):
        detail = detail.decode("utf-8", "replace")
    return f"invalid regular expression: {detail}" if detail else "invalid regular expression"


@lru_cache(maxsize=256)  # thread-safe; patterns read from fields are often repeated
def _compiled(pattern: str) -> Any:
    return re2.compile(pattern, _OPTIONS)


def compile_regex(pattern: str) -> Any:
    """Compile an RE2 pattern (cached); raises ValueError with an admin message."""
    try:
        return _compiled(pattern)
    except re2.error as exc:
        raise ValueError(_regex_message(exc)) from None


def _regex(call: CallInfo) -> Evaluator:
    text_arg, pattern_arg = call.args
    text_fn = text_arg.evaluate
    if pattern_arg.constant is not NOT_CONSTANT:
        try:
            fullmatch = compile_regex(pattern_arg.constant or "").fullmatch
        except ValueError as exc:
            raise FunctionArgumentError(1, str(exc)) from None
        return lambda ctx: fullmatch(text_fn(ctx) or "") is not None
    pattern_fn = pattern_arg.evaluate
    limit = call.limits.max_text_length

    def run(ctx: Any) -> bool:
        pattern = pattern_fn(ctx) or ""  # a blank pattern matches only blank text
        if len(pattern) > limit:
            raise call.error("the regular expression is too long", 1)
        try:
            compiled = compile_regex(pattern)
        except ValueError as exc:
            raise call.error(str(exc), 1) from None
        return compiled.fullmatch(text_fn(ctx) or "") is not None

    return run


SPECS = [
    FunctionSpec("TEXT", to_text, (SCALAR,), T, propagate_null=False,
                 doc="TEXT(value): value as text; numbers without exponent or trailing zeros, "
                 "dates as YYYY-MM-DD, NULL as ''."),
    FunctionSpec("VALUE", _value, (T,), N, propagate_null=False,
                 doc="VALUE(text): the number written in text; NULL when blank; an error when "
                 "it is not a number."),
    FunctionSpec("ISNUMBER", lambda t: bool(t) and parse_number(t) is not None, (T,), B,
                 propagate_null=False, doc="ISNUMBER(text): TRUE when VALUE(text) would give a "
                 "number."),
    FunctionSpec("LEN", lambda t: Decimal(len(t or "")), (T,), N, propagate_null=False,
                 doc="LEN(text): number of characters; 0 for NULL."),
    FunctionSpec("LOWER", lambda t: (t or "").lower(), (T,), T, propagate_null=False,
                 doc="LOWER(text): text in lower case."),
    FunctionSpec("UPPER", lambda t: (t or "").upper(), (T,), T, propagate_null=False,
                 doc="UPPER(text): text in upper case."),
    FunctionSpec("TRIM", lambda t: (t or "").strip(), (T,), T, propagate_null=False,
                 doc="TRIM(text): text without leading and trailing spaces."),
    FunctionSpec("LEFT", _left, (T, N), T, propagate_null=False,
                 doc="LEFT(text, count): the first count characters."),
    FunctionSpec("RIGHT", _right, (T, N), T, propagate_null=False,
                 doc="RIGHT(text, count): the last count characters."),
    FunctionSpec("SUBSTITUTE", _substitute, (T, T, T), T, special=True,
                 doc="SUBSTITUTE(text, old, new): text with every old replaced by new."),
    FunctionSpec("CONTAINS", lambda t, s: (s or "") in (t or ""), (T, T), B,
                 propagate_null=False,
                 doc="CONTAINS(text, part): TRUE when part occurs in text (case-sensitive)."),
    FunctionSpec("BEGINS", lambda t, s: (t or "").startswith(s or ""), (T, T), B,
                 propagate_null=False,
                 doc="BEGINS(text, prefix): TRUE when text starts with prefix (case-sensitive)."),
    FunctionSpec("REGEX", _regex, (T, T), B, special=True,
                 doc="REGEX(text, pattern): TRUE when the whole text matches the RE2 pattern."),
]  # fmt: skip
