"""TQL compiled to Q and run against real rows (users and groups of the test schemas)."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser, Group

from cti.tql import TqlContext, TqlError, compile_tql

User = get_user_model()
NOW = datetime(2024, 1, 10, 15, 0, tzinfo=UTC)


def dt(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


@pytest.fixture
def people(db: None) -> SimpleNamespace:
    red = Group.objects.create(name="red")
    blue = Group.objects.create(name="blue")
    Group.objects.create(name="empty")

    def user(username: str, groups: tuple[Group, ...] = (), **fields: object) -> object:
        created = User.objects.create(username=username, **fields)
        created.groups.set(groups)
        return created

    return SimpleNamespace(
        red=red,
        blue=blue,
        alice=user(
            "alice",
            (red,),
            first_name="Alice",
            last_name="Smith",
            email="Alice@Example.com",
            is_staff=True,
            date_joined=dt(2024, 1, 1, 10),
            last_login=dt(2024, 1, 9, 12),
        ),
        bob=user(
            "bob",
            (red, blue),
            first_name="Bob",
            email="bob@example.org",
            date_joined=dt(2024, 1, 2),
            last_login=None,
        ),
        carol=user(
            "carol",
            first_name="",
            last_name="Jones",
            email="CAROL@x.net",
            date_joined=dt(2023, 12, 31, 23, 59, 59),
            last_login=dt(2024, 1, 10),
        ),
        odd=user(
            "d%_x",
            (blue,),
            first_name="100% sure_thing",
            last_name="smith",
            is_staff=True,
            date_joined=dt(2024, 1, 3, 12),
            last_login=dt(2024, 1, 3, 12),
        ),
        eve=user("eve", first_name="Open", date_joined=dt(2024, 1, 5)),
        frank=user("frank", first_name="Closed", date_joined=dt(2024, 1, 6)),
    )


ALL = ["alice", "bob", "carol", "d%_x", "eve", "frank"]


def names(text: str, user: object = None, schema: str = "tql_users") -> list[str]:
    q = compile_tql(text, schema, TqlContext(user=user, now=NOW))
    if schema == "tql_groups":
        return sorted(Group.objects.filter(q).values_list("name", flat=True))
    found = list(User.objects.filter(q).values_list("username", flat=True))
    assert len(found) == len(set(found)), "duplicate rows"
    return sorted(found)


def but(*excluded: str) -> list[str]:
    return [n for n in ALL if n not in excluded]


def error(text: str, user: object = None, schema: str = "tql_users") -> TqlError:
    with pytest.raises(TqlError) as info:
        compile_tql(text, schema, TqlContext(user=user, now=NOW))
    return info.value


pytestmark = pytest.mark.usefixtures("people")


# --- String -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('username = "alice"', ["alice"]),
        ('username == "alice"', ["alice"]),
        ('username EQUALS "alice"', ["alice"]),
        ('username = "Alice"', []),  # String equality is case-sensitive
        ('firstName = ""', ["carol"]),
        ('username != "alice"', but("alice")),
        ('username NE "alice"', but("alice")),
        ('username IN ("alice", "bob", "zed")', ["alice", "bob"]),
        ('username NOT IN ("alice", "bob")', but("alice", "bob")),
        ('username in ("ALICE")', []),
        ('username = "x\' OR 1=1 --"', []),
        ('username = "d%_x"', ["d%_x"]),
        ('USERNAME = "alice"', ["alice"]),
        ('userName = "alice"', ["alice"]),
    ],
)
def test_string_equality(text: str, expected: list[str]) -> None:
    assert names(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('firstName CONTAINS "LI"', ["alice"]),
        ('firstName contains "%"', ["d%_x"]),  # wildcard characters are literal here
        ('firstName contains "_"', ["d%_x"]),
        ('firstName contains ""', ALL),
        ('firstName NOT CONTAINS "o"', ["alice", "carol", "d%_x"]),
        ('firstName STARTSWITH "b"', ["bob"]),
        ('firstName startswith "100%"', ["d%_x"]),
        ('firstName NOT STARTSWITH "b"', but("bob")),
        ('firstName ENDSWITH "E"', ["alice"]),
        ('firstName endswith "_thing"', ["d%_x"]),
        ('firstName NOT ENDSWITH "e"', but("alice")),
    ],
)
def test_string_text_operators(text: str, expected: list[str]) -> None:
    assert names(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('firstName LIKE "a%"', ["alice"]),
        ('firstName LIKE "%O%"', ["bob", "eve", "frank"]),
        ('firstName like "%E"', ["alice"]),
        ('firstName LIKE "alice"', ["alice"]),
        ('firstName LIKE ("b_b")', ["bob"]),
        ('username LIKE "_ob"', ["bob"]),
        ('username like "D__X"', ["d%_x"]),
        ('username like "d%x"', ["d%_x"]),
        ('username like "d\\\\%\\\\_x"', ["d%_x"]),  # \% and \_ are literal
        ('username like "a\\\\%"', []),
        ('firstName LIKE "%"', ALL),
        ('firstName LIKE ""', ["carol"]),
        ('firstName LIKE "c%s%d"', ["frank"]),
        ('firstName LIKE "%.%"', []),  # regex characters are literal
        ('firstName NOT LIKE "a%"', but("alice")),
        ('firstName NOT LIKE "%o%"', ["alice", "carol", "d%_x"]),
    ],
)
def test_string_like(text: str, expected: list[str]) -> None:
    assert names(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('email = "alice@example.com"', ["alice"]),
        ('email = "ALICE@EXAMPLE.COM"', ["alice"]),
        ('email != "ALICE@EXAMPLE.COM"', but("alice")),
        ('email IN ("BOB@EXAMPLE.ORG", "carol@X.NET")', ["bob", "carol"]),
        ('email NOT IN ("BOB@EXAMPLE.ORG", "carol@X.NET")', but("bob", "carol")),
        ('email contains "EXAMPLE"', ["alice", "bob"]),
        ('email LIKE "%.NET"', ["carol"]),
    ],
)
def test_string_lower(text: str, expected: list[str]) -> None:
    assert names(text) == expected


def test_ordering_operators_rejected_for_strings() -> None:
    err = error('username > "a"')
    assert err.token == ">" and err.position == 9
    assert "operator '>' is not valid for String keyword 'username'" in err.message


def test_string_keyword_accepts_bare_number() -> None:
    assert names("username = 5") == []
    assert "invalid String value 'true'" in error("username = true").message


# --- Enum ---------------------------------------------------------------------------------


def test_enum_values_are_canonicalised() -> None:
    assert names('role = "open"') == ["eve"]
    assert names('role = "OPEN"') == ["eve"]
    assert names('role IN ("open", "CLOSED")') == ["eve", "frank"]
    assert names('role != "closed"') == but("frank")
    assert names('role like "o%"') == ["eve"]  # patterns are not checked against the choices


def test_enum_unknown_value_is_an_error() -> None:
    err = error('role = "pending"')
    assert err.token == '"pending"' and err.position == 7
    assert "'\"pending\"'" in err.message and "allowed: Open, Closed" in err.message
    assert error('role in ("open", "nope")').token == '"nope"'


def test_enum_without_choices_is_case_insensitive() -> None:
    assert names('nickname = "SMITH"') == ["alice", "d%_x"]
    assert names('nickname IN ("jones", "nobody")') == ["carol"]


# --- Integer, Long, Double ----------------------------------------------------------------


def test_integer_operators(people: SimpleNamespace) -> None:
    bob = people.bob.pk
    assert names(f"id = {bob}") == ["bob"]
    assert names(f'id = "{bob}"') == ["bob"]  # quoted digits are accepted
    assert names(f"id != {bob}") == but("bob")
    assert names(f"id > {bob}") == ["carol", "d%_x", "eve", "frank"]
    assert names(f"id GT {bob}") == ["carol", "d%_x", "eve", "frank"]
    assert names(f"id >= {bob}") == ["bob", "carol", "d%_x", "eve", "frank"]
    assert names(f"id < {bob}") == ["alice"]
    assert names(f"id LEQ {bob}") == ["alice", "bob"]
    assert names(f"id IN ({bob}, {people.eve.pk}, -1)") == ["bob", "eve"]
    assert names(f"id NOT IN ({bob}, {people.eve.pk})") == but("bob", "eve")
    assert names("id is null") == []
    assert names("id is not null") == ALL
    assert names(f"idLong = {bob}") == ["bob"]
    assert names(f"id = {2**63 - 1}") == []


def test_double_operators(people: SimpleNamespace) -> None:
    bob = people.bob.pk
    assert names(f"idDouble = {bob}") == ["bob"]
    assert names(f"idDouble > {bob}.5") == ["carol", "d%_x", "eve", "frank"]
    assert names(f'idDouble <= "{bob}.0"') == ["alice", "bob"]
    assert names(f"idDouble in ({bob}, {bob}.0)") == ["bob"]


@pytest.mark.parametrize(
    ("text", "token"),
    [
        ('id = "abc"', '"abc"'),
        ("id = 1.5", "1.5"),
        ("id = true", "true"),
        ("id = 2024-01-01", "2024-01-01"),
        ("id = 99999999999999999999", "99999999999999999999"),
        ("id in (1, 2, 'x')", "'x'"),
        ('idDouble = "1e5"', '"1e5"'),
    ],
)
def test_integer_bad_values(text: str, token: str) -> None:
    err = error(text)
    assert err.token == token
    assert f"'{token}'" in err.message


@pytest.mark.parametrize(
    "op", ["CONTAINS", "NOT CONTAINS", "LIKE", "NOT LIKE", "STARTSWITH", "ENDSWITH"]
)
def test_text_operators_rejected_for_integers(op: str) -> None:
    err = error(f'id {op} "1"')
    assert err.token == op and err.position == 3
    assert f"operator '{op}' is not valid for Integer keyword 'id'" in err.message


# --- Boolean ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("isStaff = true", ["alice", "d%_x"]),
        ("isStaff = True", ["alice", "d%_x"]),
        ("isStaff = TRUE", ["alice", "d%_x"]),
        ('isStaff = "true"', ["alice", "d%_x"]),
        ("isStaff = False", ["bob", "carol", "eve", "frank"]),
        ("isStaff != true", ["bob", "carol", "eve", "frank"]),
        ("isStaff NE false", ["alice", "d%_x"]),
        ("isStaff is not null", ALL),
    ],
)
def test_boolean(text: str, expected: list[str]) -> None:
    assert names(text) == expected


@pytest.mark.parametrize(
    ("text", "token"),
    [
        ("isStaff > true", ">"),
        ("isStaff in (true)", "in"),
        ("isStaff contains true", "contains"),
        ("isStaff = 1", "1"),
        ('isStaff = "yes"', '"yes"'),
    ],
)
def test_boolean_errors(text: str, token: str) -> None:
    assert error(text).token == token


# --- Dates --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('dateJoined = "2024-01-01"', ["alice"]),  # a date alone means the whole day
        ("dateJoined = 2024-01-01", ["alice"]),
        ('dateJoined != "2024-01-01"', but("alice")),
        ('dateJoined = "2024-01-01 10:00:00"', ["alice"]),
        ('dateJoined = "2024-01-01 10:00:01"', []),
        ('dateJoined = "2024-01-01T12:00:00+02:00"', ["alice"]),
        ('dateJoined > "2024-01-01"', ["alice", "bob", "d%_x", "eve", "frank"]),  # > 00:00
        ('dateJoined GEQ "2024-01-02 00:00:00"', ["bob", "d%_x", "eve", "frank"]),
        ('dateJoined > "2024-01-02T00:00:00Z"', ["d%_x", "eve", "frank"]),
        ('dateJoined < "2024-01-01"', ["carol"]),
        ('dateJoined LEQ "2024-01-02"', ["alice", "bob", "carol"]),
        ('dateJoined IN ("2024-01-01", "2024-01-03")', ["alice", "d%_x"]),
        ('dateJoined NOT IN ("2024-01-01", "2024-01-03")', ["bob", "carol", "eve", "frank"]),
        ('dateJoined >= "2023-12-31" and dateJoined < "2024-01-02"', ["alice", "carol"]),
        ('dateJoined >= "TODAY() - 5 DAYS"', ["eve", "frank"]),
        ('dateJoined < "TODAY() - 216 HOURS"', ["carol"]),
        ('lastLogin = "TODAY()"', ["carol"]),
        ('lastLogin >= "TODAY() - 1 DAYS"', ["alice", "carol"]),
        ('lastLogin > "NOW() - 3 HOURS"', []),
        ('lastLogin > "NOW() - 16 HOURS"', ["carol"]),
        ("lastLogin is null", ["bob", "eve", "frank"]),
        ("lastLogin IS NOT NULL", ["alice", "carol", "d%_x"]),
    ],
)
def test_dates(text: str, expected: list[str]) -> None:
    assert names(text) == expected


def test_negation_matches_null_like_django() -> None:
    """NOT (lastLogin = x) is true where lastLogin is NULL, as with Django's ~Q()."""
    assert names('lastLogin != "TODAY()"') == ["alice", "bob", "d%_x", "eve", "frank"]
    assert names('NOT lastLogin > "2024-01-05"') == ["bob", "d%_x", "eve", "frank"]
    assert names('NOT NOT lastLogin > "2024-01-05"') == ["alice", "carol"]


