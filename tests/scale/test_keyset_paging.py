"""Keyset paging: following `next` links (which carry resultCursor) returns exactly the rows
that OFFSET paging returns, in the same order, for every ordering that allows it; a cursor that
does not match its request falls back to OFFSET. Runs on SQLite and PostgreSQL."""

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, quote, urlsplit

import pytest

from cases.models import Case, Task
from cti.security.services import default_owner

pytestmark = pytest.mark.django_db

T0 = datetime(2024, 1, 1, tzinfo=UTC)
N = 230


@pytest.fixture
def cases(db) -> list[Case]:
    """N cases whose dateAdded repeat in runs of 7 (ties the primary key must break) and whose
    names repeat in runs of 3."""
    owner = default_owner()
    rows = [
        Case(
            name=f"case {n // 3:03d}",
            severity=("Low", "High")[n % 2],
            case_open_time=T0,
            owner=owner,
        )
        for n in range(N)
    ]
    made = Case.objects.bulk_create(rows)
    for n, case in enumerate(made):
        Case.objects.filter(pk=case.pk).update(date_added=T0 + timedelta(hours=n // 7))
    Task.objects.bulk_create(
        [Task(case=made[n % 5], name=f"t{n}", workflow_phase=n % 3) for n in range(40)]
    )
    return made


def _follow(api, path: str) -> tuple[list[int], list[str]]:
    """Every id on every page, following `next` links; and the links followed."""
    ids, links = [], []
    body = api.get(path).json()
    while True:
        ids += [row["id"] for row in body["data"]]
        if "next" not in body:
            return ids, links
        links.append(body["next"])
        body = api.get("/api" + body["next"]).json()


def _offset(api, path: str, limit: int, total: int) -> list[int]:
    ids = []
    for start in range(0, total, limit):
        body = api.get(f"{path}&resultStart={start}").json()
        ids += [row["id"] for row in body["data"]]
    return ids


@pytest.mark.parametrize(
    "sorting",
    ["", "dateAdded desc", "dateAdded asc", "name asc, dateAdded desc", "id desc"],
)
def test_next_links_page_by_keyset_and_match_offset_paging(api, cases, sorting):
    path = f"/api/v3/cases?resultLimit=20&sorting={quote(sorting)}"
    followed, links = _follow(api, path)
    assert all("resultCursor=" in link for link in links)
    offset = _offset(api, path, 20, N)
    assert followed == offset
    assert sorted(followed) == sorted(c.pk for c in cases)


def test_keyset_with_tql_and_the_task_ordering(api, cases):
    path = "/api/v3/cases?resultLimit=15&tql=" + quote('severity = "High"')
    followed, links = _follow(api, path)
    assert links and followed == _offset(api, path, 15, N)
    assert len(followed) == N // 2
    tasks, task_links = _follow(api, "/api/v3/tasks?resultLimit=7")
    assert task_links and tasks == _offset(api, "/api/v3/tasks?resultLimit=7", 7, 40)


def test_a_nullable_sort_key_pages_by_offset(api, cases):
    # caseCloseTime can be NULL: no cursor, and the rows are still every case once
    followed, links = _follow(api, "/api/v3/cases?resultLimit=50&sorting=caseCloseTime")
    assert links and not any("resultCursor=" in link for link in links)
    assert sorted(followed) == sorted(c.pk for c in cases)


def test_a_cursor_that_does_not_match_falls_back_to_offset(api, cases):
    sort = quote("dateAdded desc")
    body = api.get(f"/api/v3/cases?resultLimit=20&sorting={sort}").json()
    cursor = parse_qs(urlsplit(body["next"]).query)["resultCursor"][0]
    expected = api.get(f"/api/v3/cases?resultLimit=20&sorting={sort}&resultStart=40").json()
    for query in (
        f"sorting={sort}&resultStart=40&resultCursor={cursor}",  # made for resultStart=20
        f"sorting=name&resultStart=20&resultCursor={cursor}",  # made for another sorting
        f"sorting={sort}&resultStart=40&resultCursor=not-a-cursor",
        f"sorting={sort}&resultStart=40&resultCursor=" + quote("W10=!"),
    ):
        response = api.get(f"/api/v3/cases?resultLimit=20&{query}")
        assert response.status_code == 200
        if "sorting=name" in query:
            names = [row["name"] for row in response.json()["data"]]
            assert names == sorted(names)
        else:
            assert response.json()["data"] == expected["data"]


def test_rows_added_while_paging_are_neither_repeated_nor_skipped(api, cases):
    """What keyset paging buys besides speed: a new case added on top of a descending list
    does not shift the next page (OFFSET would repeat the last row)."""
    sort = quote("dateAdded desc")
    first = api.get(f"/api/v3/cases?resultLimit=20&sorting={sort}").json()
    newest = Case.objects.create(
        name="late", severity="Low", case_open_time=T0, owner=default_owner()
    )
    second = api.get("/api" + first["next"]).json()
    seen = [row["id"] for row in first["data"] + second["data"]]
    assert len(seen) == len(set(seen)) == 40
    assert newest.pk not in seen
