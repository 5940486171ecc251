"""The live path: with a rule active, graph changes become outbox rows (GraphChange) and
`process_graph_changes` materialises additions and retracts removals and changes."""

import pytest

from cti.events.models import Event
from cti.intel.models import Explanation, ObjectRef, Relationship, Sighting, StixObject
from cti.intel.services import import_objects
from rules import services
from rules.definitions import RULES
from rules.engine import engine_writes, evaluate
from rules.models import GraphChange, RuleState, RuleStatus
from tests.rules.graphs import (
    T0,
    fresh_snapshot,
    identity,
    indicator,
    inferred_by,
    ipv4,
    location,
    pk,
    rel,
    report,
    sdo,
    sighting,
    term_snapshot,
)

pytestmark = pytest.mark.django_db


def activate(*rule_ids) -> None:
    """Rules already active (their activation done), as the live path finds them."""
    services.rule_states()
    RuleState.objects.filter(rule_id__in=rule_ids).update(active=True, status=RuleStatus.ACTIVE)


def load(objects) -> None:
    result = import_objects(objects)
    assert not result.rejected, result.rejected


def drain() -> int:
    done = 0
    while n := services.process_graph_changes():
        done += n
    assert not GraphChange.objects.exists()
    return done


def check_fresh() -> None:
    assert term_snapshot() == fresh_snapshot(services.active_rules())


def part_of(a, b) -> tuple:
    return ("rel", "part-of", a["id"], b["id"])


ORGS = [identity(n) for n in range(5)]


def test_nothing_is_recorded_while_no_rule_is_active():
    load([*ORGS[:2], rel("part-of", ORGS[0], ORGS[1])])
    StixObject.objects.get(stix_id=ORGS[1]["id"]).delete()
    assert not GraphChange.objects.exists()


def test_imports_and_deletions_are_recorded_and_processed():
    activate("part_part")
    load([*ORGS[:3], rel("part-of", ORGS[0], ORGS[1])])
    assert GraphChange.objects.filter(kind=GraphChange.Kind.ADDED).count() == 1
    assert drain() == 1
    assert not Explanation.objects.exists()
    bridge = rel("part-of", ORGS[1], ORGS[2])
    load([bridge])
    assert drain() == 1
    assert inferred_by("part_part") == {part_of(ORGS[0], ORGS[2])}
    # deleting the relationship: a removed change, then the inference goes
    node = StixObject.objects.get(stix_id=bridge["id"])
    node_pk = node.pk
    node.delete()
    change = GraphChange.objects.get()
    assert (change.kind, change.nodes) == (GraphChange.Kind.REMOVED, [node_pk])
    drain()
    assert not Explanation.objects.exists()
    assert not StixObject.objects.filter(asserted=False).exists()
    check_fresh()


def test_deleting_a_manual_fact_the_rules_also_infer_leaves_it_inferred():
    """The deleted fact took its explanations with it; the rules still derive it, so it comes
    back inferred only (found as a head missing, not around what was retracted)."""
    activate("part_part", "part-of_targets")
    camp = sdo("campaign", 1)
    load([camp, *ORGS[:3], rel("part-of", ORGS[0], ORGS[2]), rel("targets", camp, ORGS[0])])
    drain()
    load([rel("part-of", ORGS[0], ORGS[1]), rel("part-of", ORGS[1], ORGS[2])])
    drain()
    pair = {"relationship_type": "part-of", "source__stix_id": ORGS[0]["id"]}
    row = Relationship.objects.get(**pair, target__stix_id=ORGS[2]["id"])
    assert row.asserted and row.inferred
    targets = inferred_by("part-of_targets")
    assert ("rel", "targets", camp["id"], ORGS[2]["id"]) in targets
    StixObject.objects.get(pk=row.pk).delete()
    drain()
    again = Relationship.objects.get(**pair, target__stix_id=ORGS[2]["id"])
    assert again.pk != row.pk
    assert not again.asserted and again.inferred
    assert inferred_by("part_part") == {part_of(ORGS[0], ORGS[2])}
    assert inferred_by("part-of_targets") == targets
    check_fresh()


