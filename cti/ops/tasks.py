import logging

from celery import shared_task
from django.utils import timezone

from cti.ops import services

logger = logging.getLogger(__name__)

STUCK_AFTER = 30.0  # seconds


@shared_task(name="ops.heartbeat", ignore_result=True)
def heartbeat() -> None:
    """Sent by beat: proves the broker-to-worker round trip (`last_task` on /ready)."""
    hostname = heartbeat.request.hostname
    if hostname:
        services.beat(hostname, from_task=True)


@shared_task(name="ops.sweep_outboxes", ignore_result=True)
def sweep_outboxes() -> None:
    """Sent by beat: a message lost while the broker was down (the outbox row was committed,
    the enqueue after commit failed) is picked up within a minute, not at the next worker
    start. Both drains are idempotent."""
    from cti.events.tasks import dispatch_events
    from cti.ops import selectors
    from rules.tasks import process_graph_changes

    backlog = selectors.backlog()
    now = timezone.now()
    # younger rows are still in the hands of the task enqueued at their commit
    if backlog.events_pending and backlog.event_lag(now) > STUCK_AFTER:
        dispatch_events.delay()
    if backlog.changes_pending and backlog.rule_lag(now) > STUCK_AFTER:
        process_graph_changes.delay()


@shared_task(name="ops.prune", ignore_result=True)
def prune() -> None:
    """Sent by beat: forget what is only kept for a while (idempotency keys, handled events,
    and audit entries when a retention is set)."""
    from datetime import timedelta

    from django.conf import settings

    from cti.audit.services import prune_entries
    from cti.events.services import prune_processed
    from cti.ingest.services import prune_idempotency

    now = timezone.now()
    keys = prune_idempotency(now - timedelta(hours=settings.CTI_IDEMPOTENCY_KEEP_HOURS))
    events = prune_processed(now - timedelta(days=settings.CTI_EVENTS_KEEP_DAYS))
    audit_days = settings.CTI_AUDIT_KEEP_DAYS
    entries = prune_entries(now - timedelta(days=audit_days)) if audit_days > 0 else 0
    if keys or events or entries:
        logger.info(
            "pruned %d idempotency records, %d handled events and %d audit entries",
            keys,
            events,
            entries,
        )
