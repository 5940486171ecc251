"""Random small graphs and random sequences of inserts, deletions, changes, activations and
deactivations, each applied through the engine as the live path would (semi-naive evaluation
after inserts, retraction and re-evaluation after deletions and changes, run_activation and
run_deactivation): the state reached equals a fresh evaluation of the active rules over the
final data, which equals the reference evaluator's closure (tests/rules/reference.py)."""

import os
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from unittest import mock

import pytest
from django.db import transaction
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from cti.intel.models import Relationship, Sighting, StixObject
from cti.intel.services import import_objects
from rules import services
from rules.definitions import RULES
from rules.engine import Watermark, engine_writes, evaluate, retract
from rules.models import GraphChange, RuleState, RuleStatus
from tests.rules import reference
from tests.rules.graphs import (
    T0,
    asn,
    domain,
    fact_flags,
    facts_by_rule,
    fresh_snapshot,
    graph_events,
    identity,
    indicator,
    ipv4,
    location,
    observed_data,
    rel,
    report,
    sdo,
    sighting,
    software,
    term_snapshot,
)

pytestmark = pytest.mark.django_db

ALL = [r.id for r in RULES]
# more, and random, examples for a deeper local run: CTI_RULES_PROPERTY_EXAMPLES=500
EXAMPLES = int(os.environ.get("CTI_RULES_PROPERTY_EXAMPLES", "20"))
DERANDOMIZE = "CTI_RULES_PROPERTY_EXAMPLES" not in os.environ

PALETTE = {
    "org1": identity("p-org1"),
    "org2": identity("p-org2"),
    "sector": identity("p-sector", "sector"),
    "system": identity("p-system", "system"),
    "person": identity("p-person", "individual"),
    "loc1": location("p-loc1", country="FR"),
    "loc2": location("p-loc2", region="europe"),
    "ind1": indicator("p-ind1"),
    "ind2": indicator("p-ind2"),
    "ip1": ipv4(11),
    "ip2": ipv4(12),
    "dom": domain("bad.example"),
    "asn": asn(64511),
    "sw": software("openssl"),
    "mal": sdo("malware", "p-mal"),
    "is": sdo("intrusion-set", "p-is"),
    "ta": sdo("threat-actor", "p-ta"),
    "camp": sdo("campaign", "p-camp"),
    "infra": sdo("infrastructure", "p-infra"),
    "vuln": sdo("vulnerability", "p-vuln"),
    "ap1": sdo("attack-pattern", "p-ap1"),
    "ap2": sdo("attack-pattern", "p-ap2"),
    "tool": sdo("tool", "p-tool"),
}
ANCHOR = "tool"  # every container holds it, so that none is ever empty
CONTAINER_NAMES = ("rep1", "rep2", "od1", "od2")

IDENTITIES = ["org1", "org2", "sector", "system", "person"]
LOCATIONS = ["loc1", "loc2"]
INDICATORS = ["ind1", "ind2"]
OBSERVABLES = ["ip1", "ip2", "dom", "asn", "sw"]
THREATS = ["mal", "is", "ta", "camp"]
ANY = sorted(PALETTE)
ANY_REL = "<rel>"  # some asserted relationship, as a container member

TEMPLATES = {
    "based-on": (INDICATORS, [*OBSERVABLES, "mal"]),
    "indicates": ([*INDICATORS, "mal"], [*THREATS, "ap1"]),
    "related-to": (OBSERVABLES + INDICATORS + THREATS, ANY),
    "attributed-to": (THREATS, THREATS),
    "part-of": ([*IDENTITIES, "loc1"], IDENTITIES),
    "located-at": (IDENTITIES + LOCATIONS, [*LOCATIONS, "org2"]),
    "participate-to": (["person", "org1"], IDENTITIES),
    "uses": ([*THREATS, "system", "org1"], ["mal", "ap1", "ap2", "infra", "sw", "tool"]),
    "targets": (THREATS, IDENTITIES + LOCATIONS),
    "subtechnique-of": (["ap1", "ap2"], ["ap1", "ap2"]),
    "consists-of": (["infra"], [*OBSERVABLES, "mal"]),
    "has": (["sw", "infra", "system"], ["vuln", "mal"]),
    "belongs-to": (OBSERVABLES, [*THREATS, "asn"]),
}


