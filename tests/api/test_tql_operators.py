"""One test per TQL operator and combinator, on ``GET /api/v3/cases?tql=`` over ``world``.

World cases: A "Alpha phishing" (Open, High, calScore 10, opened 2024-01-10, assigned to
me), B "Bravo malware" (Closed, Low, calScore 20, opened 2024-03-01, closed 2024-03-05),
C "Charlie" (Open, Medium, no calScore, opened 2024-06-01).
"""

import pytest

from cases import models as m

A, B, C = "A", "B", "C"

OPERATOR_CASES: list[tuple[str, str, set[str]]] = [
    ("=", 'name = "Alpha phishing"', {A}),
    ("==", "calScore == 20", {B}),
    ("EQ", 'severity EQ "High"', {A}),
    ("EQUALS", 'status EQUALS "Closed"', {B}),
    ("!=", 'status != "Open"', {B}),
    ("NE", 'severity NE "Low"', {A, C}),
    (">", "calScore > 10", {B}),
    ("GT", 'caseOpenTime GT "2024-03-01"', {B, C}),
    ("<", "calScore < 20", {A}),
    ("LT", 'caseOpenTime LT "2024-03-01"', {A}),
    (">=", "calScore >= 20", {B}),
    ("GEQ", 'caseOpenTime GEQ "2024-06-01"', {C}),
    ("<=", "calScore <= 10", {A}),
    ("LEQ", 'caseOpenTime LEQ "2024-01-10 10:00:00"', {A}),
    ("IN", 'name IN ("Alpha phishing", "Charlie")', {A, C}),
    ("NOT IN", 'severity NOT IN ("High", "Low")', {C}),
    ("LIKE", 'name LIKE "%PHISH%"', {A}),
    ("LIKE with _", 'name LIKE "Br_vo %"', {B}),
    ("LIKE in parentheses", 'name LIKE ("alpha%")', {A}),
    ("NOT LIKE", 'name NOT LIKE "%ing"', {B, C}),
    ("CONTAINS", 'description CONTAINS "BAD"', {A}),
    ("NOT CONTAINS", 'name NOT CONTAINS "al"', {C}),
    ("STARTSWITH", 'name STARTSWITH "br"', {B}),
    ("NOT STARTSWITH", 'name NOT STARTSWITH "a"', {B, C}),
    ("ENDSWITH", 'name ENDSWITH "LIE"', {C}),
    ("NOT ENDSWITH", 'name NOT ENDSWITH "ware"', {A, C}),
    ("IS NULL", "calScore IS NULL", {C}),
    ("IS NOT NULL", "caseCloseTime IS NOT NULL", {B}),
    ("AND", 'status = "Open" AND severity = "High"', {A}),
    ("OR", 'severity = "Low" OR name = "Charlie"', {B, C}),
    ("NOT", 'NOT status = "Open"', {B}),
    ("NOT over NULL", "NOT calScore = 10", {B, C}),
    ("parentheses", '(severity = "Low" OR severity = "Medium") AND status = "Open"', {C}),
    ("AND binds tighter", 'severity = "Low" OR severity = "Medium" AND status = "Closed"', {B}),
    ("nested hasX(hasY)", 'hasTask(hasArtifact(type = "Host"))', {A}),
    ("nested three levels", 'hasTask(hasNote(hasTask(status = "Closed")))', {B}),
    ("NOT hasX", 'NOT hasTask(status = "Pending")', {A, B}),
    ("lower-case words", 'name like "%phish%" and status eq "open" or id in ({cases.C})', {A, C}),
]


@pytest.mark.parametrize(
    ("tql", "expected"),
    [(t, e) for _, t, e in OPERATOR_CASES],
    ids=[o for o, _, _ in OPERATOR_CASES],
)
def test_operator(world, tql_ids, tql, expected):
    ids = tql_ids("cases", world.format(tql))
    assert world.labels_of("cases", ids) == expected


def test_to_many_keyword_does_not_duplicate_rows(world, tql_ids, api):
    case_id = world.ids["cases"]["A"]
    m.Case.objects.get(pk=case_id).tags.add(m.Tag.objects.get(name="unused"))
    tql = 'tag IN ("Phishing", "unused")'
    assert tql_ids("cases", tql) == [case_id]
    response = api.get("/api/v3/cases", {"tql": tql, "count": "true"})
    assert response.json()["count"] == 1
