"""The event outbox: what the services record, and how subscribers get it."""

from datetime import timedelta

import pytest
from django.utils import timezone

from cti.events import registry
from cti.events.choices import EventKind
from cti.events.models import Event
from cti.events.services import MAX_ATTEMPTS, dispatch_pending, emit, replay
from cti.intel.models import Sighting
from cti.intel.services import import_objects
from rules import services as rule_services
from rules.models import RuleState, RuleStatus
from tests.rules.graphs import identity, indicator, sighting

pytestmark = pytest.mark.django_db


@pytest.fixture
def seen(monkeypatch):
    """Replace the real subscribers by recorders, restoring them afterwards."""
    monkeypatch.setattr(registry, "_subscriptions", {})
    calls: list[tuple[str, int]] = []
    registry.subscribe("later", lambda e: calls.append(("later", e.pk)), order=50)
    registry.subscribe("first", lambda e: calls.append(("first", e.pk)), order=10)
    return calls


def kinds() -> list[tuple[str, str]]:
    return list(Event.objects.order_by("pk").values_list("kind", "object_type"))


def test_case_services_record_creation_assignment_and_status(api, analyst_credential):
    user = analyst_credential.user
    body = {
        "name": "C",
        "severity": "Low",
        "status": "Open",
        "assignee": {"type": "User", "data": {"userName": user.username}},
        "tasks": {"data": [{"name": "T", "assignee": {"type": "User", "data": {"id": user.pk}}}]},
    }
    response = api.post_json("/api/v3/cases", body)
    assert response.status_code == 201, response.json()
    case_id = response.json()["data"]["id"]
    assert kinds() == [
        ("task.assigned", "task"),
        ("case.created", "case"),
        ("case.assigned", "case"),
    ]
    created = Event.objects.get(kind=EventKind.CASE_CREATED)
    assert created.object_id == case_id and created.actor == user
    assert created.data["assignee_user"] == user.pk

    Event.objects.all().delete()
    assert api.put_json(f"/api/v3/cases/{case_id}", {"status": "Closed"}).status_code == 200
    changed = Event.objects.get()
    assert changed.kind == EventKind.CASE_STATUS_CHANGED
    assert changed.data["previous_status"] == "Open" and changed.data["status"] == "Closed"


def test_unassigned_objects_and_unchanged_assignees_record_nothing(api, analyst_credential):
    case = api.post_json(
        "/api/v3/cases", {"name": "C", "severity": "Low", "status": "Open"}
    ).json()["data"]
    assert kinds() == [("case.created", "case")]
    task = api.post_json("/api/v3/tasks", {"name": "T", "caseId": case["id"]}).json()["data"]
    assert kinds() == [("case.created", "case")]
    who = {"type": "User", "data": {"userName": analyst_credential.user.username}}
    api.put_json(f"/api/v3/tasks/{task['id']}", {"assignee": who})
    api.put_json(f"/api/v3/tasks/{task['id']}", {"assignee": who})
    assert kinds().count(("task.assigned", "task")) == 1


def test_sightings_record_an_event_only_when_they_change():
    system, ind = identity("siem", "system"), indicator(1)
    seen_once = sighting(ind, system, key=1, count=3)
    import_objects([system, ind, seen_once])
    event = Event.objects.get(kind=EventKind.SIGHTING_RECORDED)
    assert event.data["created"] is True and event.data["count"] == 3
    import_objects([seen_once])  # the same sighting again: nothing new
    assert Event.objects.count() == 1
    import_objects([sighting(ind, system, key=2, count=2)])  # another, merged into the pair
    merged = Event.objects.order_by("pk").last()
    assert merged.object_id == event.object_id and merged.data == {
        **event.data,
        "created": False,
        "count": 5,
    }


def test_the_incident_rule_records_incident_created():
    rule_services.rule_states()
    RuleState.objects.filter(rule_id="sighting_incident").update(
        active=True, status=RuleStatus.ACTIVATING
    )
    system, ind = identity("siem", "system"), indicator(1)
    import_objects([system, ind, sighting(ind, system, key=1)])
    rule_services.run_activation("sighting_incident")
    incident = Event.objects.get(kind=EventKind.INCIDENT_CREATED)
    assert incident.object_type == "incident" and incident.data == {"rules": ["sighting_incident"]}
    # live: the next sighting (another window) raises a second incident, also object.inferred
    early = "2020-01-01T00:00:00Z"
    import_objects([sighting(ind, system, key=2, first_seen=early, last_seen=early)])
    while rule_services.process_graph_changes():
        pass
    assert Sighting.objects.count() == 2
    assert Event.objects.filter(kind=EventKind.INCIDENT_CREATED).count() == 2
    # a third one merged into the first row changes its count: no incident is created again
    import_objects([sighting(ind, system, key=3)])
    while rule_services.process_graph_changes():
        pass
    assert Sighting.objects.count() == 2
    assert Event.objects.filter(kind=EventKind.INCIDENT_CREATED).count() == 2
    inferred = Event.objects.filter(kind=EventKind.OBJECT_INFERRED)
    # the incident, related-to the indicator and targeting the system
    assert sorted(e.object_type for e in inferred) == ["incident", "relationship", "relationship"]
    assert all(e.data == {"rules": ["sighting_incident"]} for e in inferred)