# ---- strategies -------------------------------------------------------------------------

rel_fact = st.sampled_from(sorted(TEMPLATES)).flatmap(
    lambda t: st.tuples(
        st.just("rel"),
        st.just(t),
        st.sampled_from(TEMPLATES[t][0]),
        st.sampled_from(TEMPLATES[t][1]),
    )
)
sighting_fact = st.tuples(
    st.just("sighting"),
    st.sampled_from(INDICATORS + OBSERVABLES + ["mal"]),
    st.sampled_from(IDENTITIES + LOCATIONS),
)
ref_fact = st.tuples(
    st.just("ref"),
    st.sampled_from(CONTAINER_NAMES),
    st.sampled_from([*IDENTITIES, *LOCATIONS, *INDICATORS, *OBSERVABLES, "mal", ANY_REL]),
)
noise = st.one_of(rel_fact, rel_fact, sighting_fact, ref_fact)

WHERE = IDENTITIES + LOCATIONS
CHAIN = ["camp", "is", "ta", "mal", "org1", "org2", "sector"]


def _motif(pools: dict[str, list], facts: list[tuple]):
    """Facts shaped like a rule body, their variables drawn from (mostly well-typed) pools."""
    names = sorted(pools)

    def build(values):
        env = dict(zip(names, values, strict=True))

        def sub(x):
            if isinstance(x, tuple):
                return tuple(sub(y) for y in x)
            return env.get(x, x)

        return [sub(f) for f in facts]

    return st.tuples(*(st.sampled_from(pools[n]) for n in names)).map(build)


def _chain(left, right, p, a, b):
    return _motif({"P": p, "A": a, "B": b}, [("rel", left, "P", "A"), ("rel", right, "A", "B")])


def _container(member_pool, rel_type, other_pool, member_is_source=True):
    relation = ("rel", rel_type, "X", "Y") if member_is_source else ("rel", rel_type, "Y", "X")
    return _motif(
        {"R": ["rep1", "rep2", "od2"], "X": member_pool, "Y": other_pool},
        [("ref", "R", "X"), relation],
    )


