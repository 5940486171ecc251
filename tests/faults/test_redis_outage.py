"""Redis, the broker, stopped under a write load and started again.

A live server (this process) and a real Celery worker share a private redis-server that keeps
nothing on disk (tests/faults/conftest.py). With the part_part rule active, threads create cases
(each records a `case.created` event) and import part-of relationships (each records a graph
change for the rules engine) while Redis is stopped. Every write must still succeed: its outbox
rows commit with it and the enqueue after commit fails quietly. The load ends before Redis comes
back, so no later write's message can carry the backlog: when Redis returns, the worker, which
stayed up, reconnects and resumes the outboxes, and every event is dispatched and every change
inferred."""

import threading
import time
from dataclasses import dataclass

import pytest
import requests

from cti.security.choices import SystemRoleChoices
from cti.security.services import api_user_create
from tests.faults.conftest import wait_for
from tests.rules_manager.conftest import Http, celery_broker, test_database_url
from tests.rules_manager.graph import bundle, org, part_of, rel, sid, small_graph

pytestmark = [pytest.mark.live, pytest.mark.fault]

THREADS = 3
BEFORE, OUTAGE = 2.0, 4.0  # seconds of load with Redis up, then with Redis stopped
O1, O3 = sid("identity", 1), sid("identity", 3)


@dataclass
class Write:
    started: float
    kind: str
    key: str
    status: int | None = None
    error: str = ""
    case_id: int | None = None
    ended: float = 0.0


def _write(http: Http, kind: str, n: int) -> Write:
    write = Write(time.monotonic(), kind, "")
    try:
        if kind == "case":
            write.key = f"redis-fault-{n}"
            response = http.post(
                "/api/v3/cases", {"name": write.key, "severity": "Low", "status": "Open"}
            )
            write.status = response.status_code
            if response.status_code == 201:
                write.case_id = response.json()["data"]["id"]
        else:
            new = org(1000 + n)
            write.key = new["id"]
            response = http.post(
                "/api/v3/intel/bundles", bundle([new, rel("part-of", new, org(1), 5000 + n)])
            )
            write.status = response.status_code
            if response.status_code == 200 and response.json()["data"]["rejected"]:
                write.error = str(response.json()["data"]["rejected"])
        if write.status not in {200, 201}:
            write.error = response.text[:300]
    except requests.RequestException as exc:
        write.error = repr(exc)
    write.ended = time.monotonic()
    return write


def _load(http: Http, first: int, step: int, stop: threading.Event, writes: list[Write]) -> None:
    n = first
    while not stop.is_set():
        writes.append(_write(http, "case" if n % 2 else "graph", n))
        n += step


@pytest.mark.django_db(transaction=True)
def test_redis_stopped_during_writes(postgres_only, live_server, private_redis, processes):
    from cti.events.models import Event
    from rules.models import GraphChange

    admin = api_user_create("fault-admin", role=SystemRoleChoices.ADMINISTRATOR, superuser=True)
    http = Http(live_server.url, admin.token)
    with celery_broker(private_redis.url, {"visibility_timeout": 3600}):
        response = http.post("/api/v3/intel/bundles", bundle(small_graph()))
        assert response.status_code == 200 and not response.json()["data"]["rejected"]
        env = processes.env(DATABASE_URL=test_database_url(), CELERY_BROKER_URL=private_redis.url)
        worker = processes.worker(env)
        assert http.put("/api/v3/rules/part_part", {"active": True}).status_code == 200
        http.wait_rule("part_part", "active")

        writes: list[Write] = []
        stop = threading.Event()
        threads = [
            threading.Thread(
                target=_load,
                args=(Http(live_server.url, admin.token), n, THREADS, stop, writes),
                daemon=True,
            )
            for n in range(THREADS)
        ]
        for thread in threads:
            thread.start()
        time.sleep(BEFORE)
        private_redis.stop()
        down = time.monotonic()
        time.sleep(OUTAGE)
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
        during = [w for w in writes if w.started > down]
        slowest = max((w.ended - w.started for w in during), default=0.0)
        summary = (
            f"{len(writes)} writes, {len(during)} while Redis was down "
            f"({sum(w.kind == 'case' for w in during)} cases, "
            f"{sum(w.kind == 'graph' for w in during)} imports)"
        )
        print(summary)
        failed = [w for w in writes if w.error or w.status not in {200, 201}]
        assert not failed, failed[:5]
        assert len(during) >= THREADS * 2, summary
        pending = Event.objects.filter(processed__isnull=True).count()
        changes = GraphChange.objects.count()
        assert pending and changes, "the outage left a backlog in the outboxes"
        assert worker.poll() is None, "the worker stays up through the outage"

        private_redis.start()
        back = time.monotonic()
        cases = [w.case_id for w in writes if w.kind == "case"]
        orgs = [w.key for w in writes if w.kind == "graph"]

        def drained() -> bool:
            return (
                not Event.objects.filter(processed__isnull=True).exists()
                and not GraphChange.objects.exists()
            )

        wait_for(drained, 90, "the outboxes to drain after Redis came back", interval=0.5)
        drain = time.monotonic() - back
        assert not Event.objects.filter(parked=True).exists()
        created = Event.objects.filter(kind="case.created", object_id__in=cases)
        assert created.count() == len(cases)
        assert not created.filter(processed__isnull=True).exists()
        missing = [key for key in orgs if not part_of(key, O3)]
        assert not missing, f"graph changes not inferred: {missing[:5]}"
        assert "resuming the outboxes" in processes.log(worker)

        # and the normal path works again: a write's own message reaches the worker
        after = _write(http, "case", 99_999)
        assert after.status == 201, after
        wait_for(
            lambda: Event.objects.filter(object_id=after.case_id, processed__isnull=False),
            30,
            "the event of a write made after the outage",
        )
        assert worker.poll() is None
    print(
        f"{summary}; backlog of {pending} events and {changes} graph changes drained "
        f"{drain:.1f} s after Redis came back (slowest write during the outage: "
        f"{slowest:.2f} s)"
    )
