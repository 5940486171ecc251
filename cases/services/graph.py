"""Cases hold graph objects: a case is a container node in the knowledge graph, and artifacts
whose type has an intel type stand for an observable there."""

from django.db.models import Prefetch, prefetch_related_objects

from cases.choices import INTEL_TYPE_OBSERVABLES
from cases.models import Artifact, Case
from cases.services.common import bad_request
from cti.api.inputs import NestedItems
from cti.api.resources import Scope, scoped_filter, unscoped
from cti.intel.choices import CASE
from cti.intel.ids import derived_id
from cti.intel.models import Explanation, ObjectRef, StixObject
from cti.intel.selectors import visible_node_ids
from cti.intel.services import import_objects, resolve_ids
from cti.intel.signals import announce, graph_mark


def case_node(case: Case) -> StixObject:
    """The case's container node, created on first use."""
    if case.node_id:
        return case.node
    stix_id = derived_id(CASE, case.xid)
    node, _ = StixObject.objects.get_or_create(
        stix_id=stix_id,
        defaults={
            "type": CASE,
            "name": case.name[:512],
            "value": str(case.pk),
            "owner": case.owner,
            "properties": {
                "type": CASE,
                "spec_version": "2.1",
                "id": stix_id,
                "name": case.name,
                "x_cti_case_id": case.pk,
            },
        },
    )
    Case.objects.filter(pk=case.pk).update(node=node)
    case.node = node
    return node


def _member_ids(case: Case, items: list[dict], user) -> list[int]:
    """Items are `{"id": "<stix id>"}` references or whole STIX objects (upserted first, as the
    case owner's); a reference to an object the user may not see is as unknown as a missing one."""
    objects = [i for i in items if isinstance(i, dict) and len(i.keys() - {"id"}) > 0]
    if objects:
        result = import_objects(objects, owner=case.owner)
        if result.rejected:
            reasons = "; ".join(f"{r['id']}: {r['reason']}" for r in result.rejected)
            raise bad_request(f"intelObjects: {reasons}")
    wanted = []
    for item in items:
        stix_id = item.get("id") if isinstance(item, dict) else None
        if not isinstance(stix_id, str):
            raise bad_request("intelObjects items need a STIX id.")
        wanted.append(stix_id)
    pks = resolve_ids(wanted)
    shown = visible_node_ids(user, set(pks.values()))
    pks = {stix_id: pk for stix_id, pk in pks.items() if pk in shown}
    missing = [w for w in wanted if w not in pks]
    if missing:
        raise bad_request(f"intelObjects not found: {', '.join(missing[:10])}")
    return [pks[w] for w in wanted]


def add_to_case(case: Case, member_ids: list[int]) -> None:
    mark = graph_mark()
    node = case_node(case)
    ObjectRef.objects.filter(container=node, member_id__in=member_ids, asserted=False).update(
        asserted=True
    )
    ObjectRef.objects.bulk_create(
        [ObjectRef(container=node, member_id=m) for m in member_ids], ignore_conflicts=True
    )
    announce(mark)


def remove_from_case(case: Case, member_ids: list[int] | None, *, keep: bool = False) -> None:
    """Remove the listed members (or, with keep=True, all but them); an inferred reference
    stays as inferred only."""
    if not case.node_id:
        return
    refs = ObjectRef.objects.filter(container_id=case.node_id, asserted=True)
    refs = refs.exclude(member_id__in=member_ids) if keep else refs.filter(member_id__in=member_ids)
    refs.filter(inferred=True).update(asserted=False)
    refs.filter(inferred=False).delete()


def apply_intel_objects(case: Case, items: NestedItems, user, *, updating: bool) -> None:
    ids = _member_ids(case, items.items, user)
    mode = (items.mode or "append") if updating else "append"
    if mode == "delete":
        remove_from_case(case, ids)
    elif mode == "replace":
        remove_from_case(case, ids, keep=True)
        add_to_case(case, ids)
    else:
        add_to_case(case, ids)


def observable_for(artifact_type_intel: str | None, summary: str) -> dict | None:
    """The STIX observable an artifact value stands for, or None."""
    stix_type = INTEL_TYPE_OBSERVABLES.get(artifact_type_intel or "")
    value = summary.strip()
    if stix_type is None or not value:
        return None
    if stix_type == "ipv4-addr" and ":" in value:
        stix_type = "ipv6-addr"
    if stix_type == "autonomous-system":
        digits = "".join(ch for ch in value if ch.isdigit())
        return {"type": stix_type, "number": int(digits)} if digits else None
    if stix_type == "file":
        algorithm = {32: "MD5", 40: "SHA-1", 64: "SHA-256", 128: "SHA-512"}.get(len(value))
        return {"type": stix_type, "hashes": {algorithm: value.lower()}} if algorithm else None
    if stix_type == "mutex":
        return {"type": stix_type, "name": value}
    if stix_type == "windows-registry-key":
        return {"type": stix_type, "key": value}
    if stix_type == "email-message":
        return {"type": stix_type, "is_multipart": False, "subject": value}
    return {"type": stix_type, "value": value}


def link_artifact_observable(artifact: Artifact) -> None:
    """Point the artifact at its observable (created when missing) and put it in the case."""
    observable = observable_for(artifact.artifact_type.intel_type, artifact.summary)
    if observable is None:
        return
    result = import_objects([observable])
    stix_id = next(iter(result.created + result.updated + result.unchanged), None)
    if stix_id is None:
        return  # the value is not a valid observable; the artifact stands alone
    pk = resolve_ids([stix_id])[stix_id]
    Artifact.objects.filter(pk=artifact.pk).update(observable_id=pk)
    artifact.observable_id = pk
    add_to_case(artifact.case, [pk])


def _with_explanations(nodes: list[StixObject]) -> None:
    prefetch_related_objects(
        nodes, Prefetch("explanations", queryset=Explanation.objects.order_by("pk"))
    )


def attach_case_intel(cases: list[Case], scope: Scope = unscoped) -> None:
    """Sets `intel_objects` (those the requester may see) on each case with a fixed number of
    queries for the page."""
    node_ids = [c.node_id for c in cases if c.node_id]
    refs = (
        ObjectRef.objects.filter(
            container_id__in=node_ids, **scoped_filter(scope, StixObject, "member_id")
        )
        .select_related("member__sighting__where_sighted")
        .order_by("member_id")
    )
    by_container: dict[int, list[StixObject]] = {}
    members = []
    for ref in refs:
        by_container.setdefault(ref.container_id, []).append(ref.member)
        members.append(ref.member)
    _with_explanations(members)
    for case in cases:
        case.intel_objects = by_container.get(case.node_id, [])


def attach_artifact_indicators(artifacts: list[Artifact], scope: Scope = unscoped) -> None:
    """Sets `indicators` (indicators based on the artifact's observable, those the requester
    may see) on each artifact."""
    from cti.intel.models import Relationship

    observable_ids = {a.observable_id for a in artifacts if a.observable_id}
    rels = Relationship.objects.filter(
        relationship_type="based-on",
        target_id__in=observable_ids,
        source__type="indicator",
        **scoped_filter(scope, StixObject, "source_id"),
    ).select_related("source")
    by_observable: dict[int, list[StixObject]] = {}
    for rel in rels:
        by_observable.setdefault(rel.target_id, []).append(rel.source)
    _with_explanations([n for nodes in by_observable.values() for n in nodes])
    for artifact in artifacts:
        artifact.indicators = by_observable.get(artifact.observable_id, [])
