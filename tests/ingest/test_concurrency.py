"""Concurrent posts against a live server (threads; PostgreSQL): 50 posts of one event give one
sighting of count 1, 50 distinct events on one pair give count 50, 50 posts with one
Idempotency-Key give one response."""

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from unittest import mock
from urllib.parse import quote

import pytest
import requests
from django.db import connection

from cti.intel.models import Sighting
from tests.ingest.conftest import IP

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]
N = 50


@pytest.fixture(autouse=True)
def postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("concurrency is proven on PostgreSQL")


def fire(url: str, bodies: list[dict], headers: dict | None = None) -> list[requests.Response]:
    def post(body):
        return requests.post(url, data=json.dumps(body), headers=headers or {}, timeout=120)

    with ThreadPoolExecutor(max_workers=N) as pool:
        return list(pool.map(post, bodies))


@pytest.fixture
def webhook_url(live_server, make_source) -> str:
    source = make_source("generic", auth_mode="token", system_name="Load SIEM")
    return f"{live_server.url}/api/v3/webhooks/generic?token={quote(source.secret, safe='')}"


def event(n: int) -> dict:
    return {"observableValue": IP, "eventId": f"ev-{n}", "firstSeen": "2024-05-01T10:00:00Z"}


def test_fifty_posts_of_one_event_give_one_sighting(webhook_url, indicator):
    responses = fire(webhook_url, [event(0)] * N)
    assert [r.status_code for r in responses] == [200] * N
    statuses = sorted(r.json()["data"][0]["status"] for r in responses)
    assert statuses == ["created"] + ["unchanged"] * (N - 1)
    rows = Sighting.objects.filter(sighting_of_id=indicator)
    assert rows.count() == 1 and rows.get().count == 1


def test_fifty_distinct_events_on_one_pair_count_fifty(webhook_url, indicator):
    responses = fire(webhook_url, [event(n) for n in range(N)])
    assert [r.status_code for r in responses] == [200] * N
    rows = Sighting.objects.filter(sighting_of_id=indicator)
    assert rows.count() == 1 and rows.get().count == N
    observable_rows = Sighting.objects.exclude(sighting_of_id=indicator)
    assert observable_rows.count() == 1 and observable_rows.get().count == N


def test_fifty_posts_with_one_idempotency_key(live_server, analyst_credential, indicator):
    url = f"{live_server.url}/api/v3/sightings"
    headers = {
        "Authorization": f"TC-Token {analyst_credential.token}",
        "Idempotency-Key": "one-key",
        "Content-Type": "application/json",
    }
    bodies = [dict(event(0), eventId=None, system="S", count=2)] * N
    responses = fire(url, bodies, headers)
    assert [r.status_code for r in responses] == [200] * N
    assert len({json.dumps(r.json(), sort_keys=True) for r in responses}) == 1
    assert sum(r.headers.get("Idempotent-Replayed") == "true" for r in responses) == N - 1
    assert Sighting.objects.get(sighting_of_id=indicator).count == 2


def test_merges_while_the_rules_engine_runs_lose_no_count(webhook_url, indicator, caplog):
    """With the alerting rules live and the engine draining the outbox all the while (another
    connection, as the worker), 50 concurrent merges into one pair: every post succeeds (no
    deadlock between the merges and truth maintenance), the count is exact, and the incident
    the first sighting raised is the same row at the end (a merge is no retraction)."""
    from django.db import connections

    from cti.intel.models import StixObject
    from rules import services as rules
    from rules.models import GraphChange, RuleState, RuleStatus

    rules.rule_states()
    RuleState.objects.filter(
        rule_id__in=["sighting_incident", "sighting_indicator", "sighting_observable"]
    ).update(active=True, status=RuleStatus.ACTIVE)
    with mock.patch("rules.tasks.process_graph_changes.delay"):
        assert fire(webhook_url, [event(0)])[0].status_code == 200
        rules.process_graph_changes()
        incident = StixObject.objects.get(type="incident")
        done = threading.Event()

        def engine() -> None:
            try:
                while not done.is_set():
                    rules.process_graph_changes()
            finally:
                connections.close_all()

        worker = threading.Thread(target=engine)
        worker.start()
        try:
            responses = fire(webhook_url, [event(n) for n in range(1, N + 1)])
        finally:
            done.set()
            worker.join()
        while rules.process_graph_changes():
            pass
    assert [r.status_code for r in responses] == [200] * N
    # (a batch that fails, on a deadlock say, is redone item by item: it would still count)
    assert not [r.getMessage() for r in caplog.records if r.name == "cti.ingest.services"]
    assert Sighting.objects.get(sighting_of_id=indicator).count == N + 1
    assert Sighting.objects.exclude(sighting_of_id=indicator).get().count == N + 1
    assert list(StixObject.objects.filter(type="incident").values_list("pk", flat=True)) == [
        incident.pk
    ]
    assert not GraphChange.objects.exists()
