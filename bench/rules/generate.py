"""Generate a realistic threat-intelligence graph of about N relationships straight into the
intel tables (bulk_create, no import pipeline, no graph-change signals).

Shape (all counts scale with N):
  * locations: 20 regions <- 200 countries <- cities (located-at)
  * organisations in part-of trees (depth <= 4), each located-at a city; systems part-of an
    organisation, using software that has vulnerabilities
  * threat actors <- intrusion sets <- campaigns (attributed-to chains)
  * malware, tools, attack patterns (sub-techniques subtechnique-of their parent); intrusion sets
    and campaigns use them and target organisations and locations
  * indicators based-on observables (IPv4, domain), indicating malware or intrusion sets;
    observables related-to threats; infrastructure consisting-of observables, used by
    intrusion sets
  * sightings of indicators in organisations and systems
  * reports holding ~20 objects each; observed data authored by organisations holding
    observables

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/cti_bench \\
        python bench/rules/generate.py --relationships 10000 --reset
"""

import argparse
import os
import random
import sys
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
NAMESPACE = uuid.UUID("5b0c4f7e-8c2e-4a57-9d38-6a1c0bde0b01")
T0 = datetime(2024, 1, 1, tzinfo=UTC)
BATCH = 5000


def setup_django() -> None:
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cti.settings")
    import django

    django.setup()


