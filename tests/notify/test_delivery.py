"""Sending: real SMTP and HTTP receivers on loopback, signatures, message shapes, retries with
backoff, no double sends."""

import json
from unittest import mock

import pytest
from standardwebhooks.webhooks import Webhook

from cti.events.choices import EventKind
from cti.events.models import Event
from cti.events.services import replay
from cti.notify import services
from cti.notify.models import Delivery
from cti.notify.tasks import deliver
from tests.notify.conftest import SECRET

pytestmark = pytest.mark.django_db


def run_task(pk: int) -> tuple[str, list[int]]:
    """The delivery task with Celery eager (a retry runs again at once): its final state and
    the countdowns it asked for."""
    with mock.patch.object(deliver, "retry", wraps=deliver.retry) as retry:
        result = deliver.apply(args=[pk])
    return result.state, [c.kwargs["countdown"] for c in retry.call_args_list]


@pytest.fixture
def assigned_case(analyst, make_case):
    return make_case(
        name="Phishing wave",
        severity="High",
        assignee={"type": "User", "data": {"userName": analyst.username}},
    )


def test_email_reaches_a_real_smtp_server(
    smtp_server, make_notifier, make_trigger, assigned_case, deliver_all
):
    make_trigger([EventKind.CASE_ASSIGNED], notifiers=[make_notifier("email")], assigned_to_me=True)
    [delivery] = deliver_all()

    assert delivery.status == "sent" and delivery.attempts == 1 and delivery.sent_at
    [envelope] = smtp_server.envelopes
    assert envelope.mail_from == "cti@example.com"
    assert envelope.rcpt_tos == ["analyst@example.com"]
    text = envelope.content.decode()
    assert "Subject: Case assigned to you: Phishing wave" in text
    link = f"https://cti.example.com/api/v3/cases/{assigned_case['id']}"
    assert delivery.payload == {
        "to": ["analyst@example.com"],
        "subject": "Case assigned to you: Phishing wave",
        "body": (
            "Case assigned to you: Phishing wave\n\n"
            f"Case: Phishing wave\nID: {assigned_case['id']}\nSeverity: High\nStatus: Open\n"
            f"Assignee: analyst@example.com\n\n{link}\n"
        ),
    }
    assert link in text


def test_email_to_fixed_recipients(
    smtp_server, make_notifier, make_trigger, make_case, deliver_all
):
    notifier = make_notifier("email", recipients=["soc@example.com", "lead@example.com"])
    make_trigger([EventKind.CASE_CREATED], notifiers=[notifier])
    make_case(name="X")
    deliver_all()
    assert sorted(smtp_server.envelopes[0].rcpt_tos) == ["lead@example.com", "soc@example.com"]


def test_email_without_any_recipient_fails_without_sending(
    analyst, make_notifier, make_trigger, make_case, dispatch
):
    analyst.email = ""
    analyst.save()
    make_trigger([EventKind.CASE_CREATED], notifiers=[make_notifier("email")])
    make_case()
    assert dispatch() == []
    delivery = Delivery.objects.get()
    assert delivery.status == "failed" and "No recipient" in delivery.last_error


def test_email_server_down_is_retried(settings, make_notifier, make_trigger, make_case, dispatch):
    from tests.rules_manager.conftest import free_port

    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", free_port()  # nobody listens
    make_trigger([EventKind.CASE_CREATED], notifiers=[make_notifier("email")])
    make_case()
    [pk] = dispatch()
    assert run_task(pk) == ("SUCCESS", [2, 4, 8, 16])
    delivery = Delivery.objects.get(pk=pk)
    assert (delivery.status, delivery.attempts) == ("failed", 5)
    assert "ConnectionRefused" in delivery.last_error


