"""From SIEM alert to assigned case: the sighting raises an incident, the automation opens a
case from the template with the indicator's context, priority, severity, assignee and tasks."""

from datetime import UTC, datetime

import pytest

from cases.choices import TaskStatusChoices
from cases.models import Case, WorkflowEvent
from cti.automation.models import AutomationRun
from cti.automation.services import SERVICE_USERNAME
from cti.events.models import Event
from cti.intel.models import ObjectRef, Relationship, StixObject
from tests.automation.conftest import dispatch

pytestmark = pytest.mark.django_db

WHEN = "2024-03-01T10:00:00.000Z"


def members(case: Case) -> set[str]:
    case.refresh_from_db()
    return set(
        ObjectRef.objects.filter(container_id=case.node_id).values_list(
            "member__stix_id", flat=True
        )
    )


def rel_id(source: StixObject | dict, rel_type: str, target: StixObject | dict) -> str:
    def pk(x):
        return x.pk if isinstance(x, StixObject) else StixObject.objects.get(stix_id=x["id"]).pk

    return Relationship.objects.get(
        source_id=pk(source), relationship_type=rel_type, target_id=pk(target)
    ).node.stix_id


def test_an_incident_opens_an_assigned_case_with_tasks_and_context(
    story, sight, make_automation, colleague, template
):
    automation = make_automation()
    sighting, incident = sight(WHEN)
    assert incident is not None and incident.properties["severity"] == "low"

    assert dispatch() >= 2  # sighting.recorded, incident.created (and the case's own events)

    run = AutomationRun.objects.get(automation=automation)
    case = run.case
    assert run.outcome == "opened"
    assert Case.objects.count() == 1
    assert case.name == incident.name == "Sighting on valid indicator bad.com"
    assert (case.severity, case.priority) == ("Low", "P2")
    assert case.assignee_user == colleague and case.assignee_group is None
    assert case.workflow_template == template
    assert case.created_by.username == SERVICE_USERNAME
    assert case.case_occurrence_time == datetime(2024, 3, 1, 10, tzinfo=UTC)

    tasks = {t.name: t for t in case.tasks.all()}
    assert set(tasks) == {"Triage", "Contain", "Verify interaction"}
    verify = tasks["Verify interaction"]
    assert verify.description == "Did anyone actually interact with bad.com?"
    assert verify.assignee_user == colleague
    assert tasks["Contain"].dependent_on == tasks["Triage"]
    assert tasks["Contain"].status == TaskStatusChoices.PENDING

    held = members(case)
    expected = {
        incident.stix_id,
        sighting.stix_id,
        story.indicator["id"],
        story.observable["id"],
        story.system["id"],
        story.campaign["id"],
        story.relationships["based-on"]["id"],
        story.relationships["indicates"]["id"],
        rel_id(incident, "related-to", story.indicator),
        rel_id(incident, "targets", story.system),
    }
    assert expected <= held
    # second degree (the campaign's sector) only with contextDepth 2; never other systems
    assert story.sector["id"] not in held
    assert story.other_system["id"] not in held

    summaries = list(case.workflow_events.values_list("summary", flat=True))
    assert any(s.startswith(f"Opened by automation {automation.name!r}") for s in summaries)


def test_case_events_name_the_service_user_as_actor(story, sight, make_automation, colleague):
    make_automation()
    sight(WHEN)
    dispatch()
    case = Case.objects.get()
    events = Event.objects.filter(object_type__in=["case", "task"]).select_related("actor")
    kinds = sorted(e.kind for e in events)
    assert kinds == ["case.assigned", "case.created", "task.assigned"]
    assert {e.actor.username for e in events} == {SERVICE_USERNAME}
    assigned = events.get(kind="case.assigned")
    assert (assigned.object_id, assigned.data["assignee_user"]) == (case.pk, colleague.pk)
    assert events.get(kind="task.assigned").data["name"] == "Verify interaction"
    assert all(e.processed for e in Event.objects.all())


def test_context_depth_two_reaches_the_targeted_sector(story, sight, make_automation):
    make_automation(context_depth=2)
    sight(WHEN)
    dispatch()
    held = members(Case.objects.get())
    assert {story.sector["id"], story.relationships["targets"]["id"]} <= held
    assert story.other_system["id"] not in held


