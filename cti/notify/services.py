"""Writes: the event handler (matching -> Delivery rows -> enqueue), one delivery attempt,
admin retry, and trigger/notifier writes with their validation."""

import base64
import logging
import secrets
from datetime import timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from cti.api.errors import ErrCode, V3Error
from cti.events.choices import EventKind
from cti.events.models import Event
from cti.notify import selectors
from cti.notify.choices import CASE_KINDS, INTEL_KINDS, TASK_KINDS, DeliveryStatus, NotifierKind
from cti.notify.messages import build_message, payload_for
from cti.notify.models import Delivery, Notifier, Trigger
from cti.tql import TqlContext, TqlError, compile_tql

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
LEASE = timedelta(minutes=2)  # longer than one send can take (timeouts are ~10 s)


def backoff(attempts: int) -> int:
    """Seconds before the next attempt after `attempts` failed ones: 2, 4, 8, 16..."""
    return 2**attempts


# ---- event handler ---------------------------------------------------------------------


def _enqueue(delivery_id: int) -> None:
    from cti.notify.tasks import deliver

    deliver.delay(delivery_id)


def enqueue_on_commit(delivery_id: int) -> None:
    # robust: a broker down at commit must not fail the committer; the row stays pending and
    # is picked up again when a worker starts
    transaction.on_commit(lambda: _enqueue(delivery_id), robust=True)


def handle_event(event: Event) -> None:
    """Subscriber for every event kind: no network here, only rows and enqueued tasks."""
    for trigger in selectors.matching_triggers(event):
        how = None
        if event.kind in CASE_KINDS | TASK_KINDS:
            how = selectors.assigned_to(trigger.user, event.data, selectors.group_ids(trigger.user))
        message = build_message(event, trigger.user, how)
        for notifier in trigger.notifiers.all():
            if not notifier.enabled:
                continue
            _create_delivery(trigger, notifier, event, message)


def _create_delivery(trigger: Trigger, notifier: Notifier, event: Event, message) -> None:
    recipients = list(notifier.recipients or ([trigger.user.email] if trigger.user.email else []))
    defaults = {"payload": payload_for(notifier.kind, message, event, recipients)}
    if notifier.kind == NotifierKind.EMAIL and not recipients:
        defaults |= {
            "status": DeliveryStatus.FAILED,
            "last_error": "No recipient: the user "
            "has no email address and the notifier lists none.",
        }
    delivery, created = Delivery.objects.get_or_create(
        trigger=trigger, notifier=notifier, event=event, defaults=defaults
    )
    if created and delivery.status == DeliveryStatus.PENDING:
        enqueue_on_commit(delivery.pk)


# ---- delivery --------------------------------------------------------------------------


def _claim(delivery_id: int) -> Delivery | None:
    """Take the delivery for one attempt (a conditional UPDATE: two workers never both send)."""
    now = timezone.now()
    claimed = (
        Delivery.objects.filter(pk=delivery_id, status=DeliveryStatus.PENDING)
        .filter(Q(locked_until__isnull=True) | Q(locked_until__lt=now))
        .update(locked_until=now + LEASE)
    )
    if not claimed:
        return None
    return Delivery.objects.select_related("notifier").get(pk=delivery_id)


def attempt_delivery(delivery_id: int) -> int | None:
    """One send attempt, outside any transaction. Returns the seconds to wait before retrying,
    or None when there is nothing more to do (sent, failed for good, or not ours)."""
    from cti.notify.senders import SendError, send

    delivery = _claim(delivery_id)
    if delivery is None:
        return None
    delivery.attempts += 1
    delivery.locked_until = None
    try:
        delivery.response_status = send(delivery)
    except SendError as exc:
        delivery.last_error = str(exc)[:2000]
        delivery.response_status = exc.status
        retry = delivery.attempts < MAX_ATTEMPTS
        delivery.status = DeliveryStatus.PENDING if retry else DeliveryStatus.FAILED
        wait = backoff(delivery.attempts) if retry else None
        delivery.next_attempt = timezone.now() + timedelta(seconds=wait) if wait else None
        logger.warning(
            "notification delivery %s failed (attempt %d): %s", delivery.pk, delivery.attempts, exc
        )
    else:
        delivery.status = DeliveryStatus.SENT
        delivery.sent_at = timezone.now()
        delivery.last_error = ""
        delivery.next_attempt = None
        wait = None
    delivery.save(
        update_fields=[
            "attempts",
            "locked_until",
            "response_status",
            "last_error",
            "status",
            "sent_at",
            "next_attempt",
        ]
    )
    return wait


