"""Request id and request metrics, outermost in MIDDLEWARE."""

import logging
import time
from collections.abc import Callable

from django.core.signals import request_finished
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse

from cti.ops import metrics
from cti.ops.context import (
    HEADER,
    bind_request_id,
    new_request_id,
    sane_request_id,
)

access_log = logging.getLogger("cti.access")


class RequestIdMiddleware:
    """Takes the client's X-Request-ID when it is sane (else makes one), binds it for the
    request's log records and the Celery tasks it enqueues, and echoes it.

    The id stays bound until `request_finished`, not only while the middleware runs: Django
    logs 4xx responses (django.request) after the middleware chain has returned."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = sane_request_id(request.headers.get(HEADER)) or new_request_id()
        request.request_id = request_id
        bind_request_id(request_id)
        response = self.get_response(request)
        response[HEADER] = request_id
        return response


@receiver(request_finished, dispatch_uid="cti.ops.unbind_request_id")
def unbind_request_id(**kwargs) -> None:
    bind_request_id(None)


def view_label(request: HttpRequest) -> str:
    """The URL pattern's name (or route): a bounded set, unlike paths with ids in them."""
    match = getattr(request, "resolver_match", None)
    if match is None:
        return "<unmatched>"
    return match.view_name or match.route or "<unnamed>"


class MetricsMiddleware:
    """Counts and times every request by view, method and status; writes one access log
    line (logger `cti.access`) with the same figures."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        seconds = time.perf_counter() - started
        view = view_label(request)
        metrics.observe(view, request.method or "", response.status_code, seconds)
        access_log.info(
            "%s %s %s",
            request.method,
            request.path,
            response.status_code,
            extra={
                "method": request.method,
                "path": request.path,
                "view": view,
                "status": response.status_code,
                "duration_ms": round(seconds * 1000, 1),
            },
        )
        return response
