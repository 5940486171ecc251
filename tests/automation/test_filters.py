"""Which events an automation reacts to: its event kind, TQL on the event's object and on
the indicator, and a minimum severity."""

import pytest

from cases.models import Case
from cti.automation.models import AutomationRun
from tests.automation.conftest import dispatch

pytestmark = pytest.mark.django_db

WHEN = "2024-03-01T10:00:00Z"


def opened(automation) -> bool:
    return AutomationRun.objects.filter(automation=automation).exists()


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"tql": 'name contains "bad.com"'}, True),
        ({"tql": 'name contains "evil.org"'}, False),
        ({"tql": 'type = "incident" and confidence >= 50'}, True),
        ({"tql": "confidence > 90"}, False),
        ({"indicator_tql": 'name = "bad.com"'}, True),
        ({"indicator_tql": "confidence >= 50"}, False),  # the indicator's confidence is 30
        ({"indicator_tql": 'name = "bad.com" and confidence < 50'}, True),
        ({"min_severity": "medium"}, True),
        ({"min_severity": "high"}, True),
        ({"min_severity": "critical"}, False),
    ],
)
def test_incident_filters(story, incident, make_automation, fields, expected):
    automation = make_automation(**fields)
    incident("i1", WHEN, severity="high", confidence=80)
    dispatch()
    assert opened(automation) is expected
    assert Case.objects.count() == int(expected)


def test_the_event_kind_selects_the_automations(story, sight, make_automation):
    on_incident = make_automation()
    on_sighting = make_automation(event_kind="sighting.recorded", case_name="")
    disabled = make_automation(enabled=False)
    sight(WHEN)
    dispatch()
    assert opened(on_incident) and opened(on_sighting) and not opened(disabled)
    assert Case.objects.count() == 2


@pytest.mark.parametrize(
    ("tql", "expected"),
    [("count >= 1 and falsePositive = false", True), ("count > 1", False)],
)
def test_sighting_tql_uses_the_sighting_keywords(story, sight, make_automation, tql, expected):
    automation = make_automation(event_kind="sighting.recorded", case_name="", tql=tql)
    sight(WHEN)
    dispatch()
    assert opened(automation) is expected


def test_a_sighting_severity_comes_from_the_indicator_confidence(story, sight, make_automation):
    low_enough = make_automation(event_kind="sighting.recorded", case_name="", min_severity="low")
    too_high = make_automation(event_kind="sighting.recorded", case_name="", min_severity="medium")
    sight(WHEN)
    dispatch()
    assert opened(low_enough) and not opened(too_high)
    assert Case.objects.get().severity == "Low"


def test_an_incident_without_severity_fails_a_minimum(story, incident, make_automation):
    any_severity = make_automation()
    with_minimum = make_automation(min_severity="low")
    incident("i1", WHEN, severity="unknown-word")
    dispatch()
    assert opened(any_severity) and not opened(with_minimum)
    assert Case.objects.get().severity == "Low"  # no mapping and no fixed value: Low


def test_an_incident_deleted_before_dispatch_is_ignored(story, incident, make_automation):
    automation = make_automation()
    incident("i1", WHEN).delete()
    dispatch()
    assert not opened(automation)
