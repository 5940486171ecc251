"""JSON null in a write body: clears what can be cleared, never a server-side conflict."""

import pytest


@pytest.mark.parametrize("field", ["name", "severity", "resolution", "status"])
def test_null_on_a_case_put_keeps_the_value(api, make_case, field):
    case = make_case()

    response = api.put_json(f"/api/v3/cases/{case['id']}", {field: None})

    assert response.status_code == 200, response.json()
    assert response.json()["data"][field] == case[field]


@pytest.mark.parametrize("field", ["description", "caseType"])
def test_null_text_field_clears_it(api, make_case, field):
    case = make_case(**{field: "Incident Response" if field == "caseType" else "something"})

    data = api.put_json(f"/api/v3/cases/{case['id']}", {field: None}).json()["data"]

    assert data.get(field, "") == ""  # typeName is omitted when empty


def test_null_optional_fields_on_case_post_are_accepted(api):
    response = api.post_json(
        "/api/v3/cases",
        {"name": "C", "severity": "Low", "status": "Open", "description": None, "resolution": None},
    )

    assert response.status_code == 201, response.json()
    assert response.json()["data"]["resolution"] == "Not Specified"


def test_null_required_flag_on_task_post_means_not_required(api, make_case):
    case = make_case()

    response = api.post_json(
        "/api/v3/tasks", {"caseId": case["id"], "name": "T", "required": None, "description": None}
    )

    assert response.status_code == 201, response.json()
    assert response.json()["data"]["required"] is False


def test_null_due_date_clears_it(api, make_case):
    case = make_case()
    task = api.post_json(
        "/api/v3/tasks", {"caseId": case["id"], "name": "T", "dueDate": "2030-01-01T00:00:00Z"}
    ).json()["data"]

    data = api.put_json(f"/api/v3/tasks/{task['id']}", {"dueDate": None}).json()["data"]

    assert "dueDate" not in data


@pytest.mark.parametrize("field", ["summary", "derivedLink", "source"])
def test_null_on_an_artifact_put_is_not_a_conflict(api, make_case, field):
    case = make_case()
    artifact = api.post_json(
        "/api/v3/artifacts", {"caseId": case["id"], "type": "Host", "summary": "a.example.com"}
    ).json()["data"]

    response = api.put_json(f"/api/v3/artifacts/{artifact['id']}", {field: None})

    assert response.status_code == 200, response.json()
    assert response.json()["data"]["summary"] == "a.example.com"
    assert response.json()["data"]["derivedLink"] is True


def test_null_derived_link_on_post_uses_the_type_default(api, make_case):
    case = make_case()

    data = api.post_json(
        "/api/v3/artifacts",
        {"caseId": case["id"], "type": "Host", "summary": "a.example.com", "derivedLink": None},
    ).json()["data"]

    assert data["derivedLink"] is True
