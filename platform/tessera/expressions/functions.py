"""The built-in function set, registered through the public FunctionRegistry API."""

from __future__ import annotations

from . import builtins_date, builtins_logic, builtins_math, builtins_text
from .registry import FunctionRegistry

__all__ = ["default_functions", "BUILTIN_SPECS"]

BUILTIN_SPECS = (
    *builtins_logic.SPECS,
    *builtins_text.SPECS,
    *builtins_math.SPECS,
    *builtins_date.SPECS,
)

_DEFAULTS = FunctionRegistry(BUILTIN_SPECS)


def default_functions() -> FunctionRegistry:
    """A fresh registry holding the built-ins. Extending it never affects other
    registries or the defaults used when ``compile_expression`` gets no registry."""
    return _DEFAULTS.copy()


def shared_defaults() -> FunctionRegistry:
    """The registry used when none is given (internal: never hand it out to extend)."""
    return _DEFAULTS
