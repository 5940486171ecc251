"""A real Celery worker process: on Redis (production) and on kombu's filesystem transport
(the embedded default of `make run`)."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis

pytestmark = pytest.mark.live

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = os.environ.get("CTI_TEST_BROKER_URL", "redis://127.0.0.1:6379/15")


def _start_worker(env: dict) -> subprocess.Popen:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "cti",
            "worker",
            "--pool=solo",
            "--concurrency=1",
            "--loglevel=WARNING",
            "--without-heartbeat",
            "--without-gossip",
            "--without-mingle",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def _stop(worker: subprocess.Popen) -> str:
    worker.terminate()
    try:
        out, _ = worker.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        worker.kill()
        out, _ = worker.communicate()
    return out.decode(errors="replace")


def _round_trip(broker: str, backend: str, extra_env: dict) -> str:
    env = {**os.environ, "CELERY_BROKER_URL": broker, "CELERY_RESULT_BACKEND": backend, **extra_env}
    worker = _start_worker(env)
    try:
        code = "from cti.celery import app, ping\nprint(ping.apply_async().get(timeout=60))\n"
        result = subprocess.run(
            [sys.executable, "-c", code],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=90,
        )
        assert result.returncode == 0, result.stderr
        return result.stdout.strip()
    finally:
        log = _stop(worker)
        if "Traceback" in log:
            print(log)


def test_worker_on_redis_runs_a_task():
    try:
        redis.Redis.from_url(REDIS_URL).ping()
    except redis.ConnectionError:
        pytest.fail(f"Redis is required for the worker test ({REDIS_URL})")
    assert _round_trip(REDIS_URL, REDIS_URL, {}) == "pong"


def test_worker_on_filesystem_transport_runs_a_task(tmp_path):
    (tmp_path / "results").mkdir()
    started = time.monotonic()
    out = _round_trip("filesystem://", f"file://{tmp_path}/results", {"CTI_VAR_DIR": str(tmp_path)})
    assert out == "pong"
    assert time.monotonic() - started < 90
