"""The FunctionRegistry seam: plugins adding ordinary and special functions."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tessera.expressions import (
    ANY,
    CallInfo,
    EvalContext,
    FormulaEvaluationError,
    FormulaType,
    FormulaTypeError,
    FunctionArgumentError,
    FunctionRegistry,
    FunctionSpec,
    compile_expression,
    default_functions,
)

F = FormulaType


def _discounted() -> FunctionSpec:
    return FunctionSpec(
        name="discounted",
        impl=lambda price, pct: price * (1 - pct / 100),
        params=(F.NUMBER, F.NUMBER),
        returns=F.NUMBER,
        doc="DISCOUNTED(price, percent): price reduced by percent.",
    )


def test_default_functions_has_every_required_builtin():
    required = (
        "AND OR NOT IF CASE ISBLANK BLANKVALUE TODAY NOW DATE YEAR MONTH DAY ADDMONTHS "
        "DAYS_BETWEEN TEXT VALUE LEN LOWER UPPER CONTAINS BEGINS REGEX ROUND ABS MIN MAX "
        "INCLUDES ISCHANGED PRIORVALUE MOD FLOOR CEILING TRIM LEFT RIGHT SUBSTITUTE "
        "DATEVALUE ISNUMBER"
    ).split()
    registry = default_functions()
    assert set(required) <= set(registry.names())
    assert all(spec.doc for spec in registry)


def test_plugin_function_is_callable_from_formulas(scope):
    registry = default_functions()
    registry.register(_discounted())
    compiled = compile_expression("Discounted(amount, 10)", scope, functions=registry)
    assert compiled.result_type is F.NUMBER
    assert compiled(EvalContext({"amount": 200})) == Decimal(180)


def test_plugin_functions_get_null_propagation_by_default(scope):
    registry = default_functions()
    registry.register(_discounted())
    compiled = compile_expression("DISCOUNTED(amount, 10)", scope, functions=registry)
    assert compiled(EvalContext({"amount": None})) is None


def test_plugin_arguments_are_type_checked(scope):
    registry = default_functions()
    registry.register(_discounted())
    with pytest.raises(FormulaTypeError) as info:
        compile_expression("DISCOUNTED(name, 10)", scope, functions=registry)
    assert info.value.message == "DISCOUNTED's argument 1 must be number, not text"


def test_extending_a_copy_leaves_the_defaults_untouched(scope):
    registry = default_functions()
    registry.register(_discounted())
    assert "DISCOUNTED" not in default_functions()
    with pytest.raises(FormulaTypeError) as info:
        compile_expression("DISCOUNTED(1, 2)", scope)
    assert info.value.message == "unknown function 'DISCOUNTED'"


def test_registry_copy_is_independent():
    base = FunctionRegistry([_discounted()])
    clone = base.copy()
    clone.register(FunctionSpec("TWICE", lambda x: x * 2, (F.NUMBER,), F.NUMBER))
    assert "TWICE" in clone and "TWICE" not in base
    assert "DISCOUNTED" in clone


def test_registering_a_duplicate_name_raises():
    registry = default_functions()
    with pytest.raises(ValueError, match="function 'ROUND' is already registered"):
        registry.register(FunctionSpec("round", lambda x: x, (F.NUMBER,), F.NUMBER))


def test_replace_allows_overriding_deliberately(scope):
    registry = default_functions()
    registry.register(
        FunctionSpec("UPPER", lambda t: "!" + (t or ""), (F.TEXT,), F.TEXT, propagate_null=False),
        replace=True,
    )
    compiled = compile_expression("UPPER('a')", scope, functions=registry)
    assert compiled(EvalContext({})) == "!a"


@pytest.mark.parametrize("name", ["", "1ABC", "MY-FUNC", "A B"])
def test_invalid_function_names_are_rejected(name):
    with pytest.raises(ValueError):
        FunctionSpec(name, lambda: None, (), F.NUMBER)


def test_optional_and_variadic_arity(scope):
    registry = default_functions()
    registry.register(
        FunctionSpec("JOIN", lambda *parts: "-".join(parts), (F.TEXT,), F.TEXT, variadic=True,
                     min_args=2)  # fmt: skip
    )
    compiled = compile_expression("JOIN('a', 'b', 'c')", scope, functions=registry)
    assert compiled(EvalContext({})) == "a-b-c"
    with pytest.raises(FormulaTypeError) as info:
        compile_expression("JOIN('a')", scope, functions=registry)
    assert info.value.message == "JOIN expects at least 2 arguments, got 1"


def test_context_aware_plugin_function(scope):
    registry = default_functions()
    registry.register(
        FunctionSpec("CURRENT_YEAR", lambda ctx: Decimal(ctx.today.year), (), F.NUMBER,
                     needs_context=True)  # fmt: skip
    )
    from datetime import date

    compiled = compile_expression("CURRENT_YEAR()", scope, functions=registry)
    assert compiled(EvalContext({}, today=date(2031, 1, 1))) == Decimal(2031)


def test_polymorphic_return_type_and_argument_errors(scope):
    def returns(types):
        if types[0] is F.TEXT:
            raise FunctionArgumentError(0, "FIRST cannot take text")
        return types[0]

    registry = default_functions()
    registry.register(FunctionSpec("FIRST", lambda a: a, (ANY,), returns))
    assert compile_expression("FIRST(close_date)", scope, functions=registry).result_type is F.DATE
    with pytest.raises(FormulaTypeError) as info:
        compile_expression("FIRST(name)", scope, functions=registry)
    assert (info.value.message, info.value.column) == ("FIRST cannot take text", 7)


def test_special_form_plugin_gets_compiled_arguments(scope):
    seen = {}

    def build(call: CallInfo):
        seen["path"] = call.args[0].path
        seen["constant"] = call.args[1].constant
        value = call.args[0].evaluate
        factor = call.args[1].constant
        return lambda ctx: None if (v := value(ctx)) is None else v * factor

    registry = default_functions()
    registry.register(
        FunctionSpec("SCALE", build, (F.NUMBER, F.NUMBER), F.NUMBER, special=True)
    )
    compiled = compile_expression("SCALE(amount, 3)", scope, functions=registry)
    assert compiled(EvalContext({"amount": 2})) == Decimal(6)
    assert seen == {"path": ("amount",), "constant": Decimal(3)}


def test_plugin_exceptions_become_evaluation_errors_at_the_call(scope):
    def explode(value):
        raise RuntimeError("service unavailable")

    registry = default_functions()
    registry.register(FunctionSpec("LOOKUP_RATE", explode, (F.TEXT,), F.NUMBER))
    compiled = compile_expression("1 + LOOKUP_RATE('EUR')", scope, functions=registry)
    with pytest.raises(FormulaEvaluationError) as info:
        compiled(EvalContext({}))
    assert info.value.message == "LOOKUP_RATE failed: service unavailable"
    assert info.value.column == 5


def test_plugin_text_results_are_bounded(scope):
    from tessera.expressions import FormulaLimitError, Limits

    registry = default_functions()
    registry.register(FunctionSpec("BIG", lambda: "x" * 50, (), F.TEXT))
    compiled = compile_expression("BIG()", scope, functions=registry, limits=Limits(
        max_text_length=10))  # fmt: skip
    with pytest.raises(FormulaLimitError):
        compiled(EvalContext({}))


def test_every_builtin_is_documented_in_the_reference():
    import pathlib

    reference = pathlib.Path(__file__).resolve().parents[2] / "docs" / "formulas.md"
    text = reference.read_text(encoding="utf-8")
    missing = [name for name in default_functions().names() if f"`{name}(" not in text]
    assert not missing
