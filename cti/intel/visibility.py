"""How knowledge-graph rows are scoped to a user (see cti.security.visibility).

An object written or imported by an owner is that owner's. An object without an owner is either
shared data (an observable an artifact created, reference data imported without an owner),
visible to everyone, or an inference, visible to whoever may see every fact of at least one of
its explanations: an inference drawn from another owner's facts does not leak them. (One level:
a source that is itself an ownerless inference counts as visible.) A relationship or sighting is
scoped by its own node."""

from django.db.models import Exists, OuterRef, Q

from cti.intel.models import (
    Explanation,
    ExplanationSource,
    ObjectRef,
    Relationship,
    Sighting,
    StixObject,
)
from cti.security import visibility
from cti.security.visibility import Viewer


def _ownerless_shown(node: str, node_pk: str):
    """Ownerless rows `viewer` sees, for a model whose graph node is at `node` ("" for the
    node itself) and its key at `node_pk`."""

    def rule(viewer: Viewer) -> Q:
        ids = sorted(viewer.owner_ids or ())
        hidden_nodes = StixObject.objects.filter(owner__isnull=False).exclude(owner_id__in=ids)
        hidden_refs = ObjectRef.objects.filter(container__owner__isnull=False).exclude(
            container__owner_id__in=ids
        )
        on_hidden = ExplanationSource.objects.filter(explanation=OuterRef("pk")).filter(
            Q(node__in=hidden_nodes) | Q(object_ref__in=hidden_refs)
        )
        supported = Explanation.objects.filter(node=OuterRef(node_pk)).exclude(Exists(on_hidden))
        only_inferred = Q(**{f"{node}inferred": True, f"{node}asserted": False})
        return ~only_inferred | Exists(supported)

    return rule


def register_rules() -> None:
    visibility.register(StixObject, "owner", ownerless=_ownerless_shown("", "pk"))
    for edge in (Relationship, Sighting):
        visibility.register(edge, "node__owner", ownerless=_ownerless_shown("node__", "node_id"))
