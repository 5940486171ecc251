"""TQL syntax tree -> Django ``Q``, through a resource's :class:`~cti.tql.keywords.TqlSchema`.

Only ``Q`` objects and ORM lookups are built, never SQL text. Keyword names are matched
case-insensitively; an unknown keyword, a value of the wrong type or an operator the type does
not allow is a :class:`~cti.tql.errors.TqlError` naming the token and its position. The parser
limits queries to 10,000 characters, 20 levels of nesting and 1,000 values per IN list.

Semantics by keyword type:

String (also Assignee and User without a resolver)
    ``=`` is ``exact`` (case-sensitive), ``!=`` its negation, ``IN`` is ``__in`` (exact values).
    ``CONTAINS``/``STARTSWITH``/``ENDSWITH`` are ``icontains``/``istartswith``/``iendswith``:
    case-insensitive on every backend (SQLite folds ASCII letters only).
    ``LIKE`` is a case-insensitive pattern match: ``%`` any run, ``_`` one character, ``\\``
    makes the next character literal. A literal with ``%`` only at its ends uses
    ``icontains``/``istartswith``/``iendswith``/``iexact``; other patterns an anchored
    ``iregex`` of the escaped pattern (see :func:`cti.tql.values.like_lookup`: on SQLite it
    uses atomic groups so hostile patterns cannot backtrack catastrophically).
    Ordering operators (``>`` ...) are rejected: collations differ between backends.
StringLower (and Enum without choices)
    as String, but ``=``/``!=``/``IN`` compare case-insensitively (``iexact``; IN is an OR of
    ``iexact``).
Enum / ``choices`` (on any string type)
    for ``= != IN``, a value is matched case-insensitively against the choices and replaced by
    the canonical spelling, then compared exactly; an unknown value is a ``TqlError`` naming
    it. Pattern operators (LIKE, CONTAINS ...) are not checked against the choices.
Integer, Long, Double
    ``= != > < >= <= IN``; a quoted number (``"5"``) is accepted; Integer/Long must be whole
    and fit in 64 bits, Double finite. Text operators are rejected.
Boolean
    ``=``/``!=`` only; ``true``/``false`` in any case, bare or quoted.
Date, DateTime
    ``= != > < >= <= IN`` on the column. A date without a time (``"2024-01-01"``,
    ``"TODAY()"``, ``"TODAY() - 7 DAYS"``) is 00:00 UTC of that day for ``> < >= <=`` and the
    whole day (``>= day`` and ``< next day``) for ``=``/``!=``/``IN``; any other value is an
    instant (naive times are UTC). Formats: :mod:`cti.tql.values`. ``TODAY()`` is the UTC date
    of :attr:`TqlContext.now`.
IS NULL / IS NOT NULL
    ``__isnull`` on every type.
NOT and NULL
    Every ``NOT``, ``!=`` and ``NOT x`` operator form is ``~Q(...)``. As in Django, a NULL
    column matches the negation (``NOT (x = 'a')`` is true when x is NULL): a predicate on
    NULL is false, and NOT is plain two-valued logic.
``me``
    passed to a resolver as :data:`cti.tql.values.ME` (the string ``"me"``, identifiable with
    ``value is ME``); without a resolver it is the requesting user's username for string
    keywords and its primary key for Integer/Long keywords (a TqlError if there is no
    authenticated user, or for other types).
hasX(expr)
    ``Q(outer__in=<target base rows>.filter(<expr compiled against the target schema>,
    inner__isnull=False).values(inner))``: a subquery, so no join multiplies the outer rows,
    and NULLs in the subquery cannot empty a ``NOT hasX(...)``. A hasX keyword used as an
    Integer, ``hasX = 5``, means ``hasX(<target pk> = 5)`` (``!=``: not associated with 5).
Many-valued lookups
    a ``lookup`` that crosses a to-many relation (``groups__name``) is compiled as
    ``pk__in(<base rows>.filter(<lookup q>).values("pk"))``: each predicate means "some related
    row matches" on its own (``tag = "a" and tag = "b"`` needs both tags, not one tag equal to
    both), its negation "no related row matches", and rows are never duplicated.
Keywords with a ``resolver``
    the resolver gets the normalised operator, the converted value (a list for IN) and the
    context, and returns the ``Q``; negation is then up to the resolver.
AND / OR / NOT
    ``Q(*operands)``, ``Q(*operands, _connector=OR)``, ``~Q``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import reduce
from operator import or_
from typing import Any

from django.core.exceptions import FieldDoesNotExist
from django.db import connections, router
from django.db.models import Model, Q, QuerySet
from django.db.models.constants import LOOKUP_SEP
from django.utils import timezone

from cti.tql import ast
from cti.tql.errors import TqlError
from cti.tql.keywords import Keyword, KeywordType, TqlSchema
from cti.tql.parser import parse_tql
from cti.tql.registry import registry
from cti.tql.values import (
    BOOLEAN_TYPES,
    DATE_TYPES,
    NUMBER_TYPES,
    STRING_TYPES,
    DateBound,
    convert_value,
    like_lookup,
)

__all__ = ["TqlContext", "compile_tql"]

_ALL_TEXT = frozenset(ast.OPERATORS) - {">", "<", ">=", "<="}
_ALLOWED_OPERATORS: dict[frozenset[KeywordType], frozenset[str]] = {
    STRING_TYPES: _ALL_TEXT,
    NUMBER_TYPES: frozenset(ast.COMPARISON_OPERATORS + ast.LIST_OPERATORS + ast.NULL_OPERATORS),
    DATE_TYPES: frozenset(ast.COMPARISON_OPERATORS + ast.LIST_OPERATORS + ast.NULL_OPERATORS),
    BOOLEAN_TYPES: frozenset(("=", "!=", *ast.NULL_OPERATORS)),
}
_ORDERING = {">": "gt", "<": "lt", ">=": "gte", "<=": "lte"}
_TEXT_LOOKUPS = {"contains": "icontains", "startswith": "istartswith", "endswith": "iendswith"}


@dataclass
class TqlContext:
    """Per-request facts the compiler and keyword resolvers may use."""

    user: Any = None
    now: datetime | None = None
    # narrows a subquery's rows to those the user may see (hasX() must not reveal hidden rows)
    scope: Callable[[QuerySet], QuerySet] | None = None

    def current_time(self) -> datetime:
        """``now`` (aware, UTC), ``timezone.now()`` when unset; ``TODAY()`` is its UTC date."""
        moment = self.now if self.now is not None else timezone.now()
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def compile_tql(text: str | None, schema: TqlSchema | str, context: TqlContext | None = None) -> Q:
    """Compile TQL for ``schema`` (or a registered schema name) into a ``Q``.

    Empty or whitespace-only text gives ``Q()`` (everything). Raises :class:`TqlError`.
    """
    if isinstance(schema, str):
        schema = registry.get(schema)
    tree = parse_tql(text)
    if tree is None:
        return Q()
    return _Compiler(schema, context or TqlContext()).compile(tree)


class _Compiler:
    def __init__(self, schema: TqlSchema, context: TqlContext) -> None:
        self.schema = schema
        self.context = context

    def compile(self, node: ast.Node) -> Q:
        if isinstance(node, ast.And):
            return Q(*(self.compile(n) for n in node.operands), _connector=Q.AND)
        if isinstance(node, ast.Or):
            return Q(*(self.compile(n) for n in node.operands), _connector=Q.OR)
        if isinstance(node, ast.Not):
            return ~self.compile(node.operand)
        if isinstance(node, ast.Has):
            return self._has(node)
        return self._predicate(node)

    # --- keywords --------------------------------------------------------------------------
    def _keyword(self, name: str, pos: int) -> Keyword:
        keyword = self.schema.keyword(name)
        if keyword is None:
            raise TqlError(f"unknown keyword '{name}'", name, pos)
        return keyword

    def _has(self, node: ast.Has) -> Q:
        keyword = self._keyword(node.keyword, node.pos)
        if keyword.subquery is None:
            raise TqlError(
                f"keyword '{node.keyword}' does not take a nested query", node.keyword, node.pos
            )
        target = registry.get(keyword.subquery.target)
        return self._subquery(keyword, target, _Compiler(target, self.context).compile(node.query))

    def _subquery(self, keyword: Keyword, target: TqlSchema, inner_q: Q) -> Q:
        assert keyword.subquery is not None
        inner = keyword.subquery.inner
        rows = target.base_queryset()
        if self.context.scope is not None:
            rows = self.context.scope(rows)
        rows = rows.filter(inner_q, **{f"{inner}__isnull": False})
        return Q(**{f"{keyword.subquery.outer}__in": rows.values(inner)})

    # --- predicates ------------------------------------------------------------------------
    def _predicate(self, node: ast.Predicate) -> Q:
        keyword = self._keyword(node.keyword, node.pos)
        value_type = KeywordType.INTEGER if keyword.subquery is not None else keyword.type
        op = node.operator
        allowed = next(ops for types, ops in _ALLOWED_OPERATORS.items() if value_type in types)
        if op not in allowed:
            raise TqlError(
                f"operator '{node.op_text or op}' is not valid for {value_type.value} "
                f"keyword '{keyword.name}'",
                node.op_text or op,
                node.op_pos,
            )
        value = self._value(keyword, value_type, node)
        if keyword.resolver is not None:
            return keyword.resolver(op, value, self.context)
        negate, op = _negated(op)
        if keyword.subquery is not None:
            target = registry.get(keyword.subquery.target)
            q = self._subquery(keyword, target, _number_q("pk", op, value))
        else:
            assert keyword.lookup is not None
            q = _builder(value_type)(keyword, op, value, self._vendor())
            q = self._many_valued_guard(keyword.lookup, q)
        return ~q if negate else q

    def _vendor(self) -> str:
        """The database vendor of the schema's rows (LIKE regexes differ per engine)."""
        return connections[router.db_for_read(self.schema.model)].vendor

    def _value(self, keyword: Keyword, value_type: KeywordType, node: ast.Predicate) -> Any:
        if node.value is None:
            return None
        if isinstance(node.value, tuple):
            return [
                convert_value(keyword, value_type, v, node.operator, self.context)
                for v in node.value
            ]
        return convert_value(keyword, value_type, node.value, node.operator, self.context)

    def _many_valued_guard(self, lookup: str, q: Q) -> Q:
        """Wrap a predicate across a to-many relation in a ``pk__in`` subquery."""
        if not _crosses_many(self.schema.model, lookup):
            return q
        return Q(pk__in=self.schema.base_queryset().filter(q).values("pk"))


