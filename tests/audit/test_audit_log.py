"""Every write of an audited object leaves one entry: who, when, which object, before/after;
secrets never appear; administrators query it at /api/v3/auditLog."""

import json
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from cases.models import Tag
from cti.audit.context import audit_context
from cti.audit.models import AuditEntry
from cti.ingest.models import WebhookSource
from cti.notify.models import Notifier
from cti.security.choices import SystemRoleChoices
from cti.security.models import ApiCredential, Owner, User
from cti.security.services import api_user_create
from tests.conftest import V3Client

pytestmark = pytest.mark.django_db

LOG = "/api/v3/auditLog"
OBJECTS = "/api/v3/intel/objects"


def entries(model: str, object_id=None, action=None) -> list[AuditEntry]:
    app, name = model.split(".")
    qs = AuditEntry.objects.filter(content_type__app_label=app, content_type__model=name)
    if object_id is not None:
        qs = qs.filter(object_id=str(object_id))
    if action:
        qs = qs.filter(action=action)
    return list(qs.order_by("pk"))


def test_api_create_update_delete_record_actor_credential_request_and_changes(
    api, analyst_credential
):
    response = api.post_json(
        "/api/v3/cases",
        {"name": "Phish", "severity": "Low", "status": "Open"},
        HTTP_X_REQUEST_ID="req-123",
    )
    assert response.status_code == 201, response.json()
    case_id = response.json()["data"]["id"]
    [created] = entries("cases.case", case_id)
    assert created.action == "create"
    assert created.actor_id == analyst_credential.user.pk
    assert created.actor_name == "analyst@example.com"
    assert created.access_id == analyst_credential.access_id
    assert created.request_id == "req-123"
    assert created.source == "api"
    assert created.endpoint == "POST /api/v3/cases"
    assert created.before is None
    assert created.after["name"] == "Phish" and created.after["severity"] == "Low"
    assert created.object_repr

    assert api.put_json(f"/api/v3/cases/{case_id}", {"severity": "High"}).status_code == 200
    update = entries("cases.case", case_id, "update")[-1]
    assert update.before == {"severity": "Low"}
    assert update.after == {"severity": "High"}

    assert api.delete(f"/api/v3/cases/{case_id}").status_code == 200
    [deleted] = entries("cases.case", case_id, "delete")
    assert deleted.before["name"] == "Phish" and deleted.before["severity"] == "High"
    assert deleted.after is None


def test_an_update_that_changes_nothing_leaves_no_entry(api, make_case):
    case = make_case(name="Same")
    before = AuditEntry.objects.count()
    assert api.put_json(f"/api/v3/cases/{case['id']}", {"name": "Same"}).status_code == 200
    assert not entries("cases.case", case["id"], "update")
    assert AuditEntry.objects.count() == before


def test_many_to_many_changes_are_recorded(api, make_case):
    case = make_case(name="Tagged")
    response = api.put_json(f"/api/v3/cases/{case['id']}", {"tags": {"data": [{"name": "apt"}]}})
    assert response.status_code == 200, response.json()
    tag = Tag.objects.get(name="apt")
    change = [e for e in entries("cases.case", case["id"], "update") if "tags" in e.after]
    assert change and change[-1].before == {"tags": []} and change[-1].after == {"tags": [tag.pk]}


def test_bulk_delete_by_tql_records_every_object(api, make_case):
    ids = [make_case(name=f"bulk {i}")["id"] for i in range(3)]
    response = api.generic("DELETE", '/api/v3/cases?tql=name startswith "bulk"')
    assert response.status_code == 200, response.json()
    assert {int(e.object_id) for e in AuditEntry.objects.filter(action="delete")} >= set(ids)


def test_a_rolled_back_write_leaves_no_entry():
    with pytest.raises(RuntimeError), transaction.atomic():
        Owner.objects.create(name="gone")
        assert AuditEntry.objects.filter(object_repr="gone").exists()
        raise RuntimeError
    assert not AuditEntry.objects.filter(object_repr="gone").exists()


def test_system_writes_have_no_user_and_commands_name_themselves():
    Owner.objects.create(name="by-system")
    with audit_context(source="command:test"):
        Owner.objects.create(name="by-command")
    system, command = entries("security.owner")
    assert system.actor_id is None and system.source == "system"
    assert command.actor_id is None and command.source == "command:test"


