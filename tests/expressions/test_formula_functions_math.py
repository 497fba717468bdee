"""Number functions and arithmetic, all in Decimal."""

from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal

import pytest

from tessera.expressions import FormulaEvaluationError


def test_arithmetic_is_decimal_exact(run):
    assert run("0.1 + 0.2") == Decimal("0.3")
    assert run("amount * probability / 100", {"amount": 1000, "probability": 15}) == Decimal(150)


def test_record_floats_are_coerced_through_their_text(run):
    assert run("amount * 3", {"amount": 0.1}) == Decimal("0.3")


def test_division_keeps_34_significant_digits(run):
    assert run("1 / 3") == Decimal("0." + "3" * 34)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("ROUND(2.5, 0)", Decimal(3)),
        ("ROUND(3.5, 0)", Decimal(4)),
        ("ROUND(-2.5, 0)", Decimal(-3)),
        ("ROUND(2.345, 2)", Decimal("2.35")),
        ("ROUND(2.344, 2)", Decimal("2.34")),
        ("ROUND(1.005, 2)", Decimal("1.01")),  # exact decimal: no binary float surprise
        ("ROUND(1234.5678, -2)", Decimal(1200)),
        ("ROUND(1250, -2)", Decimal(1300)),
        ("ROUND(7.6)", Decimal(8)),
        ("ROUND(2.5, 1)", Decimal("2.5")),
        ("ROUND(2.75, 1.9)", Decimal("2.8")),  # digits are truncated to whole numbers
    ],
)
def test_round_half_up(run, source, expected):
    result = run(source)
    assert result == expected
    assert str(result) == str(expected)  # same scale too: 2.50 is not 2.5


def test_round_big_numbers_to_many_digits(run):
    assert run("ROUND(10 ^ 30, 10)") == Decimal(10) ** 30


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("ABS(-3.5)", Decimal("3.5")),
        ("FLOOR(2.7)", Decimal(2)),
        ("FLOOR(-2.1)", Decimal(-3)),
        ("CEILING(2.1)", Decimal(3)),
        ("CEILING(-2.7)", Decimal(-2)),
        ("MOD(7, 3)", Decimal(1)),
        ("MOD(-3, 2)", Decimal(1)),
        ("MOD(3, -2)", Decimal(-1)),
        ("MOD(7.5, 2)", Decimal("1.5")),
        ("MOD(6, 3)", Decimal(0)),
        ("MOD(5, 0)", None),
        ("2 ^ 10", Decimal(1024)),
        ("4 ^ 0.5", Decimal(2)),
        ("0 ^ 0", Decimal(1)),
    ],
)
def test_number_functions(run, source, expected):
    assert run(source) == expected


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("MIN(3, 1, 2)", Decimal(1)),
        ("MAX(3, 1, 2)", Decimal(3)),
        ("MAX(amount, 0)", Decimal(0)),
        ("MIN(amount)", None),
        ("MIN('pear', 'apple')", "apple"),
        ("MAX(DATE(2024, 1, 5), DATE(2025, 1, 1), DATE(2023, 6, 1))", date(2025, 1, 1)),
    ],
)
def test_min_max(run, source, expected):
    assert run(source, {"amount": None}) == expected


def test_min_max_with_dates_and_datetimes(run):
    values = {
        "close_date": date(2026, 5, 1),
        "start_date": date(2026, 1, 1),
        "created_at": datetime(2026, 1, 1, 8, tzinfo=timezone.utc),
        "updated_at": datetime(2026, 1, 1, 9, tzinfo=timezone.utc),
    }
    assert run("MIN(close_date, start_date)", values) == date(2026, 1, 1)
    assert run("MAX(close_date, start_date, NULL)", values) == date(2026, 5, 1)
    assert run("MAX(created_at, updated_at)", values) == values["updated_at"]


def test_min_max_arguments_must_share_a_type(fails):
    err = fails("MAX(amount, close_date)")
    assert err.message == (
        "MAX's arguments must have the same type, not number (argument 1) and date (argument 2)"
    )
    assert err.column == 13


def test_min_max_reject_booleans(fails):
    err = fails("MIN(TRUE, FALSE)")
    assert err.message == "MIN's argument 1 must be date, datetime, number or text, not boolean"


def test_huge_result_is_number_too_large(fails):
    err = fails("amount * 10 ^ 990", {"amount": 10**20}, error=FormulaEvaluationError)
    assert err.message == "number too large"
    assert err.column == 8


def test_power_overflow_is_number_too_large(fails):
    err = fails("10 ^ 5000", error=FormulaEvaluationError)
    assert err.message == "number too large"


def test_huge_exponent_is_refused(fails):
    err = fails("1.0001 ^ 100000", error=FormulaEvaluationError)
    assert err.message == "exponent too large: the limit is 10000"
    assert err.column == 8


def test_fractional_power_of_negative_number(fails):
    err = fails("(-8) ^ 0.5", error=FormulaEvaluationError)
    assert err.message == "cannot raise a negative number to a fractional power"


def test_negative_number_to_whole_power(run):
    assert run("(-2) ^ 3") == Decimal(-8)


def test_mod_of_a_huge_quotient_is_reported(fails):
    err = fails("MOD(10 ^ 60, 7)", error=FormulaEvaluationError)
    assert err.message == "MOD: the number is out of range for this operation"