@pytest.mark.parametrize(
    ("text", "token"),
    [
        ('dateJoined = "yesterday"', '"yesterday"'),
        ('dateJoined > "2024-02-30"', '"2024-02-30"'),
        ("dateJoined = 5", "5"),
        ("dateJoined = true", "true"),
        ('dateJoined CONTAINS "2024"', "CONTAINS"),
        ('dateJoined like "2024%"', "like"),
    ],
)
def test_date_errors(text: str, token: str) -> None:
    err = error(text)
    assert err.token == token and f"'{token}'" in err.message


def test_default_now_is_current_time() -> None:
    q = compile_tql('dateJoined > "TODAY() - 36500 DAYS"', "tql_users")
    assert User.objects.filter(q).count() == len(ALL)


# --- IS NULL ------------------------------------------------------------------------------


def test_is_null_on_non_nullable_column() -> None:
    assert names("firstName is null") == []
    assert names("firstName is not null") == ALL


# --- me and resolvers ---------------------------------------------------------------------


def test_me_with_resolver(people: SimpleNamespace) -> None:
    assert names("owner = me", user=people.alice) == ["alice"]
    assert names("owner = ME", user=people.bob) == ["bob"]
    assert names('owner in (me, "carol")', user=people.alice) == ["alice", "carol"]
    assert names("owner != me", user=people.alice) == but("alice")
    assert names('owner = "eve"', user=people.alice) == ["eve"]


