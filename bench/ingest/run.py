"""Sighting ingestion benchmark on PostgreSQL (a dedicated database: it is emptied).

Setup: migrate, N indicators each based on an ipv4-addr observable, one generic webhook source
(token auth), all 27 rules activated (rule_set_active + run_activation in-process). Then
gunicorn (cti.wsgi, 2 workers) and a Celery worker on Redis are started, and client threads
post to /v3/webhooks/{slug} for a fixed time per phase:

  batched: --batch-clients threads, each posting --batch items per request;
  single:  --single-clients threads, one item per request.

Every item is a distinct event (its own eventId) on a random indicator's IP, so it records two
sightings (the indicator's and the observable's) and emits two sighting.recorded events.
Reported: items (sighting events) per second, sighting records written per second, request
latency p50/p99, and how long the worker took to drain the events and graph changes left.

    .venv/bin/python bench/ingest/run.py --database postgres://postgres@127.0.0.1:5432/cti_bench_ingest
"""

import argparse
import json
import os
import platform
import random
import signal
import statistics
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
BIN = Path(sys.executable).parent
DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/cti_bench_ingest"


def django_setup(database: str) -> None:
    os.environ["DATABASE_URL"] = database
    os.environ["CELERY_BROKER_URL"] = "memory://"  # setup enqueues nothing anywhere
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    sys.path[:0] = [str(ROOT)]
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cti.settings")
    import django

    django.setup()


def recreate_database(database: str) -> None:
    import psycopg

    base, name = database.rsplit("/", 1)
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def seed(indicators: int) -> tuple[list[str], str]:
    """Indicators based on observables; a webhook source. Returns the IPs and the token."""
    from django.core.management import call_command

    from cti.ingest.models import WebhookSource
    from cti.ingest.services import ensure_source_system
    from cti.intel.ids import observable_id
    from cti.intel.services import import_objects

    call_command("migrate", verbosity=0)
    ips = [f"198.{18 + n // 65536}.{n // 256 % 256}.{n % 256}" for n in range(indicators)]
    objects = []
    stamp = "2024-01-01T00:00:00Z"
    for n, ip in enumerate(ips):
        indicator = f"indicator--{n:08x}-0000-4000-8000-000000000000"
        objects += [
            {"type": "ipv4-addr", "value": ip},
            {
                "type": "indicator",
                "id": indicator,
                "name": f"bad {ip}",
                "pattern_type": "stix",
                "pattern": f"[ipv4-addr:value = '{ip}']",
                "valid_from": stamp,
                "confidence": 80,
                "created": stamp,
                "modified": stamp,
            },
            {
                "type": "relationship",
                "id": f"relationship--{n:08x}-0000-4000-8000-000000000000",
                "relationship_type": "based-on",
                "source_ref": indicator,
                "target_ref": observable_id("ipv4-addr", {"value": ip}),
                "created": stamp,
                "modified": stamp,
            },
        ]
    import_objects(objects)
    source = WebhookSource.objects.create(
        name="Bench SIEM", slug="bench", kind="generic", system_name="Bench SIEM",
        auth_mode="token",
    )  # fmt: skip
    ensure_source_system(source)
    return ips, source.secret


def activate_all_rules() -> float:
    from rules.definitions import RULES
    from rules.models import RuleState, RuleStatus
    from rules.services import rule_states, run_activation

    rule_states()
    RuleState.objects.update(active=True, status=RuleStatus.ACTIVATING)
    started = time.perf_counter()
    run_activation(RULES[0].id)
    assert RuleState.objects.filter(active=True, status=RuleStatus.ACTIVE).count() == len(RULES)
    return time.perf_counter() - started