def test_deleting_an_entity_retracts_through_its_relationships():
    activate("part_part", "part-of_targets")
    camp = sdo("campaign", 1)
    load([camp, *ORGS[:4], rel("targets", camp, ORGS[0])])
    load([rel("part-of", ORGS[i], ORGS[i + 1]) for i in range(3)])
    drain()
    assert len(inferred_by("part-of_targets")) == 3
    StixObject.objects.get(stix_id=ORGS[2]["id"]).delete()
    drain()
    assert inferred_by("part-of_targets") == {("rel", "targets", camp["id"], ORGS[1]["id"])}
    assert inferred_by("part_part") == set()
    check_fresh()


def test_revoking_an_indicator_through_an_import():
    activate("sighting_incident")
    ind, org = indicator(1), identity(1)
    load([ind, org, sighting(ind, org)])
    drain()
    assert StixObject.objects.filter(type="incident").count() == 1
    load([{**ind, "revoked": True, "modified": "2024-04-01T00:00:00.000Z"}])
    kinds = set(GraphChange.objects.values_list("kind", flat=True))
    assert kinds == {GraphChange.Kind.ADDED, GraphChange.Kind.CHANGED}
    drain()
    assert not StixObject.objects.filter(type="incident").exists()
    assert not Relationship.objects.exists()
    check_fresh()


def test_removing_a_member_from_a_report():
    activate("report_ref_identity_part_of", "part_part")
    r = report(1, [ORGS[0]])
    load([*ORGS[:3], rel("part-of", ORGS[0], ORGS[1]), rel("part-of", ORGS[1], ORGS[2]), r])
    drain()
    members = set(
        ObjectRef.objects.filter(container__stix_id=r["id"], inferred=True).values_list(
            "member__stix_id", flat=True
        )
    )
    assert {ORGS[1]["id"], ORGS[2]["id"]} <= members and len(members) == 5  # 2 objects, 3 rels
    load([ORGS[3]])
    load([{**r, "object_refs": [ORGS[3]["id"]], "modified": "2024-04-02T00:00:00.000Z"}])
    assert GraphChange.objects.filter(kind=GraphChange.Kind.REMOVED).exists()
    drain()
    assert list(
        ObjectRef.objects.filter(container__stix_id=r["id"]).values_list(
            "member__stix_id", "asserted", "inferred"
        )
    ) == [(ORGS[3]["id"], True, False)]
    check_fresh()


@pytest.fixture
def eager(settings):
    from cti.celery import app

    # read the app's value before touching settings: the first read loads the configuration
    # from Django's settings, and would then save True and leak eager mode into later tests
    saved = app.conf.task_always_eager
    settings.CELERY_TASK_ALWAYS_EAGER = True
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = saved


def test_an_import_enqueues_the_task_on_commit(eager, django_capture_on_commit_callbacks):
    """The signals enqueue the task on commit (once per transaction); run eagerly, it drains
    the outbox."""
    activate("location_location", "location_targets")
    locs = [location(n) for n in range(3)]
    camp = sdo("campaign", 1)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        load([camp, *locs, rel("targets", camp, locs[0])])
        load([rel("located-at", locs[0], locs[1]), rel("located-at", locs[1], locs[2])])
    assert [c.__module__ for c in callbacks].count("rules.signals") == 1
    assert not GraphChange.objects.exists()
    assert ("rel", "targets", camp["id"], locs[2]["id"]) in inferred_by("location_targets")
    check_fresh()