# ---- secrets -------------------------------------------------------------------------------


def _all_logged_text() -> str:
    return json.dumps(list(AuditEntry.objects.values("before", "after", "state")), default=str)


def test_secrets_are_never_stored():
    issued = api_user_create("bot", role=SystemRoleChoices.PLAYBOOK, password="Hunter2-secret!")
    user = User.objects.get(username="bot")
    credential = ApiCredential.objects.get(access_id=issued.access_id)
    source = WebhookSource.objects.create(name="Splunk", slug="splunk", system_name="SIEM")
    notifier = Notifier.objects.create(
        name="Teams",
        kind="teams",
        url="https://example.webhook.office.com/webhookb2/abc-SECRETPATH",
        secret="whsec_c2VjcmV0c2VjcmV0",
    )
    source.secret = "whsec_rotatedrotated"
    source.save()
    text = _all_logged_text()
    for secret in (
        issued.secret_key,
        issued.token,
        credential.token_digest,
        user.password,
        source.secret,
        notifier.secret,
        "SECRETPATH",
        "Hunter2-secret!",
    ):
        assert secret not in text
    [created] = entries("security.apicredential", credential.pk, "create")
    assert created.after["secret_key"] == "[redacted]"
    assert created.after["token_digest"] == "[redacted]"
    assert created.after["access_id"] == issued.access_id
    [update] = entries("ingest.webhooksource", source.pk, "update")
    assert update.before == {"secret": "[redacted]"} and update.after == {"secret": "[redacted]"}
    [teams] = entries("notifications.notifier", notifier.pk, "create")
    assert teams.after["url"] == "https://example.webhook.office.com/[redacted]"


# ---- graph, rules, admin -------------------------------------------------------------------


def test_intel_objects_written_in_bulk_are_audited_with_before_and_after(api, analyst_credential):
    body = {"type": "malware", "name": "AuditRAT", "is_family": True, "description": "first"}
    response = api.post_json(OBJECTS, body)
    assert response.status_code == 201, response.json()
    stix_id = response.json()["data"]["id"]
    [created] = [e for e in entries("intel.stixobject") if e.after["stix_id"] == stix_id]
    assert created.action == "create" and created.actor_name == "analyst@example.com"
    assert created.after["properties"]["description"] == "first"
    node = created.object_id

    response = api.put_json(f"{OBJECTS}/{stix_id}", {"description": "second"})
    assert response.status_code == 200, response.json()
    [update] = entries("intel.stixobject", node, "update")
    assert update.before["properties"]["description"] == "first"
    assert update.after["properties"]["description"] == "second"
    assert "name" not in update.after

    assert api.delete(f"{OBJECTS}/{stix_id}").status_code == 200
    [deleted] = entries("intel.stixobject", node, "delete")
    assert deleted.before["properties"]["description"] == "second"


def test_rule_activation_is_audited(admin_api, admin_credential):
    response = admin_api.put_json("/api/v3/rules/part_part", {"active": True})
    assert response.status_code == 200, response.json()
    [entry] = entries("rules.rulestate", "part_part", "update")
    assert entry.before == {"active": False} and entry.after == {"active": True}
    assert entry.actor_id == admin_credential.user.pk


def test_django_admin_writes_are_audited(client, admin_credential):
    client.force_login(admin_credential.user)
    response = client.post(
        "/admin/security/owner/add/",
        {"name": "from-admin", "type": "Organization", "_save": "Save"},
    )
    assert response.status_code == 302, response.content[:2000]
    owner = Owner.objects.get(name="from-admin")
    [entry] = entries("security.owner", owner.pk, "create")
    assert entry.after["name"] == "from-admin"
    assert entry.source == "admin" and entry.actor_name == "admin"
    response = client.post(
        "/admin/security/owner/",
        {"action": "delete_selected", "_selected_action": [owner.pk], "post": "yes"},
    )
    assert response.status_code == 302
    assert entries("security.owner", owner.pk, "delete")[0].source == "admin"


def test_admin_shows_the_log_read_only(client, admin_credential):
    Owner.objects.create(name="x")
    entry = AuditEntry.objects.latest("pk")
    client.force_login(admin_credential.user)
    assert client.get("/admin/audit/auditentry/").status_code == 200
    assert client.get(f"/admin/audit/auditentry/{entry.pk}/change/").status_code == 200
    assert client.get("/admin/audit/auditentry/add/").status_code == 403
    client.post(f"/admin/audit/auditentry/{entry.pk}/delete/", {"post": "yes"})
    assert AuditEntry.objects.filter(pk=entry.pk).exists()


