from django.db import models


class WorkerHeartbeat(models.Model):
    """One row per running Celery worker, touched by a timer in the worker's main process
    (and by the beat-scheduled heartbeat task, which proves the queue round trip). /ready
    reports the workers stale once `last_seen` is older than CTI_READY_HEARTBEAT_MAX_AGE."""

    hostname = models.CharField(max_length=255, unique=True)
    pid = models.PositiveIntegerField(default=0)
    started = models.DateTimeField()
    last_seen = models.DateTimeField(db_index=True)
    # last run of the ops.heartbeat task (sent by beat through the broker); null without beat
    last_task = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-last_seen"]

    def __str__(self) -> str:
        return f"{self.hostname} ({self.last_seen:%Y-%m-%d %H:%M:%S})"
