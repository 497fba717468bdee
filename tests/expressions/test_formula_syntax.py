"""Parsing: literals, precedence, comments, and syntax errors with their positions."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tessera.expressions import FormulaSyntaxError


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("123", Decimal("123")),
        ("1.5", Decimal("1.5")),
        ("'single'", "single"),
        ('"double"', "double"),
        ("TRUE", True),
        ("false", False),
        ("True", True),
        ("NULL", None),
        ("null", None),
    ],
)
def test_literals_evaluate_to_their_values(run, source, expected):
    result = run(source)
    assert result == expected
    assert type(result) is type(expected)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (r"'it\'s'", "it's"),
        (r'"say \"hi\""', 'say "hi"'),
        (r"'a\nb'", "a\nb"),
        (r"'tab\there'", "tab\there"),
        (r"'back\\slash'", "back\\slash"),
        (r"'\u00e9t\u00e9'", "été"),
        (r"'\d+'", "\\d+"),  # unknown escapes keep the backslash (regex friendly)
    ],
)
def test_string_escapes(run, source, expected):
    assert run(source) == expected


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("1 + 2 * 3", Decimal(7)),
        ("(1 + 2) * 3", Decimal(9)),
        ("10 - 4 - 3", Decimal(3)),
        ("12 / 3 / 2", Decimal(2)),
        ("2 ^ 3 ^ 2", Decimal(512)),  # right associative
        ("-2 ^ 2", Decimal(-4)),  # ^ binds tighter than unary minus
        ("2 ^ -1", Decimal("0.5")),
        ("- - 3", Decimal(3)),
        ("+3", Decimal(3)),
        ("1 + 2 & 'x'", "3x"),  # & is looser than +
        ("'a' & 1 = 'a1'", True),  # comparison is looser than &
        ("1 < 2 && 3 > 4 || TRUE", True),  # && binds tighter than ||
        ("FALSE || TRUE && FALSE", False),
        ("!FALSE && TRUE", True),
    ],
)
def test_operator_precedence(run, source, expected):
    assert run(source) == expected


@pytest.mark.parametrize("source", ["1 = 1", "1 == 1", "1 <> 2", "1 != 2", "1 <= 1", "2 >= 1"])
def test_every_comparison_spelling_is_accepted(run, source):
    assert run(source) is True


def test_function_names_are_case_insensitive(run):
    assert run("if(TRUE, Len('abc'), 0)") == Decimal(3)


def test_comments_and_newlines_are_ignored(run):
    source = "/* price */ amount *\n  2 /* doubled */"
    assert run(source, {"amount": 4}) == Decimal(8)


def _error(fails, source):
    return fails(source, error=FormulaSyntaxError)


def test_unexpected_closing_parenthesis_is_reported_at_it(fails):
    err = _error(fails, "amount + 1)")
    assert err.message == "unexpected ')'"
    assert (err.line, err.column, err.offset) == (1, 11, 10)


def test_unterminated_string_points_at_the_opening_quote(fails):
    err = _error(fails, "name = 'abc")
    assert err.message == "unterminated string"
    assert (err.line, err.column) == (1, 8)


def test_missing_closing_parenthesis(fails):
    err = _error(fails, "IF(TRUE, 1, 2")
    assert err.message == "missing ')'"
    assert err.column == 14


def test_formula_ending_after_an_operator(fails):
    err = _error(fails, "amount +")
    assert err.message == "unexpected end of formula"
    assert err.column == 9


def test_two_values_without_operator(fails):
    err = _error(fails, "amount amount")
    assert err.message == "unexpected 'amount'"
    assert err.column == 8


def test_unexpected_character(fails):
    err = _error(fails, "amount # 2")
    assert err.message == "unexpected character '#'"
    assert err.column == 8


def test_comparisons_do_not_chain(fails):
    err = _error(fails, "1 < 2 < 3")
    assert err.message == "unexpected '<'"
    assert err.column == 7


def test_trailing_comma_in_call(fails):
    err = _error(fails, "MAX(1, 2,)")
    assert err.message == "unexpected ')'"
    assert err.column == 10


def test_dot_without_field_name(fails):
    err = _error(fails, "account.")
    assert err.message == "a field name must follow '.'"
    assert err.column == 8


def test_unterminated_comment(fails):
    err = _error(fails, "1 + /* note")
    assert err.message == "unterminated comment"
    assert err.column == 5


def test_empty_formula(fails):
    assert _error(fails, "   \n ").message == "the formula is empty"


def test_syntax_error_positions_in_multi_line_source(fails):
    source = "IF(\n  amount > 10,\n  'big' 'small',\n  'x')"
    err = _error(fails, source)
    assert err.message == "unexpected ''small''"
    assert (err.line, err.column) == (3, 9)
    assert source[err.offset] == "'"


def test_unterminated_string_on_a_later_line(fails):
    err = _error(fails, "AND(\n\tTRUE,\n\tname = \"x)")
    assert err.message == "unterminated string"
    assert (err.line, err.column) == (3, 9)


def test_error_text_includes_the_position(fails):
    err = _error(fails, "1 +* 2")
    assert str(err) == "unexpected '*' (line 1, column 4)"
