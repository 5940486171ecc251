"""Two writers naming the same new tag at the same moment get one tag, and no error."""

import threading

import pytest
from django.db import connection

from cases.models import Tag
from tests.conftest import V3Client

pytestmark = pytest.mark.django_db(transaction=True)


def test_concurrent_cases_with_one_new_tag_name(analyst_credential):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite serialises writers")
    barrier = threading.Barrier(8)
    statuses: list[int] = []

    def post(n: int) -> None:
        client = V3Client(analyst_credential.token)
        barrier.wait()
        response = client.post_json(
            "/api/v3/cases",
            {
                "name": f"c{n}",
                "severity": "Low",
                "status": "Open",
                "tags": {"data": [{"name": "Fresh"}]},
            },
        )
        statuses.append(response.status_code)
        connection.close()

    threads = [threading.Thread(target=post, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert statuses == [201] * 8
    assert Tag.objects.filter(name="Fresh").count() == 1
