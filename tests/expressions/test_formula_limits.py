"""Limits: source length, nesting depth, node count, exponents and text size."""

from __future__ import annotations

import time

import pytest

from tessera.expressions import (
    DEFAULT_LIMITS,
    EvalContext,
    FormulaLimitError,
    Limits,
    compile_expression,
)


def test_default_limits():
    assert DEFAULT_LIMITS == Limits(
        max_length=4000, max_depth=50, max_nodes=1000, max_text_length=100_000
    )


def test_source_longer_than_the_limit_is_refused_before_parsing(fails):
    source = "1 + " * 1000 + "1"
    err = fails(source, error=FormulaLimitError)
    assert err.message == f"the formula is too long: {len(source)} characters, the limit is 4000"
    assert err.offset == 4000


def test_ten_thousand_nested_parentheses_fail_fast_with_the_default_limits(fails):
    started = time.perf_counter()
    err = fails("(" * 10_000 + "1" + ")" * 10_000, error=FormulaLimitError)
    assert "too long" in err.message
    assert time.perf_counter() - started < 0.5


def test_ten_thousand_nested_parentheses_fail_on_depth_without_recursion_error(fails):
    source = "(" * 10_000 + "1" + ")" * 10_000
    err = fails(source, error=FormulaLimitError, limits=Limits(max_length=100_000))
    assert err.message == "the formula nests too deeply: 10001 levels, the limit is 50"
    assert err.offset == 10_000  # the innermost value


def test_deep_unary_minus_fails_on_depth(fails):
    err = fails("-" * 3000 + "1", error=FormulaLimitError)
    assert err.message.startswith("the formula nests too deeply")


def test_nested_function_calls_count_towards_depth(scope):
    ok = "ABS(" * 49 + "1" + ")" * 49
    assert compile_expression(ok, scope).result_type.name == "NUMBER"
    with pytest.raises(FormulaLimitError):
        compile_expression("ABS(" * 50 + "1" + ")" * 50, scope)


def test_too_many_nodes(fails):
    source = " + ".join(["MAX(1, 2, 3, 4, 5, 6, 7, 8, 9)"] * 110)  # 1209 nodes, depth 111
    err = fails(source, error=FormulaLimitError, limits=Limits(max_depth=200))
    assert err.message.startswith("the formula is too complex: ")


def test_many_nodes_in_a_wide_call_are_counted(fails):
    source = "MAX(" + ",".join(["amount"] * 1000) + ")"
    err = fails(source, error=FormulaLimitError, limits=Limits(max_length=10_000))
    assert err.message == (
        "the formula is too complex: 1001 elements (values, fields, operators and function "
        "calls), the limit is 1000"
    )


def test_node_count_is_exposed(scope):
    assert compile_expression("amount * 2 + 1", scope).node_count == 5


def test_max_depth_cannot_exceed_the_safe_ceiling():
    with pytest.raises(ValueError):
        Limits(max_depth=10_000)


def test_deep_formula_at_the_ceiling_compiles_and_evaluates(scope):
    limits = Limits(max_depth=200, max_length=100_000, max_nodes=100_000)
    source = "IF(amount > 1, " * 99 + "1" + ", 0)" * 99
    compiled = compile_expression(source, scope, limits=limits)
    assert compiled(EvalContext({"amount": 5})) == 1


def test_text_blowup_through_concatenation_is_stopped(scope):
    limits = Limits(max_text_length=1000)
    compiled = compile_expression("name & name & name", scope, limits=limits)
    assert len(compiled(EvalContext({"name": "x" * 300}))) == 900
    with pytest.raises(FormulaLimitError) as info:
        compiled(EvalContext({"name": "x" * 400}))
    assert info.value.message == "text too long: 1200 characters, the limit is 1000"
    assert info.value.column == 13


def test_doubling_text_hits_the_default_limit(scope):
    # each level doubles the text: 2^20 characters would be built without the limit
    source = "SUBSTITUTE(" * 20 + "'xx'" + ", 'x', 'xx')" * 20
    with pytest.raises(FormulaLimitError) as info:
        compile_expression(source, scope)(EvalContext({}))
    assert info.value.message.endswith("the limit is 100000")


def test_substitute_checks_the_size_before_building(scope):
    compiled = compile_expression("SUBSTITUTE(name, 'a', description)", scope)
    ctx = EvalContext({"name": "a" * 100_000, "description": "b" * 100_000})
    with pytest.raises(FormulaLimitError) as info:
        compiled(ctx)
    assert info.value.message == (
        "text too long: 10000000000 characters, the limit is 100000"
    )


def test_text_function_results_are_bounded(scope):
    compiled = compile_expression("UPPER(name)", scope, limits=Limits(max_text_length=10))
    with pytest.raises(FormulaLimitError):
        compiled(EvalContext({"name": "abcdefghijk"}))


def test_exponent_limit_is_configurable(scope):
    compiled = compile_expression("2 ^ amount", scope, limits=Limits(max_exponent=10))
    assert compiled(EvalContext({"amount": 10})) == 1024
    with pytest.raises(Exception) as info:
        compiled(EvalContext({"amount": 11}))
    assert info.value.message == "exponent too large: the limit is 10"
