"""Graph writes are bulk writes: they are audited from the graph's own announcements."""

import json

import pytest

from cti.audit.models import AuditEntry
from cti.ingest.models import WebhookSource
from cti.intel.models import ObjectRef, Sighting
from tests.ingest.conftest import signed_headers

pytestmark = pytest.mark.django_db

ITEM = {
    "observableType": "ipv4-addr",
    "observableValue": "203.0.113.7",
    "system": "Splunk prod",
    "firstSeen": "2024-05-01T10:00:00Z",
    "lastSeen": "2024-05-01T11:00:00Z",
}


def graph_entries(model: str = "stixobject", **filters):
    return AuditEntry.objects.filter(
        content_type__app_label="intel", content_type__model=model, **filters
    ).order_by("pk")


def test_ingested_sightings_are_audited_with_the_poster(api, analyst_credential):
    response = api.post_json("/api/v3/sightings", {**ITEM, "eventId": "e1"})
    assert response.status_code == 200, response.json()
    sighting = Sighting.objects.get()
    [created] = graph_entries(object_id=str(sighting.pk), action="create")
    assert created.actor_name == "analyst@example.com"
    assert created.access_id == analyst_credential.access_id
    assert created.after["type"] == "sighting"
    # the observable and the system identity it was seen in are new objects too
    types = {e.after["type"] for e in graph_entries(action="create")}
    assert {"sighting", "ipv4-addr", "identity"} <= types

    response = api.post_json(
        "/api/v3/sightings", {**ITEM, "eventId": "e2", "lastSeen": "2024-05-01T12:00:00Z"}
    )
    assert response.status_code == 200, response.json()
    [update] = graph_entries(object_id=str(sighting.pk), action="update")
    assert update.before["count"] == 1 and update.after["count"] == 2
    assert update.after["last_seen"].startswith("2024-05-01T12:00")


def test_each_merge_is_diffed_against_the_newest_entry(api):
    """The "before" of an update is the state of the object's newest entry, however many
    entries it has."""
    for n in range(1, 5):
        response = api.post_json("/api/v3/sightings", {**ITEM, "eventId": f"e{n}"})
        assert response.status_code == 200, response.json()
    sighting = Sighting.objects.get()
    updates = graph_entries(object_id=str(sighting.pk), action="update")
    assert [(u.before["count"], u.after["count"]) for u in updates] == [(1, 2), (2, 3), (3, 4)]


def test_webhook_sightings_name_the_webhook(client):
    source = WebhookSource.objects.create(name="A", slug="siem-a", system_name="SIEM A")
    body = json.dumps({"data": [{"observableValue": "203.0.113.9", "eventId": "w1"}]})
    response = client.post(
        "/api/v3/webhooks/siem-a",
        body,
        content_type="application/json",
        **signed_headers(source.secret, body),
    )
    assert response.status_code == 200, response.json()
    entry = graph_entries(action="create").filter(after__type="sighting").get()
    assert entry.actor_id is None
    assert entry.endpoint == "POST /api/v3/webhooks/siem-a"


def test_case_membership_changes_are_audited(api, make_case):
    case = make_case(
        intelObjects={
            "data": [
                {
                    "type": "malware",
                    "id": "malware--0f8a1c8e-3f1e-4e62-9d65-1a0f1f0c0009",
                    "name": "CaseRAT",
                    "is_family": True,
                }
            ]
        }
    )
    [ref] = ObjectRef.objects.filter(container__type="x-cti-case")
    [added] = graph_entries("objectref", object_id=str(ref.pk), action="create")
    member = added.after["member"]
    assert member.startswith("malware--") and added.after["container"]
    response = api.put_json(
        f"/api/v3/cases/{case['id']}",
        {"intelObjects": {"data": [{"id": member}], "mode": "delete"}},
    )
    assert response.status_code == 200, response.json()
    [removed] = graph_entries("objectref", object_id=str(ref.pk), action="delete")
    assert removed.before == added.after and removed.actor_name == "analyst@example.com"


def test_a_graph_object_created_twice_concurrently_keeps_one_create_entry(api):
    """The mark-based lookup may see another writer's new rows; the unique create entry keeps
    the first writer's."""
    from cti.audit.graph import _nodes_added

    response = api.post_json(
        "/api/v3/intel/objects", {"type": "malware", "name": "Once", "is_family": True}
    )
    node = graph_entries(action="create").get(after__name="Once")
    _nodes_added(0)  # sees every node again, as a concurrent writer's lookup could
    assert graph_entries(object_id=node.object_id, action="create").count() == 1
    assert response.status_code == 201