def _crosses_many(model: type[Model], lookup: str) -> bool:
    opts = model._meta
    for part in lookup.split(LOOKUP_SEP):
        try:
            field = opts.get_field(part)
        except FieldDoesNotExist:
            return False  # a transform or lookup name ends the relation path
        if field.is_relation and (field.many_to_many or field.one_to_many):
            return True
        if not field.is_relation or field.related_model is None:
            return False
        opts = field.related_model._meta
    return False


# ---------------------------------------------------------------------------------------------
# Q builders by type: (keyword, positive operator, converted value, db vendor) -> Q; the
# caller applies the negation of != and NOT forms outside any many-valued subquery.
# ---------------------------------------------------------------------------------------------


def _builder(value_type: KeywordType) -> Callable[[Keyword, str, Any, str], Q]:
    if value_type in STRING_TYPES:
        return _string_q
    if value_type in DATE_TYPES:
        return lambda keyword, op, value, vendor: _date_q(_lookup(keyword), op, value)
    return lambda keyword, op, value, vendor: _number_q(_lookup(keyword), op, value)


def _lookup(keyword: Keyword) -> str:
    assert keyword.lookup is not None
    return keyword.lookup


def _null_q(lookup: str, op: str) -> Q:
    return Q(**{f"{lookup}__isnull": op == "is null"})