def test_subscribers_run_in_order_once(seen):
    first = emit(EventKind.CASE_CREATED, object_type="case", object_id=1)
    second = emit(EventKind.CASE_CREATED, object_type="case", object_id=2)
    assert dispatch_pending() == (2, None)
    assert seen == [
        ("first", first.pk),
        ("later", first.pk),
        ("first", second.pk),
        ("later", second.pk),
    ]
    assert dispatch_pending() == (0, None)
    assert not Event.objects.filter(processed__isnull=True).exists()


def test_a_failing_subscriber_is_retried_with_backoff_then_parked(seen):
    def boom(event):
        seen.append(("boom", event.pk))
        raise RuntimeError("receiver down")

    registry.subscribe("boom", boom, kinds=[EventKind.TASK_ASSIGNED], order=20)
    ok = emit(EventKind.CASE_CREATED, object_type="case", object_id=1)
    bad = emit(EventKind.TASK_ASSIGNED, object_type="task", object_id=1)
    done, wait = dispatch_pending()
    assert done == 1 and 0 < wait <= 2
    bad.refresh_from_db()
    assert (bad.attempts, bad.parked, bad.processed) == (1, False, None)
    assert "receiver down" in bad.error
    assert ("later", bad.pk) not in seen  # rolled back with the failure, not half-handled
    assert dispatch_pending()[0] == 0  # not due yet
    for attempt in range(2, MAX_ATTEMPTS + 1):
        Event.objects.filter(pk=bad.pk).update(next_attempt=timezone.now() - timedelta(seconds=1))
        dispatch_pending()
        bad.refresh_from_db()
        assert bad.attempts == attempt
    assert bad.parked
    assert ok.pk not in [pk for name, pk in seen if name == "boom"]

    registry.subscribe("boom", lambda e: None, kinds=[EventKind.TASK_ASSIGNED], order=20)
    replay(bad)
    assert dispatch_pending()[0] == 1
    bad.refresh_from_db()
    assert bad.processed and not bad.parked and bad.error == ""


def test_events_no_subscriber_wants_now_are_done_in_one_statement(
    monkeypatch, django_assert_max_num_queries
):
    monkeypatch.setattr(registry, "_subscriptions", {})
    seen: list[int] = []
    wanted: set[str] = set()
    registry.subscribe("picky", lambda e: seen.append(e.pk), wants=lambda: wanted)
    for n in range(50):
        emit(EventKind.SIGHTING_RECORDED, object_type="sighting", object_id=n)
    with django_assert_max_num_queries(6):  # claim, one update, the next retry
        assert dispatch_pending(limit=100)[0] == 50
    assert seen == []
    assert not Event.objects.filter(processed__isnull=True).exists()

    wanted.add(EventKind.CASE_CREATED)  # an automation or trigger appears: asked again
    case = emit(EventKind.CASE_CREATED, object_type="case", object_id=1)
    other = emit(EventKind.TASK_ASSIGNED, object_type="task", object_id=1)
    assert dispatch_pending()[0] == 2
    assert seen == [case.pk]
    assert Event.objects.filter(pk=other.pk, processed__isnull=False).exists()


def test_automations_and_triggers_say_which_kinds_they_want(admin_credential):
    from cti.automation.selectors import wanted_event_kinds as automation_kinds
    from cti.notify.models import Notifier, Trigger
    from cti.notify.selectors import wanted_event_kinds as trigger_kinds

    assert automation_kinds() == set() and trigger_kinds() == set()
    user = admin_credential.user
    trigger = Trigger.objects.create(user=user, name="t", events=[EventKind.CASE_CREATED])
    notifier = Notifier.objects.create(name="n", kind="webhook", url="https://example.org/h")
    trigger.notifiers.add(notifier)
    assert trigger_kinds() == {EventKind.CASE_CREATED}
    Notifier.objects.filter(pk=notifier.pk).update(enabled=False)
    assert trigger_kinds() == set()


def test_one_dispatch_task_per_transaction(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        for n in range(3):
            emit(EventKind.CASE_CREATED, object_type="case", object_id=n)
    assert [c.__module__ for c in callbacks] == ["cti.events.services"]


def test_events_admin_lists_and_replays(admin_credential, client):
    event = emit(EventKind.CASE_CREATED, object_type="case", object_id=1)
    Event.objects.filter(pk=event.pk).update(parked=True, attempts=5, error="x")
    client.force_login(admin_credential.user)
    assert client.get("/admin/events/event/").status_code == 200
    response = client.post(
        "/admin/events/event/", {"action": "replay", "_selected_action": [event.pk]}
    )
    assert response.status_code == 302
    event.refresh_from_db()
    assert not event.parked and event.attempts == 0
