"""/metrics: request counts and latencies by view, method and status; outbox depths and rule
lag read from the database at scrape time; broker queue length; optional bearer token."""

from datetime import timedelta

import pytest
from django.utils import timezone

from cti.events.models import Event
from cti.ops import services
from cti.ops.models import WorkerHeartbeat
from rules.models import GraphChange
from tests.ops.helpers import celery_broker, value

pytestmark = pytest.mark.django_db


def scrape(client, **headers) -> str:
    response = client.get("/metrics", **headers)
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain")
    return response.content.decode()


def _count(text: str, view: str, method: str, status: str) -> float:
    labels = {"view": view, "method": method, "status": status}
    return value(text, "cti_http_requests_total", **labels) or 0.0


def test_requests_are_counted_and_timed_by_view_method_and_status(client, api, anon_api):
    before = scrape(client)
    for _ in range(3):
        assert api.get("/api/v3/cases").status_code == 200
    assert anon_api.get("/api/v3/cases").status_code == 401
    assert api.post_json("/api/v3/cases", {"name": "m", "severity": "Low", "status": "Open"})
    assert client.get("/no/such/page").status_code == 404
    after = scrape(client)

    def delta(view: str, method: str, status: str) -> float:
        return _count(after, view, method, status) - _count(before, view, method, status)

    assert delta("cases-list", "GET", "200") == 3
    assert delta("cases-list", "GET", "401") == 1
    assert delta("cases-list", "POST", "201") == 1
    assert delta("<unmatched>", "GET", "404") == 1
    labels = {"view": "cases-list", "method": "GET", "status": "200"}
    hist_before = value(before, "cti_http_request_duration_seconds_count", **labels) or 0
    hist_after = value(after, "cti_http_request_duration_seconds_count", **labels)
    assert hist_after - hist_before == 3
    assert value(after, "cti_http_request_duration_seconds_sum", **labels) > 0
    inf = value(after, "cti_http_request_duration_seconds_bucket", **labels, le="+Inf")
    assert inf == hist_after


def test_ids_in_paths_do_not_make_new_series(client, api, make_case):
    case = make_case()
    api.get(f"/api/v3/cases/{case['id']}")
    api.get("/api/v3/cases/999999")
    text = scrape(client)
    assert "/api/v3/cases/" not in text
    assert _count(text, "cases-detail", "GET", "200") >= 1
    assert _count(text, "cases-detail", "GET", "404") >= 1


def test_outbox_depths_and_rule_lag_come_from_the_database(client):
    empty = scrape(client)
    assert value(empty, "cti_outbox_pending", outbox="events") == 0
    assert value(empty, "cti_outbox_pending", outbox="graph_changes") == 0
    assert value(empty, "cti_rule_lag_seconds") == 0
    assert value(empty, "cti_database_up") == 1

    now = timezone.now()
    for _ in range(3):
        Event.objects.create(kind="case.created", object_type="case", object_id=1)
    Event.objects.create(kind="case.created", object_type="case", object_id=2, parked=True)
    Event.objects.create(kind="case.created", object_type="case", object_id=3, processed=now)
    old = GraphChange.objects.create(kind=GraphChange.Kind.ADDED, node_mark=0, ref_mark=0)
    GraphChange.objects.filter(pk=old.pk).update(created=now - timedelta(seconds=120))
    GraphChange.objects.create(kind=GraphChange.Kind.ADDED, node_mark=0, ref_mark=0)
    GraphChange.objects.create(kind=GraphChange.Kind.REMOVED, parked=True)

    text = scrape(client)
    assert value(text, "cti_outbox_pending", outbox="events") == 3
    assert value(text, "cti_outbox_parked", outbox="events") == 1
    assert value(text, "cti_outbox_pending", outbox="graph_changes") == 2
    assert value(text, "cti_outbox_parked", outbox="graph_changes") == 1
    assert 120 <= value(text, "cti_rule_lag_seconds") < 180
    assert 0 <= value(text, "cti_event_lag_seconds") < 60

    GraphChange.objects.filter(pk=old.pk).delete()  # the rules engine applied the oldest
    assert value(scrape(client), "cti_rule_lag_seconds") < 60


def test_worker_heartbeat_and_broker_queue_gauges(client, tmp_path, settings):
    settings.CTI_READY_HEARTBEAT_MAX_AGE = 60
    services.beat("celery@fresh")
    stale = services.beat("celery@stale")
    WorkerHeartbeat.objects.filter(pk=stale.pk).update(
        last_seen=timezone.now() - timedelta(minutes=5)
    )
    folder = tmp_path / "broker"
    folder.mkdir()
    options = {
        "data_folder_in": str(folder),
        "data_folder_out": str(folder),
        "control_folder": str(folder / "control"),
    }
    with celery_broker("filesystem://", options):
        from cti.celery import ping

        for _ in range(4):
            ping.delay()
        text = scrape(client)
    assert value(text, "cti_workers_alive") == 1
    assert value(text, "cti_worker_heartbeat_age_seconds") < 60
    assert value(text, "cti_broker_up") == 1
    assert value(text, "cti_broker_queue_length", queue="celery") == 4

    with celery_broker("redis://127.0.0.1:1/0"):
        down = scrape(client)
    assert value(down, "cti_broker_up") == 0
    assert value(down, "cti_broker_queue_length", queue="celery") is None


def test_broker_probe_can_be_turned_off(client, settings):
    settings.CTI_METRICS_BROKER = False
    text = scrape(client)
    assert value(text, "cti_broker_up") is None
    assert value(text, "cti_database_up") == 1


def test_a_metrics_token_protects_the_endpoint(client, settings):
    settings.CTI_METRICS_TOKEN = "s3cret-scrape-token"
    missing = client.get("/metrics")
    assert missing.status_code == 401
    assert missing.json()["status"] == "Error"
    assert missing["WWW-Authenticate"].startswith("Bearer")
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="s3cret-scrape-token").status_code == 401
    text = scrape(client, HTTP_AUTHORIZATION="Bearer s3cret-scrape-token")
    assert "cti_http_requests_total" in text


def test_metrics_only_answers_get(client):
    assert client.post("/metrics").status_code == 405
