"""Per-type checks: an invalid object is a 400 in the v3 envelope through POST /intel/objects and a
`rejected` entry with its reason through POST /intel/bundles; valid neighbours still land."""

import pytest

from cti.intel.models import Relationship, StixObject
from tests.intel.stixdata import T0, T1, sid

pytestmark = pytest.mark.django_db

OBJECTS = "/api/v3/intel/objects"
IND = {
    "type": "indicator",
    "pattern": "[ipv4-addr:value = '203.0.113.1']",
    "pattern_type": "stix",
    "valid_from": T0,
}
REL = {
    "type": "relationship",
    "relationship_type": "uses",
    "source_ref": sid("intrusion-set", 1),
    "target_ref": sid("malware", 1),
}
REPORT = {"type": "report", "name": "r", "published": T0, "object_refs": [sid("malware", 1)]}
SIGHTING = {"type": "sighting", "sighting_of_ref": sid("indicator", 1)}


def drop(obj: dict, key: str) -> dict:
    return {k: v for k, v in obj.items() if k != key}


# (object, words the reason must contain)
INVALID = [
    (drop(IND, "pattern"), "indicator requires pattern"),
    (drop(IND, "pattern_type"), "indicator requires pattern_type"),
    (drop(IND, "valid_from"), "indicator requires valid_from"),
    ({**IND, "valid_until": T0}, "valid_until must be later than valid_from"),
    ({**IND, "valid_from": "yesterday"}, "valid_from is not a valid timestamp"),
    (drop(REL, "relationship_type"), "relationship requires relationship_type"),
    (drop(REL, "source_ref"), "relationship requires source_ref"),
    (drop(REL, "target_ref"), "relationship requires target_ref"),
    ({**REL, "target_ref": "not-an-id"}, "target_ref is not a STIX id"),
    ({**REL, "start_time": T1, "stop_time": T0}, "stop_time must be later than start_time"),
    (drop(REPORT, "object_refs"), "report requires object_refs"),
    ({**REPORT, "object_refs": []}, "report requires object_refs"),
    ({**REPORT, "object_refs": ["nope"]}, "object_refs holds an invalid id"),
    (drop(REPORT, "published"), "report requires published"),
    (drop(REPORT, "name"), "report requires name"),
    (drop(SIGHTING, "sighting_of_ref"), "sighting requires sighting_of_ref"),
    ({**SIGHTING, "count": -1}, "count must be an integer from 0 to 999999999"),
    ({**SIGHTING, "count": 1_000_000_000}, "count must be an integer from 0 to 999999999"),
    ({**SIGHTING, "count": "3"}, "count must be an integer"),
    ({**SIGHTING, "first_seen": T1, "last_seen": T0}, "last_seen must not be before first_seen"),
    ({**SIGHTING, "where_sighted_refs": sid("identity", 1)}, "where_sighted_refs must be a list"),
    ({**IND, "confidence": 101}, "confidence must be an integer from 0 to 100"),
    ({**IND, "confidence": -1}, "confidence must be an integer from 0 to 100"),
    ({**IND, "confidence": "50"}, "confidence must be an integer from 0 to 100"),
    ({**IND, "confidence": True}, "confidence must be an integer from 0 to 100"),
    ({**IND, "created_by_ref": sid("malware", 1)}, "created_by_ref must be an identity id"),
    ({**IND, "object_marking_refs": ["tlp:red"]}, "object_marking_refs holds a non-marking id"),
    ({**IND, "labels": "bad"}, "labels must be a list"),
    ({**IND, "external_references": [{"url": "https://x"}]}, "needs a source_name"),
    ({**IND, "id": sid("malware", 9)}, "is not a valid indicator id"),
    ({"type": "threat-feed", "name": "x"}, "unknown STIX type 'threat-feed'"),
    ({"name": "x"}, "type is required"),
    ({"type": "attack-pattern"}, "attack-pattern requires name"),
    ({"type": "campaign"}, "campaign requires name"),
    ({"type": "course-of-action"}, "course-of-action requires name"),
    ({"type": "grouping", "object_refs": [sid("malware", 1)]}, "grouping requires context"),
    ({"type": "identity"}, "identity requires name"),
    ({"type": "incident"}, "incident requires name"),
    ({"type": "infrastructure"}, "infrastructure requires name"),
    ({"type": "intrusion-set"}, "intrusion-set requires name"),
    ({"type": "location", "description": "somewhere"}, "location requires one of"),
    ({"type": "malware", "name": "m", "is_family": "yes"}, "is_family must be a boolean"),
    ({"type": "malware-analysis", "result": "malicious"}, "malware-analysis requires product"),
    ({"type": "note", "object_refs": [sid("malware", 1)]}, "note requires content"),
    (
        {"type": "observed-data", "first_observed": T0, "last_observed": T1},
        "observed-data requires number_observed",
    ),
    (
        {
            "type": "observed-data",
            "first_observed": T1,
            "last_observed": T0,
            "number_observed": 1,
            "object_refs": [sid("ipv4-addr", 1)],
        },
        "last_observed must not be before first_observed",
    ),
    (
        {"type": "opinion", "opinion": "maybe", "object_refs": [sid("malware", 1)]},
        "opinion must be one of",
    ),
    ({"type": "threat-actor"}, "threat-actor requires name"),
    ({"type": "tool"}, "tool requires name"),
    ({"type": "vulnerability"}, "vulnerability requires name"),
    ({"type": "domain-name"}, "domain-name requires value"),
    ({"type": "ipv4-addr", "value": "300.1.1.1"}, "not an IPv4 address"),
    ({"type": "ipv6-addr", "value": "fe80::zz"}, "not an IPv6 address"),
    ({"type": "file", "size": 3}, "file requires one of hashes, name"),
    ({"type": "autonomous-system", "number": "AS15169"}, "number must be an integer"),
    ({"type": "user-account", "is_disabled": True}, "user-account requires one of"),
]


