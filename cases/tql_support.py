"""Resolvers for the few TQL keywords whose value spans several columns.

A keyword that names one ORM ``lookup`` needs nothing from here: the compiler handles ``me``,
LIKE patterns, negation and to-many paths itself. The resolvers below combine columns and
apply the operator with :func:`lookup_q`, which compares one lookup the way the compiler does
for a plain keyword of the same type, so both kinds of keyword behave alike.
"""

import re
from collections.abc import Callable
from functools import reduce
from operator import and_, or_
from typing import Any

from django.db.models import Q

from cti.tql import ME, KeywordType, TqlContext, TqlError
from cti.tql.ast import NULL_OPERATORS
from cti.tql.values import STRING_TYPES, like_lookup

Resolver = Callable[[str, Any, TqlContext], Q]

NOTHING = Q(pk__in=[])
"""Matches no row; its negation matches every row."""

# Positive operator -> Django lookup, as in the compiler (text matching is case-insensitive).
_LOOKUPS = {
    ">": "gt",
    "<": "lt",
    ">=": "gte",
    "<=": "lte",
    "contains": "icontains",
    "startswith": "istartswith",
    "endswith": "iendswith",
}
# The same case-insensitive lookups evaluated on a Python string (for computed values).
_TESTS: dict[str, Callable[[str, str], bool]] = {
    "iexact": lambda text, arg: text.casefold() == arg.casefold(),
    "icontains": lambda text, arg: arg.casefold() in text.casefold(),
    "istartswith": lambda text, arg: text.casefold().startswith(arg.casefold()),
    "iendswith": lambda text, arg: text.casefold().endswith(arg.casefold()),
    "iregex": lambda text, arg: re.search(arg, text, re.IGNORECASE) is not None,
}


def split_negation(op: str) -> tuple[bool, str]:
    """``"not like"`` -> ``(True, "like")``, ``"!="`` -> ``(True, "=")``, others unchanged."""
    if op == "!=":
        return True, "="
    if op.startswith("not "):
        return True, op[4:]
    return False, op


def lookup_q(lookup: str, value_type: KeywordType, op: str, value: Any) -> Q:
    """``lookup <op> value`` as the compiler builds it for a keyword of ``value_type``.

    Strings: ``=`` exact (``iexact`` for StringLower), ``IN`` exact values (an OR of
    ``iexact`` for StringLower), LIKE through :func:`cti.tql.values.like_lookup`,
    CONTAINS/STARTSWITH/ENDSWITH case-insensitive. Numbers and booleans: plain comparisons.
    Every NOT form (``!=``, ``NOT IN``, ...) is ``~Q`` of the positive form. Dates are not
    supported (no multi-column keyword needs them).
    """
    if op in NULL_OPERATORS:
        return Q(**{f"{lookup}__isnull": op == "is null"})
    negate, op = split_negation(op)
    insensitive = value_type is KeywordType.STRING_LOWER
    if op == "=":
        q = Q(**{f"{lookup}__iexact" if insensitive else lookup: value})
    elif op == "in" and insensitive:
        q = reduce(or_, (Q(**{f"{lookup}__iexact": v}) for v in value))
    elif op == "in":
        q = Q(**{f"{lookup}__in": value})
    elif op == "like":
        suffix, pattern = like_lookup(value)
        q = Q(**{f"{lookup}__{suffix}": pattern})
    else:
        q = Q(**{f"{lookup}__{_LOOKUPS[op]}": value})
    return ~q if negate else q


def me_value(value_type: KeywordType, ctx: TqlContext) -> Any:
    """What ``me`` means for a keyword of ``value_type``: the user's name or primary key."""
    user = ctx.user
    if user is None or not getattr(user, "is_authenticated", False):
        raise TqlError("'me' needs an authenticated user", "me")
    return user.get_username() if value_type in STRING_TYPES else user.pk


def reject_me(value: Any) -> None:
    """Raise :class:`TqlError` if ``value`` (or one of a list) is ``me``."""
    if value is ME or (isinstance(value, list) and any(v is ME for v in value)):
        raise TqlError("'me' is not a valid value for this keyword", "me")


def any_of(value_type: KeywordType, *lookups: str, me: str) -> Resolver:
    """A value held by one of several columns, at most one of them set (a user or a group).

    The keyword matches when any lookup matches, ``IS NULL`` when all are null, and a NOT form
    is the negation of the positive form. ``me`` (the requesting user's name or id) is
    compared with the ``me`` lookup only, so a group never matches it.
    """

    def positive(op: str, value: Any, ctx: TqlContext) -> Q:
        if op == "in":
            return reduce(or_, (positive("=", v, ctx) for v in value))
        if value is ME:
            return lookup_q(me, value_type, op, me_value(value_type, ctx))
        return reduce(or_, (lookup_q(lookup, value_type, op, value) for lookup in lookups))

    def resolve(op: str, value: Any, ctx: TqlContext) -> Q:
        if op in NULL_OPERATORS:
            q = reduce(and_, (Q(**{f"{lookup}__isnull": True}) for lookup in lookups))
            return q if op == "is null" else ~q
        negate, op = split_negation(op)
        q = positive(op, value, ctx)
        return ~q if negate else q

    return resolve


def one_of(states: Callable[[TqlContext], dict[Any, Q]]) -> Resolver:
    """A computed String or Boolean value with a few possible values, never null.

    ``states(ctx)`` maps each value to the ``Q`` of the rows having it; those ``Q`` must
    partition the rows. The operator is evaluated on each value (text operators case-
    insensitively, LIKE through the compiler's pattern translation) and the keyword matches
    the rows of the values that satisfy it, so a NOT form is the exact complement.
    """

    def resolve(op: str, value: Any, ctx: TqlContext) -> Q:
        if op in NULL_OPERATORS:
            return NOTHING if op == "is null" else ~NOTHING
        reject_me(value)
        negate, op = split_negation(op)
        chosen = [q for state, q in states(ctx).items() if _holds(state, op, value) != negate]
        return reduce(or_, chosen) if chosen else NOTHING

    return resolve


def _holds(state: Any, op: str, value: Any) -> bool:
    """Whether the computed ``state`` satisfies the positive operator ``op`` with ``value``."""
    if op == "=":
        return state == value
    if op == "in":
        return state in value
    if op == "like":
        suffix, pattern = like_lookup(value)
        return _TESTS[suffix](str(state), pattern)
    return _TESTS[_LOOKUPS[op]](str(state), value)
