"""The /api/v3/intel/objects, /relationships and /sightings endpoints: STIX 2.1 JSON inside the v3
envelope, list/get/create/update/delete, TQL keywords, paging, constant query counts."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from cti.intel.models import Relationship, Sighting, StixObject
from tests.intel.stixdata import R_ON_R, T0, T1, TLP_AMBER, sample_objects, sid

pytestmark = pytest.mark.django_db

OBJECTS = "/api/v3/intel/objects"
RELATIONSHIPS = "/api/v3/intel/relationships"
SIGHTINGS = "/api/v3/intel/sightings"


@pytest.fixture
def sample(post_bundle):
    summary = post_bundle(sample_objects())
    assert summary["rejected"] == [], summary["rejected"]
    return {o["id"]: o for o in sample_objects()}


def ids(api, path: str, tql: str = "", **params) -> list[str]:
    response = api.get(path, {"tql": tql, "resultLimit": 500, **params})
    assert response.status_code == 200, response.json()
    return [o["id"] for o in response.json()["data"]]


def assert_stix_in_envelope(body: dict, stix: dict) -> None:
    assert body["status"] == "Success"
    data = body["data"]
    assert data["x_cti_is_inferred"] is False
    assert data["x_cti_inferences"] == []
    for key, value in stix.items():
        assert data[key] == value, key


# ---- objects --------------------------------------------------------------------------------


def test_object_create_get_update_delete(api):
    body = {
        "type": "malware",
        "name": "ExampleRAT",
        "is_family": True,
        "confidence": 60,
        "labels": ["rat"],
        "description": "first",
    }
    response = api.post_json(OBJECTS, body)
    assert response.status_code == 201, response.json()
    assert response.json()["message"] == "Created"
    assert_stix_in_envelope(response.json(), {**body, "spec_version": "2.1"})
    stix_id = response.json()["data"]["id"]
    created = response.json()["data"]["created"]
    node = StixObject.objects.get(stix_id=stix_id)

    for key in (node.pk, stix_id):
        got = api.get(f"{OBJECTS}/{key}")
        assert got.status_code == 200, got.json()
        assert_stix_in_envelope(got.json(), {**body, "id": stix_id})

    # partial update: only the given properties change; modified moves on
    response = api.put_json(f"{OBJECTS}/{stix_id}", {"description": "second", "confidence": 80})
    assert response.status_code == 200, response.json()
    data = response.json()["data"]
    assert (data["description"], data["confidence"], data["name"], data["labels"]) == (
        "second",
        80,
        "ExampleRAT",
        ["rat"],
    )
    assert (data["id"], data["created"]) == (stix_id, created)
    assert data["modified"] > created
    node.refresh_from_db()
    assert node.confidence == 80 and node.properties["description"] == "second"
    # a second update of a now-modified object is not lost
    response = api.put_json(f"{OBJECTS}/{node.pk}", {"description": "third"})
    assert response.json()["data"]["description"] == "third"

    response = api.delete(f"{OBJECTS}/{stix_id}")
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "Success"
    assert api.get(f"{OBJECTS}/{stix_id}").status_code == 404
    assert not StixObject.objects.filter(stix_id=stix_id).exists()


def test_unknown_object_is_404_in_the_envelope(api):
    response = api.get(f"{OBJECTS}/{sid('malware', 99)}")
    assert response.status_code == 404
    assert response.json()["status"] == "Error" and response.json()["errCode"] == "0x1004"


def test_observable_update_cannot_change_its_id(api):
    response = api.post_json(OBJECTS, {"type": "domain-name", "value": "a.example.com"})
    stix_id = response.json()["data"]["id"]
    response = api.put_json(f"{OBJECTS}/{stix_id}", {"value": "b.example.com"})
    assert response.status_code == 400, response.json()
    response = api.put_json(f"{OBJECTS}/{stix_id}", {"x_acme_note": "kept"})
    assert response.status_code == 200 and response.json()["data"]["x_acme_note"] == "kept"


def test_read_only_users_cannot_write(readonly_credential, sample):
    from tests.conftest import V3Client

    reader = V3Client(readonly_credential.token)
    assert reader.get(OBJECTS).status_code == 200
    assert reader.post_json(OBJECTS, {"type": "tool", "name": "t"}).status_code == 403
    assert reader.post_json("/api/v3/intel/bundles", {"objects": []}).status_code == 403


def test_anonymous_is_refused(anon_api):
    assert anon_api.get(OBJECTS).status_code == 401
    assert anon_api.get("/api/v3/intel/bundles").status_code == 401


def test_objects_list_holds_no_relationships_or_sightings(api, sample):
    listed = ids(api, OBJECTS)
    assert sid("malware", 1) in listed and TLP_AMBER["id"] in listed
    assert not [i for i in listed if i.startswith(("relationship--", "sighting--"))]


# ---- relationships --------------------------------------------------------------------------


def test_relationship_create_get_update_delete(api, sample):
    body = {
        "type": "relationship",
        "relationship_type": "uses",
        "source_ref": sid("tool", 1),
        "target_ref": sid("attack-pattern", 1),
        "start_time": T0,
        "stop_time": T1,
        "confidence": 40,
    }
    response = api.post_json(RELATIONSHIPS, body)
    assert response.status_code == 201, response.json()
    assert_stix_in_envelope(response.json(), body)
    stix_id = response.json()["data"]["id"]
    row = Relationship.objects.get(node__stix_id=stix_id)
    assert (row.source.stix_id, row.target.stix_id, row.confidence) == (
        sid("tool", 1),
        sid("attack-pattern", 1),
        40,
    )
    for key in (row.pk, stix_id):
        got = api.get(f"{RELATIONSHIPS}/{key}")
        assert got.status_code == 200, got.json()
        assert_stix_in_envelope(got.json(), {**body, "id": stix_id})
    response = api.put_json(f"{RELATIONSHIPS}/{stix_id}", {"confidence": 90, "description": "seen"})
    assert response.status_code == 200, response.json()
    assert response.json()["data"]["confidence"] == 90
    assert response.json()["data"]["relationship_type"] == "uses"
    row.refresh_from_db()
    assert row.confidence == 90
    response = api.delete(f"{RELATIONSHIPS}/{stix_id}")
    assert response.status_code == 200, response.json()
    assert not Relationship.objects.filter(pk=row.pk).exists()
    assert not StixObject.objects.filter(stix_id=stix_id).exists()
    assert StixObject.objects.filter(stix_id=sid("tool", 1)).exists()


def test_a_relationship_can_point_at_a_relationship(api, sample):
    got = api.get(f"{RELATIONSHIPS}/{R_ON_R}").json()["data"]
    assert got["source_ref"] == sid("relationship", 2)
    row = Relationship.objects.get(node__stix_id=R_ON_R)
    assert row.source.type == "relationship"
    assert row.source.relationship.relationship_type == "targets"


def test_endpoints_take_only_their_own_kind(api, sample):
    response = api.post_json(RELATIONSHIPS, {"type": "tool", "name": "t"})
    assert response.status_code == 400, response.json()
    response = api.post_json(SIGHTINGS, {"type": "tool", "name": "t"})
    assert response.status_code == 400, response.json()
    # the type may be left out there
    rel = {
        "relationship_type": "uses",
        "source_ref": sid("tool", 1),
        "target_ref": sid("attack-pattern", 1),
    }
    response = api.post_json(RELATIONSHIPS, rel)
    assert response.status_code == 201, response.json()
    assert response.json()["data"]["type"] == "relationship"
    # /objects takes any STIX object (a relationship posted there is a relationship)
    response = api.post_json(OBJECTS, {**rel, "type": "relationship", "relationship_type": "has"})
    assert response.status_code == 201, response.json()
    assert Relationship.objects.filter(relationship_type="has").exists()
    assert not StixObject.objects.filter(type="tool", name="t").exists()
    # an object is not found through the relationships endpoint and the other way round
    assert api.get(f"{RELATIONSHIPS}/{sid('tool', 1)}").status_code == 404
    assert api.get(f"{OBJECTS}/{sid('relationship', 1)}").status_code == 404


def test_deleting_an_object_deletes_its_relationships(api, sample):
    assert api.delete(f"{OBJECTS}/{sid('malware', 1)}").status_code == 200
    assert not Relationship.objects.filter(node__stix_id=sid("relationship", 1)).exists()
    assert not Sighting.objects.filter(node__stix_id=sid("sighting", 2)).exists()
    assert not StixObject.objects.filter(stix_id=sid("relationship", 1)).exists()


# ---- sightings ------------------------------------------------------------------------------


def test_sighting_create_get_update_delete(api, sample):
    body = {
        "type": "sighting",
        "sighting_of_ref": sid("malware", 1),
        "where_sighted_refs": [sid("identity", 3)],
        "count": 2,
        "first_seen": "2023-06-01T00:00:00.000Z",
        "last_seen": "2023-06-02T00:00:00.000Z",
    }
    response = api.post_json(SIGHTINGS, body)
    assert response.status_code == 201, response.json()
    assert_stix_in_envelope(response.json(), body)
    stix_id = response.json()["data"]["id"]
    row = Sighting.objects.get(node__stix_id=stix_id)
    for key in (row.pk, stix_id):
        got = api.get(f"{SIGHTINGS}/{key}")
        assert got.status_code == 200
        assert_stix_in_envelope(got.json(), {**body, "id": stix_id})
    response = api.put_json(f"{SIGHTINGS}/{stix_id}", {"count": 9, "description": "more"})
    assert response.status_code == 200, response.json()
    assert (response.json()["data"]["count"], response.json()["data"]["description"]) == (9, "more")
    assert response.json()["data"]["where_sighted_refs"] == [sid("identity", 3)]
    assert api.delete(f"{SIGHTINGS}/{stix_id}").status_code == 200
    assert not Sighting.objects.filter(pk=row.pk).exists()


# ---- TQL ------------------------------------------------------------------------------------


def test_tql_keywords_on_objects(api, sample):
    assert ids(api, OBJECTS, f'id = "{sid("malware", 1)}"') == [sid("malware", 1)]
    assert sorted(ids(api, OBJECTS, 'type = "identity"')) == [sid("identity", n) for n in (1, 2, 3)]
    assert ids(api, OBJECTS, 'name = "ExampleRAT"') == [sid("malware", 1)]
    assert ids(api, OBJECTS, 'value = "198.51.100.7"') == [
        next(o for o in sample.values() if o.get("value") == "198.51.100.7")["id"]
    ]
    assert sorted(ids(api, OBJECTS, "confidence >= 80")) == sorted(
        [sid("intrusion-set", 1), sid("indicator", 1)]
    )
    by_acme = ids(api, OBJECTS, 'createdBy = "ACME CERT"')
    assert sid("malware", 1) in by_acme and sid("identity", 1) not in by_acme
    assert len(by_acme) == len(
        [
            o
            for o in sample.values()
            if o.get("created_by_ref") and o["type"] not in ("relationship", "sighting")
        ]
    )
    everything = ids(api, OBJECTS)
    assert sorted(ids(api, OBJECTS, "isInferred = false")) == sorted(everything)
    assert ids(api, OBJECTS, "isInferred = true") == []
    yesterday = (timezone.now() - timedelta(days=1)).date().isoformat()
    tomorrow = (timezone.now() + timedelta(days=1)).date().isoformat()
    assert sorted(ids(api, OBJECTS, f'dateAdded > "{yesterday}"')) == sorted(everything)
    assert ids(api, OBJECTS, f'dateAdded > "{tomorrow}"') == []
    assert sorted(ids(api, OBJECTS, f'lastUpdated > "{yesterday}"')) == sorted(everything)
    assert ids(api, OBJECTS, f'lastUpdated > "{tomorrow}"') == []
    assert ids(api, OBJECTS, 'type = "malware" and name = "nope"') == []


def test_tql_keywords_on_relationships_and_sightings(api, sample):
    assert sorted(ids(api, RELATIONSHIPS, 'relationshipType = "uses"')) == sorted(
        [sid("relationship", n) for n in (1, 8, 10)]
    )
    assert sorted(ids(api, RELATIONSHIPS, f'sourceRef = "{sid("intrusion-set", 1)}"')) == [
        sid("relationship", 1),
        sid("relationship", 2),
    ]
    assert ids(api, RELATIONSHIPS, f'targetRef = "{sid("location", 1)}"') == [R_ON_R]
    assert ids(api, RELATIONSHIPS, f'sourceRef = "{sid("relationship", 2)}"') == [R_ON_R]
    assert ids(api, RELATIONSHIPS, "confidence = 70") == [sid("relationship", 2)]
    assert len(ids(api, RELATIONSHIPS, 'createdBy = "ACME CERT"')) == 11
    assert len(ids(api, RELATIONSHIPS, "isInferred = false")) == 11
    assert ids(api, RELATIONSHIPS, f'id = "{sid("relationship", 4)}"') == [sid("relationship", 4)]
    assert ids(api, SIGHTINGS, f'sightingOfRef = "{sid("indicator", 1)}"') == [sid("sighting", 1)]
    assert ids(api, SIGHTINGS, "isInferred = false and count > 5") == [sid("sighting", 1)]


def test_paging_with_count(api, sample):
    total = len([o for o in sample.values() if o["type"] not in ("relationship", "sighting")])
    total += 4 - 1  # the built-in TLP definitions; TLP:AMBER is also in the bundle
    first = api.get(OBJECTS, {"resultLimit": 10, "count": "true"}).json()
    assert first["count"] == total
    assert len(first["data"]) == 10 and "next" in first
    seen = [o["id"] for o in first["data"]]
    url = first["next"]
    while url:
        page = api.get("/api" + url).json()
        seen += [o["id"] for o in page["data"]]
        url = page.get("next")
    assert len(seen) == len(set(seen)) == total
    page = api.get(RELATIONSHIPS, {"resultLimit": 4, "resultStart": 8, "count": "true"}).json()
    assert len(page["data"]) == 3 and "prev" in page and "next" not in page


# ---- query counts ---------------------------------------------------------------------------


def _populate(post_bundle, n: int, offset: int = 0) -> None:
    objects = [{"type": "identity", "id": sid("identity", 900), "name": "author"}]
    for i in range(offset, offset + n):
        objects += [
            {
                "type": "malware",
                "id": sid("malware", 1000 + i),
                "name": f"m{i}",
                "is_family": True,
                "created_by_ref": sid("identity", 900),
                "object_marking_refs": [TLP_AMBER["id"]],
            },
            {
                "type": "relationship",
                "id": sid("relationship", 1000 + i),
                "relationship_type": "related-to",
                "source_ref": sid("malware", 1000 + i),
                "target_ref": sid("identity", 900),
            },
            {
                "type": "sighting",
                "id": sid("sighting", 1000 + i),
                "count": 1,
                "sighting_of_ref": sid("malware", 1000 + i),
                "where_sighted_refs": [sid("identity", 900)],
            },
        ]
    assert post_bundle(objects)["rejected"] == []


def _queries(api, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = api.get(url)
    assert response.status_code == 200, response.json()
    return len(ctx.captured_queries)


@pytest.mark.parametrize("path", [OBJECTS, RELATIONSHIPS, SIGHTINGS])
def test_list_query_count_is_constant(api, post_bundle, path):
    url = f"{path}?resultLimit=100&count=true"
    _populate(post_bundle, 5)
    small = _queries(api, url)
    _populate(post_bundle, 45, offset=5)
    large = _queries(api, url)
    assert len(api.get(url).json()["data"]) >= 50
    assert small == large, (small, large)
