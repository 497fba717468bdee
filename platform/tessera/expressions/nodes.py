"""Syntax tree nodes.

Nodes are built bottom-up by the LALR parser's reductions, so each node computes its
nesting ``depth`` and subtree ``size`` from its children as it is created: limits are
checked without ever recursing over the tree. ``start``/``end`` are 0-based source
offsets; the checker fills in ``type``.
"""

from __future__ import annotations

from typing import Any

from .types import FormulaType

__all__ = ["Node", "Literal", "FieldRef", "Unary", "Binary", "Call"]


class Node:
    __slots__ = ("start", "end", "depth", "size", "type")

    def __init__(self, start: int, end: int, children: tuple[Node, ...] = ()) -> None:
        self.start = start
        self.end = end
        self.depth = 1 + max((c.depth for c in children), default=0)
        self.size = 1 + sum(c.size for c in children)
        self.type: FormulaType | None = None

    def children(self) -> tuple[Node, ...]:
        return ()


class Literal(Node):
    """A number, string, TRUE/FALSE or NULL."""

    __slots__ = ("value", "kind")

    def __init__(self, start: int, end: int, value: Any, kind: FormulaType) -> None:
        super().__init__(start, end)
        self.value = value
        self.kind = kind


class FieldRef(Node):
    """A field name or lookup path as written, e.g. ``account.industry``."""

    __slots__ = ("text", "path")

    def __init__(self, start: int, end: int, text: str) -> None:
        super().__init__(start, end)
        self.text = text
        self.path: tuple[str, ...] = tuple(text.split("."))


class Unary(Node):
    """``-x``, ``+x`` or ``!x``."""

    __slots__ = ("op", "operand", "op_start")

    def __init__(self, op: str, op_start: int, operand: Node) -> None:
        super().__init__(op_start, operand.end, (operand,))
        self.op = op
        self.op_start = op_start
        self.operand = operand

    def children(self) -> tuple[Node, ...]:
        return (self.operand,)


class Binary(Node):
    """An infix operator."""

    __slots__ = ("op", "left", "right", "op_start")

    def __init__(self, op: str, op_start: int, left: Node, right: Node) -> None:
        super().__init__(left.start, right.end, (left, right))
        self.op = op
        self.op_start = op_start
        self.left = left
        self.right = right

    def children(self) -> tuple[Node, ...]:
        return (self.left, self.right)


class Call(Node):
    """A function call; ``name`` is upper-cased, ``start`` is the name's offset."""

    __slots__ = ("name", "written", "args")

    def __init__(self, start: int, end: int, written: str, args: tuple[Node, ...]) -> None:
        super().__init__(start, end, args)
        self.written = written
        self.name = written.upper()
        self.args = args

    def children(self) -> tuple[Node, ...]:
        return self.args
