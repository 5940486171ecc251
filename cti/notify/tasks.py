import logging

from celery import shared_task
from celery.signals import worker_ready

from cti.notify import services

logger = logging.getLogger(__name__)


@shared_task(bind=True, name="notifications.deliver", acks_late=True, max_retries=None)
def deliver(self, delivery_id: int) -> None:
    """One attempt; a failure comes back after 2, 4, 8... seconds until MAX_ATTEMPTS (the
    Delivery row counts attempts, so a redelivered message does not reset them)."""
    wait = services.attempt_delivery(delivery_id)
    if wait is not None:
        raise self.retry(countdown=wait)


@worker_ready.connect
def resume_pending_deliveries(sender=None, **kwargs) -> None:
    """Deliveries whose message was lost (broker down at commit, worker killed) are sent when a
    worker starts: the rows are the truth."""
    from django.db import DatabaseError

    try:
        ids = services.due_delivery_ids()
    except DatabaseError:
        logger.warning("notifications: could not look for pending deliveries", exc_info=True)
        return
    for pk in ids:
        deliver.delay(pk)
