"""TQL syntax tree: immutable dataclasses produced by :func:`cti.tql.parser.parse_tql`.

Positions (``pos``) are 0-based character offsets into the query text; they and the raw source
text (``raw``/``op_text``) do not take part in equality, so ``parse_tql(to_tql(tree)) == tree``.
Parentheses leave no node of their own. :func:`to_tql` renders a tree back to canonical TQL.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import TypeAlias

__all__ = [
    "And",
    "Boolean",
    "Has",
    "Me",
    "Node",
    "Not",
    "Number",
    "Or",
    "Predicate",
    "String",
    "Value",
    "to_tql",
]

# Normalised operators, in the spelling the compiler and keyword resolvers receive.
COMPARISON_OPERATORS = ("=", "!=", ">", "<", ">=", "<=")
LIST_OPERATORS = ("in", "not in")
TEXT_OPERATORS = (
    "like",
    "not like",
    "contains",
    "not contains",
    "startswith",
    "not startswith",
    "endswith",
    "not endswith",
)
NULL_OPERATORS = ("is null", "is not null")
OPERATORS = COMPARISON_OPERATORS + LIST_OPERATORS + TEXT_OPERATORS + NULL_OPERATORS


# ---------------------------------------------------------------------------------------------
# Values
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class String:
    """A quoted string with escapes resolved (also an unquoted ISO date, ``quoted=False``)."""

    value: str
    pos: int = field(default=-1, compare=False)
    raw: str = field(default="", compare=False)
    quoted: bool = field(default=True, compare=False)


@dataclass(frozen=True)
class Number:
    """An integer (``int``) or a decimal (``Decimal``) literal, possibly negative."""

    value: int | Decimal
    pos: int = field(default=-1, compare=False)
    raw: str = field(default="", compare=False)


@dataclass(frozen=True)
class Boolean:
    value: bool
    pos: int = field(default=-1, compare=False)
    raw: str = field(default="", compare=False)


@dataclass(frozen=True)
class Me:
    """The bare word ``me``: the requesting user; each keyword decides what it means."""

    pos: int = field(default=-1, compare=False)
    raw: str = field(default="me", compare=False)


Value: TypeAlias = String | Number | Boolean | Me


# ---------------------------------------------------------------------------------------------
# Expressions
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Predicate:
    """``keyword operator value``.

    ``value`` is a tuple of values for ``in``/``not in``, ``None`` for ``is [not] null`` and a
    single value otherwise. ``operator`` is one of :data:`OPERATORS`.
    """

    keyword: str
    operator: str
    value: Value | tuple[Value, ...] | None
    pos: int = field(default=-1, compare=False)
    op_text: str = field(default="", compare=False)
    op_pos: int = field(default=-1, compare=False)


@dataclass(frozen=True)
class Has:
    """``hasX(query)``: some related object of the keyword's target matches ``query``."""

    keyword: str
    query: Node
    pos: int = field(default=-1, compare=False)


@dataclass(frozen=True)
class Not:
    operand: Node
    pos: int = field(default=-1, compare=False)


@dataclass(frozen=True)
class And:
    operands: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    operands: tuple[Node, ...]


Node: TypeAlias = Predicate | Has | Not | And | Or


# ---------------------------------------------------------------------------------------------
# Rendering
# ---------------------------------------------------------------------------------------------


def quote_string(text: str) -> str:
    """Double-quote ``text`` with the TQL escapes for ``"`` and ``\\``."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def render_value(value: Value) -> str:
    if isinstance(value, String):
        return quote_string(value.value)
    if isinstance(value, Boolean):
        return "true" if value.value else "false"
    if isinstance(value, Number):
        return str(value.value)
    return "me"


def to_tql(node: Node) -> str:
    """Canonical TQL text for ``node``; compound operands are always parenthesised."""
    if isinstance(node, Predicate):
        return _render_predicate(node)
    if isinstance(node, Has):
        return f"{node.keyword}({to_tql(node.query)})"
    if isinstance(node, Not):
        return f"NOT {_operand(node.operand)}"
    joiner = " AND " if isinstance(node, And) else " OR "
    return joiner.join(_operand(child) for child in node.operands)


def _operand(node: Node) -> str:
    text = to_tql(node)
    return f"({text})" if isinstance(node, And | Or) else text


def _render_predicate(node: Predicate) -> str:
    op = node.operator.upper()
    if node.value is None:
        return f"{node.keyword} {op}"
    if isinstance(node.value, tuple):
        return f"{node.keyword} {op} ({', '.join(render_value(v) for v in node.value)})"
    return f"{node.keyword} {op} {render_value(node.value)}"
