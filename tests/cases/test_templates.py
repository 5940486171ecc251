"""Applying a workflow template to a case creates its tasks (reference §5.6, §8)."""

from datetime import timedelta

import pytest

from tests.cases.helpers import T0, error_of, iso

CONFIG = [
    {
        "name": "Triage",
        "description": "Look at the alert",
        "required": True,
        "workflowPhase": 1,
        "workflowStep": 1,
        "duration": 2,
        "durationType": "Hours",
    },
    {
        "name": "Contain",
        "description": "Block the sender",
        "required": True,
        "workflowPhase": 1,
        "workflowStep": 2,
        "dependentOnTaskName": "Triage",
        "duration": 3,
        "durationType": "Days",
    },
    {
        "name": "Report",
        "workflowPhase": 2,
        "workflowStep": 1,
        "dependentOnTaskName": "Contain",
        "duration": 30,
        "durationType": "Minutes",
        "fields": [
            {
                "artifactType": "Host",
                "dataType": "String",
                "intelType": "indicator-Host",
                "name": "host",
                "required": True,
                "uiElement": "String",
                "uiLabel": "Bad host",
            }
        ],
    },
]


@pytest.fixture
def template(make_template):
    return make_template(config_task=CONFIG)


def test_template_by_id_creates_its_tasks_in_phase_step_order(make_case, template, get_case, clock):
    case = make_case(workflowTemplate={"id": template["id"]})

    tasks = get_case(case["id"], "tasks")["tasks"]["data"]

    assert [(t["name"], t["workflowPhase"], t["workflowStep"]) for t in tasks] == [
        ("Triage", 1, 1),
        ("Contain", 1, 2),
        ("Report", 2, 1),
    ]


def test_template_by_name_is_applied(make_case, template, case_tasks):
    case = make_case(workflowTemplate={"name": "Phishing Response"})

    assert set(case_tasks(case["id"])) == {"Triage", "Contain", "Report"}


def test_template_link_is_returned_with_fields_workflow_template(make_case, template, get_case):
    case = make_case(workflowTemplate={"id": template["id"]})

    assert get_case(case["id"], "workflowTemplate")["workflowTemplate"]["id"] == template["id"]


def test_template_tasks_carry_description_required_and_artifact_fields(
    make_case, template, case_tasks
):
    tasks = case_tasks(make_case(workflowTemplate={"id": template["id"]})["id"])

    assert tasks["Triage"]["description"] == "Look at the alert"
    assert tasks["Triage"]["required"] is True
    assert tasks["Report"]["required"] is False
    assert tasks["Report"]["configTask"][0]["name"] == "host"


def test_template_tasks_carry_duration_and_duration_type(make_case, template, case_tasks):
    tasks = case_tasks(make_case(workflowTemplate={"id": template["id"]})["id"])

    assert (tasks["Contain"]["duration"], tasks["Contain"]["durationType"]) == (3, "Days")


def test_template_dependencies_point_at_the_named_task(make_case, template, case_tasks):
    tasks = case_tasks(make_case(workflowTemplate={"id": template["id"]})["id"])

    assert tasks["Contain"]["dependentOnId"] == tasks["Triage"]["id"]
    assert tasks["Report"]["dependentOnId"] == tasks["Contain"]["id"]
    assert "dependentOnId" not in tasks["Triage"]


def test_template_dependent_tasks_start_pending(make_case, template, case_tasks):
    tasks = case_tasks(make_case(workflowTemplate={"id": template["id"]})["id"])

    assert tasks["Triage"]["status"] == "Open"
    assert tasks["Contain"]["status"] == "Pending"
    assert tasks["Report"]["status"] == "Pending"


def test_task_without_dependency_is_due_from_creation_time(clock, make_case, template, case_tasks):
    tasks = case_tasks(make_case(workflowTemplate={"id": template["id"]})["id"])

    assert tasks["Triage"]["dueDate"] == iso(T0 + timedelta(hours=2))


def test_pending_task_has_no_due_date_yet(clock, make_case, template, case_tasks):
    tasks = case_tasks(make_case(workflowTemplate={"id": template["id"]})["id"])

    assert "dueDate" not in tasks["Contain"]


def test_closing_prerequisite_opens_dependent_with_due_date_from_that_moment(
    clock, make_case, template, case_tasks, close_task
):
    case = make_case(workflowTemplate={"id": template["id"]})
    tasks = case_tasks(case["id"])

    opened_at = clock.advance(hours=5)
    close_task(tasks["Triage"]["id"])

    contain = case_tasks(case["id"])["Contain"]
    assert contain["status"] == "Open"
    assert contain["dueDate"] == iso(opened_at + timedelta(days=3))


def test_minutes_duration_is_counted_from_when_the_task_opens(
    clock, make_case, template, case_tasks, close_task
):
    case = make_case(workflowTemplate={"id": template["id"]})
    tasks = case_tasks(case["id"])
    close_task(tasks["Triage"]["id"])

    opened_at = clock.advance(days=1)
    close_task(tasks["Contain"]["id"])

    report = case_tasks(case["id"])["Report"]
    assert report["status"] == "Open"
    assert report["dueDate"] == iso(opened_at + timedelta(minutes=30))


def test_dependent_stays_pending_while_prerequisite_is_only_updated(
    api, make_case, template, case_tasks
):
    case = make_case(workflowTemplate={"id": template["id"]})
    triage = case_tasks(case["id"])["Triage"]

    api.put_json(f"/api/v3/tasks/{triage['id']}", {"description": "still looking"})

    assert case_tasks(case["id"])["Contain"]["status"] == "Pending"


