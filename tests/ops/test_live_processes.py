"""The real process set on PostgreSQL and Redis: a Celery worker (heartbeat, JSON logs with
the request id of the request that enqueued its task) and gunicorn with several workers
(request metrics summed across processes through PROMETHEUS_MULTIPROC_DIR)."""

import json
import os
import signal
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from django.db import connection

from cti.events.models import Event
from cti.ops.models import WorkerHeartbeat
from tests.ops.helpers import value
from tests.rules_manager.conftest import (
    clean_redis_broker,
    free_port,
    started_processes,
    test_database_url,
    wait_for,
)

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]

REDIS_URL = os.environ.get("CTI_TEST_BROKER_URL", "redis://127.0.0.1:6379/15")


@pytest.fixture
def processes(tmp_path):
    if connection.vendor != "postgresql":
        pytest.skip("the subprocesses share the database: PostgreSQL only (DATABASE_URL)")
    with started_processes(tmp_path) as started:
        yield started


@pytest.fixture
def redis_broker():
    with clean_redis_broker(REDIS_URL) as url:
        yield url


def _json_lines(text: str) -> list[dict]:
    lines = []
    for raw in text.splitlines():
        try:
            lines.append(json.loads(raw))
        except ValueError:
            continue  # celery's start-up banner is printed, not logged
    return lines


def test_a_worker_on_redis_beats_logs_json_and_keeps_the_request_id(
    processes, redis_broker, api, client
):
    env = processes.env(
        DATABASE_URL=test_database_url(),
        CELERY_BROKER_URL=redis_broker,
        CTI_LOG_FORMAT="json",
        CTI_HEARTBEAT_INTERVAL="0.5",
    )
    worker = processes.worker(env)
    wait_for(lambda: WorkerHeartbeat.objects.exists(), 30, "the worker's heartbeat")
    ready = client.get("/ready")
    assert ready.status_code == 200, ready.json()
    assert ready.json()["checks"]["broker"]["transport"] == "redis"

    response = api.post_json(
        "/api/v3/cases",
        {"name": "Live", "severity": "Low", "status": "Open"},
        HTTP_X_REQUEST_ID="live-req-1",
    )
    assert response.status_code == 201
    event = Event.objects.get(kind="case.created", object_id=response.json()["data"]["id"])
    wait_for(
        lambda: Event.objects.filter(pk=event.pk, processed__isnull=False).exists(),
        30,
        "the worker to dispatch the event",
    )

    def task_lines() -> list[dict]:
        return [
            line
            for line in _json_lines(processes.log(worker))
            if line.get("task_name") == "events.dispatch"
        ]

    lines = wait_for(task_lines, 10, "the worker's log lines of the task")
    assert {line["request_id"] for line in lines} == {"live-req-1"}
    assert all(line["task_id"] and line["pid"] for line in lines)
    assert any("succeeded" in line["message"] for line in lines)
    # the worker's own lines outside any task carry no id
    banner = [line for line in _json_lines(processes.log(worker)) if "ready." in line["message"]]
    assert banner and banner[0]["request_id"] is None

    worker.send_signal(signal.SIGTERM)
    worker.wait(timeout=30)
    assert not WorkerHeartbeat.objects.exists()  # a clean stop leaves no heartbeat
    assert client.get("/ready").status_code == 503


def test_gunicorn_workers_share_request_metrics(processes, tmp_path, redis_broker):
    port = free_port()
    metrics_dir = tmp_path / "prometheus"
    env = processes.env(
        DATABASE_URL=test_database_url(),
        CELERY_BROKER_URL=redis_broker,
        CTI_BIND=f"127.0.0.1:{port}",
        WEB_CONCURRENCY="2",
        PROMETHEUS_MULTIPROC_DIR=str(metrics_dir),
        CTI_METRICS_TOKEN="scrape-me",
    )
    metrics_dir.mkdir()
    (metrics_dir / "counter_stale.db").write_bytes(b"left by a previous run")
    web = processes.start(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-c",
            "python:cti.ops.gunicorn_conf",
            "cti.wsgi:application",
        ],
        env,
        "gunicorn",
    )
    base = f"http://127.0.0.1:{port}"

    def up() -> bool:
        assert web.poll() is None, processes.log(web)
        try:
            return requests.get(f"{base}/health", timeout=5).status_code == 200
        except requests.RequestException:  # not listening yet, or a worker still booting
            return False

    wait_for(up, 60, "gunicorn to answer")
    assert not (metrics_dir / "counter_stale.db").exists()  # emptied at start

    def pids() -> set[str]:
        return {p.name.rsplit("_", 1)[-1] for p in metrics_dir.glob("counter_*.db")}

    def health(_) -> bool:
        return requests.get(f"{base}/health", headers={"Connection": "close"}, timeout=10).ok

    # concurrent requests, so that both sync workers serve some (one after another, the
    # kernel may hand every connection to the same worker)
    sent = 0
    deadline = time.monotonic() + 30
    while sent < 20 or (len(pids()) < 2 and time.monotonic() < deadline):
        with ThreadPoolExecutor(8) as pool:
            assert all(pool.map(health, range(16)))
        sent += 16
    auth = {"Authorization": "Bearer scrape-me", "Connection": "close"}
    totals = set()
    for _ in range(6):  # any process answers with the sum over both
        text = requests.get(f"{base}/metrics", headers=auth, timeout=10).text
        totals.add(
            value(
                text, "cti_http_requests_total", view="cti.views.health", method="GET", status="200"
            )
        )
    # 1 request from up() at least, plus those sent
    assert len(totals) == 1 and totals.pop() >= 1 + sent
    assert len(pids()) == 2, pids()  # both workers wrote their own file
    assert requests.get(f"{base}/metrics", timeout=10).status_code == 401
