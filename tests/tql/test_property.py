"""Property test: random rows + random TQL, database result == a plain Python reference.

Each example builds a few users and groups (names from a tiny alphabet with upper/lower case,
``%``, ``_``, quotes, backslash and space), then draws random query trees (every keyword of the
test schemas, every operator valid for its type, random values, AND/OR/NOT nesting up to depth
3 and ``hasGroup``/``hasUser`` subqueries). A tree is rendered to TQL text with random operator
spellings, letter case, quoting and spacing; the text must parse back to the same tree, and the
rows the compiled ``Q`` selects must equal what :func:`holds` computes over the same rows.

The reference implements the documented semantics independently of ``cti.tql``: a predicate on
NULL is false (except IS NULL), NOT is plain negation (as Django's ``~Q`` gives), many-valued
keywords (``groupName``) and hasX mean "some related row matches".
"""

from __future__ import annotations

import os
import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction
from hypothesis import HealthCheck, Phase, event, given, settings
from hypothesis import strategies as st

from cti.tql import TqlContext, compile_tql, parse_tql
from cti.tql.ast import And, Boolean, Has, Node, Not, Number, Or, Predicate, String, Value

User = get_user_model()

# upper and lower case letters, LIKE wildcards, quotes, backslash and space
ALPHABET = "aAbB%_\\\"' "
NOW = datetime(2024, 1, 11, 13, 0, tzinfo=UTC)
TODAY = NOW.replace(hour=0)
BASE = datetime(2024, 1, 10, tzinfo=UTC)
MAX_DEPTH = 3
QUERIES_PER_EXAMPLE = 8

TEXT_OPS = [
    "=", "!=", "in", "not in", "like", "not like", "contains", "not contains",
    "startswith", "not startswith", "endswith", "not endswith", "is null", "is not null",
]  # fmt: skip
OPS = {
    "str": TEXT_OPS,
    "lower": TEXT_OPS,
    "int": ["=", "!=", ">", "<", ">=", "<=", "in", "not in", "is null", "is not null"],
    "bool": ["=", "!=", "is null", "is not null"],
    "date": ["=", "!=", ">", "<", ">=", "<=", "in", "not in", "is null", "is not null"],
}


# ---------------------------------------------------------------------------------------------
# Rows
# ---------------------------------------------------------------------------------------------


@dataclass
class UserRow:
    username: str
    first_name: str
    email: str
    is_staff: bool
    date_joined: datetime
    last_login: datetime | None
    groups: list[int]  # indexes into World.groups, then group ids once saved
    id: int = 0


@dataclass
class GroupRow:
    name: str
    id: int = 0


@dataclass
class World:
    users: list[UserRow]
    groups: list[GroupRow]
    dates: dict[str, tuple[datetime, bool]] = field(default_factory=dict)

    def groups_of(self, user: UserRow) -> list[GroupRow]:
        return [g for g in self.groups if g.id in user.groups]

    def users_of(self, group: GroupRow) -> list[UserRow]:
        return [u for u in self.users if group.id in u.groups]


_CHARS = st.sampled_from(list("aAbB" + ALPHABET))  # letters twice as likely
texts = st.lists(_CHARS, max_size=4).map("".join)
moments = st.integers(-80, 80).map(lambda h: BASE + timedelta(hours=h))


@st.composite
def worlds(draw: st.DrawFn) -> World:
    names = st.lists(_CHARS, min_size=1, max_size=3).map("".join)
    group_names = draw(st.lists(names, max_size=3, unique=True))
    n_groups = len(group_names)
    user = st.builds(
        UserRow,
        username=st.lists(_CHARS, min_size=1, max_size=4).map("".join),
        first_name=texts,
        email=texts,
        is_staff=st.booleans(),
        date_joined=moments,
        last_login=st.none() | moments,
        groups=st.lists(st.integers(0, max(n_groups - 1, 0)), max_size=n_groups, unique=True)
        if n_groups
        else st.just([]),
    )
    users = draw(st.lists(user, min_size=2, max_size=6, unique_by=lambda u: u.username))
    return World(users, [GroupRow(name) for name in group_names])


