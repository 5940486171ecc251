"""A hand-made bundle with every STIX 2.1 domain-object type, observables, relationships (one on a
relationship), sightings, containers, TLP markings and authors: import, export, validate, compare,
re-import; and GET /api/v3/intel/bundles for chosen objects, neighbours and dependencies."""

import pytest
from stix2validator import ValidationOptions, validate_instance

from cti.intel import selectors
from cti.intel.choices import DOMAIN_OBJECT_TYPES
from cti.intel.models import ObjectRef, Relationship, Sighting, StixObject
from tests.intel.stixdata import (
    R_ON_R,
    TLP_AMBER,
    assert_round_trip,
    bundle_of,
    sample_objects,
    sid,
)

pytestmark = pytest.mark.django_db

REF_KEYS = ("source_ref", "target_ref", "created_by_ref", "sighting_of_ref", "sample_ref")
REF_LIST_KEYS = ("object_marking_refs", "where_sighted_refs", "object_refs", "observed_data_refs")


def references(obj: dict) -> set[str]:
    refs = {obj[k] for k in REF_KEYS if obj.get(k)}
    for key in REF_LIST_KEYS:
        refs.update(obj.get(key, ()))
    return refs


def dangling(objects: dict[str, dict]) -> dict[str, set[str]]:
    """References that the bundle does not resolve (observables' own *_refs are left aside)."""
    out = {}
    for obj in objects.values():
        missing = references(obj) - objects.keys()
        if missing:
            out[obj["id"]] = missing
    return out


def validation_errors(objects: list[dict]) -> list[str]:
    results = validate_instance(bundle_of(objects), ValidationOptions())
    return [str(e) for e in results.errors]


@pytest.fixture
def imported(post_bundle):
    summary = post_bundle(sample_objects())
    assert summary["rejected"] == [], summary["rejected"]
    return summary


def test_the_sample_has_every_domain_object_type():
    types = {o["type"] for o in sample_objects()}
    assert set(DOMAIN_OBJECT_TYPES) <= types
    assert {"relationship", "sighting", "marking-definition"} <= types
    assert validation_errors([o for o in sample_objects() if o["id"] != R_ON_R]) == []


def test_import_counts(imported):
    objects = sample_objects()
    # TLP:AMBER is built in and identical: unchanged
    assert imported["unchanged"] == [TLP_AMBER["id"]]
    assert sorted(imported["created"]) == sorted(o["id"] for o in objects[1:])
    assert Relationship.objects.count() == 11
    assert Sighting.objects.count() == 2
    assert ObjectRef.objects.filter(container__stix_id=sid("report", 1)).count() == 8
    assert ObjectRef.objects.filter(container__stix_id=sid("observed-data", 1)).count() == 2
    malware = StixObject.objects.get(stix_id=sid("malware", 1))
    assert malware.created_by.stix_id == sid("identity", 1)
    assert malware.marking_refs == [TLP_AMBER["id"]]


def test_export_validates_and_round_trips(imported, get_bundle):
    objects = sample_objects()
    exported = get_bundle(id=",".join(o["id"] for o in objects))
    assert exported.keys() == {o["id"] for o in objects}
    assert_round_trip(objects, list(exported.values()))
    assert dangling(exported) == {}
    # STIX 2.1 forbids a relationship whose source is a relationship (OpenCTI allows it and so
    # does the graph): that object is the only error
    errors = validation_errors(list(exported.values()))
    assert len(errors) == 1 and errors[0].startswith(R_ON_R + ": source_ref"), errors
    assert validation_errors([o for o in exported.values() if o["id"] != R_ON_R]) == []


def test_reimporting_the_export_or_the_original_changes_nothing(imported, get_bundle, post_bundle):
    objects = sample_objects()
    exported = get_bundle(id=",".join(o["id"] for o in objects))
    for again in (list(exported.values()), objects):
        summary = post_bundle(again)
        assert (summary["created"], summary["updated"], summary["rejected"]) == ([], [], [])
        assert len(summary["unchanged"]) == len(objects)
    assert StixObject.objects.filter(stix_id__in=[o["id"] for o in objects]).count() == 40
    assert Relationship.objects.count() == 11 and Sighting.objects.count() == 2