def test_a_deletion_enqueues_the_task_on_commit(eager, django_capture_on_commit_callbacks):
    locs = [location(n) for n in range(3)]
    camp = sdo("campaign", 1)
    load([camp, *locs, rel("targets", camp, locs[0])])
    load([rel("located-at", locs[0], locs[1]), rel("located-at", locs[1], locs[2])])
    activate("location_location", "location_targets")
    with engine_writes():
        evaluate(services.active_rules())
    assert len(inferred_by()) == 3
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        StixObject.objects.get(stix_id=locs[1]["id"]).delete()
    assert len(callbacks) == 1
    assert not GraphChange.objects.exists()
    assert inferred_by() == set()
    check_fresh()


def test_all_rules_live_on_every_firing_graph():
    """All 27 rules active; the rules' firing graphs imported a few at a time, then some of
    their relationships deleted: after every step the graph equals a fresh evaluation."""
    from tests.rules.scenarios import FIRES

    ids = [r.id for r in RULES]
    activate(*ids)
    for start in range(0, len(ids), 7):
        for rule_id in ids[start : start + 7]:
            load(FIRES[rule_id]().objects)
        drain()
    check_fresh()
    assert set(Explanation.objects.values_list("rule", flat=True)) == set(ids)
    for group in (("observe_sighting", "localization_of_targets"), ("part_part",)):
        for rule_id in group:
            for obj in FIRES[rule_id]().objects:
                if obj["type"] == "relationship":
                    StixObject.objects.filter(stix_id=obj["id"]).delete()
        drain()
        check_fresh()


def _sighting_story():
    """An indicator based on an IP, sighted in an organisation: the incident and the IP's
    inferred sighting (sighting_indicator) rest on that sighting."""
    activate("sighting_incident", "sighting_indicator", "sighting_observable")
    ind, org, ip = indicator(1), identity(1), ipv4(1)
    first = sighting(ind, org, key="first", count=2)
    load([ind, org, ip, rel("based-on", ind, ip), first])
    drain()
    return ind, org, ip


def _derived_rows() -> tuple:
    """Row ids of what the rules made: a retraction and re-derivation would renew them."""
    return (
        sorted(Explanation.objects.values_list("pk", flat=True)),
        sorted(StixObject.objects.filter(asserted=False).values_list("pk", flat=True)),
    )


def test_a_merge_that_changes_only_count_and_dates_retracts_nothing(monkeypatch):
    """Another event of the same pair merges into the row (count, last_seen): the incident
    keeps its row (no second incident.created), the inferred sighting of the IP follows the
    count, the incident the dates; nothing is retracted."""
    ind, org, ip = _sighting_story()
    incident = StixObject.objects.get(type="incident")
    before = _derived_rows()
    events = Event.objects.filter(kind="incident.created").count()
    monkeypatch.setattr(services, "retract", _no_retraction)
    later = "2024-03-04T10:00:00.000Z"
    load([sighting(ind, org, key="second", count=3, first_seen=later, last_seen=later)])
    assert set(GraphChange.objects.values_list("kind", flat=True)) == {
        GraphChange.Kind.ADDED,
        GraphChange.Kind.CHANGED,
    }
    drain()
    assert _derived_rows() == before
    assert Event.objects.filter(kind="incident.created").count() == events
    assert Sighting.objects.get(sighting_of__stix_id=ind["id"]).count == 5
    inferred = Sighting.objects.get(sighting_of__stix_id=ip["id"])
    assert (inferred.asserted, inferred.count) == (False, 5)
    assert inferred.last_seen.isoformat().startswith("2024-03-04")
    incident.refresh_from_db()
    assert incident.properties["first_seen"] == T0
    assert incident.properties["last_seen"] == later
    check_fresh()


def _no_retraction(*args, **kwargs):
    raise AssertionError("a count or date change was retracted")


