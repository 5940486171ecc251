import logging

from celery import shared_task
from celery.signals import worker_ready

from cti.events import services

logger = logging.getLogger(__name__)


@shared_task(name="events.dispatch", acks_late=True)
def dispatch_events() -> int:
    """Drain the due events; come back when the earliest retry is due."""
    total = 0
    while True:
        done, wait = services.dispatch_pending()
        total += done
        if not done:
            break
    if wait is not None:
        dispatch_events.apply_async(countdown=wait + 0.1)
    return total


@worker_ready.connect
def resume_pending_events(sender=None, **kwargs) -> None:
    """A message lost with a killed worker (or a broker down at commit) is not an event lost:
    the rows are the truth; look at them when a worker starts."""
    from django.db import DatabaseError

    from cti.events.models import Event

    try:
        pending = Event.objects.filter(processed__isnull=True, parked=False).exists()
    except DatabaseError:
        logger.warning("events: could not look for pending events", exc_info=True)
        return
    if pending:
        dispatch_events.delay()
