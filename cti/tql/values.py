"""Conversion of TQL literal values to the Python value a keyword compares with.

Dates: ``"2024-01-01"`` (a whole UTC day), ``"2024-01-01 10:00:00"``, ISO 8601 with ``Z`` or an
offset (naive means UTC), ``"TODAY()"`` (00:00 UTC of the context's ``now``, a whole day),
``"TODAY() - 7 DAYS"``, ``"TODAY() + 3 HOURS"``, ``"NOW() - 30 MINUTES"`` (units DAY(S),
HOUR(S), MINUTE(S); only TODAY() with whole days keeps the whole-day meaning).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from cti.tql import ast
from cti.tql.errors import TqlError
from cti.tql.keywords import Keyword, KeywordType

if TYPE_CHECKING:
    from cti.tql.compiler import TqlContext

__all__ = [
    "BOOLEAN_TYPES",
    "DATE_TYPES",
    "ME",
    "NUMBER_TYPES",
    "STRING_TYPES",
    "DateBound",
    "convert_value",
    "like_lookup",
    "parse_date",
]

STRING_TYPES = frozenset(
    {
        KeywordType.STRING,
        KeywordType.STRING_LOWER,
        KeywordType.ENUM,
        KeywordType.ASSIGNEE,
        KeywordType.USER,
    }
)
NUMBER_TYPES = frozenset({KeywordType.INTEGER, KeywordType.LONG, KeywordType.DOUBLE})
DATE_TYPES = frozenset({KeywordType.DATE, KeywordType.DATETIME})
BOOLEAN_TYPES = frozenset({KeywordType.BOOLEAN})

_INT_MIN, _INT_MAX = -(2**63), 2**63 - 1
_INT_TEXT = re.compile(r"\s*-?\d{1,19}\s*")
_FLOAT_TEXT = re.compile(r"\s*-?\d{1,300}(?:\.\d{1,300})?\s*")
_DATE_ONLY = re.compile(r"\d{4}-\d{2}-\d{2}")
_RELATIVE = re.compile(
    r"(TODAY|NOW)\(\s*\)(?:\s*([+-])\s*(\d{1,7})\s*(DAY|HOUR|MINUTE)S?)?", re.IGNORECASE
)
_UNITS = {"DAY": timedelta(days=1), "HOUR": timedelta(hours=1), "MINUTE": timedelta(minutes=1)}


class _Me(str):
    """The type of :data:`ME`: a ``str`` equal to ``"me"``, recognisable with ``value is ME``."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "ME"


ME = _Me("me")
"""What a keyword ``resolver`` receives for the bare value ``me`` (it is the string ``"me"``)."""


@dataclass(frozen=True)
class DateBound:
    """A point in time (aware, UTC); ``end`` (exclusive) is set when the text named a whole day."""

    start: datetime
    end: datetime | None = None

    @property
    def whole_day(self) -> bool:
        return self.end is not None

    @classmethod
    def day(cls, start: datetime) -> DateBound:
        return cls(start, start + timedelta(days=1))


# ---------------------------------------------------------------------------------------------
# Dates
# ---------------------------------------------------------------------------------------------


def parse_date(text: str, now: datetime) -> DateBound | None:
    """Parse a TQL date string; ``None`` if it is not one (see the module docstring)."""
    text = text.strip()
    try:
        relative = _RELATIVE.fullmatch(text)
        if relative:
            return _relative_date(relative, now)
        if _DATE_ONLY.fullmatch(text):
            day = date.fromisoformat(text)
            return DateBound.day(datetime(day.year, day.month, day.day, tzinfo=UTC))
        moment = datetime.fromisoformat(text)
    except (ValueError, OverflowError):
        return None
    if moment.tzinfo is None:
        return DateBound(moment.replace(tzinfo=UTC))
    try:
        return DateBound(moment.astimezone(UTC))
    except OverflowError:
        return None