def test_a_count_change_reaches_the_inferred_sightings_resting_on_it(monkeypatch):
    activate("sighting_indicator")
    ind, org, ip = indicator(1), identity(1), ipv4(1)
    load([ind, org, ip, rel("based-on", ind, ip), sighting(ind, org, key="a", count=2)])
    drain()
    assert Sighting.objects.get(sighting_of__stix_id=ip["id"]).count == 2
    monkeypatch.setattr(services, "retract", _no_retraction)
    load([sighting(ind, org, key="b", count=5)])
    drain()
    assert Sighting.objects.get(sighting_of__stix_id=ind["id"]).count == 7
    assert Sighting.objects.get(sighting_of__stix_id=ip["id"]).count == 7
    check_fresh()


def test_count_changes_cross_a_cycle_of_inferred_sightings_once(monkeypatch):
    """indicator 1 sighted -> the IP sighted (inferred) -> indicator 2, also based on the IP,
    sighted (inferred) -> the IP again: each inferred row is refreshed once, in that order
    (the aggregates of such a cycle depend on the order they are computed in, as in a
    from-scratch evaluation), and the refresh ends."""
    activate("sighting_indicator", "sighting_observable")
    ind1, ind2, org, ip = indicator(1), indicator(2), identity(1), ipv4(1)
    load([ind1, ind2, org, ip, rel("based-on", ind1, ip), rel("based-on", ind2, ip)])
    load([sighting(ind1, org, key="a", count=2)])
    drain()
    second = Sighting.objects.get(sighting_of__stix_id=ind2["id"])
    assert (second.asserted, second.count) == (False, 2)
    monkeypatch.setattr(services, "retract", _no_retraction)
    load([sighting(ind1, org, key="b", count=5)])
    drain()
    assert Sighting.objects.get(sighting_of__stix_id=ind1["id"]).count == 7
    ip_count = Sighting.objects.get(sighting_of__stix_id=ip["id"]).count
    assert ip_count >= 7
    assert Sighting.objects.get(sighting_of__stix_id=ind2["id"]).count == ip_count
    check_fresh()


def test_a_grouped_incident_whose_window_moves_is_derived_again(settings):
    """With a grouping window the incident's key is the window of the sighting's first_seen:
    a merge that moves first_seen to another window gives the other window's incident."""
    settings.CTI_INCIDENT_GROUPING_DAYS = 7
    activate("sighting_incident")
    ind, org = indicator(1), identity(1)
    load([ind, org, sighting(ind, org, key="first")])
    drain()
    old = StixObject.objects.get(type="incident")
    earlier = "2024-02-20T10:00:00.000Z"  # within the 30-day dedup window, not the same week
    load([sighting(ind, org, key="early", first_seen=earlier, last_seen=earlier)])
    drain()
    new = StixObject.objects.get(type="incident")
    assert new.stix_id != old.stix_id
    assert new.properties["first_seen"] == earlier
    check_fresh()
    # a later merge in the same window keeps that incident and moves its last_seen
    later = "2024-03-05T10:00:00.000Z"
    load([sighting(ind, org, key="late", first_seen=later, last_seen=later)])
    drain()
    assert StixObject.objects.get(type="incident").pk == new.pk
    assert StixObject.objects.get(pk=new.pk).properties["last_seen"] == later
    check_fresh()


def test_a_rule_reading_a_sightings_node_gets_changes_retracted():
    """The shortcut holds only while no rule reads a sighting's own node."""
    from rules.dsl import InferRel, Is, RuleDefinition
    from rules.dsl import Sighting as SightingAtom
    from rules.engine import attribute_changes

    reads = RuleDefinition(
        "x", "x", "x", "x", "x", "x",
        body=(SightingAtom("A", "B", "s"), Is("s", "sighting", dependency=True)),
        heads=(InferRel("related-to", "A", "B"),),
    )  # fmt: skip
    ind, org = indicator(1), identity(1)
    load([ind, org, sighting(ind, org)])
    row = Sighting.objects.get().pk
    assert attribute_changes(list(RULES), {row, pk(ind["id"])}) == {row}
    assert attribute_changes([*RULES, reads], {row}) == set()
