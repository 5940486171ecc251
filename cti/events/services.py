"""Recording events and handing them to their subscribers."""

import logging
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.utils import timezone

from cti.events.models import Event
from cti.events.registry import Subscription, interested
from cti.pruning import delete_in_batches
from cti.transactions import on_commit_once

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 5


def _enqueue() -> None:
    from cti.events.tasks import dispatch_events

    dispatch_events.delay()


def emit(kind: str, *, object_type: str, object_id: int, actor=None, **data) -> Event:
    """Record an event in the caller's transaction; it is dispatched after commit."""
    event = Event.objects.create(
        kind=kind, object_type=object_type, object_id=object_id, actor=actor, data=data
    )
    on_commit_once(_enqueue)
    return event


def emit_many(kind: str, objects: list[tuple[str, int, dict]]) -> None:
    """One INSERT for many events (object_type, object_id, data) of one kind."""
    if not objects:
        return
    Event.objects.bulk_create(
        Event(kind=kind, object_type=t, object_id=pk, data=data) for t, pk, data in objects
    )
    on_commit_once(_enqueue)


def _claim(limit: int) -> list[Event]:
    due = Event.objects.filter(processed__isnull=True, parked=False).exclude(
        next_attempt__gt=timezone.now()
    )
    if connection.vendor == "postgresql":
        due = due.select_for_update(skip_locked=True)
    return list(due.order_by("pk")[:limit])


def _handle(event: Event, subscriptions: list[Subscription]) -> None:
    for subscription in subscriptions:
        subscription.handler(event)


def _failed(event: Event, exc: Exception) -> None:
    event.attempts += 1
    event.error = f"{type(exc).__name__}: {exc}"[:2000]
    event.parked = event.attempts >= MAX_ATTEMPTS
    event.next_attempt = timezone.now() + timedelta(seconds=2**event.attempts)
    event.save(update_fields=["attempts", "error", "parked", "next_attempt"])
    logger.warning("event %s failed (attempt %d)", event.pk, event.attempts, exc_info=exc)


def dispatch_pending(limit: int = 100) -> tuple[int, float | None]:
    """Hand up to `limit` due events to their subscribers, each in its own transaction (a
    failure rolls back what its handlers did, is retried later with backoff, and is parked
    after MAX_ATTEMPTS where admins see it). Returns (events done, seconds until the next
    retry is due or None)."""
    done = 0
    with transaction.atomic():
        events = _claim(limit)
        subscribers = interested()
        handled = [(event, subscribers(event.kind)) for event in events]
        unwanted = [event.pk for event, subs in handled if not subs]
        if unwanted:
            Event.objects.filter(pk__in=unwanted).update(processed=timezone.now(), error="")
            done += len(unwanted)
        for event, subs in handled:
            if not subs:
                continue
            try:
                with transaction.atomic():
                    _handle(event, subs)
                    event.processed = timezone.now()
                    event.error = ""
                    event.save(update_fields=["processed", "error"])
                done += 1
            except Exception as exc:
                _failed(event, exc)
    retry = (
        Event.objects.filter(processed__isnull=True, parked=False, next_attempt__isnull=False)
        .order_by("next_attempt")
        .values_list("next_attempt", flat=True)
        .first()
    )
    wait = max(0.0, (retry - timezone.now()).total_seconds()) if retry else None
    return done, wait


def replay(event: Event) -> None:
    """Make a parked or processed event due again (admin action)."""
    Event.objects.filter(pk=event.pk).update(
        processed=None, parked=False, attempts=0, next_attempt=None, error=""
    )
    on_commit_once(_enqueue)


def prune_processed(before: datetime) -> int:
    """Forget the events handled before `before` (parked and pending ones stay)."""
    return delete_in_batches(Event.objects.filter(processed__lt=before))
