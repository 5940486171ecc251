"""Celery's configured broker, asked with a short timeout (readiness, metrics)."""

from dataclasses import dataclass

from amqp.exceptions import NotFound
from kombu.exceptions import ChannelError

from cti.celery import app


@dataclass(frozen=True)
class BrokerStatus:
    ok: bool
    transport: str
    queue: str
    depth: int | None = None  # messages waiting in the default queue, where the broker says
    error: str = ""


def probe(timeout: float) -> BrokerStatus:
    """Connect to the broker and read the default queue's length (passive declare: nothing is
    created). Never raises; a broker that does not answer within `timeout` is down."""
    queue = app.conf.task_default_queue
    connection = app.connection_for_read(connect_timeout=timeout)
    # filesystem:// and memory:// name no host; kombu would warn about it on every probe
    connection.hostname = connection.hostname or "localhost"
    transport = connection.transport_cls if isinstance(connection.transport_cls, str) else ""
    try:
        connection.ensure_connection(max_retries=1, interval_start=0, timeout=timeout)
        transport = connection.transport.driver_name or transport
        channel = connection.default_channel
        try:
            depth = channel.queue_declare(queue=queue, passive=True).message_count
        except (ChannelError, NotFound):  # no such queue yet: nothing was ever sent to it
            depth = 0
        return BrokerStatus(ok=True, transport=transport, queue=queue, depth=depth)
    except Exception as exc:  # any failure to reach the broker means "not ready"
        return BrokerStatus(
            ok=False, transport=transport, queue=queue, error=f"{type(exc).__name__}: {exc}"[:300]
        )
    finally:
        connection.release()