def _id(case) -> str:
    return case[1].split(" ")[0] + ":" + case[1][-25:]


@pytest.mark.parametrize(("obj", "reason"), INVALID, ids=[_id(c) for c in INVALID])
def test_invalid_object_is_a_400_in_the_v3_envelope(api, obj, reason):
    before = StixObject.objects.count()
    response = api.post_json(OBJECTS, obj)
    assert response.status_code == 400, response.json()
    body = response.json()
    assert body["status"] == "Error"
    assert body["errCode"] == "0x1001"
    assert reason in body["message"], body["message"]
    assert StixObject.objects.count() == before


def test_invalid_objects_are_rejected_with_reasons_in_a_bundle(post_bundle):
    invalid = [
        {
            **obj,
            "id": obj.get("id") or f"{obj.get('type', 'x')}--{n:08x}-0000-4000-8000-000000000000",
        }
        for n, (obj, _) in enumerate(INVALID)
        if isinstance(obj.get("type"), str)
    ]
    valid = [
        {"type": "intrusion-set", "id": sid("intrusion-set", 1), "name": "APT"},
        {"type": "malware", "id": sid("malware", 1), "name": "m", "is_family": False},
        {**REL, "id": sid("relationship", 1)},
    ]
    summary = post_bundle([*invalid[:20], *valid, *invalid[20:], 42, "text"])
    assert sorted(summary["created"]) == sorted(o["id"] for o in valid)
    rejected = summary["rejected"]
    assert len(rejected) == len(invalid) + 2
    reasons = {r["id"]: r["reason"] for r in rejected if r["id"]}
    for obj, reason in INVALID:
        if isinstance(obj.get("type"), str) and obj.get("id") is None:
            matching = [r for i, r in reasons.items() if i.startswith(obj["type"] + "--")]
            assert any(reason in r for r in matching), (reason, matching)
    assert [r["reason"] for r in rejected if r["id"] is None] == [
        "a STIX object must be a JSON object"
    ] * 2
    assert Relationship.objects.count() == 1