def save(world: World) -> None:
    groups = Group.objects.bulk_create([Group(name=g.name) for g in world.groups])
    for row, group in zip(world.groups, groups, strict=True):
        row.id = group.pk
    users = User.objects.bulk_create(
        [
            User(
                username=u.username,
                first_name=u.first_name,
                email=u.email,
                is_staff=u.is_staff,
                date_joined=u.date_joined,
                last_login=u.last_login,
            )
            for u in world.users
        ]
    )
    through = User.groups.through
    links = []
    for row, user in zip(world.users, users, strict=True):
        row.id = user.pk
        row.groups = [world.groups[i].id for i in row.groups]
        links += [through(user_id=user.pk, group_id=gid) for gid in row.groups]
    through.objects.bulk_create(links)


# ---------------------------------------------------------------------------------------------
# Reference semantics
# ---------------------------------------------------------------------------------------------

Getter = Callable[[Any, World], list[Any]]
KEYWORDS: dict[str, dict[str, tuple[str, Getter]]] = {
    "tql_users": {
        "id": ("int", lambda u, w: [u.id]),
        "username": ("str", lambda u, w: [u.username]),
        "firstName": ("str", lambda u, w: [u.first_name]),
        "email": ("lower", lambda u, w: [u.email]),
        "isStaff": ("bool", lambda u, w: [u.is_staff]),
        "dateJoined": ("date", lambda u, w: [u.date_joined]),
        "lastLogin": ("date", lambda u, w: [u.last_login]),
        "groupName": ("str", lambda u, w: [g.name for g in w.groups_of(u)] or [None]),
    },
    "tql_groups": {
        "id": ("int", lambda g, w: [g.id]),
        "name": ("str", lambda g, w: [g.name]),
        "userName": ("str", lambda g, w: [u.username for u in w.users_of(g)] or [None]),
    },
}
SUBQUERIES: dict[str, dict[str, tuple[str, Getter]]] = {
    "tql_users": {"hasGroup": ("tql_groups", lambda u, w: w.groups_of(u))},
    "tql_groups": {"hasUser": ("tql_users", lambda g, w: w.users_of(g))},
}


def rows(world: World, schema: str) -> list[Any]:
    return world.users if schema == "tql_users" else world.groups


def holds(node: Node, schema: str, row: Any, world: World) -> bool:
    if isinstance(node, And):
        return all(holds(n, schema, row, world) for n in node.operands)
    if isinstance(node, Or):
        return any(holds(n, schema, row, world) for n in node.operands)
    if isinstance(node, Not):
        return not holds(node.operand, schema, row, world)
    if isinstance(node, Has):
        target, related = SUBQUERIES[schema][node.keyword]
        return any(holds(node.query, target, r, world) for r in related(row, world))
    kind, getter = KEYWORDS[schema][node.keyword]
    values = getter(row, world)
    op = node.operator
    if op == "is null":
        return any(v is None for v in values)
    if op == "is not null":
        return any(v is not None for v in values)
    negate = op == "!=" or op.startswith("not ")
    base = "=" if op == "!=" else op.removeprefix("not ")
    expected = python_value(kind, node.value, world)
    found = any(v is not None and compare(kind, base, v, expected) for v in values)
    return not found if negate else found


def python_value(kind: str, value: Any, world: World) -> Any:
    if isinstance(value, tuple):
        return [python_value(kind, v, world) for v in value]
    if kind == "int":
        return int(value.value)
    if kind == "bool":
        return value.value if isinstance(value, Boolean) else value.value.lower() == "true"
    if kind == "date":
        return world.dates[value.value]
    return value.value


