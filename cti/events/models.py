"""What happened, recorded in the writer's transaction (an outbox), then handed to the
subscribers (case automations, notifications) by a Celery task after commit."""

from django.conf import settings
from django.db import models

from cti.events.choices import EventKind


class Event(models.Model):
    kind = models.CharField(max_length=32, choices=EventKind.choices, db_index=True)
    # "case", "task" (cases app rows) or a STIX type ("incident", "sighting", ...) for graph
    # nodes, whose object_id is the intel StixObject pk
    object_type = models.CharField(max_length=64)
    object_id = models.BigIntegerField()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    data = models.JSONField(default=dict, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    processed = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt = models.DateTimeField(null=True, blank=True)
    parked = models.BooleanField(default=False)
    error = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["pk"]
        indexes = [
            models.Index(
                fields=["id"], name="event_pending", condition=models.Q(processed__isnull=True)
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.object_type} {self.object_id}"