def _relative_date(match: re.Match[str], now: datetime) -> DateBound:
    func, sign, amount, unit = match.groups()
    now = now.replace(tzinfo=UTC) if now.tzinfo is None else now.astimezone(UTC)
    today = func.upper() == "TODAY"
    base = now.replace(hour=0, minute=0, second=0, microsecond=0) if today else now
    if sign:
        delta = _UNITS[unit.upper()] * int(amount)
        base = base + delta if sign == "+" else base - delta
    if today and (unit is None or unit.upper() == "DAY"):
        return DateBound.day(base)
    return DateBound(base)


# ---------------------------------------------------------------------------------------------
# Values by keyword type
# ---------------------------------------------------------------------------------------------


def convert_value(
    keyword: Keyword, value_type: KeywordType, node: ast.Value, op: str, context: TqlContext
) -> Any:
    """``node`` as the Python value for ``keyword`` (typed ``value_type``) under operator ``op``.

    Raises :class:`TqlError` naming the literal when it does not fit the type.
    """
    if isinstance(node, ast.Me):
        return _me(keyword, value_type, node, context)
    if value_type in STRING_TYPES:
        text = _text(keyword, value_type, node)
        if keyword.choices and op in ("=", "!=", "in", "not in"):
            return _choice(keyword, text, node)
        return text
    if value_type in (KeywordType.INTEGER, KeywordType.LONG):
        return _integer(keyword, value_type, node)
    if value_type is KeywordType.DOUBLE:
        return _double(keyword, node)
    if value_type is KeywordType.BOOLEAN:
        return _boolean(keyword, node)
    return _date(keyword, value_type, node, context.current_time())


def _bad(keyword: Keyword, value_type: KeywordType, node: ast.Value, why: str = "") -> TqlError:
    detail = f"invalid {value_type.value} value '{node.raw}' for keyword '{keyword.name}'{why}"
    return TqlError(detail, node.raw, node.pos)


def _me(keyword: Keyword, value_type: KeywordType, node: ast.Me, context: TqlContext) -> Any:
    if keyword.resolver is not None:
        return ME
    user = context.user
    if user is None or not getattr(user, "is_authenticated", False):
        return _raise(TqlError("'me' needs an authenticated user", node.raw, node.pos))
    if value_type in STRING_TYPES:
        return user.get_username()
    if value_type in (KeywordType.INTEGER, KeywordType.LONG):
        return user.pk
    return _raise(_bad(keyword, value_type, node))


def _raise(error: TqlError) -> Any:
    raise error


def _text(keyword: Keyword, value_type: KeywordType, node: ast.Value) -> str:
    if isinstance(node, ast.String):
        return node.value
    if isinstance(node, ast.Number):
        return node.raw or str(node.value)
    raise _bad(keyword, value_type, node)


def _choice(keyword: Keyword, text: str, node: ast.Value) -> str:
    folded = text.casefold()
    for choice in keyword.choices or ():
        if choice.casefold() == folded:
            return choice
    allowed = ", ".join(keyword.choices or ())
    raise _bad(keyword, keyword.type, node, f" (allowed: {allowed})")


def _integer(keyword: Keyword, value_type: KeywordType, node: ast.Value) -> int:
    number: Any = None
    if isinstance(node, ast.Number) and isinstance(node.value, int):
        number = node.value
    elif isinstance(node, ast.String) and _INT_TEXT.fullmatch(node.value):
        number = int(node.value)
    if number is None or not _INT_MIN <= number <= _INT_MAX:
        raise _bad(keyword, value_type, node)
    return number


def _double(keyword: Keyword, node: ast.Value) -> float:
    number: float | None = None
    numeric_text = isinstance(node, ast.String) and _FLOAT_TEXT.fullmatch(node.value)
    if isinstance(node, ast.Number) or numeric_text:
        number = float(node.value)
    if number is None or not math.isfinite(number):
        raise _bad(keyword, KeywordType.DOUBLE, node)
    return number


