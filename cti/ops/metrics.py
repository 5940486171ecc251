"""Prometheus metrics.

Request counters and latencies are prometheus_client metrics updated by the middleware; under
gunicorn with PROMETHEUS_MULTIPROC_DIR set, every worker process writes them to that folder
and a scrape of any process adds them up. Queue depths, rule lag and heartbeats are not
process state: they are read from the database (and the broker) at scrape time, so every
process reports the same figures."""

import logging
import os
from collections.abc import Iterable, Iterator

from django.conf import settings
from django.db import DatabaseError
from django.utils import timezone
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from cti.ops import broker, selectors

logger = logging.getLogger(__name__)

LABELS = ("view", "method", "status")
REQUESTS = Counter("cti_http_requests", "HTTP requests answered", LABELS)
LATENCY = Histogram(
    "cti_http_request_duration_seconds",
    "Time from the first middleware to the response",
    LABELS,
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def observe(view: str, method: str, status: int, seconds: float) -> None:
    labels = (view, method if method in METHODS else "other", str(status))
    REQUESTS.labels(*labels).inc()
    LATENCY.labels(*labels).observe(seconds)


def _gauge(name: str, doc: str, value: float, **labels: str) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, doc, labels=list(labels))
    family.add_metric(list(labels.values()), value)
    return family


class StateCollector(Collector):
    """Outboxes, rule lag, workers and the broker, read at scrape time."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        yield from self._database()
        if settings.CTI_METRICS_BROKER:
            yield from self._broker()

    def _database(self) -> Iterable[GaugeMetricFamily]:
        try:
            backlog = selectors.backlog()
            beats = selectors.heartbeats(settings.CTI_READY_HEARTBEAT_MAX_AGE)
        except DatabaseError:
            logger.warning("metrics: database unreachable", exc_info=True)
            yield _gauge("cti_database_up", "The database answered this scrape", 0)
            return
        now = timezone.now()
        yield _gauge("cti_database_up", "The database answered this scrape", 1)
        pending = GaugeMetricFamily(
            "cti_outbox_pending", "Outbox rows waiting for a worker", labels=["outbox"]
        )
        pending.add_metric(["events"], backlog.events_pending)
        pending.add_metric(["graph_changes"], backlog.changes_pending)
        yield pending
        parked = GaugeMetricFamily(
            "cti_outbox_parked", "Outbox rows parked after repeated failures", labels=["outbox"]
        )
        parked.add_metric(["events"], backlog.events_parked)
        parked.add_metric(["graph_changes"], backlog.changes_parked)
        yield parked
        yield _gauge(
            "cti_rule_lag_seconds",
            "Age of the oldest graph change the rules engine has not applied (0: none)",
            backlog.rule_lag(now),
        )
        yield _gauge(
            "cti_event_lag_seconds",
            "Age of the oldest event not yet handed to its subscribers (0: none)",
            backlog.event_lag(now),
        )
        yield _gauge("cti_workers_alive", "Workers with a fresh heartbeat", beats.workers)
        if beats.latest is not None:
            yield _gauge(
                "cti_worker_heartbeat_age_seconds",
                "Seconds since the freshest worker heartbeat",
                max(0.0, (now - beats.latest).total_seconds()),
            )

    def _broker(self) -> Iterable[GaugeMetricFamily]:
        status = broker.probe(settings.CTI_READY_BROKER_TIMEOUT)
        yield _gauge("cti_broker_up", "The broker answered this scrape", int(status.ok))
        if status.depth is not None:
            yield _gauge(
                "cti_broker_queue_length",
                "Messages waiting in the broker queue",
                status.depth,
                queue=status.queue,
            )


class _Proxy(Collector):
    def __init__(self, source: CollectorRegistry) -> None:
        self.source = source

    def collect(self):
        return self.source.collect()


def exposition() -> bytes:
    """The text exposition of one scrape: this process's (or, in multiprocess mode, every
    process's) request metrics, then the state read now."""
    registry = CollectorRegistry(auto_describe=False)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        MultiProcessCollector(registry)
    else:
        registry.register(_Proxy(REGISTRY))
    registry.register(StateCollector())
    return generate_latest(registry)
