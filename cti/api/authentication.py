"""ThreatConnect API authentication: HMAC signatures and TC-Token bearer tokens.

HMAC: `Authorization: TC <accessId>:<base64(HMAC-SHA256(secret, "<path?query>:<METHOD>:<ts>"))>`
with a `Timestamp` header within the configured window of server time. The signed path is the
raw request path and query string as sent (script prefix included).
"""

import base64
import hashlib
import hmac
import time

from django.conf import settings
from django.db.models import QuerySet
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from cti.security.models import ApiCredential
from cti.security.services import token_digest


def hmac_signature(secret_key: str, path_url: str, method: str, timestamp: str) -> str:
    message = f"{path_url}:{method}:{timestamp}".encode()
    digest = hmac.new(secret_key.encode(), message, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def active_user(credential: ApiCredential | None):
    if credential is None or credential.revoked:
        raise exceptions.AuthenticationFailed("Invalid or revoked API credentials.")
    if not credential.user.is_active or credential.user.locked:
        raise exceptions.AuthenticationFailed("Invalid or revoked API credentials.")
    return credential.user


def _unique(credentials: QuerySet) -> ApiCredential | None:
    """The credential a unique column names, with its user (one query on every request: no
    ORDER BY as `first()` would add, which costs SQL compilation and orders nothing)."""
    return next(iter(credentials.select_related("user")[:1]), None)


def _raw_path_url(request: Request) -> str:
    query = request.META.get("QUERY_STRING", "")
    path = request.META.get("SCRIPT_NAME", "") + request.path_info
    return f"{path}?{query}" if query else path


class TcHmacAuthentication(authentication.BaseAuthentication):
    keyword = "TC"

    def authenticate(self, request: Request):
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if not header.startswith("TC "):
            return None
        try:
            access_id, signature = header[3:].strip().rsplit(":", 1)
        except ValueError:
            raise exceptions.AuthenticationFailed("Malformed TC authorization header.") from None
        timestamp = request.META.get("HTTP_TIMESTAMP", "")
        try:
            skew = abs(time.time() - int(timestamp))
        except ValueError:
            raise exceptions.AuthenticationFailed("Missing or invalid Timestamp header.") from None
        if skew > settings.CTI_HMAC_WINDOW_SECONDS:
            raise exceptions.AuthenticationFailed("Timestamp out of acceptable time range.")
        credential = _unique(ApiCredential.objects.filter(access_id=access_id))
        user = active_user(credential)
        expected = hmac_signature(
            credential.secret_key, _raw_path_url(request), request.method, timestamp
        )
        if not hmac.compare_digest(expected, signature):
            raise exceptions.AuthenticationFailed("Invalid HMAC signature.")
        return user, credential

    def authenticate_header(self, request: Request) -> str:
        return self.keyword


class TcTokenAuthentication(authentication.BaseAuthentication):
    keyword = "TC-Token"

    def authenticate(self, request: Request):
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if not header.startswith("TC-Token "):
            return None
        token = header[len("TC-Token ") :].strip()
        credential = _unique(ApiCredential.objects.filter(token_digest=token_digest(token)))
        return active_user(credential), credential

    def authenticate_header(self, request: Request) -> str:
        return self.keyword