MOTIFS = [
    _motif({"A": INDICATORS, "C": WHERE}, [("sighting", "A", "C")]),
    _motif(
        {"O": ["od1", "od2"], "B": OBSERVABLES, "C": INDICATORS},
        [("ref", "O", "B"), ("rel", "based-on", "C", "B")],
    ),
    _motif(
        {"A": INDICATORS, "B": WHERE, "C": OBSERVABLES},
        [("sighting", "A", "B"), ("rel", "based-on", "A", "C")],
    ),
    _motif(
        {"A": OBSERVABLES, "B": WHERE, "C": INDICATORS},
        [("sighting", "A", "B"), ("rel", "based-on", "C", "A")],
    ),
    _motif(
        {"A": INDICATORS, "B": [*THREATS, "ap1"], "C": WHERE},
        [("rel", "indicates", "A", "B"), ("sighting", "A", "C")],
    ),
    _motif(
        {"A": [*OBSERVABLES, "ind1"], "B": THREATS, "C": ANY},
        [("rel", "related-to", "A", "B"), ("rel", "related-to", "A", "C")],
    ),
    _chain("attributed-to", "attributed-to", CHAIN, CHAIN, CHAIN),
    _chain("part-of", "part-of", IDENTITIES, IDENTITIES, IDENTITIES),
    _chain("located-at", "located-at", WHERE, LOCATIONS, LOCATIONS),
    _chain("participate-to", "part-of", ["person"], IDENTITIES, IDENTITIES),
    _motif(
        {"A": CHAIN, "B": ["mal", "ap1", "tool"], "C": CHAIN},
        [("rel", "uses", "A", "B"), ("rel", "attributed-to", "A", "C")],
    ),
    _motif(
        {"A": CHAIN, "B": WHERE, "C": CHAIN},
        [("rel", "targets", "A", "B"), ("rel", "attributed-to", "A", "C")],
    ),
    _chain("targets", "part-of", THREATS, [*IDENTITIES, "loc1"], IDENTITIES),
    _chain("targets", "located-at", THREATS, WHERE, [*LOCATIONS, "org2"]),
    _motif(
        {"A": THREATS, "B": WHERE, "D": [*LOCATIONS, "org1"]},
        [("rel", "targets", "A", "B"), ("rel", "located-at", ("rel", "targets", "A", "B"), "D")],
    ),
    _container([*IDENTITIES, "loc1"], "part-of", IDENTITIES),
    _container(WHERE, "located-at", LOCATIONS),
    _container(INDICATORS, "based-on", [*OBSERVABLES, "mal"]),
    _container(OBSERVABLES, "based-on", [*INDICATORS, "mal"], member_is_source=False),
    _container(OBSERVABLES, "belongs-to", [*OBSERVABLES, "is"]),
    _chain("uses", "subtechnique-of", ["is", "camp", "mal"], ["ap1", "ap2"], ["ap1", "ap2"]),
    _chain("indicates", "attributed-to", [*INDICATORS, "mal"], CHAIN, CHAIN),
    _chain("related-to", "attributed-to", [*OBSERVABLES, "is"], CHAIN, CHAIN),
    _chain("belongs-to", "attributed-to", OBSERVABLES, CHAIN, CHAIN),
    _motif(
        {"A": CHAIN, "B": ["infra", "tool"], "C": [*OBSERVABLES, "mal"]},
        [("rel", "uses", "A", "B"), ("rel", "consists-of", "B", "C")],
    ),
    _chain("uses", "has", ["system", "org1"], ["sw", "tool"], ["vuln", "mal"]),
    _chain("consists-of", "has", ["infra", "is"], ["sw", "tool"], ["vuln", "mal"]),
]
motif = st.one_of(MOTIFS)
facts = st.tuples(st.lists(motif, min_size=1, max_size=3), st.lists(noise, max_size=2)).map(
    lambda parts: [f for group in parts[0] for f in group] + parts[1]
)
op = st.one_of(
    facts.map(lambda fs: ("insert", fs)),
    facts.map(lambda fs: ("insert", fs)),
    st.tuples(
        st.just("delete"), st.sampled_from(["rel", "rel", "sighting", "ref"]), st.integers(0, 30)
    ),
    st.tuples(st.just("delete_object"), st.sampled_from(sorted(set(ANY) - {ANCHOR}))),
    st.tuples(st.just("revoke"), st.sampled_from(INDICATORS), st.booleans()),
    st.tuples(
        st.just("author"), st.sampled_from(["od1", "od2"]), st.sampled_from(["org1", "org2"])
    ),
    st.tuples(st.just("activate"), st.sampled_from(ALL)),
    st.tuples(st.just("deactivate"), st.sampled_from(ALL)),
)
scenario = st.fixed_dictionaries(
    {
        "initial": st.lists(motif, min_size=3, max_size=10).map(
            lambda groups: [f for g in groups for f in g]
        ),
        "active": st.one_of(st.just(set(ALL)), st.sets(st.sampled_from(ALL), min_size=8)),
        "ops": st.lists(op, min_size=1, max_size=6),
    }
)


# ---- the data, as the test keeps it (independent of the database) ----------------------


@dataclass
class Model:
    objects: dict[str, dict] = field(default_factory=dict)  # name -> current STIX
    rels: dict[str, tuple] = field(default_factory=dict)  # stix id -> (type, source, target)
    sightings: dict[str, tuple] = field(default_factory=dict)  # stix id -> (of, where)
    members: dict[str, set] = field(default_factory=dict)  # container name -> member ids
    version: int = 0

    def bump(self, obj: dict) -> dict:
        self.version += 1
        stamp = datetime(2024, 5, 1, tzinfo=UTC) + timedelta(seconds=self.version)
        return {**obj, "modified": stamp.strftime("%Y-%m-%dT%H:%M:%S.000Z")}

    def id(self, name: str) -> str | None:
        return self.objects[name]["id"] if name in self.objects else None

    def container(self, name: str) -> dict:
        return {**self.objects[name], "object_refs": sorted(self.members[name])}

    def reference_graph(self) -> reference.Graph:
        objs = list(self.objects.values())
        objs += [self.container(n) for n in CONTAINER_NAMES]
        graph = reference.graph_from_stix(objs)
        graph.relationships = dict(self.rels)
        graph.sightings = dict(self.sightings)
        return graph


