"""Drive a live server through tcex 5.0.0, unchanged: workflow template, case from the template with
inline children, filter objects, count, update modes, close with a resolution, delete.

Every scenario runs once with HMAC and once with a token (see conftest.make_session). Results are
read back both through tcex and through the ORM.
"""

import pytest
from tcex.api.tc.v3.tql.tql_operator import TqlOperator

from cases.models import Artifact, Case, CaseAttribute, Note, Task, WorkflowEvent, WorkflowTemplate
from tests.live.conftest import AUTH_KINDS

pytestmark = [pytest.mark.live, pytest.mark.parametrize("auth", AUTH_KINDS)]

CASE_FIELDS = ["tasks", "artifacts", "notes", "tags", "attributes", "workflowTemplate"]

CONFIG_TASK = [
    {
        "name": "Triage",
        "description": "Look at the alert",
        "workflowPhase": 1,
        "workflowStep": 1,
        "required": False,
        "fields": [
            {
                "artifactType": "Host",
                "dataType": "String",
                "intelType": "indicator-Host",
                "name": "host",
                "required": False,
                "uiElement": "String",
                "uiLabel": "Host",
            }
        ],
    },
    {
        "name": "Contain",
        "description": "Stop the spread",
        "workflowPhase": 1,
        "workflowStep": 2,
        "required": True,
        "dependentOnTaskName": "Triage",
        "durationType": "Days",
        "duration": 2,
    },
]


def tag_names(model) -> list[str]:
    return sorted(t.name for t in model.tags.data)


def orm_tags(case_id: int) -> list[str]:
    return sorted(Case.objects.get(pk=case_id).tags.values_list("name", flat=True))


def orm_attributes(case_id: int) -> list[tuple[str, str]]:
    rows = CaseAttribute.objects.filter(case_id=case_id).select_related("attribute_type")
    return sorted((a.attribute_type.name, a.value) for a in rows)


def create_template(v3, name: str) -> int:
    """tcex's WorkflowTemplateModel treats configTask as read-only, so the model creates the
    template and the task definitions go through the same tcex session as a raw PUT."""
    template = v3.workflow_template(name=name, description="Phishing playbook", version=1)
    template.create()
    template_id = template.model.id
    assert template_id and template.model.name == name and template.model.version == 1

    response = v3.session.put(
        f"/v3/workflowTemplates/{template_id}", json={"configTask": CONFIG_TASK}
    )
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"] == "application/json"

    fetched = v3.workflow_template(id=template_id)
    fetched.get()
    assert [t["name"] for t in fetched.model.config_task] == ["Triage", "Contain"]
    assert fetched.model.config_task[1]["dependentOnTaskName"] == "Triage"
    assert WorkflowTemplate.objects.get(pk=template_id).config_task[1]["required"] is True
    return template_id


