"""What a column type change does to each value: the new value, and whether anything is lost.
The deploy counts lossy rows with these functions and writes the values they return."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from tessera.storage.sync_convert import converter, is_safe_widening, loss_phrase
from tessera.storage.sync_live import Shape

TEXT = Shape("string")
TEXT_5 = Shape("string", length=5)
INTEGER = Shape("integer")
MONEY = Shape("decimal", precision=18, scale=2)
SMALL = Shape("decimal", precision=5, scale=1)
DATE = Shape("date")
MOMENT = Shape("datetime")
BOOLEAN = Shape("boolean")
JSON = Shape("json")
UTC = dt.UTC


@pytest.mark.parametrize(("old", "new", "value", "expected"), [
    (TEXT, INTEGER, "12", (12, True)),
    (TEXT, INTEGER, " -40 ", (-40, True)),
    (TEXT, INTEGER, "", (None, True)),
    (TEXT, INTEGER, "007", (7, False)),           # the leading zeros would be lost
    (TEXT, INTEGER, "12.5", (13, False)),
    (TEXT, INTEGER, "abc", (None, False)),
    (TEXT, INTEGER, "99999999999999999999", (None, False)),  # beyond 64 bits
    (TEXT, MONEY, "12.50", (Decimal("12.50"), True)),
    (TEXT, MONEY, "12.345", (Decimal("12.35"), False)),
    (TEXT, MONEY, "1e3", (Decimal("1000.00"), False)),
    (TEXT, MONEY, "NaN", (None, False)),
    (MONEY, SMALL, Decimal("12.30"), (Decimal("12.3"), True)),
    (MONEY, SMALL, Decimal("-0.05"), (Decimal("-0.1"), False)),  # half away from zero, like NUMERIC
    (MONEY, SMALL, Decimal("12345.6"), (None, False)),           # does not fit decimal(5,1)
    (MONEY, INTEGER, Decimal("3.00"), (3, True)),
    (MONEY, INTEGER, Decimal("2.50"), (3, False)),
    (INTEGER, MONEY, 42, (Decimal("42.00"), True)),
    (TEXT, TEXT_5, "abcdef", ("abcde", False)),
    (TEXT, TEXT_5, "abc", ("abc", True)),
    (INTEGER, TEXT_5, 123456, ("12345", False)),
    (MONEY, TEXT, Decimal("1.50"), ("1.50", True)),
    (TEXT, DATE, "2026-01-31", (dt.date(2026, 1, 31), True)),
    (TEXT, DATE, "2026-01-31T10:00:00", (dt.date(2026, 1, 31), False)),
    (TEXT, DATE, "31/01/2026", (None, False)),
    (MOMENT, DATE, dt.datetime(2026, 1, 31, tzinfo=UTC), (dt.date(2026, 1, 31), True)),
    (MOMENT, DATE, dt.datetime(2026, 1, 31, 9, 30, tzinfo=UTC), (dt.date(2026, 1, 31), False)),
    (DATE, MOMENT, dt.date(2026, 1, 31), (dt.datetime(2026, 1, 31, tzinfo=UTC), True)),
    (TEXT, MOMENT, "2026-01-31 10:00", (dt.datetime(2026, 1, 31, 10, tzinfo=UTC), True)),
    (TEXT, BOOLEAN, "Yes", (True, True)),
    (TEXT, BOOLEAN, "maybe", (None, False)),
    (INTEGER, BOOLEAN, 2, (None, False)),
    (BOOLEAN, TEXT, True, ("true", True)),
    (JSON, TEXT, ["a"], ("a", True)),            # a multi-select of one becomes that value
    (JSON, TEXT, [], (None, True)),
    (JSON, TEXT, ["a", "b"], ('["a", "b"]', True)),
])
def test_each_value_converts_and_says_whether_anything_is_lost(old, new, value, expected):
    convert = converter(old, new, sqlite=False)
    assert convert is not None
    assert convert(value) == expected


def test_text_becomes_a_one_item_list_for_a_multi_select_picklist():
    convert = converter(TEXT, JSON, sqlite=False, to_list=True)
    assert convert("a") == (["a"], True)
    assert convert(None) == (None, True)


def test_sqlite_decimals_must_fit_a_64_bit_scaled_integer():
    wide = Shape("decimal", precision=30, scale=10)
    assert converter(INTEGER, wide, sqlite=False)(10**12) == (Decimal(10**12), True)
    assert converter(INTEGER, wide, sqlite=True)(10**12) == (None, False)


def test_a_column_type_tessera_does_not_know_cannot_be_converted():
    assert converter(Shape("other", name="INTERVAL"), TEXT, sqlite=False) is None


@pytest.mark.parametrize(("old", "new", "safe"), [
    (TEXT_5, TEXT, True), (TEXT, TEXT_5, False), (Shape("string", length=40), Shape("string", length=80), True),
    (INTEGER, MONEY, False),  # 19 digits do not all fit 16 before the point: counted, usually 0 rows
    (INTEGER, Shape("decimal", precision=30, scale=2), True),
    (MONEY, Shape("decimal", precision=18, scale=4), False),
    (MONEY, Shape("decimal", precision=20, scale=4), True),
    (Shape("integer", bits=32), INTEGER, True), (INTEGER, Shape("integer", bits=32), False),
])
def test_safe_widenings_need_no_counting(old, new, safe):
    assert is_safe_widening(old, new, sqlite=False) is safe


def test_the_loss_is_said_in_words():
    assert loss_phrase(TEXT, TEXT_5) == "values longer than 5 characters"
    assert loss_phrase(MONEY, SMALL) == "more than 1 decimal place or values too large for decimal(5,1)"
    assert loss_phrase(MONEY, INTEGER) == "a fraction"
    assert loss_phrase(INTEGER, MONEY) == "values too large for decimal(18,2)"
    assert loss_phrase(TEXT, INTEGER) == "values that are not whole numbers"
