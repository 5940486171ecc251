from django.db import models


class ReportFormat(models.TextChoices):
    PDF = "pdf", "PDF"


class ReportStatus(models.TextChoices):
    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
