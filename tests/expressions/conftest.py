"""Shared fixtures for the formula language tests."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timezone
from typing import Any

import pytest

from tessera.expressions import (
    DEFAULT_LIMITS,
    EvalContext,
    FormulaError,
    FormulaType,
    MappingScope,
    compile_expression,
)

N, T, B = FormulaType.NUMBER, FormulaType.TEXT, FormulaType.BOOLEAN
D, DT, L, J = FormulaType.DATE, FormulaType.DATETIME, FormulaType.LIST, FormulaType.JSON

FIELDS = {
    "amount": N,
    "probability": N,
    "discount": N,
    "quantity": N,
    "stage": T,
    "name": T,
    "description": T,
    "is_active": B,
    "close_date": D,
    "start_date": D,
    "created_at": DT,
    "updated_at": DT,
    "tags": L,
    "settings": J,
    "owner": {"name": T},
    "account": {
        "industry": T,
        "name": T,
        "annual_revenue": N,
        "parent": {"name": T, "industry": T},
    },
}

NOW = datetime(2026, 11, 23, 15, 30, tzinfo=timezone.utc)
TODAY = date(2026, 11, 23)


@pytest.fixture
def scope() -> MappingScope:
    return MappingScope(FIELDS)


@pytest.fixture
def run(scope: MappingScope) -> Callable[..., Any]:
    """Compile ``source`` against the test scope and evaluate it once."""

    def run(
        source: str,
        values: dict[str, Any] | None = None,
        *,
        prior: dict[str, Any] | None = None,
        now: datetime = NOW,
        today: date | None = TODAY,
        resolver: Callable[[tuple[str, ...]], Any] | None = None,
        **compile_options: Any,
    ) -> Any:
        compiled = compile_expression(source, scope, **compile_options)
        ctx = EvalContext(values or {}, prior=prior, now=now, today=today, resolver=resolver)
        return compiled(ctx)

    return run


@pytest.fixture
def fails(scope: MappingScope) -> Callable[..., FormulaError]:
    """Compile (and evaluate, if compiling works) ``source``; return the FormulaError."""

    def fails(
        source: str,
        values: dict[str, Any] | None = None,
        *,
        error: type[FormulaError] = FormulaError,
        resolver: Callable[[tuple[str, ...]], Any] | None = None,
        limits: Any = DEFAULT_LIMITS,
        **compile_options: Any,
    ) -> FormulaError:
        with pytest.raises(error) as info:
            compiled = compile_expression(source, scope, limits=limits, **compile_options)
            compiled(EvalContext(values or {}, now=NOW, today=TODAY, resolver=resolver))
        return info.value

    return fails
