"""Formula evaluation speed: compiled formulas vs hand-written Python doing the same work.

Run:  .venv/bin/python bench/formula_eval.py

Each case evaluates one compiled formula against the same EvalContext, and a
hand-written lambda over the same values (including the Decimal arithmetic and NULL
checks a fair equivalent needs). Prints microseconds per evaluation and the ratio.
Plain timeit; best of several repeats.
"""

from __future__ import annotations

import platform
import sys
import timeit
from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "platform"))

from tessera.expressions import EvalContext, FormulaType, MappingScope, compile_expression  # noqa: E402

F = FormulaType
SCOPE = MappingScope(
    {
        "amount": F.NUMBER,
        "probability": F.NUMBER,
        "stage": F.TEXT,
        "close_date": F.DATE,
        "created": F.DATETIME,
        "name": F.TEXT,
        "discount": F.NUMBER,
        "tags": F.LIST,
        "account": {"industry": F.TEXT, "name": F.TEXT},
    }
)
VALUES = {
    "amount": Decimal("12500.00"),
    "probability": Decimal("40"),
    "stage": "won",
    "close_date": None,
    "created": datetime(2026, 11, 1, 9, 30, tzinfo=timezone.utc),
    "name": "Acme renewal",
    "discount": None,
    "tags": ("renewal", "priority"),
    "account": {"id": 7, "industry": "Retail", "name": "Acme"},
}
CTX = EvalContext(VALUES, now=datetime(2026, 11, 23, 12, tzinfo=timezone.utc), today=date(2026, 11, 23))


def _text_or_blank(v):
    return v or ""


CASES = [
    (
        "amount * probability / 100",
        lambda c: (
            None
            if (a := c.values.get("amount")) is None or (p := c.values.get("probability")) is None
            else a * p / 100
        ),
    ),
    (
        "AND(stage = 'won', ISBLANK(close_date))",
        lambda c: (c.values.get("stage") or "") == "won" and c.values.get("close_date") is None,
    ),
    (
        "IF(amount > 10000, 'large', 'small')",
        lambda c: "large" if (a := c.values.get("amount")) is not None and a > 10000 else "small",
    ),
    (
        "BLANKVALUE(discount, 0) + ROUND(amount * 0.075, 2)",
        lambda c: (c.values.get("discount") or Decimal(0))
        + (c.values["amount"] * Decimal("0.075")).quantize(Decimal("0.01")),
    ),
    (
        "account.industry = 'Retail' && INCLUDES(tags, 'priority')",
        lambda c: (c.values["account"].get("industry") or "") == "Retail"
        and "priority" in (c.values.get("tags") or ()),
    ),
    (
        "UPPER(LEFT(name, 4)) & '-' & TEXT(YEAR(TODAY()))",
        lambda c: _text_or_blank(c.values.get("name"))[:4].upper() + "-" + str(c.today.year),
    ),
    (
        "DAYS_BETWEEN(created, NOW()) > 7",
        lambda c: (c.now - c.values["created"]).total_seconds() / 86400 > 7,
    ),
    (
        "REGEX(name, '[A-Z][a-z]+ [a-z]+')",
        None,  # filled below: a precompiled re2 pattern
    ),
]


def _regex_baseline():
    import re2

    options = re2.Options()
    options.log_errors = False
    pattern = re2.compile("[A-Z][a-z]+ [a-z]+", options)
    return lambda c: pattern.fullmatch(c.values.get("name") or "") is not None


CASES[-1] = (CASES[-1][0], _regex_baseline())


def best_us(fn, number: int) -> float:
    return min(timeit.repeat(lambda: fn(CTX), number=number, repeat=7)) / number * 1e6


def main() -> None:
    print(f"Python {platform.python_version()} on {platform.machine()}, {platform.system()}")
    print(f"{'formula':58} {'compiled':>10} {'python':>10} {'ratio':>7}")
    for source, baseline in CASES:
        compiled = compile_expression(source, SCOPE)
        expected, got = baseline(CTX), compiled(CTX)
        if expected != got:
            raise SystemExit(f"mismatch for {source!r}: formula {got!r}, python {expected!r}")
        number = 20_000
        formula_us = best_us(compiled, number)
        python_us = best_us(baseline, number)
        print(
            f"{source:58} {formula_us:8.2f}µs {python_us:8.2f}µs {formula_us / python_us:6.1f}x"
        )
    compile_us = (
        min(timeit.repeat(lambda: compile_expression(CASES[3][0], SCOPE), number=200, repeat=5))
        / 200
        * 1e6
    )
    print(f"\ncompile_expression({CASES[3][0]!r}): {compile_us:.0f}µs")


if __name__ == "__main__":
    main()
