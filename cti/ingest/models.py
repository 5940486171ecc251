"""Webhook sources, the responses kept per Idempotency-Key, and dead letters."""

import base64
import secrets

from django.conf import settings
from django.db import models

from cti.ingest.choices import AuthMode, DeadLetterStatus, SourceKind


def new_secret() -> str:
    """A Standard Webhooks secret: whsec_ and 32 random bytes in base64 (usable as a token too)."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


class WebhookSource(models.Model):
    """A SIEM (or anything else) that posts alerts to /v3/webhooks/{slug}."""

    name = models.CharField(max_length=200, unique=True)
    slug = models.SlugField(max_length=100, unique=True)
    kind = models.CharField(max_length=16, choices=SourceKind.choices, default=SourceKind.GENERIC)
    system_name = models.CharField(
        max_length=200, help_text="The System identity the alerts were seen in."
    )
    system = models.ForeignKey(
        "intel.StixObject",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The intel identity node (identity_class system); created on save if missing.",
    )
    owner = models.ForeignKey(
        "security.Owner",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="The owner its sightings and systems belong to (empty: shared with everyone)",
    )
    secret = models.CharField(max_length=200, default=new_secret)
    auth_mode = models.CharField(
        max_length=16, choices=AuthMode.choices, default=AuthMode.SIGNATURE
    )
    field_map = models.JSONField(
        default=dict,
        blank=True,
        help_text='Dotted paths into the payload, e.g. {"items": "alerts", "value": "source.ip", '
        '"type": "=ipv4-addr", "event_id": "kibana.alert.uuid"}; "=x" is the literal x.',
    )
    enabled = models.BooleanField(default=True)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class IdempotencyRecord(models.Model):
    """The response given to the first request with a key; a retry gets it again."""

    scope = models.CharField(max_length=200)
    key = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField()
    response = models.JSONField(default=dict)
    created = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["scope", "key"], name="ingest_idempotency_unique")
        ]

    def __str__(self) -> str:
        return f"{self.scope} {self.key}"


class DeadLetter(models.Model):
    """A payload (or part of one) that could not be turned into sightings, kept to replay."""

    source = models.ForeignKey(
        WebhookSource, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    endpoint = models.CharField(max_length=200, help_text="Where it was posted.")
    received = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    headers = models.JSONField(default=dict, blank=True)
    body = models.TextField(blank=True, default="")
    error = models.TextField()
    http_status = models.PositiveSmallIntegerField()
    status = models.CharField(
        max_length=16, choices=DeadLetterStatus.choices, default=DeadLetterStatus.NEW
    )
    attempts = models.PositiveIntegerField(default=0)
    replayed = models.DateTimeField(null=True, blank=True)
    last_result = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-received", "-pk"]
        indexes = [models.Index(fields=["status", "received"], name="ingest_dl_status")]

    def __str__(self) -> str:
        return f"dead letter {self.pk} ({self.endpoint})"
