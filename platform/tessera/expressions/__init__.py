"""Tessera's formula language: one safe, spreadsheet-style expression language for
validation rules, defaults, formula fields, visibility conditions, flow conditions and
assignment/pricing rules.

    compiled = compile_expression("amount * probability / 100", scope,
                                  expected=FormulaType.NUMBER)
    compiled(EvalContext({"amount": 1000, "probability": 15}))   # Decimal('150')

Formulas are parsed with lark (LALR), type-checked against a :class:`Scope` and
compiled once into Python closures. Nothing is ever passed to ``eval``/``exec``.
See docs/formulas.md for the language reference.
"""

from .api import CompiledExpression, compile_expression
from .context import EvalContext
from .errors import (
    FormulaError,
    FormulaEvaluationError,
    FormulaLimitError,
    FormulaSyntaxError,
    FormulaTypeError,
)
from .functions import default_functions
from .limits import DEFAULT_LIMITS, Limits
from .registry import (
    NOT_CONSTANT,
    Argument,
    CallInfo,
    FunctionArgumentError,
    FunctionRegistry,
    FunctionSpec,
    common_type,
)
from .scope import MappingScope, Scope
from .types import ANY, SCALAR, FormulaType

__all__ = [
    "FormulaType",
    "compile_expression",
    "CompiledExpression",
    "EvalContext",
    "Scope",
    "MappingScope",
    "FunctionRegistry",
    "FunctionSpec",
    "default_functions",
    "Limits",
    "DEFAULT_LIMITS",
    "FormulaError",
    "FormulaSyntaxError",
    "FormulaTypeError",
    "FormulaLimitError",
    "FormulaEvaluationError",
    # for function authors
    "ANY",
    "SCALAR",
    "Argument",
    "CallInfo",
    "FunctionArgumentError",
    "NOT_CONSTANT",
    "common_type",
]
