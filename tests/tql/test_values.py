"""Value conversion helpers: dates and LIKE patterns (no database)."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta

import pytest

from cti.tql.values import DateBound, like_lookup, parse_date

NOW = datetime(2024, 3, 15, 13, 45, 30, tzinfo=UTC)


def day(y: int, m: int, d: int) -> DateBound:
    return DateBound.day(datetime(y, m, d, tzinfo=UTC))


def at(*args: int) -> DateBound:
    return DateBound(datetime(*args, tzinfo=UTC))  # type: ignore[misc]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-01-01", day(2024, 1, 1)),
        (" 2024-02-29 ", day(2024, 2, 29)),
        ("2024-01-01 00:00:00", at(2024, 1, 1)),
        ("2024-01-01 10:20:30", at(2024, 1, 1, 10, 20, 30)),
        ("2024-01-01T10:20:30", at(2024, 1, 1, 10, 20, 30)),
        ("2024-01-01T10:20", at(2024, 1, 1, 10, 20)),
        ("2024-01-01T10:20:30Z", at(2024, 1, 1, 10, 20, 30)),
        ("2024-01-01T10:20:30+00:00", at(2024, 1, 1, 10, 20, 30)),
        ("2024-01-01T10:20:30+02:00", at(2024, 1, 1, 8, 20, 30)),
        ("2024-01-01T01:00:00-05:00", at(2024, 1, 1, 6)),
        ("2024-01-01T10:20:30.500Z", DateBound(datetime(2024, 1, 1, 10, 20, 30, 500000, UTC))),
        ("TODAY()", day(2024, 3, 15)),
        ("today()", day(2024, 3, 15)),
        ("TODAY() - 7 DAYS", day(2024, 3, 8)),
        ("TODAY()-7DAYS", day(2024, 3, 8)),
        ("TODAY() + 1 day", day(2024, 3, 16)),
        ("TODAY() - 3 HOURS", at(2024, 3, 14, 21)),
        ("TODAY() + 90 MINUTES", at(2024, 3, 15, 1, 30)),
        ("NOW()", DateBound(NOW)),
        ("NOW() - 2 HOURS", DateBound(NOW - timedelta(hours=2))),
        ("now() - 1 day", DateBound(NOW - timedelta(days=1))),
    ],
)
def test_parse_date(text: str, expected: DateBound) -> None:
    assert parse_date(text, NOW) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "yesterday",
        "2024-13-01",
        "2024-02-30",
        "2024-01-01 25:00:00",
        "TODAY() - 7 WEEKS",
        "TODAY() - DAYS",
        "TODAY - 7 DAYS",
        "TODAY() - 99999999 DAYS",
        "9999-12-31",  # the whole day would end past the last representable instant
        "12",
    ],
)
def test_parse_date_rejects(text: str) -> None:
    assert parse_date(text, NOW) is None


def test_naive_now_is_utc() -> None:
    assert parse_date("TODAY()", datetime(2024, 3, 15, 23, 59)) == day(2024, 3, 15)


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("abc", ("iexact", "abc")),
        ("abc%", ("istartswith", "abc")),
        ("%abc", ("iendswith", "abc")),
        ("%abc%", ("icontains", "abc")),
        ("%%abc%%%", ("icontains", "abc")),
        ("%", ("icontains", "")),
        ("", ("iexact", "")),
        (r"100\%", ("iexact", "100%")),
        (r"a\_b%", ("istartswith", "a_b")),
        ("%Phish%", ("icontains", "Phish")),
        ("a.c%", ("istartswith", "a.c")),
    ],
)
def test_like_simple_lookups(pattern: str, expected: tuple[str, str]) -> None:
    assert like_lookup(pattern) == expected


VENDOR_FLAGS = {
    "sqlite": re.IGNORECASE,  # Django's REGEXP on SQLite is Python's re.search
    "postgresql": re.IGNORECASE | re.DOTALL,  # "." matches a newline in PostgreSQL's ARE
}


@pytest.mark.parametrize("vendor", sorted(VENDOR_FLAGS))
@pytest.mark.parametrize(
    ("pattern", "matches", "misses"),
    [
        ("a%c", ["ac", "abc", "ABBC", "a\nc"], ["ab", "xac", "abc\n"]),
        ("a_c", ["abc", "A.C", "a%c", "a\nc"], ["ac", "abbc"]),
        ("%a_", ["xab", "ab"], ["abc", "a"]),
        ("_", ["x", "%"], ["", "xy"]),
        ("%a%b%", ["ab", "xaxbx", "BA-AB"], ["ba", "a", "b"]),
        ("a%b%c", ["abc", "aXbYc", "abcbc", "aabbcc"], ["acb", "abcx", "xabc"]),
        ("%ab%ba", ["abba", "xxabyyba", "ababa"], ["aba", "abab", "ab"]),
        ("(x)%[y]_", ["(x)[y]z", "(X)--[Y]z"], ["x[y]z", "(x)[y]"]),
        ("^$%|?*+{}", ["^$|?*+{}", "^$ab|?*+{}"], ["|?*+{}"]),
        ("a\\%b%_", ["a%b1", "A%Bxyz"], ["axb1", "a%b"]),
    ],
)
def test_like_regex_lookups(
    vendor: str, pattern: str, matches: list[str], misses: list[str]
) -> None:
    lookup, regex = like_lookup(pattern, vendor)
    assert lookup == "iregex"
    compiled = re.compile(regex, VENDOR_FLAGS[vendor])
    for text in matches:
        assert compiled.search(text), (pattern, text)
    for text in misses:
        assert not compiled.search(text), (pattern, text)


def test_like_regex_is_linear_on_sqlite() -> None:
    """A pattern that makes a naive backtracking regex take forever stays fast."""
    _, regex = like_lookup("%a" * 200 + "%b", "sqlite")
    started = time.perf_counter()
    assert re.search("(?i)" + regex, "a" * 5_000) is None
    assert time.perf_counter() - started < 1
