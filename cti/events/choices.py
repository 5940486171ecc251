from django.db import models


class EventKind(models.TextChoices):
    INCIDENT_CREATED = "incident.created", "Incident created"
    SIGHTING_RECORDED = "sighting.recorded", "Sighting recorded"
    OBJECT_INFERRED = "object.inferred", "Object created by a rule"
    CASE_CREATED = "case.created", "Case created"
    CASE_ASSIGNED = "case.assigned", "Case assigned"
    CASE_STATUS_CHANGED = "case.status_changed", "Case status changed"
    TASK_ASSIGNED = "task.assigned", "Task assigned"
