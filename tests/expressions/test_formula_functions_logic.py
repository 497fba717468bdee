"""IF, CASE, AND, OR, NOT, ISBLANK, BLANKVALUE, INCLUDES: results, laziness and
short-circuiting."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tessera.expressions import FormulaEvaluationError


def _unreachable(path):
    raise AssertionError(f"resolver must not be called for {path}")


# ---------------------------------------------------------------- IF
def test_if_picks_the_branch(run):
    assert run("IF(amount > 100, 'big', 'small')", {"amount": 150}) == "big"
    assert run("IF(amount > 100, 'big', 'small')", {"amount": 50}) == "small"


def test_if_does_not_evaluate_the_untaken_branch(run):
    # the untaken branch would need a resolver that fails
    values = {"account": 7, "amount": 1}
    assert run("IF(amount > 0, 'ok', account.name)", values, resolver=_unreachable) == "ok"
    assert run("IF(amount < 0, account.name, 'ok')", values, resolver=_unreachable) == "ok"


def test_if_untaken_branch_with_division_by_null_field_is_not_evaluated(run):
    source = "IF(ISBLANK(quantity), 0, amount / quantity)"
    assert run(source, {"amount": 10, "quantity": None}) == Decimal(0)
    assert run(source, {"amount": 10, "quantity": 4}) == Decimal("2.5")


def test_if_evaluates_the_taken_branch_errors(run):
    with pytest.raises(FormulaEvaluationError):
        run("IF(TRUE, account.name, 'x')", {"account": 7})


# ---------------------------------------------------------------- CASE
def test_case_returns_the_matching_result(run):
    source = "CASE(stage, 'won', 100, 'lost', 0, 50)"
    assert run(source, {"stage": "won"}) == Decimal(100)
    assert run(source, {"stage": "lost"}) == Decimal(0)


def test_case_default_when_nothing_matches(run):
    assert run("CASE(stage, 'won', 100, 'lost', 0, 50)", {"stage": "open"}) == Decimal(50)
    assert run("CASE(stage, 'won', 100, 'lost', 0, 50)", {"stage": None}) == Decimal(50)


def test_case_blank_text_matches_empty_string(run):
    assert run("CASE(stage, '', 'none', 'some')", {"stage": None}) == "none"


def test_case_on_numbers_and_dates(run):
    assert run("CASE(quantity, 1, 'one', 2, 'two', 'many')", {"quantity": 2}) == "two"
    assert run("CASE(close_date, TODAY(), 'today', 'other')", {"close_date": "2026-11-23"}) == (
        "today"
    )


def test_case_is_lazy(run):
    source = "CASE(stage, 'won', 'yes', account.name, 'maybe', 'no')"
    assert run(source, {"stage": "won", "account": 7}, resolver=_unreachable) == "yes"


# ---------------------------------------------------------------- AND / OR / NOT
@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("AND(TRUE, TRUE)", True),
        ("AND(TRUE, FALSE)", False),
        ("AND(TRUE, TRUE, TRUE, FALSE)", False),
        ("AND(TRUE, TRUE, TRUE)", True),
        ("AND(TRUE)", True),
        ("OR(FALSE, FALSE)", False),
        ("OR(FALSE, TRUE)", True),
        ("OR(FALSE, FALSE, FALSE, TRUE)", True),
        ("OR(FALSE)", False),
        ("NOT(TRUE)", False),
        ("NOT(FALSE)", True),
    ],
)
def test_boolean_functions(run, source, expected):
    assert run(source) is expected


@pytest.mark.parametrize(
    "source",
    [
        "AND(FALSE, account.name = 'x')",
        "AND(TRUE, FALSE, account.name = 'x')",
        "OR(TRUE, account.name = 'x')",
        "OR(FALSE, TRUE, account.name = 'x')",
        "FALSE && account.name = 'x'",
        "TRUE || account.name = 'x'",
    ],
)
def test_and_or_short_circuit(run, source):
    run(source, {"account": 7}, resolver=_unreachable)


def test_and_evaluates_later_arguments_when_needed(run):
    with pytest.raises(FormulaEvaluationError):
        run("AND(TRUE, account.name = 'x')", {"account": 7})


# ---------------------------------------------------------------- blanks
def test_isblank_on_each_type(run):
    assert run("ISBLANK(amount)", {"amount": None}) is True
    assert run("ISBLANK(close_date)", {"close_date": "2026-01-01"}) is False
    assert run("ISBLANK(settings)", {"settings": {}}) is True
    assert run("ISBLANK(settings)", {"settings": {"a": 1}}) is False
    assert run("ISBLANK(account)", {"account": None}) is True
    assert run("ISBLANK(account)", {"account": 3}) is False


def test_blankvalue_substitutes_blank_values(run):
    assert run("BLANKVALUE(discount, 5)", {"discount": None}) == Decimal(5)
    assert run("BLANKVALUE(discount, 5)", {"discount": 0}) == Decimal(0)
    assert run("BLANKVALUE(name, 'n/a')", {"name": ""}) == "n/a"
    assert run("BLANKVALUE(name, 'n/a')", {"name": "Acme"}) == "Acme"


def test_blankvalue_is_lazy(run):
    values = {"name": "Acme", "account": 7}
    assert run("BLANKVALUE(name, account.name)", values, resolver=_unreachable) == "Acme"


def test_blankvalue_types_must_agree(fails):
    err = fails("BLANKVALUE(discount, 'none')")
    assert err.message == (
        "BLANKVALUE's arguments must have the same type, not number (argument 1) and text "
        "(argument 2)"
    )


def test_includes_checks_membership(run):
    values = {"tags": ["renewal", "priority"]}
    assert run("INCLUDES(tags, 'priority')", values) is True
    assert run("INCLUDES(tags, 'Priority')", values) is False
    assert run("INCLUDES(tags, '')", values) is False
    assert run("INCLUDES(tags, name)", {**values, "name": "renewal"}) is True
