"""A second incident or sighting of the same indicator on the same system within the window
joins the open case; outside it, on another system, or once the case is closed, a new case
opens. A re-dispatched event does nothing twice."""

import threading

import pytest
from django.db import connection, connections

from cases.choices import CaseStatusChoices
from cases.models import Case
from cti.automation.models import AutomationGroup, AutomationRun
from cti.automation.services import handle_event
from cti.events.models import Event
from cti.events.services import replay
from cti.intel.models import ObjectRef
from tests.automation.conftest import dispatch

pytestmark = pytest.mark.django_db

DAY1, DAY4, DAY9 = "2024-03-01T10:00:00Z", "2024-03-04T10:00:00Z", "2024-03-09T10:00:00Z"


def held(case: Case) -> set[int]:
    case.refresh_from_db()
    return set(ObjectRef.objects.filter(container_id=case.node_id).values_list("member", flat=True))


def test_a_second_incident_within_the_window_joins_the_open_case(story, incident, make_automation):
    automation = make_automation()
    first = incident("i1", DAY1)
    dispatch()
    second = incident("i2", DAY4)
    dispatch()

    case = Case.objects.get()
    runs = AutomationRun.objects.filter(automation=automation).order_by("pk")
    assert [(r.outcome, r.case_id) for r in runs] == [("opened", case.pk), ("joined", case.pk)]
    assert {first.pk, second.pk} <= held(case)
    joined = case.workflow_events.get(summary__startswith="Joined:")
    assert joined.summary == f"Joined: {second.name}"
    assert joined.user.username == "case-automation"
    group = AutomationGroup.objects.get()
    assert (group.case, group.joined) == (case, 1)
    assert case.tasks.count() == 3  # joining adds no tasks


def test_outside_the_window_a_new_case_opens(story, incident, make_automation):
    make_automation(grouping_days=7)
    incident("i1", DAY1)
    dispatch()
    incident("i2", DAY9)
    dispatch()
    second = Case.objects.order_by("pk").last()
    assert Case.objects.count() == 2
    assert AutomationGroup.objects.get().case == second
    # a third incident close to the second joins the second case
    incident("i3", "2024-03-10T10:00:00Z")
    dispatch()
    assert Case.objects.count() == 2
    assert AutomationRun.objects.filter(case=second).count() == 2


def test_an_out_of_order_event_inside_the_window_joins(story, incident, make_automation):
    make_automation()
    incident("i1", DAY4)
    dispatch()
    incident("i0", DAY1)  # back-filled: three days before the first
    dispatch()
    assert Case.objects.count() == 1


def test_another_system_opens_its_own_case(story, incident, make_automation):
    make_automation()
    incident("i1", DAY1)
    incident("i2", DAY1, where=story.other_system)
    dispatch()
    assert Case.objects.count() == 2
    assert AutomationGroup.objects.count() == 2


def test_a_closed_case_is_not_joined(story, incident, make_automation):
    make_automation(tasks=[])
    incident("i1", DAY1)
    dispatch()
    Case.objects.update(status=CaseStatusChoices.CLOSED)
    incident("i2", DAY4)
    dispatch()
    assert Case.objects.filter(status=CaseStatusChoices.OPEN).count() == 1
    assert Case.objects.count() == 2


def test_grouping_days_zero_opens_a_case_per_event(story, incident, make_automation):
    make_automation(grouping_days=0)
    incident("i1", DAY1)
    incident("i2", DAY1)
    dispatch()
    assert Case.objects.count() == 2
    assert not AutomationGroup.objects.exists()


def test_two_automations_group_independently(story, incident, make_automation):
    make_automation()
    make_automation()
    incident("i1", DAY1)
    dispatch()
    incident("i2", DAY4)
    dispatch()
    assert Case.objects.count() == 2
    assert sorted(AutomationRun.objects.values_list("outcome", flat=True)) == [
        "joined",
        "joined",
        "opened",
        "opened",
    ]


def test_a_repeated_sighting_joins_the_sighting_case(story, sight, make_automation):
    """Sightings of one pair within 30 days are one row: the second SIEM alert is a second
    sighting.recorded event for it."""
    make_automation(event_kind="sighting.recorded", case_name="")
    first, _ = sight(DAY1)
    dispatch()
    sight(DAY4, key="again")
    dispatch()
    case = Case.objects.get()
    assert first.pk in held(case)
    assert case.workflow_events.filter(summary__startswith="Joined: sighting of bad.com").exists()
    assert AutomationRun.objects.filter(outcome="joined").count() == 1


def test_a_redispatched_event_does_nothing_twice(story, incident, make_automation):
    make_automation()
    incident("i1", DAY1)
    dispatch()
    event = Event.objects.get(kind="incident.created")
    replay(event)
    assert dispatch() == 1
    handle_event(event)  # and directly, as a second worker would
    assert Case.objects.count() == 1
    assert AutomationRun.objects.count() == 1
    assert not Case.objects.get().workflow_events.filter(summary__startswith="Joined").exists()


def test_a_failing_event_rolls_back_and_is_retried(story, incident, make_automation, monkeypatch):
    from cti.automation import services

    make_automation()
    incident("i1", DAY1)
    calls = []

    def broken(*args, **kwargs):
        calls.append(1)
        raise RuntimeError("boom")

    monkeypatch.setattr(services, "add_to_case", broken)
    dispatch()
    event = Event.objects.get(kind="incident.created")
    assert calls and event.attempts == 1 and "boom" in event.error
    assert not Case.objects.exists() and not AutomationRun.objects.exists()
    monkeypatch.undo()
    Event.objects.filter(pk=event.pk).update(next_attempt=None)
    dispatch()
    assert Case.objects.count() == 1 and AutomationRun.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_events_of_one_group_open_one_case(story, incident, make_automation):
    if connection.vendor != "postgresql":
        pytest.skip("row locks need PostgreSQL")
    make_automation()
    incident("i1", DAY1)
    incident("i2", DAY4)
    events = list(Event.objects.filter(kind="incident.created").order_by("pk"))
    barrier = threading.Barrier(len(events))
    errors = []

    def work(event):
        from django.db import transaction

        try:
            barrier.wait(timeout=10)
            with transaction.atomic():
                handle_event(event)
        except Exception as exc:  # reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work, args=(e,)) for e in events]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not errors, errors
    assert Case.objects.count() == 1
    assert sorted(AutomationRun.objects.values_list("outcome", flat=True)) == ["joined", "opened"]
