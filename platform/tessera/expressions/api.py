"""``compile_expression`` and the compiled result."""

from __future__ import annotations

from typing import Any

from .checker import Checker
from .compiler import Compiler
from .context import EvalContext
from .errors import FormulaError, FormulaEvaluationError, FormulaLimitError, FormulaTypeError
from .functions import shared_defaults
from .limits import DEFAULT_LIMITS, Limits
from .parser import parse
from .registry import FunctionRegistry
from .scope import Scope
from .types import FormulaType
from .values import describe_exception

__all__ = ["compile_expression", "CompiledExpression"]


class CompiledExpression:
    """A checked formula compiled to closures; immutable and safe to share between
    threads. Evaluate with ``compiled.evaluate(ctx)`` or ``compiled(ctx)``.

    ``references``: every field path the formula reads (including under ISCHANGED and
    PRIORVALUE), for dependency ordering and prefetching; a path like
    ``("account", "industry")`` implies the lookup ``("account",)`` is read too.
    ``uses_prior``: whether prior values are read. ``node_count``: the formula's size.
    ``volatile``: whether the result depends on the clock (TODAY, NOW).
    """

    __slots__ = ("source", "result_type", "references", "uses_prior", "node_count", "volatile", "_fn")

    source: str
    result_type: FormulaType
    references: frozenset[tuple[str, ...]]
    uses_prior: bool
    node_count: int
    volatile: bool

    def __init__(
        self,
        source: str,
        result_type: FormulaType,
        references: frozenset[tuple[str, ...]],
        uses_prior: bool,
        node_count: int,
        fn: Any,
        volatile: bool = False,
    ) -> None:
        for name, value in (
            ("source", source),
            ("result_type", result_type),
            ("references", references),
            ("uses_prior", uses_prior),
            ("node_count", node_count),
            ("volatile", volatile),
            ("_fn", fn),
        ):
            object.__setattr__(self, name, value)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("CompiledExpression is immutable")

    def __delattr__(self, name: str) -> None:
        raise AttributeError("CompiledExpression is immutable")

    def evaluate(self, ctx: EvalContext) -> Any:
        """Evaluate against ``ctx``. Raises only FormulaError subclasses."""
        try:
            return self._fn(ctx)
        except FormulaError as exc:
            if exc.offset is None:
                exc.locate(self.source, 0)
            raise
        except RecursionError:  # pragma: no cover - depth is bounded at compile time
            raise FormulaEvaluationError.at("the formula nests too deeply", self.source, 0) from None
        except Exception as exc:
            raise FormulaEvaluationError.at(
                f"could not evaluate the formula: {describe_exception(exc)}", self.source, 0
            ) from exc

    __call__ = evaluate

    def __repr__(self) -> str:
        return f"CompiledExpression({self.source!r}, result_type={self.result_type.name})"


def compile_expression(
    source: str,
    scope: Scope,
    *,
    expected: FormulaType | None = None,
    functions: FunctionRegistry | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> CompiledExpression:
    """Parse, type-check and compile ``source``.

    ``expected``: the type the caller needs (BOOLEAN for a validation condition, the
    field's type for a formula field or default); a NULL result is always accepted.
    ``functions``: the registry to use (default: the built-ins).
    Raises FormulaSyntaxError, FormulaTypeError or FormulaLimitError, located in source.
    """
    if not isinstance(source, str):
        raise TypeError("compile_expression() expects the formula source as a str")
    registry = shared_defaults() if functions is None else functions
    root = parse(source, limits)
    checker = Checker(source, scope, registry)
    try:
        result_type = checker.check(root)
        fn = Compiler(source, registry, limits).compile(root)
    except RecursionError:  # pragma: no cover - Limits caps max_depth well below the limit
        raise FormulaLimitError.at("the formula nests too deeply", source, 0) from None
    if expected is not None and result_type is not FormulaType.NULL and result_type is not expected:
        raise FormulaTypeError.at(
            f"expected {expected.label}, but the expression gives {result_type.label}",
            source,
            root.start,
        )
    return CompiledExpression(
        source,
        result_type,
        frozenset(checker.references),
        checker.uses_prior,
        root.size,
        fn,
        checker.volatile,
    )
