"""STIX builders for the rules-engine tests and readers of what the engine stored.

Builders return plain STIX 2.1 dicts with explicit ids (observables get their deterministic
id, as the import would give them). Readers describe facts by STIX id, or as *terms*: a
relationship is ("rel", type, source term, target term), a sighting ("sighting", of, where),
an inferred incident ("incident", sighting term), anything else its STIX id; so two graphs
built in different orders compare equal when they hold the same facts."""

import uuid
from collections import Counter
from contextlib import contextmanager

from django.db.models.signals import post_delete

from cti.intel.ids import observable_id
from cti.intel.models import (
    Explanation,
    ExplanationSource,
    ObjectRef,
    Relationship,
    Sighting,
    StixObject,
)
from cti.intel.signals import graph_changed

T0 = "2024-03-01T10:00:00.000Z"
NS = uuid.UUID("5e1f3c0a-8d0b-4f7e-a7f0-0c3b7d6a2e11")


def sid(stix_type: str, key) -> str:
    return f"{stix_type}--{uuid.uuid5(NS, f'{stix_type}|{key}')}"


def _sdo(stix_type: str, key, **extra) -> dict:
    return {
        "type": stix_type,
        "id": sid(stix_type, key),
        "created": T0,
        "modified": T0,
        **extra,
    }


def identity(key, cls: str = "organization") -> dict:
    return _sdo("identity", key, name=f"{cls} {key}", identity_class=cls)


def location(key, **kind) -> dict:
    return _sdo("location", key, name=f"place {key}", **(kind or {"country": "FR"}))


def sdo(stix_type: str, key, **extra) -> dict:
    if stix_type == "malware":
        extra.setdefault("is_family", True)
    return _sdo(stix_type, key, name=f"{stix_type} {key}", **extra)


def indicator(key, revoked: bool = False, **extra) -> dict:
    return _sdo(
        "indicator",
        key,
        name=f"indicator {key}",
        pattern=f"[domain-name:value = 'bad-{key}.example']",
        pattern_type="stix",
        valid_from=T0,
        revoked=revoked,
        **extra,
    )


def observable(stix_type: str, **props) -> dict:
    obj = {"type": stix_type, **props}
    obj["id"] = observable_id(stix_type, obj)
    assert obj["id"], props
    return obj


def ipv4(n: int) -> dict:
    return observable("ipv4-addr", value=f"198.51.100.{n}")


def domain(name: str) -> dict:
    return observable("domain-name", value=name)


def software(name: str) -> dict:
    return observable("software", name=name)


def asn(number: int) -> dict:
    return observable("autonomous-system", number=number)


def _ref(x) -> str:
    return x if isinstance(x, str) else x["id"]


def rel(rel_type: str, source, target, key=None) -> dict:
    s, t = _ref(source), _ref(target)
    return {
        "type": "relationship",
        "id": sid("relationship", key or f"{rel_type}|{s}|{t}"),
        "relationship_type": rel_type,
        "source_ref": s,
        "target_ref": t,
        "created": T0,
        "modified": T0,
    }


def sighting(of, where, key=None, **extra) -> dict:
    o, w = _ref(of), _ref(where)
    return {
        "type": "sighting",
        "id": sid("sighting", key or f"{o}|{w}"),
        "sighting_of_ref": o,
        "where_sighted_refs": [w],
        "count": 1,
        "first_seen": T0,
        "last_seen": T0,
        "created": T0,
        "modified": T0,
        **extra,
    }


def report(key, members, **extra) -> dict:
    return _sdo(
        "report",
        key,
        name=f"report {key}",
        published=T0,
        object_refs=[_ref(m) for m in members],
        **extra,
    )


def observed_data(key, members, author=None) -> dict:
    extra = {"created_by_ref": _ref(author)} if author is not None else {}
    return _sdo(
        "observed-data",
        key,
        first_observed=T0,
        last_observed=T0,
        number_observed=3,
        object_refs=[_ref(m) for m in members],
        **extra,
    )


# ---- reading the graph by STIX id -----------------------------------------------------------


def pk(stix_id: str) -> int:
    return StixObject.objects.get(stix_id=stix_id).pk


def rel_pk(rel_type: str, source: str, target: str) -> int:
    return Relationship.objects.get(
        relationship_type=rel_type, source__stix_id=source, target__stix_id=target
    ).pk


def ref_pk(container: str, member: str) -> int:
    return ObjectRef.objects.get(container__stix_id=container, member__stix_id=member).pk


