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


class CaseTypeChoices(models.TextChoices):
    INCIDENT_RESPONSE = "Incident Response"
    REQUEST_FOR_INFORMATION = "Request for Information"
    REQUEST_FOR_TAKEDOWN = "Request for Takedown"


class CasePriorityChoices(models.TextChoices):
    P1 = "P1", "P1 - critical"
    P2 = "P2", "P2 - high"
    P3 = "P3", "P3 - medium"
    P4 = "P4", "P4 - low"


# OpenCTI's open vocabularies per case type (values outside them are accepted).
CASE_TYPE_VOCABULARIES = {
    CaseTypeChoices.INCIDENT_RESPONSE: ("ransomware", "data-leak"),
    CaseTypeChoices.REQUEST_FOR_INFORMATION: (),
    CaseTypeChoices.REQUEST_FOR_TAKEDOWN: ("phishing", "brand-abuse"),
}

# Artifact intel types and the STIX observable they stand for.
INTEL_TYPE_OBSERVABLES = {
    "indicator-Host": "domain-name",
    "indicator-URL": "url",
    "indicator-EmailAddress": "email-addr",
    "indicator-Address": "ipv4-addr",
    "indicator-CIDR": "ipv4-addr",
    "indicator-ASN": "autonomous-system",
    "indicator-File": "file",
    "indicator-Mutex": "mutex",
    "indicator-Registry Key": "windows-registry-key",
    "indicator-Email Subject": "email-message",
}


class OpinionChoices(models.TextChoices):
    """STIX 2.1 opinion-enum."""

    STRONGLY_DISAGREE = "strongly-disagree"
    DISAGREE = "disagree"
    NEUTRAL = "neutral"
    AGREE = "agree"
    STRONGLY_AGREE = "strongly-agree"
