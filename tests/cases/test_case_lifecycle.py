"""Closing and reopening cases, completing tasks, editing notes, resolution spelling (§5.1, §8)."""

from tests.cases.helpers import T0, error_of, iso


def _task(api, case_id, name, **fields):
    response = api.post_json("/api/v3/tasks", {"caseId": case_id, "name": name, **fields})
    assert response.status_code == 201, response.json()
    return response.json()["data"]


def _close(api, case_id, **fields):
    return api.put_json(f"/api/v3/cases/{case_id}", {"status": "Closed", **fields})


def test_closing_with_open_required_tasks_is_refused_in_v3_envelope(api, make_case):
    case = make_case()
    _task(api, case["id"], "Collect evidence", required=True)
    _task(api, case["id"], "Notify legal", required=True)

    body = error_of(_close(api, case["id"]))

    assert body["errCode"] == "0x1001"
    assert "Collect evidence" in body["message"]
    assert "Notify legal" in body["message"]


def test_refused_close_leaves_the_case_open(api, make_case, get_case):
    case = make_case()
    _task(api, case["id"], "Collect evidence", required=True)

    _close(api, case["id"])

    after = get_case(case["id"])
    assert after["status"] == "Open"
    assert "caseCloseTime" not in after


def test_refused_close_does_not_keep_other_changes_from_the_same_put(api, make_case, get_case):
    case = make_case()
    _task(api, case["id"], "Collect evidence", required=True)

    _close(api, case["id"], name="Renamed", tags={"data": [{"name": "closing"}]})

    after = get_case(case["id"], "tags")
    assert after["name"] == "Case"
    assert after["tags"]["data"] == []


def test_optional_open_tasks_do_not_block_closing(api, make_case):
    case = make_case()
    _task(api, case["id"], "Nice to have", required=False)

    assert _close(api, case["id"]).status_code == 200


def test_closing_succeeds_once_required_tasks_are_closed(api, make_case, close_task):
    case = make_case()
    task = _task(api, case["id"], "Collect evidence", required=True)
    close_task(task["id"])

    response = _close(api, case["id"])

    assert response.status_code == 200, response.json()
    assert response.json()["data"]["status"] == "Closed"


def test_required_template_tasks_block_closing(api, make_case, make_template):
    template = make_template(config_task=[{"name": "Sign off", "required": True}])
    case = make_case(workflowTemplate={"id": template["id"]})

    assert "Sign off" in error_of(_close(api, case["id"]))["message"]


def test_creating_a_case_closed_with_required_template_tasks_is_refused(api, make_template):
    template = make_template(config_task=[{"name": "Sign off", "required": True}])

    response = api.post_json(
        "/api/v3/cases",
        {
            "name": "C",
            "severity": "Low",
            "status": "Closed",
            "workflowTemplate": {"id": template["id"]},
        },
    )

    assert "Sign off" in error_of(response)["message"]
    assert api.get("/api/v3/cases", {"count": "true"}).json()["count"] == 0


def test_closing_fills_close_time_and_user(clock, api, make_case, analyst_credential):
    case = make_case()
    closed_at = clock.advance(hours=4)

    data = _close(api, case["id"]).json()["data"]

    assert data["caseCloseTime"] == iso(closed_at)
    assert data["caseCloseUser"]["userName"] == analyst_credential.user.username


def test_explicit_close_time_is_kept(api, make_case):
    case = make_case(caseOpenTime="2024-01-01T00:00:00Z")

    data = _close(api, case["id"], caseCloseTime="2024-01-03T00:00:00Z").json()["data"]

    assert data["caseCloseTime"] == "2024-01-03T00:00:00Z"


def test_reopening_clears_close_time_and_user(api, make_case):
    case = make_case()
    _close(api, case["id"])

    response = api.put_json(f"/api/v3/cases/{case['id']}", {"status": "Open"})

    data = response.json()["data"]
    assert data["status"] == "Open"
    assert "caseCloseTime" not in data
    assert "caseCloseUser" not in data


def test_completing_a_task_fills_completed_date_and_by(
    clock, api, make_case, close_task, analyst_credential
):
    case = make_case()
    task = _task(api, case["id"], "Investigate")
    done_at = clock.advance(minutes=90)

    data = close_task(task["id"])

    assert data["status"] == "Closed"
    assert data["completedDate"] == iso(done_at)
    assert data["completedBy"] == analyst_credential.user.username


def test_explicit_completed_date_is_kept(api, make_case):
    case = make_case()
    task = _task(api, case["id"], "Investigate")

    response = api.put_json(
        f"/api/v3/tasks/{task['id']}",
        {"status": "Closed", "completedDate": "2024-02-02T10:00:00Z"},
    )

    assert response.json()["data"]["completedDate"] == "2024-02-02T10:00:00Z"


def test_reopening_a_task_clears_completion(api, make_case, close_task):
    case = make_case()
    task = _task(api, case["id"], "Investigate")
    close_task(task["id"])

    data = api.put_json(f"/api/v3/tasks/{task['id']}", {"status": "Reopened"}).json()["data"]

    assert data["status"] == "Reopened"
    assert "completedDate" not in data
    assert "completedBy" not in data


def test_task_created_closed_is_completed(clock, api, make_case, analyst_credential):
    case = make_case()

    data = _task(api, case["id"], "Already done", status="Closed")

    assert data["completedDate"] == iso(T0)
    assert data["completedBy"] == analyst_credential.user.username


def test_new_note_is_not_edited(api, make_case):
    case = make_case()

    response = api.post_json("/api/v3/notes", {"caseId": case["id"], "text": "first"})

    assert response.json()["data"]["edited"] is False


def test_changing_note_text_marks_it_edited(api, make_case):
    case = make_case()
    note = api.post_json("/api/v3/notes", {"caseId": case["id"], "text": "first"}).json()["data"]

    data = api.put_json(f"/api/v3/notes/{note['id']}", {"text": "second"}).json()["data"]

    assert data["text"] == "second"
    assert data["edited"] is True


def test_putting_the_same_note_text_does_not_mark_it_edited(api, make_case):
    case = make_case()
    note = api.post_json("/api/v3/notes", {"caseId": case["id"], "text": "same"}).json()["data"]

    data = api.put_json(f"/api/v3/notes/{note['id']}", {"text": "same"}).json()["data"]

    assert data["edited"] is False


def test_misspelt_deferred_resolution_is_stored_canonically(api, make_case, get_case):
    case = make_case(resolution="Deferred / Delayred")

    assert get_case(case["id"])["resolution"] == "Deferred / Delayed"


def test_misspelt_deferred_resolution_accepted_on_put(api, make_case):
    case = make_case()

    response = api.put_json(f"/api/v3/cases/{case['id']}", {"resolution": "Deferred / Delayred"})

    assert response.json()["data"]["resolution"] == "Deferred / Delayed"


def test_resolution_filter_finds_canonical_spelling(api, make_case):
    case = make_case(resolution="Deferred / Delayred")

    response = api.get("/api/v3/cases", {"tql": 'resolution = "Deferred / Delayed"'})

    assert [c["id"] for c in response.json()["data"]] == [case["id"]]


def test_unknown_resolution_is_rejected(api):
    response = api.post_json(
        "/api/v3/cases",
        {"name": "C", "severity": "Low", "status": "Open", "resolution": "Solved"},
    )

    assert "resolution" in error_of(response)["message"]


def test_case_open_time_defaults_to_creation(clock, make_case):
    case = make_case()

    assert case["caseOpenTime"] == iso(T0)
