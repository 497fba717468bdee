"""Logical and record-state functions: IF, CASE, AND, OR, NOT, ISBLANK, BLANKVALUE,
ISCHANGED, PRIORVALUE, INCLUDES.

Most are special forms: they receive compiled arguments and decide what to evaluate,
which gives short-circuiting (AND/OR), laziness (IF/CASE/BLANKVALUE) and access to
the field itself rather than its value (ISCHANGED/PRIORVALUE).
"""

from __future__ import annotations

from typing import Any

from .registry import CallInfo, Evaluator, FunctionArgumentError, FunctionSpec, common_type
from .types import ANY, SCALAR, FormulaType
from .values import coercer_for, is_blank, same_value

B, T, NULL = FormulaType.BOOLEAN, FormulaType.TEXT, FormulaType.NULL


def _equal_fn(*types: FormulaType) -> Any:
    """Equality used by CASE: text compares with blank as ''."""
    if T in types:
        return lambda a, b: (a or "") == (b or "")
    return lambda a, b: a == b


# ---------------------------------------------------------------- IF / CASE
def _if(call: CallInfo) -> Evaluator:
    cond, then, other = (a.evaluate for a in call.args)
    return lambda ctx: then(ctx) if cond(ctx) else other(ctx)


def _case_type(types: tuple[FormulaType, ...]) -> FormulaType:
    count = len(types)
    if count % 2:
        raise FunctionArgumentError(
            None,
            f"CASE needs an else result as its last argument: CASE(value, match1, result1, "
            f"..., else_result), got {count} arguments",
        )
    subject = types[0]
    if not subject.is_scalar:
        raise FunctionArgumentError(0, f"CASE cannot test a {subject.label}")
    for index in range(1, count - 1, 2):
        match = types[index]
        if not (match is subject or NULL in (match, subject)):
            raise FunctionArgumentError(
                index,
                f"CASE cannot compare {subject.label} with {match.label} (argument {index + 1})",
            )
    results = [*range(2, count - 1, 2), count - 1]
    return common_type("CASE", types, results)


def _case(call: CallInfo) -> Evaluator:
    args = call.args
    subject, default = args[0].evaluate, args[-1].evaluate
    pairs = tuple((args[i].evaluate, args[i + 1].evaluate) for i in range(1, len(args) - 1, 2))
    equal = _equal_fn(*(args[i].type for i in range(0, len(args) - 1, 2)))

    def run(ctx: Any) -> Any:
        value = subject(ctx)
        for match, result in pairs:
            if equal(value, match(ctx)):
                return result(ctx)
        return default(ctx)

    return run


# ---------------------------------------------------------------- AND / OR / NOT
def _and(call: CallInfo) -> Evaluator:
    fns = tuple(a.evaluate for a in call.args)
    if len(fns) == 1:
        (only,) = fns
        return lambda ctx: True if only(ctx) else False
    if len(fns) == 2:
        first, second = fns
        return lambda ctx: True if first(ctx) and second(ctx) else False

    def run(ctx: Any) -> bool:
        for fn in fns:
            if not fn(ctx):
                return False
        return True

    return run


def _or(call: CallInfo) -> Evaluator:
    fns = tuple(a.evaluate for a in call.args)
    if len(fns) == 1:
        (only,) = fns
        return lambda ctx: True if only(ctx) else False
    if len(fns) == 2:
        first, second = fns
        return lambda ctx: True if first(ctx) or second(ctx) else False

    def run(ctx: Any) -> bool:
        for fn in fns:
            if fn(ctx):
                return True
        return False

    return run


# ---------------------------------------------------------------- blanks
def _isblank(call: CallInfo) -> Evaluator:
    (arg,) = call.args
    fn = arg.evaluate
    if arg.type in (FormulaType.TEXT, FormulaType.LIST):
        return lambda ctx: not fn(ctx)
    if arg.type is FormulaType.JSON:
        return lambda ctx: is_blank(fn(ctx))
    return lambda ctx: fn(ctx) is None


