"""Hostile input: every limit gives TqlError, and the largest accepted queries run on the DB."""

from __future__ import annotations

import time

import pytest
from django.contrib.auth import get_user_model

from cti.tql import TqlError, compile_tql
from cti.tql.parser import MAX_CONDITIONS, MAX_DEPTH, MAX_HAS_DEPTH

User = get_user_model()

# innermost keyword per schema: a negated many-valued lookup is itself a subquery
MANY_VALUED = {"tql_users": "NOT groupName LIKE 'x_%y'", "tql_groups": "NOT userName LIKE 'x_%y'"}


def has_chain(levels: int, inner: str) -> str:
    """``NOT hasGroup(NOT hasUser(... inner ...))`` starting from tql_users."""
    wrappers = ["NOT hasGroup(" if i % 2 == 0 else "NOT hasUser(" for i in range(levels)]
    return "".join(wrappers) + inner + ")" * levels


def alternating(levels: int, inner: str) -> str:
    for i in range(levels):
        inner = f"NOT (id = {i} {'OR' if i % 2 else 'AND'} {inner})"
    return inner


def leaves(levels: int) -> str:
    schema = "tql_groups" if levels % 2 else "tql_users"
    return "(" + " OR ".join([MANY_VALUED[schema]] * (MAX_CONDITIONS - levels - 5)) + ")"


def run(text: str) -> None:
    assert len(text) <= 10_000
    started = time.perf_counter()
    list(User.objects.filter(compile_tql(text, "tql_users")).values_list("pk", flat=True))
    assert time.perf_counter() - started < 10


WORST_ACCEPTED = {
    "deepest subqueries with the most conditions": has_chain(
        MAX_HAS_DEPTH, alternating(4, leaves(MAX_HAS_DEPTH))
    ),
    "deepest parentheses": alternating(
        (MAX_DEPTH - 1) // 2, " OR ".join(["NOT lastLogin = 'TODAY()'"] * (MAX_CONDITIONS - 20))
    ),
    "many negated whole-day dates": "NOT ("
    + " AND ".join(['lastLogin = "2024-01-01"'] * MAX_CONDITIONS)
    + ")",
    "many negated many-valued lookups": " OR ".join(["NOT groupName = 'x'"] * MAX_CONDITIONS),
    "many subqueries side by side": " OR ".join(
        ["hasGroup(hasUser(hasGroup(hasUser(id = 1))))"] * (MAX_CONDITIONS // 5)
    ),
    "long IN list": "id IN (" + ",".join(str(i) for i in range(1_000)) + ")",
    "hostile LIKE": "firstName LIKE '" + "%a" * 400 + "%b'",
}


@pytest.mark.django_db
@pytest.mark.parametrize("text", WORST_ACCEPTED.values(), ids=WORST_ACCEPTED.keys())
def test_largest_accepted_queries_run(text: str) -> None:
    User.objects.create(username="u", first_name="a" * 150)
    run(text)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (" or ".join(["id = 1"] * (MAX_CONDITIONS + 1)), "more than 120 conditions"),
        (has_chain(MAX_HAS_DEPTH + 1, "id = 1"), "more than 4 nested subqueries"),
        ("(" * (MAX_DEPTH + 1) + "id = 1" + ")" * (MAX_DEPTH + 1), "nesting deeper than 20"),
        ("id = 1 " + " " * 10_000, "too long"),
        ("id in (" + ",".join(["1"] * 1_001) + ")", "more than 1000 values"),
    ],
)
def test_limits_are_tql_errors(text: str, message: str) -> None:
    with pytest.raises(TqlError, match=message):
        compile_tql(text, "tql_users")


def test_condition_limit_names_the_first_extra_condition() -> None:
    text = " or ".join(f"id = {i}" for i in range(MAX_CONDITIONS + 5))
    with pytest.raises(TqlError) as info:
        compile_tql(text, "tql_users")
    assert info.value.position == text.index(f"id = {MAX_CONDITIONS}")
