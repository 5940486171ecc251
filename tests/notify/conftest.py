"""Fixtures for notifications: loopback HTTP and SMTP receivers, notifiers, triggers, and a
helper that runs the event subscribers and then the delivery tasks synchronously."""

import json
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from unittest import mock

import pytest
from aiosmtpd.controller import Controller

from cti.events.services import dispatch_pending
from cti.intel.models import StixObject
from cti.notify.models import Delivery, Notifier, Trigger
from cti.notify.tasks import deliver
from cti.security.models import UserGroup
from tests.rules_manager.conftest import free_port

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: str

    @property
    def json(self) -> dict:
        return json.loads(self.body)


@dataclass
class HttpReceiver:
    url: str
    requests: list[Received] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)  # answers to give, then 200


@pytest.fixture
def http_receiver():
    receiver = HttpReceiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            body = self.rfile.read(length).decode()
            receiver.requests.append(Received(self.path, dict(self.headers.items()), body))
            code = receiver.statuses.pop(0) if receiver.statuses else 200
            self.send_response(code)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    yield receiver
    server.shutdown()
    server.server_close()


class _Mailbox:
    def __init__(self) -> None:
        self.envelopes: list = []

    async def handle_DATA(self, server, session, envelope) -> str:
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp_server(settings):
    """A real SMTP server on loopback; Django's SMTP backend pointed at it."""
    mailbox = _Mailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.DEFAULT_FROM_EMAIL = "cti@example.com"
    yield mailbox
    controller.stop()


@pytest.fixture(autouse=True)
def _base_url(settings):
    settings.CTI_BASE_URL = "https://cti.example.com"


@pytest.fixture
def analyst(analyst_credential):
    user = analyst_credential.user
    user.email = "analyst@example.com"
    user.save(update_fields=["email"])
    return user


@pytest.fixture
def soc(analyst) -> UserGroup:
    group = UserGroup.objects.create(name="SOC")
    group.members.add(analyst)
    return group


@pytest.fixture
def make_notifier(db) -> Callable[..., Notifier]:
    def make(kind: str = "webhook", url: str = "http://127.0.0.1:9/none", **fields) -> Notifier:
        name = fields.pop("name", f"{kind}-{uuid.uuid4().hex[:6]}")
        if kind == "email":
            url = ""
        secret = fields.pop("secret", SECRET if kind == "webhook" else "")
        return Notifier.objects.create(name=name, kind=kind, url=url, secret=secret, **fields)

    return make


@pytest.fixture
def make_trigger(analyst, make_notifier) -> Callable[..., Trigger]:
    def make(events, notifiers=None, user=None, **fields) -> Trigger:
        trigger = Trigger.objects.create(
            user=user or analyst, name=fields.pop("name", "t"), events=list(events), **fields
        )
        trigger.notifiers.set(notifiers or [make_notifier()])
        return trigger

    return make


@pytest.fixture
def dispatch(django_capture_on_commit_callbacks):
    """Run the subscribers on the pending events; returns the delivery ids enqueued after
    commit (the delivery tasks are not run)."""

    def run() -> list[int]:
        enqueued: list[int] = []
        with (
            mock.patch.object(deliver, "delay", side_effect=enqueued.append),
            django_capture_on_commit_callbacks(execute=True),
        ):
            while dispatch_pending()[0]:
                pass
        return enqueued

    return run


@pytest.fixture
def deliver_all(dispatch):
    """dispatch() and then each enqueued delivery task, eagerly, until sent or failed."""

    def run() -> list[Delivery]:
        ids = dispatch()
        for pk in ids:
            deliver.apply(args=[pk])  # eager: retries run at once
        return list(Delivery.objects.filter(pk__in=ids).order_by("pk"))

    return run


@pytest.fixture
def make_incident(db) -> Callable[..., StixObject]:
    def make(name: str = "Phishing on mail-gw", stix_type: str = "incident", **props):
        return StixObject.objects.create(
            stix_id=f"{stix_type}--{uuid.uuid4()}",
            type=stix_type,
            name=name,
            properties={"type": stix_type, "name": name, **props},
            confidence=80,
            asserted=False,
            inferred=True,
        )

    return make
