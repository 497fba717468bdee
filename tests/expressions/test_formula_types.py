"""Static checking: result types, type errors with exact messages and positions, and
field resolution through Scope/MappingScope."""

from __future__ import annotations

import pytest

from tessera.expressions import FormulaType, FormulaTypeError, MappingScope, compile_expression

F = FormulaType


@pytest.mark.parametrize(
    ("source", "result_type"),
    [
        ("amount * 2", F.NUMBER),
        ("name & 1", F.TEXT),
        ("amount > 1", F.BOOLEAN),
        ("close_date + 3", F.DATE),
        ("3 + close_date", F.DATE),
        ("close_date - start_date", F.NUMBER),
        ("created_at + 0.5", F.DATETIME),
        ("created_at - updated_at", F.NUMBER),
        ("TODAY()", F.DATE),
        ("NOW()", F.DATETIME),
        ("account", F.ID),
        ("account.parent", F.ID),
        ("account.parent.name", F.TEXT),
        ("tags", F.LIST),
        ("settings", F.JSON),
        ("NULL", F.NULL),
        ("NULL + 1", F.NUMBER),
        ("IF(is_active, NULL, 'x')", F.TEXT),
        ("PRIORVALUE(close_date)", F.DATE),
        ("ADDMONTHS(created_at, 1)", F.DATETIME),
        ("MAX(close_date, start_date)", F.DATE),
    ],
)
def test_result_types(scope, source, result_type):
    assert compile_expression(source, scope).result_type is result_type


def _type_error(fails, source, **options):
    return fails(source, error=FormulaTypeError, **options)


@pytest.mark.parametrize(
    ("source", "message", "column"),
    [
        ("amount + name", "cannot add number and text", 8),
        ("name - 1", "cannot subtract number from text", 6),
        ("name * 2", "cannot multiply text by number", 6),
        ("amount / is_active", "cannot divide number by boolean", 8),
        ("2 ^ name", "cannot raise number to the power of text", 3),
        ("close_date + start_date", "cannot add date and date", 12),
        ("close_date - created_at", "cannot subtract datetime from date", 12),
        ("-name", "cannot negate text", 1),
        ("!amount", "'!' needs a boolean value, not number", 1),
        ("amount = name", "cannot compare number and text", 8),
        ("close_date < created_at", "cannot compare date and datetime", 12),
        ("is_active < TRUE", "cannot compare boolean values with '<' (only = and <> can)", 11),
        ("account > 3", "cannot compare record id values with '>' (only = and <> can)", 9),
        ("tags = 'a'", "cannot compare multi-select list values with '='", 6),
        ("settings & 'x'", "cannot join JSON value as text with '&'", 10),
        ("amount && TRUE", "'&&' needs boolean values on both sides, not number", 8),
        ("TRUE || name", "'||' needs boolean values on both sides, not text", 6),
        ("tags + 1", "cannot add multi-select list and number", 6),
    ],
)
def test_operator_type_errors_name_the_types_and_point_at_the_operator(
    fails, source, message, column
):
    err = _type_error(fails, source)
    assert err.message == message
    assert (err.line, err.column) == (1, column)


def test_unknown_field_suggests_the_closest_name(fails):
    err = _type_error(fails, "amout * 2")
    assert err.message == "unknown field 'amout' (did you mean 'amount'?)"
    assert (err.offset, err.column) == (0, 1)


def test_unknown_field_without_close_match(fails):
    assert _type_error(fails, "zzz").message == "unknown field 'zzz'"


def test_unknown_field_on_a_lookup_points_at_that_segment(fails):
    err = _type_error(fails, "1 + account.industy")
    assert err.message == "unknown field 'industy' on account (did you mean 'industry'?)"
    assert err.column == 13


def test_following_a_non_lookup_field_is_rejected(fails):
    err = _type_error(fails, "name.industry")
    assert err.message == "'name' is not a lookup, so '.industry' cannot follow it"
    assert err.column == 6


def test_field_names_must_be_lowercase(fails):
    err = _type_error(fails, "Amount > 1")
    assert err.message == "field names are lowercase: write 'amount', not 'Amount'"


def test_unknown_function(fails):
    err = _type_error(fails, "1 + SUMM(amount)")
    assert err.message == "unknown function 'SUMM'"
    assert err.column == 5


