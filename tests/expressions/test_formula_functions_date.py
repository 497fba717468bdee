"""Date functions and date arithmetic."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from tessera.expressions import FormulaEvaluationError

UTC = timezone.utc


def test_today_and_now_come_from_the_context(run):
    assert run("TODAY()", today=date(2030, 1, 2)) == date(2030, 1, 2)
    moment = datetime(2030, 1, 2, 3, 4, tzinfo=UTC)
    assert run("NOW()", now=moment) == moment


def test_today_defaults_to_the_date_of_now(run):
    tokyo = timezone(timedelta(hours=9))
    assert run("TODAY()", now=datetime(2026, 11, 23, 23, 30, tzinfo=tokyo), today=None) == date(
        2026, 11, 23
    )


def test_date_builds_a_date(run):
    assert run("DATE(2024, 2, 29)") == date(2024, 2, 29)


def test_invalid_date_is_an_error(fails):
    err = fails("DATE(2023, 2, 29)", error=FormulaEvaluationError)
    assert err.message == "DATE(2023, 2, 29) is not a valid date"
    assert err.column == 1


def test_date_needs_whole_numbers(fails):
    err = fails("DATE(2023, 2.5, 1)", error=FormulaEvaluationError)
    assert err.message == "DATE needs whole numbers for year, month and day"


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("YEAR(DATE(2024, 3, 15))", Decimal(2024)),
        ("MONTH(DATE(2024, 3, 15))", Decimal(3)),
        ("DAY(DATE(2024, 3, 15))", Decimal(15)),
    ],
)
def test_date_parts(run, source, expected):
    assert run(source) == expected


def test_date_parts_of_datetimes(run):
    values = {"created_at": datetime(2025, 12, 31, 23, 0, tzinfo=UTC)}
    assert run("YEAR(created_at) * 100 + MONTH(created_at)", values) == Decimal(202512)


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (date(2024, 1, 31), 1, date(2024, 2, 29)),
        (date(2023, 1, 31), 1, date(2023, 2, 28)),
        (date(2024, 3, 31), -1, date(2024, 2, 29)),
        (date(2024, 5, 31), 1, date(2024, 6, 30)),
        (date(2024, 1, 15), 13, date(2025, 2, 15)),
        (date(2024, 1, 15), -13, date(2022, 12, 15)),
        (date(2024, 1, 15), 0, date(2024, 1, 15)),
        (date(2024, 2, 29), 12, date(2025, 2, 28)),
    ],
)
def test_addmonths_clamps_to_month_end(run, start, months, expected):
    assert run("ADDMONTHS(close_date, quantity)", {"close_date": start, "quantity": months}) == (
        expected
    )


def test_addmonths_on_datetime_keeps_the_time(run):
    start = datetime(2024, 1, 31, 10, 30, tzinfo=UTC)
    assert run("ADDMONTHS(created_at, 1)", {"created_at": start}) == datetime(
        2024, 2, 29, 10, 30, tzinfo=UTC
    )


def test_addmonths_out_of_range(fails):
    err = fails("ADDMONTHS(DATE(9999, 12, 1), 1)", error=FormulaEvaluationError)
    assert err.message == "ADDMONTHS gives a date out of range"


def test_days_between_dates(run):
    values = {"start_date": date(2024, 1, 1), "close_date": date(2024, 3, 1)}
    assert run("DAYS_BETWEEN(start_date, close_date)", values) == Decimal(60)
    assert run("DAYS_BETWEEN(close_date, start_date)", values) == Decimal(-60)


def test_days_between_datetimes_is_fractional(run):
    values = {
        "created_at": datetime(2024, 1, 1, 0, 0, tzinfo=UTC),
        "updated_at": datetime(2024, 1, 2, 12, 0, tzinfo=UTC),
    }
    assert run("DAYS_BETWEEN(created_at, updated_at)", values) == Decimal("1.5")


def test_days_between_date_and_datetime_compares_calendar_dates(run):
    values = {"created_at": datetime(2026, 11, 20, 23, 59, tzinfo=UTC)}
    assert run("DAYS_BETWEEN(created_at, TODAY())", values) == Decimal(3)


def test_date_arithmetic(run):
    values = {"close_date": date(2024, 2, 28), "start_date": date(2024, 1, 1)}
    assert run("close_date + 2", values) == date(2024, 3, 1)
    assert run("close_date - 28", values) == date(2024, 1, 31)
    assert run("close_date - start_date", values) == Decimal(58)
    assert run("close_date + 1.9", values) == date(2024, 2, 29)  # whole days only


def test_datetime_arithmetic(run):
    moment = datetime(2024, 1, 1, 12, 0, tzinfo=UTC)
    values = {"created_at": moment, "updated_at": moment + timedelta(hours=6)}
    assert run("created_at + 0.25", values) == moment + timedelta(hours=6)
    assert run("created_at - 1", values) == moment - timedelta(days=1)
    assert run("updated_at - created_at", values) == Decimal("0.25")


def test_datetimes_in_different_zones_compare_by_instant(run):
    values = {
        "created_at": datetime(2024, 1, 1, 12, 0, tzinfo=UTC),
        "updated_at": datetime(2024, 1, 1, 13, 0, tzinfo=timezone(timedelta(hours=1))),
    }
    assert run("created_at = updated_at", values) is True


def test_date_out_of_range(fails):
    err = fails("DATE(9999, 12, 31) + 1", error=FormulaEvaluationError)
    assert err.message == "date or number out of range"
    assert err.column == 20


@pytest.mark.parametrize(
    ("text", "expected"),
    [("2024-02-29", date(2024, 2, 29)), (" 2024-01-05 ", date(2024, 1, 5)), ("", None)],
)
def test_datevalue_reads_iso_dates(run, text, expected):
    assert run("DATEVALUE(name)", {"name": text}) == expected


def test_datevalue_of_datetime(run):
    values = {"created_at": datetime(2024, 5, 6, 7, 8, tzinfo=UTC)}
    assert run("DATEVALUE(created_at)", values) == date(2024, 5, 6)


def test_datevalue_of_bad_text_is_an_error(fails):
    err = fails("DATEVALUE('2024-13-01')", error=FormulaEvaluationError)
    assert err.message == "DATEVALUE cannot read '2024-13-01' as a date (expected YYYY-MM-DD)"


def test_date_comparisons(run):
    values = {"close_date": date(2024, 1, 2), "start_date": date(2024, 1, 1)}
    assert run("close_date > start_date", values) is True
    assert run("close_date <= TODAY()", values) is True
