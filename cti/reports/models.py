"""A case report rendered in the background and kept as a downloadable file."""

from django.conf import settings
from django.core.files.storage import FileSystemStorage
from django.db import models

from cti.reports.choices import ReportFormat, ReportStatus


def report_storage() -> FileSystemStorage:
    """Files under MEDIA_ROOT (followed when settings change), else CTI_VAR_DIR/media."""
    if getattr(settings, "MEDIA_ROOT", ""):
        return FileSystemStorage()
    return FileSystemStorage(location=settings.VAR_DIR / "media")


def report_upload_to(instance: "CaseReport", filename: str) -> str:
    return f"reports/{instance.case_id}/{filename}"


class CaseReport(models.Model):
    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="reports")
    format = models.CharField(max_length=8, choices=ReportFormat.choices, default=ReportFormat.PDF)
    status = models.CharField(
        max_length=10, choices=ReportStatus.choices, default=ReportStatus.PENDING
    )
    progress = models.PositiveSmallIntegerField(default=0, help_text="percent")
    file = models.FileField(
        upload_to=report_upload_to, storage=report_storage, max_length=300, blank=True
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created = models.DateTimeField(auto_now_add=True)
    finished = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["-created", "-id"]
        indexes = [models.Index(fields=["case", "-created"], name="case_report_case_created")]

    def __str__(self) -> str:
        return f"{self.get_format_display()} report of case {self.case_id} ({self.status})"
