"""A naive reference evaluator of the 27 inference rules, in plain Python over in-memory sets.

Written from the rule semantics (rules/definitions.py, docs §1.2) and independent of the SQL
compiler: every round applies every rule to all facts, until a round adds nothing. Facts are
named by what they are, so that they can be compared with the database whatever the rows:

* an object: its STIX id (a str);
* a relationship: ("rel", type, source, target), the ends being objects or facts;
* a sighting: ("sighting", of, where);
* a container reference: ("ref", container, member);
* an incident raised from a sighting: ("incident", sighting).

Explanations are ignored; `derived[rule]` holds every fact the rule derives (asserted facts
included, which the engine marks asserted *and* inferred)."""

from collections import defaultdict
from dataclasses import dataclass, field

from cti.intel.choices import OBSERVABLE_TYPES

OBSERVABLE = frozenset(OBSERVABLE_TYPES)
THREATS = frozenset({"threat-actor", "intrusion-set", "campaign", "incident", "malware"})
WHERE = frozenset({"identity", "location"})
CONTAINERS = frozenset({"report", "x-cti-case"})


@dataclass(frozen=True)
class Node:
    type: str
    subtype: str = ""
    revoked: bool = False
    created_by: str | None = None


@dataclass
class Graph:
    """The asserted data. Relationship and sighting ends, and container members, are STIX ids
    (a relationship's id names that relationship)."""

    nodes: dict[str, Node] = field(default_factory=dict)
    relationships: dict[str, tuple[str, str, str]] = field(default_factory=dict)
    sightings: dict[str, tuple[str, str]] = field(default_factory=dict)
    refs: set[tuple[str, str]] = field(default_factory=set)

    def term(self, stix_id: str, _seen=()):
        if stix_id in self.relationships:
            if stix_id in _seen:
                raise ValueError("a relationship that reaches itself")
            t, s, d = self.relationships[stix_id]
            seen = (*_seen, stix_id)
            return ("rel", t, self.term(s, seen), self.term(d, seen))
        if stix_id in self.sightings:
            of, where = self.sightings[stix_id]
            return ("sighting", self.term(of), self.term(where))
        return stix_id


@dataclass
class Closure:
    asserted: set  # asserted facts (relationships, sightings, refs)
    facts: set  # every fact: asserted and inferred
    derived: dict[str, set]  # rule id -> the facts it derives

    @property
    def inferred(self) -> set:
        return set().union(*self.derived.values()) if self.derived else set()

    def flags(self, kind: str) -> set[tuple]:
        """(fact, asserted, inferred) for facts of a kind: rel, sighting, ref, incident."""
        inferred = self.inferred
        return {(f, f in self.asserted, f in inferred) for f in self.facts if f[0] == kind}


class _Index:
    def __init__(self, facts: set) -> None:
        self.rels_of_type: dict[str, list] = defaultdict(list)
        self.out: dict[tuple, set] = defaultdict(set)
        self.inn: dict[tuple, set] = defaultdict(set)
        self.sightings: list = []
        self.sighted: dict[object, set] = defaultdict(set)
        self.refs: list = []
        self.rels: set = set()
        for f in facts:
            if f[0] == "rel":
                _, t, s, d = f
                self.rels.add(f)
                self.rels_of_type[t].append((s, d))
                self.out[(t, s)].add(d)
                self.inn[(t, d)].add(s)
            elif f[0] == "sighting":
                self.sightings.append((f[1], f[2]))
                self.sighted[f[1]].add(f[2])
            elif f[0] == "ref":
                self.refs.append((f[1], f[2]))


