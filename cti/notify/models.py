"""Notification triggers (what a user wants to hear about), notifiers (where messages go) and
the delivery log (one row per trigger, notifier and event: the unit that is sent and retried)."""

from django.conf import settings
from django.db import models

from cti.notify.choices import DeliveryStatus, NotifierKind


class Notifier(models.Model):
    """A channel set up by an administrator: an email sender, a generic signed webhook, a Teams
    or Slack incoming webhook."""

    name = models.CharField(max_length=200, unique=True)
    kind = models.CharField(max_length=16, choices=NotifierKind.choices)
    url = models.URLField(max_length=2000, blank=True, default="")
    # Standard Webhooks signing secret ("whsec_" + base64), webhook kind only
    secret = models.CharField(max_length=200, blank=True, default="")
    # email kind: fixed addresses; empty sends to the email of the trigger's user
    recipients = models.JSONField(default=list, blank=True)
    enabled = models.BooleanField(default=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.kind})"


class Trigger(models.Model):
    """A user's subscription: event kinds plus filters, sent through some notifiers."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_triggers"
    )
    name = models.CharField(max_length=200)
    enabled = models.BooleanField(default=True)
    events = models.JSONField(default=list)  # EventKind values
    # case/task events: only when the case/task is assigned to the user or one of their groups
    assigned_to_me = models.BooleanField(default=False)
    object_types = models.JSONField(default=list, blank=True)  # event object types (STIX types)
    rules = models.JSONField(default=list, blank=True)  # rule ids (incident/object.inferred)
    tql = models.TextField(blank=True, default="")  # cases/tasks/intel TQL on the object
    notifiers = models.ManyToManyField(Notifier, related_name="triggers")
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return f"{self.name} ({self.user})"


class Delivery(models.Model):
    trigger = models.ForeignKey(Trigger, on_delete=models.CASCADE, related_name="deliveries")
    notifier = models.ForeignKey(Notifier, on_delete=models.CASCADE, related_name="deliveries")
    event = models.ForeignKey("events.Event", on_delete=models.CASCADE, related_name="+")
    status = models.CharField(
        max_length=8, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True, default="")
    response_status = models.PositiveIntegerField(null=True, blank=True)
    # what is sent: the JSON body (webhook, Teams, Slack) or {"to", "subject", "body"} (email)
    payload = models.JSONField(default=dict)
    created = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    next_attempt = models.DateTimeField(null=True, blank=True)
    # a worker sending it holds it until then (a worker killed mid-send lets it go)
    locked_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-pk"]
        verbose_name_plural = "deliveries"
        constraints = [
            models.UniqueConstraint(
                fields=["trigger", "notifier", "event"], name="notify_delivery_once"
            )
        ]
        indexes = [
            models.Index(
                fields=["next_attempt"],
                name="notify_delivery_pending",
                condition=models.Q(status="pending"),
            )
        ]

    def __str__(self) -> str:
        return f"delivery {self.pk} ({self.status})"
