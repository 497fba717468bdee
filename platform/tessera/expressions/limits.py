"""Resource limits for formulas.

The language has no loops and every node is evaluated at most once, so bounding the
number of nodes bounds the work done per evaluation. The remaining run-time risks
(huge exponents, text blow-up) have their own limits.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Limits", "DEFAULT_LIMITS", "MAX_DEPTH_CEILING"]

MAX_DEPTH_CEILING = 200


@dataclass(frozen=True, slots=True)
class Limits:
    """Bounds applied when compiling and evaluating formulas.

    ``max_length``: characters of formula source.
    ``max_depth``: nesting of operators, function calls and parentheses.
    ``max_nodes``: values, fields, operators and calls in one formula (bounds evaluation work).
    ``max_text_length``: characters of any text built while evaluating.
    ``max_exponent``: largest magnitude of the right-hand side of ``^``.
    """

    max_length: int = 4000
    max_depth: int = 50
    max_nodes: int = 1000
    max_text_length: int = 100_000
    max_exponent: int = 10_000

    def __post_init__(self) -> None:
        for name in ("max_length", "max_depth", "max_nodes", "max_text_length", "max_exponent"):
            if getattr(self, name) < 1:
                raise ValueError(f"Limits.{name} must be at least 1")
        if self.max_depth > MAX_DEPTH_CEILING:
            # compiling and evaluating recurse once per nesting level; staying well under
            # Python's recursion limit guarantees a RecursionError can never happen
            raise ValueError(f"Limits.max_depth cannot exceed {MAX_DEPTH_CEILING}")


DEFAULT_LIMITS = Limits()