def test_case_lifecycle(make_v3, auth):
    v3 = make_v3(auth)
    name = f"Phish via tcex {auth}"
    template_id = create_template(v3, f"Phishing ({auth})")

    # ---- create a case from the template with inline children, staged the tcex way --------
    case = v3.case(
        name=name,
        severity="High",
        status="Open",
        description="Reported by a user",
        xid=f"tcex-{auth}-1",
        workflow_template={"id": template_id},
    )
    case.stage_task(
        {
            "name": "Notify legal",
            "description": "Extra task",
            "workflow_phase": 2,
            "workflow_step": 1,
            "notes": {"data": [{"text": "Call them first"}]},
        }
    )
    case.stage_artifact({"summary": "bad.example.com", "type": "Host", "source": "tcex"})
    case.stage_note({"text": "Opened from tcex"})
    case.stage_tag({"name": "Phishing"})
    case.stage_tag({"name": "Initial"})
    case.stage_attribute({"type": "Description", "value": "first", "source": "tcex"})
    case.stage_assignee("User", {"user_name": "tcex-admin@example.com"})
    case.create(params={"fields": CASE_FIELDS})

    case_id = case.model.id
    assert case_id
    assert case.model.xid == f"tcex-{auth}-1"
    assert case.model.workflow_template.id == template_id
    tasks = {t.name: t for t in case.model.tasks.data}
    assert set(tasks) == {"Triage", "Contain", "Notify legal"}
    assert tasks["Triage"].status == "Open"
    assert tasks["Contain"].status == "Pending"
    assert tasks["Contain"].required is True
    assert tasks["Contain"].dependent_on_id == tasks["Triage"].id
    assert [a.summary for a in case.model.artifacts.data] == ["bad.example.com"]
    assert case.model.artifacts.data[0].intel_type == "indicator-Host"
    assert sorted(n.text for n in case.model.notes.data) == ["Call them first", "Opened from tcex"]
    assert case.model.assignee.type == "User"
    assert case.model.assignee.data.user_name == "tcex-admin@example.com"
    assert tag_names(case.model) == ["Initial", "Phishing"]
    assert [(a.type, a.value) for a in case.model.attributes.data] == [("Description", "first")]

    db_case = Case.objects.get(pk=case_id)
    assert db_case.workflow_template_id == template_id
    assert db_case.tasks.count() == 3
    assert db_case.artifacts.get().artifact_type.name == "Host"
    assert db_case.notes.get(task=None).text == "Opened from tcex"
    assert db_case.notes.get(task__name="Notify legal").text == "Call them first"
    assert db_case.assignee_user.username == "tcex-admin@example.com"
    assert orm_tags(case_id) == ["Initial", "Phishing"]
    assert orm_attributes(case_id) == [("Description", "first")]

    # ---- get with fields (explicit list, and tcex's `_all_` expansion via OPTIONS /fields) -
    got = v3.case(id=case_id)
    got.get(params={"fields": ["tasks", "tags"]})
    assert got.model.name == name and got.model.severity == "High"
    assert len(got.model.tasks.data) == 3 and tag_names(got.model) == ["Initial", "Phishing"]
    assert got.model.artifacts.data == []  # not requested

    everything = v3.case(id=case_id)
    everything.get(params={"fields": ["_all_"]})
    assert {"tasks", "notes", "workflowTemplate"} <= set(everything.available_fields)
    assert len(everything.model.tasks.data) == 3
    assert len(everything.model.artifacts.data) == 1
    assert everything.model.workflow_template.name == f"Phishing ({auth})"
    assert any(e.summary == "Case created" for e in everything.model.workflow_events.data)

    by_xid = v3.case(xid=f"tcex-{auth}-1")
    by_xid.get()
    assert by_xid.model.id == case_id

    # ---- filter objects, len() and iteration ---------------------------------------------
    other = v3.case(name=f"Other {auth}", severity="Low", status="Open")
    other.create()

    cases = v3.cases()
    cases.filter.name(TqlOperator.EQ, name)
    cases.filter.status(TqlOperator.EQ, "Open")
    assert len(cases) == 1
    assert [c.model.id for c in cases] == [case_id]

    cases = v3.cases()
    cases.filter.severity(TqlOperator.IN, ["High", "Critical"])
    cases.filter.has_task.name(TqlOperator.EQ, "Contain")
    cases.filter.has_task.required(TqlOperator.EQ, True)
    assert [c.model.id for c in cases] == [case_id]

    cases = v3.cases()
    cases.filter.has_tag.name(TqlOperator.EQ, "Phishing")
    cases.filter.has_artifact.summary(TqlOperator.CONTAINS, "example")
    cases.filter.has_workflow_template(TqlOperator.EQ, template_id)
    assert len(cases) == 1

    cases = v3.cases()
    cases.filter.name(TqlOperator.STARTS_WITH, "Other ")
    cases.filter.tag(TqlOperator.NE, "Phishing")
    assert [c.model.name for c in cases] == [f"Other {auth}"]

    cases = v3.cases()
    cases.filter.id(TqlOperator.IN, [case_id, other.model.id])
    assert len(cases) == 2

    # ---- child collections filtered by case ----------------------------------------------
    task_list = v3.tasks(params={"fields": ["caseId"]})
    task_list.filter.case_id(TqlOperator.EQ, case_id)
    task_list.filter.status(TqlOperator.NE, "Pending")
    assert sorted(t.model.name for t in task_list) == ["Notify legal", "Triage"]
    assert {t.model.name for t in case.tasks} == {"Triage", "Contain", "Notify legal"}

    artifacts = v3.artifacts()
    artifacts.filter.case_id(TqlOperator.EQ, case_id)
    artifacts.filter.type(TqlOperator.EQ, "Host")
    assert [a.model.summary for a in artifacts] == ["bad.example.com"]

    notes = v3.notes()
    notes.filter.case_id(TqlOperator.EQ, case_id)
    notes.filter.has_task.name(TqlOperator.EQ, "Notify legal")
    assert [n.model.text for n in notes] == ["Call them first"]
    assert len(notes) == 1
    assert sorted(n.model.text for n in case.notes) == ["Call them first", "Opened from tcex"]

    events = v3.workflow_events()
    events.filter.case_id(TqlOperator.EQ, case_id)
    events.filter.system_generated(TqlOperator.EQ, True)
    assert "Case created" in [e.model.summary for e in events]

    # children created on their own endpoints through tcex
    note = v3.note(case_id=case_id, text="Second note")
    note.create()
    artifact = v3.artifact(case_id=case_id, summary="evil@example.com", type="Email Address")
    artifact.create()
    assert Note.objects.filter(case_id=case_id).count() == 3
    assert Artifact.objects.get(pk=artifact.model.id).artifact_type.name == "Email Address"

    # ---- update modes on tags and attributes ---------------------------------------------
    # append (tcex's default): the fetched tags are resent with their ids, plus the staged one
    fetched = v3.case(id=case_id)
    fetched.get(params={"fields": ["tags", "attributes"]})
    fetched.stage_tag({"name": "Appended"})
    fetched.stage_attribute({"type": "Source", "value": "mail gateway"})
    fetched.update(params={"fields": ["tags", "attributes"]})
    assert tag_names(fetched.model) == ["Appended", "Initial", "Phishing"]
    assert orm_tags(case_id) == ["Appended", "Initial", "Phishing"]
    assert orm_attributes(case_id) == [("Description", "first"), ("Source", "mail gateway")]

    # replace: a fresh object carries only what was staged
    fresh = v3.case(id=case_id)
    fresh.stage_tag({"name": "Replaced"})
    fresh.stage_tag({"name": "Kept"})
    fresh.stage_attribute({"type": "Description", "value": "second"})
    fresh.update(mode="replace", params={"fields": ["tags", "attributes"]})
    assert tag_names(fresh.model) == ["Kept", "Replaced"]
    assert [(a.type, a.value) for a in fresh.model.attributes.data] == [("Description", "second")]
    assert orm_tags(case_id) == ["Kept", "Replaced"]
    assert orm_attributes(case_id) == [("Description", "second")]
    attribute_id = fresh.model.attributes.data[0].id

    # delete: tags by name, attributes by id
    remove = v3.case(id=case_id)
    remove.stage_tag({"name": "Replaced"})
    remove.stage_attribute({"id": attribute_id})
    remove.update(mode="delete", params={"fields": ["tags", "attributes"]})
    assert tag_names(remove.model) == ["Kept"]
    assert remove.model.attributes.data == []
    assert orm_tags(case_id) == ["Kept"]
    assert orm_attributes(case_id) == []
    assert Case.objects.get(pk=case_id).name == name  # scalar fields untouched

    # a plain field update
    fetched = v3.case(id=case_id)
    fetched.get()
    fetched.model.severity = "Critical"
    fetched.update()
    assert fetched.model.severity == "Critical"
    assert Case.objects.get(pk=case_id).severity == "Critical"

    # ---- close with a resolution: refused while a required task is open -----------------
    closing = v3.case(id=case_id)
    closing.get()
    closing.model.status = "Closed"
    closing.model.resolution = "False Positive"
    with pytest.raises(RuntimeError) as refused:
        closing.update()
    assert refused.value.args[0] == 952
    assert "Contain" in refused.value.args[1]
    assert Case.objects.get(pk=case_id).status == "Open"

    triage = v3.task(id=tasks["Triage"].id)
    triage.get()
    triage.model.status = "Closed"
    triage.update()
    assert triage.model.status == "Closed"
    assert triage.model.completed_by == "tcex-admin@example.com"

    contain = v3.task(id=tasks["Contain"].id)
    contain.get()
    assert contain.model.status == "Open"  # released by its dependency
    with pytest.raises(RuntimeError):
        closing.update()  # still required and open

    contain.model.status = "Closed"
    contain.update()
    assert Task.objects.get(pk=tasks["Contain"].id).status == "Closed"

    closing.update()
    assert closing.model.status == "Closed"
    assert closing.model.resolution == "False Positive"
    assert closing.model.case_close_time is not None
    assert closing.model.case_close_user.user_name == "tcex-admin@example.com"
    db_case = Case.objects.get(pk=case_id)
    assert (db_case.status, db_case.resolution) == ("Closed", "False Positive")
    assert db_case.case_close_time is not None

    closed = v3.cases()
    closed.filter.status(TqlOperator.EQ, "Closed")
    closed.filter.resolution(TqlOperator.EQ, "False Positive")
    assert [c.model.id for c in closed] == [case_id]

    # ---- delete ---------------------------------------------------------------------------
    note.delete()
    assert not Note.objects.filter(pk=note.model.id).exists()

    event = v3.workflow_event(case_id=case_id, summary="Called the reporter")
    event.create()
    event.model.deleted_reason = "Logged on the wrong case"
    event.delete()  # tcex sends {"deletedReason": ...} as the DELETE body
    db_event = WorkflowEvent.objects.get(pk=event.model.id)
    assert (db_event.deleted, db_event.deleted_reason) == (True, "Logged on the wrong case")
    for deleted in (False, True):
        listed = v3.workflow_events()
        listed.filter.case_id(TqlOperator.EQ, case_id)
        listed.filter.deleted(TqlOperator.EQ, deleted)
        assert (event.model.id in [e.model.id for e in listed]) is deleted

    closing.delete()
    assert not Case.objects.filter(pk=case_id).exists()
    assert not Task.objects.filter(case_id=case_id).exists()
    assert not WorkflowEvent.objects.filter(case_id=case_id).exists()
    with pytest.raises(RuntimeError) as missing:
        v3.case(id=case_id).get()
    assert missing.value.args[0] == 952 and "404" in missing.value.args[1]

    gone = v3.cases()
    gone.filter.id(TqlOperator.EQ, case_id)
    assert len(gone) == 0

    v3.workflow_template(id=template_id).delete()
    assert not WorkflowTemplate.objects.filter(pk=template_id).exists()
