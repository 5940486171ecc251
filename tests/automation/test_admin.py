"""The Django admin lists automations and what they did, and refuses invalid automations
with the API's checks."""

import pytest
from django.test import Client

from cti.automation.models import AutomationRun, CaseAutomation
from tests.automation.conftest import dispatch

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client_(admin_credential) -> Client:
    client = Client()
    client.force_login(admin_credential.user)
    return client


def form(**fields) -> dict:
    return {
        "name": "from admin",
        "description": "",
        "enabled": "on",
        "event_kind": "incident.created",
        "tql": "",
        "indicator_tql": "",
        "min_severity": "",
        "case_name": "",
        "case_description": "",
        "severity": "",
        "severity_map": "{}",
        "priority": "High",
        "priority_map": "{}",
        "tasks": "[]",
        "context_depth": "1",
        "grouping_days": "7",
        **fields,
    }


def test_an_admin_adds_an_automation_normalised(admin_client_):
    response = admin_client_.post("/admin/automation/caseautomation/add/", form())
    assert response.status_code == 302, response.content.decode()[:2000]
    automation = CaseAutomation.objects.get()
    assert (automation.priority, automation.case_name) == ("P2", "{incident.name}")
    assert automation.created_by.username == "admin"


def test_the_admin_refuses_invalid_tql(admin_client_):
    response = admin_client_.post(
        "/admin/automation/caseautomation/add/", form(tql='nosuchkeyword = "x"')
    )
    assert response.status_code == 200
    assert "unknown keyword" in response.content.decode()
    assert not CaseAutomation.objects.exists()


def test_runs_and_groups_are_listed(admin_client_, story, incident, make_automation):
    make_automation()
    incident("i1", "2024-03-01T10:00:00Z")
    dispatch()
    run = AutomationRun.objects.get()
    for path in ("caseautomation", "automationrun", "automationgroup"):
        assert admin_client_.get(f"/admin/automation/{path}/").status_code == 200
    assert admin_client_.get(f"/admin/automation/automationrun/{run.pk}/change/").status_code == 200
