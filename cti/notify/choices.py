from django.db import models

from cti.events.choices import EventKind


class NotifierKind(models.TextChoices):
    EMAIL = "email", "Email"
    WEBHOOK = "webhook", "Webhook (Standard Webhooks, signed JSON)"
    TEAMS = "teams", "Microsoft Teams"
    SLACK = "slack", "Slack"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"


CASE_KINDS = frozenset(
    {EventKind.CASE_CREATED, EventKind.CASE_ASSIGNED, EventKind.CASE_STATUS_CHANGED}
)
TASK_KINDS = frozenset({EventKind.TASK_ASSIGNED})
INTEL_KINDS = frozenset(
    {EventKind.INCIDENT_CREATED, EventKind.OBJECT_INFERRED, EventKind.SIGHTING_RECORDED}
)
