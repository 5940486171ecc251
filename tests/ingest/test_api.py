"""POST /v3/sightings: simple items (one, a list, {"data": [...]}), STIX sightings and bundles,
a result per item, v3 authentication and roles, idempotency by event id and Idempotency-Key."""

import pytest

from cti.ingest.models import DeadLetter, IdempotencyRecord
from cti.intel.models import Sighting, StixObject
from tests.ingest.conftest import INDICATOR, IP, SIGHTINGS

pytestmark = pytest.mark.django_db


def simple(event="e1", **kw) -> dict:
    return {
        "observableType": "ipv4-addr",
        "observableValue": IP,
        "system": "Splunk prod",
        "eventId": event,
        "firstSeen": "2024-05-01T10:00:00Z",
        "lastSeen": "2024-05-01T11:00:00Z",
        **kw,
    }


def sightings_by_type() -> dict[str, tuple[int, str | None]]:
    return {
        s.sighting_of.type: (s.count, s.where_sighted.name)
        for s in Sighting.objects.select_related("sighting_of", "where_sighted")
    }


def test_simple_item_sights_the_observable_and_its_indicators(api, indicator):
    response = api.post_json(SIGHTINGS, simple())
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["status"] == "Success"
    [result] = body["data"]
    assert result["index"] == 0 and result["status"] == "created" and result["error"] is None
    assert len(result["sightings"]) == 2
    assert sightings_by_type() == {"indicator": (1, "Splunk prod"), "ipv4-addr": (1, "Splunk prod")}
    system = StixObject.objects.get(type="identity", name="Splunk prod")
    assert system.subtype == "system" and system.properties["identity_class"] == "system"
    row = Sighting.objects.get(sighting_of_id=indicator)
    assert row.first_seen.isoformat() == "2024-05-01T10:00:00+00:00"
    assert row.node.stix_id in result["sightings"]


def test_new_observable_is_created_with_its_deterministic_id(api):
    response = api.post_json(SIGHTINGS, simple(observableValue="198.51.100.9"))
    assert response.status_code == 200
    node = StixObject.objects.get(type="ipv4-addr", value="198.51.100.9")
    assert node.stix_id == "ipv4-addr--" + node.stix_id.split("--")[1]
    from cti.intel.ids import observable_id

    assert node.stix_id == observable_id("ipv4-addr", {"value": "198.51.100.9"})
    assert sightings_by_type() == {"ipv4-addr": (1, "Splunk prod")}


def test_indicator_id_sights_that_indicator_only(api, indicator):
    response = api.post_json(SIGHTINGS, {"indicatorId": INDICATOR, "system": "EDR", "count": 3})
    assert response.status_code == 200, response.json()
    assert sightings_by_type() == {"indicator": (3, "EDR")}


def test_list_and_data_forms_give_a_result_per_item(api, indicator):
    items = [simple("a"), {"observableValue": "not a thing!", "system": "S"}, simple("b")]
    for body in (items, {"data": items}):
        response = api.post_json(SIGHTINGS, body)
        assert response.status_code == 200, response.json()
        results = response.json()["data"]
        assert [r["index"] for r in results] == [0, 1, 2]
        assert results[1]["status"] == "rejected" and "observable type" in results[1]["error"]
        assert results[1]["sightings"] == []
    # a then b (new event in the window: merged, count 2); the second post changes nothing
    assert sightings_by_type()["indicator"][0] == 2
    assert response.json()["summary"] == {
        "created": 0, "updated": 0, "unchanged": 2, "rejected": 1,
    }  # fmt: skip


def test_same_event_again_changes_nothing_and_new_events_add_up(api, indicator):
    first = api.post_json(SIGHTINGS, simple("e1")).json()["data"][0]
    again = api.post_json(SIGHTINGS, simple("e1")).json()["data"][0]
    assert again["status"] == "unchanged" and again["sightings"] == first["sightings"]
    other = api.post_json(SIGHTINGS, simple("e2", count=4)).json()["data"][0]
    assert other["status"] == "updated"
    assert sightings_by_type()["indicator"][0] == 5
    # without an event id the item's content is its identity; without dates it is seen now,
    # outside the dedup window of May 2024: a row of its own
    undated = {"observableValue": IP, "system": "Splunk prod"}
    assert api.post_json(SIGHTINGS, undated).json()["data"][0]["status"] == "created"
    assert api.post_json(SIGHTINGS, undated).json()["data"][0]["status"] == "unchanged"
    counts = sorted(
        Sighting.objects.filter(sighting_of_id=indicator).values_list("count", flat=True)
    )
    assert counts == [1, 5]