def _negated(op: str) -> tuple[bool, str]:
    """``("not like")`` -> ``(True, "like")``; ``"!="`` -> ``(True, "=")``."""
    if op == "!=":
        return True, "="
    if op.startswith("not "):
        return True, op[4:]
    return False, op


def _string_q(keyword: Keyword, op: str, value: Any, vendor: str) -> Q:
    lookup = _lookup(keyword)
    if op in ast.NULL_OPERATORS:
        return _null_q(lookup, op)
    insensitive = keyword.type is KeywordType.STRING_LOWER or (
        keyword.type is KeywordType.ENUM and not keyword.choices
    )
    if op == "=":
        return Q(**{f"{lookup}__{'iexact' if insensitive else 'exact'}": value})
    if op == "in" and insensitive:
        return reduce(or_, (Q(**{f"{lookup}__iexact": v}) for v in value))
    if op == "in":
        return Q(**{f"{lookup}__in": value})
    if op == "like":
        suffix, pattern = like_lookup(value, vendor)
        return Q(**{f"{lookup}__{suffix}": pattern})
    return Q(**{f"{lookup}__{_TEXT_LOOKUPS[op]}": value})


def _number_q(lookup: str, op: str, value: Any) -> Q:
    """Integer/Long/Double/Boolean (a Boolean only reaches ``=`` and null tests)."""
    if op in ast.NULL_OPERATORS:
        return _null_q(lookup, op)
    if op == "=":
        return Q(**{lookup: value})
    if op == "in":
        return Q(**{f"{lookup}__in": value})
    return Q(**{f"{lookup}__{_ORDERING[op]}": value})


def _date_q(lookup: str, op: str, value: Any) -> Q:
    if op in ast.NULL_OPERATORS:
        return _null_q(lookup, op)
    if op == "=":
        return _date_equals(lookup, value)
    if op == "in":
        return reduce(or_, (_date_equals(lookup, bound) for bound in value))
    return Q(**{f"{lookup}__{_ORDERING[op]}": value.start})


def _date_equals(lookup: str, bound: DateBound) -> Q:
    if bound.end is not None:
        return Q(**{f"{lookup}__gte": bound.start, f"{lookup}__lt": bound.end})
    return Q(**{lookup: bound.start})
