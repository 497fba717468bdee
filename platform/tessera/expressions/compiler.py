"""Turn a checked syntax tree into nested Python closures.

Compilation happens once; evaluating is then a chain of plain function calls with
no tree walking or per-node dispatch. Every closure takes the EvalContext and returns
the node's value. Run-time failures are raised as FormulaErrors located at the node
(operator, function name) that failed; ``try`` blocks are free in CPython 3.11+
when nothing is raised, so the happy path pays nothing for that.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from .errors import FormulaError, FormulaEvaluationError, FormulaLimitError, FormulaTypeError, Position
from .limits import Limits
from .nodes import Binary, Call, FieldRef, Literal, Node, Unary
from .registry import NOT_CONSTANT, Argument, CallInfo, FunctionArgumentError, FunctionRegistry
from .types import FormulaType
from .values import CTX, coercer_for, describe_exception, fast_class_for, to_text

__all__ = ["Compiler"]

Fn = Callable[[Any], Any]
N, T, D, DT, NULL = (
    FormulaType.NUMBER,
    FormulaType.TEXT,
    FormulaType.DATE,
    FormulaType.DATETIME,
    FormulaType.NULL,
)
_MICROS_PER_DAY = Decimal(86_400_000_000)


# ---------------------------------------------------------------- date arithmetic
def _whole_days(n: Decimal) -> timedelta:
    return timedelta(days=int(n))  # int() truncates toward zero


def _date_plus(d: date, n: Decimal) -> date:
    return d + _whole_days(n)


def _date_minus(d: date, n: Decimal) -> date:
    return d - _whole_days(n)


def _days(delta: timedelta) -> Decimal:
    micros = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
    return CTX.divide(Decimal(micros), _MICROS_PER_DAY)


def _datetime_plus(d: datetime, n: Decimal) -> datetime:
    return d + timedelta(microseconds=int(CTX.multiply(n, _MICROS_PER_DAY)))


def _datetime_minus(d: datetime, n: Decimal) -> datetime:
    return d - timedelta(microseconds=int(CTX.multiply(n, _MICROS_PER_DAY)))


def _swap(fn: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    return lambda a, b: fn(b, a)


def _power(max_exponent: int) -> Callable[[Decimal, Decimal], Decimal | None]:
    def power(a: Decimal, b: Decimal) -> Decimal | None:
        if abs(b) > max_exponent:
            raise FormulaEvaluationError(f"exponent too large: the limit is {max_exponent}")
        if not a:
            if b < 0:
                return None  # 0 ^ -n is a division by zero
            if not b:
                return Decimal(1)
        integral = b == b.to_integral_value()
        if a < 0 and not integral:
            raise FormulaEvaluationError("cannot raise a negative number to a fractional power")
        return CTX.power(a, b)

    return power


_ORDERED = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}


def _constant(node: Node) -> Any:
    """The literal value of ``node`` (folding a minus sign), or NOT_CONSTANT."""
    if isinstance(node, Literal):
        return node.value
    if isinstance(node, Unary) and node.op in "-+" and isinstance(node.operand, Literal):
        value = node.operand.value
        if isinstance(value, Decimal):
            return CTX.minus(value) if node.op == "-" else value
    return NOT_CONSTANT


class Compiler:
    """Compiles checked nodes of one formula into closures."""

    def __init__(self, source: str, functions: FunctionRegistry, limits: Limits) -> None:
        self.source = source
        self.functions = functions
        self.limits = limits

    def pos(self, offset: int) -> Position:
        return Position(self.source, offset)

    def compile(self, node: Node) -> Fn:
        constant = _constant(node)
        if constant is not NOT_CONSTANT:
            return lambda ctx: constant
        if isinstance(node, FieldRef):
            return self._field(node)
        if isinstance(node, Unary):
            return self._unary(node)
        if isinstance(node, Binary):
            return self._binary(node)
        if isinstance(node, Call):
            return self._call(node)
        raise TypeError(f"cannot compile {node!r}")  # pragma: no cover

    # ------------------------------------------------------------------ fields
    def _field(self, node: FieldRef) -> Fn:
        assert node.type is not None
        path, coerce, fast = node.path, coercer_for(node.type), fast_class_for(node.type)
        label, where = f"field '{node.text}'", self.pos(node.start)

        def convert(value: Any) -> Any:
            try:
                return coerce(value, label)
            except FormulaError as exc:
                raise where.apply(exc)

        if len(path) == 1:
            name = path[0]
            if fast is not None:

                def read(ctx: Any) -> Any:
                    value = ctx.values.get(name)
                    if value is None or value.__class__ is fast:
                        return value
                    return convert(value)

                return read
            return lambda ctx: convert(ctx.values.get(name))
        return self._path(node, path, convert)

    def _path(self, node: FieldRef, path: tuple[str, ...], convert: Fn) -> Fn:
        head, last, where = path[:-1], path[-1], self.pos(node.start)
        text = node.text

        def read(ctx: Any) -> Any:
            current = ctx.values
            for step in head:
                current = current.get(step)
                if current is None:
                    return None
                if current.__class__ is not dict and not isinstance(current, Mapping):
                    return resolve(ctx)
            return convert(current.get(last))

        def resolve(ctx: Any) -> Any:
            resolver = ctx.resolver
            if resolver is None:
                raise where.error(
                    FormulaEvaluationError, f"cannot read '{text}': the related record is not loaded"
                )
            try:
                value = resolver(path)
            except FormulaError as exc:
                raise where.apply(exc)
            except Exception as exc:
                raise where.error(
                    FormulaEvaluationError, f"cannot read '{text}': {describe_exception(exc)}"
                ) from exc
            return convert(value)

        return read

    # ------------------------------------------------------------------ operators
    def _unary(self, node: Unary) -> Fn:
        operand = self.compile(node.operand)
        if node.op == "!":
            return lambda ctx: not operand(ctx)
        if node.op == "+":
            return operand
        minus = CTX.minus
        return lambda ctx: None if (value := operand(ctx)) is None else minus(value)

    def _binary(self, node: Binary) -> Fn:
        op = node.op
        if op in ("&&", "||"):
            left, right = self.compile(node.left), self.compile(node.right)
            if op == "&&":
                return lambda ctx: True if left(ctx) and right(ctx) else False
            return lambda ctx: True if left(ctx) or right(ctx) else False
        if op == "&":
            return self._concat(node)
        if op in ("=", "<>"):
            return self._equality(node)
        if op in _ORDERED:
            return self._ordered(node)
        return self._arithmetic(node)

    def _arithmetic(self, node: Binary) -> Fn:
        lt, rt, op = node.left.type, node.right.type, node.op
        if lt is NULL or rt is NULL:
            return lambda ctx: None  # arithmetic with NULL gives NULL
        where = self.pos(node.op_start)
        if op == "/":
            return self._division(node, where)
        fn: Callable[[Any, Any], Any]
        if lt is N and rt is N:
            fn = {"+": CTX.add, "-": CTX.subtract, "*": CTX.multiply}.get(op) or _power(
                self.limits.max_exponent
            )
        elif op == "+":
            fn = {(D, N): _date_plus, (N, D): _swap(_date_plus), (DT, N): _datetime_plus,
                  (N, DT): _swap(_datetime_plus)}[(lt, rt)]  # fmt: skip
        else:
            fn = {(D, N): _date_minus, (D, D): lambda a, b: Decimal((a - b).days),
                  (DT, N): _datetime_minus, (DT, DT): lambda a, b: _days(a - b)}[(lt, rt)]  # fmt: skip
        left = self.compile(node.left)
        constant = _constant(node.right)
        if constant is not NOT_CONSTANT:

            def run_constant(ctx: Any) -> Any:
                a = left(ctx)
                if a is None:
                    return None
                try:
                    return fn(a, constant)
                except FormulaError as exc:
                    raise where.apply(exc)
                except (ArithmeticError, ValueError) as exc:
                    raise where.error(FormulaEvaluationError, describe_exception(exc)) from None

            return run_constant
        right = self.compile(node.right)

        def run(ctx: Any) -> Any:
            a = left(ctx)
            if a is None:
                return None
            b = right(ctx)
            if b is None:
                return None
            try:
                return fn(a, b)
            except FormulaError as exc:
                raise where.apply(exc)
            except (ArithmeticError, ValueError) as exc:
                raise where.error(FormulaEvaluationError, describe_exception(exc)) from None

        return run

    def _division(self, node: Binary, where: Position) -> Fn:
        left, divide = self.compile(node.left), CTX.divide
        constant = _constant(node.right)
        if constant is not NOT_CONSTANT:
            if not constant:
                return lambda ctx: None  # division by zero gives NULL

            def run_constant(ctx: Any) -> Any:
                a = left(ctx)
                if a is None:
                    return None
                try:
                    return divide(a, constant)
                except ArithmeticError as exc:
                    raise where.error(FormulaEvaluationError, describe_exception(exc)) from None

            return run_constant
        right = self.compile(node.right)

        def run(ctx: Any) -> Any:
            a = left(ctx)
            if a is None:
                return None
            b = right(ctx)
            if not b:
                return None  # NULL or zero
            try:
                return divide(a, b)
            except ArithmeticError as exc:
                raise where.error(FormulaEvaluationError, describe_exception(exc)) from None

        return run

    def _concat(self, node: Binary) -> Fn:
        left, right = self.compile(node.left), self.compile(node.right)
        limit, where = self.limits.max_text_length, self.pos(node.op_start)
        if node.left.type in (T, NULL) and node.right.type in (T, NULL):
            join = lambda ctx: (left(ctx) or "") + (right(ctx) or "")  # noqa: E731
        else:
            join = lambda ctx: to_text(left(ctx)) + to_text(right(ctx))  # noqa: E731

        def run(ctx: Any) -> str:
            result = join(ctx)
            if len(result) > limit:
                raise where.error(
                    FormulaLimitError,
                    f"text too long: {len(result)} characters, the limit is {limit}",
                )
            return result

        return run

    def _equality(self, node: Binary) -> Fn:
        left = self.compile(node.left)
        right = self.compile(node.right)
        text = T in (node.left.type, node.right.type)
        constant = _constant(node.right)
        negate = node.op == "<>"
        if text:
            if constant is not NOT_CONSTANT:
                value = constant or ""
                if negate:
                    return lambda ctx: (left(ctx) or "") != value
                return lambda ctx: (left(ctx) or "") == value
            if negate:
                return lambda ctx: (left(ctx) or "") != (right(ctx) or "")
            return lambda ctx: (left(ctx) or "") == (right(ctx) or "")
        if constant is not NOT_CONSTANT:
            if negate:
                return lambda ctx: left(ctx) != constant
            return lambda ctx: left(ctx) == constant
        if negate:
            return lambda ctx: left(ctx) != right(ctx)
        return lambda ctx: left(ctx) == right(ctx)

    def _ordered(self, node: Binary) -> Fn:
        left, right, compare = self.compile(node.left), self.compile(node.right), _ORDERED[node.op]
        if NULL in (node.left.type, node.right.type):
            return lambda ctx: False  # ordered comparison with NULL is FALSE
        if node.left.type is T:

            def run_text(ctx: Any) -> bool:
                a = left(ctx)
                if not a:
                    return False
                b = right(ctx)
                if not b:
                    return False
                return compare(a, b)

            return run_text

        def run(ctx: Any) -> bool:
            a = left(ctx)
            if a is None:
                return False
            b = right(ctx)
            if b is None:
                return False
            return compare(a, b)

        return run

    # ------------------------------------------------------------------ calls
    def _call(self, node: Call) -> Fn:
        spec = self.functions[node.name]
        fns = [self.compile(arg) for arg in node.args]
        where = self.pos(node.start)
        if spec.special:
            args = tuple(
                Argument(
                    evaluate=fn,
                    type=arg.type,  # type: ignore[arg-type]
                    path=arg.path if isinstance(arg, FieldRef) else None,
                    constant=_constant(arg),
                    position=self.pos(arg.start),
                )
                for fn, arg in zip(fns, node.args)
            )
            info = CallInfo(spec.name, args, node.type, self.limits, where)  # type: ignore[arg-type]
            try:
                return spec.impl(info)
            except FunctionArgumentError as exc:
                offset = node.start if exc.index is None else node.args[exc.index].start
                raise FormulaTypeError.at(exc.message, self.source, offset) from None
        return _eager(spec.name, spec.impl, fns, spec.propagate_null, spec.needs_context,
                      node.type is T, self.limits.max_text_length, where)  # fmt: skip


def _failure(name: str, exc: Exception, where: Position) -> FormulaError:
    if isinstance(exc, FormulaError):
        return where.apply(exc)
    if isinstance(exc, (ArithmeticError, OverflowError)):
        return where.error(FormulaEvaluationError, f"{name}: {describe_exception(exc)}")
    return where.error(FormulaEvaluationError, f"{name} failed: {describe_exception(exc)}")


def _eager(
    name: str,
    impl: Callable[..., Any],
    fns: list[Fn],
    propagate: bool,
    needs_context: bool,
    text_result: bool,
    limit: int,
    where: Position,
) -> Fn:
    """Closure calling an ordinary function with its evaluated arguments."""

    def finish(result: Any) -> Any:
        if result.__class__ is str and len(result) > limit:
            raise where.error(
                FormulaLimitError, f"text too long: {len(result)} characters, the limit is {limit}"
            )
        return result

    if len(fns) == 1 and not needs_context:
        (f0,) = fns

        def call1(ctx: Any) -> Any:
            a = f0(ctx)
            if propagate and a is None:
                return None
            try:
                result = impl(a)
            except Exception as exc:
                raise _failure(name, exc, where) from exc
            return finish(result) if text_result else result

        return call1
    if len(fns) == 2 and not needs_context:
        f0, f1 = fns

        def call2(ctx: Any) -> Any:
            a, b = f0(ctx), f1(ctx)
            if propagate and (a is None or b is None):
                return None
            try:
                result = impl(a, b)
            except Exception as exc:
                raise _failure(name, exc, where) from exc
            return finish(result) if text_result else result

        return call2

    def call(ctx: Any) -> Any:
        values = [f(ctx) for f in fns]
        if propagate and None in values:
            return None
        try:
            result = impl(ctx, *values) if needs_context else impl(*values)
        except Exception as exc:
            raise _failure(name, exc, where) from exc
        return finish(result) if text_result else result

    return call
