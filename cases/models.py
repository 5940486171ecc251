"""Case management: cases, tasks, artifacts, notes, workflow templates and events, tags and
attributes, shaped after ThreatConnect's v3 case-management objects."""

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from cases.choices import (
    CaseResolutionChoices,
    CaseSeverityChoices,
    CaseStatusChoices,
    DurationTypeChoices,
    OpinionChoices,
    TaskStatusChoices,
)
from cti.fastload import FastLoad

USER = settings.AUTH_USER_MODEL


def new_xid() -> str:
    return str(uuid.uuid4())


class AssignableMixin(FastLoad, models.Model):
    """A user or a user group (never both) can be assigned."""

    assignee_user = models.ForeignKey(
        USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    assignee_group = models.ForeignKey(
        "security.UserGroup", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        abstract = True


class Tag(FastLoad, models.Model):
    name = models.CharField(max_length=128)
    description = models.TextField(blank=True, default="")
    owner = models.ForeignKey("security.Owner", on_delete=models.PROTECT, related_name="tags")
    technique_id = models.CharField(max_length=32, null=True, blank=True)
    last_used = models.DateTimeField(null=True, blank=True)
    date_added = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["owner", "name"], name="tag_unique_name")]
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class AttributeType(FastLoad, models.Model):
    name = models.CharField(max_length=128, unique=True)
    description = models.TextField(blank=True, default="")
    max_size = models.PositiveIntegerField(default=65500)
    max_allowed = models.PositiveIntegerField(default=0, help_text="0 means unlimited")
    allow_markdown = models.BooleanField(default=False)

    def __str__(self) -> str:
        return self.name


class WorkflowTemplate(AssignableMixin):
    name = models.CharField(max_length=255)
    description = models.TextField(blank=True, default="")
    version = models.PositiveIntegerField(default=1)
    active = models.BooleanField(default=False)
    config_attribute = models.JSONField(default=list, blank=True)
    config_task = models.JSONField(default=list, blank=True)
    config_playbook = models.TextField(null=True, blank=True)
    config_artifact = models.TextField(null=True, blank=True)
    owner = models.ForeignKey("security.Owner", on_delete=models.PROTECT, related_name="+")
    date_added = models.DateTimeField(auto_now_add=True)
    last_updated = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["owner", "name", "version"], name="workflow_template_unique_version"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} v{self.version}"