def initial_model() -> Model:
    m = Model(objects=dict(PALETTE))
    m.objects["rep1"] = report("p-rep1", [PALETTE[ANCHOR]])
    m.objects["rep2"] = report("p-rep2", [PALETTE[ANCHOR]])
    m.objects["od1"] = observed_data("p-od1", [PALETTE[ANCHOR]], author=PALETTE["org1"])
    m.objects["od2"] = observed_data("p-od2", [PALETTE[ANCHOR]])
    m.members = {n: {PALETTE[ANCHOR]["id"]} for n in CONTAINER_NAMES}
    return m


class Live:
    """Applies operations to the database and the model alike."""

    def __init__(self, model: Model, outbox: bool = False) -> None:
        self.m = model
        # through the outbox: the signals record the changes, process_graph_changes applies them
        self.outbox = outbox

    def drain(self) -> None:
        while services.process_graph_changes():
            pass
        assert not GraphChange.objects.exists()

    def import_(self, objects) -> dict:
        with graph_events() as seen:
            result = import_objects(objects)
        assert not result.rejected, result.rejected
        return seen

    # -- inserts: semi-naive --------------------------------------------------------------

    def resolve(self, x) -> str | None:
        """A palette name, ("rel", type, source, target) for that asserted relationship, or
        ANY_REL for the first one; None when it is not there."""
        m = self.m
        if x == ANY_REL:
            return next(iter(sorted(m.rels)), None)
        if isinstance(x, tuple):
            ends = self.resolve(x[2]), self.resolve(x[3])
            key = (x[1], *ends)
            return next((i for i, r in sorted(m.rels.items()) if r == key), None)
        return m.id(x)

    def stix_for(self, f) -> dict | None:
        m = self.m
        if f[0] == "rel":
            _, t, s, d = f
            source, target = self.resolve(s), self.resolve(d)
            if source is None or target is None:
                return None
            if self.inferred_only(
                Relationship.objects.filter(
                    relationship_type=t, source__stix_id=source, target__stix_id=target
                )
            ):
                return None  # see test_truth_maintenance: IMPORT_AFTER_INFERENCE
            obj = rel(t, source, target)
            m.rels[obj["id"]] = (t, source, target)
            return obj
        if f[0] == "sighting":
            of, where = self.resolve(f[1]), self.resolve(f[2])
            if (
                of is None
                or where is None
                or self.inferred_only(
                    Sighting.objects.filter(sighting_of__stix_id=of, where_sighted__stix_id=where)
                )
            ):
                return None
            obj = sighting(of, where, first_seen=T0, last_seen=T0)
            m.sightings[obj["id"]] = (of, where)
            return obj
        return None

    @staticmethod
    def inferred_only(rows) -> bool:
        return rows.filter(asserted=False).exists()

    def insert(self, facts, active) -> None:
        objects = []
        for f in facts:  # one at a time: a relationship may point at one just added
            obj = self.stix_for(f)
            if obj and obj not in objects:
                objects.append(obj)
        containers = set()
        for f in facts:
            if f[0] != "ref":
                continue
            member = self.resolve(f[2])
            if member is not None:
                self.m.members[f[1]].add(member)
                containers.add(f[1])
        for name in sorted(containers):
            self.m.objects[name] = self.m.bump(self.m.objects[name])
            objects.append(self.m.container(name))
        if not objects:
            return
        mark = Watermark.now()
        self.import_(objects)
        if self.outbox:
            self.drain()
            return
        with engine_writes():
            evaluate(active(), mark)

    # -- removals and changes: retract, then evaluate ----------------------------------------

    def maintain(self, seen, active) -> None:
        if self.outbox:
            self.drain()
            return
        with engine_writes():
            retract(seen["changed"] | seen["nodes"], seen["refs"])
            evaluate(active())

    def delete(self, kind, index, active) -> None:
        m = self.m
        if kind == "ref":
            pairs = sorted(
                (c, x) for c, xs in m.members.items() for x in xs if x != PALETTE[ANCHOR]["id"]
            )
            if not pairs:
                return
            name, member = pairs[index % len(pairs)]
            m.members[name].discard(member)
            m.objects[name] = m.bump(m.objects[name])
            seen = self.import_([m.container(name)])
            self.maintain(seen, active)
            return
        table = m.rels if kind == "rel" else m.sightings
        if not table:
            return
        stix_id = sorted(table)[index % len(table)]
        with graph_events() as seen:
            StixObject.objects.get(stix_id=stix_id).delete()
        self.forget({stix_id})
        self.maintain(seen, active)

    def forget(self, ids: set[str]) -> None:
        """Drop objects from the model with what hangs on them, as the database cascades."""
        m = self.m
        while True:
            hanging = {i for i, (_, s, d) in m.rels.items() if s in ids or d in ids} - ids
            if not hanging:
                break
            ids |= hanging
        for i in ids:
            m.rels.pop(i, None)
        m.sightings = {i: s for i, s in m.sightings.items() if not ids & {i, *s}}
        for members in m.members.values():
            members -= ids
        for name in [n for n, o in m.objects.items() if o["id"] in ids]:
            del m.objects[name]
        for name, obj in m.objects.items():
            if obj.get("created_by_ref") in ids:  # on_delete=SET_NULL
                m.objects[name] = {k: v for k, v in obj.items() if k != "created_by_ref"}

    def delete_object(self, name, active) -> None:
        stix_id = self.m.id(name)
        if stix_id is None:
            return
        # Deleting an object cascades to the rows of its relationships but not to their nodes,
        # so what points at those nodes would stay (see test_truth_maintenance,
        # OBJECT_DELETION): relationships that something points at are deleted first,
        # dependents before what they depend on. The others go by the cascade.
        rels = self.m.rels
        pointed = {e for r in rels.values() for e in r[1:]}
        pointed |= {x for members in self.m.members.values() for x in members}
        first, frontier = [], {stix_id}
        while frontier:
            frontier = {i for i, r in rels.items() if frontier & set(r[1:])} - set(first)
            first += sorted(frontier)
        with graph_events() as seen:
            for rel_id in reversed([i for i in first if i in pointed]):
                StixObject.objects.get(stix_id=rel_id).delete()
            StixObject.objects.get(stix_id=stix_id).delete()
        self.forget({stix_id})
        self.maintain(seen, active)

    def change(self, name, active, **props) -> None:
        m = self.m
        if name not in m.objects:
            return
        m.objects[name] = m.bump({**m.objects[name], **props})
        obj = m.container(name) if name in CONTAINER_NAMES else m.objects[name]
        seen = self.import_([obj])
        self.maintain(seen, active)


