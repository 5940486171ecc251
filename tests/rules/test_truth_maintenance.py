"""Truth maintenance: removing or changing a source fact removes exactly what depended on it
(through chains and cycles), keeps what has another derivation, and leaves manual facts
alone. After every step the graph must equal a from-scratch evaluation of the same rules."""

import pytest

from cti.intel.models import Explanation, ObjectRef, Relationship, Sighting, StixObject
from cti.intel.services import import_objects
from rules import services
from rules.definitions import RULES, RULES_BY_ID
from rules.engine import engine_writes, evaluate, retract
from rules.models import RuleState, RuleStatus
from tests.rules.graphs import (
    T0,
    fresh_snapshot,
    graph_events,
    identity,
    indicator,
    inferred_by,
    ipv4,
    location,
    observed_data,
    pk,
    rel,
    report,
    sdo,
    sighting,
    term_snapshot,
)

pytestmark = pytest.mark.django_db


def rules(*ids):
    return [RULES_BY_ID[i] for i in ids]


def load(objects):
    with graph_events() as seen:
        result = import_objects(objects)
    assert not result.rejected, result.rejected
    return seen


def run(active) -> None:
    with engine_writes():
        evaluate(active)


def maintain(active, seen) -> None:
    """What the live path does with announced changes: retract, then re-evaluate."""
    with engine_writes():
        retract(seen["changed"] | seen["nodes"], seen["refs"])
        evaluate(active)


def delete(stix_id: str, active) -> None:
    node = StixObject.objects.get(stix_id=stix_id)
    with graph_events() as seen:
        node.delete()
    maintain(active, seen)


def check_fresh(active) -> None:
    assert term_snapshot() == fresh_snapshot(active)


def part_of(a, b) -> tuple:
    return ("rel", "part-of", a["id"], b["id"])


ORGS = [identity(n) for n in range(8)]


def test_deleting_a_source_relationship_cascades_through_the_chain():
    active = rules("part_part")
    o = ORGS
    chain = [rel("part-of", o[i], o[i + 1]) for i in range(4)]  # 0 -> 1 -> 2 -> 3 -> 4
    other = [rel("part-of", o[5], o[6]), rel("part-of", o[6], o[7])]
    load(o + chain + other)
    run(active)
    assert len(inferred_by("part_part")) == 6 + 1
    untouched = Relationship.objects.get(source__stix_id=o[5]["id"], target__stix_id=o[7]["id"])
    delete(chain[2]["id"], active)  # 2 -> 3 goes
    assert inferred_by("part_part") == {part_of(o[0], o[2]), part_of(o[5], o[7])}
    assert not Relationship.objects.filter(
        source__stix_id=o[0]["id"], target__stix_id__in=[o[3]["id"], o[4]["id"]]
    ).exists()
    # what did not rest on it is the same row
    assert Relationship.objects.get(pk=untouched.pk).inferred
    check_fresh(active)


def test_a_fact_with_another_derivation_stays():
    active = rules("part_part")
    o = ORGS
    left, right = rel("part-of", o[1], o[2]), rel("part-of", o[2], o[4])
    load([*o, rel("part-of", o[1], o[3]), rel("part-of", o[3], o[4]), left, right])
    run(active)
    fact = Relationship.objects.get(source__stix_id=o[1]["id"], target__stix_id=o[4]["id"])
    assert fact.node.explanations.count() == 2
    delete(right["id"], active)
    fact = Relationship.objects.get(source__stix_id=o[1]["id"], target__stix_id=o[4]["id"])
    assert [sorted(e.sources) for e in fact.node.explanations.all()] == [
        sorted([rel("part-of", o[1], o[3])["id"], rel("part-of", o[3], o[4])["id"]])
    ]
    assert (fact.asserted, fact.inferred) == (False, True)
    check_fresh(active)