class Case(AssignableMixin):
    xid = models.CharField(max_length=100, unique=True, default=new_xid)
    name = models.CharField(max_length=255)
    description = models.TextField(blank=True, default="")
    status = models.CharField(
        max_length=16, choices=CaseStatusChoices.choices, default=CaseStatusChoices.OPEN
    )
    severity = models.CharField(max_length=16, choices=CaseSeverityChoices.choices)
    resolution = models.CharField(
        max_length=40,
        choices=CaseResolutionChoices.choices,
        default=CaseResolutionChoices.NOT_SPECIFIED,
    )
    case_type = models.CharField(max_length=64, blank=True, default="")
    cal_score = models.IntegerField(null=True, blank=True)
    threat_assess_score = models.IntegerField(null=True, blank=True)
    case_open_time = models.DateTimeField()
    case_close_time = models.DateTimeField(null=True, blank=True)
    case_occurrence_time = models.DateTimeField(null=True, blank=True)
    case_detection_time = models.DateTimeField(null=True, blank=True)
    case_open_user = models.ForeignKey(
        USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    case_close_user = models.ForeignKey(
        USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    case_occurrence_user = models.ForeignKey(
        USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    case_detection_user = models.ForeignKey(
        USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    detection_due = models.DateTimeField(null=True, blank=True)
    time_to_detect = models.IntegerField(null=True, blank=True)
    time_to_respond = models.IntegerField(null=True, blank=True)
    response_due = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    owner = models.ForeignKey("security.Owner", on_delete=models.PROTECT, related_name="cases")
    workflow_template = models.ForeignKey(
        WorkflowTemplate, null=True, blank=True, on_delete=models.SET_NULL, related_name="cases"
    )
    tags = models.ManyToManyField(Tag, blank=True, related_name="cases")
    associated_cases = models.ManyToManyField("self", blank=True, symmetrical=True)
    user_access = models.ManyToManyField(USER, blank=True, related_name="accessible_cases")
    node = models.OneToOneField(
        "intel.StixObject", null=True, blank=True, on_delete=models.SET_NULL, related_name="case"
    )
    priority = models.CharField(max_length=2, blank=True, default="")
    type_values = models.JSONField(default=list, blank=True)
    detailed_status = models.ForeignKey(
        "CaseStatusTemplate",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="cases",
    )
    date_added = models.DateTimeField(auto_now_add=True)
    last_updated = models.DateTimeField(auto_now=True)

    class Meta:
        # Besides these, PostgreSQL has trigram indexes for name LIKE/CONTAINS (migration 0006).
        indexes = [
            models.Index(fields=["status", "severity"]),
            models.Index(fields=["name"]),
            # sorting=dateAdded (either direction) and keyset paging on it, tie-broken by id
            models.Index(fields=["date_added", "id"], name="case_date_added_id"),
            models.Index(fields=["last_updated"], name="case_last_updated"),
            models.Index(fields=["case_open_time"], name="case_open_time"),
            models.Index(fields=["case_close_time"], name="case_close_time"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def detection_overdue(self) -> bool:
        return _late(self.detection_due, self.case_detection_time)

    @property
    def response_overdue(self) -> bool:
        return _late(self.response_due, self.case_close_time)


def _late(due, done) -> bool:
    if due is None:
        return False
    return (done or timezone.now()) > due


class Task(AssignableMixin):
    xid = models.CharField(max_length=100, unique=True, default=new_xid)
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="tasks")
    name = models.CharField(max_length=255)
    description = models.TextField(blank=True, default="")
    status = models.CharField(
        max_length=16, choices=TaskStatusChoices.choices, default=TaskStatusChoices.OPEN
    )
    required = models.BooleanField(default=False)
    due_date = models.DateTimeField(null=True, blank=True)
    completed_date = models.DateTimeField(null=True, blank=True)
    completed_by = models.ForeignKey(
        USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    dependent_on = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="dependents"
    )
    workflow_phase = models.PositiveIntegerField(default=0)
    workflow_step = models.PositiveIntegerField(default=1)
    duration = models.PositiveIntegerField(null=True, blank=True)
    duration_type = models.CharField(
        max_length=10, choices=DurationTypeChoices.choices, null=True, blank=True
    )
    config_task = models.JSONField(default=list, blank=True)
    config_playbook = models.TextField(null=True, blank=True)
    automated = models.BooleanField(default=False)
    date_added = models.DateTimeField(auto_now_add=True)
    last_updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["workflow_phase", "workflow_step", "id"]
        indexes = [
            # the default ordering of task lists, so a page needs no sort of every task
            models.Index(fields=["workflow_phase", "workflow_step", "id"], name="task_order"),
            models.Index(fields=["due_date"], name="task_due_date"),
        ]

    def __str__(self) -> str:
        return self.name


class ArtifactType(FastLoad, models.Model):
    name = models.CharField(max_length=128, unique=True)
    description = models.TextField(blank=True, default="")
    data_type = models.CharField(max_length=32, default="String")
    intel_type = models.CharField(max_length=64, null=True, blank=True)
    derived_link = models.BooleanField(default=False)
    active = models.BooleanField(default=True)
    managed = models.BooleanField(default=True)
    validator = models.CharField(max_length=32, blank=True, default="")

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_file(self) -> bool:
        return self.data_type == "File"


class WorkflowEvent(FastLoad, models.Model):
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="workflow_events")
    summary = models.TextField()
    event_date = models.DateTimeField()
    date_added = models.DateTimeField(auto_now_add=True)
    system_generated = models.BooleanField(default=False)
    link = models.CharField(max_length=500, blank=True, default="")
    link_text = models.CharField(max_length=255, blank=True, default="")
    user = models.ForeignKey(USER, null=True, blank=True, on_delete=models.SET_NULL)
    deleted = models.BooleanField(default=False)
    deleted_reason = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["event_date", "id"]

    def __str__(self) -> str:
        return self.summary[:80]


class Artifact(FastLoad, models.Model):
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="artifacts")
    task = models.ForeignKey(
        Task, null=True, blank=True, on_delete=models.SET_NULL, related_name="artifacts"
    )
    artifact_type = models.ForeignKey(ArtifactType, on_delete=models.PROTECT, related_name="+")
    summary = models.TextField()
    source = models.CharField(max_length=255, blank=True, default="")
    field_name = models.CharField(max_length=255, null=True, blank=True)
    file_data = models.TextField(null=True, blank=True)
    hash_code = models.CharField(max_length=128, null=True, blank=True)
    derived_link = models.BooleanField(default=False)
    observable = models.ForeignKey(
        "intel.StixObject", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    date_added = models.DateTimeField(auto_now_add=True)
    last_updated = models.DateTimeField(auto_now=True)

    class Meta:
        # summary first: `summary = x` alone (hasArtifact(summary = ...)) and with a type (derived
        # links) both use it; PostgreSQL also has a trigram index for summary LIKE/CONTAINS
        indexes = [
            models.Index(fields=["summary", "artifact_type"], name="artifact_summary_type"),
            models.Index(fields=["date_added"], name="artifact_date_added"),
        ]
        ordering = ["id"]

    def __str__(self) -> str:
        return self.summary[:80]


class Note(FastLoad, models.Model):
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="notes")
    task = models.ForeignKey(
        Task, null=True, blank=True, on_delete=models.CASCADE, related_name="notes"
    )
    artifact = models.ForeignKey(
        Artifact, null=True, blank=True, on_delete=models.CASCADE, related_name="notes"
    )
    workflow_event = models.ForeignKey(
        WorkflowEvent, null=True, blank=True, on_delete=models.CASCADE, related_name="notes"
    )
    text = models.TextField()
    author = models.ForeignKey(USER, null=True, blank=True, on_delete=models.SET_NULL)
    edited = models.BooleanField(default=False)
    date_added = models.DateTimeField(auto_now_add=True)
    last_modified = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["date_added"], name="note_date_added")]

    def __str__(self) -> str:
        return self.text[:80]

    @property
    def summary(self) -> str:
        return self.text[:100]


class CaseAttribute(FastLoad, models.Model):
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="attributes")
    attribute_type = models.ForeignKey(AttributeType, on_delete=models.PROTECT, related_name="+")
    value = models.TextField()
    source = models.CharField(max_length=255, blank=True, default="")
    default = models.BooleanField(default=False)
    pinned = models.BooleanField(default=False)
    created_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.SET_NULL)
    date_added = models.DateTimeField(auto_now_add=True)
    last_modified = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.attribute_type}: {self.value[:60]}"


class CaseStatusTemplate(FastLoad, models.Model):
    """An administrator-defined detailed status (besides Open/Closed) for a case type; a blank
    case type means every type."""

    case_type = models.CharField(max_length=64, blank=True, default="")
    name = models.CharField(max_length=64)
    order = models.PositiveIntegerField(default=0)
    closes_case = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["case_type", "name"], name="case_status_template_unique_name"
            )
        ]
        ordering = ["case_type", "order", "name"]

    def __str__(self) -> str:
        return f"{self.case_type or 'All types'}: {self.name}"


class CaseOpinion(FastLoad, models.Model):
    """A user's STIX-style opinion on a case (lessons learned); one per user and case."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="opinions")
    author = models.ForeignKey(USER, on_delete=models.CASCADE, related_name="+")
    opinion = models.CharField(max_length=20, choices=OpinionChoices.choices)
    explanation = models.TextField(blank=True, default="")
    date_added = models.DateTimeField(auto_now_add=True)
    last_modified = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["case", "author"], name="case_opinion_unique_author")
        ]
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.author}: {self.opinion}"
