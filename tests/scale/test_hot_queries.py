"""The hot case-API queries on a generated data set (PostgreSQL): each uses an index where the
filter is selective, and each request costs the same number of queries whatever the data.

The plans are read with plain EXPLAIN (no `enable_seqscan = off`): the data set is big enough,
and analysed, for the planner to choose as it would in production.
"""

import re
from urllib.parse import quote

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cases.models import Artifact, Case
from cases.resources import CASES

pytestmark = pytest.mark.django_db

EVERY_EXPANSION = ",".join(e.name for e in CASES.expansions)


def _main_queries(api, path: str, table: str) -> list[str]:
    """The SQL of the statements reading `table` that a GET of `path` runs."""
    with CaptureQueriesContext(connection) as ctx:
        response = api.get(path)
    assert response.status_code == 200, response.content
    return [q["sql"] for q in ctx.captured_queries if f'FROM "{table}"' in q["sql"]]


def _plan(sql: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN {sql}")
        return "\n".join(row[0] for row in cursor.fetchall())


def _uses(plan: str, index: str) -> bool:
    scan = r"(Index Scan|Index Only Scan|Bitmap Index Scan)( Backward)? (using |on )"
    return re.search(scan + index, plan) is not None


def _no_seq_scan(plan: str, table: str) -> bool:
    return f"Seq Scan on {table} " not in plan and not plan.rstrip().endswith(
        f"Seq Scan on {table}"
    )


def _tql(api, tql: str, table: str = "cases_case", endpoint: str = "cases") -> str:
    sql = _main_queries(api, f"/api/v3/{endpoint}?tql={quote(tql)}", table)[0]
    return _plan(sql)


def test_has_artifact_summary_uses_the_summary_index(api, generated):
    value = Artifact.objects.order_by("-id").values_list("summary", flat=True).first()
    plan = _tql(api, f'hasArtifact(summary = "{value}")')
    assert _uses(plan, "artifact_summary_type"), plan
    assert _no_seq_scan(plan, "cases_artifact"), plan


def test_artifact_summary_contains_uses_the_trigram_index(api, generated):
    digest = (
        Artifact.objects.filter(artifact_type__name="File Hash")
        .values_list("summary", flat=True)
        .first()
    )
    plan = _tql(api, f'summary CONTAINS "{digest[8:28]}"', "cases_artifact", "artifacts")
    assert _uses(plan, "artifact_summary_upper_trgm"), plan


@pytest.mark.parametrize(
    ("pattern", "index"),
    [
        ("%mail gateway #1041%", "case_name_upper_trgm"),  # % at the ends: UPPER(name) LIKE
        ("%phish%gateway #1041%", "case_name_trgm"),  # % inside: a regular expression
    ],
)
def test_name_like_uses_a_trigram_index(api, generated, pattern, index):
    plan = _tql(api, f'name LIKE "{pattern}"')
    assert _uses(plan, index), plan
    assert _no_seq_scan(plan, "cases_case"), plan


@pytest.mark.parametrize(
    "tql",
    ['lastUpdated > "2025-12-20"', 'caseCloseTime > "2025-12-20"', 'caseOpenTime > "2025-12-20"'],
)
def test_recent_dates_use_their_index(api, generated, tql):
    plan = _tql(api, tql)
    assert _no_seq_scan(plan, "cases_case"), plan
    assert "Index" in plan, plan


def test_task_list_reads_the_default_order_from_an_index(api, generated):
    sql = _main_queries(api, "/api/v3/tasks?resultLimit=100", "cases_task")[0]
    plan = _plan(sql)
    assert _uses(plan, "task_order"), plan
    assert _no_seq_scan(plan, "cases_task"), plan


def _deep_sorted(api, start: int) -> dict:
    path = f"/api/v3/cases?sorting={quote('dateAdded desc')}&resultLimit=100&resultStart={start}"
    return api.get(path).json()


def test_deep_sort_offset_and_keyset_pages_use_the_date_index(api, generated):
    deep = 20_000  # a third of the way: near the end a full scan and sort is cheaper
    body = _deep_sorted(api, deep - 100)
    offset_sql = _main_queries(
        api, f"/api/v3/cases?sorting={quote('dateAdded desc')}&resultLimit=100&resultStart={deep}",
        "cases_case",
    )[0]  # fmt: skip
    keyset_sql = _main_queries(api, "/api/" + body["next"].removeprefix("/"), "cases_case")[0]
    assert "resultCursor=" in body["next"]
    for sql in (offset_sql, keyset_sql):
        plan = _plan(sql)
        assert _uses(plan, "case_date_added_id"), plan
        assert _no_seq_scan(plan, "cases_case"), plan
    assert "OFFSET" not in keyset_sql
    # the offset page counts the skipped rows on primary keys only; the outer query reads the
    # page's rows by primary key
    assert "ANY(ARRAY(" in offset_sql


def test_list_with_children_reads_them_by_case(api, generated):
    path = "/api/v3/cases?fields=tasks,artifacts,tags&resultLimit=100&resultStart=500"
    for table, index in (
        ("cases_task", "cases_task_case_id"),
        ("cases_artifact", "cases_artifact_case_id"),
    ):
        sql = _main_queries(api, path, table)[0]
        plan = _plan(sql)
        assert _uses(plan, index), plan
        assert 'INNER JOIN "cases_case"' not in sql  # the parent is already loaded


# ---- query counts -----------------------------------------------------------------------------


def _count(api, path: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = api.get(path)
    assert response.status_code == 200, response.content
    return len(ctx.captured_queries)


def test_list_query_count_does_not_depend_on_page_size_or_children(api, generated):
    fields = "fields=tasks,artifacts,tags"
    counts = {
        _count(api, f"/api/v3/cases?{fields}&resultLimit={limit}&resultStart={start}")
        for limit, start in ((1, 0), (10, 40), (100, 0), (500, 1200))
    }
    assert len(counts) == 1, counts


def test_get_one_query_count_is_the_same_for_small_and_large_cases(api, generated):
    from django.db.models import Count

    # both with a derived-link artifact: without one, `related` skips its two queries
    linked = Case.objects.filter(artifacts__derived_link=True).values("pk")
    by_size = list(
        Case.objects.filter(pk__in=linked)
        .annotate(n=Count("artifacts"))
        .order_by("n", "pk")
        .values("pk", "n")
    )
    small, large = by_size[0], by_size[-1]
    assert large["n"] > 10 * small["n"]
    counts = {
        _count(api, f"/api/v3/cases/{row['pk']}?fields={EVERY_EXPANSION}") for row in (small, large)
    }
    assert len(counts) == 1, counts


def test_paging_query_count_is_the_same_at_any_depth(api, generated):
    sort = quote("dateAdded desc")
    shallow = f"/api/v3/cases?sorting={sort}&resultLimit=50"
    deep = f"/api/v3/cases?sorting={sort}&resultLimit=50&resultStart=4000"
    cursor_link = "/api" + _deep_sorted(api, 3900)["next"]
    tql = "/api/v3/cases?tql=" + quote('hasArtifact(summary = "x") or name LIKE "%a%"')
    assert _count(api, shallow) == _count(api, deep) == _count(api, cursor_link) == _count(api, tql)
