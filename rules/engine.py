"""Materialise rule consequences and keep them true.

Insertion is semi-naive: a round evaluates every active rule's SQL join restricted to facts
newer than the previous round's watermark (one query per body atom that a new fact can match,
driven by those facts), inserts the new facts and explanations in bounded batches, and stops
when a round adds nothing (cycles in the data terminate: a fact is one row and an explanation
is unique per rule and sources).

Deletion is delete-and-rederive: every explanation resting on a removed fact is dropped, facts
that lose one (and are not asserted by a user or an import) go too, transitively, whatever other
explanations they had; then the rules run again where something can come back (`rederive`:
around the heads of what was dropped, the changed nodes and, for facts a user deleted, the heads
missing), so facts with another derivation come back and facts held up only by each other
(cycles) stay gone."""

import hashlib
from collections import defaultdict
from collections.abc import Iterable
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Exists, Max, OuterRef, Q
from django.utils import timezone

from cti.intel.choices import RELATIONSHIP, SIGHTING
from cti.intel.ids import derived_id
from cti.intel.models import (
    Explanation,
    ExplanationSource,
    ObjectRef,
    Relationship,
    Sighting,
    StixObject,
)
from cti.intel.validation import format_timestamp
from rules.compiler import NewFacts, compile_rule, head_variables_of, rule_variables
from rules.dsl import (
    AuthoredBy,
    InferIncident,
    InferRef,
    InferRel,
    InferSighting,
    Is,
    NotRevoked,
    RuleDefinition,
)
from rules.dsl import Sighting as SightingAtom

BATCH = 2000
EXPLANATIONS = Explanation._meta.db_table
MAX_ROUNDS = 100
# above this many nodes to look around, rederive evaluates over all data instead
REDERIVE_LIMIT = 20_000


@dataclass(frozen=True)
class Watermark:
    node: int
    ref: int

    @classmethod
    def now(cls) -> "Watermark":
        return cls(
            StixObject.objects.aggregate(m=Max("pk"))["m"] or 0,
            ObjectRef.objects.aggregate(m=Max("pk"))["m"] or 0,
        )


def _digest(rule_id: str, head: int, sources: list[tuple[str, int]]) -> str:
    text = f"{rule_id}|{head}|" + ",".join(f"{k}:{i}" for k, i in sorted(sources))
    return hashlib.sha1(text.encode()).hexdigest()


def _stix_ids(pks: Iterable[int]) -> dict[int, str]:
    return dict(StixObject.objects.filter(pk__in=set(pks)).values_list("pk", "stix_id"))


# ---- facts ------------------------------------------------------------------------------


def _relationship_facts(rel_type: str, pairs: set[tuple[int, int]]) -> dict[tuple, int]:
    """Node ids of the (source, target) relationships of a type, created where missing."""
    sources = {s for s, _ in pairs}
    existing: dict[tuple, int] = {}
    for s, t, node in (
        Relationship.objects.filter(
            relationship_type=rel_type, source_id__in=sources, target_id__in={t for _, t in pairs}
        )
        .order_by("pk")
        .values_list("source_id", "target_id", "node_id")
    ):
        existing.setdefault((s, t), node)
    missing = pairs - existing.keys()
    if missing:
        stix = _stix_ids({p for pair in missing for p in pair})
        keys = {
            pair: derived_id(RELATIONSHIP, rel_type, stix[pair[0]], stix[pair[1]])
            for pair in missing
        }
        StixObject.objects.bulk_create(
            [
                StixObject(
                    stix_id=keys[(s, t)],
                    type=RELATIONSHIP,
                    asserted=False,
                    inferred=True,
                    properties={
                        "type": RELATIONSHIP,
                        "spec_version": "2.1",
                        "id": keys[(s, t)],
                        "relationship_type": rel_type,
                        "source_ref": stix[s],
                        "target_ref": stix[t],
                    },
                )
                for s, t in missing
            ],
            ignore_conflicts=True,
        )
        nodes = dict(
            StixObject.objects.filter(stix_id__in=keys.values()).values_list("stix_id", "pk")
        )
        Relationship.objects.bulk_create(
            [
                Relationship(
                    node_id=nodes[keys[(s, t)]],
                    relationship_type=rel_type,
                    source_id=s,
                    target_id=t,
                    asserted=False,
                    inferred=True,
                )
                for s, t in missing
            ],
            ignore_conflicts=True,
        )
        existing.update({pair: nodes[keys[pair]] for pair in missing})
    return existing