def test_me_without_resolver(people: SimpleNamespace) -> None:
    assert names("login = me", user=people.bob) == ["bob"]
    assert names("username = me", user=people.carol) == ["carol"]
    assert names("createdById = me", user=people.eve) == ["eve"]
    assert names('login = "me"', user=people.bob) == []  # quoted "me" is just text


def test_me_needs_a_user(people: SimpleNamespace) -> None:
    err = error("login = me")
    assert err.token == "me" and err.position == 8
    assert error("login = me", user=AnonymousUser()).token == "me"
    assert error("isStaff = me", user=people.alice).token == "me"


# --- many-valued lookups and hasX ---------------------------------------------------------


def test_many_valued_lookup_has_exists_semantics() -> None:
    assert names('groupName = "red"') == ["alice", "bob"]
    assert names('groupName = "red" and groupName = "blue"') == ["bob"]
    assert names('groupName != "red"') == ["carol", "d%_x", "eve", "frank"]
    assert names('groupName IN ("red", "blue")') == ["alice", "bob", "d%_x"]
    assert names("groupName is null") == ["carol", "eve", "frank"]
    assert names('groupName like "%E%"') == ["alice", "bob", "d%_x"]


def test_has_subquery(people: SimpleNamespace) -> None:
    assert names('hasGroup(name = "red")') == ["alice", "bob"]
    assert names('HASGROUP(name = "red" or name = "blue")') == ["alice", "bob", "d%_x"]
    assert names('NOT hasGroup(name = "red")') == ["carol", "d%_x", "eve", "frank"]
    assert names("hasGroup(id > 0)") == ["alice", "bob", "d%_x"]
    assert names("NOT hasGroup(id > 0)") == ["carol", "eve", "frank"]
    assert names('hasGroup(name = "empty")') == []
    assert names(f"hasGroup = {people.blue.pk}") == ["bob", "d%_x"]
    assert names(f"hasGroup != {people.blue.pk}") == ["alice", "carol", "eve", "frank"]


