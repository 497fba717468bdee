"""Errors raised by the formula language.

Every problem with a formula, found while compiling it or while evaluating it, is a
:class:`FormulaError`. Messages are written for administrators: they name fields,
functions and types the way the formula reference does, never Python internals.
Each error knows where in the formula source it happened (0-based ``offset``,
1-based ``line`` and ``column``), so an editor can underline the offending part.
"""

from __future__ import annotations

__all__ = [
    "FormulaError",
    "FormulaSyntaxError",
    "FormulaTypeError",
    "FormulaLimitError",
    "FormulaEvaluationError",
    "Position",
    "position_of",
]


def position_of(source: str, offset: int) -> tuple[int, int]:
    """Return the 1-based (line, column) of ``offset`` in ``source``."""
    offset = max(0, min(offset, len(source)))
    line = source.count("\n", 0, offset) + 1
    line_start = source.rfind("\n", 0, offset) + 1
    return line, offset - line_start + 1


class FormulaError(Exception):
    """A formula could not be compiled or evaluated.

    ``message`` is the human text; ``offset`` (0-based), ``line`` and ``column``
    (1-based) locate the offending token or node in the formula source.
    """

    def __init__(
        self,
        message: str,
        *,
        offset: int | None = None,
        line: int | None = None,
        column: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.offset = offset
        self.line = line
        self.column = column

    @classmethod
    def at(cls, message: str, source: str, offset: int) -> FormulaError:
        """Build an error located at ``offset`` of ``source``."""
        error = cls(message)
        error.locate(source, offset)
        return error

    def locate(self, source: str, offset: int) -> None:
        """Set the position from an offset into ``source``."""
        self.offset = offset
        self.line, self.column = position_of(source, offset)

    @property
    def has_position(self) -> bool:
        return self.offset is not None

    def __str__(self) -> str:
        if self.line is None:
            return self.message
        return f"{self.message} (line {self.line}, column {self.column})"

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.message!r}, offset={self.offset}, "
            f"line={self.line}, column={self.column})"
        )


class FormulaSyntaxError(FormulaError):
    """The formula text is not well formed (unexpected token, unterminated string...)."""


class FormulaTypeError(FormulaError):
    """The formula is well formed but does not make sense: unknown fields or functions,
    wrong argument counts or types, invalid literal arguments such as a bad regular
    expression, or a result type other than the one expected."""


class FormulaLimitError(FormulaError):
    """The formula, or a value it builds while running, exceeds a configured limit."""


class FormulaEvaluationError(FormulaError):
    """Evaluating the formula failed (a number grew too large, a related record could
    not be read, a text could not be read as a number...)."""


class Position:
    """A precomputed location in the source, captured by compiled closures so that
    run-time errors can be located without keeping the source text around."""

    __slots__ = ("offset", "line", "column")

    def __init__(self, source: str, offset: int) -> None:
        self.offset = offset
        self.line, self.column = position_of(source, offset)

    def apply(self, error: FormulaError) -> FormulaError:
        """Locate ``error`` here unless it already has a position; return it."""
        if error.offset is None:
            error.offset, error.line, error.column = self.offset, self.line, self.column
        return error

    def error(self, cls: type[FormulaError], message: str) -> FormulaError:
        return cls(message, offset=self.offset, line=self.line, column=self.column)