def fact_of_explanation(expl: Explanation) -> tuple:
    """The fact an explanation supports, by STIX ids."""
    if expl.object_ref_id:
        c, m = ObjectRef.objects.filter(pk=expl.object_ref_id).values_list(
            "container__stix_id", "member__stix_id"
        )[0]
        return ("ref", c, m)
    r = Relationship.objects.filter(pk=expl.node_id).values_list(
        "relationship_type", "source__stix_id", "target__stix_id"
    )
    if r:
        return ("rel", *r[0])
    s = Sighting.objects.filter(pk=expl.node_id).values_list(
        "sighting_of__stix_id", "where_sighted__stix_id"
    )
    if s:
        return ("sighting", *s[0])
    node = StixObject.objects.get(pk=expl.node_id)
    return ("node", node.type, node.stix_id)


def inferred_by(rule_id: str | None = None) -> set[tuple]:
    """The facts a rule (or any rule) supports, by STIX ids."""
    explanations = Explanation.objects.all()
    if rule_id:
        explanations = explanations.filter(rule=rule_id)
    return {fact_of_explanation(e) for e in explanations}


def explanations_by_fact(rule_id: str) -> dict[tuple, set[tuple[str, ...]]]:
    """fact -> the explanations' sources (each a sorted tuple of STIX ids)."""
    found: dict[tuple, set] = {}
    for e in Explanation.objects.filter(rule=rule_id):
        found.setdefault(fact_of_explanation(e), set()).add(tuple(sorted(e.sources)))
    return found


def rows_snapshot() -> dict:
    """Every stored row of the graph (primary keys included), for 'nothing changed' checks."""
    return {
        "nodes": sorted(
            StixObject.objects.values_list(
                "pk",
                "stix_id",
                "type",
                "subtype",
                "name",
                "revoked",
                "created_by_id",
                "confidence",
                "asserted",
                "inferred",
            )
        ),
        "properties": {
            pk: props for pk, props in StixObject.objects.values_list("pk", "properties")
        },
        "relationships": sorted(
            Relationship.objects.values_list(
                "node_id",
                "relationship_type",
                "source_id",
                "target_id",
                "start_time",
                "stop_time",
                "confidence",
                "asserted",
                "inferred",
            )
        ),
        "sightings": sorted(
            Sighting.objects.values_list(
                "node_id",
                "sighting_of_id",
                "where_sighted_id",
                "count",
                "first_seen",
                "last_seen",
                "asserted",
                "inferred",
            )
        ),
        "refs": sorted(
            ObjectRef.objects.values_list("pk", "container_id", "member_id", "asserted", "inferred")
        ),
        "explanations": Explanation.objects.count(),
        "explanation_sources": ExplanationSource.objects.count(),
    }


class Terms:
    """Names every stored fact by what it is rather than by its row."""

    def __init__(self) -> None:
        self.nodes = {
            pk: (stix_id, t, asserted, inferred)
            for pk, stix_id, t, asserted, inferred in StixObject.objects.values_list(
                "pk", "stix_id", "type", "asserted", "inferred"
            )
        }
        self.by_stix = {v[0]: pk for pk, v in self.nodes.items()}
        self.rels = {
            r[0]: r[1:]
            for r in Relationship.objects.values_list(
                "node_id", "relationship_type", "source_id", "target_id", "asserted", "inferred"
            )
        }
        self.sightings = {
            s[0]: s[1:]
            for s in Sighting.objects.values_list(
                "node_id", "sighting_of_id", "where_sighted_id", "asserted", "inferred"
            )
        }
        self.refs = {
            r[0]: r[1:]
            for r in ObjectRef.objects.values_list(
                "pk", "container_id", "member_id", "asserted", "inferred"
            )
        }
        self.incident_sighting = {}
        for node, sources in Explanation.objects.filter(
            rule="sighting_incident", node__type="incident"
        ).values_list("node_id", "sources"):
            self.incident_sighting[node] = sources[0]
        self._cache: dict[int, object] = {}

    def term(self, pk: int | None):
        if pk is None:
            return None
        if pk in self._cache:
            return self._cache[pk]
        if pk in self.rels:
            t, s, d = self.rels[pk][:3]
            value = ("rel", t, self.term(s), self.term(d))
        elif pk in self.sightings:
            o, w = self.sightings[pk][:2]
            value = ("sighting", self.term(o), self.term(w))
        elif pk not in self.nodes:
            value = ("missing", pk)
        else:
            stix_id, t, asserted, _ = self.nodes[pk]
            if t == "incident" and not asserted and pk in self.incident_sighting:
                value = ("incident", self.source_term(self.incident_sighting[pk]))
            elif t in ("relationship", "sighting"):
                value = ("orphan", stix_id)  # an edge node without its edge row
            else:
                value = stix_id
        self._cache[pk] = value
        return value

    def source_term(self, name: str):
        if name.startswith("ref:"):
            _, container, member = name.split(":", 2)
            return ("ref", self.stix_term(container), self.stix_term(member))
        return self.stix_term(name)

    def stix_term(self, stix_id: str):
        pk = self.by_stix.get(stix_id)
        return ("missing", stix_id) if pk is None else self.term(pk)

    def snapshot(self, explanations: bool = True) -> dict:
        edge_pks = set(self.rels) | set(self.sightings)
        snap = {
            "nodes": Counter(
                (self.term(pk), t, a, i)
                for pk, (_, t, a, i) in self.nodes.items()
                if pk not in edge_pks
            ),
            "relationships": Counter((self.term(pk), r[3], r[4]) for pk, r in self.rels.items()),
            "sightings": Counter((self.term(pk), s[2], s[3]) for pk, s in self.sightings.items()),
            "refs": Counter(
                (self.term(c), self.term(m), a, i) for c, m, a, i in self.refs.values()
            ),
        }
        if explanations:
            snap["explanations"] = Counter(
                (rule, self.term(node) if node else ("ref", *self.ref_term(ref)), sources)
                for rule, node, ref, sources in (
                    (
                        rule,
                        node,
                        ref,
                        frozenset(Counter(self.source_term(s) for s in sources).items()),
                    )
                    for rule, node, ref, sources in Explanation.objects.values_list(
                        "rule", "node_id", "object_ref_id", "sources"
                    )
                )
            )
        return snap

    def ref_term(self, ref_pk: int):
        if ref_pk not in self.refs:
            return ("missing", ref_pk)
        c, m = self.refs[ref_pk][:2]
        return (self.term(c), self.term(m))


