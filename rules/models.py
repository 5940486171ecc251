"""Rule state, activation progress and the queue of graph changes awaiting inference."""

from django.db import models


class RuleStatus(models.TextChoices):
    INACTIVE = "inactive"
    ACTIVATING = "activating"
    ACTIVE = "active"
    DEACTIVATING = "deactivating"
    FAILED = "failed"


class RuleState(models.Model):
    rule_id = models.CharField(max_length=64, primary_key=True)
    active = models.BooleanField(default=False)
    status = models.CharField(
        max_length=16, choices=RuleStatus.choices, default=RuleStatus.INACTIVE
    )
    processed = models.PositiveBigIntegerField(default=0)
    total = models.PositiveBigIntegerField(default=0)
    inferred = models.PositiveBigIntegerField(default=0)
    started = models.DateTimeField(null=True, blank=True)
    finished = models.DateTimeField(null=True, blank=True)
    errors = models.JSONField(default=list, blank=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["rule_id"]

    def __str__(self) -> str:
        return f"{self.rule_id} ({self.status})"

    @property
    def percent(self) -> int:
        if self.status == RuleStatus.ACTIVE:
            return 100
        return min(99, int(100 * self.processed / self.total)) if self.total else 0


class GraphChange(models.Model):
    """An outbox row written in the same transaction as the graph change it describes, so a
    broker outage delays inference but never loses it. Drained in id order."""

    class Kind(models.TextChoices):
        ADDED = "added"
        CHANGED = "changed"
        REMOVED = "removed"

    kind = models.CharField(max_length=8, choices=Kind.choices)
    nodes = models.JSONField(default=list)
    refs = models.JSONField(default=list)
    # for additions: facts with ids above these marks are new
    node_mark = models.BigIntegerField(null=True, blank=True)
    ref_mark = models.BigIntegerField(null=True, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    attempts = models.PositiveIntegerField(default=0)
    parked = models.BooleanField(default=False, db_index=True)
    error = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return f"{self.kind} {len(self.nodes)} nodes {len(self.refs)} refs"