def set_state(rule_ids, active: bool) -> None:
    RuleState.objects.filter(rule_id__in=rule_ids).update(
        active=active, status=RuleStatus.ACTIVATING if active else RuleStatus.DEACTIVATING
    )


def check(model: Model) -> dict:
    """The incremental state equals a from-scratch evaluation, which equals the reference
    evaluator's closure, fact by fact and rule by rule."""
    active = services.active_rules()
    assert term_snapshot() == fresh_snapshot(active)
    expected = reference.evaluate(model.reference_graph(), [r.id for r in active])
    flags = fact_flags()
    for kind in ("rel", "sighting", "ref", "incident"):
        assert dict(flags[kind]) == dict.fromkeys(expected.flags(kind), 1), kind
    got = facts_by_rule()
    for rule_id in ALL:
        assert got.get(rule_id, set()) == expected.derived.get(rule_id, set()), rule_id
    return {"inferred": len(expected.inferred), "firing": sum(1 for r in ALL if got.get(r))}


def run_scenario(data, check_each: bool = False, outbox: bool = False) -> dict:
    model = initial_model()
    live = Live(model, outbox)
    live.import_(list(model.objects.values()))
    live.insert(data["initial"], lambda: [])
    services.rule_states()
    if data["active"]:
        set_state(data["active"], True)
        services.run_activation(sorted(data["active"])[0])
    active = services.active_rules
    for step in data["ops"]:
        if check_each:
            check(model)
        kind = step[0]
        if kind == "insert":
            live.insert(step[1], active)
        elif kind == "delete":
            live.delete(step[1], step[2], active)
        elif kind == "delete_object":
            live.delete_object(step[1], active)
        elif kind == "revoke":
            live.change(step[1], active, revoked=step[2])
        elif kind == "author":
            if model.id(step[2]):
                live.change(step[1], active, created_by_ref=model.id(step[2]))
        elif kind in ("activate", "deactivate"):
            turn_on = kind == "activate"
            if RuleState.objects.get(rule_id=step[1]).active != turn_on:
                set_state([step[1]], turn_on)
                (services.run_activation if turn_on else services.run_deactivation)(step[1])
    return check(model)


