"""One row per write of an audited object: who, when, which object, what changed."""

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import models

from cti.audit.choices import AuditAction


class AuditEntry(models.Model):
    timestamp = models.DateTimeField(auto_now_add=True, db_index=True)
    # the user row may go; the name it had stays
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    actor_name = models.CharField(max_length=150, blank=True, default="")
    access_id = models.CharField(
        max_length=40, blank=True, default="", help_text="API credential of the request"
    )
    request_id = models.CharField(max_length=100, blank=True, default="")
    # "api", "admin", "system", "command:<name>"...; endpoint: "POST /api/v3/cases"
    source = models.CharField(max_length=100, blank=True, default="")
    endpoint = models.CharField(max_length=300, blank=True, default="")
    content_type = models.ForeignKey(ContentType, on_delete=models.PROTECT, related_name="+")
    object_id = models.CharField(max_length=64)
    object_repr = models.CharField(max_length=300, blank=True, default="")
    action = models.CharField(max_length=8, choices=AuditAction.choices)
    # changed fields only: before (update, delete), after (create, update); secrets redacted
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    # the whole audited state after the write, kept only for graph objects: they are written in
    # bulk, so the next update's "before" is read from here instead of from the row
    state = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["-pk"]
        verbose_name_plural = "audit entries"
        indexes = [
            models.Index(fields=["content_type", "object_id", "-id"], name="audit_object"),
            models.Index(fields=["actor", "-id"], name="audit_actor"),
        ]
        constraints = [
            # graph creates are found by id above a mark, which can include a concurrent
            # writer's rows: its own entry (committed with them) wins, the second is ignored
            models.UniqueConstraint(
                fields=["content_type", "object_id"],
                condition=models.Q(action="create", state__isnull=False),
                name="audit_one_create",
            )
        ]

    def __str__(self) -> str:
        return f"{self.action} {self.object_type} {self.object_id}"

    @property
    def object_type(self) -> str:
        return f"{self.content_type.app_label}.{self.content_type.model}"
