"""TQL text -> syntax tree (:mod:`cti.tql.ast`), with limits against hostile input.

Every failure is a :class:`~cti.tql.errors.TqlError` naming the offending token and its
0-based position; lark's exceptions never escape.
"""

from __future__ import annotations

import re
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

from lark import Lark, Token, Transformer_NonRecursive, Tree
from lark.exceptions import (
    UnexpectedCharacters,
    UnexpectedEOF,
    UnexpectedInput,
    UnexpectedToken,
    VisitError,
)

from cti.tql import ast
from cti.tql.errors import TqlError

__all__ = [
    "MAX_CONDITIONS",
    "MAX_DEPTH",
    "MAX_HAS_DEPTH",
    "MAX_LENGTH",
    "MAX_LIST_VALUES",
    "parse_tql",
]

MAX_LENGTH = 10_000
MAX_DEPTH = 20
MAX_LIST_VALUES = 1_000
MAX_NUMBER_LENGTH = 40  # digits of a numeric literal (Python refuses int() past 4,300)
# SQLite limits: it rejects expression trees deeper than 1,000 (a chain of N conditions is about
# N deep, more inside nested subqueries) and its parser overflows at about eight nested SELECTs.
# Measured on SQLite 3.40: 150 negated subquery conditions under 4 nested NOT hasX(...) plus
# 4 levels of NOT (... AND/OR ...) still run; the limits below keep a margin for resolvers
# that add a subquery of their own. tests/tql/test_limits.py runs the worst cases.
MAX_CONDITIONS = 120  # predicates and hasX(...) in the whole query
MAX_HAS_DEPTH = 4  # hasX(...) nested inside hasX(...)

_GRAMMAR = Path(__file__).with_name("grammar.lark")
_NESTING_RULES = frozenset({"group", "negation", "nested"})
_COMPARISON = {
    "OP_EQ": "=",
    "OP_NE": "!=",
    "OP_GT": ">",
    "OP_LT": "<",
    "OP_GE": ">=",
    "OP_LE": "<=",
}
_STRING_ESCAPES = frozenset("'\"`\\")
_WORD = re.compile(r"[^\s(),\"']+")


@cache
def _lark() -> Lark:
    return Lark(_GRAMMAR.read_text(encoding="utf-8"), parser="lalr", maybe_placeholders=False)


def parse_tql(text: str | None) -> ast.Node | None:
    """Parse TQL; ``None`` for empty or whitespace-only text (matches everything)."""
    if text is None or not text.strip():
        return None
    if len(text) > MAX_LENGTH:
        raise TqlError(f"query is too long ({len(text)} characters, limit {MAX_LENGTH})")
    try:
        tree = _lark().parse(text)
    except UnexpectedInput as exc:
        raise _syntax_error(exc, text) from None
    _check_depth(tree)
    try:
        return _ToAst().transform(tree)
    except VisitError as exc:  # lark wraps errors raised by the transformer's callbacks
        if isinstance(exc.orig_exc, TqlError):
            raise exc.orig_exc from None
        raise


def _syntax_error(exc: UnexpectedInput, text: str) -> TqlError:
    if isinstance(exc, UnexpectedToken) and exc.token.type != "$END":
        token = exc.token
        return TqlError(f"unexpected token '{token}'", str(token), token.start_pos)
    if isinstance(exc, UnexpectedToken | UnexpectedEOF):
        return TqlError("unexpected end of query", None, len(text))
    assert isinstance(exc, UnexpectedCharacters)
    pos = exc.pos_in_stream
    char = text[pos]
    if char in "\"'":
        snippet = text[pos : pos + 20]
        return TqlError(f"unterminated string '{snippet}'", snippet, pos)
    word = _WORD.match(text, pos)
    token = word.group() if word else char
    return TqlError(f"unexpected token '{token}'", token, pos)


def _check_depth(tree: Tree) -> None:
    """Reject more than MAX_DEPTH nested parentheses / NOT / hasX, or MAX_HAS_DEPTH nested hasX.

    Iterative, so a hostile ``((((...`` cannot exhaust the Python stack.
    """
    stack: list[tuple[Any, int, int]] = [(tree, 0, 0)]
    while stack:
        node, depth, has_depth = stack.pop()
        if not isinstance(node, Tree):
            continue
        if node.data in _NESTING_RULES:
            depth += 1
            has_depth += node.data == "nested"
            if depth > MAX_DEPTH:
                raise _nesting_error(node, f"nesting deeper than {MAX_DEPTH} levels")
            if has_depth > MAX_HAS_DEPTH:
                raise _nesting_error(node, f"more than {MAX_HAS_DEPTH} nested subqueries")
        stack.extend((child, depth, has_depth) for child in node.children)