def test_relationship_to_a_missing_object_is_rejected(post_bundle, api):
    summary = post_bundle([{**REL, "id": sid("relationship", 5)}])
    assert summary["created"] == []
    assert summary["rejected"] == [
        {"id": sid("relationship", 5), "reason": "source_ref or target_ref not found"}
    ]
    response = api.post_json(OBJECTS, {**REL})
    assert response.status_code == 400


def test_report_with_a_missing_member_is_reported(post_bundle):
    summary = post_bundle(
        [
            {"type": "malware", "id": sid("malware", 1), "name": "m", "is_family": True},
            {**REPORT, "id": sid("report", 1), "object_refs": [sid("malware", 1), sid("tool", 1)]},
        ]
    )
    assert summary["rejected"] == [
        {"id": sid("report", 1), "reason": "object_refs not found: " + sid("tool", 1)}
    ]


def test_custom_objects_and_properties_are_kept(post_bundle, api):
    tactic = {
        "type": "x-mitre-tactic",
        "id": "x-mitre-tactic--" + sid("x", 7).split("--")[1],
        "spec_version": "2.1",
        "created": T0,
        "modified": T0,
        "name": "Initial Access",
        "x_mitre_shortname": "initial-access",
        "x_mitre_domains": ["enterprise-attack"],
        "external_references": [{"source_name": "mitre-attack", "external_id": "TA0001"}],
    }
    malware = {
        "type": "malware",
        "id": sid("malware", 2),
        "name": "m",
        "is_family": True,
        "x_mitre_platforms": ["Windows"],
        "x_acme_score": {"nested": [1, 2]},
    }
    summary = post_bundle([tactic, malware])
    assert sorted(summary["created"]) == sorted([tactic["id"], malware["id"]])
    got = api.get(f"{OBJECTS}/{tactic['id']}").json()["data"]
    assert {k: got[k] for k in tactic} == tactic
    got = api.get(f"{OBJECTS}/{malware['id']}").json()["data"]
    assert got["x_mitre_platforms"] == ["Windows"] and got["x_acme_score"] == {"nested": [1, 2]}
    # a custom object without an id gets one; custom (x-) types are not checked further
    response = api.post_json(OBJECTS, {"type": "x-acme-thing", "whatever": 1})
    assert response.status_code == 201, response.json()
    assert response.json()["data"]["id"].startswith("x-acme-thing--")


def test_boundaries_are_accepted(post_bundle):
    summary = post_bundle(
        [
            {**IND, "id": sid("indicator", 1), "confidence": 0},
            {**IND, "id": sid("indicator", 2), "confidence": 100},
            {"type": "identity", "id": sid("identity", 1), "name": "me"},
            {**SIGHTING, "id": sid("sighting", 1), "count": 0},
            {
                **SIGHTING,
                "id": sid("sighting", 2),
                "count": 999_999_999,
                "where_sighted_refs": [sid("identity", 1)],
                "first_seen": "2020-01-01T00:00:00Z",
            },
        ]
    )
    assert summary["rejected"] == [] and len(summary["created"]) == 5


@pytest.mark.parametrize("number", [0, 1_000_000_000, "2", True])
def test_observed_data_number_observed_range(api, number):
    body = {
        "type": "observed-data",
        "first_observed": T0,
        "last_observed": T1,
        "number_observed": number,
        "object_refs": [sid("ipv4-addr", 1)],
    }
    response = api.post_json(OBJECTS, body)
    assert response.status_code == 400
    assert "number_observed must be an integer from 1 to 999999999" in response.json()["message"]


def test_a_container_posted_with_a_missing_member_is_not_created(api):
    response = api.post_json(OBJECTS, {**REPORT, "id": sid("report", 3)})
    assert response.status_code == 400, response.json()
    assert "object_refs not found" in response.json()["message"]
    assert not StixObject.objects.filter(stix_id=sid("report", 3)).exists()
