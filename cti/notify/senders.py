"""The network side: send one delivery's payload. Only the delivery task calls this."""

import json
from datetime import UTC, datetime

import requests
from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from standardwebhooks.webhooks import Webhook

from cti.notify.choices import NotifierKind
from cti.notify.models import Delivery

HTTP_TIMEOUT = (3.05, 10)  # connect, read (seconds)


class SendError(Exception):
    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


def webhook_headers(secret: str, msg_id: str, body: str, when: datetime) -> dict[str, str]:
    """Standard Webhooks headers; the id stays the same across retries so receivers can
    deduplicate."""
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(when.timestamp())),
        "webhook-signature": Webhook(secret).sign(msg_id, when, body),
    }


def _post(delivery: Delivery) -> int:
    notifier = delivery.notifier
    body = json.dumps(delivery.payload, separators=(",", ":"), ensure_ascii=False)
    headers = {"Content-Type": "application/json", "User-Agent": "cti-notifications"}
    if notifier.kind == NotifierKind.WEBHOOK and notifier.secret:
        headers |= webhook_headers(notifier.secret, f"msg_{delivery.pk}", body, datetime.now(UTC))
    try:
        response = requests.post(
            notifier.url,
            data=body.encode(),
            headers=headers,
            timeout=HTTP_TIMEOUT,
            allow_redirects=False,
        )
    except requests.RequestException as exc:
        raise SendError(f"{type(exc).__name__}: {exc}") from exc
    if not 200 <= response.status_code < 300:
        raise SendError(f"HTTP {response.status_code}: {response.text[:500]}", response.status_code)
    return response.status_code


def _email(delivery: Delivery) -> None:
    payload = delivery.payload
    connection = get_connection(timeout=settings.EMAIL_TIMEOUT)
    message = EmailMessage(
        subject=payload["subject"],
        body=payload["body"],
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=payload["to"],
        connection=connection,
    )
    try:
        message.send()
    except Exception as exc:  # smtplib, socket and backend errors alike
        raise SendError(f"{type(exc).__name__}: {exc}") from exc


def send(delivery: Delivery) -> int | None:
    """Send it; the HTTP status (None for email). Raises SendError."""
    if delivery.notifier.kind == NotifierKind.EMAIL:
        _email(delivery)
        return None
    return _post(delivery)