def test_signed_webhook(http_receiver, make_notifier, make_trigger, assigned_case, deliver_all):
    make_trigger([EventKind.CASE_CREATED], notifiers=[make_notifier(url=http_receiver.url)])

    [delivery] = deliver_all()

    assert delivery.status == "sent" and delivery.response_status == 200
    [request] = http_receiver.requests
    assert request.path == "/hook"
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["webhook-id"] == f"msg_{delivery.pk}"
    body = Webhook(SECRET).verify(request.body, request.headers)  # raises if the signature is bad
    event = Event.objects.get(kind="case.created")
    assert body == {
        "type": "case.created",
        "timestamp": event.created.isoformat(),
        "data": {
            "eventId": event.pk,
            "title": "Case created: Phishing wave",
            "object": {"type": "case", "id": assigned_case["id"]},
            "facts": {
                "Case": "Phishing wave",
                "ID": str(assigned_case["id"]),
                "Severity": "High",
                "Status": "Open",
                "Assignee": "analyst@example.com",
            },
            "link": f"https://cti.example.com/api/v3/cases/{assigned_case['id']}",
            "details": event.data,
        },
    }
    with pytest.raises(Exception, match="signature"):
        Webhook("whsec_" + "A" * 32).verify(request.body, request.headers)
    tampered = request.body.replace("Phishing", "Fishing")
    with pytest.raises(Exception, match="signature"):
        Webhook(SECRET).verify(tampered, request.headers)


def test_teams_adaptive_card(
    http_receiver, make_notifier, make_trigger, assigned_case, deliver_all
):
    make_trigger(
        [EventKind.CASE_ASSIGNED], notifiers=[make_notifier("teams", url=http_receiver.url)]
    )
    deliver_all()
    [request] = http_receiver.requests
    assert "webhook-signature" not in request.headers
    link = f"https://cti.example.com/api/v3/cases/{assigned_case['id']}"
    assert request.json == {
        "type": "message",
        "attachments": [
            {
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": None,
                "content": {
                    "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                    "type": "AdaptiveCard",
                    "version": "1.4",
                    "body": [
                        {
                            "type": "TextBlock",
                            "text": "Case assigned to you: Phishing wave",
                            "weight": "Bolder",
                            "size": "Medium",
                            "wrap": True,
                        },
                        {
                            "type": "FactSet",
                            "facts": [
                                {"title": "Case", "value": "Phishing wave"},
                                {"title": "ID", "value": str(assigned_case["id"])},
                                {"title": "Severity", "value": "High"},
                                {"title": "Status", "value": "Open"},
                                {"title": "Assignee", "value": "analyst@example.com"},
                            ],
                        },
                    ],
                    "actions": [{"type": "Action.OpenUrl", "title": "Open", "url": link}],
                },
            }
        ],
    }


def test_slack_blocks(http_receiver, make_notifier, make_trigger, make_incident, deliver_all):
    from cti.events.services import emit

    make_trigger(
        [EventKind.INCIDENT_CREATED], notifiers=[make_notifier("slack", url=http_receiver.url)]
    )
    incident = make_incident("Beacon to evil.example", severity="critical")
    emit(
        EventKind.INCIDENT_CREATED,
        object_type="incident",
        object_id=incident.pk,
        rules=["sighting_incident"],
    )
    deliver_all()

    [request] = http_receiver.requests
    link = f"https://cti.example.com/api/v3/intel/objects/{incident.stix_id}"
    title = "Incident created: Beacon to evil.example"
    assert request.json == {
        "text": f"{title} {link}",
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": title}},
            {
                "type": "section",
                "fields": [
                    {"type": "mrkdwn", "text": "*Type*\nincident"},
                    {"type": "mrkdwn", "text": "*Name*\nBeacon to evil.example"},
                    {"type": "mrkdwn", "text": f"*STIX id*\n{incident.stix_id}"},
                    {"type": "mrkdwn", "text": "*Severity*\ncritical"},
                    {"type": "mrkdwn", "text": "*Confidence*\n80"},
                    {"type": "mrkdwn", "text": "*Rules*\nsighting_incident"},
                ],
            },
            {
                "type": "actions",
                "elements": [
                    {"type": "button", "text": {"type": "plain_text", "text": "Open"}, "url": link}
                ],
            },
        ],
    }


def test_retry_with_exponential_backoff(
    http_receiver, make_notifier, make_trigger, make_case, dispatch
):
    http_receiver.statuses = [500, 500]  # then 200
    make_trigger([EventKind.CASE_CREATED], notifiers=[make_notifier(url=http_receiver.url)])
    make_case()
    [pk] = dispatch()

    sends = []
    real_send = services.attempt_delivery

    def observed(delivery_id):
        wait = real_send(delivery_id)
        row = Delivery.objects.get(pk=delivery_id)
        sends.append((row.status, row.attempts, row.response_status, row.last_error[:8]))
        return wait

    with mock.patch.object(services, "attempt_delivery", side_effect=observed):
        state, countdowns = run_task(pk)

    assert state == "SUCCESS"
    assert sends == [
        ("pending", 1, 500, "HTTP 500"),
        ("pending", 2, 500, "HTTP 500"),
        ("sent", 3, 200, ""),
    ]
    delivery = Delivery.objects.get(pk=pk)
    assert countdowns == [2, 4]
    assert (delivery.status, delivery.attempts, delivery.response_status) == ("sent", 3, 200)
    assert delivery.last_error == "" and delivery.next_attempt is None
    assert len(http_receiver.requests) == 3
    ids = {r.headers["webhook-id"] for r in http_receiver.requests}
    assert ids == {f"msg_{pk}"}  # the same message id on every attempt


