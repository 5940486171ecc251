"""/api/v3/caseAutomations: administrators write, other users read; bad input is a 400 in the
v3 envelope, checked when the automation is saved."""

import pytest

from cti.automation.models import CaseAutomation

pytestmark = pytest.mark.django_db

URL = "/api/v3/caseAutomations"


@pytest.fixture
def body(template, colleague, soc):
    return {
        "name": "SIEM alerts",
        "eventKind": "incident.created",
        "tql": 'name contains "bad"',
        "indicatorTql": "confidence >= 10",
        "minSeverity": "Low",
        "workflowTemplate": {"id": template.pk},
        "caseName": "{incident.name}",
        "priority": "High",
        "severityMap": {"Critical": "critical"},
        "assignee": {"type": "User", "data": {"userName": colleague.username}},
        "tasks": [
            {
                "name": "Verify interaction",
                "description": "Did anyone interact with bad.com?",
                "assignee": {"type": "Group", "data": {"name": soc.name}},
            }
        ],
        "groupingDays": 3,
    }


def error(response, status: int = 400) -> str:
    assert response.status_code == status, response.json()
    data = response.json()
    assert data["status"] == "Error"
    return data["message"]


def test_an_administrator_creates_and_reads_it_back(admin_api, api, body, template, colleague, soc):
    response = admin_api.post_json(URL, body)
    assert response.status_code == 201, response.json()
    data = response.json()["data"]
    assert data["name"] == "SIEM alerts"
    assert data["priority"] == "P2"  # "High" is P2
    assert data["minSeverity"] == "low"
    assert data["severityMap"] == {"critical": "Critical"}
    assert data["workflowTemplate"] == {"id": template.pk, "name": template.name, "version": 1}
    assert data["assignee"] == {
        "type": "User",
        "data": {"id": colleague.pk, "userName": colleague.username},
    }
    assert data["tasks"][0]["assignee"] == {"type": "Group", "data": {"id": soc.pk}}
    assert (data["groupingDays"], data["contextDepth"], data["enabled"]) == (3, 1, True)
    assert data["createdBy"]["userName"] == "admin"

    listed = api.get(URL).json()
    assert listed["status"] == "Success" and listed["count"] == 1
    assert listed["data"][0]["id"] == data["id"]
    assert api.get(f"{URL}/{data['id']}").json()["data"]["name"] == "SIEM alerts"


def test_defaults_for_a_sighting_automation(admin_api):
    response = admin_api.post_json(URL, {"name": "s", "eventKind": "sighting.recorded"})
    assert response.status_code == 201, response.json()
    data = response.json()["data"]
    assert data["caseName"] == "Sighting of {indicator.name} in {target.name}"
    assert (data["groupingDays"], data["assignee"], data["workflowTemplate"]) == (7, None, None)


def test_an_administrator_updates_part_of_it_and_deletes_it(admin_api, body, soc):
    pk = admin_api.post_json(URL, body).json()["data"]["id"]
    response = admin_api.put_json(
        f"{URL}/{pk}",
        {"enabled": False, "assignee": {"type": "Group", "data": {"id": soc.pk}}},
    )
    assert response.status_code == 200, response.json()
    data = response.json()["data"]
    assert data["enabled"] is False and data["name"] == "SIEM alerts"
    assert data["assignee"] == {"type": "Group", "data": {"id": soc.pk, "name": soc.name}}
    response = admin_api.put_json(f"{URL}/{pk}", {"assignee": None})
    assert response.json()["data"]["assignee"] is None
    assert admin_api.delete(f"{URL}/{pk}").status_code == 200
    assert not CaseAutomation.objects.exists()


def test_analysts_and_readers_read_but_do_not_write(api, admin_api, body, readonly_credential):
    from tests.conftest import V3Client

    pk = admin_api.post_json(URL, body).json()["data"]["id"]
    reader = V3Client(readonly_credential.token)
    assert reader.get(URL).status_code == 200
    for client in (api, reader):
        assert error(client.post_json(URL, {**body, "name": "x"}), 403)
        assert error(client.put_json(f"{URL}/{pk}", {"enabled": False}), 403)
        assert error(client.delete(f"{URL}/{pk}"), 403)
    assert CaseAutomation.objects.get().enabled is True


def test_anonymous_requests_are_refused(anon_api):
    assert error(anon_api.get(URL), 401)


def test_unknown_ids_are_404(api):
    assert error(api.get(f"{URL}/999"), 404)
    assert error(api.get(f"{URL}/abc"), 404)
    assert error(api.get(f"{URL}/99999999999999999999999"), 404)


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"tql": "name = "}, "tql"),
        ({"tql": 'nosuchkeyword = "x"'}, "nosuchkeyword"),
        ({"indicatorTql": "confidence >"}, "indicatorTql"),
        ({"eventKind": "sighting.recorded", "tql": 'name = "x"'}, "name"),  # not a sighting kw
        ({"eventKind": "case.created"}, "eventKind"),
        ({"name": ""}, "name"),
        ({"minSeverity": "huge"}, "minSeverity"),
        ({"priority": "urgent"}, "priority"),
        ({"severity": "Severe"}, "severity"),
        ({"severityMap": {"extreme": "High"}}, "severityMap"),
        ({"priorityMap": {"high": "P9"}}, "priorityMap"),
        ({"workflowTemplate": {"id": 9999}}, "Workflow template"),
        ({"assignee": {"type": "User", "data": {"userName": "nobody"}}}, "assignee"),
        ({"assignee": "colleague"}, "assignee"),
        ({"tasks": [{"description": "no name"}]}, "tasks[0].name"),
        ({"tasks": [{"name": "t", "assignee": {"type": "Robot"}}]}, "tasks[0].assignee"),
        ({"tasks": "verify"}, "tasks"),
        ({"groupingDays": -1}, "groupingDays"),
        ({"contextDepth": 3}, "contextDepth"),
        ({"runAs": {"userName": "nobody"}}, "runAs"),
        ({"eventKind": "sighting.recorded", "tql": "", "caseName": "{incident.name}"}, "caseName"),
    ],
)
def test_invalid_input_is_refused_at_save(admin_api, body, change, words):
    message = error(admin_api.post_json(URL, {**body, **change}))
    assert words in message
    assert not CaseAutomation.objects.exists()


def test_invalid_tql_is_refused_on_update_too(admin_api, body):
    pk = admin_api.post_json(URL, body).json()["data"]["id"]
    assert "tql" in error(admin_api.put_json(f"{URL}/{pk}", {"tql": "((("}))
    assert CaseAutomation.objects.get().tql == 'name contains "bad"'


def test_names_are_unique(admin_api, body):
    assert admin_api.post_json(URL, body).status_code == 201
    assert "already exists" in error(admin_api.post_json(URL, body))
    other = admin_api.post_json(URL, {**body, "name": "other"}).json()["data"]["id"]
    assert "already exists" in error(admin_api.put_json(f"{URL}/{other}", {"name": body["name"]}))


def test_a_non_object_body_is_refused(admin_api):
    response = admin_api.post(URL, "[1, 2]", content_type="application/json")
    assert error(response)
