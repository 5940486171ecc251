"""Helpers for the rule-manager tests that run a real Celery worker (and, for the embedded
default, a real web server) as subprocesses."""

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = os.environ.get("CTI_RULES_TEST_BROKER_URL", "redis://127.0.0.1:6379/14")


def wait_for(check: Callable[[], object], timeout: float, what: str, interval: float = 0.05):
    """Poll until check() is truthy; return its value."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def test_database_url() -> str:
    """The URL of the database this test runs against (pytest-django's test_* database)."""
    from django.db import connection

    s = connection.settings_dict
    password = f":{quote(s['PASSWORD'], safe='')}" if s.get("PASSWORD") else ""
    user = quote(s.get("USER") or "postgres", safe="")
    return (
        f"postgres://{user}{password}@{s.get('HOST') or '127.0.0.1'}:{s.get('PORT') or 5432}"
        f"/{s['NAME']}"
    )


test_database_url.__test__ = False  # not a test


@contextmanager
def celery_broker(url: str, transport_options: dict | None = None):
    """Point this process's Celery app (used by the web requests of `live_server`) at a broker;
    the app forgets its pools so that the next publish uses the pool of the new URL."""
    from cti.celery import app

    def drop_pools() -> None:  # kombu keeps the pools per URL: only forget ours
        app._pool = None
        app.amqp._producer_pool = None

    saved = (app.conf.broker_url, app.conf.broker_transport_options)
    drop_pools()
    app.conf.broker_url, app.conf.broker_transport_options = url, transport_options or {}
    try:
        yield app
    finally:
        drop_pools()
        app.conf.broker_url, app.conf.broker_transport_options = saved


class Processes:
    """Subprocesses started by a test: workers and servers, stopped at teardown."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.started: list[tuple[subprocess.Popen, Path]] = []

    def env(self, **extra: str) -> dict:
        env = {k: v for k, v in os.environ.items() if not k.startswith("CELERY_")}
        env.update({"PYTHONUNBUFFERED": "1", "CELERY_RESULT_BACKEND": ""}, **extra)
        return env

    def start(self, args: list[str], env: dict, name: str) -> subprocess.Popen:
        log = self.tmp_path / f"{name}-{len(self.started)}.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                args, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
            )
        self.started.append((process, log))
        return process

    def worker(self, env: dict, pool: str = "solo") -> subprocess.Popen:
        process = self.start(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "cti",
                "worker",
                f"--pool={pool}",
                "--concurrency=1",
                "--loglevel=INFO",
                "--without-heartbeat",
                "--without-gossip",
                "--without-mingle",
            ],
            env,
            "worker",
        )
        log = self.started[-1][1]
        wait_for(
            lambda: " ready." in log.read_text(errors="replace") or process.poll() is not None,
            60,
            "the worker to start",
        )
        assert process.poll() is None, log.read_text(errors="replace")
        return process

    def log(self, process: subprocess.Popen) -> str:
        for p, log in self.started:
            if p is process:
                return log.read_text(errors="replace")
        return ""

    def kill(self, process: subprocess.Popen) -> None:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=20)

    def stop_all(self) -> None:
        for process, log in self.started:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
            text = log.read_text(errors="replace")
            if "Traceback" in text:
                print(f"--- {log.name}\n{text[-6000:]}")


@contextmanager
def started_processes(tmp_path: Path):
    started = Processes(tmp_path)
    try:
        yield started
    finally:
        started.stop_all()


@pytest.fixture
def processes(tmp_path):
    with started_processes(tmp_path) as started:
        yield started


@contextmanager
def clean_redis_broker(url: str):
    """A clean Redis database as the broker, in this process too."""
    import redis

    client = redis.Redis.from_url(url)
    try:
        client.ping()
    except redis.ConnectionError:
        pytest.fail(f"Redis is required for the tests with a real worker ({url})")
    client.flushdb()
    with celery_broker(url, {"visibility_timeout": 3600}):
        yield url
    client.flushdb()


@pytest.fixture
def redis_broker():
    with clean_redis_broker(REDIS_URL) as url:
        yield url


@pytest.fixture
def postgres_only(db):
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("a worker subprocess shares the database: PostgreSQL only (DATABASE_URL)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Http:
    """A v3 API client over real HTTP, authenticated with a TC-Token."""

    def __init__(self, base_url: str, token: str) -> None:
        self.base = base_url.rstrip("/")
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"TC-Token {token}"

    def get(self, path: str, **kw) -> requests.Response:
        return self.session.get(self.base + path, timeout=30, **kw)

    def put(self, path: str, body) -> requests.Response:
        return self.session.put(self.base + path, json=body, timeout=30)

    def post(self, path: str, body) -> requests.Response:
        return self.session.post(self.base + path, json=body, timeout=120)

    def rule(self, rule_id: str) -> dict:
        response = self.get(f"/api/v3/rules/{rule_id}")
        assert response.status_code == 200, response.text
        return response.json()["data"]

    def wait_rule(self, rule_id: str, status: str, timeout: float = 60) -> dict:
        def done():
            data = self.rule(rule_id)
            if data["status"] == status and (
                status != "active" or data["progress"]["percent"] == 100
            ):
                return data
            assert data["status"] != "failed", data
            return None

        return wait_for(done, timeout, f"rule {rule_id} to be {status}", interval=0.1)
