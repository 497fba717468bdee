"""The function registry: the one seam through which functions enter the language.

Built-in functions register through exactly the same API a plugin uses::

    registry = default_functions()          # a fresh copy; the defaults stay untouched
    registry.register(FunctionSpec(
        name="DISCOUNTED",
        impl=lambda price, pct: price * (1 - pct / 100),
        params=(FormulaType.NUMBER, FormulaType.NUMBER),
        returns=FormulaType.NUMBER,
        doc="DISCOUNTED(price, percent): price reduced by percent.",
    ))

Two kinds of function exist:

* ordinary (``special=False``): arguments are evaluated first and ``impl(*values)`` is
  called with them (``impl(ctx, *values)`` when ``needs_context``). With
  ``propagate_null`` (the default) a NULL argument gives NULL without calling ``impl``.
* special forms (``special=True``): ``impl(call: CallInfo)`` is called once, at compile
  time, with the compiled arguments and returns the evaluator ``fn(ctx) -> value``. This
  is how lazy functions (IF, CASE, AND, OR), functions that need the field itself rather
  than its value (ISCHANGED, PRIORVALUE) and functions that precompute from literal
  arguments (REGEX) are written.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from .errors import FormulaError, FormulaEvaluationError, Position
from .limits import Limits
from .types import FormulaType, ParamKind, ParamType

__all__ = [
    "FunctionSpec",
    "FunctionRegistry",
    "FunctionArgumentError",
    "Argument",
    "CallInfo",
    "NOT_CONSTANT",
    "Evaluator",
    "common_type",
]

Evaluator = Callable[[Any], Any]  # fn(ctx: EvalContext) -> value
Returns = FormulaType | Callable[[tuple[FormulaType, ...]], FormulaType]

_NAME_RE = re.compile(r"[A-Z_][A-Z0-9_]*")


class FunctionArgumentError(Exception):
    """Raised by a spec's ``returns`` callable or a special form's builder at compile
    time to reject an argument. ``index`` is the 0-based argument (None: the call
    itself); the compiler reports ``message`` as a FormulaTypeError at that position."""

    def __init__(self, index: int | None, message: str) -> None:
        super().__init__(message)
        self.index = index
        self.message = message


class _NotConstant:
    __slots__ = ()

    def __repr__(self) -> str:
        return "NOT_CONSTANT"


#: ``Argument.constant`` when the argument is not a literal.
NOT_CONSTANT: Any = _NotConstant()


@dataclass(frozen=True, slots=True)
class Argument:
    """One compiled argument, as a special form's builder sees it.

    ``evaluate(ctx)`` computes it; ``type`` is its static type; ``path`` is the field
    path when the argument is a plain field reference (else None); ``constant`` is the
    literal value when the argument is a literal (else NOT_CONSTANT).
    """

    evaluate: Evaluator
    type: FormulaType
    path: tuple[str, ...] | None
    constant: Any
    position: Position


@dataclass(frozen=True, slots=True)
class CallInfo:
    """Everything a special form's builder gets: the call's name, its compiled
    arguments, the result type the checker derived, and the limits in force."""

    name: str
    args: tuple[Argument, ...]
    result_type: FormulaType
    limits: Limits
    position: Position

    def error(
        self,
        message: str,
        index: int | None = None,
        kind: type[FormulaError] = FormulaEvaluationError,
    ) -> FormulaError:
        """A run-time error (FormulaEvaluationError unless ``kind`` says otherwise, e.g.
        FormulaLimitError) located at the call, or at argument ``index``."""
        where = self.position if index is None else self.args[index].position
        return where.error(kind, message)


@dataclass(frozen=True)
class FunctionSpec:
    """Declares one function.

    ``params``: the type of each positional parameter (a FormulaType, ``ANY``, ``SCALAR``
    or a frozenset of FormulaTypes). With ``variadic`` the last one repeats.
    ``min_args``/``max_args`` default to ``len(params)`` (``max_args`` to unlimited when
    variadic); set ``min_args`` lower to make trailing parameters optional.
    ``returns``: the result type, or ``returns(arg_types) -> FormulaType`` for
    polymorphic functions; it may raise FunctionArgumentError.
    ``special``: impl is a builder (see module doc). ``needs_context``: ordinary impl
    receives the EvalContext first. ``propagate_null``: a NULL argument gives NULL
    without calling impl (ordinary functions only). ``field_args``: indexes of
    arguments that must be written as a plain field reference. ``uses_prior``: the
    function reads prior values (marks CompiledExpression.uses_prior). ``volatile``: the
    result changes with time, not only with the record (TODAY, NOW; marks
    CompiledExpression.volatile, so such formulas are computed when read, never stored).
    ``doc``: one line shown in the reference and editors.
    """

    name: str
    impl: Callable[..., Any]
    params: Sequence[ParamType]
    returns: Returns
    variadic: bool = False
    min_args: int | None = None
    max_args: int | None = None
    doc: str = ""
    special: bool = False
    needs_context: bool = False
    propagate_null: bool = True
    field_args: frozenset[int] = field(default_factory=frozenset)
    uses_prior: bool = False
    volatile: bool = False

    def __post_init__(self) -> None:
        name = self.name.upper()
        if not _NAME_RE.fullmatch(name):
            raise ValueError(f"invalid function name {self.name!r}: use letters, digits and _")
        params = tuple(self.params)
        for param in params:
            if not isinstance(param, (FormulaType, ParamKind, frozenset)):
                raise TypeError(f"function {name}: parameter type {param!r} is not a FormulaType")
        if self.variadic and not params:
            raise ValueError(f"function {name}: a variadic function needs at least one parameter")
        min_args = len(params) if self.min_args is None else self.min_args
        max_args = self.max_args
        if max_args is None and not self.variadic:
            max_args = len(params)
        if min_args < 0 or (max_args is not None and max_args < min_args):
            raise ValueError(f"function {name}: invalid arity {min_args}..{max_args}")
        if not self.variadic and max_args is not None and max_args > len(params):
            raise ValueError(f"function {name}: {max_args} arguments but only {len(params)} params")
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "params", params)
        object.__setattr__(self, "min_args", min_args)
        object.__setattr__(self, "max_args", max_args)
        object.__setattr__(self, "field_args", frozenset(self.field_args))

    def param(self, index: int) -> ParamType:
        """The declared type of argument ``index``."""
        if index < len(self.params):
            return self.params[index]
        return self.params[-1]

    def arity_problem(self, count: int) -> str | None:
        """A message if ``count`` arguments is not acceptable, else None."""
        low, high = self.min_args, self.max_args
        assert low is not None
        if low <= count and (high is None or count <= high):
            return None
        if high is None:
            wanted = f"at least {low} argument{'s' if low != 1 else ''}"
        elif low == high:
            wanted = f"{low} argument{'s' if low != 1 else ''}"
        else:
            wanted = f"{low} to {high} arguments"
        return f"{self.name} expects {wanted}, got {count}"

    def result_type(self, arg_types: tuple[FormulaType, ...]) -> FormulaType:
        if isinstance(self.returns, FormulaType):
            return self.returns
        return self.returns(arg_types)


class FunctionRegistry:
    """Functions by (case-insensitive) name."""

    def __init__(self, specs: Sequence[FunctionSpec] = ()) -> None:
        self._specs: dict[str, FunctionSpec] = {}
        for spec in specs:
            self.register(spec)

    def register(self, spec: FunctionSpec, *, replace: bool = False) -> None:
        """Add ``spec``. A name already registered raises ValueError unless ``replace``."""
        if not isinstance(spec, FunctionSpec):
            raise TypeError("register() expects a FunctionSpec")
        if spec.name in self._specs and not replace:
            raise ValueError(f"function '{spec.name}' is already registered")
        self._specs[spec.name] = spec

    def get(self, name: str) -> FunctionSpec | None:
        return self._specs.get(name.upper())

    def __getitem__(self, name: str) -> FunctionSpec:
        return self._specs[name.upper()]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.upper() in self._specs

    def __iter__(self) -> Iterator[FunctionSpec]:
        return iter(sorted(self._specs.values(), key=lambda s: s.name))

    def __len__(self) -> int:
        return len(self._specs)

    def names(self) -> list[str]:
        return sorted(self._specs)

    def copy(self) -> FunctionRegistry:
        """An independent registry with the same functions (extend it per org/plugin)."""
        clone = FunctionRegistry()
        clone._specs = dict(self._specs)
        return clone


def common_type(
    function: str,
    arg_types: Sequence[FormulaType],
    indexes: Sequence[int],
    what: str = "results",
    allowed: frozenset[FormulaType] | None = None,
) -> FormulaType:
    """The one type shared by the arguments at ``indexes`` (NULL fits anything), for
    polymorphic ``returns`` callables. Raises FunctionArgumentError at the first
    argument that disagrees, e.g. "IF's results must have the same type, not number
    and text". ``allowed`` restricts which types may be shared at all."""
    found: FormulaType | None = None
    first = None
    for index in indexes:
        actual = arg_types[index]
        if actual is FormulaType.NULL:
            continue
        if allowed is not None and actual not in allowed:
            names = sorted(t.label for t in allowed)
            wanted = ", ".join(names[:-1]) + " or " + names[-1]
            raise FunctionArgumentError(
                index, f"{function}'s argument {index + 1} must be {wanted}, not {actual.label}"
            )
        if found is None:
            found, first = actual, index
        elif actual is not found:
            raise FunctionArgumentError(
                index,
                f"{function}'s {what} must have the same type, not {found.label} "
                f"(argument {first + 1}) and {actual.label} (argument {index + 1})",  # type: ignore[operator]
            )
    return found or FormulaType.NULL
