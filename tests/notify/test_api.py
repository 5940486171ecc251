"""/api/v3/notifications/{triggers,notifiers,deliveries}: envelope, validation, permissions."""

import pytest

from cti.events.choices import EventKind
from cti.notify.models import Delivery, Notifier, Trigger
from cti.security.choices import SystemRoleChoices
from cti.security.services import api_user_create
from tests.conftest import V3Client

pytestmark = pytest.mark.django_db

TRIGGERS = "/api/v3/notifications/triggers"
NOTIFIERS = "/api/v3/notifications/notifiers"
DELIVERIES = "/api/v3/notifications/deliveries"


@pytest.fixture
def other_api(db) -> V3Client:
    return V3Client(api_user_create("other", role=SystemRoleChoices.ANALYST).token)


@pytest.fixture
def notifier(make_notifier) -> Notifier:
    return make_notifier("slack", url="https://hooks.slack.example/T/B/x", name="SOC Slack")


def create_trigger(client, notifier, **fields):
    body = {
        "name": "Mine",
        "events": ["case.assigned"],
        "assignedToMe": True,
        "notifiers": [notifier.pk],
        **fields,
    }
    return client.post_json(TRIGGERS, body)


def test_create_list_update_delete_own_trigger(api, analyst, notifier):
    response = create_trigger(api, notifier, tql='severity = "High"')
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "Success" and body["message"] == "Created"
    data = body["data"]
    assert data["user"] == {"id": analyst.pk, "userName": analyst.username}
    assert data["events"] == ["case.assigned"] and data["assignedToMe"] is True
    assert data["notifiers"] == [{"id": notifier.pk, "name": "SOC Slack", "kind": "slack"}]
    assert data["tql"] == 'severity = "High"'

    listed = api.get(TRIGGERS, {"count": "true"}).json()
    assert listed["status"] == "Success" and listed["count"] == 1
    assert [t["id"] for t in listed["data"]] == [data["id"]]

    updated = api.put_json(f"{TRIGGERS}/{data['id']}", {"enabled": False, "tql": ""})
    assert updated.status_code == 200, updated.json()
    assert updated.json()["data"]["enabled"] is False
    assert updated.json()["data"]["events"] == ["case.assigned"]  # untouched

    assert api.delete(f"{TRIGGERS}/{data['id']}").status_code == 200
    assert not Trigger.objects.exists()


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"tql": "severity = = 1"}, "Invalid TQL for cases"),
        ({"tql": "nosuchkeyword = 1"}, "Invalid TQL for cases"),
        (
            {"events": ["incident.created"], "assignedToMe": False, "tql": "severity = 1"},
            "Invalid TQL for intelObjects",
        ),
        (
            {"events": ["case.created", "task.assigned"], "tql": "caseId = 1"},
            "Invalid TQL for cases",
        ),
        ({"events": []}, "events"),
        ({"events": ["case.deleted"]}, "events"),
        ({"events": ["incident.created"]}, "assignedToMe applies to case and task"),
        (
            {"events": ["object.inferred"], "assignedToMe": False, "rules": ["nope"]},
            "Unknown rule ids: nope",
        ),
        ({"notifiers": [99999]}, "Unknown notifier ids"),
        ({"name": ""}, "name"),
    ],
)
def test_invalid_trigger_is_a_400(api, notifier, fields, message):
    response = create_trigger(api, notifier, **fields)
    assert response.status_code == 400, response.json()
    assert response.json()["status"] == "Error"
    assert message in response.json()["message"]
    assert not Trigger.objects.exists()


def test_invalid_tql_on_update_is_a_400_and_changes_nothing(api, notifier):
    trigger = create_trigger(api, notifier, tql='severity = "High"').json()["data"]
    response = api.put_json(f"{TRIGGERS}/{trigger['id']}", {"tql": "severity ="})
    assert response.status_code == 400
    assert Trigger.objects.get().tql == 'severity = "High"'


def test_valid_tql_for_every_kind(api, notifier):
    response = create_trigger(
        api,
        notifier,
        events=["incident.created", "object.inferred"],
        assignedToMe=False,
        tql='name CONTAINS "x" and rule = "sighting_incident"',
        objectTypes=["incident"],
        rules=["sighting_incident"],
    )
    assert response.status_code == 201, response.json()
    response = create_trigger(api, notifier, events=["task.assigned"], tql="caseId = 1")
    assert response.status_code == 201, response.json()


def test_users_only_see_their_own_triggers_admins_all(api, other_api, admin_api, notifier):
    mine = create_trigger(api, notifier).json()["data"]
    theirs = create_trigger(other_api, notifier).json()["data"]

    assert [t["id"] for t in api.get(TRIGGERS).json()["data"]] == [mine["id"]]
    assert api.get(f"{TRIGGERS}/{theirs['id']}").status_code == 404
    assert api.put_json(f"{TRIGGERS}/{theirs['id']}", {"enabled": False}).status_code == 404
    assert api.delete(f"{TRIGGERS}/{theirs['id']}").status_code == 404
    assert Trigger.objects.get(pk=theirs["id"]).enabled

    ids = sorted(t["id"] for t in admin_api.get(TRIGGERS).json()["data"])
    assert ids == sorted([mine["id"], theirs["id"]])
    assert admin_api.put_json(f"{TRIGGERS}/{theirs['id']}", {"enabled": False}).status_code == 200