def test_cyclic_support_does_not_keep_deleted_facts_alive():
    """A -> B, and B -> C -> D -> B a cycle: A -> C and A -> D are each derivable from the
    other (A -> D, D -> C and A -> C, C -> D). Once A -> B goes, neither holds."""
    active = rules("part_part")
    a, b, c, d = ORGS[:4]
    entry = rel("part-of", a, b)
    load([a, b, c, d, entry, rel("part-of", b, c), rel("part-of", c, d), rel("part-of", d, b)])
    run(active)
    assert {part_of(a, c), part_of(a, d)} <= inferred_by("part_part")
    delete(entry["id"], active)
    assert not Relationship.objects.filter(source__stix_id=a["id"]).exists()
    # the cycle's closure remains: every pair, the asserted ones explained through the cycle
    assert inferred_by("part_part") == {
        part_of(x, y) for x in (b, c, d) for y in (b, c, d) if x != y
    }
    check_fresh(active)


def test_cyclic_support_through_two_rules():
    """located-at chains and targets-through-location support each other round a cycle of
    locations; cutting the entry removes everything the entry fed."""
    active = rules("location_location", "location_targets")
    camp = sdo("campaign", 1)
    locs = [location(n) for n in range(3)]
    entry = rel("targets", camp, locs[0])
    cycle = [rel("located-at", locs[i], locs[(i + 1) % 3]) for i in range(3)]
    load([camp, *locs, entry, *cycle])
    run(active)
    # camp targets locs 1 and 2, and (asserted) 0 again through 2 -> 0
    assert len(inferred_by("location_targets")) == 3
    delete(entry["id"], active)
    assert not Relationship.objects.filter(relationship_type="targets").exists()
    check_fresh(active)


def test_deleting_an_entity_retracts_what_its_relationships_supported():
    active = rules("part_part")
    o = ORGS
    load([*o[:3], rel("part-of", o[0], o[1]), rel("part-of", o[1], o[2])])
    run(active)
    assert inferred_by("part_part") == {part_of(o[0], o[2])}
    delete(o[1]["id"], active)
    assert not Relationship.objects.exists()
    assert not Explanation.objects.exists()
    check_fresh(active)


def test_revoking_an_indicator_removes_the_incident():
    active = rules("sighting_incident", "part-of_targets")
    ind, org, parent = indicator(1), identity(1), identity(2)
    load([ind, org, parent, rel("part-of", org, parent), sighting(ind, org)])
    run(active)
    assert StixObject.objects.filter(type="incident").count() == 1
    assert len(inferred_by("part-of_targets")) == 1  # the incident targets the parent too
    revoked = {**ind, "revoked": True, "modified": "2024-03-02T10:00:00.000Z"}
    seen = load([revoked])
    assert seen["changed"] == {pk(ind["id"])}, "the import announces the indicator as changed"
    maintain(active, seen)
    assert not StixObject.objects.filter(type="incident").exists()
    assert not StixObject.objects.filter(asserted=False).exists()
    assert not Explanation.objects.exists()
    check_fresh(active)
    # and back
    seen = load([{**ind, "revoked": False, "modified": "2024-03-03T10:00:00.000Z"}])
    maintain(active, seen)
    assert StixObject.objects.filter(type="incident").count() == 1
    check_fresh(active)


def test_removing_an_object_from_a_report_removes_the_container_inferences():
    active = rules("report_ref_location_located_at", "location_location")
    locs = [location(n) for n in range(4)]
    chain = [rel("located-at", locs[i], locs[i + 1]) for i in range(3)]
    r = report(1, [locs[0], locs[3]])
    load([*locs, *chain, r])
    run(active)
    members = set(
        ObjectRef.objects.filter(container__stix_id=r["id"]).values_list(
            "member__stix_id", flat=True
        )
    )
    assert {loc["id"] for loc in locs} <= members
    assert ObjectRef.objects.get(container__stix_id=r["id"], member__stix_id=locs[3]["id"]).inferred
    seen = load([{**r, "object_refs": [locs[2]["id"]], "modified": "2024-03-02T10:00:00.000Z"}])
    assert len(seen["refs"]) == 1  # the ref to locs[0]; locs[3] was asserted and inferred
    maintain(active, seen)
    refs = {
        (m, a, i)
        for m, a, i in ObjectRef.objects.filter(container__stix_id=r["id"]).values_list(
            "member__stix_id", "asserted", "inferred"
        )
    }
    # from locs[2]: locs[3] and the located-at 2 -> 3 (asserted) only
    assert refs == {
        (locs[2]["id"], True, False),
        (locs[3]["id"], False, True),
        (chain[2]["id"], False, True),
    }
    check_fresh(active)


