"""Each of the 27 rules alone on a small graph: the exact facts it infers, the explanations
(rule and STIX ids of the facts used) and how the API shows them; and graphs where it must
infer nothing."""

import pytest
import stix2

from cti.intel.choices import OBSERVABLE_TYPES
from cti.intel.models import Explanation, ObjectRef, Relationship, Sighting, StixObject
from cti.intel.services import import_objects
from rules.definitions import RULES, RULES_BY_ID
from rules.engine import engine_writes, evaluate
from tests.rules.graphs import identity, indicator, inferred_by, location, sighting
from tests.rules.scenarios import FIRES, NOT_FIRES

pytestmark = pytest.mark.django_db

RULE_IDS = [r.id for r in RULES]


def load(objects: list[dict]) -> None:
    result = import_objects(objects)
    assert not result.rejected, result.rejected


def run(rule_id: str) -> int:
    with engine_writes():
        return evaluate([RULES_BY_ID[rule_id]])


def assert_valid_stix(data: dict) -> None:
    """What the intel API shows of an inferred fact is valid STIX 2.1, with the timestamps STIX
    requires although the engine stores none. OpenCTI's sighting_observable sights observables,
    which STIX 2.1 does not allow (sighting_of_ref must be an SDO): that one is checked by hand.
    stix2 would fill missing timestamps in itself, hence the explicit check."""
    assert {"created", "modified"} <= data.keys()
    if data["type"] == "sighting" and data["sighting_of_ref"].split("--")[0] in OBSERVABLE_TYPES:
        assert data["created"] <= data["modified"]
        return
    obj = stix2.parse(data, allow_custom=True)
    assert obj.created <= obj.modified


def test_every_rule_has_cases():
    assert len(RULES) == 27
    assert set(FIRES) == set(RULE_IDS) == set(NOT_FIRES)


@pytest.mark.parametrize("rule_id", [r for r in RULE_IDS if r != "sighting_incident"])
def test_rule_fires(rule_id, api):
    case = FIRES[rule_id]()
    load(case.objects)
    asserted_before = set(StixObject.objects.values_list("stix_id", flat=True))
    added = run(rule_id)
    assert added == sum(len(e) for e in case.expected.values())
    assert inferred_by(rule_id) == set(case.expected)
    assert inferred_by() == set(case.expected), "only this rule has run"
    for fact, sources in case.expected.items():
        kind, *parts = fact
        if kind == "ref":
            ref = ObjectRef.objects.get(container__stix_id=parts[0], member__stix_id=parts[1])
            assert (ref.asserted, ref.inferred) == (False, True)
            got = {tuple(sorted(e.sources)) for e in ref.explanations.all()}
            assert got == sources
            assert {e.rule for e in ref.explanations.all()} == {rule_id}
            continue
        if kind == "rel":
            row = Relationship.objects.select_related("node").get(
                relationship_type=parts[0], source__stix_id=parts[1], target__stix_id=parts[2]
            )
            path = "/api/v3/intel/relationships/"
        else:
            row = Sighting.objects.select_related("node").get(
                sighting_of__stix_id=parts[0], where_sighted__stix_id=parts[1]
            )
            path = "/api/v3/intel/sightings/"
        node = row.node
        assert node.stix_id not in asserted_before
        assert (row.asserted, row.inferred, node.asserted, node.inferred) == (
            False,
            True,
            False,
            True,
        )
        response = api.get(path + node.stix_id)
        assert response.status_code == 200, response.json()
        data = response.json()["data"]
        assert data["id"] == node.stix_id
        assert data["x_cti_is_inferred"] is True
        assert {tuple(sorted(i["explanation"])) for i in data["x_cti_inferences"]} == sources
        assert {i["rule"] for i in data["x_cti_inferences"]} == {rule_id}
        assert_valid_stix(data)
        if kind == "rel":
            assert data["relationship_type"] == parts[0]
            assert (data["source_ref"], data["target_ref"]) == (parts[1], parts[2])
        else:
            assert data["sighting_of_ref"] == parts[0]
            assert data["where_sighted_refs"] == [parts[1]]
    # idempotent: a second evaluation adds nothing
    assert run(rule_id) == 0


def test_sighting_incident_fires(api):
    ind, org = indicator(1), identity(1)
    s = sighting(ind, org)
    load([ind, org, s])
    assert run("sighting_incident") == 3
    incident = StixObject.objects.get(type="incident")
    assert (incident.asserted, incident.inferred) == (False, True)
    assert incident.name == f"Sighting on valid indicator {ind['name']}"
    assert incident.properties["description"] == (
        f"Automatically generated incident based on indicator pattern: {ind['pattern']}"
    )
    assert inferred_by("sighting_incident") == {
        ("node", "incident", incident.stix_id),
        ("rel", "related-to", incident.stix_id, ind["id"]),
        ("rel", "targets", incident.stix_id, org["id"]),
    }
    explanation = Explanation.objects.get(node=incident)
    assert sorted(explanation.sources) == sorted([s["id"], ind["id"]])
    for rel_type, target in (("related-to", ind["id"]), ("targets", org["id"])):
        rel = Relationship.objects.get(
            relationship_type=rel_type, source=incident, target__stix_id=target
        )
        data = api.get(f"/api/v3/intel/relationships/{rel.node.stix_id}").json()["data"]
        assert data["x_cti_is_inferred"] is True
        assert data["source_ref"] == incident.stix_id
        assert data["target_ref"] == target
        assert_valid_stix(data)
        assert [i["rule"] for i in data["x_cti_inferences"]] == ["sighting_incident"]
        assert sorted(data["x_cti_inferences"][0]["explanation"]) == sorted(
            [s["id"], ind["id"], incident.stix_id]
        )
    obj = api.get(f"/api/v3/intel/objects/{incident.stix_id}").json()["data"]
    assert obj["type"] == "incident"
    assert obj["x_cti_is_inferred"] is True
    assert_valid_stix(obj)
    assert run("sighting_incident") == 0
    assert StixObject.objects.filter(type="incident").count() == 1


def test_one_incident_per_sighting():
    """As OpenCTI: an incident per (indicator, identity, sighting); a sighting seen in two
    identities gives two incidents; a second indicator sighted in the same place a third."""
    ind1, ind2, org1, org2 = indicator(1), indicator(2), identity(1), identity(2)
    both = sighting(ind1, org1)
    both["where_sighted_refs"] = [org1["id"], org2["id"]]
    load([ind1, ind2, org1, org2, location(1), both, sighting(ind2, org1)])
    load([sighting(ind2, location(1))])
    run("sighting_incident")
    incidents = StixObject.objects.filter(type="incident")
    assert incidents.count() == 3
    targets = set(
        Relationship.objects.filter(relationship_type="targets").values_list(
            "target__stix_id", flat=True
        )
    )
    assert targets == {org1["id"], org2["id"]}


@pytest.mark.parametrize(
    "rule_id,case",
    [(rule_id, name) for rule_id, cases in NOT_FIRES.items() for name in cases],
)
def test_rule_does_not_fire(rule_id, case):
    load(NOT_FIRES[rule_id][case]())
    before = (StixObject.objects.count(), ObjectRef.objects.count())
    assert run(rule_id) == 0
    assert not Explanation.objects.exists()
    assert (StixObject.objects.count(), ObjectRef.objects.count()) == before
    assert not StixObject.objects.filter(inferred=True).exists()
