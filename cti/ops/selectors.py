"""Reads for readiness and metrics: outbox depths, rule lag, worker heartbeats."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, Max, Min, Q
from django.utils import timezone

from cti.events.models import Event
from cti.ops.models import WorkerHeartbeat
from rules.models import GraphChange


@dataclass(frozen=True)
class Backlog:
    events_pending: int
    events_parked: int
    oldest_event: datetime | None
    changes_pending: int
    changes_parked: int
    oldest_change: datetime | None

    @staticmethod
    def _age(since: datetime | None, now: datetime) -> float:
        return max(0.0, (now - since).total_seconds()) if since else 0.0

    def event_lag(self, now: datetime) -> float:
        return self._age(self.oldest_event, now)

    def rule_lag(self, now: datetime) -> float:
        """Age of the oldest graph change the rules engine has not applied yet."""
        return self._age(self.oldest_change, now)


def backlog() -> Backlog:
    """Two aggregate queries; both outboxes are small when healthy (rows leave once done)."""
    events = Event.objects.filter(processed__isnull=True).aggregate(
        n_pending=Count("pk", filter=Q(parked=False)),
        n_parked=Count("pk", filter=Q(parked=True)),
        oldest_at=Min("created", filter=Q(parked=False)),
    )
    changes = GraphChange.objects.aggregate(
        n_pending=Count("pk", filter=Q(parked=False)),
        n_parked=Count("pk", filter=Q(parked=True)),
        oldest_at=Min("created", filter=Q(parked=False)),
    )
    return Backlog(
        events_pending=events["n_pending"],
        events_parked=events["n_parked"],
        oldest_event=events["oldest_at"],
        changes_pending=changes["n_pending"],
        changes_parked=changes["n_parked"],
        oldest_change=changes["oldest_at"],
    )


@dataclass(frozen=True)
class Heartbeats:
    workers: int  # rows younger than max_age
    latest: datetime | None
    latest_task: datetime | None


def heartbeats(max_age: float) -> Heartbeats:
    since = timezone.now() - timedelta(seconds=max_age)
    row = WorkerHeartbeat.objects.aggregate(
        n_alive=Count("pk", filter=Q(last_seen__gte=since)),
        latest_seen=Max("last_seen"),
        latest_task_at=Max("last_task"),
    )
    return Heartbeats(
        workers=row["n_alive"], latest=row["latest_seen"], latest_task=row["latest_task_at"]
    )
