"""Static checking: resolves fields and functions and assigns every node its type.

All problems found here are FormulaTypeErrors located at the offending node: the
identifier, the operator, the function name or the bad argument.
"""

from __future__ import annotations

from .errors import FormulaTypeError
from .nodes import Binary, Call, FieldRef, Literal, Node, Unary
from .registry import FunctionArgumentError, FunctionRegistry
from .scope import Scope, did_you_mean
from .types import FormulaType, accepts, param_label

__all__ = ["Checker", "arithmetic_type", "equality_ok", "ORDERED_TYPES"]

N, T, B = FormulaType.NUMBER, FormulaType.TEXT, FormulaType.BOOLEAN
D, DT, NULL = FormulaType.DATE, FormulaType.DATETIME, FormulaType.NULL

#: (operator, left, right) -> result type for arithmetic.
_ARITHMETIC: dict[str, dict[tuple[FormulaType, FormulaType], FormulaType]] = {
    "+": {(N, N): N, (D, N): D, (N, D): D, (DT, N): DT, (N, DT): DT},
    "-": {(N, N): N, (D, N): D, (D, D): N, (DT, N): DT, (DT, DT): N},
    "*": {(N, N): N},
    "/": {(N, N): N},
    "^": {(N, N): N},
}
_ARITHMETIC_WORDS = {
    "+": "cannot add {a} and {b}",
    "-": "cannot subtract {b} from {a}",
    "*": "cannot multiply {a} by {b}",
    "/": "cannot divide {a} by {b}",
    "^": "cannot raise {a} to the power of {b}",
}
ORDERED_TYPES = frozenset({N, T, D, DT})
_COMPARISONS = frozenset({"=", "<>", "<", "<=", ">", ">="})


def arithmetic_type(op: str, left: FormulaType, right: FormulaType) -> FormulaType | None:
    """Result type of ``left op right``, or None if the operator does not apply.
    NULL on one side takes whatever type makes the operation valid."""
    table = _ARITHMETIC[op]
    if left is NULL and right is NULL:
        return NULL
    if left is NULL:
        return next((res for (_, r), res in table.items() if r is right), None)
    if right is NULL:
        return next((res for (l, _), res in table.items() if l is left), None)
    return table.get((left, right))


def equality_ok(left: FormulaType, right: FormulaType) -> bool:
    """Can ``left = right`` be written? Same types, NULL with anything scalar, or a
    record id with a number."""
    if not (left.is_scalar and right.is_scalar):
        return False
    return left is right or NULL in (left, right) or {left, right} == {FormulaType.ID, N}


