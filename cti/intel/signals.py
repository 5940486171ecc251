"""What the graph tells listeners (the rules engine) about its changes; it never calls them.

`graph_changed(kind="added", mark=(node_id, ref_id))`: facts with ids above the mark are new.
`graph_changed(kind="changed", nodes=[...])`: these facts' attributes changed.
Removals are Django's own post_delete signals on StixObject and ObjectRef."""

from django.dispatch import Signal

graph_changed = Signal()


def graph_mark() -> tuple[int, int]:
    from django.db.models import Max

    from cti.intel.models import ObjectRef, StixObject

    return (
        StixObject.objects.aggregate(m=Max("pk"))["m"] or 0,
        ObjectRef.objects.aggregate(m=Max("pk"))["m"] or 0,
    )


def announce(mark: tuple[int, int] | None, changed: list[int] | None = None) -> None:
    """What a write did: facts above `mark` are new (None: the writer created none), the
    `changed` ones changed."""
    if mark is not None:
        graph_changed.send(sender=None, kind="added", mark=mark)
    if changed:
        graph_changed.send(sender=None, kind="changed", nodes=changed)
