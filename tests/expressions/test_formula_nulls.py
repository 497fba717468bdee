"""The NULL rules, one test each (see docs/formulas.md, "Blank values")."""

from __future__ import annotations

from decimal import Decimal

import pytest


@pytest.mark.parametrize("source", ["amount + 1", "amount - 1", "amount * 2", "amount / 2",
                                    "amount ^ 2", "-amount", "NULL * 3", "close_date + 1"])  # fmt: skip
def test_arithmetic_with_null_gives_null(run, source):
    assert run(source, {"amount": None}) is None


def test_division_by_zero_gives_blank(run):
    assert run("amount / quantity", {"amount": 10, "quantity": 0}) is None
    assert run("amount / 0", {"amount": 10}) is None
    assert run("amount / 0.00", {"amount": 10}) is None


def test_zero_to_a_negative_power_is_a_division_by_zero(run):
    assert run("0 ^ -1") is None


def test_concatenation_treats_null_as_empty_text(run):
    assert run("'a' & name & 'b'", {"name": None}) == "ab"
    assert run("'n=' & amount", {"amount": None}) == "n="


def test_empty_string_is_blank(run):
    assert run("ISBLANK('')") is True
    assert run("ISBLANK(name)", {"name": ""}) is True
    assert run("ISBLANK(name)", {"name": " "}) is False


def test_empty_string_equals_null(run):
    assert run("'' = NULL") is True
    assert run("name = NULL", {"name": ""}) is True
    assert run("name = ''", {"name": None}) is True
    assert run("name <> ''", {"name": None}) is False
    assert run("name = description", {"name": "", "description": None}) is True
    assert run("name <> description", {"name": None, "description": ""}) is False


def test_null_equals_null(run):
    assert run("NULL = NULL") is True
    assert run("amount = discount", {}) is True


def test_null_does_not_equal_a_value(run):
    assert run("amount = 5", {"amount": None}) is False
    assert run("amount <> 5", {"amount": None}) is True
    assert run("name = 'x'", {"name": None}) is False


def test_zero_is_not_blank(run):
    assert run("ISBLANK(amount)", {"amount": 0}) is False
    assert run("amount = NULL", {"amount": 0}) is False


@pytest.mark.parametrize("op", ["<", "<=", ">", ">="])
def test_ordered_comparison_with_null_is_false(run, op):
    assert run(f"amount {op} 5", {"amount": None}) is False
    assert run(f"5 {op} amount", {"amount": None}) is False
    assert run(f"NULL {op} NULL") is False
    assert run(f"name {op} 'm'", {"name": ""}) is False


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("AND(is_active, TRUE)", False),
        ("OR(is_active, FALSE)", False),
        ("NOT(is_active)", True),
        ("!is_active", True),
        ("IF(is_active, 'yes', 'no')", "no"),
        ("is_active && TRUE", False),
        ("is_active || TRUE", True),
    ],
)
def test_null_counts_as_false_in_boolean_positions(run, source, expected):
    assert run(source, {"is_active": None}) == expected


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("LEN(name)", Decimal(0)),
        ("LOWER(name)", ""),
        ("UPPER(name)", ""),
        ("TRIM(name)", ""),
        ("LEFT(name, 2)", ""),
        ("RIGHT(name, 2)", ""),
        ("SUBSTITUTE(name, 'a', 'b')", ""),
        ("CONTAINS(name, 'a')", False),
        ("BEGINS(name, 'a')", False),
        ("TEXT(name)", ""),
    ],
)
def test_text_functions_treat_null_as_empty_text(run, source, expected):
    assert run(source, {"name": None}) == expected


@pytest.mark.parametrize(
    "source", ["ROUND(amount, 2)", "ABS(amount)", "FLOOR(amount)", "CEILING(amount)",
               "MOD(amount, 3)", "YEAR(close_date)", "ADDMONTHS(close_date, 1)",
               "DAYS_BETWEEN(close_date, TODAY())", "DATE(2024, amount, 1)", "VALUE(name)",
               "DATEVALUE(name)"],
)  # fmt: skip
def test_number_and_date_functions_give_null_for_null(run, source):
    assert run(source, {"amount": None, "close_date": None, "name": None}) is None


def test_blank_multi_select_is_blank(run):
    assert run("ISBLANK(tags)", {"tags": []}) is True
    assert run("ISBLANK(tags)", {"tags": None}) is True
    assert run("ISBLANK(tags)", {"tags": ["a"]}) is False
    assert run("INCLUDES(tags, 'a')", {"tags": None}) is False
