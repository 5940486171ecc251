"""Dependencies between tasks created through /v3/tasks (§5.2, §8)."""

import pytest

from tests.cases.helpers import error_of


@pytest.fixture
def chain(api, make_case):
    """A case with task B depending on task A."""
    case = make_case()
    a = api.post_json("/api/v3/tasks", {"caseId": case["id"], "name": "A"}).json()["data"]
    b = api.post_json(
        "/api/v3/tasks", {"caseId": case["id"], "name": "B", "dependentOnId": a["id"]}
    ).json()["data"]
    return case, a, b


def _status(api, task_id):
    return api.get(f"/api/v3/tasks/{task_id}").json()["data"]["status"]


def test_dependent_task_is_created_pending(chain):
    _, _, b = chain

    assert b["status"] == "Pending"


def test_dependent_requested_open_is_still_pending(api, chain):
    case, a, _ = chain

    data = api.post_json(
        "/api/v3/tasks",
        {"caseId": case["id"], "name": "C", "dependentOnId": a["id"], "status": "Open"},
    ).json()["data"]

    assert data["status"] == "Pending"


def test_task_depending_on_a_closed_task_starts_open(api, chain, close_task):
    case, a, _ = chain
    close_task(a["id"])

    data = api.post_json(
        "/api/v3/tasks", {"caseId": case["id"], "name": "C", "dependentOnId": a["id"]}
    ).json()["data"]

    assert data["status"] == "Open"


def test_closing_the_prerequisite_opens_the_dependent(api, chain, close_task):
    _, a, b = chain

    close_task(a["id"])

    assert _status(api, b["id"]) == "Open"


def test_reopening_the_prerequisite_leaves_an_opened_dependent_open(api, chain, close_task):
    _, a, b = chain
    close_task(a["id"])

    api.put_json(f"/api/v3/tasks/{a['id']}", {"status": "Reopened"})

    assert _status(api, b["id"]) == "Open"


def test_dependent_can_be_closed_before_its_prerequisite(api, chain, close_task):
    _, _, b = chain

    assert close_task(b["id"])["status"] == "Closed"


def test_clearing_the_dependency_opens_a_pending_task(api, chain):
    _, _, b = chain

    data = api.put_json(f"/api/v3/tasks/{b['id']}", {"dependentOnId": None}).json()["data"]

    assert data["status"] == "Open"
    assert "dependentOnId" not in data


def test_deleting_the_prerequisite_opens_the_dependent(api, chain):
    _, a, b = chain

    assert api.delete(f"/api/v3/tasks/{a['id']}").status_code == 200

    data = api.get(f"/api/v3/tasks/{b['id']}").json()["data"]
    assert data["status"] == "Open"
    assert "dependentOnId" not in data


def test_task_cannot_depend_on_itself(api, chain):
    _, a, _ = chain

    error_of(api.put_json(f"/api/v3/tasks/{a['id']}", {"dependentOnId": a["id"]}))


def test_task_cannot_depend_on_an_unknown_task(api, make_case):
    case = make_case()

    response = api.post_json(
        "/api/v3/tasks", {"caseId": case["id"], "name": "X", "dependentOnId": 987654}
    )

    error_of(response)


def test_tql_finds_pending_tasks(api, chain):
    _, _, b = chain

    data = api.get("/api/v3/tasks", {"tql": 'status = "Pending"'}).json()["data"]

    assert [t["id"] for t in data] == [b["id"]]
