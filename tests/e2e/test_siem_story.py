"""The story that opens OpenCTI's case-management guide, end to end on PostgreSQL, Redis and
a real Celery worker: a SIEM fed with our indicators sights "bad.com" on "SIEM perimeter A" and
posts it to us; a sighting is recorded; the sighting_incident rule raises an Incident; the
on-duty analyst gets an email (a real SMTP server on loopback) and a Teams message and a signed
webhook (a loopback HTTP receiver); a case opens from a template with the indicator's context,
priority High and severity Low, assigned to a colleague, with a task to verify whether anyone
actually interacted with bad.com."""

import json
import time
from email import message_from_bytes

import pytest
import requests
from aiosmtpd.controller import Controller
from standardwebhooks.webhooks import Webhook

from cases.models import Case
from cti.events.models import Event
from cti.ingest.models import WebhookSource
from cti.ingest.services import ensure_source_system
from cti.intel.models import Sighting, StixObject
from cti.intel.services import import_objects
from cti.notify.models import Delivery, Notifier, Trigger
from cti.security.choices import SystemRoleChoices
from cti.security.services import api_user_create, default_owner
from rules import services as rule_services
from rules.definitions import RULES
from rules.models import RuleState, RuleStatus
from tests.rules_manager.conftest import Http, free_port, test_database_url, wait_for

pytestmark = pytest.mark.live

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
T0 = "2026-11-01T00:00:00.000Z"


def _stix(stix_type: str, n: int, **props) -> dict:
    return {
        "type": stix_type,
        "spec_version": "2.1",
        "id": f"{stix_type}--00000000-0000-4000-8000-{n:012d}",
        "created": T0,
        "modified": T0,
        **props,
    }


def intelligence() -> dict[str, dict]:
    """The indicator's context: a phishing campaign targeting the finance sector."""
    domain = {"type": "domain-name", "spec_version": "2.1", "value": "bad.com"}
    from cti.intel.ids import observable_id

    domain["id"] = observable_id("domain-name", domain)
    objs = {
        "domain": domain,
        "indicator": _stix(
            "indicator",
            1,
            name="bad.com",
            pattern="[domain-name:value = 'bad.com']",
            pattern_type="stix",
            valid_from=T0,
            confidence=30,
        ),
        "campaign": _stix("campaign", 2, name="Phishing campaign"),
        "sector": _stix("identity", 3, name="Finance", identity_class="class"),
    }
    rels = [
        ("based-on", "indicator", "domain", 4),
        ("indicates", "indicator", "campaign", 5),
        ("targets", "campaign", "sector", 6),
    ]
    for rel_type, source, target, n in rels:
        objs[f"{source}-{rel_type}"] = _stix(
            "relationship",
            n,
            relationship_type=rel_type,
            source_ref=objs[source]["id"],
            target_ref=objs[target]["id"],
        )
    return objs


class Mailbox:
    def __init__(self) -> None:
        self.messages: list = []

    async def handle_DATA(self, server, session, envelope) -> str:
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"


@pytest.fixture
def smtp():
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    mailbox.port = controller.port
    yield mailbox
    controller.stop()


def activate_all_rules() -> None:
    rule_services.rule_states()
    RuleState.objects.update(active=True, status=RuleStatus.ACTIVATING)
    rule_services.run_activation(RULES[0].id)
    assert set(RuleState.objects.values_list("status", flat=True)) == {RuleStatus.ACTIVE}


