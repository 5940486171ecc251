from django.db import models


class SourceKind(models.TextChoices):
    SPLUNK = "splunk", "Splunk webhook alert action"
    KIBANA = "kibana", "Kibana webhook connector"
    WAZUH = "wazuh", "Wazuh integrator"
    GENERIC = "generic", "Generic JSON"


class AuthMode(models.TextChoices):
    SIGNATURE = "signature", "Standard Webhooks signature (HMAC-SHA256)"
    TOKEN = "token", "Secret token (?token= or Authorization: Bearer)"


class DeadLetterStatus(models.TextChoices):
    NEW = "new", "New"
    REPLAYED = "replayed", "Replayed"
    FAILED = "failed", "Replay failed"


class ItemStatus(models.TextChoices):
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    REJECTED = "rejected"


API_SOURCE = "api"  # the source key of sightings posted to /v3/sightings
SYSTEM_IDENTITY_CLASS = "system"
