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
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from cti.tql import ast
from cti.tql.errors import TqlError

__all__ = ["MAX_DEPTH", "MAX_LENGTH", "MAX_LIST_VALUES", "parse_tql"]

MAX_LENGTH = 10_000
MAX_DEPTH = 20
MAX_LIST_VALUES = 1_000

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
    except TqlError:
        raise
    except Exception as exc:  # lark wraps callback errors in VisitError
        inner = getattr(exc, "orig_exc", None)
        if isinstance(inner, TqlError):
            raise inner from None
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
    """Reject more than MAX_DEPTH nested parentheses / NOT / hasX (iteratively: no recursion)."""
    stack: list[tuple[Any, int]] = [(tree, 0)]
    while stack:
        node, depth = stack.pop()
        if not isinstance(node, Tree):
            continue
        if node.data in _NESTING_RULES:
            depth += 1
            if depth > MAX_DEPTH:
                token = _first_token(node)
                position = token.start_pos if token is not None else None
                raise TqlError(
                    f"nesting deeper than {MAX_DEPTH} levels",
                    str(token) if token else None,
                    position,
                )
        stack.extend((child, depth) for child in node.children)


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
        return ast.Has(str(name), query, pos=name.start_pos)

    # --- predicates ------------------------------------------------------------------------
    def compare(self, children: list[Any]) -> ast.Predicate:
        name, (op, op_text, op_pos), value = children
        return ast.Predicate(str(name), op, value, name.start_pos, op_text, op_pos)

    def membership(self, children: list[Any]) -> ast.Predicate:
        name, (op, op_text, op_pos), values = children
        return ast.Predicate(str(name), op, values, name.start_pos, op_text, op_pos)

    text_match = compare

    def is_null(self, children: list[Token]) -> ast.Predicate:
        name, is_token, _null = children
        return ast.Predicate(
            str(name), "is null", None, name.start_pos, "IS NULL", is_token.start_pos
        )

    def is_not_null(self, children: list[Token]) -> ast.Predicate:
        name, is_token, _not, _null = children
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
            number: int | Decimal = Decimal(raw) if "." in raw else int(raw)
            return ast.Number(number, pos, raw)
        if token.type in ("TRUE", "FALSE"):
            return ast.Boolean(token.type == "TRUE", pos, raw)
        return ast.Me(pos, raw)
