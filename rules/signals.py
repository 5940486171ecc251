"""Graph changes become outbox rows in the writer's transaction; a task is enqueued on commit.
Nothing is evaluated here. When no rule is active nothing is recorded: activation evaluates
over all data anyway."""

from django.db.models.signals import post_delete
from django.dispatch import receiver

from cti.intel.models import ObjectRef, StixObject
from cti.intel.signals import graph_changed
from cti.transactions import on_commit_once
from rules.engine import engine_is_writing
from rules.models import GraphChange, RuleState


def _enqueue() -> None:
    from rules.tasks import process_graph_changes

    process_graph_changes.delay()


def _record(**fields) -> None:
    if engine_is_writing() or not RuleState.objects.filter(active=True).exists():
        return
    GraphChange.objects.create(**fields)
    on_commit_once(_enqueue)  # the task drains the outbox, however many rows a cascade deleted


@receiver(graph_changed)
def on_graph_changed(sender, kind: str, mark=None, nodes=None, **kwargs) -> None:
    if kind == "added":
        _record(kind=GraphChange.Kind.ADDED, node_mark=mark[0], ref_mark=mark[1])
    else:
        _record(kind=GraphChange.Kind.CHANGED, nodes=list(nodes or []))


@receiver(post_delete, sender=StixObject)
def on_node_deleted(sender, instance: StixObject, **kwargs) -> None:
    _record(kind=GraphChange.Kind.REMOVED, nodes=[instance.pk])


@receiver(post_delete, sender=ObjectRef)
def on_ref_deleted(sender, instance: ObjectRef, **kwargs) -> None:
    _record(kind=GraphChange.Kind.REMOVED, refs=[instance.pk])
