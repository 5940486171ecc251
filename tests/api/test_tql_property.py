"""Property: ``GET /api/v3/cases?tql=<random TQL>`` returns exactly the cases a plain Python
filter over the same rows selects.

Each example stores random cases (names, status, severity, resolution, calScore, open time,
tags, tasks with statuses) and runs a few random queries built from cases keywords, ``tag``,
``hasTag(...)`` and ``hasTask(...)`` with AND / OR / NOT; every query carries its own Python
meaning (the oracle), written from the semantics in ``cti/tql/compiler.py``'s docstring.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cases import models as m
from cti.security.services import default_owner

NAMES = ["alpha", "Alpha beta", "beta", "gamma_1", "50% off", "x"]
TAG_NAMES = ["red", "Red", "blue", "green_1"]
TASK_NAMES = ["triage", "Scan host", "report"]
STATUSES = ["Open", "Closed"]
SEVERITIES = ["Low", "Medium", "High", "Critical"]
RESOLUTIONS = ["Not Specified", "False Positive", "Escalated"]
TASK_STATUSES = ["Pending", "Open", "Reopened", "Closed"]
HOURS = [0, 9, 23]
TEXT_PIECES = ["a", "A", "l", "ph", "be", " ", "_", "%", "1", "x", "off"]


@dataclass(frozen=True)
class TaskRow:
    name: str
    status: str
    required: bool


@dataclass(frozen=True)
class CaseRow:
    name: str
    status: str
    severity: str
    resolution: str
    cal_score: int | None
    open_time: datetime
    tags: frozenset[str]
    tasks: tuple[TaskRow, ...]


@dataclass(frozen=True)
class Query:
    """TQL text and its meaning on one row (a CaseRow, or a TaskRow inside hasTask)."""

    text: str
    holds: Callable[[object], bool]


# --- rows ------------------------------------------------------------------------------------

task_rows = st.builds(
    TaskRow,
    name=st.sampled_from(TASK_NAMES),
    status=st.sampled_from(TASK_STATUSES),
    required=st.booleans(),
)
case_rows = st.builds(
    CaseRow,
    name=st.sampled_from(NAMES),
    status=st.sampled_from(STATUSES),
    severity=st.sampled_from(SEVERITIES),
    resolution=st.sampled_from(RESOLUTIONS),
    cal_score=st.none() | st.integers(0, 3),
    open_time=st.builds(
        lambda day, hour: datetime(2024, 1, day, hour, tzinfo=UTC),
        st.integers(1, 5),
        st.sampled_from(HOURS),
    ),
    tags=st.frozensets(st.sampled_from(TAG_NAMES), max_size=3),
    tasks=st.lists(task_rows, max_size=3).map(tuple),
)


# --- query pieces ----------------------------------------------------------------------------


def quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def like(pattern: str, text: str) -> bool:
    regex = "".join(".*" if ch == "%" else "." if ch == "_" else re.escape(ch) for ch in pattern)
    return re.fullmatch(regex, text, re.IGNORECASE | re.DOTALL) is not None


TEXT_TESTS: dict[str, Callable[[str, str], bool]] = {
    "=": lambda value, arg: value == arg,
    "CONTAINS": lambda value, arg: arg.lower() in value.lower(),
    "STARTSWITH": lambda value, arg: value.lower().startswith(arg.lower()),
    "ENDSWITH": lambda value, arg: value.lower().endswith(arg.lower()),
    "LIKE": lambda value, arg: like(arg, value),
}
NEGATED = {"=": "!=", "CONTAINS": "NOT CONTAINS", "STARTSWITH": "NOT STARTSWITH"}
NEGATED |= {"ENDSWITH": "NOT ENDSWITH", "LIKE": "NOT LIKE", "IN": "NOT IN"}

text_args = st.sampled_from(NAMES + TAG_NAMES + TASK_NAMES) | st.lists(
    st.sampled_from(TEXT_PIECES), max_size=4
).map("".join)


def any_case(value: str) -> st.SearchStrategy[str]:
    return st.sampled_from([value, value.lower(), value.upper()])


def text_query(
    keyword: str, values: Callable[[object], list[str]], literals: st.SearchStrategy[str]
) -> st.SearchStrategy[Query]:
    """A string keyword; ``values(row)`` is its values (one, or several for ``tag``).

    A predicate holds when some value satisfies it, a negated one when none does.
    """

    def single(op: str, arg: str, negate: bool) -> Query:
        test = TEXT_TESTS[op]
        text = f"{keyword} {NEGATED[op] if negate else op} {quote(arg)}"
        return Query(text, lambda row: any(test(v, arg) for v in values(row)) != negate)

    def listed(args: list[str], negate: bool) -> Query:
        text = f"{keyword} {'NOT IN' if negate else 'IN'} ({', '.join(map(quote, args))})"
        return Query(text, lambda row: any(v in args for v in values(row)) != negate)

    return st.one_of(
        st.builds(single, st.sampled_from(sorted(TEXT_TESTS)), literals, st.booleans()),
        st.builds(listed, st.lists(literals, min_size=1, max_size=3), st.booleans()),
    )


def choice_query(keyword: str, attr: str, choices: list[str]) -> st.SearchStrategy[Query]:
    """An enumerated keyword: values in any letter case name the canonical choice."""

    def single(value: str, negate: bool) -> Query:
        text = f"{keyword} {'!=' if negate else '='} {quote(value)}"
        return Query(text, lambda row: (getattr(row, attr).lower() == value.lower()) != negate)

    def listed(values: list[str], negate: bool) -> Query:
        text = f"{keyword} {'NOT IN' if negate else 'IN'} ({','.join(map(quote, values))})"
        folded = {v.lower() for v in values}
        return Query(text, lambda row: (getattr(row, attr).lower() in folded) != negate)

    choice = st.sampled_from(choices).flatmap(any_case)
    return st.one_of(
        st.builds(single, choice, st.booleans()),
        st.builds(listed, st.lists(choice, min_size=1, max_size=3), st.booleans()),
    )


def cal_score_query() -> st.SearchStrategy[Query]:
    compare = {
        "=": lambda a, b: a == b,
        ">": lambda a, b: a > b,
        "<": lambda a, b: a < b,
        ">=": lambda a, b: a >= b,
        "<=": lambda a, b: a <= b,
    }

    def single(op: str, number: int, negate: bool) -> Query:
        test = compare[op]
        text = f"{'NOT ' if negate else ''}calScore {op} {number}"
        return Query(
            text, lambda row: (row.cal_score is not None and test(row.cal_score, number)) != negate
        )

    def null(negate: bool) -> Query:
        text = f"calScore IS {'NOT ' if negate else ''}NULL"
        return Query(text, lambda row: (row.cal_score is None) != negate)

    return st.one_of(
        st.builds(single, st.sampled_from(sorted(compare)), st.integers(-1, 4), st.booleans()),
        st.builds(null, st.booleans()),
    )


def open_time_query() -> st.SearchStrategy[Query]:
    """``caseOpenTime``: a date is 00:00 UTC for ordering and the whole day for ``=``."""

    def build(op: str, day: int, hour: int | None) -> Query:
        start = datetime(2024, 1, day, hour or 0, tzinfo=UTC)
        if hour is None:
            literal, end = f"2024-01-{day:02d}", start + timedelta(days=1)
        else:
            literal, end = f"2024-01-{day:02d} {hour:02d}:00:00", None

        def holds(row: CaseRow) -> bool:
            t = row.open_time
            inside = start <= t < end if end is not None else t == start
            return {
                "=": inside,
                "!=": not inside,
                ">": t > start,
                "<": t < start,
                ">=": t >= start,
                "<=": t <= start,
            }[op]

        return Query(f"caseOpenTime {op} {quote(literal)}", holds)

    return st.builds(
        build,
        st.sampled_from(["=", "!=", ">", "<", ">=", "<="]),
        st.integers(1, 6),
        st.none() | st.sampled_from(HOURS),
    )


def tag_queries() -> st.SearchStrategy[Query]:
    def null(negate: bool) -> Query:
        return Query(f"tag IS {'NOT ' if negate else ''}NULL", lambda row: bool(row.tags) == negate)

    def has_tag(name: str) -> Query:
        return Query(f"hasTag(name = {quote(name)})", lambda row: name in row.tags)

    tags = st.sampled_from(TAG_NAMES) | text_args
    return st.one_of(
        text_query("tag", lambda row: list(row.tags), tags),
        st.builds(null, st.booleans()),
        st.builds(has_tag, st.sampled_from([*TAG_NAMES, "RED"])),
    )


def combine(children: st.SearchStrategy[Query]) -> st.SearchStrategy[Query]:
    def both(a: Query, b: Query, word: str) -> Query:
        if word.lower() == "and":
            return Query(f"({a.text}) {word} ({b.text})", lambda r: a.holds(r) and b.holds(r))
        return Query(f"({a.text}) {word} ({b.text})", lambda r: a.holds(r) or b.holds(r))

    def negation(a: Query) -> Query:
        return Query(f"NOT ({a.text})", lambda r: not a.holds(r))

    words = st.sampled_from(["AND", "and", "OR", "or"])
    return st.one_of(st.builds(both, children, children, words), st.builds(negation, children))


task_leaves = st.one_of(
    choice_query("status", "status", TASK_STATUSES),
    text_query("name", lambda task: [task.name], st.sampled_from(TASK_NAMES) | text_args),
    st.booleans().map(
        lambda flag: Query(f"required = {str(flag).lower()}", lambda task: task.required == flag)
    ),
)
task_queries = st.recursive(task_leaves, combine, max_leaves=3)


def has_task(inner: Query) -> Query:
    return Query(f"hasTask({inner.text})", lambda row: any(inner.holds(t) for t in row.tasks))


case_leaves = st.one_of(
    text_query("name", lambda row: [row.name], st.sampled_from(NAMES) | text_args),
    choice_query("status", "status", STATUSES),
    choice_query("severity", "severity", SEVERITIES),
    text_query("resolution", lambda row: [row.resolution], st.sampled_from(RESOLUTIONS)),
    cal_score_query(),
    open_time_query(),
    tag_queries(),
    task_queries.map(has_task),
)
case_queries = st.recursive(case_leaves, combine, max_leaves=5)


# --- the property ----------------------------------------------------------------------------


def store(rows: list[CaseRow]) -> list[int]:
    m.Case.objects.all().delete()
    m.Tag.objects.all().delete()
    owner = default_owner()
    tags = {name: m.Tag.objects.create(name=name, owner=owner) for name in TAG_NAMES}
    ids = []
    for row in rows:
        case = m.Case.objects.create(
            name=row.name,
            status=row.status,
            severity=row.severity,
            resolution=row.resolution,
            cal_score=row.cal_score,
            case_open_time=row.open_time,
            owner=owner,
        )
        case.tags.set([tags[name] for name in row.tags])
        m.Task.objects.bulk_create(
            m.Task(case=case, name=t.name, status=t.status, required=t.required) for t in row.tasks
        )
        ids.append(case.pk)
    return ids


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(rows=st.lists(case_rows, max_size=6), queries=st.lists(case_queries, min_size=1, max_size=4))
def test_cases_tql_matches_a_python_filter(api, rows, queries):
    ids = store(rows)
    for query in queries:
        response = api.get("/api/v3/cases", {"tql": query.text, "resultLimit": 1000})
        assert response.status_code == 200, (query.text, response.json())
        got = [row["id"] for row in response.json()["data"]]
        expected = {pk for pk, row in zip(ids, rows, strict=True) if query.holds(row)}
        assert len(got) == len(set(got)), query.text
        assert set(got) == expected, query.text