def test_report_members_that_support_each_other_go_with_the_members():
    """Two locations of a report located at each other: each reference is also inferred from
    the other. Taken out of the report, the import un-asserts them (they are not deleted);
    their mutual support must not keep them in."""
    active = rules("report_ref_location_located_at")
    l1, l2, l3 = location(1), location(2), location(3)
    r = report(1, [l1, l2, l3])
    load([l1, l2, l3, rel("located-at", l1, l2), rel("located-at", l2, l1), r])
    run(active)
    both = ObjectRef.objects.filter(member__stix_id__in=[l1["id"], l2["id"]])
    assert [(x.asserted, x.inferred) for x in both] == [(True, True)] * 2
    seen = load([{**r, "object_refs": [l3["id"]], "modified": "2024-03-02T10:00:00.000Z"}])
    assert not seen["refs"], "un-asserted, not deleted"
    maintain(active, seen)
    members = ObjectRef.objects.filter(container__stix_id=r["id"])
    assert list(members.values_list("member__stix_id", flat=True)) == [l3["id"]]
    check_fresh(active)


def test_a_self_loop_does_not_keep_a_reference_in_a_report():
    """An identity part of itself: the report's reference to it explains itself."""
    active = rules("report_ref_identity_part_of")
    org, other = identity(1), identity(2)
    r = report(1, [org])
    load([org, other, rel("part-of", org, org), r])
    run(active)
    later = {**r, "object_refs": [other["id"]], "modified": "2024-03-02T10:00:00.000Z"}
    maintain(active, load([later]))
    members = ObjectRef.objects.filter(container__stix_id=r["id"])
    assert list(members.values_list("member__stix_id", flat=True)) == [other["id"]]
    check_fresh(active)


def test_a_manual_fact_identical_to_an_inferred_one_is_one_row(api):
    active = rules("part_part")
    a, b, c = ORGS[:3]
    manual = rel("part-of", a, c)
    left, right = rel("part-of", a, b), rel("part-of", b, c)
    load([a, b, c, left, right, manual])
    run(active)
    rows = Relationship.objects.filter(source__stix_id=a["id"], target__stix_id=c["id"])
    assert rows.count() == 1
    row = rows.get()
    assert row.node.stix_id == manual["id"]
    assert (row.asserted, row.inferred, row.node.asserted, row.node.inferred) == (
        True,
        True,
        True,
        True,
    )
    data = api.get(f"/api/v3/intel/relationships/{manual['id']}").json()["data"]
    assert data["x_cti_is_inferred"] is False  # asserted first
    assert [i["rule"] for i in data["x_cti_inferences"]] == ["part_part"]
    delete(right["id"], active)
    row = Relationship.objects.get(source__stix_id=a["id"], target__stix_id=c["id"])
    assert (row.asserted, row.inferred, row.node.asserted, row.node.inferred) == (
        True,
        False,
        True,
        False,
    )
    data = api.get(f"/api/v3/intel/relationships/{manual['id']}").json()["data"]
    assert data["x_cti_inferences"] == []
    check_fresh(active)


IMPORT_AFTER_INFERENCE = (
    "cti/intel import: an asserted relationship or sighting imported after an inferred one of "
    "the same (type, source, target) / pair is not merged into it as asserted (remove this "
    "marker once the import does)"
)


OBJECT_DELETION = (
    "cti/intel: deleting an object cascades to the rows of its relationships and sightings but "
    "leaves their nodes, so relationships and container refs pointing at those nodes survive "
    "(remove this marker once a deletion removes them)"
)


@pytest.mark.xfail(strict=True, reason=OBJECT_DELETION)
def test_deleting_an_object_removes_what_points_at_its_relationships():
    camp, org, place = sdo("campaign", 1), identity(1), location(1)
    targets = rel("targets", camp, org)
    located = rel("located-at", targets, place)
    load([camp, org, place, targets, located, report(1, [targets])])
    StixObject.objects.get(stix_id=camp["id"]).delete()
    assert not StixObject.objects.filter(stix_id__in=[targets["id"], located["id"]]).exists()
    assert not ObjectRef.objects.filter(member__stix_id=targets["id"]).exists()


