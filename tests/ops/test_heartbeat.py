"""The worker heartbeat (a timer in the worker's main process) and the beat tasks."""

import time
from datetime import timedelta
from types import SimpleNamespace

import pytest
from celery.utils.nodenames import gethostname
from django.utils import timezone

from cti.celery import app
from cti.events.models import Event
from cti.ops import services, signals, tasks
from cti.ops.models import WorkerHeartbeat
from rules.models import GraphChange


def _wait_for(check, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while not (result := check()):
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)
    return result


@pytest.mark.django_db(transaction=True)
def test_the_timer_keeps_the_row_fresh_and_a_clean_stop_removes_it(settings, client):
    settings.CTI_HEARTBEAT_INTERVAL = 0.2
    settings.CTI_READY_CHECKS = ["worker"]
    assert client.get("/ready").status_code == 503
    signals.start_heartbeat(sender=SimpleNamespace(hostname="celery@timer-test"))
    try:
        first = _wait_for(
            lambda: WorkerHeartbeat.objects.filter(hostname="celery@timer-test").first()
        )
        assert client.get("/ready").status_code == 200
        _wait_for(lambda: WorkerHeartbeat.objects.get(pk=first.pk).last_seen > first.last_seen)
        row = WorkerHeartbeat.objects.get(pk=first.pk)
        assert row.started == first.started  # one row per worker, touched in place
        assert row.last_task is None
    finally:
        signals.stop_heartbeat()
    assert not WorkerHeartbeat.objects.filter(hostname="celery@timer-test").exists()
    assert client.get("/ready").status_code == 503


def test_no_timer_when_the_interval_is_zero(settings):
    settings.CTI_HEARTBEAT_INTERVAL = 0
    signals.start_heartbeat(sender=SimpleNamespace(hostname="celery@off"))
    assert signals._heartbeat is None


@pytest.mark.django_db
def test_the_heartbeat_task_records_the_round_trip():
    hostname = gethostname()  # what an eager task's request.hostname is
    timer_row = services.beat(hostname)
    assert timer_row.last_task is None
    tasks.heartbeat.apply()
    row = WorkerHeartbeat.objects.get(hostname=hostname)
    assert row.last_task is not None
    assert row.pid == timer_row.pid and row.started == timer_row.started


@pytest.mark.django_db
def test_the_sweep_enqueues_only_outboxes_with_rows_left_behind(monkeypatch):
    sent: list[str] = []
    monkeypatch.setattr("cti.events.tasks.dispatch_events.delay", lambda: sent.append("events"))
    monkeypatch.setattr(
        "rules.tasks.process_graph_changes.delay", lambda: sent.append("graph_changes")
    )
    tasks.sweep_outboxes.apply()
    assert sent == []  # nothing pending

    Event.objects.create(kind="case.created", object_type="case", object_id=1)
    GraphChange.objects.create(kind=GraphChange.Kind.ADDED, node_mark=0, ref_mark=0)
    tasks.sweep_outboxes.apply()
    assert sent == []  # young rows: the task enqueued at their commit is on its way

    old = timezone.now() - timedelta(seconds=tasks.STUCK_AFTER + 5)
    Event.objects.update(created=old)
    tasks.sweep_outboxes.apply()
    assert sent == ["events"]
    GraphChange.objects.update(created=old)
    tasks.sweep_outboxes.apply()
    assert sent == ["events", "events", "graph_changes"]


def test_beat_schedules_registered_tasks(settings):
    schedule = settings.CELERY_BEAT_SCHEDULE
    assert {entry["task"] for entry in schedule.values()} == {
        "ops.heartbeat",
        "ops.sweep_outboxes",
        "ops.prune",
    }
    for entry in schedule.values():
        assert entry["task"] in app.tasks
        assert entry["schedule"] > 0
