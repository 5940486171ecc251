"""TAXII 2.1 error messages ({"title", "description", "http_status"}) for every failure below
/taxii2/, and the media types the server speaks."""

import logging

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from rest_framework import exceptions as drf
from rest_framework.response import Response

log = logging.getLogger(__name__)

TAXII_MEDIA_TYPE = "application/taxii+json;version=2.1"
STIX_MEDIA_TYPE = "application/stix+json;version=2.1"


class TaxiiError(drf.APIException):
    """A failure with its TAXII title; `status_code` is the HTTP status."""

    def __init__(self, status: int, title: str, description: str = ""):
        self.status_code = status
        self.title = title
        super().__init__(description or title)


def bad_request(description: str) -> TaxiiError:
    return TaxiiError(400, "Bad request", description)


def not_found(description: str) -> TaxiiError:
    return TaxiiError(404, "Not found", description)


def error_body(status: int, title: str, description: str) -> dict:
    return {"title": title, "description": description, "http_status": str(status)}


_TITLES = {
    401: "Authentication required",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    406: "Not acceptable",
    415: "Unsupported media type",
    429: "Too many requests",
}


def taxii_exception_handler(exc: Exception, context) -> Response:
    if isinstance(exc, Http404):
        exc = not_found(str(exc) or "Not found.")
    elif isinstance(exc, DjangoPermissionDenied):
        exc = TaxiiError(403, "Forbidden", str(exc) or "Forbidden.")
    if not isinstance(exc, drf.APIException):
        log.exception("unhandled error in a TAXII view", exc_info=exc)
        return Response(error_body(500, "Internal error", "Internal error."), status=500)
    status = exc.status_code
    title = getattr(exc, "title", None) or _TITLES.get(status, "Error")
    detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
    headers = {}
    auth_header = getattr(exc, "auth_header", None)
    if auth_header:
        headers["WWW-Authenticate"] = auth_header
    if isinstance(exc, drf.Throttled) and exc.wait:
        headers["Retry-After"] = str(int(exc.wait))
    return Response(error_body(status, title, str(detail)), status=status, headers=headers)
