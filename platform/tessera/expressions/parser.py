"""Parse formula source into :mod:`nodes`, with limits and readable syntax errors.

The lark LALR parser runs with an embedded transformer, so nodes are built during the
parse itself (no separate tree walk, no recursion): a 10,000-deep formula is rejected
by the depth check, never by Python's recursion limit. The source length is checked
before parsing so oversized input is refused without doing any work.
"""

from __future__ import annotations

import re
from decimal import Decimal
from functools import cache

from lark import Lark, Token, Transformer
from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken

from .errors import FormulaLimitError, FormulaSyntaxError
from .grammar import GRAMMAR
from .limits import Limits
from .nodes import Binary, Call, FieldRef, Literal, Node, Unary
from .types import FormulaType

__all__ = ["parse"]

_KEYWORDS = {
    "TRUE": (True, FormulaType.BOOLEAN),
    "FALSE": (False, FormulaType.BOOLEAN),
    "NULL": (None, FormulaType.NULL),
}
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", "'": "'", '"': '"'}
_ESCAPE_RE = re.compile(r"\\(u[0-9A-Fa-f]{4}|.)", re.DOTALL)
_OPERATORS = {"==": "=", "!=": "<>"}  # spellings normalised for the checker and compiler


def _unescape(body: str) -> str:
    """Resolve backslash escapes. Unknown escapes keep their backslash, so regular
    expression patterns such as '\\d+' can be written with a single backslash."""

    def replace(match: re.Match[str]) -> str:
        code = match.group(1)
        if len(code) == 5:
            return chr(int(code[1:], 16))
        return _ESCAPES.get(code, match.group(0))

    return _ESCAPE_RE.sub(replace, body) if "\\" in body else body


class _Builder(Transformer):
    """Reduction callbacks: each builds one node from already-built children."""

    def number(self, children: list[Token]) -> Node:
        (tok,) = children
        return Literal(tok.start_pos, tok.end_pos, Decimal(str(tok)), FormulaType.NUMBER)

    def string(self, children: list[Token]) -> Node:
        (tok,) = children
        return Literal(tok.start_pos, tok.end_pos, _unescape(str(tok)[1:-1]), FormulaType.TEXT)

    def name(self, children: list[Token]) -> Node:
        (tok,) = children
        keyword = _KEYWORDS.get(str(tok).upper())
        if keyword is not None:
            return Literal(tok.start_pos, tok.end_pos, keyword[0], keyword[1])
        return FieldRef(tok.start_pos, tok.end_pos, str(tok))

    def call(self, children: list) -> Node:
        name, args, rpar = children[0], children[2:-1], children[-1]
        nodes = tuple(a for a in args if isinstance(a, Node))
        return Call(name.start_pos, rpar.end_pos, str(name), nodes)

    def group(self, children: list) -> Node:
        inner = children[1]
        inner.depth += 1  # parentheses count as a nesting level
        return inner

    def unary(self, children: list) -> Node:
        op, operand = children
        return Unary(str(op), op.start_pos, operand)

    def binary(self, children: list) -> Node:
        left, op, right = children
        text = str(op)
        return Binary(_OPERATORS.get(text, text), op.start_pos, left, right)


@cache
def _parser() -> Lark:
    return Lark(GRAMMAR, parser="lalr", lexer="contextual", transformer=_Builder())


def _syntax_error(source: str, exc: UnexpectedInput) -> FormulaSyntaxError:
    end = len(source.rstrip())
    if isinstance(exc, UnexpectedCharacters):
        pos = exc.pos_in_stream
        char = source[pos]
        if char in "'\"":
            return FormulaSyntaxError.at("unterminated string", source, pos)
        if source.startswith("/*", pos):
            return FormulaSyntaxError.at("unterminated comment", source, pos)
        if char == "." and pos > 0 and (source[pos - 1].isalnum() or source[pos - 1] == "_"):
            return FormulaSyntaxError.at("a field name must follow '.'", source, pos)
        return FormulaSyntaxError.at(f"unexpected character '{char}'", source, pos)
    if isinstance(exc, UnexpectedToken):
        token = exc.token
        if token.type == "$END":
            if "RPAR" in exc.expected:
                return FormulaSyntaxError.at("missing ')'", source, end)
            return FormulaSyntaxError.at("unexpected end of formula", source, end)
        if token.type == "SLASH" and source.startswith("/*", token.start_pos):
            return FormulaSyntaxError.at("unterminated comment", source, token.start_pos)
        text = str(token)
        if len(text) > 30:
            text = text[:27] + "..."
        return FormulaSyntaxError.at(f"unexpected '{text}'", source, token.start_pos)
    return FormulaSyntaxError.at("the formula is not well formed", source, 0)  # pragma: no cover


def _deepest_leaf(node: Node) -> Node:
    while True:
        children = node.children()
        if not children:
            return node
        node = max(children, key=lambda c: c.depth)


def parse(source: str, limits: Limits) -> Node:
    """Parse ``source``; raise FormulaSyntaxError or FormulaLimitError on problems."""
    if len(source) > limits.max_length:
        raise FormulaLimitError.at(
            f"the formula is too long: {len(source)} characters, the limit is {limits.max_length}",
            source,
            limits.max_length,
        )
    if not source.strip():
        raise FormulaSyntaxError.at("the formula is empty", source, 0)
    try:
        root = _parser().parse(source)
    except UnexpectedInput as exc:
        raise _syntax_error(source, exc) from None
    if root.depth > limits.max_depth:
        raise FormulaLimitError.at(
            f"the formula nests too deeply: {root.depth} levels, the limit is {limits.max_depth}",
            source,
            _deepest_leaf(root).start,
        )
    if root.size > limits.max_nodes:
        raise FormulaLimitError.at(
            f"the formula is too complex: {root.size} elements (values, fields, operators "
            f"and function calls), the limit is {limits.max_nodes}",
            source,
            0,
        )
    return root