# ---- the API -------------------------------------------------------------------------------


@pytest.fixture
def history(api, admin_api, make_case):
    first = make_case(name="one")
    second = make_case(name="two")
    api.put_json(f"/api/v3/cases/{first['id']}", {"severity": "High"})
    admin_api.post_json("/api/v3/tags", {"name": "admin-tag"})
    return first, second


def _data(response) -> list[dict]:
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["status"] == "Success"
    return body["data"]


def test_the_log_is_for_administrators(api, anon_api, readonly_credential):
    assert anon_api.get(LOG).status_code == 401
    assert anon_api.get(LOG).json()["status"] == "Error"
    assert api.get(LOG).status_code == 403
    assert V3Client(readonly_credential.token).get(LOG).status_code == 403
    assert api.get(f"{LOG}/1").status_code == 403


def test_list_filters_and_paging(admin_api, history):
    first, _ = history
    rows = _data(admin_api.get(LOG))
    assert rows[0]["id"] > rows[-1]["id"]  # newest first
    assert {"date", "action", "objectType", "objectId", "user", "summary"} <= rows[0].keys()

    mine = _data(admin_api.get(LOG, {"user": "analyst@example.com"}))
    assert mine and all(r["user"]["userName"] == "analyst@example.com" for r in mine)
    assert all(r["accessId"] for r in mine)

    case_rows = _data(admin_api.get(LOG, {"objectType": "cases.case", "objectId": first["id"]}))
    assert [r["action"] for r in case_rows] == ["update", "create"]
    assert case_rows[0]["before"] == {"severity": "Low"}

    updates = _data(admin_api.get(LOG, {"action": "update", "objectType": "case"}))
    assert len(updates) == 1
    tags = _data(admin_api.get(LOG, {"objectType": "cases.tag"}))
    assert [r["user"]["userName"] for r in tags] == ["admin"]

    page = admin_api.get(LOG, {"resultLimit": 1, "count": "true"}).json()
    assert len(page["data"]) == 1 and page["count"] == AuditEntry.objects.count()
    assert "next" in page

    one = _data(admin_api.get(f"{LOG}/{case_rows[0]['id']}"))
    assert one["after"] == {"severity": "High"}


def test_date_range_and_tql(admin_api, history):
    now = timezone.now()
    AuditEntry.objects.filter(object_repr__startswith="one").update(
        timestamp=now - timedelta(days=10)
    )
    recent = _data(admin_api.get(LOG, {"since": (now - timedelta(days=1)).date().isoformat()}))
    assert recent and all(not r["summary"].startswith("one") for r in recent)
    old = _data(admin_api.get(LOG, {"until": (now - timedelta(days=5)).isoformat()}))
    assert old and all(r["summary"].startswith("one") for r in old)

    tql = _data(admin_api.get(LOG, {"tql": 'action = "update" and objectType = "cases.case"'}))
    assert len(tql) == 1
    assert _data(admin_api.get(LOG, {"tql": "user = me"})) == _data(
        admin_api.get(LOG, {"user": "admin"})
    )


@pytest.mark.parametrize(
    "params",
    [
        {"since": "yesterday"},
        {"until": "2024-13-45"},
        {"action": "rename"},
        {"tql": "nope = 1"},
        {"resultLimit": "0"},
    ],
)
def test_bad_filters_are_400_in_the_envelope(admin_api, params):
    response = admin_api.get(LOG, params)
    assert response.status_code == 400
    assert response.json()["status"] == "Error"


def test_the_log_cannot_be_written(admin_api, history):
    entry = AuditEntry.objects.latest("pk")
    for response in (
        admin_api.post_json(LOG, {"action": "create"}),
        admin_api.put_json(f"{LOG}/{entry.pk}", {"action": "delete"}),
        admin_api.delete(f"{LOG}/{entry.pk}"),
        admin_api.generic("DELETE", f"{LOG}?tql=id > 0"),
    ):
        assert response.status_code == 405, response.content
        assert response.json()["status"] == "Error"
    assert AuditEntry.objects.filter(pk=entry.pk).exists()
