"""TQL text -> AST, without a database."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cti.tql import TqlError, parse_tql
from cti.tql.ast import And, Boolean, Has, Me, Not, Number, Or, Predicate, String, to_tql
from cti.tql.parser import (
    MAX_CONDITIONS,
    MAX_DEPTH,
    MAX_HAS_DEPTH,
    MAX_LENGTH,
    MAX_LIST_VALUES,
)


def p(keyword: str, op: str, value: object = None) -> Predicate:
    return Predicate(keyword, op, value)  # type: ignore[arg-type]


A, B, C = p("a", "=", Number(1)), p("b", "=", Number(2)), p("c", "=", Number(3))


# --- operators ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "op"),
    [
        ("x = 1", "="),
        ("x == 1", "="),
        ("x EQ 1", "="),
        ("x eq 1", "="),
        ("x EQUALS 1", "="),
        ("x Equals 1", "="),
        ("x != 1", "!="),
        ("x NE 1", "!="),
        ("x ne 1", "!="),
        ("x > 1", ">"),
        ("x GT 1", ">"),
        ("x < 1", "<"),
        ("x LT 1", "<"),
        ("x >= 1", ">="),
        ("x GEQ 1", ">="),
        ("x geq 1", ">="),
        ("x <= 1", "<="),
        ("x LEQ 1", "<="),
        ("x>=1", ">="),
        ("x<=1", "<="),
        ("x>1", ">"),
        ("x<1", "<"),
        ("x=1", "="),
    ],
)
def test_comparison_operators(text: str, op: str) -> None:
    assert parse_tql(text) == p("x", op, Number(1))


@pytest.mark.parametrize(
    ("text", "op"),
    [
        ('x LIKE "a%"', "like"),
        ('x like "a%"', "like"),
        ('x NOT LIKE "a%"', "not like"),
        ('x not Like "a%"', "not like"),
        ('x CONTAINS "a%"', "contains"),
        ('x NOT CONTAINS "a%"', "not contains"),
        ('x STARTSWITH "a%"', "startswith"),
        ('x startsWith "a%"', "startswith"),
        ('x NOT STARTSWITH "a%"', "not startswith"),
        ('x ENDSWITH "a%"', "endswith"),
        ('x NOT ENDSWITH "a%"', "not endswith"),
    ],
)
def test_text_operators(text: str, op: str) -> None:
    assert parse_tql(text) == p("x", op, String("a%"))


def test_like_with_parentheses() -> None:
    assert parse_tql('name LIKE ("Email%")') == p("name", "like", String("Email%"))
    assert parse_tql('name NOT LIKE ( "Email%" )') == p("name", "not like", String("Email%"))


def test_in_lists() -> None:
    assert parse_tql("id IN (1,2,3)") == p("id", "in", (Number(1), Number(2), Number(3)))
    assert parse_tql("name not in (\"a\", 'b')") == p("name", "not in", (String("a"), String("b")))
    assert parse_tql("id in (7)") == p("id", "in", (Number(7),))


def test_is_null() -> None:
    assert parse_tql("techniqueId is not null") == p("techniqueId", "is not null")
    assert parse_tql("techniqueId IS NULL") == p("techniqueId", "is null")
    tree = parse_tql("a IS NOT NULL and b is null")
    assert tree == And((p("a", "is not null"), p("b", "is null")))


# --- values -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        (r'"say \"hi\""', 'say "hi"'),
        (r"'it\'s'", "it's"),
        (r'"tick \` tock"', "tick ` tock"),
        (r'"back \\ slash"', "back \\ slash"),
        (r'"C:\temp"', "C:\\temp"),  # unknown escapes keep their backslash
        ("'single \"double\" inside'", 'single "double" inside'),
        ('"it\'s"', "it's"),
        ('""', ""),
        ('"  spaced  "', "  spaced  "),
        ('"unicode é ✓"', "unicode é ✓"),
    ],
)
def test_strings(text: str, value: str) -> None:
    assert parse_tql(f"name = {text}") == p("name", "=", String(value))


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("12", Number(12)),
        ("-5", Number(-5)),
        ("0", Number(0)),
        ("3.25", Number(Decimal("3.25"))),
        ("-0.5", Number(Decimal("-0.5"))),
        ("true", Boolean(True)),
        ("True", Boolean(True)),
        ("TRUE", Boolean(True)),
        ("false", Boolean(False)),
        ("False", Boolean(False)),
        ("me", Me()),
        ("ME", Me()),
        ("2024-01-01", String("2024-01-01")),
        ("2024-01-01T00:00:00Z", String("2024-01-01T00:00:00Z")),
        ("2024-01-01T10:20:30+00:00", String("2024-01-01T10:20:30+00:00")),
        ('"2024-01-01 00:00:00"', String("2024-01-01 00:00:00")),
        ('"TODAY() - 7 DAYS"', String("TODAY() - 7 DAYS")),
    ],
)
def test_scalar_values(text: str, value: object) -> None:
    assert parse_tql(f"x = {text}") == p("x", "=", value)


def test_unquoted_date_is_marked() -> None:
    tree = parse_tql("d > 2024-01-01")
    assert isinstance(tree, Predicate) and isinstance(tree.value, String)
    assert tree.value.quoted is False


# --- structure ----------------------------------------------------------------------------


@pytest.mark.parametrize("word", ["and", "AND", "And", "aNd"])
def test_and_any_case(word: str) -> None:
    assert parse_tql(f"a = 1 {word} b = 2") == And((A, B))


@pytest.mark.parametrize("word", ["or", "OR", "Or"])
def test_or_any_case(word: str) -> None:
    assert parse_tql(f"a = 1 {word} b = 2") == Or((A, B))


def test_and_binds_tighter_than_or() -> None:
    assert parse_tql("a = 1 or b = 2 and c = 3") == Or((A, And((B, C))))
    assert parse_tql("a = 1 and b = 2 or c = 3") == Or((And((A, B)), C))


def test_parentheses_override_precedence() -> None:
    assert parse_tql("(a = 1 or b = 2) and c = 3") == And((Or((A, B)), C))
    assert parse_tql("((a = 1))") == A


def test_chains_are_flat() -> None:
    assert parse_tql("a = 1 and b = 2 and c = 3") == And((A, B, C))
    assert parse_tql("a = 1 OR b = 2 OR c = 3") == Or((A, B, C))


def test_not_prefix() -> None:
    assert parse_tql("NOT a = 1") == Not(A)
    assert parse_tql("not a = 1 and b = 2") == And((Not(A), B))
    assert parse_tql("NOT (a = 1 or b = 2)") == Not(Or((A, B)))
    assert parse_tql("NOT NOT a = 1") == Not(Not(A))
    assert parse_tql("NOT(a = 1)") == Not(A)


def test_has_subqueries() -> None:
    assert parse_tql('hasTask(status = "Open")') == Has("hasTask", p("status", "=", String("Open")))
    assert parse_tql('hasTask(hasArtifact(type = "Host"))') == Has(
        "hasTask", Has("hasArtifact", p("type", "=", String("Host")))
    )
    assert parse_tql("NOT hasTask(a = 1 or b = 2) and c = 3") == And(
        (Not(Has("hasTask", Or((A, B)))), C)
    )
    assert parse_tql("hasGroup(id in (10,15)) AND associable=true") == And(
        (
            Has("hasGroup", p("id", "in", (Number(10), Number(15)))),
            p("associable", "=", Boolean(True)),
        )
    )


@pytest.mark.parametrize(
    "name",
    [
        "noteId",
        "notes",
        "order",
        "orange",
        "android",
        "island",
        "isStaff",
        "inside",
        "nullable",
        "meta",
        "trueValue",
        "falsePositive",
        "likes",
        "equalsX",
        "eqx",
        "gtx",
        "neighbour",
    ],
)
def test_keyword_names_starting_with_operator_words(name: str) -> None:
    assert parse_tql(f"{name} = 1") == p(name, "=", Number(1))
    assert parse_tql(f"a = 1 and {name} = 1") == And((A, p(name, "=", Number(1))))
    assert parse_tql(f"NOT {name} = 1") == Not(p(name, "=", Number(1)))


def test_keyword_name_keeps_its_spelling() -> None:
    tree = parse_tql("CASEID = 3")
    assert isinstance(tree, Predicate) and tree.keyword == "CASEID"


def test_whitespace_and_newlines() -> None:
    assert parse_tql("\n  a\t=\n1   AND\r\nb = 2 ") == And((A, B))


def test_empty_text() -> None:
    assert parse_tql("") is None
    assert parse_tql("   \n") is None
    assert parse_tql(None) is None


def test_positions() -> None:
    tree = parse_tql('x = 1 and name  NOT LIKE "a"')
    assert isinstance(tree, And)
    pred = tree.operands[1]
    assert isinstance(pred, Predicate)
    assert (pred.pos, pred.op_pos, pred.op_text) == (10, 16, "NOT LIKE")
    assert isinstance(pred.value, String) and pred.value.pos == 25


TCEX_STRINGS = [
    'name = "My Case"',
    'status = "Open" and severity IN ("High","Critical")',
    "id = 12",
    "id IN (1,2,3)",
    'name NOT IN ("a","b")',
    'hasTask(status = "Open")',
    'hasTask(id = 7) and hasArtifact(summary CONTAINS "bad")',
    'hasTask(hasArtifact(type = "Host"))',
    'hasTag(name = "x")',
    "detectionOverdue = False",
    'dateAdded > "2024-01-01 00:00:00"',
    'caseOpenTime >= "2023-02-01 00:00:00"',
    'tag = "Phishing" and name STARTSWITH "Ph"',
    "hasWorkflowTemplate = 5",
    "caseId = 3 and required = True and workflowPhase = 1",
    'caseId = 3 and type = "Host"',
    "hasNote(artifactId = 9)",
    'taskId = 4 and lastModified < "2024-05-01 10:00:00"',
    "caseId = 3 and systemGenerated = False",
    'intelType = "indicator-Host" and active = True',
    'name LIKE "%Phish%"',
    'name = "x" or (status = "Closed")',
    "hasCase(id = 5)",
    "hasTask(id = 3)",
    "hasArtifact(id = 4)",
    'dateAdded >= "2021-04-01" and dateAdded < "2021-04-30"',
    'caseOpenTime GEQ "2023-02-01" and caseOpenTime LEQ "2023-02-28"',
    "techniqueId is not null",
    "hasGroup(id in (10,15)) AND associable=true",
    'name LIKE ("Email%")',
    'tag = "Phishing" and name STARTSWITH "Ph" and detectionOverdue = True',
]


@pytest.mark.parametrize("text", TCEX_STRINGS)
def test_tcex_generated_strings_parse_and_round_trip(text: str) -> None:
    tree = parse_tql(text)
    assert tree is not None
    assert parse_tql(to_tql(tree)) == tree


def test_to_tql_canonical() -> None:
    tree = parse_tql("not (a eq 1 or b NE 'x\"y') and c in (1, 2) and d is not null")
    assert tree is not None
    assert to_tql(tree) == 'NOT (a = 1 OR b != "x\\"y") AND c IN (1, 2) AND d IS NOT NULL'


# --- errors -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "token", "position"),
    [
        ("name (", None, 6),  # ends too early
        ('name = "x" (', "(", 11),
        ("name ( = 1", "=", 7),
        ("name = ", None, 7),
        ("= 1", "=", 0),
        ("name = foo", "foo", 7),  # a bare word is not a value
        ("name = 1 2", "2", 9),
        ("name = 5abc", "5abc", 7),
        ("name ~ 1", "~", 5),
        ("name = 1 and", None, 12),
        ("name = 1 and = 2", "=", 13),
        ("(a = 1", None, 6),
        ("a = 1)", ")", 5),
        ("id in ()", ")", 7),
        ("id in (1,)", ")", 9),
        ("id in 1", "1", 6),
        ("a is 1", "1", 5),
        ("a is not", None, 8),
        ("hasTask()", ")", 8),
        ('name = "unterminated', '"unterminated', 7),
        ("name = 'x", "'x", 7),
        ("a = 1 AND NOT", None, 13),
        ("a == == 1", "==", 5),
        ("a not = 1", "=", 6),
        ("a like", None, 6),
        ("a = 1.2.3", "1.2.3", 4),
        ("1 = a", "1", 0),
    ],
)
def test_syntax_errors_name_token_and_position(text: str, token: str | None, position: int) -> None:
    with pytest.raises(TqlError) as info:
        parse_tql(text)
    error = info.value
    assert error.position == position
    assert error.token == token
    assert error.message.startswith("Invalid TQL: ")
    assert f"at position {position}" in error.message
    if token is not None:
        assert f"'{token}'" in error.message
    else:
        assert "end of query" in error.message
    assert str(error) == error.message


def test_error_message_example() -> None:
    with pytest.raises(TqlError, match=r"^Invalid TQL: unexpected token '\(' at position 11$"):
        parse_tql('name = "x" (')


def test_nesting_limit() -> None:
    ok = "(" * MAX_DEPTH + "a = 1" + ")" * MAX_DEPTH
    assert parse_tql(ok) == A
    with pytest.raises(TqlError, match="nesting deeper than 20") as info:
        parse_tql("(" + ok + ")")
    assert info.value.token == "("
    with pytest.raises(TqlError, match="nesting"):
        parse_tql("NOT " * (MAX_DEPTH + 1) + "a = 1")
    with pytest.raises(TqlError, match="nesting"):
        parse_tql("NOT (" * 10 + "NOT a = 1" + ")" * 10)


def test_nested_subquery_limit() -> None:
    ok = "hasX(" * MAX_HAS_DEPTH + "a = 1" + ")" * MAX_HAS_DEPTH
    assert parse_tql(ok) is not None
    assert parse_tql(f"NOT {ok} AND ({ok} OR {ok})") is not None  # side by side is fine
    with pytest.raises(TqlError, match="more than 4 nested subqueries") as info:
        parse_tql("hasX(" * (MAX_HAS_DEPTH + 1) + "a = 1" + ")" * (MAX_HAS_DEPTH + 1))
    assert (info.value.token, info.value.position) == ("hasX", 20)


def test_deep_hostile_nesting_is_an_error_not_a_crash() -> None:
    with pytest.raises(TqlError):
        parse_tql("(" * 4_000 + "a = 1" + ")" * 4_000)
    with pytest.raises(TqlError):
        parse_tql("NOT " * 2_400 + "a = 1")
    with pytest.raises(TqlError):
        parse_tql("(" * 9_000)


def test_length_limit() -> None:
    text = "a = 1" + " " * (MAX_LENGTH - 5)
    assert parse_tql(text) == A
    with pytest.raises(TqlError, match="too long"):
        parse_tql(text + " ")


def test_in_list_limit() -> None:
    values = ",".join("1" for _ in range(MAX_LIST_VALUES))
    tree = parse_tql(f"id in ({values})")
    assert isinstance(tree, Predicate) and len(tree.value) == MAX_LIST_VALUES  # type: ignore[arg-type]
    with pytest.raises(TqlError, match="more than 1000 values") as info:
        parse_tql(f"id in ({values},2)")
    assert info.value.token == "2"


def test_condition_limit() -> None:
    text = " or ".join(f"a = {i}" for i in range(MAX_CONDITIONS))
    tree = parse_tql(text)
    assert isinstance(tree, Or) and len(tree.operands) == MAX_CONDITIONS
    with pytest.raises(TqlError, match="more than 120 conditions") as info:
        parse_tql(f"{text} or hasX(b = 1)")
    assert info.value.token == "b"  # conditions are counted inside-out


def test_huge_number_is_an_error() -> None:
    with pytest.raises(TqlError, match="too long") as info:
        parse_tql("id = " + "9" * 5_000)
    assert info.value.position == 5
    assert parse_tql("id = " + "9" * 40) is not None


@pytest.mark.parametrize("text", ["\x00", "a = \x00", "a = 1 \u2028 and", "\ufeffa = 1", "a = '\\"])
def test_odd_characters_are_tql_errors(text: str) -> None:
    with pytest.raises(TqlError):
        parse_tql(text)


# --- fuzzing: any input gives a tree or a TqlError, never another exception ---------------

_PIECES = [
    "(", ")", ",", "=", "==", "!=", ">", "<", ">=", "<=", "and", "OR", "not", "in", "is",
    "null", "like", "contains", "startswith", "endswith", "EQ", "geq", "true", "False", "me",
    '"x"', "'y'", '"a\\"b"', "'", '"', "\\", "12", "-3", "4.5", "2024-01-01", "id", "username",
    "hasGroup", "hasUser", "email", "dateJoined", "isStaff", "foo", "%", "_", "`",
]  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(_PIECES), max_size=12).map(" ".join) | st.text(max_size=40))
def test_fuzz_only_tql_errors(text: str) -> None:
    from cti.tql import compile_tql

    try:
        parse_tql(text)
        compile_tql(text, "tql_users")
    except TqlError as error:
        assert error.message.startswith("Invalid TQL: ")