def compare(kind: str, op: str, actual: Any, expected: Any) -> bool:
    if op == "in":
        return any(compare(kind, "=", actual, e) for e in expected)
    if kind in ("str", "lower"):
        if op == "=":
            return actual.lower() == expected.lower() if kind == "lower" else actual == expected
        if op == "like":
            return like(expected, actual)
        folded, needle = actual.lower(), expected.lower()
        return {
            "contains": needle in folded,
            "startswith": folded.startswith(needle),
            "endswith": folded.endswith(needle),
        }[op]
    if kind == "date":
        start, whole_day = expected
        if op == "=" and whole_day:
            return start <= actual < start + timedelta(days=1)
        expected = start
    return {
        "=": actual == expected,
        ">": actual > expected,
        "<": actual < expected,
        ">=": actual >= expected,
        "<=": actual <= expected,
    }[op]


def like(pattern: str, text: str) -> bool:
    regex, i = "", 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\" and i + 1 < len(pattern):
            regex += re.escape(pattern[i + 1])
            i += 2
            continue
        regex += ".*" if char == "%" else "." if char == "_" else re.escape(char)
        i += 1
    return re.fullmatch(regex, text, re.IGNORECASE | re.DOTALL) is not None


# ---------------------------------------------------------------------------------------------
# Random query trees
# ---------------------------------------------------------------------------------------------


@st.composite
def recased(draw: st.DrawFn, text: str) -> str:
    """``text`` with the case of some letters flipped."""
    return "".join(c.swapcase() if draw(st.booleans()) else c for c in text)


@st.composite
def string_values(draw: st.DrawFn, pool: list[str]) -> String:
    choice = draw(st.integers(0, 4)) if pool else 0
    if choice == 0:
        return String(draw(texts))
    text = draw(st.sampled_from(pool))
    return String(draw(recased(text)) if choice > 2 else text)


@st.composite
def like_patterns(draw: st.DrawFn, pool: list[str]) -> String:
    base = (
        draw(recased(draw(st.sampled_from(pool)))) if pool and draw(st.booleans()) else draw(texts)
    )
    chars = [draw(st.sampled_from([c, c, c, "_", "%"])) for c in base]
    prefix = draw(st.sampled_from(["", "", "%", "_"]))
    suffix = draw(st.sampled_from(["", "", "%", "_"]))
    return String(prefix + "".join(chars) + suffix)


@st.composite
def date_values(draw: st.DrawFn, world: World) -> String:
    moment = draw(moments)
    form = draw(st.sampled_from(["day", "space", "iso", "offset", "today", "relative"]))
    if form == "day":
        text, meaning = moment.date().isoformat(), (moment.replace(hour=0), True)
    elif form == "space":
        text, meaning = moment.strftime("%Y-%m-%d %H:%M:%S"), (moment, False)
    elif form == "iso":
        text, meaning = moment.strftime("%Y-%m-%dT%H:%M:%SZ"), (moment, False)
    elif form == "offset":
        local = moment + timedelta(hours=2)
        text, meaning = local.strftime("%Y-%m-%dT%H:%M:%S+02:00"), (moment, False)
    elif form == "today":
        text, meaning = "TODAY()", (TODAY, True)
    else:
        amount = draw(st.integers(0, 80))
        unit, sign = draw(st.sampled_from(["DAYS", "HOURS"])), draw(st.sampled_from("+-"))
        func = draw(st.sampled_from(["TODAY()", "NOW()"]))
        delta = timedelta(days=amount) if unit == "DAYS" else timedelta(hours=amount)
        start = (TODAY if func == "TODAY()" else NOW) + (delta if sign == "+" else -delta)
        text = f"{func} {sign} {amount} {unit}"
        meaning = (start, func == "TODAY()" and unit == "DAYS")
    world.dates[text] = meaning
    return String(text)


