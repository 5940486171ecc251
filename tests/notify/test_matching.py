"""Which triggers fire for which events: kinds, assigned-to-me (user and group), TQL,
object types and rule ids, visibility."""

import pytest

from cti.events.choices import EventKind
from cti.events.services import emit
from cti.notify.models import Delivery
from cti.security.choices import SystemRoleChoices
from cti.security.services import api_user_create

pytestmark = pytest.mark.django_db


def fired(trigger) -> list[tuple[str, int]]:
    return sorted(
        (d.event.kind, d.event.object_id) for d in Delivery.objects.filter(trigger=trigger)
    )


def test_case_created_fires_and_others_do_not(make_case, make_trigger, dispatch):
    created = make_trigger([EventKind.CASE_CREATED])
    status = make_trigger([EventKind.CASE_STATUS_CHANGED])
    incident = make_trigger([EventKind.INCIDENT_CREATED])

    case = make_case(name="Suspicious login")
    enqueued = dispatch()

    assert fired(created) == [("case.created", case["id"])]
    assert fired(status) == [] and fired(incident) == []
    assert enqueued == list(Delivery.objects.values_list("pk", flat=True))


def test_case_status_changed(api, make_case, make_trigger, dispatch):
    trigger = make_trigger([EventKind.CASE_STATUS_CHANGED])
    case = make_case()
    dispatch()
    assert fired(trigger) == []

    api.put_json(f"/api/v3/cases/{case['id']}", {"status": "Closed", "resolution": "Not Specified"})
    dispatch()

    assert fired(trigger) == [("case.status_changed", case["id"])]
    payload = Delivery.objects.get(trigger=trigger).payload
    assert payload["data"]["facts"]["Status"] == "Open → Closed"
    assert payload["data"]["title"] == "Case status changed to Closed: Case"


def test_assigned_to_me_by_user(api, analyst, admin_credential, make_case, make_trigger, dispatch):
    mine = make_trigger([EventKind.CASE_ASSIGNED], assigned_to_me=True)
    admins = make_trigger(
        [EventKind.CASE_ASSIGNED], assigned_to_me=True, user=admin_credential.user
    )
    everyone = make_trigger([EventKind.CASE_ASSIGNED], user=admin_credential.user)

    to_me = make_case(assignee={"type": "User", "data": {"userName": analyst.username}})
    to_admin = make_case(assignee={"type": "User", "data": {"userName": "admin"}})
    make_case()  # unassigned: no case.assigned event
    dispatch()

    assert fired(mine) == [("case.assigned", to_me["id"])]
    assert fired(admins) == [("case.assigned", to_admin["id"])]
    assert fired(everyone) == sorted(
        [("case.assigned", to_me["id"]), ("case.assigned", to_admin["id"])]
    )
    title = Delivery.objects.get(trigger=mine).payload["data"]["title"]
    assert title == "Case assigned to you: Case"


def test_assigned_to_me_through_a_group(api, soc, make_case, make_trigger, dispatch):
    trigger = make_trigger([EventKind.CASE_ASSIGNED, EventKind.TASK_ASSIGNED], assigned_to_me=True)
    other = soc.__class__.objects.create(name="Other team")

    case = make_case(assignee={"type": "Group", "data": {"name": "SOC"}})
    make_case(assignee={"type": "Group", "data": {"name": other.name}})
    task = api.post_json(
        "/api/v3/tasks",
        {
            "caseId": case["id"],
            "name": "Triage",
            "assignee": {"type": "Group", "data": {"id": soc.pk}},
        },
    ).json()["data"]
    api.post_json(
        "/api/v3/tasks",
        {
            "caseId": case["id"],
            "name": "Not mine",
            "assignee": {"type": "Group", "data": {"id": other.pk}},
        },
    )
    dispatch()

    assert fired(trigger) == sorted([("case.assigned", case["id"]), ("task.assigned", task["id"])])
    titles = sorted(d.payload["data"]["title"] for d in Delivery.objects.filter(trigger=trigger))
    assert titles == ["Case assigned to SOC (group): Case", "Task assigned to SOC (group): Triage"]


def test_task_assigned_to_me_on_update(api, analyst, make_case, make_trigger, dispatch):
    trigger = make_trigger([EventKind.TASK_ASSIGNED], assigned_to_me=True)
    case = make_case()
    task = api.post_json("/api/v3/tasks", {"caseId": case["id"], "name": "Contain"}).json()["data"]
    dispatch()
    assert fired(trigger) == []

    api.put_json(
        f"/api/v3/tasks/{task['id']}",
        {"assignee": {"type": "User", "data": {"id": analyst.pk}}},
    )
    dispatch()

    assert fired(trigger) == [("task.assigned", task["id"])]
    delivery = Delivery.objects.get(trigger=trigger)
    assert delivery.payload["data"]["title"] == "Task assigned to you: Contain"
    assert delivery.payload["data"]["link"] == f"https://cti.example.com/api/v3/tasks/{task['id']}"


def test_case_tql_filter(make_case, make_trigger, dispatch):
    high = make_trigger([EventKind.CASE_CREATED], tql='severity IN ("High", "Critical")')
    named = make_trigger([EventKind.CASE_CREATED], tql='name CONTAINS "phish"')

    low = make_case(name="Phishing wave", severity="Low")
    crit = make_case(name="Ransomware", severity="Critical")
    dispatch()

    assert fired(high) == [("case.created", crit["id"])]
    assert fired(named) == [("case.created", low["id"])]


