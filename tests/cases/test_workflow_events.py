"""The case timeline: system events for every change, manual events, soft deletion (§5.5)."""

import pytest

from tests.cases.helpers import error_of


@pytest.fixture
def case(make_case):
    return make_case()


def _manual(api, case_id, summary="Called the user"):
    response = api.post_json(
        "/api/v3/workflowEvents",
        {"caseId": case_id, "summary": summary, "eventDate": "2024-01-01T00:00:00+00:00"},
    )
    assert response.status_code == 201, response.json()
    return response.json()["data"]


def _system_event(api, case_id):
    response = api.get(
        "/api/v3/workflowEvents", {"tql": f"caseId = {case_id} and systemGenerated = true"}
    )
    return response.json()["data"][0]


def test_creating_a_case_writes_exactly_one_case_created_event(case, event_summaries):
    assert event_summaries(case["id"], system_only=False) == ["Case created"]


def test_system_event_links_to_its_object_and_records_the_user(api, case, analyst_credential):
    event = _system_event(api, case["id"])

    assert event["systemGenerated"] is True
    assert event["link"] == f"/api/v3/cases/{case['id']}"
    assert event["user"]["userName"] == analyst_credential.user.username


def test_status_change_writes_an_event(api, case, event_summaries):
    api.put_json(f"/api/v3/cases/{case['id']}", {"status": "Closed"})

    assert event_summaries(case["id"])[-1] == "Case status changed from Open to Closed"


def test_severity_change_writes_an_event(api, case, event_summaries):
    api.put_json(f"/api/v3/cases/{case['id']}", {"severity": "Critical"})

    assert event_summaries(case["id"])[-1] == "Case severity changed to Critical"


def test_unchanged_severity_writes_no_event(api, case, event_summaries):
    api.put_json(f"/api/v3/cases/{case['id']}", {"severity": "Low", "status": "Open"})

    assert event_summaries(case["id"]) == ["Case created"]


def test_assignee_change_writes_an_event(api, case, event_summaries, soc_group):
    api.put_json(
        f"/api/v3/cases/{case['id']}", {"assignee": {"type": "Group", "data": {"name": "SOC Team"}}}
    )

    assert event_summaries(case["id"])[-1] == "Case assigned to SOC Team"


def test_unassigning_writes_an_event(api, make_case, event_summaries, soc_group):
    case = make_case(assignee={"type": "Group", "data": {"name": "SOC Team"}})

    api.put_json(f"/api/v3/cases/{case['id']}", {"assignee": {"type": "None"}})

    assert event_summaries(case["id"])[-1] == "Case unassigned"


def test_adding_a_task_writes_an_event(api, case, event_summaries):
    api.post_json("/api/v3/tasks", {"caseId": case["id"], "name": "Investigate"})

    assert event_summaries(case["id"])[-1] == "Task added: Investigate"


def test_completing_a_task_writes_an_event(api, case, event_summaries, close_task):
    task = api.post_json("/api/v3/tasks", {"caseId": case["id"], "name": "Investigate"})
    close_task(task.json()["data"]["id"])

    assert event_summaries(case["id"])[-1] == "Task completed: Investigate"


def test_adding_an_artifact_writes_an_event(api, case, event_summaries):
    api.post_json(
        "/api/v3/artifacts", {"caseId": case["id"], "type": "Host", "summary": "bad.example.com"}
    )

    assert event_summaries(case["id"])[-1] == "Artifact added: bad.example.com"


def test_adding_a_note_writes_an_event_linking_to_the_note(api, case):
    note = api.post_json("/api/v3/notes", {"caseId": case["id"], "text": "hi"}).json()["data"]

    events = api.get(
        "/api/v3/workflowEvents", {"tql": f'caseId = {case["id"]} and summary = "Added a note"'}
    ).json()["data"]

    assert [e["link"] for e in events] == [f"/api/v3/notes/{note['id']}"]


def test_manual_event_adds_no_system_event(api, case, event_summaries):
    _manual(api, case["id"])

    assert event_summaries(case["id"]) == ["Case created"]
    assert sorted(event_summaries(case["id"], system_only=False)) == [
        "Called the user",
        "Case created",
    ]


def test_manual_event_is_not_system_generated_and_keeps_its_date(api, case):
    event = _manual(api, case["id"])

    assert event["systemGenerated"] is False
    assert event["eventDate"] == "2024-01-01T00:00:00Z"


def test_manual_event_can_be_edited(api, case):
    event = _manual(api, case["id"])

    response = api.put_json(f"/api/v3/workflowEvents/{event['id']}", {"summary": "Emailed"})

    assert response.json()["data"]["summary"] == "Emailed"


def test_deleting_a_manual_event_with_a_reason_soft_deletes_it(api, case):
    event = _manual(api, case["id"])

    response = api.delete(
        f"/api/v3/workflowEvents/{event['id']}", {"deletedReason": "duplicate"}, format="json"
    )

    assert response.status_code == 200, response.json()
    assert response.json() == {"message": "Deleted", "status": "Success"}


def test_deleted_event_is_hidden_from_the_default_list(api, case):
    event = _manual(api, case["id"])
    api.delete(f"/api/v3/workflowEvents/{event['id']}", {"deletedReason": "dup"}, format="json")

    listed = [e["id"] for e in api.get("/api/v3/workflowEvents").json()["data"]]

    assert event["id"] not in listed
    assert len(listed) == 1


