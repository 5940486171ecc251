"""Writes: worker heartbeats."""

import os

from django.db import transaction
from django.utils import timezone

from cti.ops.models import WorkerHeartbeat


def beat(hostname: str, *, from_task: bool = False) -> WorkerHeartbeat:
    """Record that the worker `hostname` is alive (its timer) or ran a task (`from_task`)."""
    now = timezone.now()
    fields: dict = {"last_seen": now}
    if from_task:
        fields["last_task"] = now
    else:  # a task runs in a pool child, whose pid is not the worker's
        fields["pid"] = os.getpid()
    create = {**fields, "started": now, "pid": os.getpid()}
    with transaction.atomic():
        row, _ = WorkerHeartbeat.objects.update_or_create(
            hostname=hostname, defaults=fields, create_defaults=create
        )
    return row


def forget(hostname: str) -> None:
    """A worker that stops cleanly leaves no heartbeat behind: /ready fails at once."""
    WorkerHeartbeat.objects.filter(hostname=hostname).delete()