@pytest.mark.xfail(
    strict=True,
    reason="cti/intel import: re-importing an object without created_by_ref keeps the stored "
    "author (only a present created_by_ref is linked); remove this marker once it is cleared",
)
def test_removing_the_author_of_observed_data_removes_the_sighting():
    active = rules("observe_sighting")
    author, ip, ind = identity("author"), ipv4(1), indicator(1)
    od = observed_data(1, [ip], author=author)
    load([author, ip, ind, od, rel("based-on", ind, ip)])
    run(active)
    assert inferred_by("observe_sighting") == {("sighting", ind["id"], author["id"])}
    anonymous = {k: v for k, v in od.items() if k != "created_by_ref"}
    maintain(active, load([{**anonymous, "modified": "2024-06-01T00:00:00.000Z"}]))
    assert inferred_by("observe_sighting") == set()


def test_changing_the_author_of_observed_data_moves_the_sighting():
    active = rules("observe_sighting")
    a1, a2, ip, ind = identity("a1"), identity("a2"), ipv4(1), indicator(1)
    od = observed_data(1, [ip], author=a1)
    load([a1, a2, ip, ind, od, rel("based-on", ind, ip)])
    run(active)
    seen = load([{**od, "created_by_ref": a2["id"], "modified": "2024-06-01T00:00:00.000Z"}])
    assert pk(od["id"]) in seen["changed"]
    maintain(active, seen)
    assert inferred_by("observe_sighting") == {("sighting", ind["id"], a2["id"])}
    assert not Sighting.objects.filter(where_sighted__stix_id=a1["id"]).exists()
    check_fresh(active)


@pytest.mark.xfail(strict=True, reason=IMPORT_AFTER_INFERENCE)
def test_a_manual_fact_added_after_the_inferred_one_is_one_row():
    """The same, the other way round: the inferred fact exists when the user asserts it."""
    active = rules("part_part")
    a, b, c = ORGS[:3]
    left, right = rel("part-of", a, b), rel("part-of", b, c)
    load([a, b, c, left, right])
    run(active)
    load([rel("part-of", a, c)])
    run(active)
    rows = Relationship.objects.filter(source__stix_id=a["id"], target__stix_id=c["id"])
    assert [(r.asserted, r.inferred) for r in rows] == [(True, True)]


@pytest.mark.xfail(strict=True, reason=IMPORT_AFTER_INFERENCE)
def test_a_manual_sighting_added_after_the_inferred_one_is_asserted():
    """An imported sighting merged into the row of an inferred sighting of the same pair must
    survive the loss of the inference."""
    active = rules("sighting_indicator")
    ind, org, ip = indicator(1), identity(1), ipv4(1)
    based = rel("based-on", ind, ip)
    load([ind, org, ip, based, sighting(ind, org)])
    run(active)
    assert Sighting.objects.get(sighting_of__stix_id=ip["id"]).inferred
    load([sighting(ip, org, count=5)])
    delete(based["id"], active)
    row = Sighting.objects.get(sighting_of__stix_id=ip["id"])
    assert (row.asserted, row.inferred, row.count) == (True, False, 5)


def _flag(ids, active=True):
    services.rule_states()
    RuleState.objects.filter(rule_id__in=ids).update(
        active=active, status=RuleStatus.ACTIVATING if active else RuleStatus.DEACTIVATING
    )


@pytest.fixture
def no_broker():
    from unittest import mock

    with (
        mock.patch("rules.tasks.activate_rule.delay"),
        mock.patch("rules.tasks.deactivate_rule.delay"),
        mock.patch("rules.tasks.process_graph_changes.delay"),
    ):
        yield


