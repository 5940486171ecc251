"""Building blocks for keywords whose meaning is more than one column."""

from collections.abc import Callable
from typing import Any

from django.db.models import Model, Q

from cti.tql import TqlContext

Resolver = Callable[[str, Any, TqlContext], Q]

_NEGATED = {
    "!=": "=",
    "not in": "in",
    "not like": "like",
    "not contains": "contains",
    "not startswith": "startswith",
    "not endswith": "endswith",
}


def _like_q(lookup: str, pattern: str) -> Q:
    import re

    body = pattern.strip("%")
    if "%" not in body and "_" not in body:
        if pattern.startswith("%") and pattern.endswith("%") and len(pattern) > 1:
            return Q(**{f"{lookup}__icontains": body})
        if pattern.endswith("%"):
            return Q(**{f"{lookup}__istartswith": body})
        if pattern.startswith("%"):
            return Q(**{f"{lookup}__iendswith": body})
        return Q(**{f"{lookup}__iexact": body})
    regex = "".join(".*" if ch == "%" else "." if ch == "_" else re.escape(ch) for ch in pattern)
    return Q(**{f"{lookup}__iregex": f"^{regex}$"})


def positive_q(lookup: str, op: str, value: Any) -> Q:
    """A plain (non-negated) comparison of one ORM path."""
    simple = {
        "=": "exact",
        ">": "gt",
        "<": "lt",
        ">=": "gte",
        "<=": "lte",
        "in": "in",
        "contains": "icontains",
        "startswith": "istartswith",
        "endswith": "iendswith",
    }
    if op == "like":
        return _like_q(lookup, value)
    if op == "is null":
        return Q(**{f"{lookup}__isnull": True})
    if op == "is not null":
        return Q(**{f"{lookup}__isnull": False})
    return Q(**{f"{lookup}__{simple[op]}": value})


def any_of(*lookups: str) -> Resolver:
    """Matches when any of several paths matches (e.g. a user name or a group name)."""

    def resolve(op: str, value: Any, ctx: TqlContext) -> Q:
        base = _NEGATED.get(op, op)
        q = Q()
        for lookup in lookups:
            q |= positive_q(lookup, base, value)
        return ~q if base != op else q

    return resolve


def related(model: type[Model], lookup: str, back: str, outer: str = "pk") -> Resolver:
    """Matches rows related (through `back` on `model`) to a `model` row whose `lookup` matches;
    a subquery, so many-to-many paths add no duplicate rows."""

    def resolve(op: str, value: Any, ctx: TqlContext) -> Q:
        base = _NEGATED.get(op, op)
        inner = model._default_manager.filter(positive_q(lookup, base, value)).values(back)
        q = Q(**{f"{outer}__in": inner})
        return ~q if base != op else q

    return resolve


def user_ref(lookup: str) -> Resolver:
    """A user name keyword that also understands `me` as the requesting user."""

    def resolve(op: str, value: Any, ctx: TqlContext) -> Q:
        if isinstance(value, str) and value.lower() == "me" and ctx.user is not None:
            value = ctx.user.get_username()
        base = _NEGATED.get(op, op)
        q = positive_q(lookup, base, value)
        return ~q if base != op else q

    return resolve