def test_pending_task_cannot_be_opened_by_hand_before_its_prerequisite_closes(
    api, make_case, template, case_tasks
):
    case = make_case(workflowTemplate={"id": template["id"]})
    contain = case_tasks(case["id"])["Contain"]

    response = api.put_json(f"/api/v3/tasks/{contain['id']}", {"status": "Open"})

    assert response.json()["data"]["status"] == "Pending"


def test_template_user_assignee_in_documented_flat_form(
    make_template, make_case, case_tasks, analyst_credential
):
    user = analyst_credential.user
    template = make_template(
        config_task=[
            {
                "name": "Triage",
                "workflowPhase": 1,
                "workflowStep": 1,
                "assignee": {"type": "User", "id": user.pk, "name": user.username},
            }
        ]
    )

    tasks = case_tasks(make_case(workflowTemplate={"id": template["id"]})["id"])

    assignee = tasks["Triage"]["assignee"]
    assert assignee["type"] == "User"
    assert assignee["data"]["userName"] == user.username


def test_template_group_assignee_by_name(make_template, make_case, case_tasks, soc_group):
    template = make_template(
        config_task=[
            {
                "name": "Triage",
                "workflowPhase": 1,
                "workflowStep": 1,
                "assignee": {"type": "Group", "name": "SOC Team"},
            }
        ]
    )

    tasks = case_tasks(make_case(workflowTemplate={"id": template["id"]})["id"])

    assert tasks["Triage"]["assignee"] == {
        "type": "Group",
        "data": {"id": soc_group.pk, "name": "SOC Team", "description": "Tier 1"},
    }


def test_template_assignee_in_request_form_is_accepted(
    make_template, make_case, case_tasks, soc_group
):
    template = make_template(
        config_task=[
            {"name": "Triage", "assignee": {"type": "Group", "data": {"id": soc_group.pk}}}
        ]
    )

    tasks = case_tasks(make_case(workflowTemplate={"id": template["id"]})["id"])

    assert tasks["Triage"]["assignee"]["data"]["name"] == "SOC Team"


def test_template_applied_on_put(api, make_case, template, case_tasks):
    case = make_case()

    response = api.put_json(
        f"/api/v3/cases/{case['id']}", {"workflowTemplate": {"name": "Phishing Response"}}
    )

    assert response.status_code == 200, response.json()
    assert set(case_tasks(case["id"])) == {"Triage", "Contain", "Report"}


def test_reapplying_the_same_template_on_put_does_not_duplicate_tasks(
    api, make_case, template, case_tasks
):
    case = make_case(workflowTemplate={"id": template["id"]})

    api.put_json(f"/api/v3/cases/{case['id']}", {"workflowTemplate": {"id": template["id"]}})

    response = api.get("/api/v3/tasks", {"tql": f"caseId = {case['id']}", "count": "true"})
    assert response.json()["count"] == 3


def test_latest_version_of_a_template_name_is_applied(make_template, make_case, case_tasks):
    make_template(name="IR", version=1, config_task=[{"name": "Old step"}])
    make_template(name="IR", version=2, config_task=[{"name": "New step"}])

    assert set(case_tasks(make_case(workflowTemplate={"name": "IR"})["id"])) == {"New step"}


def test_unknown_template_name_is_rejected_and_no_case_is_left(api):
    response = api.post_json(
        "/api/v3/cases",
        {"name": "C", "severity": "Low", "status": "Open", "workflowTemplate": {"name": "nope"}},
    )

    assert "nope" in error_of(response)["message"]
    assert api.get("/api/v3/cases", {"count": "true"}).json()["count"] == 0


def test_unknown_template_id_is_rejected(api):
    response = api.post_json(
        "/api/v3/cases",
        {"name": "C", "severity": "Low", "status": "Open", "workflowTemplate": {"id": 999999}},
    )

    error_of(response)


def test_template_dependency_on_unknown_task_name_is_rejected(api):
    response = api.post_json(
        "/api/v3/workflowTemplates",
        {"name": "Bad", "configTask": [{"name": "A", "dependentOnTaskName": "Ghost"}]},
    )

    assert "Ghost" in error_of(response)["message"]


def test_template_with_a_dependency_cycle_is_rejected(api):
    response = api.post_json(
        "/api/v3/workflowTemplates",
        {
            "name": "Loop",
            "configTask": [
                {"name": "A", "dependentOnTaskName": "B"},
                {"name": "B", "dependentOnTaskName": "A"},
            ],
        },
    )

    assert "cycle" in error_of(response)["message"]


def test_template_task_depending_on_itself_is_rejected(api):
    response = api.post_json(
        "/api/v3/workflowTemplates",
        {"name": "Self", "configTask": [{"name": "A", "dependentOnTaskName": "A"}]},
    )

    error_of(response)


def test_template_with_duplicate_task_names_is_rejected(api):
    response = api.post_json(
        "/api/v3/workflowTemplates",
        {"name": "Dup", "configTask": [{"name": "A"}, {"name": "A"}]},
    )

    assert "A" in error_of(response)["message"]


@pytest.mark.parametrize(
    "item",
    [
        {"name": "A", "duration": "soon", "durationType": "Days"},
        {"name": "A", "duration": -1, "durationType": "Days"},
        {"name": "A", "workflowPhase": "first"},
        {"name": "A", "workflowStep": -2},
        {"name": "A", "durationType": "Weeks", "duration": 1},
    ],
)
def test_template_task_with_malformed_numbers_is_rejected(api, item):
    response = api.post_json("/api/v3/workflowTemplates", {"name": "Bad", "configTask": [item]})

    error_of(response)