def test_deactivating_a_rule_keeps_facts_another_rule_supports(no_broker):
    ids = ["part-of_targets", "attribution_targets", "location_targets"]
    camp, x = sdo("campaign", 1), sdo("intrusion-set", 1)
    o1, o2, o3 = identity(1), identity(2), identity(3)
    l1, l2 = location(1), location(2)
    load(
        [
            *(camp, x, o1, o2, o3, l1, l2),
            rel("targets", camp, o1),
            rel("part-of", o1, o2),  # camp targets o2: part-of_targets ...
            rel("targets", x, o2),
            rel("attributed-to", x, camp),  # ... and attribution_targets
            rel("part-of", o1, o3),  # camp targets o3: part-of_targets only
            rel("located-at", o2, l1),  # camp targets l1 (through o2): stays
            rel("located-at", o3, l2),  # camp targets l2 (through o3): goes
        ]
    )
    _flag(ids)
    services.run_activation(ids[0])
    targets = {
        (s, t)
        for s, t in Relationship.objects.filter(
            relationship_type="targets", source=pk(camp["id"])
        ).values_list("target__stix_id", "inferred")
    }
    assert targets == {
        (o1["id"], False),
        (o2["id"], True),
        (o3["id"], True),
        (l1["id"], True),
        (l2["id"], True),
    }
    _flag(["part-of_targets"], active=False)
    services.run_deactivation("part-of_targets")
    assert not Explanation.objects.filter(rule="part-of_targets").exists()
    targets = set(
        Relationship.objects.filter(relationship_type="targets", source=pk(camp["id"])).values_list(
            "target__stix_id", flat=True
        )
    )
    assert targets == {o1["id"], o2["id"], l1["id"]}
    assert RuleState.objects.get(rule_id="part-of_targets").status == RuleStatus.INACTIVE
    check_fresh(rules("attribution_targets", "location_targets"))


def test_deactivation_does_not_keep_cyclic_support_alive(no_broker):
    """attribution_targets gives camp targets loc0; round a cycle of locations,
    location_targets then derives camp targets loc1, loc2 and loc0 again, each from another.
    Deactivating attribution_targets must take all three away."""
    ids = ["attribution_targets", "location_targets"]
    camp, x = sdo("campaign", 1), sdo("intrusion-set", 1)
    locs = [location(n) for n in range(3)]
    load(
        [
            *(camp, x, *locs),
            rel("targets", x, locs[0]),
            rel("attributed-to", x, camp),
            *(rel("located-at", locs[i], locs[(i + 1) % 3]) for i in range(3)),
        ]
    )
    _flag(ids)
    services.run_activation(ids[0])
    camp_targets = Relationship.objects.filter(relationship_type="targets", source=pk(camp["id"]))
    assert camp_targets.count() == 3
    _flag(["attribution_targets"], active=False)
    services.run_deactivation("attribution_targets")
    assert not camp_targets.exists()
    check_fresh(rules("location_targets"))


@pytest.mark.parametrize("rule_id", [r.id for r in RULES])
def test_retracting_a_rule_removes_only_its_facts(rule_id):
    """Each rule's firing graph, all rules evaluated, then one rule retracted and the others
    re-evaluated: equals evaluating the others only."""
    from tests.rules.scenarios import FIRES

    load(FIRES[rule_id]().objects)
    run(list(RULES))
    others = [r for r in RULES if r.id != rule_id]
    with engine_writes():
        retract(set(), set(), rule_id=rule_id)
        evaluate(others)
    assert not Explanation.objects.filter(rule=rule_id).exists()
    check_fresh(others)


def test_sightings_counts_follow_their_sources():
    """An inferred sighting sums the counts of the sightings it rests on, and forgets one
    that goes."""
    active = rules("sighting_indicator")
    ind1, ind2, org, ip = indicator(1), indicator(2), identity(1), ipv4(1)
    s1 = sighting(ind1, org, count=3, first_seen=T0, last_seen="2024-03-05T00:00:00.000Z")
    s2 = sighting(ind2, org, count=4, first_seen="2024-02-20T00:00:00.000Z", last_seen=T0)
    load([ind1, ind2, org, ip, rel("based-on", ind1, ip), rel("based-on", ind2, ip), s1, s2])
    run(active)
    row = Sighting.objects.get(sighting_of__stix_id=ip["id"])
    assert row.count == 7
    assert row.first_seen.isoformat().startswith("2024-02-20")
    assert row.last_seen.isoformat().startswith("2024-03-05")
    delete(s2["id"], active)
    row = Sighting.objects.get(sighting_of__stix_id=ip["id"])
    assert row.count == 3