def term_snapshot(explanations: bool = True) -> dict:
    return Terms().snapshot(explanations)


def reset_inference() -> None:
    """Back to the asserted graph: no explanation, no inferred fact."""
    ExplanationSource.objects.all().delete()
    Explanation.objects.all().delete()
    ObjectRef.objects.filter(asserted=False).delete()
    StixObject.objects.filter(asserted=False).delete()
    for model in (StixObject, Relationship, Sighting, ObjectRef):
        model.objects.filter(inferred=True).update(inferred=False)


def facts_by_rule() -> dict[str, set]:
    """rule -> the terms of the facts its explanations support."""
    terms = Terms()
    found: dict[str, set] = {}
    for rule, node, ref in Explanation.objects.values_list("rule", "node_id", "object_ref_id"):
        fact = terms.term(node) if node else ("ref", *terms.ref_term(ref))
        found.setdefault(rule, set()).add(fact)
    return found


def fact_flags() -> dict[str, Counter]:
    """Facts as (term, asserted, inferred), per kind, counted (a duplicate row counts twice)."""
    terms = Terms()
    snap = terms.snapshot(explanations=False)
    return {
        "rel": snap["relationships"],
        "sighting": snap["sightings"],
        "ref": Counter((("ref", c, m), a, i) for c, m, a, i in snap["refs"].elements()),
        "incident": Counter(
            (term, a, i)
            for term, t, a, i in snap["nodes"].elements()
            if not isinstance(term, str) and term[0] == "incident"
        ),
        # relationship and sighting nodes left behind by a deleted object (see Terms.term)
        "orphan": Counter(
            (term, a, i)
            for term, t, a, i in snap["nodes"].elements()
            if not isinstance(term, str) and term[0] == "orphan"
        ),
    }


def fresh_snapshot(rules) -> dict:
    """The term snapshot of a from-scratch evaluation of `rules` over the asserted data as it
    stands (computed in a savepoint that is rolled back)."""
    from django.db import transaction

    from rules.engine import engine_writes, evaluate

    with transaction.atomic():
        reset_inference()
        with engine_writes():
            evaluate(list(rules))
        snap = term_snapshot()
        transaction.set_rollback(True)
    return snap


@contextmanager
def graph_events():
    """What an import or a deletion announces: changed node ids, removed nodes and refs."""
    seen = {"changed": set(), "nodes": set(), "refs": set()}

    def on_change(sender, kind, nodes=None, **kw):
        if kind == "changed":
            seen["changed"] |= set(nodes or [])

    def on_node(sender, instance, **kw):
        seen["nodes"].add(instance.pk)

    def on_ref(sender, instance, **kw):
        seen["refs"].add(instance.pk)

    graph_changed.connect(on_change)
    post_delete.connect(on_node, sender=StixObject)
    post_delete.connect(on_ref, sender=ObjectRef)
    try:
        yield seen
    finally:
        graph_changed.disconnect(on_change)
        post_delete.disconnect(on_node, sender=StixObject)
        post_delete.disconnect(on_ref, sender=ObjectRef)