def test_task_tql_filter(api, analyst, make_case, make_trigger, dispatch):
    trigger = make_trigger([EventKind.TASK_ASSIGNED], tql='name STARTSWITH "Contain"')
    case = make_case()
    me = {"type": "User", "data": {"id": analyst.pk}}
    keep = api.post_json(
        "/api/v3/tasks", {"caseId": case["id"], "name": "Contain host", "assignee": me}
    )
    api.post_json("/api/v3/tasks", {"caseId": case["id"], "name": "Report", "assignee": me})
    dispatch()

    assert fired(trigger) == [("task.assigned", keep.json()["data"]["id"])]


def test_case_hidden_by_user_access_is_not_notified(api, admin_credential, make_trigger, dispatch):
    outsider = api_user_create("outsider", role=SystemRoleChoices.ANALYST).user
    theirs = make_trigger([EventKind.CASE_CREATED], user=outsider)
    admins = make_trigger([EventKind.CASE_CREATED], user=admin_credential.user)

    response = api.post_json(
        "/api/v3/cases",
        {
            "name": "Restricted",
            "severity": "Low",
            "status": "Open",
            "userAccess": {"data": [{"userName": "analyst@example.com"}]},
        },
    )
    assert response.status_code == 201, response.json()
    dispatch()

    assert fired(theirs) == []
    assert fired(admins) == [("case.created", response.json()["data"]["id"])]


def test_incident_and_inferred_objects_by_type_and_rule(make_incident, make_trigger, dispatch):
    incidents = make_trigger([EventKind.INCIDENT_CREATED])
    by_rule = make_trigger([EventKind.OBJECT_INFERRED], rules=["sighting_incident"])
    by_type = make_trigger([EventKind.OBJECT_INFERRED], object_types=["indicator"])
    both = make_trigger(
        [EventKind.OBJECT_INFERRED], object_types=["incident"], rules=["observe_sighting"]
    )
    tql = make_trigger([EventKind.INCIDENT_CREATED], tql='name CONTAINS "ransom"')

    incident = make_incident("Ransomware on host-1", severity="high")
    indicator = make_incident("ind", stix_type="indicator")
    emit(
        EventKind.INCIDENT_CREATED,
        object_type="incident",
        object_id=incident.pk,
        rules=["sighting_incident"],
    )
    emit(
        EventKind.OBJECT_INFERRED,
        object_type="incident",
        object_id=incident.pk,
        rules=["sighting_incident"],
    )
    emit(
        EventKind.OBJECT_INFERRED,
        object_type="indicator",
        object_id=indicator.pk,
        rules=["observe_sighting"],
    )
    dispatch()

    assert fired(incidents) == [("incident.created", incident.pk)]
    assert fired(by_rule) == [("object.inferred", incident.pk)]
    assert fired(by_type) == [("object.inferred", indicator.pk)]
    assert fired(both) == []
    assert fired(tql) == [("incident.created", incident.pk)]
    payload = Delivery.objects.get(trigger=incidents).payload
    assert payload["data"]["title"] == "Incident created: Ransomware on host-1"
    assert payload["data"]["facts"]["Severity"] == "high"
    assert payload["data"]["link"] == (
        f"https://cti.example.com/api/v3/intel/objects/{incident.stix_id}"
    )


def test_disabled_trigger_notifier_or_user_do_not_fire(
    analyst, make_case, make_trigger, make_notifier, dispatch
):
    off = make_trigger([EventKind.CASE_CREATED], enabled=False)
    muted = make_trigger([EventKind.CASE_CREATED], notifiers=[make_notifier(enabled=False)])
    mixed = make_trigger(
        [EventKind.CASE_CREATED],
        notifiers=[make_notifier(enabled=False), live := make_notifier()],
    )
    make_case()
    dispatch()

    assert fired(off) == [] and fired(muted) == []
    assert list(Delivery.objects.filter(trigger=mixed).values_list("notifier", flat=True)) == [
        live.pk
    ]


def test_handler_does_no_network(make_case, make_trigger, dispatch, http_receiver, make_notifier):
    make_trigger([EventKind.CASE_CREATED], notifiers=[make_notifier(url=http_receiver.url)])
    make_case()
    assert dispatch()  # enqueued
    assert http_receiver.requests == []
    assert Delivery.objects.get().status == "pending"


def test_sighting_recorded(make_trigger, dispatch):
    from cti.intel.services import import_objects

    trigger = make_trigger([EventKind.SIGHTING_RECORDED], tql='type = "sighting"')
    ind = "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"
    org = "identity--f431f809-377b-45e0-aa1c-6a4751cae5ff"
    import_objects(
        [
            {
                "type": "indicator",
                "spec_version": "2.1",
                "id": ind,
                "name": "evil.example",
                "pattern": "[domain-name:value = 'evil.example']",
                "pattern_type": "stix",
                "valid_from": "2024-01-01T00:00:00Z",
                "created": "2024-01-01T00:00:00Z",
                "modified": "2024-01-01T00:00:00Z",
            },
            {
                "type": "identity",
                "spec_version": "2.1",
                "id": org,
                "name": "ACME",
                "identity_class": "organization",
                "created": "2024-01-01T00:00:00Z",
                "modified": "2024-01-01T00:00:00Z",
            },
            {
                "type": "sighting",
                "spec_version": "2.1",
                "id": "sighting--6b0e3856-95b3-4c04-a3c4-8a4b5c2b0d11",
                "sighting_of_ref": ind,
                "where_sighted_refs": [org],
                "count": 3,
                "created": "2024-01-02T00:00:00Z",
                "modified": "2024-01-02T00:00:00Z",
            },
        ]
    )
    dispatch()

    [delivery] = Delivery.objects.filter(trigger=trigger)
    data = delivery.payload["data"]
    assert data["title"] == "Sighting recorded: evil.example in ACME"
    assert data["facts"] == {"Sighting of": "evil.example", "Where": "ACME", "Count": "3"}
    assert data["link"].endswith(f"/api/v3/intel/sightings/{delivery.event.object_id}")