@pytest.mark.django_db(transaction=True)
def test_siem_alert_to_assigned_case(
    postgres_only, live_server, redis_broker, processes, smtp, http_receiver
):
    on_duty = api_user_create("on-duty", role=SystemRoleChoices.ANALYST)
    on_duty.user.email = "on-duty@example.com"
    on_duty.user.save(update_fields=["email"])
    colleague = api_user_create("colleague", role=SystemRoleChoices.ANALYST).user

    intel = intelligence()
    assert not import_objects(list(intel.values())).rejected
    activate_all_rules()

    source = WebhookSource.objects.create(
        name="Splunk perimeter",
        slug="splunk-a",
        kind="splunk",
        system_name="SIEM perimeter A",
        auth_mode="token",
    )
    ensure_source_system(source)
    from cases.models import WorkflowTemplate

    template = WorkflowTemplate.objects.create(
        name="Phishing response",
        owner=default_owner(),
        config_task=[{"name": "Block the domain at the proxy", "workflowPhase": 1}],
    )
    admin = Http(
        live_server.url,
        api_user_create("admin", role=SystemRoleChoices.ADMINISTRATOR, superuser=True).token,
    )
    response = admin.post(
        "/api/v3/caseAutomations",
        {
            "name": "Incidents to cases",
            "eventKind": "incident.created",
            "workflowTemplate": {"id": template.pk},
            "caseName": "{incident.name}",
            "severity": "Low",
            "priority": "High",
            "assignee": {"type": "User", "data": {"userName": colleague.username}},
            "tasks": [{"name": "Verify whether anyone interacted with bad.com"}],
            "contextDepth": 2,
        },
    )
    assert response.status_code == 201, response.text
    mail = Notifier.objects.create(name="mail", kind="email")
    teams = Notifier.objects.create(name="teams", kind="teams", url=http_receiver.url + "/teams")
    hook = Notifier.objects.create(
        name="soar", kind="webhook", url=http_receiver.url + "/soar", secret=SECRET
    )
    trigger = Trigger.objects.create(
        user=on_duty.user, name="new incidents", events=["incident.created"]
    )
    trigger.notifiers.set([mail, teams, hook])

    env = processes.env(
        DATABASE_URL=test_database_url(),
        CELERY_BROKER_URL=redis_broker,
        EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=str(smtp.port),
        CTI_BASE_URL="https://cti.example.com",
    )
    worker = processes.worker(env)

    alert = {
        "result": {"threat_match_value": "bad.com", "src": "10.1.2.3", "count": "3"},
        "sid": "scheduler_admin_search_W2_at_1700000000_42",
        "results_link": "http://splunk.example:8000/app/search/@go?sid=42",
        "search_name": "Threat intel match",
        "owner": "admin",
        "app": "search",
    }
    posted = time.monotonic()
    response = requests.post(
        f"{live_server.url}/api/v3/webhooks/{source.slug}",
        params={"token": source.secret},
        json=alert,
        timeout=30,
    )
    assert response.status_code in (200, 201), response.text
    assert response.json()["status"] == "Success", response.text

    indicator = StixObject.objects.get(stix_id=intel["indicator"]["id"])
    system = StixObject.objects.get(pk=source.system_id)
    sighting = Sighting.objects.get(sighting_of=indicator, where_sighted=system)
    assert sighting.count == 3

    def the_case():
        return Case.objects.filter(assignee_user=colleague).first()

    case = wait_for(the_case, 60, "the automation to open a case")
    wait_for(lambda: len(smtp.messages) == 1, 60, "the email")
    wait_for(lambda: len(http_receiver.requests) == 2, 60, "the Teams message and the webhook")
    wait_for(
        lambda: not Event.objects.filter(processed__isnull=True).exists(), 30, "events to drain"
    )
    elapsed = time.monotonic() - posted

    incident = StixObject.objects.get(type="incident")
    assert incident.inferred and incident.properties["severity"] == "low"
    assert incident.name == "Sighting on valid indicator bad.com"

    # the case: template, context, assignee, priority, severity, task
    assert case.name == incident.name
    assert (case.severity, case.priority) == ("Low", "P2")
    assert case.workflow_template == template
    tasks = set(case.tasks.values_list("name", flat=True))
    assert tasks == {
        "Block the domain at the proxy",
        "Verify whether anyone interacted with bad.com",
    }
    members = set(
        StixObject.objects.filter(refs_in__container=case.node).values_list("stix_id", flat=True)
    )
    for key in ("indicator", "domain", "campaign", "sector"):
        assert intel[key]["id"] in members, key
    assert {incident.stix_id, system.stix_id} <= members

    # the notifications
    email = smtp.messages[0]
    assert email["To"] == "on-duty@example.com"
    assert "Incident created" in email["Subject"] and "bad.com" in email["Subject"]
    by_path = {r.path: r for r in http_receiver.requests}
    card = by_path["/hook/teams"].json["attachments"][0]
    assert card["contentType"] == "application/vnd.microsoft.card.adaptive"
    assert "bad.com" in json.dumps(card["content"])
    soar = by_path["/hook/soar"]
    Webhook(SECRET).verify(soar.body, soar.headers)  # raises when the signature is wrong
    assert soar.json["type"] == "incident.created"
    assert soar.json["data"]["object"] == {"type": "incident", "id": incident.pk}
    assert set(Delivery.objects.values_list("status", flat=True)) == {"sent"}

    assert worker.poll() is None and "Traceback" not in processes.log(worker)
    print(f"alert to case and notifications in {elapsed:.2f} s")
