"""Every error below /api leaves in the v3 envelope with an errCode."""

import logging
import sys

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DataError, IntegrityError, InterfaceError, OperationalError
from django.http import Http404, JsonResponse
from rest_framework import exceptions as drf
from rest_framework.response import Response

from cti.api.errors import ErrCode, V3Error, error_body
from cti.tql import TqlError

log = logging.getLogger(__name__)

_DRF_CODES: list[tuple[type[Exception], ErrCode]] = [
    (drf.NotAuthenticated, ErrCode.UNAUTHORIZED),
    (drf.AuthenticationFailed, ErrCode.UNAUTHORIZED),
    (drf.PermissionDenied, ErrCode.FORBIDDEN),
    (drf.NotFound, ErrCode.NOT_FOUND),
    (drf.MethodNotAllowed, ErrCode.METHOD_NOT_ALLOWED),
    (drf.ParseError, ErrCode.IMPROPER_FORMAT),
    (drf.UnsupportedMediaType, ErrCode.IMPROPER_FORMAT),
    (drf.Throttled, ErrCode.TOO_MANY_REQUESTS),
    (drf.ValidationError, ErrCode.BAD_REQUEST),
]


def flatten_detail(detail, prefix: str = "") -> list[str]:
    """Turn DRF's nested error detail into 'field: message' strings."""
    if isinstance(detail, dict):
        out: list[str] = []
        for key, value in detail.items():
            name = key if key != "non_field_errors" else ""
            path = f"{prefix}.{name}" if prefix and name else (name or prefix)
            out.extend(flatten_detail(value, path))
        return out
    if isinstance(detail, list):
        out = []
        for item in detail:
            out.extend(flatten_detail(item, prefix))
        return out
    return [f"{prefix}: {detail}" if prefix else str(detail)]


def _envelope(message: str, err: ErrCode, status: int | None = None, headers=None) -> Response:
    return Response(error_body(message, err), status=status or err.http_status, headers=headers)


# The database is down or restarting (connection refused, terminated by the administrator):
# the client may retry; nothing was acknowledged.
UNAVAILABLE = (OperationalError, InterfaceError)
UNAVAILABLE_MESSAGE = "The database is unavailable; retry later."
RETRY_AFTER = "5"
DATA_ERROR_MESSAGE = "A value cannot be stored or compared: too long, out of range or malformed."


def v3_exception_handler(exc: Exception, context) -> Response:
    if isinstance(exc, UNAVAILABLE):
        log.warning("database unavailable, answering 503: %s", exc)
        return _envelope(
            UNAVAILABLE_MESSAGE, ErrCode.INTERNAL_ERROR, 503, {"Retry-After": RETRY_AFTER}
        )
    if isinstance(exc, V3Error):
        return _envelope(exc.message, exc.err)
    if isinstance(exc, TqlError):
        return _envelope(str(exc.message), ErrCode.TQL_PARSE_ERROR)
    if isinstance(exc, Http404):
        return _envelope(str(exc) or "Not found.", ErrCode.NOT_FOUND)
    if isinstance(exc, DjangoPermissionDenied):
        return _envelope(str(exc) or "Forbidden.", ErrCode.FORBIDDEN)
    if isinstance(exc, DjangoValidationError):
        return _envelope("; ".join(exc.messages), ErrCode.BAD_REQUEST)
    if isinstance(exc, DataError):  # input the checks before the database let through
        log.info("data error turned into 400: %s", exc)
        return _envelope(DATA_ERROR_MESSAGE, ErrCode.BAD_REQUEST)
    if isinstance(exc, IntegrityError):
        log.info("integrity error turned into 409: %s", exc)
        return _envelope("Conflict with an existing object.", ErrCode.CONFLICT)
    for klass, err in _DRF_CODES:
        if isinstance(exc, klass):
            headers = {}
            if isinstance(exc, drf.NotAuthenticated | drf.AuthenticationFailed):
                headers["WWW-Authenticate"] = "TC"
            if isinstance(exc, drf.Throttled) and exc.wait:
                headers["Retry-After"] = str(int(exc.wait))
            message = "; ".join(flatten_detail(exc.detail)) or err.name
            status = exc.status_code if err is not ErrCode.BAD_REQUEST else 400
            return _envelope(message, err, status, headers)
    if isinstance(exc, drf.APIException):
        return _envelope(str(exc.detail), ErrCode.BAD_REQUEST, exc.status_code)
    log.exception("unhandled error in v3 view", exc_info=exc)
    return _envelope("Internal error.", ErrCode.INTERNAL_ERROR)


def json_not_found(request, exception=None) -> JsonResponse:
    return JsonResponse(error_body("Not found.", ErrCode.NOT_FOUND), status=404)


def json_server_error(request) -> JsonResponse:
    # Django calls this inside its except block: a database outage met outside a DRF view
    # (middleware, the admin) is a 503 too
    if isinstance(sys.exc_info()[1], UNAVAILABLE):
        response = JsonResponse(error_body(UNAVAILABLE_MESSAGE, ErrCode.INTERNAL_ERROR), status=503)
        response["Retry-After"] = RETRY_AFTER
        return response
    return JsonResponse(error_body("Internal error.", ErrCode.INTERNAL_ERROR), status=500)