@pytest.fixture
def no_broker():
    with (
        mock.patch("rules.tasks.activate_rule.delay"),
        mock.patch("rules.tasks.deactivate_rule.delay"),
        mock.patch("rules.tasks.process_graph_changes.delay"),
    ):
        yield


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=DERANDOMIZE,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=scenario)
def test_live_equals_fresh_equals_reference(no_broker, data):
    with transaction.atomic():
        try:
            found = run_scenario(data)
        finally:
            transaction.set_rollback(True)
    n = found["inferred"]
    event(f"inferred facts: {'0' if not n else '1-9' if n < 10 else '10-49' if n < 50 else '50+'}")
    event(f"rules firing: {found['firing']}")


@settings(
    max_examples=max(EXAMPLES // 2, 1),
    deadline=None,
    derandomize=DERANDOMIZE,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=scenario)
def test_through_the_outbox_equals_fresh_equals_reference(no_broker, data):
    """The same, the changes recorded by the signals (GraphChange rows) and applied by
    process_graph_changes, as the worker does."""
    with transaction.atomic():
        try:
            run_scenario(data, outbox=True)
        finally:
            transaction.set_rollback(True)


def test_a_busy_scenario(no_broker):
    """One hand-written long sequence touching every kind of operation."""
    facts = [
        ("rel", "part-of", "org1", "org2"),
        ("rel", "part-of", "org2", "sector"),
        ("rel", "targets", "camp", "org1"),
        ("rel", "located-at", ("rel", "targets", "camp", "org1"), "loc1"),
        ("rel", "located-at", "org2", "loc1"),
        ("rel", "located-at", "loc1", "loc2"),
        ("rel", "attributed-to", "camp", "is"),
        ("rel", "attributed-to", "is", "ta"),
        ("rel", "uses", "is", "ap1"),
        ("rel", "subtechnique-of", "ap1", "ap2"),
        ("rel", "based-on", "ind1", "ip1"),
        ("rel", "indicates", "ind1", "mal"),
        ("rel", "related-to", "ip1", "mal"),
        ("rel", "related-to", "ip1", "camp"),
        ("rel", "uses", "is", "infra"),
        ("rel", "consists-of", "infra", "ip2"),
        ("rel", "uses", "system", "sw"),
        ("rel", "has", "sw", "vuln"),
        ("rel", "belongs-to", "ip2", "is"),
        ("rel", "participate-to", "person", "org1"),
        ("sighting", "ind1", "org1"),
        ("sighting", "ip2", "loc1"),
        ("ref", "rep1", "org1"),
        ("ref", "rep1", "ind1"),
        ("ref", "od1", "ip1"),
    ]
    ops = [
        ("insert", [("rel", "based-on", "ind2", "ip2"), ("ref", "rep2", "loc1")]),
        ("delete", "rel", 3),
        ("revoke", "ind1", True),
        ("deactivate", "part_part"),
        ("author", "od2", "org2"),
        ("insert", [("ref", "od2", "ip2"), ("rel", "part-of", "sector", "org1")]),
        ("delete_object", "org2"),
        ("activate", "part_part"),
        ("revoke", "ind1", False),
        ("delete", "ref", 1),
        ("delete", "sighting", 0),
    ]
    found = run_scenario({"initial": facts, "active": set(ALL), "ops": ops}, check_each=True)
    assert found["firing"] >= 15
