"""Built-in plugin: the formula language's built-in functions, registered like any plugin's."""

from __future__ import annotations

from collections.abc import Sequence

from .expressions import FunctionSpec
from .expressions.functions import BUILTIN_SPECS
from .hookspecs import hookimpl


@hookimpl
def tessera_register_formula_functions() -> Sequence[FunctionSpec]:
    return list(BUILTIN_SPECS)