class Evaluator:
    def __init__(self, graph: Graph, rule_ids) -> None:
        self.graph = graph
        self.rule_ids = set(rule_ids)

    # -- types ---------------------------------------------------------------------------

    def node(self, term) -> Node:
        if isinstance(term, str):
            return self.graph.nodes.get(term, Node("unknown"))
        return Node(
            {"rel": "relationship", "sighting": "sighting", "incident": "incident"}[term[0]]
        )

    def is_(self, term, *specs) -> bool:
        n = self.node(term)
        for spec in specs:
            t, _, sub = spec.partition(":")
            if n.type == t and (not sub or n.subtype == sub):
                return True
        return False

    def obs(self, term) -> bool:
        return self.node(term).type in OBSERVABLE

    def typ(self, term) -> str:
        return self.node(term).type

    # -- rules ---------------------------------------------------------------------------

    def chain(self, ix, left, right, create, left_from=(), middle=(), right_to=()):
        for p, a in ix.rels_of_type[left]:
            if left_from and not self.is_(p, *left_from):
                continue
            if middle and not self.is_(a, *middle):
                continue
            for b in ix.out[(right, a)]:
                if right_to and not self.is_(b, *right_to):
                    continue
                if p != b:
                    yield ("rel", create, p, b)

    def sibling(self, ix, left):
        for a, b in ix.rels_of_type[left]:
            for c in ix.out[("attributed-to", a)]:
                if c != b:
                    yield ("rel", left, c, b)

    def container(self, ix, member_types, rel_type, other_types, member_is_source=True):
        for r, x in ix.refs:
            if self.typ(r) not in CONTAINERS or not self.is_(x, *member_types):
                continue
            others = ix.out[(rel_type, x)] if member_is_source else ix.inn[(rel_type, x)]
            for y in others:
                if not self.is_(y, *other_types):
                    continue
                d = ("rel", rel_type, x, y) if member_is_source else ("rel", rel_type, y, x)
                if r != y and r != d:
                    yield ("ref", r, y)
                    yield ("ref", r, d)

    def round(self, facts: set) -> dict[str, set]:
        ix = _Index(facts)
        out: dict[str, set] = {}
        obs_types = tuple(OBSERVABLE)

        def rule(rule_id, produce):
            if rule_id in self.rule_ids:
                out[rule_id] = set(produce())

        def sighting_incident():
            for a, c in ix.sightings:
                n = self.node(a)
                if n.type == "indicator" and not n.revoked and self.typ(c) == "identity":
                    incident = ("incident", ("sighting", a, c))
                    yield incident
                    yield ("rel", "related-to", incident, a)
                    yield ("rel", "targets", incident, c)

        def observe_sighting():
            for o, b in ix.refs:
                n = self.node(o)
                if n.type != "observed-data" or n.created_by is None or not self.obs(b):
                    continue
                for c in ix.inn[("based-on", b)]:
                    if self.typ(c) == "indicator" and c != n.created_by:
                        yield ("sighting", c, n.created_by)

        def sighting_indicator():
            for a, b in ix.sightings:
                if self.typ(a) == "indicator" and self.typ(b) in WHERE:
                    for c in ix.out[("based-on", a)]:
                        if self.obs(c) and c != b:
                            yield ("sighting", c, b)

        def sighting_observable():
            for a, b in ix.sightings:
                if self.obs(a) and self.typ(b) in WHERE:
                    for c in ix.inn[("based-on", a)]:
                        if self.typ(c) == "indicator" and c != b:
                            yield ("sighting", c, b)

        def indicate_sighted():
            for a, b in ix.rels_of_type["indicates"]:
                if self.typ(a) == "indicator" and self.typ(b) in THREATS:
                    for c in ix.sighted[a]:
                        if self.typ(c) in WHERE and b != c:
                            yield ("rel", "targets", b, c)

        def observable_related():
            for a, b in ix.rels_of_type["related-to"]:
                if self.obs(a) and self.typ(b) in THREATS:
                    for c in ix.out[("related-to", a)]:
                        if b != c:
                            yield ("rel", "related-to", b, c)
                            yield ("rel", "related-to", c, b)

        def localization_of_targets():
            for r, d in ix.rels_of_type["located-at"]:
                is_targets = isinstance(r, tuple) and r[:2] == ("rel", "targets")
                if is_targets and r in ix.rels and self.typ(d) == "location" and r[2] != d:
                    yield ("rel", "targets", r[2], d)

        def infrastructure_observable_related():
            for a, b in ix.rels_of_type["uses"]:
                if self.typ(b) == "infrastructure":
                    for c in ix.out[("consists-of", b)]:
                        if self.obs(c) and c != a:
                            yield ("rel", "related-to", c, a)

        org = "identity:organization"
        rule("sighting_incident", sighting_incident)
        rule("observe_sighting", observe_sighting)
        rule("sighting_indicator", sighting_indicator)
        rule("sighting_observable", sighting_observable)
        rule("indicate_sighted", indicate_sighted)
        rule("observable_related", observable_related)
        rule(
            "attribution_attribution",
            lambda: self.chain(ix, "attributed-to", "attributed-to", "attributed-to"),
        )
        rule("part_part", lambda: self.chain(ix, "part-of", "part-of", "part-of"))
        rule("location_location", lambda: self.chain(ix, "located-at", "located-at", "located-at"))
        rule(
            "participate-to_parts",
            lambda: self.chain(
                ix, "participate-to", "part-of", "participate-to", middle=(org,), right_to=(org,)
            ),
        )
        rule("attribution_use", lambda: self.sibling(ix, "uses"))
        rule("attribution_targets", lambda: self.sibling(ix, "targets"))
        rule(
            "part-of_targets",
            lambda: self.chain(
                ix, "targets", "part-of", "targets", middle=("identity",), right_to=("identity",)
            ),
        )
        rule(
            "location_targets",
            lambda: self.chain(ix, "targets", "located-at", "targets", right_to=("location",)),
        )
        rule("localization_of_targets", localization_of_targets)
        rule(
            "report_ref_identity_part_of",
            lambda: self.container(ix, ("identity",), "part-of", ("identity",)),
        )
        rule(
            "report_ref_location_located_at",
            lambda: self.container(ix, ("location",), "located-at", ("location",)),
        )
        rule(
            "report_ref_indicator_based_on",
            lambda: self.container(ix, ("indicator",), "based-on", obs_types),
        )
        rule(
            "report_ref_observable_based_on",
            lambda: self.container(ix, obs_types, "based-on", ("indicator",), False),
        )
        rule(
            "report_ref_observable_belongs_to",
            lambda: self.container(ix, obs_types, "belongs-to", obs_types),
        )
        rule(
            "parent_technique_use",
            lambda: self.chain(ix, "uses", "subtechnique-of", "uses"),
        )
        rule(
            "attribution_indicator_indicates",
            lambda: self.chain(
                ix, "indicates", "attributed-to", "indicates", left_from=("indicator",)
            ),
        )
        rule(
            "attribution_observable_related",
            lambda: self.chain(ix, "related-to", "attributed-to", "related-to"),
        )
        rule(
            "belongs_to_attributed",
            lambda: self.chain(ix, "belongs-to", "attributed-to", "belongs-to"),
        )
        rule("infrastructure_observable_related", infrastructure_observable_related)
        rule(
            "vulnerability_software_to_system",
            lambda: self.chain(
                ix,
                "uses",
                "has",
                "has",
                left_from=("identity:system",),
                middle=("software",),
                right_to=("vulnerability",),
            ),
        )
        rule(
            "vulnerability_software_to_infra",
            lambda: self.chain(
                ix,
                "consists-of",
                "has",
                "has",
                left_from=("infrastructure",),
                middle=("software",),
                right_to=("vulnerability",),
            ),
        )
        return out

    def run(self, max_rounds: int = 1000) -> Closure:
        g = self.graph
        asserted = {g.term(i) for i in g.relationships} | {g.term(i) for i in g.sightings}
        asserted |= {("ref", g.term(c), g.term(m)) for c, m in g.refs}
        facts = set(asserted)
        derived: dict[str, set] = defaultdict(set)
        for _ in range(max_rounds):
            produced = self.round(facts)
            for rule_id, new in produced.items():
                derived[rule_id] |= new
            added = set().union(*produced.values()) - facts if produced else set()
            if not added:
                return Closure(asserted, facts, dict(derived))
            facts |= added
        raise RuntimeError("no fixpoint")


def evaluate(graph: Graph, rule_ids) -> Closure:
    return Evaluator(graph, rule_ids).run()


def graph_from_stix(objects) -> Graph:
    """The asserted graph of a list of (normalized) STIX objects, as the import stores it:
    one sighting per where_sighted_ref."""
    g = Graph()
    pending_refs = []
    for obj in objects:
        t = obj["type"]
        if t == "relationship":
            g.relationships[obj["id"]] = (
                obj["relationship_type"],
                obj["source_ref"],
                obj["target_ref"],
            )
        elif t == "sighting":
            for n, where in enumerate(obj.get("where_sighted_refs") or []):
                key = obj["id"] if n == 0 else f"{obj['id']}|{where}"
                g.sightings[key] = (obj["sighting_of_ref"], where)
        else:
            subtype = ""
            if t == "identity":
                subtype = obj.get("identity_class") or ""
            g.nodes[obj["id"]] = Node(
                t, subtype, bool(obj.get("revoked", False)), obj.get("created_by_ref")
            )
        if t in ("report", "observed-data", "grouping", "note", "opinion", "x-cti-case"):
            pending_refs += [(obj["id"], m) for m in obj.get("object_refs", [])]
    g.refs = set(pending_refs)
    return g