def _sighting_facts(pairs: set[tuple[int, int]]) -> dict[tuple, int]:
    existing: dict[tuple, int] = {}
    for of, where, node in (
        Sighting.objects.filter(
            sighting_of_id__in={o for o, _ in pairs}, where_sighted_id__in={w for _, w in pairs}
        )
        .order_by("pk")
        .values_list("sighting_of_id", "where_sighted_id", "node_id")
    ):
        existing.setdefault((of, where), node)
    missing = pairs - existing.keys()
    if missing:
        stix = _stix_ids({p for pair in missing for p in pair})
        keys = {pair: derived_id(SIGHTING, stix[pair[0]], stix[pair[1]]) for pair in missing}
        StixObject.objects.bulk_create(
            [
                StixObject(
                    stix_id=keys[(o, w)],
                    type=SIGHTING,
                    asserted=False,
                    inferred=True,
                    properties={
                        "type": SIGHTING,
                        "spec_version": "2.1",
                        "id": keys[(o, w)],
                        "sighting_of_ref": stix[o],
                        "where_sighted_refs": [stix[w]],
                    },
                )
                for o, w in missing
            ],
            ignore_conflicts=True,
        )
        nodes = dict(
            StixObject.objects.filter(stix_id__in=keys.values()).values_list("stix_id", "pk")
        )
        Sighting.objects.bulk_create(
            [
                Sighting(
                    node_id=nodes[keys[(o, w)]],
                    sighting_of_id=o,
                    where_sighted_id=w,
                    count=0,
                    asserted=False,
                    inferred=True,
                )
                for o, w in missing
            ],
            ignore_conflicts=True,
        )
        existing.update({pair: nodes[keys[pair]] for pair in missing})
    return existing


def _ref_facts(pairs: set[tuple[int, int]]) -> dict[tuple, int]:
    ObjectRef.objects.bulk_create(
        [ObjectRef(container_id=c, member_id=m, asserted=False, inferred=True) for c, m in pairs],
        ignore_conflicts=True,
    )
    return {
        (c, m): pk
        for c, m, pk in ObjectRef.objects.filter(
            container_id__in={c for c, _ in pairs}, member_id__in={m for _, m in pairs}
        ).values_list("container_id", "member_id", "pk")
        if (c, m) in pairs
    }