def test_deleted_event_is_visible_with_deleted_tql(api, case):
    event = _manual(api, case["id"])
    api.delete(f"/api/v3/workflowEvents/{event['id']}", {"deletedReason": "dup"}, format="json")

    data = api.get("/api/v3/workflowEvents", {"tql": "deleted = true"}).json()["data"]

    assert [(e["id"], e["deleted"], e["deletedReason"]) for e in data] == [
        (event["id"], True, "dup")
    ]


def test_deleted_event_is_hidden_from_the_case_timeline(api, case, get_case):
    event = _manual(api, case["id"])
    api.delete(f"/api/v3/workflowEvents/{event['id']}", {"deletedReason": "dup"}, format="json")

    timeline = get_case(case["id"], "workflowEvents")["workflowEvents"]["data"]

    assert [e["summary"] for e in timeline] == ["Case created"]


def test_deleting_a_manual_event_without_a_reason_is_refused(api, case):
    event = _manual(api, case["id"])

    response = api.delete(
        f"/api/v3/workflowEvents/{event['id']}", {"comment": "no reason"}, format="json"
    )

    assert "deletedReason" in error_of(response)["message"]
    assert api.get(f"/api/v3/workflowEvents/{event['id']}").json()["data"]["deleted"] is False


def test_deleting_with_an_empty_json_body_is_refused_not_a_server_error(api, case):
    event = _manual(api, case["id"])

    error_of(api.delete(f"/api/v3/workflowEvents/{event['id']}", {}, format="json"))


def test_deleting_with_a_blank_reason_is_refused(api, case):
    event = _manual(api, case["id"])

    response = api.delete(
        f"/api/v3/workflowEvents/{event['id']}", {"deletedReason": "   "}, format="json"
    )

    error_of(response)


def test_deleting_without_a_body_is_refused(api, case):
    event = _manual(api, case["id"])

    error_of(api.delete(f"/api/v3/workflowEvents/{event['id']}"))


def test_deleting_with_reason_sent_without_json_content_type_works(api, case):
    event = _manual(api, case["id"])

    response = api.generic(
        "DELETE",
        f"/api/v3/workflowEvents/{event['id']}",
        '{"deletedReason": "tcex sends no content type"}',
        content_type="text/plain",
    )

    assert response.status_code == 200, response.json()


def test_system_event_summary_cannot_be_edited(api, case):
    event = _system_event(api, case["id"])

    response = api.put_json(f"/api/v3/workflowEvents/{event['id']}", {"summary": "rewritten"})

    assert "System-generated" in error_of(response)["message"]


def test_system_event_cannot_be_deleted(api, case):
    event = _system_event(api, case["id"])

    response = api.delete(
        f"/api/v3/workflowEvents/{event['id']}", {"deletedReason": "why not"}, format="json"
    )

    error_of(response)
    assert api.get(f"/api/v3/workflowEvents/{event['id']}").json()["data"]["deleted"] is False


def test_note_can_be_added_to_a_system_event_by_note_post(api, case):
    event = _system_event(api, case["id"])

    response = api.post_json(
        "/api/v3/notes",
        {"caseId": case["id"], "workflowEventId": event["id"], "text": "context for this"},
    )

    assert response.status_code == 201, response.json()
    assert response.json()["data"]["workflowEventId"] == event["id"]
    assert response.json()["data"]["caseId"] == case["id"]


def test_note_can_be_added_to_a_system_event_by_event_put(api, case):
    event = _system_event(api, case["id"])

    response = api.put_json(
        f"/api/v3/workflowEvents/{event['id']}?fields=notes",
        {"notes": {"data": [{"text": "context"}]}},
    )

    assert response.status_code == 200, response.json()
    assert [n["text"] for n in response.json()["data"]["notes"]["data"]] == ["context"]


def test_manual_event_for_unknown_case_is_rejected(api):
    response = api.post_json("/api/v3/workflowEvents", {"caseId": 99999, "summary": "x"})

    error_of(response)


def test_applying_a_template_writes_an_event(api, make_case, make_template, event_summaries):
    template = make_template(name="IR", config_task=[{"name": "Triage"}])

    case = make_case(workflowTemplate={"id": template["id"]})

    assert "Workflow template applied: IR" in event_summaries(case["id"])


def test_inline_manual_events_on_case_post_are_created(api, event_summaries):
    response = api.post_json(
        "/api/v3/cases",
        {
            "name": "C",
            "severity": "Low",
            "status": "Open",
            "workflowEvents": {"data": [{"summary": "Reported by phone"}]},
        },
    )

    case_id = response.json()["data"]["id"]
    assert "Reported by phone" in event_summaries(case_id, system_only=False)
    assert "Reported by phone" not in event_summaries(case_id)


def test_system_and_manual_events_filter_by_system_generated(api, case):
    _manual(api, case["id"])

    data = api.get(
        "/api/v3/workflowEvents", {"tql": f"caseId = {case['id']} and systemGenerated = false"}
    ).json()["data"]

    assert [e["summary"] for e in data] == ["Called the user"]


def test_deleted_event_is_hidden_from_a_case_filtered_list(api, case):
    event = _manual(api, case["id"])
    api.delete(f"/api/v3/workflowEvents/{event['id']}", {"deletedReason": "dup"}, format="json")

    data = api.get("/api/v3/workflowEvents", {"tql": f"caseId = {case['id']}"}).json()["data"]

    assert event["id"] not in [e["id"] for e in data]


def test_note_on_a_system_event_needs_no_case_id(api, case):
    event = _system_event(api, case["id"])

    response = api.post_json("/api/v3/notes", {"workflowEventId": event["id"], "text": "ctx"})

    assert response.status_code == 201, response.json()
    assert response.json()["data"]["caseId"] == case["id"]
