"""Celery signal handlers: the request id travels in task headers; a worker keeps a
heartbeat row fresh while it runs."""

import logging
import socket
import threading

from celery.signals import (
    before_task_publish,
    task_postrun,
    task_prerun,
    worker_ready,
    worker_shutdown,
)
from django.conf import settings
from django.db import close_old_connections, connection

from cti.ops.context import TASK_HEADER, current_request_id, request_id_var, task_var

logger = logging.getLogger(__name__)


@before_task_publish.connect(dispatch_uid="cti.ops.request_id_header")
def add_request_id_header(headers: dict | None = None, **kwargs) -> None:
    """Whatever enqueues a task inside a request (or inside a task started by one) passes
    the id on."""
    request_id = current_request_id()
    if request_id and headers is not None and TASK_HEADER not in headers:
        headers[TASK_HEADER] = request_id


def _task_request_id(task) -> str | None:
    request = getattr(task, "request", None)
    if request is None:
        return None
    custom = getattr(request, "headers", None) or {}
    return getattr(request, TASK_HEADER, None) or custom.get(TASK_HEADER)


_tokens = threading.local()


@task_prerun.connect(dispatch_uid="cti.ops.bind_task_context")
def bind_task_context(task_id: str | None = None, task=None, **kwargs) -> None:
    # an eager task runs inside the caller's context: keep the caller's id when the task
    # carries none
    request_id = _task_request_id(task) or current_request_id()
    stack = getattr(_tokens, "stack", None)
    if stack is None:
        stack = _tokens.stack = []
    stack.append(
        (request_id_var.set(request_id), task_var.set((getattr(task, "name", ""), task_id or "")))
    )


@task_postrun.connect(dispatch_uid="cti.ops.unbind_task_context")
def unbind_task_context(**kwargs) -> None:
    stack = getattr(_tokens, "stack", None)
    if stack:
        request_token, task_token = stack.pop()
        task_var.reset(task_token)
        request_id_var.reset(request_token)


class Heartbeat(threading.Thread):
    """Touches this worker's heartbeat row every CTI_HEARTBEAT_INTERVAL seconds, from the
    worker's main process: a long task in a solo pool does not make it look dead."""

    def __init__(self, hostname: str, interval: float) -> None:
        super().__init__(name="cti-heartbeat", daemon=True)
        self.hostname = hostname
        self.interval = interval
        self.stopping = threading.Event()

    def run(self) -> None:
        from cti.ops import services

        while not self.stopping.is_set():
            try:
                close_old_connections()
                services.beat(self.hostname)
            except Exception:  # the database may be down: keep trying, /ready says so
                logger.warning("heartbeat: could not record", exc_info=True)
            finally:
                connection.close()
            self.stopping.wait(self.interval)

    def stop(self) -> None:
        from cti.ops import services

        self.stopping.set()
        self.join(timeout=self.interval + 5)
        try:
            services.forget(self.hostname)
        except Exception:
            logger.warning("heartbeat: could not remove", exc_info=True)
        finally:
            connection.close()


_heartbeat: Heartbeat | None = None


@worker_ready.connect(dispatch_uid="cti.ops.start_heartbeat")
def start_heartbeat(sender=None, **kwargs) -> None:
    global _heartbeat
    if settings.CTI_HEARTBEAT_INTERVAL <= 0 or _heartbeat is not None:
        return
    hostname = getattr(sender, "hostname", None) or socket.gethostname()
    _heartbeat = Heartbeat(hostname, settings.CTI_HEARTBEAT_INTERVAL)
    _heartbeat.start()


@worker_shutdown.connect(dispatch_uid="cti.ops.stop_heartbeat")
def stop_heartbeat(**kwargs) -> None:
    global _heartbeat
    if _heartbeat is not None:
        _heartbeat.stop()
        _heartbeat = None
