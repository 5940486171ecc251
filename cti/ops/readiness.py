"""Readiness: can this process serve real work? Database, broker, a live worker."""

import time
from collections.abc import Callable

from django.conf import settings
from django.db import connection
from django.utils import timezone

from cti.ops import broker, selectors

Check = Callable[[], dict]


def _timed(check: Check) -> dict:
    started = time.perf_counter()
    try:
        result = check()
    except Exception as exc:  # a check that breaks is a failed check, never a 500
        result = {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:300]}
    result["ms"] = round((time.perf_counter() - started) * 1000, 1)
    return result


def check_database() -> dict:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return {"ok": True, "vendor": connection.vendor}


def check_broker() -> dict:
    status = broker.probe(settings.CTI_READY_BROKER_TIMEOUT)
    result = {"ok": status.ok, "transport": status.transport}
    if status.ok:
        result["queue"] = status.queue
        result["depth"] = status.depth
    else:
        result["error"] = status.error
    return result


def check_worker() -> dict:
    max_age = settings.CTI_READY_HEARTBEAT_MAX_AGE
    beats = selectors.heartbeats(max_age)
    now = timezone.now()
    result: dict = {"ok": beats.workers > 0, "workers": beats.workers, "maxAge": max_age}
    if beats.latest is not None:
        result["lastSeen"] = beats.latest.isoformat()
        result["age"] = round((now - beats.latest).total_seconds(), 1)
    if beats.latest_task is not None:
        result["lastTask"] = beats.latest_task.isoformat()
    if not result["ok"]:
        result["error"] = (
            "no worker heartbeat yet" if beats.latest is None else "worker heartbeat is stale"
        )
    return result


def check_beat() -> dict:
    """The beat-sent heartbeat task reached a worker lately: beat, broker and worker all
    work (for the beat container's healthcheck; not in the default /ready set)."""
    max_age = settings.CTI_READY_HEARTBEAT_MAX_AGE
    latest = selectors.heartbeats(max_age).latest_task
    age = (timezone.now() - latest).total_seconds() if latest else None
    result: dict = {"ok": age is not None and age <= max_age, "maxAge": max_age}
    if latest is not None:
        result["lastTask"] = latest.isoformat()
        result["age"] = round(age, 1)
    if not result["ok"]:
        result["error"] = "no heartbeat task has run lately"
    return result


CHECKS: dict[str, Check] = {
    "database": check_database,
    "broker": check_broker,
    "worker": check_worker,
    "beat": check_beat,
}


def run(names: list[str] | None = None) -> tuple[bool, dict]:
    """Run the named checks (all by default); the database first, since the worker check
    reads it."""
    results = {name: _timed(CHECKS[name]) for name in names or CHECKS}
    return all(r["ok"] for r in results.values()), results