def test_anonymous_is_refused(anon_api):
    for path in (TRIGGERS, NOTIFIERS, DELIVERIES):
        response = anon_api.get(path)
        assert response.status_code == 401
        assert response.json()["status"] == "Error"


def test_notifiers_admin_writes_others_read_without_secrets(api, admin_api):
    body = {"name": "Hook", "kind": "webhook", "url": "https://example.com/hook"}
    assert api.post_json(NOTIFIERS, body).status_code == 403

    created = admin_api.post_json(NOTIFIERS, body)
    assert created.status_code == 201, created.json()
    data = created.json()["data"]
    assert data["secret"].startswith("whsec_")  # generated, shown to administrators
    assert data["url"] == "https://example.com/hook"

    seen = api.get(f"{NOTIFIERS}/{data['id']}").json()["data"]
    assert seen == {
        "id": data["id"],
        "name": "Hook",
        "kind": "webhook",
        "enabled": True,
        "created": data["created"],
    }
    assert [n["id"] for n in api.get(NOTIFIERS).json()["data"]] == [data["id"]]
    assert api.put_json(f"{NOTIFIERS}/{data['id']}", {"enabled": False}).status_code == 403
    assert api.delete(f"{NOTIFIERS}/{data['id']}").status_code == 403

    updated = admin_api.put_json(f"{NOTIFIERS}/{data['id']}", {"enabled": False})
    assert updated.status_code == 200 and updated.json()["data"]["enabled"] is False
    assert updated.json()["data"]["secret"] == data["secret"]  # kept
    assert admin_api.delete(f"{NOTIFIERS}/{data['id']}").status_code == 200
    assert not Notifier.objects.exists()


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ({"name": "S", "kind": "slack"}, 400, "needs a url"),
        ({"name": "S", "kind": "fax", "url": "https://x.example"}, 400, "kind"),
        ({"name": "S", "kind": "slack", "url": "ftp://x.example/a"}, 400, "url"),
        (
            {"name": "S", "kind": "webhook", "url": "https://x.example", "secret": "whsec_%%"},
            400,
            "secret",
        ),
        ({"name": "S", "kind": "email", "recipients": ["not an address"]}, 400, "recipients"),
        ({"name": "SOC Slack", "kind": "slack", "url": "https://x.example"}, 409, "exists"),
    ],
)
def test_invalid_notifier(admin_api, notifier, body, status, message):
    response = admin_api.post_json(NOTIFIERS, body)
    assert response.status_code == status, response.json()
    assert message in response.json()["message"]


def test_deliveries_are_read_only_and_scoped(
    api, other_api, admin_api, analyst, make_trigger, make_case, dispatch, notifier
):
    mine = make_trigger([EventKind.CASE_CREATED], notifiers=[notifier])
    other_user = api_user_create("other", role=SystemRoleChoices.ANALYST).user
    theirs = make_trigger([EventKind.CASE_CREATED], user=other_user, notifiers=[notifier])
    case = make_case(name="Seen")
    dispatch()

    data = api.get(DELIVERIES, {"count": "true"}).json()
    assert data["count"] == 1
    [row] = data["data"]
    assert row["trigger"] == {"id": mine.pk, "name": "t"}
    assert row["notifier"] == {"id": notifier.pk, "name": "SOC Slack", "kind": "slack"}
    assert row["event"]["kind"] == "case.created" and row["event"]["objectId"] == case["id"]
    assert row["status"] == "pending" and row["attempts"] == 0
    assert row["payload"]["text"].startswith("Case created: Seen")

    other_row = Delivery.objects.get(trigger=theirs)
    assert api.get(f"{DELIVERIES}/{other_row.pk}").status_code == 404
    assert other_api.get(f"{DELIVERIES}/{other_row.pk}").status_code == 200
    assert len(admin_api.get(DELIVERIES).json()["data"]) == 2
    assert len(admin_api.get(DELIVERIES, {"trigger": theirs.pk}).json()["data"]) == 1
    assert admin_api.get(DELIVERIES, {"status": "sent"}).json()["data"] == []
    assert admin_api.get(DELIVERIES, {"status": "bogus"}).status_code == 400

    assert api.post_json(DELIVERIES, {}).status_code == 405
    assert api.put_json(f"{DELIVERIES}/{row['id']}", {}).status_code == 405
    assert api.delete(f"{DELIVERIES}/{row['id']}").status_code == 405


def test_read_only_user_may_subscribe(notifier):
    reader = V3Client(api_user_create("reader", role=SystemRoleChoices.READ_ONLY).token)
    assert create_trigger(reader, notifier).status_code == 201