def test_gives_up_after_max_attempts(
    http_receiver, make_notifier, make_trigger, make_case, dispatch
):
    http_receiver.statuses = [503] * 10
    make_trigger(
        [EventKind.CASE_CREATED], notifiers=[make_notifier("slack", url=http_receiver.url)]
    )
    make_case()
    [pk] = dispatch()
    state, countdowns = run_task(pk)
    assert state == "SUCCESS"
    assert run_task(pk) == ("SUCCESS", [])  # a late duplicate message sends nothing
    delivery = Delivery.objects.get(pk=pk)
    assert countdowns == [2, 4, 8, 16]
    assert (delivery.status, delivery.attempts, delivery.response_status) == ("failed", 5, 503)
    assert len(http_receiver.requests) == services.MAX_ATTEMPTS  # later runs send nothing

    # the admin retry action gives it a new set of attempts
    http_receiver.statuses = []
    assert services.retry_deliveries([delivery]) == 1
    assert deliver.apply(args=[pk]).state == "SUCCESS"
    assert Delivery.objects.get(pk=pk).status == "sent"


def test_unreachable_receiver_is_an_error_not_a_crash(
    make_notifier, make_trigger, make_case, dispatch
):
    from tests.rules_manager.conftest import free_port

    url = f"http://127.0.0.1:{free_port()}/nobody"
    make_trigger([EventKind.CASE_CREATED], notifiers=[make_notifier(url=url)])
    make_case()
    [pk] = dispatch()
    assert run_task(pk) == ("SUCCESS", [2, 4, 8, 16])
    delivery = Delivery.objects.get(pk=pk)
    assert (
        delivery.status == "failed"
        and delivery.response_status is None
        and "ConnectionError" in delivery.last_error
    )


def test_redispatch_never_sends_twice(
    http_receiver, make_notifier, make_trigger, make_case, deliver_all
):
    make_trigger([EventKind.CASE_CREATED], notifiers=[make_notifier(url=http_receiver.url)])
    make_case()
    first = deliver_all()
    assert [d.status for d in first] == ["sent"]

    event = Event.objects.get(kind="case.created")
    replay(event)
    again = deliver_all()

    assert again == []  # nothing new enqueued
    assert Delivery.objects.count() == 1
    assert len(http_receiver.requests) == 1
    # a duplicate task message for a sent delivery does nothing
    assert deliver.apply(args=[first[0].pk]).state == "SUCCESS"
    assert len(http_receiver.requests) == 1


def test_a_claimed_delivery_is_not_sent_by_another_worker(
    http_receiver, make_notifier, make_trigger, make_case, dispatch
):
    make_trigger([EventKind.CASE_CREATED], notifiers=[make_notifier(url=http_receiver.url)])
    make_case()
    [pk] = dispatch()
    assert services._claim(pk) is not None  # another worker is sending it
    assert services.attempt_delivery(pk) is None
    assert http_receiver.requests == []


def test_pending_deliveries_are_resumed_when_a_worker_starts(
    make_notifier, make_trigger, make_case, dispatch
):
    from unittest import mock

    from cti.notify.tasks import resume_pending_deliveries

    make_trigger([EventKind.CASE_CREATED])
    make_case()
    [pk] = dispatch()  # the message is "lost"
    with mock.patch.object(deliver, "delay") as delay:
        resume_pending_deliveries()
    delay.assert_called_once_with(pk)


def test_payload_is_json_serialisable_snapshot(make_notifier, make_trigger, make_case, dispatch):
    make_trigger([EventKind.CASE_CREATED])
    make_case(name="Ünïcode ✓")
    dispatch()
    payload = Delivery.objects.get().payload
    assert json.loads(json.dumps(payload))["data"]["title"] == "Case created: Ünïcode ✓"
