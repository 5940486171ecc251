"""/ready: database, broker and worker heartbeat; 200 only when all pass."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from cti.ops import readiness, services
from cti.ops.models import WorkerHeartbeat
from tests.ops.helpers import celery_broker

pytestmark = pytest.mark.django_db


def _heartbeat(age_seconds: float, hostname: str = "celery@test") -> WorkerHeartbeat:
    row = services.beat(hostname)
    seen = timezone.now() - timedelta(seconds=age_seconds)
    WorkerHeartbeat.objects.filter(pk=row.pk).update(last_seen=seen)
    return row


@pytest.fixture
def filesystem_broker(tmp_path):
    """The embedded default's broker (kombu's filesystem transport) in a folder of its own."""
    folder = tmp_path / "broker"
    folder.mkdir()
    with celery_broker(
        "filesystem://",
        {
            "data_folder_in": str(folder),
            "data_folder_out": str(folder),
            "control_folder": str(folder / "control"),
        },
    ) as app:
        yield app


def test_ready_passes_with_database_broker_and_fresh_heartbeat(client, filesystem_broker):
    _heartbeat(age_seconds=2)
    response = client.get("/ready")
    body = response.json()
    assert response.status_code == 200, body
    assert body["status"] == "ok"
    checks = body["checks"]
    assert set(checks) == {"database", "broker", "worker"}
    assert all(check["ok"] for check in checks.values())
    assert checks["broker"]["transport"] == "filesystem"
    assert checks["broker"]["depth"] == 0
    assert checks["worker"]["workers"] == 1
    assert 1 <= checks["worker"]["age"] < 30
    assert response["Cache-Control"].startswith("max-age=0")


def test_ready_reports_the_broker_queue_depth(client, filesystem_broker):
    from cti.celery import ping

    _heartbeat(age_seconds=0)
    ping.delay()
    ping.delay()
    assert client.get("/ready").json()["checks"]["broker"]["depth"] == 2


def test_broker_down_is_503_with_the_reason(client, settings):
    _heartbeat(age_seconds=0)
    settings.CTI_READY_BROKER_TIMEOUT = 1.0
    # nothing listens on port 1: connection refused, at once
    with celery_broker("redis://127.0.0.1:1/0"):
        response = client.get("/ready")
    body = response.json()
    assert response.status_code == 503
    assert body["status"] == "error"
    assert body["checks"]["broker"]["ok"] is False
    assert body["checks"]["broker"]["transport"] == "redis"
    assert "Error" in body["checks"]["broker"]["error"]
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["worker"]["ok"] is True


def test_stale_heartbeat_is_503(client, settings, filesystem_broker):
    settings.CTI_READY_HEARTBEAT_MAX_AGE = 30
    _heartbeat(age_seconds=31)
    response = client.get("/ready")
    worker = response.json()["checks"]["worker"]
    assert response.status_code == 503
    assert worker["ok"] is False
    assert worker["workers"] == 0
    assert worker["error"] == "worker heartbeat is stale"
    assert worker["age"] >= 31
    # the same heartbeat is fresh enough under a longer limit
    settings.CTI_READY_HEARTBEAT_MAX_AGE = 60
    assert client.get("/ready").status_code == 200


def test_no_worker_ever_is_503(client, filesystem_broker):
    response = client.get("/ready")
    assert response.status_code == 503
    assert response.json()["checks"]["worker"]["error"] == "no worker heartbeat yet"


def test_one_fresh_worker_among_stale_ones_is_enough(client, filesystem_broker):
    _heartbeat(age_seconds=3600, hostname="celery@gone")
    _heartbeat(age_seconds=1, hostname="celery@alive")
    response = client.get("/ready")
    assert response.status_code == 200
    assert response.json()["checks"]["worker"]["workers"] == 1


def test_checks_can_be_narrowed_by_settings(client, settings, filesystem_broker):
    settings.CTI_READY_CHECKS = ["database", "broker"]
    response = client.get("/ready")
    assert response.status_code == 200
    assert set(response.json()["checks"]) == {"database", "broker"}


def test_a_check_that_raises_is_a_failed_check_not_a_500(client, monkeypatch, filesystem_broker):
    def broken() -> dict:
        raise RuntimeError("database exploded")

    monkeypatch.setitem(readiness.CHECKS, "database", broken)
    _heartbeat(age_seconds=0)
    response = client.get("/ready")
    assert response.status_code == 503
    assert response.json()["checks"]["database"] == {
        "ok": False,
        "error": "RuntimeError: database exploded",
        "ms": response.json()["checks"]["database"]["ms"],
    }


def test_ready_only_answers_get(client):
    assert client.post("/ready").status_code == 405


def test_health_stays_cheap_and_independent_of_worker_and_broker(client):
    with celery_broker("redis://127.0.0.1:1/0"):
        response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_ready_command_for_container_healthchecks(capsys, filesystem_broker):
    with pytest.raises(CommandError):
        call_command("ready", "--check", "worker")
    assert "no worker heartbeat yet" in capsys.readouterr().out
    _heartbeat(age_seconds=0)
    call_command("ready", "--check", "worker", "--check", "database")
    out = capsys.readouterr().out
    assert '"status": "ok"' in out and '"broker"' not in out


def test_the_beat_check_needs_a_recent_heartbeat_task(settings):
    settings.CTI_READY_HEARTBEAT_MAX_AGE = 60
    row = _heartbeat(age_seconds=0)
    ok, checks = readiness.run(["beat"])
    assert not ok and checks["beat"]["error"] == "no heartbeat task has run lately"
    services.beat(row.hostname, from_task=True)
    ok, checks = readiness.run(["beat"])
    assert ok and checks["beat"]["age"] < 60
    WorkerHeartbeat.objects.update(last_task=timezone.now() - timedelta(seconds=61))
    assert readiness.run(["beat"])[0] is False