def test_a_newer_version_updates_and_an_older_one_is_ignored(imported, post_bundle, api):
    malware = next(o for o in sample_objects() if o["id"] == sid("malware", 1))
    newer = {**malware, "modified": "2024-06-01T00:00:00.000Z", "description": "v2"}
    older = {**malware, "modified": "2023-01-01T00:00:00.000Z", "description": "v0"}
    assert post_bundle([newer])["updated"] == [malware["id"]]
    assert post_bundle([older])["unchanged"] == [malware["id"]]
    got = api.get(f"/api/v3/intel/objects/{malware['id']}").json()["data"]
    assert got["description"] == "v2"


def test_a_report_reimported_with_fewer_refs_loses_the_others(imported, post_bundle):
    report = next(o for o in sample_objects() if o["id"] == sid("report", 1))
    post_bundle(
        [
            {
                **report,
                "modified": "2024-06-01T00:00:00.000Z",
                "object_refs": report["object_refs"][:2],
            }
        ]
    )
    members = ObjectRef.objects.filter(container__stix_id=report["id"])
    assert sorted(members.values_list("member__stix_id", flat=True)) == sorted(
        report["object_refs"][:2]
    )


# ---- GET /api/v3/intel/bundles ----------------------------------------------------------------


def test_export_of_chosen_objects_adds_only_their_dependencies(imported, get_bundle):
    got = get_bundle(id=sid("malware", 1))
    assert got.keys() == {sid("malware", 1), sid("identity", 1), TLP_AMBER["id"]}
    assert got[TLP_AMBER["id"]] == TLP_AMBER
    # repeated id= and comma lists both work
    got = get_bundle(id=[f"{sid('tool', 1)},{sid('campaign', 1)}", sid("vulnerability", 1)])
    assert {sid("tool", 1), sid("campaign", 1), sid("vulnerability", 1)} <= got.keys()
    assert dangling(got) == {}


def test_export_with_neighbours(imported, get_bundle):
    got = get_bundle(id=sid("malware", 1), neighbours="true")
    rels = {o["id"] for o in got.values() if o["type"] == "relationship"}
    assert rels == {sid("relationship", n) for n in (1, 4, 9, 10)}
    assert sid("sighting", 2) in got
    assert {
        sid("intrusion-set", 1),
        sid("indicator", 1),
        sid("vulnerability", 1),
        sid("infrastructure", 1),
        sid("identity", 2),
    } <= got.keys()
    # first neighbours only: the intrusion set's other relationships are not there
    assert sid("relationship", 2) not in got
    assert sid("report", 1) not in got  # containment is not a neighbourhood
    assert dangling(got) == {}
    assert validation_errors(list(got.values())) == []


def test_export_of_a_relationship_on_a_relationship_stands_alone(imported, get_bundle):
    got = get_bundle(id=R_ON_R)
    assert {
        R_ON_R,
        sid("relationship", 2),
        sid("intrusion-set", 1),
        sid("identity", 2),
        sid("location", 1),
        sid("identity", 1),
        TLP_AMBER["id"],
    } == got.keys()
    assert dangling(got) == {}


def test_export_of_a_container_and_a_sighting_stands_alone(imported, get_bundle):
    got = get_bundle(id=f"{sid('report', 1)},{sid('sighting', 1)},{sid('opinion', 1)}")
    assert set(next(iter([got[sid("report", 1)]]))["object_refs"]) <= got.keys()
    assert sid("observed-data", 1) in got  # the sighting's observed data
    assert dangling(got) == {}


def test_export_of_unknown_or_no_ids_is_an_empty_bundle(imported, get_bundle):
    assert get_bundle(id=sid("malware", 404)) == {}
    assert get_bundle() == {}


def test_selectors_bundle_of_every_node_round_trips(imported):
    everything = selectors.with_dependencies(set(StixObject.objects.values_list("pk", flat=True)))
    exported = selectors.bundle(everything)["objects"]
    assert_round_trip(sample_objects(), exported)
    # the three built-in TLP definitions the sample does not use are exported too
    assert len(exported) == len(sample_objects()) + 3


def test_malformed_json_is_a_400_in_the_envelope(api):
    response = api.post(
        "/api/v3/intel/bundles",
        '{"type": "bundle", "objects": [{"type": ',
        content_type="application/json",
    )
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["status"] == "Error" and body["errCode"] == "0x2005"
    assert body["message"].startswith("The bundle is not valid JSON")