def test_unknown_function_suggests_a_close_builtin(fails):
    assert _type_error(fails, "ISBLNK(name)").message == (
        "unknown function 'ISBLNK' (did you mean 'ISBLANK'?)"
    )


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("IF(TRUE, 1)", "IF expects 3 arguments, got 2"),
        ("NOT(TRUE, FALSE)", "NOT expects 1 argument, got 2"),
        ("TODAY(1)", "TODAY expects 0 arguments, got 1"),
        ("ROUND()", "ROUND expects 1 to 2 arguments, got 0"),
        ("AND()", "AND expects at least 1 argument, got 0"),
        ("CASE(stage, 'a', 1)", "CASE expects at least 4 arguments, got 3"),
    ],
)
def test_wrong_argument_count_is_reported_at_the_function_name(fails, source, message):
    err = _type_error(fails, "  " + source)
    assert err.message == message
    assert err.column == 3


@pytest.mark.parametrize(
    ("source", "message", "column"),
    [
        ("ROUND(amount, 'x')", "ROUND's argument 2 must be number, not text", 15),
        ("LEN(amount)", "LEN's argument 1 must be text, not number", 5),
        ("AND(TRUE, amount)", "AND's argument 2 must be boolean, not number", 11),
        ("YEAR(name)", "YEAR's argument 1 must be date or datetime, not text", 6),
        ("TEXT(tags)", "TEXT's argument 1 must be a single value, not multi-select list", 6),
        ("INCLUDES(name, 'a')", "INCLUDES's argument 1 must be multi-select list, not text", 10),
        ("IF(amount, 1, 2)", "IF's argument 1 must be boolean, not number", 4),
    ],
)
def test_argument_type_errors_point_at_the_argument(fails, source, message, column):
    err = _type_error(fails, source)
    assert err.message == message
    assert err.column == column


def test_if_branches_must_agree(fails):
    err = _type_error(fails, "IF(is_active, 1, 'one')")
    assert err.message == (
        "IF's results must have the same type, not number (argument 2) and text (argument 3)"
    )
    assert err.column == 18


def test_case_values_must_match_the_tested_type(fails):
    err = _type_error(fails, "CASE(amount, 'a', 1, 2)")
    assert err.message == "CASE cannot compare number with text (argument 2)"
    assert err.column == 14


def test_case_needs_an_else_result(fails):
    err = _type_error(fails, "CASE(stage, 'a', 1, 'b', 2)")
    assert err.message.startswith("CASE needs an else result as its last argument")


def test_ischanged_needs_a_field(fails):
    err = _type_error(fails, "ISCHANGED(amount * 2)")
    assert err.message == "ISCHANGED needs a field, not an expression"
    assert err.column == 11


def test_priorvalue_rejects_lookup_paths(fails):
    err = _type_error(fails, "PRIORVALUE(account.name)")
    assert err.message == (
        "PRIORVALUE works on fields of this record, not on the lookup path 'account.name'"
    )
    assert err.column == 12


def test_expected_type_mismatch(fails):
    err = _type_error(fails, "amount * 2", expected=F.BOOLEAN)
    assert err.message == "expected boolean, but the expression gives number"
    assert err.column == 1


def test_expected_type_accepts_matching_and_null_results(scope):
    assert compile_expression("amount * 2", scope, expected=F.NUMBER).result_type is F.NUMBER
    assert compile_expression("NULL", scope, expected=F.BOOLEAN).result_type is F.NULL


def test_type_error_positions_in_multi_line_source(fails):
    err = _type_error(fails, "AND(\n  is_active,\n  amount + name\n)")
    assert err.message == "cannot add number and text"
    assert (err.line, err.column) == (3, 10)


def test_lists_and_json_are_only_usable_with_blank_and_change_functions(scope):
    for source in (
        "ISBLANK(tags)",
        "ISCHANGED(tags)",
        "INCLUDES(tags, 'a')",
        "BLANKVALUE(settings, settings)",
        "ISBLANK(settings)",
    ):
        compile_expression(source, scope)
    with pytest.raises(FormulaTypeError):
        compile_expression("LEN(settings)", scope)


def test_id_compares_with_id_number_and_null(scope):
    for source in ("account = account.parent", "account = 5", "account <> NULL"):
        assert compile_expression(source, scope).result_type is F.BOOLEAN


class TestMappingScope:
    def test_nested_mapping_is_a_lookup(self):
        scope = MappingScope({"account": {"name": F.TEXT}})
        assert scope.resolve(("account",)) is F.ID
        assert scope.resolve(("account", "name")) is F.TEXT

    def test_unknown_top_level_field_names_a_custom_object(self):
        scope = MappingScope({"amount": F.NUMBER}, object_name="opportunity")
        with pytest.raises(LookupError) as info:
            scope.resolve(("amout",))
        assert str(info.value) == "unknown field 'amout' on opportunity (did you mean 'amount'?)"

    def test_scope_message_is_reported_verbatim(self):
        class Custom:
            def resolve(self, path):
                raise LookupError("no such thing here")

        with pytest.raises(FormulaTypeError) as info:
            compile_expression("x + 1", Custom())
        assert info.value.message == "no such thing here"