@st.composite
def scalar_values(draw: st.DrawFn, kind: str, pool: list[Any], world: World) -> Value:
    if kind == "int":
        number = draw(st.sampled_from(pool or [0])) + draw(st.integers(-1, 1))
        return String(str(number)) if draw(st.integers(0, 9)) == 0 else Number(number)
    if kind == "bool":
        flag = draw(st.booleans())
        return Boolean(flag) if draw(st.integers(0, 4)) else String(str(flag).upper())
    if kind == "date":
        return draw(date_values(world))
    return draw(string_values(pool))


@st.composite
def predicates(draw: st.DrawFn, schema: str, world: World) -> Predicate:
    name = draw(st.sampled_from(sorted(KEYWORDS[schema])))
    kind, getter = KEYWORDS[schema][name]
    op = draw(st.sampled_from(OPS[kind]))
    pool = sorted(
        {v for row in rows(world, schema) for v in getter(row, world) if v is not None}, key=repr
    )
    if op in ("is null", "is not null"):
        return Predicate(name, op, None)
    if op in ("in", "not in"):
        values = draw(st.lists(scalar_values(kind, pool, world), min_size=1, max_size=3))
        return Predicate(name, op, tuple(values))
    if op.endswith("like"):
        return Predicate(name, op, draw(like_patterns([str(v) for v in pool])))
    return Predicate(name, op, draw(scalar_values(kind, pool, world)))


@st.composite
def trees(draw: st.DrawFn, schema: str, world: World, depth: int = 0) -> Node:
    if depth >= MAX_DEPTH:
        return draw(predicates(schema, world))
    shape = draw(st.sampled_from(["pred", "pred", "and", "or", "not", "has"]))
    if shape == "pred":
        return draw(predicates(schema, world))
    if shape == "not":
        return Not(draw(trees(schema, world, depth + 1)))
    if shape == "has":
        name, (target, _) = next(iter(SUBQUERIES[schema].items()))
        return Has(name, draw(trees(target, world, depth + 1)))
    children = tuple(draw(st.lists(trees(schema, world, depth + 1), min_size=2, max_size=3)))
    return And(children) if shape == "and" else Or(children)


# ---------------------------------------------------------------------------------------------
# Rendering with random spellings
# ---------------------------------------------------------------------------------------------

SPELLINGS = {
    "=": ["=", "==", "EQ", "eq", "Equals", "EQUALS"],
    "!=": ["!=", "NE", "ne"],
    ">": [">", "GT", "gt"],
    "<": ["<", "LT", "lt"],
    ">=": [">=", "GEQ", "geq"],
    "<=": ["<=", "LEQ", "Leq"],
}


def cased(rnd: random.Random, word: str) -> str:
    return rnd.choice([word.upper(), word.lower(), word.title(), word])


def render(node: Node, rnd: random.Random) -> str:
    space = rnd.choice([" ", " ", "  ", "\n"])
    if isinstance(node, Predicate):
        return render_predicate(node, rnd)
    if isinstance(node, Has):
        return f"{cased(rnd, node.keyword)}({render(node.query, rnd)})"
    if isinstance(node, Not):
        inner = render(node.operand, rnd)
        if isinstance(node.operand, And | Or):
            inner = f"({inner})"
        return f"{cased(rnd, 'not')}{space}{inner}"
    word = "and" if isinstance(node, And) else "or"
    parts = []
    for child in node.operands:
        text = render(child, rnd)
        # parentheses are needed except for AND inside OR, where they are optional
        needed = isinstance(child, And | Or) and not (
            isinstance(node, Or) and isinstance(child, And)
        )
        if needed or (isinstance(child, And) and rnd.random() < 0.5):
            text = f"({text})"
        parts.append(text)
    return f"{space}{cased(rnd, word)}{space}".join(parts)


