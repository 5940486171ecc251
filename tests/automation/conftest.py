"""The issue's story as a graph: a phishing campaign indicates an indicator for bad.com (based
on the domain-name observable) and targets the finance sector; a SIEM sights the indicator on
the system "SIEM perimeter A", the sighting_incident rule raises an incident, and case
automations react to the events."""

from dataclasses import dataclass

import pytest
from django.db import transaction

from cases.models import WorkflowTemplate
from cti.automation.models import CaseAutomation
from cti.automation.services import automation_create
from cti.events.choices import EventKind
from cti.events.services import dispatch_pending, emit
from cti.intel.models import StixObject
from cti.intel.services import import_objects
from cti.security.choices import SystemRoleChoices
from cti.security.models import User, UserGroup
from cti.security.services import api_user_create, default_owner
from rules import services as rule_services
from rules.models import GraphChange, RuleState, RuleStatus
from tests.conftest import V3Client
from tests.rules.graphs import T0, domain, indicator, rel, sid, sighting


@dataclass
class Story:
    indicator: dict
    observable: dict
    campaign: dict
    sector: dict
    system: dict
    other_system: dict
    relationships: dict[str, dict]

    def node(self, obj: dict) -> StixObject:
        return StixObject.objects.get(stix_id=obj["id"])

    def pk(self, obj: dict) -> int:
        return self.node(obj).pk


def sdo(stix_type: str, key: str, **props) -> dict:
    return {"type": stix_type, "id": sid(stix_type, key), "created": T0, "modified": T0, **props}


def load(objects: list[dict]) -> None:
    result = import_objects(objects)
    assert not result.rejected, result.rejected


def drain_rules() -> None:
    """Live inference as the outbox task runs it."""
    while rule_services.process_graph_changes():
        pass
    assert not GraphChange.objects.exists()


def dispatch() -> int:
    """Run the event subscribers until nothing is due."""
    total = 0
    while True:
        done, _ = dispatch_pending()
        total += done
        if not done:
            return total


@pytest.fixture
def story(db) -> Story:
    rule_services.rule_states()
    RuleState.objects.filter(rule_id="sighting_incident").update(
        active=True, status=RuleStatus.ACTIVE
    )
    ind = indicator("bad.com", confidence=30)
    ind.update(name="bad.com", pattern="[domain-name:value = 'bad.com']")
    obs = domain("bad.com")
    campaign = sdo("campaign", "phish", name="Phishing campaign")
    sector = sdo("identity", "finance", name="Finance", identity_class="class")
    system = sdo("identity", "siem-a", name="SIEM perimeter A", identity_class="system")
    other = sdo("identity", "siem-b", name="SIEM perimeter B", identity_class="system")
    rels = {
        "based-on": rel("based-on", ind, obs),
        "indicates": rel("indicates", campaign, ind),
        "targets": rel("targets", campaign, sector),
    }
    load([ind, obs, campaign, sector, system, other, *rels.values()])
    drain_rules()
    dispatch()
    return Story(ind, obs, campaign, sector, system, other, rels)


@pytest.fixture
def sight(story):
    """Record a sighting of the indicator (the SIEM's alert), let the rules raise the incident
    and return (sighting node, incident node or None)."""

    def record(when: str, where: dict | None = None, key: str | None = None):
        where = where or story.system
        obj = sighting(story.indicator, where, key=key or f"{where['id']}|{when}")
        obj.update(first_seen=when, last_seen=when)
        mark = StixObject.objects.order_by("-pk").values_list("pk", flat=True).first()
        load([obj])
        drain_rules()
        node = StixObject.objects.filter(stix_id=obj["id"]).first()
        return node, StixObject.objects.filter(type="incident", pk__gt=mark).first()

    return record


@pytest.fixture
def incident(story):
    """An incident as the sighting_incident rule shapes it, written directly, with its
    incident.created event (for tests that need several incidents of one indicator and
    target: one sighting row holds every sighting of a pair within 30 days)."""

    def make(key: str, when: str, severity: str = "low", where: dict | None = None, **extra):
        where = where or story.system
        obj = sdo(
            "incident",
            key,
            name=f"Sighting on valid indicator bad.com ({key})",
            incident_type="alert",
            severity=severity,
            source=f"sighting in {where['name']}",
            first_seen=when,
            last_seen=when,
            **extra,
        )
        load([obj, rel("related-to", obj, story.indicator), rel("targets", obj, where)])
        node = StixObject.objects.get(stix_id=obj["id"])
        with transaction.atomic():
            emit(EventKind.INCIDENT_CREATED, object_type="incident", object_id=node.pk)
        return node

    return make


@pytest.fixture
def colleague_credential(db):
    return api_user_create("colleague", role=SystemRoleChoices.ANALYST)


@pytest.fixture
def colleague(colleague_credential) -> User:
    return colleague_credential.user


@pytest.fixture
def colleague_api(colleague_credential) -> V3Client:
    return V3Client(colleague_credential.token)


@pytest.fixture
def soc(db, colleague) -> UserGroup:
    group = UserGroup.objects.create(name="SOC tier 1")
    group.members.add(colleague)
    return group


@pytest.fixture
def template(db) -> WorkflowTemplate:
    return WorkflowTemplate.objects.create(
        name="Phishing response",
        owner=default_owner(),
        active=True,
        config_task=[
            {"name": "Triage", "description": "Look at the alert", "workflowPhase": 1},
            {
                "name": "Contain",
                "workflowPhase": 1,
                "workflowStep": 2,
                "dependentOnTaskName": "Triage",
            },
        ],
    )


@pytest.fixture
def make_automation(db, admin_credential, template, colleague):
    def make(**fields) -> CaseAutomation:
        data = {
            "name": f"automation {CaseAutomation.objects.count() + 1}",
            "event_kind": "incident.created",
            "workflow_template": template,
            "case_name": "{incident.name}",
            "priority": "High",
            "assignee_user_id": colleague.pk,
            "tasks": [
                {
                    "name": "Verify interaction",
                    "description": "Did anyone actually interact with bad.com?",
                    "assignee": {"type": "User", "data": {"userName": colleague.username}},
                }
            ],
            **fields,
        }
        return automation_create(user=admin_credential.user, data=data)

    return make
