from django.db import models


class CaseStatusChoices(models.TextChoices):
    OPEN = "Open"
    CLOSED = "Closed"


class CaseSeverityChoices(models.TextChoices):
    LOW = "Low"
    MEDIUM = "Medium"
    HIGH = "High"
    CRITICAL = "Critical"


class CaseResolutionChoices(models.TextChoices):
    CONTAINMENT_ACHIEVED = "Containment Achieved"
    DEFERRED = "Deferred / Delayed"
    ESCALATED = "Escalated"
    FALSE_POSITIVE = "False Positive"
    IN_PROGRESS = "In Progress / Investigating"
    NOT_SPECIFIED = "Not Specified"
    REJECTED = "Rejected"
    RESTORATION_ACHIEVED = "Restoration Achieved"


# Spellings clients send that mean a canonical resolution.
RESOLUTION_ALIASES = {"Deferred / Delayred": CaseResolutionChoices.DEFERRED}


class TaskStatusChoices(models.TextChoices):
    PENDING = "Pending"
    OPEN = "Open"
    REOPENED = "Reopened"
    CLOSED = "Closed"


class DurationTypeChoices(models.TextChoices):
    DAYS = "Days"
    HOURS = "Hours"
    MINUTES = "Minutes"


class AssigneeTypeChoices(models.TextChoices):
    USER = "User"
    GROUP = "Group"
    NONE = "None"