def test_nested_has(people: SimpleNamespace) -> None:
    # users sharing a group with alice
    assert names('hasGroup(hasUser(username = "alice"))') == ["alice", "bob"]
    # users sharing a group with someone who is in blue
    assert names('hasGroup(hasUser(hasGroup(name = "blue")))') == ["alice", "bob", "d%_x"]
    assert names("hasUser(isStaff = true)", schema="tql_groups") == ["blue", "red"]
    assert names("NOT hasUser(id > 0)", schema="tql_groups") == ["empty"]


def test_has_uses_target_keywords() -> None:
    err = error("hasGroup(isStaff = true)")
    assert err.token == "isStaff" and err.position == 9
    assert "unknown keyword 'isStaff'" in err.message
    err = error('username(name = "x")')
    assert "does not take a nested query" in err.message and err.token == "username"
    assert error('hasGroup CONTAINS "x"').token == "CONTAINS"


# --- structure and errors -----------------------------------------------------------------


def test_and_or_not() -> None:
    assert names('isStaff = true and firstName like "a%"') == ["alice"]
    assert names('isStaff = true or firstName = "Bob"') == ["alice", "bob", "d%_x"]
    assert names('username = "eve" or username = "bob" and isStaff = true') == ["eve"]
    assert names('(username = "eve" or username = "bob") and isStaff = false') == ["bob", "eve"]
    assert names('NOT (username = "eve" or username = "bob")') == but("bob", "eve")
    assert names('not username = "eve" and not username = "bob"') == but("bob", "eve")


def test_unknown_keyword() -> None:
    err = error('username = "a" and foo = 1')
    assert err.message == "Invalid TQL: unknown keyword 'foo' at position 19"
    assert (err.token, err.position) == ("foo", 19)


def test_schema_by_object_and_name() -> None:
    from tests.tql.schemas import USERS

    assert compile_tql('username = "bob"', USERS) == compile_tql('username = "bob"', "tql_users")