def _blankvalue(call: CallInfo) -> Evaluator:
    value, substitute = (a.evaluate for a in call.args)
    if call.args[0].type not in (FormulaType.TEXT, FormulaType.LIST, FormulaType.JSON):

        def run_simple(ctx: Any) -> Any:
            result = value(ctx)
            return substitute(ctx) if result is None else result

        return run_simple

    def run(ctx: Any) -> Any:
        result = value(ctx)
        return substitute(ctx) if is_blank(result) else result

    return run


# ---------------------------------------------------------------- prior values
def _own_field(call: CallInfo) -> tuple[str, Any, str]:
    path = call.args[0].path
    assert path is not None
    if len(path) > 1:
        raise FunctionArgumentError(
            0,
            f"{call.name} works on fields of this record, not on the lookup path "
            f"'{'.'.join(path)}'",
        )
    return path[0], coercer_for(call.args[0].type), f"field '{path[0]}'"


def _prior_reader(call: CallInfo) -> Any:
    name, coerce, label = _own_field(call)

    def prior_value(prior: Any) -> Any:
        try:
            return coerce(prior.get(name), label)
        except Exception as exc:
            raise call.error(getattr(exc, "message", str(exc))) from None

    return prior_value


def _ischanged(call: CallInfo) -> Evaluator:
    current, prior_value = call.args[0].evaluate, _prior_reader(call)

    def run(ctx: Any) -> bool:
        value = current(ctx)
        prior = ctx.prior
        if prior is None:
            return not is_blank(value)  # a new record: changed when it has a value
        return not same_value(value, prior_value(prior))

    return run


def _priorvalue(call: CallInfo) -> Evaluator:
    prior_value = _prior_reader(call)

    def run(ctx: Any) -> Any:
        prior = ctx.prior
        return None if prior is None else prior_value(prior)

    return run


def _includes(values: Any, value: Any) -> bool:
    return bool(values) and bool(value) and value in values


SPECS = [
    FunctionSpec("IF", _if, (B, SCALAR, SCALAR), lambda t: common_type("IF", t, (1, 2)),
                 special=True, doc="IF(condition, if_true, if_false): if_true when the condition "
                 "is TRUE, else if_false. Only the chosen branch is evaluated."),
    FunctionSpec("CASE", _case, (SCALAR,), _case_type, variadic=True, min_args=4, special=True,
                 doc="CASE(value, match1, result1, ..., else_result): the result of the first "
                 "match equal to value, else else_result. Evaluated lazily."),
    FunctionSpec("AND", _and, (B,), B, variadic=True, special=True,
                 doc="AND(a, b, ...): TRUE when all are TRUE; stops at the first FALSE."),
    FunctionSpec("OR", _or, (B,), B, variadic=True, special=True,
                 doc="OR(a, b, ...): TRUE when any is TRUE; stops at the first TRUE."),
    FunctionSpec("NOT", lambda a: not a, (B,), B, propagate_null=False,
                 doc="NOT(a): TRUE when a is FALSE or NULL."),
    FunctionSpec("ISBLANK", _isblank, (ANY,), B, special=True,
                 doc="ISBLANK(value): TRUE for NULL, empty text and empty lists."),
    FunctionSpec("BLANKVALUE", _blankvalue, (ANY, ANY),
                 lambda t: common_type("BLANKVALUE", t, (0, 1), "arguments"), special=True,
                 doc="BLANKVALUE(value, substitute): value, or substitute when value is blank."),
    FunctionSpec("ISCHANGED", _ischanged, (ANY,), B, special=True, field_args=frozenset({0}),
                 uses_prior=True, doc="ISCHANGED(field): TRUE when the field differs from its "
                 "stored value; on a new record, TRUE when the field is not blank."),
    FunctionSpec("PRIORVALUE", _priorvalue, (ANY,), lambda t: t[0], special=True,
                 field_args=frozenset({0}), uses_prior=True,
                 doc="PRIORVALUE(field): the field's stored value before this change; NULL on "
                 "a new record."),
    FunctionSpec("INCLUDES", _includes, (FormulaType.LIST, T), B, propagate_null=False,
                 doc="INCLUDES(multi_select, value): TRUE when value is one of the selected "
                 "values."),
]  # fmt: skip
