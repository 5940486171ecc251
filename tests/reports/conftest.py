"""A real case built through the API: intel (an intrusion set using an ATT&CK technique and
attributed to a threat actor, an indicator sighted in an organisation, an opinion), the rule
`attribution_use` inferring that the threat actor uses the technique, tasks (one completed),
artifacts and notes, each step a minute apart on a fake clock."""

from dataclasses import dataclass
from unittest import mock

import pytest

from rules.models import RuleState, RuleStatus
from rules.services import rule_states, run_activation
from tests.cases.helpers import T0, Clock

CASE_NAME = "Operation Paper Cut"
IDS = {
    "intrusion-set": "intrusion-set--7a1c3f0e-0b0a-4c55-9a0e-000000000001",
    "threat-actor": "threat-actor--7a1c3f0e-0b0a-4c55-9a0e-000000000002",
    "attack-pattern": "attack-pattern--7a1c3f0e-0b0a-4c55-9a0e-000000000003",
    "indicator": "indicator--7a1c3f0e-0b0a-4c55-9a0e-000000000004",
    "identity": "identity--7a1c3f0e-0b0a-4c55-9a0e-000000000005",
    "uses": "relationship--7a1c3f0e-0b0a-4c55-9a0e-000000000006",
    "attributed": "relationship--7a1c3f0e-0b0a-4c55-9a0e-000000000007",
    "sighting": "sighting--7a1c3f0e-0b0a-4c55-9a0e-000000000008",
    "opinion": "opinion--7a1c3f0e-0b0a-4c55-9a0e-000000000009",
}
STAMP = "2029-12-01T00:00:00.000Z"
TECHNIQUE = "Spearphishing Attachment"


def _sdo(kind: str, key: str | None = None, **props) -> dict:
    return {
        "type": kind,
        "spec_version": "2.1",
        "id": IDS[key or kind],
        "created": STAMP,
        "modified": STAMP,
        **props,
    }


def intel_bundle() -> dict:
    return {
        "type": "bundle",
        "id": "bundle--7a1c3f0e-0b0a-4c55-9a0e-0000000000ff",
        "objects": [
            _sdo("intrusion-set", name="Paper Tigers"),
            _sdo("threat-actor", name="Tiger Syndicate", threat_actor_types=["crime-syndicate"]),
            _sdo(
                "attack-pattern",
                name=TECHNIQUE,
                external_references=[{"source_name": "mitre-attack", "external_id": "T1566.001"}],
            ),
            _sdo(
                "indicator",
                name="paper-cut.example",
                pattern="[domain-name:value = 'paper-cut.example']",
                pattern_type="stix",
                valid_from=STAMP,
            ),
            _sdo("identity", name="ACME Corp", identity_class="organization"),
            _sdo(
                "relationship",
                "uses",
                relationship_type="uses",
                source_ref=IDS["intrusion-set"],
                target_ref=IDS["attack-pattern"],
            ),
            _sdo(
                "relationship",
                "attributed",
                relationship_type="attributed-to",
                source_ref=IDS["intrusion-set"],
                target_ref=IDS["threat-actor"],
            ),
            _sdo(
                "sighting",
                sighting_of_ref=IDS["indicator"],
                where_sighted_refs=[IDS["identity"]],
                count=3,
            ),
            _sdo(
                "opinion",
                opinion="strongly-agree",
                explanation="Seen in the phishing wave of December",
                authors=["Tier 2"],
                object_refs=[IDS["attack-pattern"]],
            ),
        ],
    }


@dataclass
class Story:
    case: dict
    tasks: dict
    clock: Clock


@pytest.fixture
def clock():
    fake = Clock(T0)
    with mock.patch("django.utils.timezone.now", fake):
        yield fake


def activate(rule_id: str) -> None:
    rule_states()
    RuleState.objects.filter(rule_id=rule_id).update(active=True, status=RuleStatus.ACTIVATING)
    run_activation(rule_id)


@pytest.fixture
def build_case(api, analyst_credential, clock):
    """Build a case; `intel=False` leaves the graph out, `extra` adds indicator members."""

    def build(name: str = CASE_NAME, *, intel: bool = True, extra: int = 0) -> Story:
        if intel:
            response = api.post_json("/api/v3/intel/bundles", intel_bundle())
            assert response.status_code == 200, response.json()
            assert response.json()["data"]["rejected"] == []
        extra_objects = [
            {
                "type": "indicator",
                "id": f"indicator--7a1c3f0e-0b0a-4c55-9a0e-a{n + 1:011d}",
                "name": f"extra {n}",
                "pattern": f"[ipv4-addr:value = '10.1.{n // 250}.{n % 250}']",
                "pattern_type": "stix",
                "valid_from": STAMP,
            }
            for n in range(extra)
        ]
        members = (
            [
                {"id": IDS[k]}
                for k in (
                    "intrusion-set",
                    "threat-actor",
                    "attack-pattern",
                    "indicator",
                    "identity",
                )
            ]
            if intel
            else []
        )
        clock.advance(minutes=1)
        response = api.post_json(
            "/api/v3/cases",
            {
                "name": name,
                "description": "Spearphishing with weaponised invoices.",
                "severity": "High",
                "status": "Open",
                "priority": "P2",
                "caseType": "Incident Response",
                "assignee": {"type": "User", "data": {"userName": "analyst@example.com"}},
                "tags": {"data": [{"name": "T1059 - Command and Scripting Interpreter"}]},
                "intelObjects": {"data": members + extra_objects},
            },
        )
        assert response.status_code == 201, response.json()
        case = response.json()["data"]
        tasks = {}
        for task_name in ("Triage the mailbox", "Block the sender"):
            clock.advance(minutes=1)
            response = api.post_json(
                "/api/v3/tasks", {"caseId": case["id"], "name": task_name, "status": "Open"}
            )
            assert response.status_code == 201, response.json()
            tasks[task_name] = response.json()["data"]
        clock.advance(minutes=1)
        response = api.post_json(
            "/api/v3/artifacts",
            {"caseId": case["id"], "summary": "paper-cut.example", "type": "Host"},
        )
        assert response.status_code == 201, response.json()
        clock.advance(minutes=1)
        response = api.post_json(
            "/api/v3/artifacts",
            {"caseId": case["id"], "summary": "Invoice 4711 overdue", "type": "Email Subject"},
        )
        assert response.status_code == 201, response.json()
        clock.advance(minutes=1)
        response = api.put_json(
            f"/api/v3/tasks/{tasks['Triage the mailbox']['id']}", {"status": "Closed"}
        )
        assert response.status_code == 200, response.json()
        clock.advance(minutes=1)
        response = api.post_json(
            "/api/v3/notes",
            {"caseId": case["id"], "text": '=HYPERLINK("x") user clicked the invoice link'},
        )
        assert response.status_code == 201, response.json()
        return Story(case=case, tasks=tasks, clock=clock)

    return build


@pytest.fixture
def story(build_case) -> Story:
    story = build_case()
    activate("attribution_use")
    return story
