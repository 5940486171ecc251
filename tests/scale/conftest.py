"""A generated case-management data set (bench/api/generate.py, COPY) for the scale tests.

The rows are committed once per module (PostgreSQL only) and removed after it, with the
statistics refreshed (ANALYZE) so the planner sees the real distribution, as in production.
"""

import pytest
from django.db import connection

SCALE_CASES = 3000
PADDING_CASES = 60_000


def _pad_cases(n: int) -> None:
    """`n` more cases without children, generated in SQL: enough rows in cases_case for the
    planner to prefer an index to a scan of the whole (cheap, small) table, as it does at
    production sizes. Names, dates and statuses are drawn like the generator's."""
    from bench.api.generate import PLACES, WORDS

    words = "(ARRAY[" + ",".join(f"'{w}'" for w in WORDS) + "])"
    places = "(ARRAY[" + ",".join(f"'{p}'" for p in PLACES) + "])"
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO cases_case (xid, name, description, status, severity, resolution,
                case_type, priority, type_values, case_open_time, date_added, last_updated,
                owner_id)
            SELECT 'pad-' || g, {words}[1 + mod(g, {len(WORDS)})] || ' at '
                    || {places}[1 + mod(g / 7, {len(PLACES)})] || ' #' || (100000 + g),
                '', CASE WHEN mod(g, 10) < 7 THEN 'Closed' ELSE 'Open' END,
                (ARRAY['Low', 'Medium', 'High', 'Critical'])[1 + mod(g, 4)], 'Not Specified',
                '', '', '[]', t, t, t, (SELECT MIN(id) FROM security_owner)
            FROM generate_series(1, %s) AS g,
                LATERAL (SELECT TIMESTAMPTZ '2023-01-01' + (g * INTERVAL '1095 days') / %s) AS d(t)
            """,
            [n, n],
        )


def _remove_generated() -> None:
    from bench.api.generate import BENCH_USER, reset
    from cases.models import Tag
    from cti.security.models import User, UserGroup

    reset()
    Tag.objects.all().delete()
    UserGroup.objects.filter(name__startswith="SOC tier").delete()
    User.objects.filter(username__regex=r"^analyst[0-9]{2}$").delete()
    User.objects.filter(username=BENCH_USER).delete()


@pytest.fixture(scope="module")
def generated(django_db_setup, django_db_blocker) -> dict:
    """About 63k cases (3k with 15k tasks, 30k artifacts and 30k notes), analysed."""
    if connection.vendor != "postgresql":
        pytest.skip("the generator writes with COPY and the checks read PostgreSQL plans")
    from bench.api.generate import populate

    with django_db_blocker.unblock():
        counts = populate(SCALE_CASES, chunk=3000, seed=9)
        _pad_cases(PADDING_CASES)
        counts["cases"] += PADDING_CASES
        with connection.cursor() as cursor:
            cursor.execute(
                "ANALYZE cases_case, cases_task, cases_artifact, cases_note, cases_case_tags, "
                "cases_case_user_access, cases_tag"
            )
        yield counts
        _remove_generated()
