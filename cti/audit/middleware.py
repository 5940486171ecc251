from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from cti.audit.context import request_context


class AuditContextMiddleware:
    """Makes the request (its user, API credential and request id) the actor of the writes it
    causes. Placed after AuthenticationMiddleware."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        with request_context(request):
            return self.get_response(request)