def render_predicate(node: Predicate, rnd: random.Random) -> str:
    keyword = cased(rnd, node.keyword)
    op = node.operator
    if op in SPELLINGS:
        spelled = rnd.choice(SPELLINGS[op])
    else:
        spelled = " ".join(cased(rnd, w) for w in op.split())
    if node.value is None:
        return f"{keyword} {spelled}"
    if isinstance(node.value, tuple):
        sep = rnd.choice([",", ", ", " , "])
        return f"{keyword} {spelled} ({sep.join(render_value(v, rnd) for v in node.value)})"
    value = render_value(node.value, rnd)
    if op.endswith("like") and rnd.random() < 0.3:
        value = f"({value})"
    if spelled[0] in "=!<>":  # symbols need no surrounding spaces
        return f"{keyword}{rnd.choice(['', ' '])}{spelled}{rnd.choice(['', ' '])}{value}"
    return f"{keyword} {spelled} {value}"


def render_value(value: Value, rnd: random.Random) -> str:
    if isinstance(value, Boolean):
        return cased(rnd, "true" if value.value else "false")
    if isinstance(value, Number):
        return str(value.value)
    assert isinstance(value, String)
    text = value.value
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}(T[\d:]+(Z|\+\d\d:\d\d))?", text) and rnd.random() < 0.3:
        return text  # unquoted ISO date
    quote = rnd.choice(['"', "'"])
    other = "'" if quote == '"' else '"'
    body = text.replace("\\", "\\\\").replace(quote, "\\" + quote)
    if rnd.random() < 0.3:
        body = body.replace(other, "\\" + other)  # escaping the other quote is allowed too
    return f"{quote}{body}{quote}"


# ---------------------------------------------------------------------------------------------
# The property
# ---------------------------------------------------------------------------------------------


def folded(node: Node) -> Node:
    """``node`` with keyword names in lower case (the renderer varies their case)."""
    if isinstance(node, Predicate):
        return replace(node, keyword=node.keyword.lower())
    if isinstance(node, Has):
        return replace(node, keyword=node.keyword.lower(), query=folded(node.query))
    if isinstance(node, Not):
        return Not(folded(node.operand))
    return type(node)(tuple(folded(n) for n in node.operands))


def selected(schema: str, text: str) -> list[int]:
    q = compile_tql(text, schema, TqlContext(now=NOW))
    model = User if schema == "tql_users" else Group
    return list(model.objects.filter(q).values_list("pk", flat=True))


# Shrinking a failure can take minutes (every step hits the database); the failing TQL text and
# rows are reported anyway. Set TQL_PROPERTY_SHRINK=1 to get a minimal example.
PHASES = (
    tuple(Phase) if os.environ.get("TQL_PROPERTY_SHRINK") else tuple(set(Phase) - {Phase.shrink})
)


@pytest.mark.django_db
@settings(
    max_examples=200,
    deadline=None,
    phases=PHASES,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,  # rows are rolled back per example below
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
@given(data=st.data())
def test_compiled_tql_matches_reference(data: st.DataObject) -> None:
    world = data.draw(worlds(), label="world")
    with transaction.atomic():
        save(world)
        for _ in range(QUERIES_PER_EXAMPLE):
            schema = data.draw(st.sampled_from(["tql_users", "tql_users", "tql_groups"]))
            tree = data.draw(trees(schema, world), label="tree")
            text = render(tree, data.draw(st.randoms(use_true_random=False)))
            parsed = parse_tql(text)
            assert parsed is not None and folded(parsed) == folded(tree), text
            found = selected(schema, text)
            assert len(found) == len(set(found)), f"duplicate rows for {text!r}"
            expected = {r.id for r in rows(world, schema) if holds(tree, schema, r, world)}
            assert set(found) == expected, text
            total = len(rows(world, schema))
            event("matches: " + ("none" if not found else "all" if len(found) == total else "some"))
        transaction.set_rollback(True)


def test_reference_like_agrees_with_documented_examples() -> None:
    assert like("a%", "ABC") and like("_b_", "abc") and not like("a_", "a")
    assert like("100\\%", "100%") and not like("100\\%", "1000")
