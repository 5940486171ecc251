"""Case automations: when an incident or a sighting matches a filter, open a case from a
workflow template (or join the case an earlier event of the same indicator and target opened)."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator
from django.db import models

from cases.choices import CaseSeverityChoices
from cti.automation.choices import DEFAULT_GROUPING_DAYS, RunOutcome, SeverityLevel, TriggerKind

USER = settings.AUTH_USER_MODEL


class CaseAutomation(models.Model):
    name = models.CharField(max_length=255, unique=True)
    description = models.TextField(blank=True, default="")
    enabled = models.BooleanField(default=True)
    # filter
    event_kind = models.CharField(max_length=32, choices=TriggerKind.choices)
    tql = models.TextField(
        blank=True,
        default="",
        help_text="TQL on the event's object: intelObjects keywords for an incident, "
        "intelSightings keywords for a sighting",
    )
    indicator_tql = models.TextField(
        blank=True, default="", help_text="TQL (intelObjects keywords) on the indicator"
    )
    min_severity = models.CharField(
        max_length=16,
        choices=SeverityLevel.choices,
        blank=True,
        default="",
        help_text="Lowest incident severity that matches (a sighting's severity is derived "
        "from the indicator's confidence as the sighting_incident rule does)",
    )
    # the case
    workflow_template = models.ForeignKey(
        "cases.WorkflowTemplate",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="automations",
    )
    case_name = models.CharField(
        max_length=255,
        blank=True,
        default="",
        help_text="e.g. '{incident.name}'; roots: incident, sighting, indicator, target, "
        "observable, automation, severity",
    )
    case_description = models.TextField(blank=True, default="")
    severity = models.CharField(
        max_length=16,
        choices=CaseSeverityChoices.choices,
        blank=True,
        default="",
        help_text="Fixed case severity (blank: the event's severity)",
    )
    severity_map = models.JSONField(
        default=dict, blank=True, help_text='Event severity -> case severity, e.g. {"low": "Low"}'
    )
    priority = models.CharField(
        max_length=16, blank=True, default="", help_text="P1..P4 (or Critical, High, Medium, Low)"
    )
    priority_map = models.JSONField(
        default=dict, blank=True, help_text='Event severity -> priority, e.g. {"high": "P2"}'
    )
    assignee_user = models.ForeignKey(
        USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    assignee_group = models.ForeignKey(
        "security.UserGroup", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    tasks = models.JSONField(
        default=list, blank=True, help_text="Extra tasks: [{name, description, assignee}]"
    )
    context_depth = models.PositiveSmallIntegerField(
        default=1,
        validators=[MaxValueValidator(2)],
        help_text="Relationship hops from the indicator whose nodes go into the case",
    )
    grouping_days = models.PositiveIntegerField(
        default=DEFAULT_GROUPING_DAYS,
        help_text="Events of the same indicator and target within this many days join the "
        "open case (0: always open a new case)",
    )
    run_as = models.ForeignKey(
        USER,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The user the case is opened as (blank: the 'case-automation' service user)",
    )
    created_by = models.ForeignKey(
        USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    date_added = models.DateTimeField(auto_now_add=True)
    last_updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(assignee_user__isnull=True)
                | models.Q(assignee_group__isnull=True),
                name="automation_one_assignee",
            )
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        from cti.automation.validation import AutomationInvalid, check_automation

        try:
            check_automation(self)
        except AutomationInvalid as exc:
            raise ValidationError(str(exc)) from None


class AutomationGroup(models.Model):
    """The case events of one indicator on one target join; one row per key, locked while an
    event decides whether to join it or open a new case, so two events never open two."""

    automation = models.ForeignKey(CaseAutomation, on_delete=models.CASCADE, related_name="groups")
    indicator = models.ForeignKey("intel.StixObject", on_delete=models.CASCADE, related_name="+")
    target = models.ForeignKey("intel.StixObject", on_delete=models.CASCADE, related_name="+")
    case = models.ForeignKey(
        "cases.Case", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    started = models.DateTimeField(help_text="When the event that opened the case happened")
    last_joined = models.DateTimeField(null=True, blank=True)
    joined = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["automation", "indicator", "target"], name="automation_group_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.automation}: {self.indicator_id} on {self.target_id}"


class AutomationRun(models.Model):
    """What an automation did for one event; unique, so a re-dispatched event is a no-op."""

    automation = models.ForeignKey(CaseAutomation, on_delete=models.CASCADE, related_name="runs")
    event = models.ForeignKey("events.Event", on_delete=models.CASCADE, related_name="+")
    case = models.ForeignKey(
        "cases.Case", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    outcome = models.CharField(max_length=16, choices=RunOutcome.choices, blank=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-pk"]
        constraints = [
            models.UniqueConstraint(fields=["automation", "event"], name="automation_run_unique")
        ]

    def __str__(self) -> str:
        return f"{self.automation} / event {self.event_id}: {self.outcome}"
