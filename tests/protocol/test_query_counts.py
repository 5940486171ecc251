"""A list request costs a constant number of queries, whatever the page size and expansions."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

pytestmark = pytest.mark.django_db

ENDPOINTS = [
    "cases",
    "tasks",
    "artifacts",
    "notes",
    "workflowEvents",
    "workflowTemplates",
    "artifactTypes",
    "tags",
    "caseAttributes",
    "security/users",
]


def _populate(api, n_cases: int, template_id: int) -> None:
    for i in range(n_cases):
        response = api.post_json(
            "/api/v3/cases",
            {
                "name": f"qc {i}",
                "severity": "Low",
                "status": "Open",
                "assignee": {"type": "User", "data": {"userName": "analyst@example.com"}},
                "workflowTemplate": {"id": template_id},
                "tasks": {
                    "data": [
                        {
                            "name": "t1",
                            "notes": {"data": [{"text": "tn"}]},
                            "artifacts": {
                                "data": [{"summary": f"h{i}.example.com", "type": "Host"}]
                            },
                        },
                        {"name": "t2"},
                    ]
                },
                "artifacts": {
                    "data": [
                        {
                            "summary": "shared.example.com",
                            "type": "Host",
                            "derivedLink": True,
                            "notes": {"data": [{"text": "an"}]},
                        }
                    ]
                },
                "notes": {"data": [{"text": "n1"}, {"text": "n2"}]},
                "tags": {"data": [{"name": f"tag{i % 3}"}, {"name": "common"}]},
                "attributes": {"data": [{"type": "Description", "value": "v"}]},
                "userAccess": {"data": [{"userName": "analyst@example.com"}]},
            },
        )
        assert response.status_code == 201, response.json()


def _all_fields(api, endpoint: str) -> str:
    names = [f["name"] for f in api.options(f"/api/v3/{endpoint}/fields").json()["data"]]
    return "&".join(f"fields={n}" for n in names)


def _count(api, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = api.get(url)
    assert response.status_code == 200, response.json()
    return len(ctx.captured_queries)


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_list_query_count_is_constant(api, endpoint):
    template = api.post_json(
        "/api/v3/workflowTemplates",
        {"name": "wt", "configTask": [{"name": "from template", "workflowPhase": 1}]},
    ).json()
    _populate(api, 2, template["data"]["id"])
    fields = _all_fields(api, endpoint)
    small = _count(api, f"/api/v3/{endpoint}?resultLimit=1000&{fields}")
    _populate(api, 8, template["data"]["id"])
    large = _count(api, f"/api/v3/{endpoint}?resultLimit=1000&{fields}")
    assert small == large, f"{endpoint}: {small} queries for a few rows, {large} for more"


def test_case_list_with_every_expansion_query_budget(api):
    template = api.post_json("/api/v3/workflowTemplates", {"name": "wt"}).json()
    _populate(api, 5, template["data"]["id"])
    # auth (1) + main query (1) + one per prefetched relation, nothing per row
    assert _count(api, f"/api/v3/cases?{_all_fields(api, 'cases')}") <= 17
