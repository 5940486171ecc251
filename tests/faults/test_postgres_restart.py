"""PostgreSQL stopped and started again under a write load.

gunicorn serves the app from a private PostgreSQL cluster (tests/faults/conftest.py); threads
create cases through POST /api/v3/cases while the cluster is stopped in immediate mode (every
backend killed, no checkpoint: recovery replays the WAL, as after a crash) and started again.
During the outage each write must come back as 503 in the v3 error envelope, never as a hang,
a dropped connection or a 500; after it every write must succeed again; and every case whose
creation was acknowledged with a 201 must be in the database at the end."""

import sys
import threading
import time
from dataclasses import dataclass

import pytest
import requests

from tests.faults.conftest import free_port, issued_token, manage, wait_http

pytestmark = [pytest.mark.live, pytest.mark.fault]

THREADS = 4
BEFORE, OUTAGE, AFTER = 2.0, 3.0, 4.0  # seconds of load before, during and after the outage


@dataclass
class Call:
    started: float
    ended: float
    name: str
    status: int | None = None
    body: dict | None = None
    error: str = ""


def _load(base: str, token: str, prefix: str, stop: threading.Event, calls: list[Call]) -> None:
    session = requests.Session()
    session.headers["Authorization"] = f"TC-Token {token}"
    i = 0
    while not stop.is_set():
        i += 1
        name = f"{prefix}-{i}"
        started = time.monotonic()
        call = Call(started, started, name)
        try:
            response = session.post(
                f"{base}/api/v3/cases",
                json={"name": name, "severity": "Low", "status": "Open"},
                timeout=30,
            )
            call.status = response.status_code
            try:
                call.body = response.json()
            except ValueError:
                call.error = response.text[:300]
        except requests.RequestException as exc:
            call.error = repr(exc)
        call.ended = time.monotonic()
        calls.append(call)


@pytest.mark.parametrize("conn_max_age", [0, 60], ids=["connection-per-request", "persistent"])
def test_postgres_restart_during_writes(private_postgres, processes, conn_max_age):
    database_url = f"{private_postgres.url}?conn_max_age={conn_max_age}"
    env = processes.env(DATABASE_URL=database_url, CELERY_BROKER_URL="memory://")
    token = issued_token(
        manage(processes, env, "create_api_user", f"writer-{conn_max_age}", "--role", "Analyst")
    )
    port = free_port()
    web = processes.start(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "cti.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "2",
            "--worker-class",
            "gthread",
            "--threads",
            "4",
            "--timeout",
            "60",
        ],
        env,
        "gunicorn",
    )
    base = f"http://127.0.0.1:{port}"
    wait_http(f"{base}/health", web, processes)

    calls: list[Call] = []
    stop = threading.Event()
    threads = [
        threading.Thread(
            target=_load,
            args=(base, token, f"fault-{conn_max_age}-{n}", stop, calls),
            daemon=True,
        )
        for n in range(THREADS)
    ]
    for thread in threads:
        thread.start()
    time.sleep(BEFORE)
    stopping = time.monotonic()
    private_postgres.stop("immediate")
    down = time.monotonic()  # pg_ctl has returned: the server is gone (a loaded machine can
    # take well over the 0.2 s margin below to get there, and writes still succeed meanwhile)
    time.sleep(OUTAGE)
    starting = time.monotonic()  # from here the server may accept connections again, before
    # pg_ctl start returns (it polls until the server is ready)
    private_postgres.start()
    up = time.monotonic()
    time.sleep(AFTER)
    stop.set()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)

    created = [c for c in calls if c.status == 201]
    failed = [c for c in calls if c.status != 201]
    before = [c for c in calls if c.ended < stopping]
    during = [c for c in calls if c.started > down + 0.2 and c.ended < starting]
    after = [c for c in calls if c.started > up + 0.5]
    summary = (
        f"{len(calls)} writes: {len(created)} acknowledged (201), {len(failed)} refused; "
        f"{len(before)} before, {len(during)} during, {len(after)} after the outage"
    )
    print(summary)

    # the load ran on both sides of the outage and met it
    assert before and all(c.status == 201 for c in before), summary
    assert during and all(c.status != 201 for c in during), summary
    # every refusal: 503 in the v3 envelope, with Retry-After; no hang, no reset, no 500
    for call in failed:
        assert not call.error, call
        assert call.status == 503, call
        assert call.body["status"] == "Error" and call.body["errCode"], call
        assert "database is unavailable" in call.body["message"], call
    # recovery: every write started half a second after the restart succeeded
    assert after and all(c.status == 201 for c in after), summary

    # no acknowledged write lost
    rows = dict(private_postgres.query("SELECT id, name FROM cases_case"))
    lost = [c for c in created if rows.get(c.body["data"]["id"]) != c.name]
    assert not lost, f"acknowledged but not in the database: {lost[:5]}"
    ours = f"fault-{conn_max_age}-"
    unacknowledged = {name for name in rows.values() if name.startswith(ours)} - {
        c.name for c in created
    }
    print(
        f"conn_max_age={conn_max_age}: {summary}; {len(rows)} cases in the database, "
        f"{len(unacknowledged)} committed without a 201 reaching the client"
    )
