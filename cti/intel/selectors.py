"""Reads of the knowledge graph: objects as STIX 2.1, bundles, neighbourhoods, case contents."""

from collections.abc import Iterable, Iterator

from django.db.models import Q, QuerySet

from cti.intel.choices import CASE, RELATIONSHIP, SIGHTING, SIGHTING_PARTS
from cti.intel.ids import random_id
from cti.intel.models import Explanation, ObjectRef, Relationship, Sighting, StixObject
from cti.intel.validation import StixInvalid, format_timestamp, parse_timestamp
from cti.security.visibility import visible


def _same_instant(text, value) -> bool:
    try:
        return isinstance(text, str) and parse_timestamp(text, "") == value
    except StixInvalid:
        return False


def sighting_stix(node: StixObject) -> dict:
    sighting: Sighting = node.sighting
    obj = dict(node.properties)
    obj.pop(SIGHTING_PARTS, None)
    obj["count"] = sighting.count
    for key in ("first_seen", "last_seen"):
        value = getattr(sighting, key)
        if not value:
            obj.pop(key, None)
        elif not _same_instant(obj.get(key), value):  # keep the posted spelling when it holds
            obj[key] = format_timestamp(value)
    if sighting.where_sighted_id:
        obj["where_sighted_refs"] = [sighting.where_sighted.stix_id]
    return obj


def stix_of(node: StixObject) -> dict:
    """The STIX 2.1 form of a stored node (relationships and sightings included)."""
    if node.type == SIGHTING and hasattr(node, "sighting"):
        return sighting_stix(node)
    return dict(node.properties)


def inferences_of(node: StixObject) -> list[dict]:
    return [
        {"rule": e.rule, "explanation": e.sources, **({"data": e.data} if e.data else {})}
        for e in node.explanations.all()
    ]


def graph_objects() -> QuerySet:
    return StixObject.objects.exclude(type__in=(RELATIONSHIP, SIGHTING, CASE))


def stix_queryset(ids: Iterable[int]) -> QuerySet:
    return (
        StixObject.objects.filter(pk__in=list(ids))
        .select_related("sighting__where_sighted")
        .order_by("pk")
    )


def neighbourhood(node_ids: set[int]) -> set[int]:
    """The nodes, their relationships and sightings, and those relationships' other ends."""
    rels = Relationship.objects.filter(Q(source_id__in=node_ids) | Q(target_id__in=node_ids))
    sightings = Sighting.objects.filter(
        Q(sighting_of_id__in=node_ids) | Q(where_sighted_id__in=node_ids)
    )
    found = set(node_ids)
    for pk, source, target in rels.values_list("pk", "source_id", "target_id"):
        found |= {pk, source, target}
    for pk, of, where in sightings.values_list("pk", "sighting_of_id", "where_sighted_id"):
        found |= {pk, of} | ({where} if where else set())
    return found


def visible_node_ids(user, node_ids: set[int]) -> set[int]:
    """The ids among `node_ids` of the graph objects `user` may see (all of them for None,
    the system)."""
    if user is None or not node_ids:
        return node_ids
    rows = visible(StixObject.objects.filter(pk__in=node_ids), user)
    return set(rows.values_list("pk", flat=True))


def with_dependencies(node_ids: set[int]) -> set[int]:
    """Add what the objects reference (endpoints, authors, markings, container members, a
    sighting's observed data) so that an export stands on its own."""
    found = set(node_ids)
    frontier = set(node_ids)
    while frontier:
        new: set[int] = set()
        for chunk in _id_chunks(frontier):
            new |= _dependencies(chunk)
        frontier = new - found
        found |= new
    return found


def _id_chunks(ids: set[int], size: int = 5000) -> Iterator[list[int]]:
    ordered = sorted(ids)
    for start in range(0, len(ordered), size):
        yield ordered[start : start + size]


def _dependencies(chunk: list[int]) -> set[int]:
    new: set[int] = set()
    for source, target in Relationship.objects.filter(pk__in=chunk).values_list(
        "source_id", "target_id"
    ):
        new |= {source, target}
    refs: set[str] = set()
    for of, where, observed in Sighting.objects.filter(pk__in=chunk).values_list(
        "sighting_of_id", "where_sighted_id", "observed_data_refs"
    ):
        new |= {of} | ({where} if where else set())
        refs.update(observed or ())
    for author, markings in StixObject.objects.filter(pk__in=chunk).values_list(
        "created_by_id", "marking_refs"
    ):
        if author:
            new.add(author)
        refs.update(markings or ())
    new |= set(
        ObjectRef.objects.filter(container_id__in=chunk, asserted=True).values_list(
            "member_id", flat=True
        )
    )
    if refs:  # markings and observed data named by STIX id (built-in TLP included)
        new |= set(StixObject.objects.filter(stix_id__in=refs).values_list("pk", flat=True))
    return new


def case_contents(case_node_id: int) -> set[int]:
    members = set(
        ObjectRef.objects.filter(container_id=case_node_id).values_list("member_id", flat=True)
    )
    return members


def iter_bundle_objects(node_ids: set[int], batch: int = 1000) -> Iterator[dict]:
    ids = sorted(node_ids)
    for start in range(0, len(ids), batch):
        for node in stix_queryset(ids[start : start + batch]):
            if node.type != CASE:
                yield stix_of(node)


def bundle(node_ids: set[int]) -> dict:
    return {
        "type": "bundle",
        "id": random_id("bundle"),
        "objects": list(iter_bundle_objects(node_ids)),
    }


def explanation_prefetch() -> QuerySet:
    return Explanation.objects.order_by("pk")