def _boolean(keyword: Keyword, node: ast.Value) -> bool:
    if isinstance(node, ast.Boolean):
        return node.value
    if isinstance(node, ast.String) and node.value.strip().lower() in ("true", "false"):
        return node.value.strip().lower() == "true"
    raise _bad(keyword, KeywordType.BOOLEAN, node)


def _date(keyword: Keyword, value_type: KeywordType, node: ast.Value, now: datetime) -> DateBound:
    bound = parse_date(node.value, now) if isinstance(node, ast.String) else None
    if bound is None:
        raise _bad(keyword, value_type, node)
    return bound


# ---------------------------------------------------------------------------------------------
# LIKE patterns
# ---------------------------------------------------------------------------------------------


def like_lookup(pattern: str, vendor: str = "postgresql") -> tuple[str, str]:
    """Translate a LIKE pattern into a case-insensitive Django lookup and its value.

    ``%`` is any run of characters, ``_`` exactly one, a backslash makes the next character
    literal. Patterns that are a literal with ``%`` only at its ends use
    ``icontains``/``istartswith``/``iendswith``/``iexact``; anything else becomes an anchored
    ``iregex`` of escaped literals. ``vendor`` is the database's (``connection.vendor``):
    SQLite evaluates REGEXP with Python's backtracking ``re``, so there each ``%`` segment is
    matched at its earliest position inside an atomic group (linear, no catastrophic
    backtracking on hostile patterns such as ``%a%a%a%a%a%b``); PostgreSQL's engine needs no
    such help (and has no atomic groups).
    """
    tokens = _like_tokens(pattern)
    if tokens == [_ANY]:
        return "icontains", ""
    starts = bool(tokens) and tokens[0] is _ANY
    ends = len(tokens) > int(starts) and tokens[-1] is _ANY
    core = tokens[int(starts) : len(tokens) - int(ends)]
    if all(isinstance(t, str) for t in core):
        lookup = {
            (True, True): "icontains",
            (True, False): "iendswith",
            (False, True): "istartswith",
            (False, False): "iexact",
        }[(starts, ends)]
        return lookup, "".join(t for t in core if isinstance(t, str))
    segments: list[list[object]] = [[]]
    for token in tokens:
        if token is _ANY:
            segments.append([])
        else:
            segments[-1].append(token)
    if vendor == "sqlite":
        return "iregex", _python_regex(segments)
    return "iregex", _are_regex(segments)


def _python_regex(segments: list[list[object]]) -> str:
    any_char = "(?s:.)"
    regex = r"\A" + _segment(segments[0], any_char)
    if len(segments) > 1:
        for segment in segments[1:-1]:  # earliest occurrence, committed
            regex += f"(?>{any_char}*?{_segment(segment, any_char)})"
        regex += any_char + "*" + _segment(segments[-1], any_char)
    return regex + r"\Z"


def _are_regex(segments: list[list[object]]) -> str:
    # In PostgreSQL's ARE syntax "." also matches a newline (no newline-sensitive flag).
    return r"\A" + ".*".join(_segment(segment, ".") for segment in segments) + r"\Z"


def _segment(tokens: list[object], any_char: str) -> str:
    return "".join(any_char if t is _ONE_CHAR else _regex_escape(str(t)) for t in tokens)


_ANY = object()
_ONE_CHAR = object()


def _like_tokens(pattern: str) -> list[object]:
    """Literal characters (``str``) and the wildcards ``_ANY`` (runs collapsed), ``_ONE_CHAR``."""
    tokens: list[object] = []
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\" and i + 1 < len(pattern):
            tokens.append(pattern[i + 1])
            i += 2
            continue
        if char == "%":
            if not tokens or tokens[-1] is not _ANY:
                tokens.append(_ANY)
        elif char == "_":
            tokens.append(_ONE_CHAR)
        else:
            tokens.append(char)
        i += 1
    return tokens


def _regex_escape(char: str) -> str:
    return "\\" + char if char.isascii() and not char.isalnum() else char