def test_context_depth_zero_holds_only_the_event_objects(story, sight, make_automation):
    make_automation(context_depth=0)
    _, incident = sight(WHEN)
    dispatch()
    held = members(Case.objects.get())
    assert story.campaign["id"] not in held
    assert {incident.stix_id, story.indicator["id"], story.system["id"]} <= held


def test_a_run_as_user_opens_the_case(story, sight, make_automation, admin_credential):
    make_automation(run_as=admin_credential.user)
    sight(WHEN)
    dispatch()
    assert Case.objects.get().created_by == admin_credential.user


def test_a_sighting_automation_names_the_case_from_the_sighting(story, sight, make_automation):
    automation = make_automation(event_kind="sighting.recorded", case_name="")
    assert automation.case_name == "Sighting of {indicator.name} in {target.name}"
    sighting, incident = sight(WHEN)
    dispatch()
    case = AutomationRun.objects.get(automation=automation).case
    assert case.name == "Sighting of bad.com in SIEM perimeter A"
    assert Case.objects.count() == 1  # the incident.created event does not concern it
    held = members(case)
    assert {sighting.stix_id, story.indicator["id"], story.observable["id"]} <= held
    assert incident.stix_id not in held  # incidents other than the event's are left out


@pytest.mark.parametrize(
    ("fields", "severity", "priority"),
    [
        ({}, "High", "P2"),  # the incident's severity; the fixed priority
        ({"severity": "low", "priority": "p4"}, "Low", "P4"),
        (
            {"severity_map": {"High": "critical"}, "priority_map": {"high": "Critical"}},
            "Critical",
            "P1",
        ),
        ({"severity_map": {"low": "Medium"}, "priority_map": {"low": "P3"}}, "High", "P2"),
    ],
)
def test_severity_and_priority_mapping(
    story, incident, make_automation, fields, severity, priority
):
    make_automation(**fields)
    incident("i1", WHEN, severity="high")
    dispatch()
    case = Case.objects.get()
    assert (case.severity, case.priority) == (severity, priority)


def test_case_name_and_description_templates(story, incident, make_automation):
    make_automation(
        case_name="{severity}: {indicator.name} on {system.name} ({observable.value})",
        case_description="{incident.description} {unknown.x} {automation}",
    )
    incident("i1", WHEN, severity="medium", description="SIEM alert")
    dispatch()
    case = Case.objects.get()
    assert case.name == "medium: bad.com on SIEM perimeter A (bad.com)"
    assert case.description.startswith("SIEM alert {unknown.x} automation ")


def test_a_group_assignee_and_an_unassigned_task(story, incident, make_automation, soc):
    make_automation(
        assignee_user_id=None,
        assignee_group_id=soc.pk,
        tasks=[{"name": "Look", "assignee": {"type": "Group", "data": {"name": soc.name}}}],
    )
    incident("i1", WHEN)
    dispatch()
    case = Case.objects.get()
    assert (case.assignee_user, case.assignee_group) == (None, soc)
    assert case.tasks.get(name="Look").assignee_group == soc


def test_a_deleted_task_assignee_leaves_the_task_unassigned(
    story, incident, make_automation, colleague
):
    make_automation(assignee_user_id=None)
    colleague.delete()
    incident("i1", WHEN)
    dispatch()
    task = Case.objects.get().tasks.get(name="Verify interaction")
    assert task.assignee_user is None
    assert Event.objects.filter(parked=True).count() == 0


def test_the_joined_workflow_event_is_not_written_for_a_new_case(story, incident, make_automation):
    make_automation()
    incident("i1", WHEN)
    dispatch()
    assert not WorkflowEvent.objects.filter(summary__startswith="Joined").exists()


def test_a_template_of_another_owner_opens_the_case_in_that_owner(
    story, sight, make_automation, template
):
    """With several owners, the service user still reaches the administrators' choice of
    template, and the case goes to the template's owner (where its playbook lives)."""
    from cti.security.models import Owner

    Owner.objects.create(name="Unrelated Org")  # so not every owner is the default one
    soc = Owner.objects.create(name="SOC Org")
    template.owner = soc
    template.save(update_fields=["owner"])
    automation = make_automation()
    sight(WHEN)
    dispatch()
    run = AutomationRun.objects.get(automation=automation)
    assert run.outcome == "opened", run.__dict__
    assert run.case.owner == soc and run.case.workflow_template == template
