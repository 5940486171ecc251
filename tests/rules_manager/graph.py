"""Small STIX graphs for the rule-manager tests, as plain STIX 2.1 dicts."""

from cti.intel.ids import observable_id
from cti.intel.models import Explanation, ObjectRef, Relationship, Sighting, StixObject

T0 = "2024-03-01T10:00:00.000Z"


def sid(stix_type: str, n: int) -> str:
    return f"{stix_type}--{n:08x}-0000-4000-8000-{n:012x}"


def org(n: int) -> dict:
    return {
        "type": "identity",
        "id": sid("identity", n),
        "name": f"Org {n}",
        "identity_class": "organization",
        "created": T0,
        "modified": T0,
    }


def location(n: int, **kind) -> dict:
    return {
        "type": "location",
        "id": sid("location", n),
        "name": f"Place {n}",
        "created": T0,
        "modified": T0,
        **(kind or {"country": "FR"}),
    }


def sdo(stix_type: str, n: int, **extra) -> dict:
    return {
        "type": stix_type,
        "id": sid(stix_type, n),
        "name": f"{stix_type} {n}",
        "created": T0,
        "modified": T0,
        **extra,
    }


def indicator(n: int) -> dict:
    return sdo(
        "indicator",
        n,
        pattern=f"[ipv4-addr:value = '198.51.100.{n % 250}']",
        pattern_type="stix",
        valid_from=T0,
    )


def ipv4(value: str) -> dict:
    obj = {"type": "ipv4-addr", "value": value}
    obj["id"] = observable_id("ipv4-addr", obj)
    return obj


_rel_counter = [0x10000]


def rel(rel_type: str, source: dict | str, target: dict | str, n: int | None = None) -> dict:
    if n is None:
        _rel_counter[0] += 1
        n = _rel_counter[0]
    return {
        "type": "relationship",
        "id": sid("relationship", n),
        "relationship_type": rel_type,
        "source_ref": source if isinstance(source, str) else source["id"],
        "target_ref": target if isinstance(target, str) else target["id"],
        "created": T0,
        "modified": T0,
    }


def sighting(of: dict, where: dict, n: int) -> dict:
    return {
        "type": "sighting",
        "id": sid("sighting", n),
        "sighting_of_ref": of["id"],
        "where_sighted_refs": [where["id"]],
        "count": 2,
        "first_seen": T0,
        "last_seen": T0,
        "created": T0,
        "modified": T0,
    }


def bundle(objects: list[dict]) -> dict:
    return {"type": "bundle", "id": sid("bundle", 1), "objects": objects}


def small_graph() -> list[dict]:
    """Org 1 part-of org 2 part-of org 3 (Belonging propagation: org 1 part-of org 3), an
    attribution chain, usage and targeting, an indicator sighted in org 1, a report."""
    o1, o2, o3 = org(1), org(2), org(3)
    city, country = location(1, city="Lyon"), location(2, country="FR")
    campaign = sdo("campaign", 1)
    intrusion = sdo("intrusion-set", 1)
    actor = sdo("threat-actor", 1)
    malware = sdo("malware", 1, is_family=True)
    ind = indicator(1)
    ip = ipv4("198.51.100.1")
    report = sdo("report", 1, published=T0, object_refs=[o1["id"], intrusion["id"]])
    return [
        o1,
        o2,
        o3,
        city,
        country,
        campaign,
        intrusion,
        actor,
        malware,
        ind,
        ip,
        report,
        rel("part-of", o1, o2, 1),
        rel("part-of", o2, o3, 2),
        rel("located-at", city, country, 3),
        rel("located-at", o1, city, 4),
        rel("attributed-to", campaign, intrusion, 5),
        rel("attributed-to", intrusion, actor, 6),
        rel("uses", intrusion, malware, 7),
        rel("targets", campaign, o1, 8),
        rel("based-on", ind, ip, 9),
        rel("indicates", ind, malware, 10),
        sighting(ind, o1, 1),
    ]


def part_of(source: str, target: str) -> bool:
    return Relationship.objects.filter(
        relationship_type="part-of", source__stix_id=source, target__stix_id=target
    ).exists()


def graph_state() -> dict:
    """A comparable snapshot of the graph: facts by STIX id, flags and explanation digests."""
    return {
        "nodes": set(StixObject.objects.values_list("stix_id", "asserted", "inferred")),
        "relationships": set(
            Relationship.objects.values_list(
                "relationship_type", "source__stix_id", "target__stix_id", "asserted", "inferred"
            )
        ),
        "sightings": set(
            Sighting.objects.values_list(
                "sighting_of__stix_id", "where_sighted__stix_id", "asserted", "inferred", "count"
            )
        ),
        "refs": set(
            ObjectRef.objects.values_list(
                "container__stix_id", "member__stix_id", "asserted", "inferred"
            )
        ),
        "explanations": sorted(
            (rule, node or "", ref or "", tuple(sources))
            for rule, node, ref, sources in Explanation.objects.values_list(
                "rule", "node__stix_id", "object_ref__member__stix_id", "sources"
            )
        ),
    }


def load_generator():
    """bench/rules/generate.py (the benchmark's graph generator), loaded by path."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "bench" / "rules" / "generate.py"
    spec = importlib.util.spec_from_file_location("bench_rules_generate", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def reset_inference() -> None:
    """Back to the asserted graph: no explanation, no inferred fact, no rule state."""
    from cti.intel.models import ExplanationSource
    from rules.models import GraphChange, RuleState

    RuleState.objects.all().delete()  # first: with no active rule, deletions are not recorded
    ExplanationSource.objects.all().delete()
    Explanation.objects.all().delete()
    ObjectRef.objects.filter(asserted=False).delete()
    StixObject.objects.filter(asserted=False).delete()
    for model in (StixObject, Relationship, Sighting, ObjectRef):
        model.objects.filter(inferred=True).update(inferred=False)
    RuleState.objects.all().delete()
    GraphChange.objects.all().delete()