class Checker:
    """Type-checks one parsed formula, collecting the field paths it reads."""

    def __init__(self, source: str, scope: Scope, functions: FunctionRegistry) -> None:
        self.source = source
        self.scope = scope
        self.functions = functions
        self.references: set[tuple[str, ...]] = set()
        self.uses_prior = False
        self.volatile = False

    def error(self, message: str, offset: int) -> FormulaTypeError:
        return FormulaTypeError.at(message, self.source, offset)  # type: ignore[return-value]

    def check(self, node: Node) -> FormulaType:
        """Assign ``node.type`` (and its subtree's) and return it."""
        if isinstance(node, Literal):
            result = node.kind
        elif isinstance(node, FieldRef):
            result = self._field(node)
        elif isinstance(node, Unary):
            result = self._unary(node)
        elif isinstance(node, Binary):
            result = self._binary(node)
        elif isinstance(node, Call):
            result = self._call(node)
        else:  # pragma: no cover - the parser builds nothing else
            raise TypeError(f"unknown node {node!r}")
        node.type = result
        return result

    def _field(self, node: FieldRef) -> FormulaType:
        if node.text != node.text.lower():
            raise self.error(
                f"field names are lowercase: write '{node.text.lower()}', not '{node.text}'",
                node.start,
            )
        try:
            result = self.scope.resolve(node.path)
        except LookupError as exc:
            message = str(exc.args[0]) if exc.args else f"unknown field '{node.text}'"
            raise self.error(message, node.start + self._failing_segment(node.path)) from None
        if not isinstance(result, FormulaType):
            raise TypeError(f"Scope.resolve({node.path!r}) returned {result!r}, not a FormulaType")
        self.references.add(node.path)
        return result

    def _failing_segment(self, path: tuple[str, ...]) -> int:
        """Offset, within the path text, of the first segment the scope rejects, so the
        error points at 'industy' in 'account.industy'."""
        offset = 0
        for index in range(1, len(path)):
            try:
                self.scope.resolve(path[:index])
            except LookupError:
                return offset
            offset += len(path[index - 1]) + 1
        return offset

    def _unary(self, node: Unary) -> FormulaType:
        operand = self.check(node.operand)
        if node.op == "!":
            if operand not in (B, NULL):
                raise self.error(f"'!' needs a boolean value, not {operand.label}", node.op_start)
            return B
        if operand not in (N, NULL):
            verb = "negate" if node.op == "-" else "apply '+' to"
            raise self.error(f"cannot {verb} {operand.label}", node.op_start)
        return N

    def _binary(self, node: Binary) -> FormulaType:
        left, right, op = self.check(node.left), self.check(node.right), node.op
        if op in _ARITHMETIC:
            result = arithmetic_type(op, left, right)
            if result is None:
                message = _ARITHMETIC_WORDS[op].format(a=left.label, b=right.label)
                raise self.error(message, node.op_start)
            return result
        if op == "&":
            for side in (left, right):
                if not side.is_scalar:
                    raise self.error(f"cannot join {side.label} as text with '&'", node.op_start)
            return T
        if op in ("&&", "||"):
            for side in (left, right):
                if side not in (B, NULL):
                    raise self.error(
                        f"'{op}' needs boolean values on both sides, not {side.label}",
                        node.op_start,
                    )
            return B
        if op in _COMPARISONS:
            self._comparison(node, left, right)
            return B
        raise self.error(f"unknown operator '{op}'", node.op_start)  # pragma: no cover

    def _comparison(self, node: Binary, left: FormulaType, right: FormulaType) -> None:
        for side in (left, right):
            if not side.is_scalar:
                raise self.error(
                    f"cannot compare {side.label} values with '{node.op}'", node.op_start
                )
        if node.op in ("=", "<>"):
            if not equality_ok(left, right):
                raise self.error(f"cannot compare {left.label} and {right.label}", node.op_start)
            return
        for side in (left, right):
            if side is not NULL and side not in ORDERED_TYPES:
                raise self.error(
                    f"cannot compare {side.label} values with '{node.op}' (only = and <> can)",
                    node.op_start,
                )
        if left is not right and NULL not in (left, right):
            raise self.error(f"cannot compare {left.label} and {right.label}", node.op_start)

    def _call(self, node: Call) -> FormulaType:
        spec = self.functions.get(node.name)
        if spec is None:
            hint = did_you_mean(node.name, self.functions.names(), cutoff=0.7)
            raise self.error(f"unknown function '{node.written}'{hint}", node.start)
        problem = spec.arity_problem(len(node.args))
        if problem:
            raise self.error(problem, node.start)
        for index in spec.field_args:
            if index < len(node.args) and not isinstance(node.args[index], FieldRef):
                raise self.error(
                    f"{spec.name} needs a field, not an expression", node.args[index].start
                )
        arg_types = tuple(self.check(arg) for arg in node.args)
        for index, (arg, actual) in enumerate(zip(node.args, arg_types)):
            param = spec.param(index)
            if not accepts(param, actual):
                raise self.error(
                    f"{spec.name}'s argument {index + 1} must be {param_label(param)}, "
                    f"not {actual.label}",
                    arg.start,
                )
        try:
            result = spec.result_type(arg_types)
        except FunctionArgumentError as exc:
            offset = node.start if exc.index is None else node.args[exc.index].start
            raise self.error(exc.message, offset) from None
        if spec.uses_prior:
            self.uses_prior = True
        if spec.volatile:
            self.volatile = True
        return result
