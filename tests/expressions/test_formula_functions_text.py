"""Text functions, REGEX (RE2) and conversions."""

from __future__ import annotations

import time
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from tessera.expressions import FormulaEvaluationError, FormulaTypeError


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("TEXT(1234.50)", "1234.5"),
        ("TEXT(150.00)", "150"),
        ("TEXT(0.000)", "0"),
        ("TEXT(-0.5)", "-0.5"),
        ("TEXT(10 ^ 30)", "1000000000000000000000000000000"),
        ("TEXT(TRUE)", "TRUE"),
        ("TEXT(DATE(2024, 2, 9))", "2024-02-09"),
        ("TEXT('x')", "x"),
        ("TEXT(NULL)", ""),
    ],
)
def test_text_conversion(run, source, expected):
    assert run(source) == expected


def test_text_of_datetime_and_id(run):
    moment = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    assert run("TEXT(created_at)", {"created_at": moment}) == "2026-01-02T03:04:05Z"
    offset = moment.astimezone(timezone(timedelta(hours=2)))
    assert run("TEXT(created_at)", {"created_at": offset}) == "2026-01-02T05:04:05+02:00"
    assert run("TEXT(account)", {"account": 42}) == "42"


def test_concatenation_converts_like_text(run):
    values = {"amount": Decimal("10.50"), "close_date": date(2026, 3, 1), "is_active": True}
    assert run("amount & '/' & close_date & '/' & is_active", values) == (
        "10.5/2026-03-01/TRUE"
    )


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("VALUE('42')", Decimal(42)),
        ("VALUE(' -1.25 ')", Decimal("-1.25")),
        ("VALUE('1e3')", Decimal(1000)),
        ("VALUE('')", None),
    ],
)
def test_value_reads_numbers(run, source, expected):
    assert run(source) == expected


def test_value_of_non_number_is_an_error(fails):
    err = fails("1 + VALUE('abc')", error=FormulaEvaluationError)
    assert err.message == "VALUE cannot read 'abc' as a number"
    assert err.column == 5


@pytest.mark.parametrize(
    ("text", "expected"),
    [("12", True), ("-1.5", True), ("1e3", True), ("abc", False), ("", False), ("NaN", False),
     ("1_000", False)],
)  # fmt: skip
def test_isnumber(run, text, expected):
    assert run("ISNUMBER(name)", {"name": text}) is expected


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("LEN('héllo')", Decimal(5)),
        ("LOWER('AbC')", "abc"),
        ("UPPER('AbC')", "ABC"),
        ("TRIM('  a b  ')", "a b"),
        ("LEFT('abcdef', 2)", "ab"),
        ("LEFT('abc', 10)", "abc"),
        ("LEFT('abc', -1)", ""),
        ("LEFT('abc', 0)", ""),
        ("RIGHT('abcdef', 2)", "ef"),
        ("RIGHT('abc', 0)", ""),
        ("RIGHT('abc', 2.9)", "bc"),
        ("SUBSTITUTE('a-b-c', '-', '+')", "a+b+c"),
        ("SUBSTITUTE('abc', '', 'x')", "abc"),
        ("SUBSTITUTE('abc', 'b', NULL)", "ac"),
        ("CONTAINS('Acme Corp', 'Corp')", True),
        ("CONTAINS('Acme Corp', 'corp')", False),
        ("CONTAINS('Acme', '')", True),
        ("BEGINS('Acme Corp', 'Acme')", True),
        ("BEGINS('Acme Corp', 'Corp')", False),
    ],
)
def test_text_functions(run, source, expected):
    assert run(source) == expected


@pytest.mark.parametrize(
    ("text", "pattern", "expected"),
    [
        ("AB-1234", r"[A-Z]{2}-\d{4}", True),
        ("xAB-1234", r"[A-Z]{2}-\d{4}", False),  # full match, not search
        ("AB-12345", r"[A-Z]{2}-\d{4}", False),
        ("", "a*", True),
        ("abc", "(?i)ABC", True),
    ],
)
def test_regex_is_a_full_match(run, text, pattern, expected):
    escaped = pattern.replace("\\", "\\\\")
    assert run(f"REGEX(name, '{escaped}')", {"name": text}) is expected


def test_regex_with_pattern_from_a_field(run):
    assert run("REGEX(name, description)", {"name": "abc", "description": "a.c"}) is True
    assert run("REGEX(name, description)", {"name": "abc", "description": None}) is False
    assert run("REGEX(name, description)", {"name": "", "description": None}) is True
    assert run("REGEX(name, NULL)", {"name": ""}) is True


def test_regex_catastrophic_pattern_returns_promptly(run):
    started = time.perf_counter()
    result = run("REGEX(name, '(a+)+$')", {"name": "a" * 30 + "!"})
    elapsed = time.perf_counter() - started
    assert result is False
    assert elapsed < 1.0  # a backtracking engine takes minutes here


def test_invalid_literal_regex_is_reported_at_compile_time(fails):
    err = fails("REGEX(name, '(a')", error=FormulaTypeError)
    assert err.message == "invalid regular expression: missing ): (a"
    assert err.column == 13


def test_backreferences_are_not_supported(fails):
    err = fails(r"REGEX(name, '(a)\\1')", error=FormulaTypeError)
    assert err.message.startswith("invalid regular expression: invalid escape sequence")


def test_invalid_regex_from_a_field_is_an_evaluation_error(fails):
    err = fails(
        "REGEX(name, description)",
        {"name": "a", "description": "(a"},
        error=FormulaEvaluationError,
    )
    assert err.message == "invalid regular expression: missing ): (a"
    assert err.column == 13
