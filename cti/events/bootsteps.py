"""Resume the outboxes when a worker reconnects to its broker.

The rows of an outbox (events, graph changes, notification deliveries, rule activations,
requested reports) are committed with the
write; the message that asks a worker to handle them is sent after commit and is lost if the
broker is down then, or if the broker restarts without persistence. A worker start resumes
them (the `worker_ready` hooks); a worker that stays up through the outage only reconnects, so
the same hooks run again each time its consumer reconnects. Beat's periodic sweep
(`ops.sweep_outboxes`) is the backstop for a message lost while the worker saw no outage."""

import logging

from celery import bootsteps
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)

# the worker_ready hooks; each one is idempotent and catches its own database errors
RESUME_HOOKS = (
    "cti.events.tasks.resume_pending_events",
    "rules.tasks.resume_unfinished_work",
    "cti.notify.tasks.resume_pending_deliveries",
    "cti.reports.tasks.resume_pending_reports",
)


def resume_outboxes() -> None:
    for path in RESUME_HOOKS:
        try:
            import_string(path)()
        except Exception:  # one failing hook must not keep the others or the consumer down
            logger.exception("outbox resume hook %s failed", path)


class ResumeOutboxesOnReconnect(bootsteps.StartStopStep):
    """A consumer step: Celery starts the consumer's steps again after each reconnection."""

    requires = ("celery.worker.consumer.tasks:Tasks",)

    def start(self, c) -> None:
        if c.restart_count > 0:  # 0 is the worker's start, which worker_ready covers
            logger.info("broker connection restored: resuming the outboxes")
            resume_outboxes()
