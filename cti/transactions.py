import functools
import logging
from collections.abc import Callable

from django.db import transaction
from kombu.exceptions import OperationalError as BrokerError

logger = logging.getLogger(__name__)


def _after_commit(func: Callable[[], None]) -> Callable[[], None]:
    """`func`, made safe to run after commit: the rows it hands to a worker were committed
    with the write (an outbox, a rule's state, a pending report), so a broker that is down must
    not turn the committed write into an error. They are resumed when the worker reconnects or
    starts (cti.events.bootsteps)."""

    @functools.wraps(func)
    def run() -> None:
        try:
            func()
        except (BrokerError, OSError) as exc:
            logger.warning(
                "broker unavailable after commit, %s not enqueued (the database keeps the work): "
                "%s",
                f"{func.__module__}.{func.__qualname__}",
                exc,
            )
        except Exception:
            logger.exception("%s.%s failed after commit", func.__module__, func.__qualname__)

    return run


def on_commit_enqueue(func: Callable[[], None]) -> None:
    """Run `func` (which enqueues a task) when the current transaction commits; a failure is
    logged, never raised to the committer."""
    transaction.on_commit(_after_commit(func))


def on_commit_once(func: Callable[[], None]) -> None:
    """As on_commit_enqueue, once however often it is asked for in one transaction (one task
    per transaction, however many rows a write touched)."""
    pending = transaction.get_connection().run_on_commit
    if not any(getattr(queued, "__wrapped__", None) is func for _, queued, _ in pending):
        on_commit_enqueue(func)