def reset_graph() -> None:
    """Empty the graph and the rule manager's tables (a dedicated database only)."""
    from django.db import connection

    from cti.intel.models import (
        Explanation,
        ExplanationSource,
        ObjectRef,
        Relationship,
        Sighting,
        StixAlias,
        StixObject,
    )
    from rules.models import GraphChange, RuleState

    models = (
        ExplanationSource,
        Explanation,
        ObjectRef,
        Sighting,
        Relationship,
        StixAlias,
        StixObject,
        GraphChange,
        RuleState,
    )
    if connection.vendor == "postgresql":
        tables = ", ".join(m._meta.db_table for m in models)
        with connection.cursor() as cursor:
            cursor.execute(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
    else:
        for model in models:
            model.objects.all().delete()


class Graph:
    """Collects nodes and edges, then writes them in bulk."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.serial = 0
        self.nodes: list[dict] = []  # kwargs of StixObject
        self.rels: list[tuple[str, int, int]] = []  # (type, source index, target index)
        self.sightings: list[tuple[int, int, int]] = []  # (of, where, count)
        self.refs: list[tuple[int, int]] = []  # (container, member)
        self.authors: list[tuple[int, int]] = []  # (object, author)

    def stix_id(self, stix_type: str) -> str:
        self.serial += 1
        return f"{stix_type}--{uuid.uuid5(NAMESPACE, str(self.serial))}"

    def node(self, stix_type: str, subtype: str = "", name: str = "", value: str = "", **props):
        stix_id = self.stix_id(stix_type)
        when = T0 + timedelta(minutes=self.serial)
        stamp = when.strftime("%Y-%m-%dT%H:%M:%S.000Z")
        properties = {"type": stix_type, "spec_version": "2.1", "id": stix_id}
        if stix_type not in ("ipv4-addr", "domain-name", "software"):
            properties.update(created=stamp, modified=stamp)
        if name:
            properties["name"] = name
        if value:
            properties["value"] = value
        properties.update(props)
        self.nodes.append(
            {
                "stix_id": stix_id,
                "type": stix_type,
                "subtype": subtype,
                "name": name,
                "value": value,
                "properties": properties,
                "confidence": props.get("confidence"),
                "created": when,
                "modified": when,
            }
        )
        return len(self.nodes) - 1

    def many(self, count: int, stix_type: str, subtype: str = "", **props) -> list[int]:
        return [
            self.node(stix_type, subtype, name=f"{stix_type} {subtype} {i}".strip(), **props)
            for i in range(count)
        ]

    def rel(self, rel_type: str, source: int, target: int) -> None:
        if source != target:
            self.rels.append((rel_type, source, target))

    def pick(self, items: list[int]) -> int:
        return items[self.rng.randrange(len(items))]

    def sample(self, items: list[int], k: int) -> list[int]:
        return self.rng.sample(items, min(k, len(items)))


def build(n: int, seed: int = 0) -> Graph:
    g = Graph(seed)
    rng = g.rng
    scale = max(n, 1000)

    regions = g.many(20, "location", "region", region="europe")
    countries = g.many(200, "location", "country", country="FR")
    cities = g.many(max(50, scale // 100), "location", "city", city="Lyon")
    for c in countries:
        g.rel("located-at", c, g.pick(regions))
    for c in cities:
        g.rel("located-at", c, g.pick(countries))

    # organisation trees: level 0 roots, each later organisation part-of one a level up
    orgs = g.many(max(20, scale // 20), "identity", "organization", identity_class="organization")
    levels: list[list[int]] = [orgs[: len(orgs) // 10 or 1]]
    rest = orgs[len(levels[0]) :]
    for depth in range(1, 4):
        share = rest[: len(rest) // (4 - depth)] if depth < 3 else rest
        rest = rest[len(share) :]
        for o in share:
            g.rel("part-of", o, g.pick(levels[depth - 1]))
        levels.append(share)
    for o in orgs:
        g.rel("located-at", o, g.pick(cities))
    systems = g.many(max(10, scale // 100), "identity", "system", identity_class="system")
    for s in systems:
        g.rel("part-of", s, g.pick(orgs))
    vulnerabilities = g.many(100, "vulnerability")
    software = [g.node("software", name=f"software {i}") for i in range(50)]
    for s in software:
        for v in g.sample(vulnerabilities, 2):
            g.rel("has", s, v)
    for s in systems:
        for sw in g.sample(software, 2):
            g.rel("uses", s, sw)

    actors = g.many(max(5, scale // 1000), "threat-actor", threat_actor_types=["crime-syndicate"])
    intrusions = g.many(max(10, scale // 300), "intrusion-set")
    campaigns = g.many(max(10, scale // 200), "campaign")
    for i in intrusions:
        if rng.random() < 0.7:
            g.rel("attributed-to", i, g.pick(actors))
    for c in campaigns:
        if rng.random() < 0.8:
            g.rel("attributed-to", c, g.pick(intrusions))
    malware = g.many(max(10, scale // 200), "malware", is_family=True)
    tools = g.many(max(5, scale // 500), "tool")
    techniques = g.many(200, "attack-pattern")
    parents = techniques[:60]
    for t in techniques[60:]:
        if rng.random() < 0.5:
            g.rel("subtechnique-of", t, g.pick(parents))
    threats = intrusions + campaigns
    capabilities = malware + tools + techniques
    for _ in range(int(n * 0.2)):
        g.rel("uses", g.pick(threats), g.pick(capabilities))
    victims = orgs + cities + countries
    for _ in range(int(n * 0.1)):
        g.rel("targets", g.pick(threats), g.pick(victims))

    ips = [
        g.node("ipv4-addr", value=f"10.{i // 65536 % 256}.{i // 256 % 256}.{i % 256}")
        for i in range(int(n * 0.17))
    ]
    domains = [g.node("domain-name", value=f"host{i}.example.net") for i in range(int(n * 0.08))]
    observables = ips + domains
    indicators = []
    for i, obs in enumerate(g.sample(observables, int(n * 0.24))):
        value = g.nodes[obs]["value"]
        kind = g.nodes[obs]["type"]
        pattern = f"[{kind}:value = '{value}']"
        ind = g.node(
            "indicator",
            name=f"indicator {i}",
            value=pattern,
            pattern=pattern,
            pattern_type="stix",
            valid_from="2024-01-01T00:00:00Z",
            confidence=rng.choice((30, 50, 75, 95)),
        )
        indicators.append(ind)
        g.rel("based-on", ind, obs)
        if rng.random() < 0.5:
            g.rel("indicates", ind, g.pick(malware + intrusions))
    for obs in g.sample(observables, int(n * 0.05)):
        g.rel("related-to", obs, g.pick(malware + intrusions))
    infrastructures = g.many(max(5, scale // 500), "infrastructure")
    for infra in infrastructures:
        g.rel("uses", g.pick(intrusions), infra)
        for obs in g.sample(observables, 3):
            g.rel("consists-of", infra, obs)

    sighted_in = orgs + systems
    for ind in g.sample(indicators, int(n * 0.05)):
        g.sightings.append((ind, g.pick(sighted_in), rng.randint(1, 20)))

    members = orgs + intrusions + campaigns + malware + indicators + observables + cities
    for i in range(max(5, n // 100)):
        report = g.node(
            "report", name=f"report {i}", published="2024-02-01T00:00:00Z", object_refs=[]
        )
        for m in g.sample(members, 20):
            g.refs.append((report, m))
    for i in range(max(5, n // 200)):
        observed = g.node(
            "observed-data",
            name=f"observed {i}",
            first_observed="2024-02-01T00:00:00Z",
            last_observed="2024-02-01T00:00:00Z",
            number_observed=1,
        )
        g.authors.append((observed, g.pick(orgs)))
        for obs in g.sample(observables, 3):
            g.refs.append((observed, obs))
    return g


def write(g: Graph, progress=print) -> dict:
    """Insert the graph; returns counts. Relationship and sighting nodes get their own
    StixObject rows, as the import pipeline does."""
    from django.db import transaction

    from cti.intel.models import ObjectRef, Relationship, Sighting, StixObject

    started = time.perf_counter()
    pks: list[int] = []
    with transaction.atomic():
        for i in range(0, len(g.nodes), BATCH):
            rows = StixObject.objects.bulk_create(
                [StixObject(**kw) for kw in g.nodes[i : i + BATCH]]
            )
            pks.extend(r.pk for r in rows)
        by_author: dict[int, list[int]] = {}
        for obj, author in g.authors:
            by_author.setdefault(pks[author], []).append(pks[obj])
        for author, objs in by_author.items():
            StixObject.objects.filter(pk__in=objs).update(created_by_id=author)
    stix = [kw["stix_id"] for kw in g.nodes]
    seen: set[tuple] = set()
    rels = [r for r in g.rels if not (r in seen or seen.add(r))]
    for i in range(0, len(rels), BATCH):
        chunk = rels[i : i + BATCH]
        with transaction.atomic():
            ids = [g.stix_id("relationship") for _ in chunk]
            nodes = StixObject.objects.bulk_create(
                [
                    StixObject(
                        stix_id=sid,
                        type="relationship",
                        properties={
                            "type": "relationship",
                            "spec_version": "2.1",
                            "id": sid,
                            "relationship_type": t,
                            "source_ref": stix[s],
                            "target_ref": stix[o],
                        },
                        created=T0,
                        modified=T0,
                    )
                    for sid, (t, s, o) in zip(ids, chunk, strict=True)
                ]
            )
            Relationship.objects.bulk_create(
                [
                    Relationship(node=node, relationship_type=t, source_id=pks[s], target_id=pks[o])
                    for node, (t, s, o) in zip(nodes, chunk, strict=True)
                ]
            )
    pairs = {}
    for of, where, count in g.sightings:
        pairs.setdefault((of, where), count)
    sightings = list(pairs.items())
    with transaction.atomic():
        nodes = StixObject.objects.bulk_create(
            [
                StixObject(
                    stix_id=(sid := g.stix_id("sighting")),
                    type="sighting",
                    properties={
                        "type": "sighting",
                        "spec_version": "2.1",
                        "id": sid,
                        "sighting_of_ref": stix[of],
                        "where_sighted_refs": [stix[where]],
                        "count": count,
                    },
                    created=T0,
                    modified=T0,
                )
                for (of, where), count in sightings
            ],
            batch_size=BATCH,
        )
        Sighting.objects.bulk_create(
            [
                Sighting(
                    node=node,
                    sighting_of_id=pks[of],
                    where_sighted_id=pks[where],
                    count=count,
                    first_seen=T0,
                    last_seen=T0 + timedelta(days=1),
                )
                for node, ((of, where), count) in zip(nodes, sightings, strict=True)
            ],
            batch_size=BATCH,
        )
        ObjectRef.objects.bulk_create(
            [ObjectRef(container_id=pks[c], member_id=pks[m]) for c, m in set(g.refs)],
            batch_size=BATCH,
            ignore_conflicts=True,
        )
    counts = {
        "nodes": len(g.nodes),
        "relationships": len(rels),
        "sightings": len(sightings),
        "object_refs": len(set(g.refs)),
        "by_type": dict(Counter(t for t, _, _ in rels).most_common()),
        "seconds": round(time.perf_counter() - started, 1),
    }
    if progress:
        progress(f"generated {counts}")
    return counts


def generate(n: int, seed: int = 0, progress=print) -> dict:
    return write(build(n, seed), progress)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--relationships", "-n", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--reset", action="store_true", help="empty the graph first")
    args = parser.parse_args()
    setup_django()
    if args.reset:
        reset_graph()
    generate(args.relationships, args.seed)


if __name__ == "__main__":
    main()