def retry_deliveries(deliveries) -> int:
    """Admin action: failed deliveries get a fresh set of attempts."""
    ids = [d.pk for d in deliveries if d.status == DeliveryStatus.FAILED]
    Delivery.objects.filter(pk__in=ids, status=DeliveryStatus.FAILED).update(
        status=DeliveryStatus.PENDING, attempts=0, next_attempt=None, locked_until=None
    )
    for pk in ids:
        enqueue_on_commit(pk)
    return len(ids)


def due_delivery_ids(limit: int = 1000) -> list[int]:
    """Pending deliveries whose task may have been lost (broker down, worker killed)."""
    now = timezone.now()
    return list(
        Delivery.objects.filter(status=DeliveryStatus.PENDING)
        .filter(Q(next_attempt__isnull=True) | Q(next_attempt__lte=now))
        .filter(Q(locked_until__isnull=True) | Q(locked_until__lt=now))
        .values_list("pk", flat=True)[:limit]
    )


# ---- triggers --------------------------------------------------------------------------

EVENT_KINDS = set(EventKind.values)


def _string_list(data: dict, key: str) -> list[str]:
    value = data.get(key) or []
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise V3Error(f"{key} must be a list of strings.")
    return sorted(set(value))


def validate_trigger(user, data: dict) -> dict:
    """Checks the filters against each other; the TQL must compile for every event kind."""
    from rules.definitions import RULES_BY_ID

    events = data["events"]
    unknown = sorted(set(events) - EVENT_KINDS)
    if unknown or not events:
        raise V3Error(f"events must be some of {sorted(EVENT_KINDS)}; got {unknown or events}.")
    bad_rules = sorted(set(data.get("rules") or ()) - set(RULES_BY_ID))
    if bad_rules:
        raise V3Error(f"Unknown rule ids: {', '.join(bad_rules)}.")
    if data.get("assigned_to_me") and set(events) & INTEL_KINDS:
        raise V3Error("assignedToMe applies to case and task events only.")
    tql = (data.get("tql") or "").strip()
    if tql:
        for schema in sorted({selectors.tql_schema_for(kind) for kind in events}):
            try:
                compile_tql(tql, schema, TqlContext(user=user))
            except TqlError as exc:
                raise V3Error(
                    f"Invalid TQL for {schema}: {exc.message}", ErrCode.TQL_PARSE_ERROR
                ) from None
    return data


def _apply_trigger(trigger: Trigger, data: dict) -> Trigger:
    for key in ("name", "enabled", "events", "assigned_to_me", "object_types", "rules", "tql"):
        if key in data:
            setattr(trigger, key, data[key])
    validate_trigger(
        trigger.user,
        {
            "events": trigger.events,
            "rules": trigger.rules,
            "tql": trigger.tql,
            "assigned_to_me": trigger.assigned_to_me,
        },
    )
    trigger.save()
    if "notifiers" in data:
        trigger.notifiers.set(data["notifiers"])
    return trigger


def trigger_create(*, user, data: dict) -> Trigger:
    return _apply_trigger(Trigger(user=user), data)


def trigger_update(*, user, instance: Trigger, data: dict) -> Trigger:
    return _apply_trigger(instance, data)


def trigger_delete(*, user, instance: Trigger) -> None:
    instance.delete()


# ---- notifiers -------------------------------------------------------------------------


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def notifier_save(notifier: Notifier, data: dict) -> Notifier:
    for key in ("name", "kind", "url", "secret", "recipients", "enabled"):
        if key in data:
            setattr(notifier, key, data[key])
    if notifier.kind == NotifierKind.EMAIL:
        notifier.url, notifier.secret = "", ""
    elif not notifier.url:
        raise V3Error(f"A {notifier.kind} notifier needs a url.", ErrCode.MISSING_DATA)
    else:
        notifier.recipients = []
    if notifier.kind == NotifierKind.WEBHOOK and not notifier.secret:
        notifier.secret = new_secret()
    elif notifier.kind != NotifierKind.WEBHOOK:
        notifier.secret = ""
    if notifier.secret:
        _check_secret(notifier.secret)
    notifier.save()
    return notifier


def _check_secret(secret: str) -> None:
    from standardwebhooks.webhooks import Webhook

    try:
        Webhook(secret)
    except Exception:
        raise V3Error('secret must be "whsec_" followed by base64.') from None
