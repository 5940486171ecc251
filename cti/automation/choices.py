from django.db import models

from cti.events.choices import EventKind


class TriggerKind(models.TextChoices):
    """The events an automation can react to."""

    INCIDENT_CREATED = EventKind.INCIDENT_CREATED.value, "Incident created"
    SIGHTING_RECORDED = EventKind.SIGHTING_RECORDED.value, "Sighting recorded"


class SeverityLevel(models.TextChoices):
    """STIX incident severities (the `sighting_incident` rule's vocabulary), lowest first."""

    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"
    CRITICAL = "critical", "Critical"


SEVERITY_ORDER = {level: n for n, level in enumerate(SeverityLevel.values)}


class RunOutcome(models.TextChoices):
    OPENED = "opened", "Opened a case"
    JOINED = "joined", "Joined an open case"


# How many days a second sighting/incident of the same indicator on the same target joins the
# case the first one opened (an automation's grouping_days; 0 never groups).
DEFAULT_GROUPING_DAYS = 7

# A case receives at most this many context nodes (a hub indicator must not fill it).
MAX_CONTEXT_NODES = 500