def start_services(database: str, broker: str, port: int, workers: int, threads: int) -> list:
    env = dict(os.environ, DATABASE_URL=database, CELERY_BROKER_URL=broker, LOG_LEVEL="WARNING")
    env.pop("DJANGO_SETTINGS_MODULE", None)
    logs = HERE / "results"
    web_log = (logs / "gunicorn.log").open("w")
    worker_log = (logs / "celery.log").open("w")
    web = subprocess.Popen(
        [str(BIN / "gunicorn"), "cti.wsgi:application", "--bind", f"127.0.0.1:{port}",
         "--workers", str(workers), "--threads", str(threads), "--timeout", "300",
         "--log-level", "warning"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=web_log,
        start_new_session=True,
    )  # fmt: skip
    worker = subprocess.Popen(
        [str(BIN / "celery"), "-A", "cti", "worker", "--loglevel=WARNING", "--concurrency=1"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=worker_log,
        start_new_session=True,
    )  # fmt: skip
    return [web, worker]


def stop(procs: list) -> None:
    for proc in procs:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def wait_ready(url: str, timeout: float = 60) -> None:
    import requests

    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if requests.get(url.split("/api/")[0] + "/health", timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.5)
    raise RuntimeError("gunicorn did not come up")


class Load:
    """Client threads posting for a fixed time; every item a new event."""

    def __init__(self, url: str, ips: list[str], batch: int, clients: int, seconds: float):
        self.url, self.ips, self.batch = url, ips, batch
        self.clients, self.seconds = clients, seconds
        self.latencies: list[float] = []
        self.items = self.records = self.errors = 0
        self.lock = threading.Lock()
        self.counter = 0

    def body(self, rng: random.Random) -> str:
        with self.lock:
            start, self.counter = self.counter, self.counter + self.batch
        items = [
            {
                "observableValue": rng.choice(self.ips),
                "eventId": f"b{self.batch}-{start + n}",
                "firstSeen": "2024-06-01T00:00:00Z",
            }
            for n in range(self.batch)
        ]
        return json.dumps({"data": items})

    def client(self, seed: int, stop_at: float) -> None:
        import requests

        rng = random.Random(seed)
        session = requests.Session()
        while time.perf_counter() < stop_at:
            body = self.body(rng)
            started = time.perf_counter()
            response = session.post(
                self.url, data=body, headers={"Content-Type": "application/json"}, timeout=300
            )
            elapsed = time.perf_counter() - started
            ok = response.status_code == 200
            records = sum(len(r["sightings"]) for r in response.json()["data"]) if ok else 0
            with self.lock:
                self.latencies.append(elapsed)
                if ok:
                    self.items += self.batch
                    self.records += records
                else:
                    self.errors += 1

    def run(self) -> dict:
        stop_at = time.perf_counter() + self.seconds
        started = time.perf_counter()
        threads = [
            threading.Thread(target=self.client, args=(n, stop_at)) for n in range(self.clients)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        wall = time.perf_counter() - started
        lat = sorted(self.latencies)
        return {
            "items_per_request": self.batch,
            "clients": self.clients,
            "wall_s": round(wall, 1),
            "requests": len(lat),
            "errors": self.errors,
            "items": self.items,
            "sighting_records": self.records,
            "items_per_s": round(self.items / wall, 1),
            "records_per_s": round(self.records / wall, 1),
            "p50_ms": round(statistics.median(lat) * 1000, 1) if lat else None,
            "p99_ms": round(lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000, 1)
            if lat
            else None,
        }


def backlog() -> dict:
    from cti.events.models import Event
    from rules.models import GraphChange

    return {
        "events_pending": Event.objects.filter(processed__isnull=True, parked=False).count(),
        "graph_changes_pending": GraphChange.objects.filter(parked=False).count(),
    }


def drain(limit: float) -> dict:
    started = time.perf_counter()
    left = backlog()
    while any(left.values()) and time.perf_counter() - started < limit:
        time.sleep(2)
        left = backlog()
    return {"drain_s": round(time.perf_counter() - started, 1), "left": left}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", default=DEFAULT_DB)
    parser.add_argument("--broker", default="redis://127.0.0.1:6379/10")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--indicators", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--batch-clients", type=int, default=2)
    parser.add_argument("--single-clients", type=int, default=16)
    parser.add_argument("--drain-limit", type=float, default=300)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--threads", type=int, default=4, help="threads per gunicorn worker")
    parser.add_argument("--out", default=str(HERE / "results" / "results.json"))
    args = parser.parse_args()

    recreate_database(args.database)
    django_setup(args.database)
    ips, token = seed(args.indicators)
    activation_s = activate_all_rules()
    from cti.intel.models import Sighting, StixObject

    url = f"http://127.0.0.1:{args.port}/api/v3/webhooks/bench?token={quote(token, safe='')}"
    procs = start_services(args.database, args.broker, args.port, args.workers, args.threads)
    phases = {}
    try:
        wait_ready(url)
        Load(url, ips, 10, 2, 3).run()  # warm-up
        drain(args.drain_limit)
        for name, batch, clients in (
            ("batched", args.batch, args.batch_clients),
            ("single", 1, args.single_clients),
        ):
            phases[name] = Load(url, ips, batch, clients, args.seconds).run()
            phases[name]["worker"] = drain(args.drain_limit)
            print(name, json.dumps(phases[name]), flush=True)
    finally:
        stop(procs)
    result = {
        "when": datetime.now(tz=UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "setup": {
            "indicators": args.indicators,
            "rules_active": 27,
            "activation_s": round(activation_s, 1),
            "gunicorn_workers": args.workers,
            "gunicorn_threads": args.threads,
            "celery_concurrency": 1,
        },
        "phases": phases,
        "graph": {
            "sightings": Sighting.objects.count(),
            "incidents": StixObject.objects.filter(type="incident").count(),
        },
    }
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