def _incident_key(indicator: str, target: str, sighting: str, seen, window: int) -> str:
    """The STIX id of the incident a sighting raises: one per sighting, or with a grouping
    window one per indicator, target and window the sighting's first (else last) seen is in."""
    if window:
        bucket = str(int(seen.timestamp() // (window * 86400))) if seen else "undated"
        return derived_id("incident", indicator, target, bucket)
    return derived_id("incident", indicator, target, sighting)


def _incident_facts(rows: list[tuple[int, int, int]]) -> dict[tuple, int]:
    """(indicator, target, sighting) -> incident node; grouped per sighting (as OpenCTI) or
    per indicator, target and time window (CTI_INCIDENT_GROUPING_DAYS > 0)."""
    window = getattr(settings, "CTI_INCIDENT_GROUPING_DAYS", 0)
    sightings = {s.pk: s for s in Sighting.objects.filter(pk__in={r[2] for r in rows})}
    nodes = {n.pk: n for n in StixObject.objects.filter(pk__in={p for r in rows for p in r})}
    keys = {
        (a, c, s): _incident_key(
            nodes[a].stix_id,
            nodes[c].stix_id,
            nodes[s].stix_id,
            sightings[s].first_seen or sightings[s].last_seen,
            window,
        )
        for a, c, s in rows
    }
    new = []
    for (a, c, s), stix_id in keys.items():
        indicator, sighting = nodes[a], sightings[s]
        props = indicator.properties
        confidence = indicator.confidence or 0
        severity = (
            "critical"
            if confidence >= 90
            else "high"
            if confidence >= 70
            else "medium"
            if confidence >= 40
            else "low"
        )
        obj = {
            "type": "incident",
            "spec_version": "2.1",
            "id": stix_id,
            "name": f"Sighting on valid indicator {indicator.name or indicator.stix_id}",
            "description": "Automatically generated incident based on indicator pattern: "
            f"{props.get('pattern', '')}",
            "incident_type": "alert",
            "severity": severity,
            "source": f"sighting in {nodes[c].name or nodes[c].stix_id}",
        }
        for key in ("first_seen", "last_seen"):
            if getattr(sighting, key):
                obj[key] = format_timestamp(getattr(sighting, key))
        new.append(
            StixObject(
                stix_id=stix_id,
                type="incident",
                name=obj["name"][:512],
                properties=obj,
                asserted=False,
                inferred=True,
                confidence=indicator.confidence,
                marking_refs=indicator.marking_refs,
            )
        )
    StixObject.objects.bulk_create(new, ignore_conflicts=True)
    pks = dict(
        StixObject.objects.filter(stix_id__in=set(keys.values())).values_list("stix_id", "pk")
    )
    return {row: pks[stix_id] for row, stix_id in keys.items()}


# ---- explanations -----------------------------------------------------------------------


@dataclass
class _Pending:
    rule: str
    head: int
    fact_node: int | None
    fact_ref: int | None
    sources: list[tuple[str, int]]


def _record(pending: list[_Pending]) -> int:
    """Insert the explanations not stored yet; flag their facts inferred. Returns how many."""
    if not pending:
        return 0
    for p in pending:
        p.digest = _digest(p.rule, p.head, p.sources)  # type: ignore[attr-defined]
    known = _known(pending)
    fresh, seen = [], set()
    for p in pending:
        key = (p.rule, p.fact_node, p.fact_ref, p.digest)  # type: ignore[attr-defined]
        if key not in known and key not in seen:
            seen.add(key)
            fresh.append(p)
    names = _source_names(fresh)
    rows = Explanation.objects.bulk_create(
        [
            Explanation(
                rule=p.rule,
                node_id=p.fact_node,
                object_ref_id=p.fact_ref,
                sources=[names[src] for src in p.sources],
                digest=p.digest,
            )  # type: ignore
            for p in fresh
        ],
        ignore_conflicts=connection.vendor != "postgresql",
    )
    if any(r.pk is None for r in rows):
        ids = dict(
            ((e.rule, e.node_id, e.object_ref_id, e.digest), e.pk)
            for e in Explanation.objects.filter(_explanations_of(fresh))
        )
        for r in rows:
            r.pk = ids.get((r.rule, r.node_id, r.object_ref_id, r.digest))
    ExplanationSource.objects.bulk_create(
        [
            ExplanationSource(
                explanation_id=row.pk, **({"node_id": i} if k == "node" else {"object_ref_id": i})
            )
            for row, p in zip(rows, fresh, strict=True)
            for k, i in p.sources
        ]
    )
    nodes = {p.fact_node for p in fresh if p.fact_node}
    refs = {p.fact_ref for p in fresh if p.fact_ref}
    # edge rows before their nodes, as the sighting writers lock them (cti.intel.services)
    _update_in_order(Relationship.objects.filter(pk__in=nodes, inferred=False), inferred=True)
    _update_in_order(Sighting.objects.filter(pk__in=nodes, inferred=False), inferred=True)
    _update_in_order(StixObject.objects.filter(pk__in=nodes, inferred=False), inferred=True)
    _update_in_order(ObjectRef.objects.filter(pk__in=refs, inferred=False), inferred=True)
    refresh_sighting_aggregates(nodes)
    return len(fresh)


def _update_in_order(queryset, **values) -> None:
    """Update rows that writers of the graph may hold: on PostgreSQL, locked first in
    primary-key order (an UPDATE locks in whatever order its plan reads), so that the engine
    and a concurrent writer that also locks in key order queue instead of deadlocking."""
    if connection.vendor == "postgresql" and not connection.get_autocommit():
        locked = list(queryset.order_by("pk").select_for_update().values_list("pk", flat=True))
        if not locked:
            return
        queryset = queryset.model.objects.filter(pk__in=locked)
    queryset.update(**values)


def _explanations_of(pending: list[_Pending]) -> Q:
    """The stored explanations that may be these, found through the unique indexes (rule,
    fact, digest): the digest alone has no index."""
    found = Q(pk__in=[])
    for rule in {p.rule for p in pending}:
        mine = [p for p in pending if p.rule == rule]
        digests = {p.digest for p in mine}  # type: ignore[attr-defined]
        nodes = {p.fact_node for p in mine if p.fact_node is not None}
        refs = {p.fact_ref for p in mine if p.fact_ref is not None}
        if nodes:
            found |= Q(rule=rule, node_id__in=nodes, digest__in=digests)
        if refs:
            found |= Q(rule=rule, object_ref_id__in=refs, digest__in=digests)
    return found


def _known(pending: list[_Pending]) -> set[tuple]:
    if connection.vendor == "postgresql":  # arrays: one parameter each, not thousands
        found: set[tuple] = set()
        with connection.cursor() as cursor:
            for rule in {p.rule for p in pending}:
                mine = [p for p in pending if p.rule == rule]
                digests = sorted({p.digest for p in mine})  # type: ignore[attr-defined]
                for column, facts in (
                    ("node_id", {p.fact_node for p in mine if p.fact_node is not None}),
                    ("object_ref_id", {p.fact_ref for p in mine if p.fact_ref is not None}),
                ):
                    if not facts:
                        continue
                    cursor.execute(
                        f"SELECT rule, node_id, object_ref_id, digest FROM {EXPLANATIONS} "
                        f"WHERE rule = %s AND {column} = ANY(%s) AND digest = ANY(%s)",
                        [rule, sorted(facts), digests],
                    )
                    found.update(map(tuple, cursor.fetchall()))
        return found
    return set(
        Explanation.objects.filter(_explanations_of(pending)).values_list(
            "rule", "node_id", "object_ref_id", "digest"
        )
    )


def _source_names(pending: list[_Pending]) -> dict[tuple[str, int], str]:
    """Explanations show their sources by STIX id (a container reference as
    `ref:<container id>:<member id>`)."""
    node_ids = {i for p in pending for k, i in p.sources if k == "node"}
    ref_ids = {i for p in pending for k, i in p.sources if k == "ref"}
    names = {("node", pk): stix for pk, stix in _stix_ids(node_ids).items()}
    for pk, container, member in ObjectRef.objects.filter(pk__in=ref_ids).values_list(
        "pk", "container__stix_id", "member__stix_id"
    ):
        names[("ref", pk)] = f"ref:{container}:{member}"
    return names


def refresh_sighting_aggregates(node_ids: set[int]) -> None:
    """An inferred-only sighting counts the source sightings of all its explanations
    (count SUM, first_seen MIN, last_seen MAX)."""
    targets = list(Sighting.objects.filter(pk__in=node_ids, asserted=False))
    if not targets:
        return
    sources = defaultdict(set)
    for fact, source in ExplanationSource.objects.filter(
        explanation__node_id__in=[t.pk for t in targets], node_id__isnull=False
    ).values_list("explanation__node_id", "node_id"):
        sources[fact].add(source)
    base = {
        s.pk: s
        for s in Sighting.objects.filter(pk__in={i for ids in sources.values() for i in ids})
    }
    for target in targets:
        used = [base[i] for i in sources[target.pk] if i in base]
        target.count = sum(s.count for s in used) or 1
        target.first_seen = min((s.first_seen for s in used if s.first_seen), default=None)
        target.last_seen = max((s.last_seen for s in used if s.last_seen), default=None)
    Sighting.objects.bulk_update(targets, ["count", "first_seen", "last_seen"])


# ---- evaluation -------------------------------------------------------------------------


def _apply_rows(rule: RuleDefinition, compiled, rows: list[tuple]) -> int:
    width = len(compiled.head_vars)
    index = {v: i for i, v in enumerate(compiled.head_vars)}
    sources_of = [
        [(src.kind, row[width + j]) for j, src in enumerate(compiled.sources)] for row in rows
    ]
    pending: list[_Pending] = []
    for h, head in enumerate(rule.heads):
        if isinstance(head, InferRel):
            pairs = {(r[index[head.source]], r[index[head.target]]) for r in rows}
            facts = _relationship_facts(head.type, pairs)
            for r, src in zip(rows, sources_of, strict=True):
                key = (r[index[head.source]], r[index[head.target]])
                pending.append(_Pending(rule.id, h, facts[key], None, src))
        elif isinstance(head, InferSighting):
            pairs = {(r[index[head.of]], r[index[head.where]]) for r in rows}
            facts = _sighting_facts(pairs)
            for r, src in zip(rows, sources_of, strict=True):
                pending.append(
                    _Pending(
                        rule.id, h, facts[(r[index[head.of]], r[index[head.where]])], None, src
                    )
                )
        elif isinstance(head, InferRef):
            pairs = {(r[index[head.container]], r[index[head.member]]) for r in rows}
            facts = _ref_facts(pairs)
            for r, src in zip(rows, sources_of, strict=True):
                key = (r[index[head.container]], r[index[head.member]])
                pending.append(_Pending(rule.id, h, None, facts[key], src))
        elif isinstance(head, InferIncident):
            sighting_of = [src[0][1] for src in sources_of]  # the sighting is the first fact
            triples = [
                (r[index[head.indicator]], r[index[head.target]], s)
                for r, s in zip(rows, sighting_of, strict=True)
            ]
            incidents = _incident_facts(triples)
            related = _relationship_facts("related-to", {(incidents[t], t[0]) for t in triples})
            targets = _relationship_facts("targets", {(incidents[t], t[1]) for t in triples})
            for t, src in zip(triples, sources_of, strict=True):
                incident = incidents[t]
                pending.append(_Pending(rule.id, h, incident, None, src))
                pending.append(
                    _Pending(
                        rule.id,
                        h + 100,
                        related[(incident, t[0])],
                        None,
                        [*src, ("node", incident)],
                    )
                )
                pending.append(
                    _Pending(
                        rule.id,
                        h + 200,
                        targets[(incident, t[1])],
                        None,
                        [*src, ("node", incident)],
                    )
                )
    return _record(pending)


def run_rule(
    rule: RuleDefinition, since: Watermark | None = None, progress=None, new: NewFacts | None = None
) -> int:
    """Evaluate one rule (restricted to facts newer than `since`), in bounded batches."""
    compiled = compile_rule(
        rule, since.node if since else None, since.ref if since else None, new=new
    )
    return _run(rule, compiled, progress) if compiled is not None else 0


def new_facts(since: Watermark) -> NewFacts:
    """What kinds of facts are newer than the watermark (a few index look-ups): a round runs
    only the queries of the atoms they can match."""
    return NewFacts(
        frozenset(
            Relationship.objects.filter(pk__gt=since.node)
            .values_list("relationship_type", flat=True)
            .distinct()
        ),
        Sighting.objects.filter(pk__gt=since.node).exists(),
        ObjectRef.objects.filter(pk__gt=since.ref).exists(),
    )


def _run(rule: RuleDefinition, compiled, progress=None) -> int:
    added = 0
    with connection.cursor() as cursor:
        # The joins of a delta or focused query are written from the few new (or focused)
        # facts outwards: planning them in that order costs far less than searching every
        # order (milliseconds per query, against well under one to run it). Anti-joins over
        # all data probe hub nodes row by row unless hashed. (The rows are fetched by execute:
        # the setting is back before they are processed.)
        setting = (
            "join_collapse_limit"
            if compiled.ordered
            else "enable_nestloop"
            if compiled.hashed
            else None
        )
        if setting and connection.vendor == "postgresql":
            value = "1" if compiled.ordered else "off"
            with connection.cursor() as guc:
                guc.execute(f"SET {setting} = {value}")
                try:
                    cursor.execute(compiled.sql, compiled.params)
                finally:
                    guc.execute(f"RESET {setting}")
        else:
            cursor.execute(compiled.sql, compiled.params)
        while rows := cursor.fetchmany(BATCH):
            with transaction.atomic():
                added += _apply_rows(rule, compiled, rows)
            if progress:
                progress(len(rows))
    return added


def evaluate(rules: list[RuleDefinition], since: Watermark | None = None, progress=None) -> int:
    """Run rules to a fixpoint; `since=None` evaluates over all data (bulk activation)."""
    total = 0
    for _ in range(MAX_ROUNDS):
        mark = Watermark.now()
        new = new_facts(since) if since is not None else None
        added = sum(run_rule(rule, since, progress, new) for rule in rules)
        total += added
        if added == 0:
            return total
        since = mark
    raise RuntimeError("rule evaluation did not reach a fixpoint")


# ---- attribute-only changes ---------------------------------------------------------------
#
# A rule joins a sighting on its two ends, which never change (an update of a sighting keeps
# its pair). What reads a sighting's count and dates is downstream of the joins: the
# aggregates of inferred-only sightings and the dates (and, with a grouping window, the key)
# of the incidents it raises. So a sighting whose count or dates changed needs no retraction
# and re-derivation (which deletes the incident and makes it again, under a new row): those
# are refreshed in place.


def _reads_sighting_nodes(rules: list[RuleDefinition]) -> bool:
    """Whether a rule's join reads a sighting's own node (revoked, author, or the node as a
    dependency): then a changed sighting can change what the rule derives."""
    for rule in rules:
        ids = {atom.id for atom in rule.body if isinstance(atom, SightingAtom)}
        for atom in rule.body:
            if isinstance(atom, NotRevoked | AuthoredBy) and atom.var in ids:
                return True
            if isinstance(atom, Is) and atom.dependency and atom.var in ids:
                return True
    return False


def attribute_changes(rules: list[RuleDefinition], nodes: set[int]) -> set[int]:
    """The changed nodes whose change no rule's join sees: the sighting rows among them
    (none when a rule reads a sighting's own node)."""
    if not nodes or _reads_sighting_nodes(rules):
        return set()
    found: set[int] = set()
    for chunk in _chunks(sorted(nodes), 5000):
        found.update(Sighting.objects.filter(pk__in=chunk).values_list("pk", flat=True))
    return found


def refresh_attributes(sightings: set[int]) -> set[int]:
    """After sightings changed only in count or dates: refresh the aggregates of the
    inferred-only sightings resting on them (transitively, each once) and the dates of the
    incidents they raised. Returns the sightings whose incident would now be another one (a
    grouping window whose first_seen moved to another window): those must be retracted and
    re-derived like any other change."""
    seen, frontier = set(sightings), set(sightings)
    while frontier:
        heads: set[int] = set()
        for chunk in _chunks(sorted(frontier), 5000):
            heads.update(
                ExplanationSource.objects.filter(node_id__in=chunk)
                .exclude(explanation__node_id=None)
                .values_list("explanation__node_id", flat=True)
            )
        inferred = set(
            Sighting.objects.filter(pk__in=heads - seen, asserted=False).values_list(
                "pk", flat=True
            )
        )
        refresh_sighting_aggregates(inferred)
        seen |= inferred
        frontier = inferred
    return _refresh_incidents(seen)


def _refresh_incidents(sightings: set[int]) -> set[int]:
    """The first_seen and last_seen of the inferred incidents these sightings raised become
    the span of all the incident's sightings. Returns the sightings whose incident key
    changed (see refresh_attributes)."""
    incidents: set[int] = set()
    for chunk in _chunks(sorted(sightings), 5000):
        incidents.update(
            ExplanationSource.objects.filter(
                node_id__in=chunk,
                explanation__node__type="incident",
                explanation__node__asserted=False,
            ).values_list("explanation__node_id", flat=True)
        )
    if not incidents:
        return set()
    by_incident: dict[int, set[int]] = defaultdict(set)
    for incident, source in ExplanationSource.objects.filter(
        explanation__node_id__in=incidents, node_id__isnull=False
    ).values_list("explanation__node_id", "node_id"):
        by_incident[incident].add(source)
    rows = {
        row[0]: row
        for row in Sighting.objects.filter(
            pk__in={s for found in by_incident.values() for s in found}
        ).values_list("pk", "sighting_of_id", "where_sighted_id", "first_seen", "last_seen")
    }
    nodes = {n.pk: n for n in StixObject.objects.filter(pk__in=incidents)}
    window = getattr(settings, "CTI_INCIDENT_GROUPING_DAYS", 0)
    moved: set[int] = set()
    if window:
        stix = _stix_ids({p for row in rows.values() for p in row[:3]})
        for incident, found in by_incident.items():
            for pk in found & rows.keys() & sightings:
                _, of, where, first, last = rows[pk]
                key = _incident_key(stix[of], stix[where], stix[pk], first or last, window)
                if key != nodes[incident].stix_id:
                    moved.add(pk)
    changed = []
    now = timezone.now()
    for incident, found in by_incident.items():
        used = [rows[pk] for pk in found if pk in rows and pk not in moved]
        if not used or incident not in nodes:
            continue
        node = nodes[incident]
        props = dict(node.properties)
        for key, value in (
            ("first_seen", min((r[3] for r in used if r[3]), default=None)),
            ("last_seen", max((r[4] for r in used if r[4]), default=None)),
        ):
            if value is None:
                props.pop(key, None)
            else:
                props[key] = format_timestamp(value)
        if props != node.properties:
            node.properties, node.last_updated = props, now
            changed.append(node)
    StixObject.objects.bulk_update(changed, ["properties", "last_updated"])
    return moved


# ---- truth maintenance ------------------------------------------------------------------


def _unsupported(nodes: set[int], refs: set[int]) -> tuple[set[int], set[int]]:
    """The facts that go when they lose an explanation: every one not asserted, even if it has
    other explanations (over-deletion), because those may rest on it through a cycle (A -> C
    explained by A -> D and D -> C, A -> D by A -> C and C -> D); what still holds comes back
    when the rules run again. Asserted facts stay, flagged inferred while still explained."""
    has_node_expl = Exists(Explanation.objects.filter(node_id=OuterRef("pk")))
    has_ref_expl = Exists(Explanation.objects.filter(object_ref_id=OuterRef("pk")))
    dead_nodes = set(
        StixObject.objects.filter(pk__in=nodes, asserted=False).values_list("pk", flat=True)
    )
    dead_refs = set(
        ObjectRef.objects.filter(pk__in=refs, asserted=False).values_list("pk", flat=True)
    )
    # edge rows before their nodes, as the sighting writers lock them (cti.intel.services)
    for model, ids, expl in (
        (Relationship, nodes, has_node_expl),
        (Sighting, nodes, has_node_expl),
        (StixObject, nodes, has_node_expl),
        (ObjectRef, refs, has_ref_expl),
    ):
        _update_in_order(
            model.objects.filter(pk__in=ids, asserted=True, inferred=True).exclude(expl),
            inferred=False,
        )
    return dead_nodes, dead_refs


def _with_dependents(nodes: set[int], refs: set[int]) -> tuple[set[int], set[int]]:
    """Deleting nodes deletes the edges and references that hang on them."""
    nodes = set(nodes)
    frontier = set(nodes)
    while frontier:
        edges = set(
            Relationship.objects.filter(
                Q(source_id__in=frontier) | Q(target_id__in=frontier)
            ).values_list("pk", flat=True)
        )
        edges |= set(
            Sighting.objects.filter(
                Q(sighting_of_id__in=frontier) | Q(where_sighted_id__in=frontier)
            ).values_list("pk", flat=True)
        )
        frontier = edges - nodes
        nodes |= frontier
    refs = set(refs) | set(
        ObjectRef.objects.filter(Q(container_id__in=nodes) | Q(member_id__in=nodes)).values_list(
            "pk", flat=True
        )
    )
    return nodes, refs


def _vanished_edges() -> set[int]:
    """Relationship and sighting nodes whose edge row is gone: deleting an object cascades to
    the rows of its relationships but leaves their nodes, and only the object's deletion is
    announced. What rested on those relationships goes, and inferred ones with them."""
    orphans = set(
        StixObject.objects.filter(type__in=(RELATIONSHIP, SIGHTING))
        .exclude(Exists(Relationship.objects.filter(node_id=OuterRef("pk"))))
        .exclude(Exists(Sighting.objects.filter(node_id=OuterRef("pk"))))
        .values_list("pk", flat=True)
    )
    return orphans


def _ends(nodes: set[int], refs: set[int]) -> set[int]:
    ends: set[int] = set()
    for pair in Relationship.objects.filter(pk__in=nodes).values_list("source_id", "target_id"):
        ends.update(pair)
    for pair in Sighting.objects.filter(pk__in=nodes).values_list(
        "sighting_of_id", "where_sighted_id"
    ):
        ends.update(p for p in pair if p is not None)
    for pair in ObjectRef.objects.filter(pk__in=refs).values_list("container_id", "member_id"):
        ends.update(pair)
    return ends


def rederive(
    rules: list[RuleDefinition],
    ends: set[int],
    changed: set[int] = frozenset(),  # type: ignore[assignment]
    *,
    deleted_nodes: bool = False,
    deleted_refs: bool = False,
    since: Watermark | None = None,
) -> int:
    """After `retract`: bring back what still holds, looking only where it can be.

    - a fact that lost an explanation has its head at `ends` (what retract returned): each
      rule runs restricted to combinations with a head variable there;
    - a changed node (an indicator revoked or not, an author set) may enable combinations
      that did not hold before: each rule runs restricted to combinations using it anywhere;
    - a fact deleted by a user (`deleted_nodes`: a relationship or sighting, `deleted_refs`:
      a container reference) took its explanations with it, and its ends are unknown: if a
      rule still derives it, its head is missing, which the rule's join anti-joined on its
      heads finds (a full join, but no bookkeeping);
    then the semi-naive fixpoint from what this added (and from `since`, new facts of the same
    batch). Everything so found is a true consequence, so looking too widely only costs time;
    for very wide neighbourhoods (a rule deactivated) the full evaluation is cheaper."""
    if len(ends) + len(changed) > REDERIVE_LIMIT:
        return evaluate(rules, None)
    mark = Watermark.now()
    added = 0
    for rule in rules:
        heads = {head_variables_of(head)[0] for head in rule.heads}
        focus = [
            (var, chunk)
            for var in rule_variables(rule)
            for chunk in _chunks(sorted((ends if var in heads else set()) | set(changed)))
        ]
        for start in range(0, len(focus), 20):  # a UNION ALL of up to 20 queries at a time
            added += _run(rule, compile_rule(rule, focus=focus[start : start + 20]))
    if since is not None:
        mark = Watermark(min(mark.node, since.node), min(mark.ref, since.ref))
    added += evaluate(rules, mark)
    if deleted_nodes or deleted_refs:
        # last, when everything else is back: only what the user deleted is left missing
        mark = Watermark.now()
        found = 0
        for rule in rules:
            refs = any(isinstance(head, InferRef) for head in rule.heads)
            if (deleted_refs and refs) or (deleted_nodes and not refs):
                found += _run(rule, compile_rule(rule, missing=True))
        if found:
            added += found + evaluate(rules, mark)
    return added


def _chunks(ids: list[int], size: int = 500):
    for i in range(0, len(ids), size):
        yield ids[i : i + size]


def retract(
    nodes: set[int], refs: set[int], *, rule_id: str | None = None, vanished: bool = True
) -> set[int]:
    """Drop what rests on the given facts (or, with rule_id and no facts, everything that rule
    inferred), cascading to every fact that loses an explanation; the caller evaluates the
    rules again to bring back what still holds (`rederive`, or `evaluate` over all data).
    Returns the ends of every fact that lost an explanation (relationship source and target,
    sighting of and where, container and member): what can come back has its head there."""
    if rule_id is not None:
        pending = set(Explanation.objects.filter(rule=rule_id).values_list("pk", flat=True))
    else:
        # (only a deletion leaves vanished edges; `vanished=False` when none was announced)
        nodes = set(nodes) | _vanished_edges() if nodes and vanished else set(nodes)
        # A changed container may have lost members that stay as inferred references (the import
        # un-asserts them without deleting them): what rested on them, possibly in a cycle
        # through them, is re-derived.
        refs = set(refs) | set(
            ObjectRef.objects.filter(container_id__in=nodes, asserted=False).values_list(
                "pk", flat=True
            )
        )
        pending = _resting_on(nodes, refs) | _explaining(nodes, set())
    ends: set[int] = set()
    while True:
        ids = pending
        if not ids:
            return ends
        touched = Explanation.objects.filter(pk__in=ids)
        fact_nodes = set(touched.exclude(node_id=None).values_list("node_id", flat=True))
        fact_refs = set(touched.exclude(object_ref_id=None).values_list("object_ref_id", flat=True))
        ends |= _ends(fact_nodes, fact_refs)
        ExplanationSource.objects.filter(explanation_id__in=ids).delete()
        touched.delete()
        dead_nodes, dead_refs = _unsupported(fact_nodes, fact_refs)
        dead_nodes, dead_refs = _with_dependents(dead_nodes, dead_refs)
        if not dead_nodes and not dead_refs:
            return ends
        pending = _resting_on(dead_nodes, dead_refs) | _explaining(dead_nodes, dead_refs)
        ObjectRef.objects.filter(pk__in=dead_refs).delete()
        StixObject.objects.filter(pk__in=dead_nodes).delete()
        # (explanations of the deleted facts went with them)
        pending = set(Explanation.objects.filter(pk__in=pending).values_list("pk", flat=True))


def _resting_on(nodes: set[int], refs: set[int]) -> set[int]:
    """Explanations with one of these facts among their sources (one indexed look-up per kind:
    an OR across the join would read every explanation)."""
    found: set[int] = set()
    if nodes:
        found |= set(
            ExplanationSource.objects.filter(node_id__in=nodes).values_list(
                "explanation_id", flat=True
            )
        )
    if refs:
        found |= set(
            ExplanationSource.objects.filter(object_ref_id__in=refs).values_list(
                "explanation_id", flat=True
            )
        )
    return found


def _explaining(nodes: set[int], refs: set[int]) -> set[int]:
    """Explanations of these facts."""
    found: set[int] = set()
    if nodes:
        found |= set(Explanation.objects.filter(node_id__in=nodes).values_list("pk", flat=True))
    if refs:
        found |= set(
            Explanation.objects.filter(object_ref_id__in=refs).values_list("pk", flat=True)
        )
    return found


# ---- the engine's own writes are not graph changes to react to ---------------------------

_writing: ContextVar[bool] = ContextVar("rules_engine_writing", default=False)


@contextmanager
def engine_writes():
    token = _writing.set(True)
    try:
        yield
    finally:
        _writing.reset(token)


def engine_is_writing() -> bool:
    return _writing.get()