def test_stix_sighting_and_bundle(api, indicator):
    system = {"type": "identity", "id": "identity--1d1b5f1c-5a0e-4f0b-8a33-6a1f8a8d2e01",
              "name": "Wazuh", "identity_class": "system"}  # fmt: skip
    sighting = {
        "type": "sighting",
        "spec_version": "2.1",
        "id": "sighting--0f1e2d3c-4b5a-4978-8a6b-5c4d3e2f1a00",
        "created": "2024-05-01T00:00:00Z",
        "modified": "2024-05-01T00:00:00Z",
        "sighting_of_ref": INDICATOR,
        "where_sighted_refs": [system["id"]],
        "count": 2,
    }
    bundle = {"type": "bundle", "id": "bundle--5d0092c5-5f74-4287-9642-33f4c354e56d",
              "objects": [system, sighting]}  # fmt: skip
    response = api.post_json(SIGHTINGS, bundle)
    assert response.status_code == 200, response.json()
    results = response.json()["data"]
    assert [(r["index"], r["status"]) for r in results] == [(0, "created"), (1, "created")]
    assert results[1]["sightings"] == [sighting["id"]]
    assert sightings_by_type() == {"indicator": (2, "Wazuh")}
    again = api.post_json(SIGHTINGS, sighting).json()["data"]
    assert again[0]["status"] == "unchanged"
    bad = dict(sighting, id="sighting--0f1e2d3c-4b5a-4978-8a6b-5c4d3e2f1a01", count=-1)
    response = api.post_json(SIGHTINGS, [bad, simple()])
    results = response.json()["data"]
    assert results[0]["status"] == "rejected" and "count" in results[0]["error"]
    assert results[1]["status"] == "created"


def test_everything_rejected_is_a_400_naming_the_problems(api):
    response = api.post_json(SIGHTINGS, [{"observableType": "ipv4-addr"}, {"bogus": 1}])
    assert response.status_code == 400
    body = response.json()
    assert body["status"] == "Error" and body["errCode"] == "0x1001"
    assert "item 0: observableType and observableValue" in body["message"]
    assert "item 1: unknown field(s): bogus" in body["message"]
    letter = DeadLetter.objects.get(pk=body["deadLetter"])
    assert letter.endpoint == "sightings" and letter.http_status == 400
    assert "Authorization" not in letter.headers and "HTTP_AUTHORIZATION" not in letter.headers


@pytest.mark.parametrize(
    ("item", "problem"),
    [
        ({"observableValue": IP}, "system is required"),
        ({"observableValue": IP, "system": "S", "count": 0}, "count must be"),
        ({"observableValue": IP, "system": "S", "firstSeen": "yesterday-ish"}, "first_seen"),
        ({"observableType": "ipv4-addr", "observableValue": "1.2.3.999", "system": "S"}, "IPv4"),
        (
            {"indicatorId": "indicator--00000000-0000-4000-8000-000000000000", "system": "S"},
            "not found",
        ),
        ({"observableValue": IP, "indicatorId": INDICATOR, "system": "S"}, "not both"),
    ],
)
def test_bad_items_are_named(api, item, problem):
    response = api.post_json(SIGHTINGS, item)
    assert response.status_code == 400
    assert problem in response.json()["message"]


def test_not_json_is_a_400_and_a_dead_letter(api):
    response = api.post(SIGHTINGS, "{nope", content_type="application/json")
    assert response.status_code == 400
    assert "not valid JSON" in response.json()["message"]
    assert DeadLetter.objects.get().body == "{nope"


def test_authentication_and_roles(anon_api, readonly_credential):
    from tests.conftest import V3Client

    assert anon_api.post_json(SIGHTINGS, simple()).status_code == 401
    reader = V3Client(readonly_credential.token)
    response = reader.post_json(SIGHTINGS, simple())
    assert response.status_code == 403 and response.json()["status"] == "Error"
    assert not Sighting.objects.exists()


def test_idempotency_key_returns_the_stored_response(api, indicator):
    first = api.post_json(SIGHTINGS, simple("k1"), HTTP_IDEMPOTENCY_KEY="key-1")
    assert first.status_code == 200 and "Idempotent-Replayed" not in first.headers
    # same key: the first response again, even though this event would otherwise merge
    again = api.post_json(SIGHTINGS, simple("k1"), HTTP_IDEMPOTENCY_KEY="key-1")
    assert again.status_code == 200 and again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    other = api.post_json(SIGHTINGS, simple("k2"), HTTP_IDEMPOTENCY_KEY="key-1")
    assert other.status_code == 409 and "another payload" in other.json()["message"]
    assert sightings_by_type()["indicator"][0] == 1
    assert IdempotencyRecord.objects.get().status_code == 200
