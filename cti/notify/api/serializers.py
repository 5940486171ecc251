"""Input validation (camelCase keys as in the rest of the v3 API) and output shapes."""

from rest_framework import serializers

from cti.events.choices import EventKind
from cti.notify.choices import NotifierKind
from cti.notify.models import Delivery, Notifier, Trigger


class TriggerInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    enabled = serializers.BooleanField(required=False)
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=EventKind.choices), allow_empty=False
    )
    assignedToMe = serializers.BooleanField(required=False, source="assigned_to_me")
    objectTypes = serializers.ListField(
        child=serializers.CharField(max_length=64), required=False, source="object_types"
    )
    rules = serializers.ListField(child=serializers.CharField(max_length=100), required=False)
    tql = serializers.CharField(required=False, allow_blank=True, max_length=10000)
    notifiers = serializers.ListField(child=serializers.IntegerField(min_value=1), required=False)

    def validate_notifiers(self, value: list[int]) -> list[int]:
        found = set(Notifier.objects.filter(pk__in=value).values_list("pk", flat=True))
        missing = sorted(set(value) - found)
        if missing:
            raise serializers.ValidationError(f"Unknown notifier ids: {missing}.")
        return sorted(set(value))

    def validate_events(self, value: list[str]) -> list[str]:
        return sorted(set(value))

    def validate_objectTypes(self, value: list[str]) -> list[str]:
        return sorted(set(value))

    def validate_rules(self, value: list[str]) -> list[str]:
        return sorted(set(value))


class NotifierInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    kind = serializers.ChoiceField(choices=NotifierKind.choices)
    url = serializers.URLField(max_length=2000, required=False, allow_blank=True)
    secret = serializers.CharField(max_length=200, required=False, allow_blank=True)
    recipients = serializers.ListField(child=serializers.EmailField(), required=False)
    enabled = serializers.BooleanField(required=False)

    def validate_url(self, value: str) -> str:
        if value and not value.lower().startswith(("http://", "https://")):
            raise serializers.ValidationError("Only http and https URLs are allowed.")
        return value


def _time(value) -> str | None:
    return value.isoformat() if value else None


def notifier_json(notifier: Notifier, *, full: bool) -> dict:
    body = {
        "id": notifier.pk,
        "name": notifier.name,
        "kind": notifier.kind,
        "enabled": notifier.enabled,
        "created": _time(notifier.created),
    }
    if full:  # destinations and secrets: administrators only
        body |= {"url": notifier.url, "secret": notifier.secret, "recipients": notifier.recipients}
    return body


def trigger_json(trigger: Trigger) -> dict:
    return {
        "id": trigger.pk,
        "name": trigger.name,
        "user": {"id": trigger.user_id, "userName": trigger.user.username},
        "enabled": trigger.enabled,
        "events": trigger.events,
        "assignedToMe": trigger.assigned_to_me,
        "objectTypes": trigger.object_types,
        "rules": trigger.rules,
        "tql": trigger.tql,
        "notifiers": [
            {"id": n.pk, "name": n.name, "kind": n.kind} for n in trigger.notifiers.all()
        ],
        "created": _time(trigger.created),
        "updated": _time(trigger.updated),
    }


def delivery_json(delivery: Delivery) -> dict:
    event = delivery.event
    return {
        "id": delivery.pk,
        "trigger": {"id": delivery.trigger_id, "name": delivery.trigger.name},
        "notifier": {
            "id": delivery.notifier_id,
            "name": delivery.notifier.name,
            "kind": delivery.notifier.kind,
        },
        "event": {
            "id": event.pk,
            "kind": event.kind,
            "objectType": event.object_type,
            "objectId": event.object_id,
        },
        "status": delivery.status,
        "attempts": delivery.attempts,
        "lastError": delivery.last_error,
        "responseStatus": delivery.response_status,
        "payload": delivery.payload,
        "created": _time(delivery.created),
        "sentAt": _time(delivery.sent_at),
        "nextAttempt": _time(delivery.next_attempt),
    }