def _nesting_error(node: Tree, detail: str) -> TqlError:
    token = _first_token(node)
    return TqlError(detail, str(token) if token else None, token.start_pos if token else None)


def _first_token(tree: Tree) -> Token | None:
    for token in tree.scan_values(lambda v: isinstance(v, Token)):
        return token
    return None


def unescape(body: str) -> str:
    """Resolve ``\\'``, ``\\"``, ``\\```, ``\\\\``; any other backslash stays literal."""
    out: list[str] = []
    i = 0
    while i < len(body):
        char = body[i]
        if char == "\\" and i + 1 < len(body) and body[i + 1] in _STRING_ESCAPES:
            out.append(body[i + 1])
            i += 2
            continue
        out.append(char)
        i += 1
    return "".join(out)


class _ToAst(Transformer_NonRecursive):
    """lark parse tree -> :mod:`cti.tql.ast` nodes."""

    def __init__(self) -> None:
        super().__init__()
        self.conditions = 0

    def _count(self, name: Token) -> None:
        self.conditions += 1
        if self.conditions > MAX_CONDITIONS:
            raise TqlError(f"more than {MAX_CONDITIONS} conditions", str(name), name.start_pos)

    # --- boolean structure -----------------------------------------------------------------
    def or_expr(self, children: list[ast.Node]) -> ast.Or:
        return ast.Or(tuple(children))

    def and_expr(self, children: list[ast.Node]) -> ast.And:
        return ast.And(tuple(children))

    def group(self, children: list[Any]) -> ast.Node:
        _lpar, expr = children
        return expr

    def negation(self, children: list[Any]) -> ast.Not:
        not_token, operand = children
        return ast.Not(operand, pos=not_token.start_pos)

    def nested(self, children: list[Any]) -> ast.Has:
        name, query = children
        self._count(name)
        return ast.Has(str(name), query, pos=name.start_pos)

    # --- predicates ------------------------------------------------------------------------
    def compare(self, children: list[Any]) -> ast.Predicate:
        name, (op, op_text, op_pos), value = children
        self._count(name)
        return ast.Predicate(str(name), op, value, name.start_pos, op_text, op_pos)

    def membership(self, children: list[Any]) -> ast.Predicate:
        name, (op, op_text, op_pos), values = children
        self._count(name)
        return ast.Predicate(str(name), op, values, name.start_pos, op_text, op_pos)

    text_match = compare

    def is_null(self, children: list[Token]) -> ast.Predicate:
        name, is_token, _null = children
        self._count(name)
        return ast.Predicate(
            str(name), "is null", None, name.start_pos, "IS NULL", is_token.start_pos
        )

    def is_not_null(self, children: list[Token]) -> ast.Predicate:
        name, is_token, _not, _null = children
        self._count(name)
        return ast.Predicate(
            str(name), "is not null", None, name.start_pos, "IS NOT NULL", is_token.start_pos
        )

    # --- operators -------------------------------------------------------------------------
    def cmp_op(self, children: list[Token]) -> tuple[str, str, int]:
        (token,) = children
        return _COMPARISON[token.type], str(token), token.start_pos

    def set_op(self, children: list[Token]) -> tuple[str, str, int]:
        return self._words(children)

    def text_op(self, children: list[Token]) -> tuple[str, str, int]:
        return self._words(children)

    @staticmethod
    def _words(children: list[Token]) -> tuple[str, str, int]:
        op = " ".join(token.type.lower() for token in children)
        return op, " ".join(str(token) for token in children), children[0].start_pos

    # --- values ----------------------------------------------------------------------------
    def text_arg(self, children: list[ast.Value]) -> ast.Value:
        return children[0]

    def value_list(self, children: list[ast.Value]) -> tuple[ast.Value, ...]:
        if len(children) > MAX_LIST_VALUES:
            extra = children[MAX_LIST_VALUES]
            raise TqlError(f"more than {MAX_LIST_VALUES} values in a list", extra.raw, extra.pos)
        return tuple(children)

    def value(self, children: list[Token]) -> ast.Value:
        (token,) = children
        raw, pos = str(token), token.start_pos
        if token.type == "STRING":
            return ast.String(unescape(raw[1:-1]), pos, raw)
        if token.type == "DATE":
            return ast.String(raw, pos, raw, quoted=False)
        if token.type == "NUMBER":
            if len(raw) > MAX_NUMBER_LENGTH:
                raise TqlError(f"number '{raw[:MAX_NUMBER_LENGTH]}...' is too long", raw, pos)
            number: int | Decimal = Decimal(raw) if "." in raw else int(raw)
            return ast.Number(number, pos, raw)
        if token.type in ("TRUE", "FALSE"):
            return ast.Boolean(token.type == "TRUE", pos, raw)
        return ast.Me(pos, raw)
