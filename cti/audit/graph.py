"""Graph objects (intel.StixObject) and container membership (intel.ObjectRef).

The graph is written in bulk (bulk_create/bulk_update/update), so its writers announce what
they did with `graph_changed`; deletions come through Django's post_delete. Only asserted facts
are audited: inferred ones are the rules engine's, explained by their explanation rows.
An update's "before" is the state the object's previous entry recorded (None when the object
predates the log or was never audited)."""

from typing import Any

from django.db.models.signals import post_delete

from cti.audit import services
from cti.audit.choices import AuditAction
from cti.intel.models import ObjectRef, StixObject
from cti.intel.signals import graph_changed

NODE_FIELDS = (
    "stix_id",
    "type",
    "subtype",
    "name",
    "value",
    "properties",
    "created_by_id",
    "confidence",
    "revoked",
    "created",
    "modified",
    "marking_refs",
    "owner_id",
)

# a sighting's count and dates, a relationship's times, live in the edge row
EDGE_FIELDS = {
    "sighting__count": "count",
    "sighting__first_seen": "first_seen",
    "sighting__last_seen": "last_seen",
    "sighting__false_positive": "false_positive",
    "relationship__start_time": "start_time",
    "relationship__stop_time": "stop_time",
}


def node_state(row: dict[str, Any]) -> dict[str, Any]:
    state = {name.removesuffix("_id"): row[name] for name in NODE_FIELDS if name != "stix_id"}
    state |= {key: row[path] for path, key in EDGE_FIELDS.items() if row.get(path) is not None}
    return services.jsonable({"stix_id": row["stix_id"], **state})


def _node_rows(queryset) -> Any:
    return queryset.values("pk", *NODE_FIELDS, *EDGE_FIELDS)


def node_repr(row: dict[str, Any]) -> str:
    return f"{row['type']}: {row['name'] or row['value'] or row['stix_id']}"


def _nodes_added(mark: int) -> None:
    rows = _node_rows(StixObject.objects.filter(pk__gt=mark, asserted=True).order_by("pk"))
    rows = rows.iterator(chunk_size=services.BATCH)
    services.record_rows(
        StixObject,
        (
            (row["pk"], node_repr(row), AuditAction.CREATE, None, state, state)
            for row in rows
            for state in (node_state(row),)
        ),
    )


def _refs_added(mark: int) -> None:
    rows = (
        ObjectRef.objects.filter(pk__gt=mark, asserted=True)
        .order_by("pk")
        .values("pk", "container__stix_id", "member__stix_id")
        .iterator(chunk_size=services.BATCH)
    )
    services.record_rows(
        ObjectRef,
        (
            (
                row["pk"],
                f"{ends['container']} contains {ends['member']}",
                AuditAction.CREATE,
                None,
                ends,
                ends,
            )
            for row in rows
            for ends in (
                {"container": row["container__stix_id"], "member": row["member__stix_id"]},
            )
        ),
    )


def _nodes_changed(node_ids: list[int]) -> None:
    rows = list(_node_rows(StixObject.objects.filter(pk__in=node_ids, asserted=True)))
    if not rows:
        return
    previous = services.last_states(StixObject, [row["pk"] for row in rows])
    entries = []
    for row in rows:
        state = node_state(row)
        before, after = services.diff_states(previous.get(str(row["pk"])), state)
        if after:
            entries.append((row["pk"], node_repr(row), AuditAction.UPDATE, before, after, state))
    services.record_rows(StixObject, entries)


def on_graph_changed(sender, kind: str, mark=None, nodes=None, **kwargs) -> None:
    if kind == "added" and mark is not None:
        _nodes_added(mark[0])
        _refs_added(mark[1])
    elif kind == "changed" and nodes:
        _nodes_changed(list(nodes))


def on_node_deleted(sender, instance: StixObject, **kwargs) -> None:
    if not instance.asserted:
        return
    row = {name: getattr(instance, name) for name in NODE_FIELDS}
    services.record_rows(
        StixObject,
        [(instance.pk, node_repr(row), AuditAction.DELETE, node_state(row), None, None)],
    )


def on_ref_deleted(sender, instance: ObjectRef, origin=None, **kwargs) -> None:
    # a ref removed with its container or member is implied by that node's own entry
    if not instance.asserted or isinstance(origin, StixObject) or _is_node_queryset(origin):
        return
    ends = dict(
        StixObject.objects.filter(pk__in=[instance.container_id, instance.member_id]).values_list(
            "pk", "stix_id"
        )
    )
    container, member = ends.get(instance.container_id), ends.get(instance.member_id)
    services.record_rows(
        ObjectRef,
        [
            (
                instance.pk,
                f"{container} contains {member}",
                AuditAction.DELETE,
                {"container": container, "member": member},
                None,
                None,
            )
        ],
    )


def _is_node_queryset(origin: object) -> bool:
    return getattr(origin, "model", None) is StixObject


def connect() -> None:
    graph_changed.connect(on_graph_changed, dispatch_uid="cti.audit.graph_changed")
    post_delete.connect(on_node_deleted, sender=StixObject, dispatch_uid="cti.audit.node_deleted")
    post_delete.connect(on_ref_deleted, sender=ObjectRef, dispatch_uid="cti.audit.ref_deleted")
