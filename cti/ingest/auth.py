"""Webhook authentication: a Standard Webhooks signature, or a secret token for senders that
cannot sign (Splunk's built-in action sets no headers: ?token= in the URL)."""

import hmac

from django.http import HttpRequest
from standardwebhooks.webhooks import Webhook

from cti.api.errors import ErrCode, V3Error
from cti.ingest.choices import AuthMode
from cti.ingest.models import WebhookSource

SIGNATURE_HEADERS = ("webhook-id", "webhook-timestamp", "webhook-signature")


class WebhookAuthError(V3Error):
    def __init__(self, message: str) -> None:
        super().__init__(message, ErrCode.UNAUTHORIZED)


def check_secret(source: WebhookSource) -> str | None:
    """Why the source's secret cannot verify signatures (None when it can)."""
    if source.auth_mode != AuthMode.SIGNATURE:
        return None if source.secret else "a token is required"
    try:
        Webhook(source.secret)
    except Exception:  # the library raises binascii errors and its own
        return "a signature secret must be whsec_ followed by base64"
    return None


def verify_signature(source: WebhookSource, body: bytes, headers) -> str:
    """The webhook-id of a correctly signed, fresh (±5 minutes) request."""
    wanted = {name: headers.get(name) for name in SIGNATURE_HEADERS}
    missing = [name for name, value in wanted.items() if not value]
    if missing:
        raise WebhookAuthError("Missing signature header(s): " + ", ".join(missing))
    try:
        text = body.decode()
    except UnicodeDecodeError:
        raise WebhookAuthError("The body is not UTF-8; its signature cannot match.") from None
    try:
        Webhook(source.secret).verify(text, wanted, json_parse=False)
    except Exception as exc:  # WebhookVerificationError, or a malformed signature header
        reason = str(exc) if "timestamp" in str(exc) or "signature" in str(exc) else ""
        raise WebhookAuthError(
            "Invalid webhook signature" + (f": {reason}." if reason else ".")
        ) from None
    return wanted["webhook-id"]


def given_token(request: HttpRequest) -> str | None:
    header = request.headers.get("Authorization", "")
    if header[:7].lower() == "bearer ":
        return header[7:].strip()
    return request.GET.get("token")


def verify_token(source: WebhookSource, request: HttpRequest) -> None:
    token = given_token(request)
    if not token:
        raise WebhookAuthError("A token is required (?token= or Authorization: Bearer).")
    if not hmac.compare_digest(token.encode(), source.secret.encode()):
        raise WebhookAuthError("Invalid token.")


def authenticate(source: WebhookSource, request: HttpRequest, body: bytes) -> str | None:
    """Raises a 401 V3Error unless the request is the source's; returns the webhook-id if any."""
    if source.auth_mode == AuthMode.SIGNATURE:
        return verify_signature(source, body, request.headers)
    verify_token(source, request)
    return None
