"""X-Request-ID: taken or made, echoed, on every log record of the request, and carried in
the headers of the Celery tasks the request enqueues."""

import io
import json
import logging
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from celery.signals import task_prerun
from pythonjsonlogger.json import JsonFormatter

from cti.celery import ping
from cti.ops.context import bind_request_id, current_request_id, task_var, unbind_request_id
from cti.ops.logs import RequestIdFilter, logging_config
from tests.ops.helpers import celery_broker

ROOT = Path(__file__).resolve().parents[2]
GENERATED = re.compile(r"[0-9a-f]{32}")


@pytest.fixture
def json_lines():
    """The root logger also writes through the JSON formatter and filter that
    CTI_LOG_FORMAT=json configures, into a buffer; returns a reader of parsed lines."""
    config = logging_config("json", "INFO")
    formatter_cfg = config["formatters"]["json"]
    handler = logging.StreamHandler(buffer := io.StringIO())
    handler.setFormatter(
        JsonFormatter(fmt=formatter_cfg["fmt"], rename_fields=formatter_cfg["rename_fields"])
    )
    handler.addFilter(RequestIdFilter(missing=config["filters"]["request_id"]["missing"]))
    root = logging.getLogger()
    saved_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield lambda: [json.loads(line) for line in buffer.getvalue().splitlines()]
    finally:
        root.removeHandler(handler)
        root.setLevel(saved_level)


@pytest.mark.django_db
def test_a_sane_client_id_is_echoed(client):
    response = client.get("/health", HTTP_X_REQUEST_ID="trace-7f3a:01.b@edge")
    assert response["X-Request-ID"] == "trace-7f3a:01.b@edge"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "sent",
    [None, "", "has space", "x" * 129, "new\nline", "<script>", "-leading-dash", "ünïcode"],
)
def test_a_missing_or_insane_id_is_replaced_by_a_generated_one(client, sent):
    headers = {} if sent is None else {"HTTP_X_REQUEST_ID": sent}
    response = client.get("/health", **headers)
    assert GENERATED.fullmatch(response["X-Request-ID"])


@pytest.mark.django_db
def test_generated_ids_differ_per_request(client):
    first = client.get("/health")["X-Request-ID"]
    assert first != client.get("/health")["X-Request-ID"]


@pytest.mark.django_db
def test_api_errors_carry_the_id_too(anon_api):
    response = anon_api.get("/api/v3/cases", HTTP_X_REQUEST_ID="req-401")
    assert response.status_code == 401
    assert response["X-Request-ID"] == "req-401"


@pytest.mark.django_db
def test_the_access_line_carries_the_id_and_nothing_after_the_request_does(api, json_lines):
    api.get("/api/v3/cases", HTTP_X_REQUEST_ID="req-logs-1")
    logging.getLogger("cti.test").info("between requests")
    lines = json_lines()
    access = [line for line in lines if line["logger"] == "cti.access"]
    assert len(access) == 1
    line = access[0]
    assert line["request_id"] == "req-logs-1"
    assert line["message"] == "GET /api/v3/cases 200"
    assert line["level"] == "INFO"
    assert line["status"] == 200 and line["method"] == "GET" and line["view"] == "cases-list"
    assert isinstance(line["duration_ms"], float) and line["duration_ms"] >= 0
    assert isinstance(line["pid"], int) and line["time"]
    outside = next(line for line in lines if line["message"] == "between requests")
    assert outside["request_id"] is None


@pytest.mark.django_db
def test_records_django_logs_about_the_request_carry_the_id(client, json_lines):
    # django.request logs a 404 after the middleware chain has returned
    client.get("/no/such/page", HTTP_X_REQUEST_ID="req-404")
    lines = json_lines()
    django_lines = [line for line in lines if line["logger"] == "django.request"]
    assert django_lines, lines
    assert {line["request_id"] for line in django_lines} == {"req-404"}


@pytest.mark.django_db(transaction=True)
def test_a_request_that_enqueues_a_task_puts_the_id_in_its_headers(api):
    """The message as it reaches the broker (kombu's in-memory transport here). Real commits:
    the task is published when the view's transaction commits, inside the request."""
    with celery_broker("memory://") as app:
        response = api.post_json(
            "/api/v3/cases",
            {"name": "Enqueues", "severity": "Low", "status": "Open"},
            HTTP_X_REQUEST_ID="req-task-1",
        )
        assert response.status_code == 201
        with app.connection_for_read() as connection:
            queue = connection.SimpleQueue(app.conf.task_default_queue)
            messages = []
            while True:
                try:
                    message = queue.get(timeout=0.2)
                except queue.Empty:
                    break
                messages.append(message)
                message.ack()
            queue.close()
    assert messages, "the case creation enqueued no task"
    assert {m.headers["task"] for m in messages} >= {"events.dispatch"}
    assert {m.headers.get("request_id") for m in messages} == {"req-task-1"}


def test_a_task_runs_under_the_id_of_its_headers():
    seen = []

    def record(task=None, **kwargs):
        seen.append((current_request_id(), task_var.get()))

    task_prerun.connect(record)
    try:
        result = ping.apply(headers={"request_id": "from-header-1"})
    finally:
        task_prerun.disconnect(record)
    assert result.get() == "pong"
    assert seen == [("from-header-1", ("cti.ping", result.id))]
    assert current_request_id() is None and task_var.get() is None


def test_an_eager_task_keeps_the_id_of_the_request_that_started_it(settings):
    from cti.celery import app

    seen = []

    def record(task=None, **kwargs):
        seen.append(current_request_id())

    token = bind_request_id("req-eager-1")
    saved = app.conf.task_always_eager
    app.conf.task_always_eager = True
    task_prerun.connect(record)
    try:
        ping.delay()
    finally:
        task_prerun.disconnect(record)
        app.conf.task_always_eager = saved
        unbind_request_id(token)
    assert seen == ["req-eager-1"]


def test_tasks_published_without_a_request_carry_no_id():
    with celery_broker("memory://") as app:
        ping.delay()
        with app.connection_for_read() as connection:
            queue = connection.SimpleQueue(app.conf.task_default_queue)
            message = queue.get(timeout=1)
            message.ack()
            queue.close()
    assert "request_id" not in message.headers


def _log_line(log_format: str) -> str:
    code = (
        "import django, logging; django.setup();"
        "logging.getLogger('cti.test').warning('hello %s', 'world')"
    )
    env = {**os.environ, "CTI_LOG_FORMAT": log_format}
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stderr.strip().splitlines()[-1]


def test_cti_log_format_json_writes_one_json_object_per_line():
    line = json.loads(_log_line("json"))
    assert line["message"] == "hello world"
    assert line["level"] == "WARNING"
    assert line["logger"] == "cti.test"
    assert line["request_id"] is None
    assert {"time", "pid"} <= set(line)


def test_cti_log_format_text_is_the_default_shape():
    line = _log_line("text")
    assert re.fullmatch(r"\S+ \S+ WARNING cti\.test \[-\] hello world", line), line


def test_runserver_request_lines_do_not_show_secrets(caplog):
    """`make run` serves with runserver, whose request lines carry the query string: a webhook
    `?token=` must not reach the log."""
    with caplog.at_level(logging.INFO, logger="django.server"):
        logging.getLogger("django.server").info(
            '"%s" %s %s', "POST /api/v3/webhooks/splunk?token=s3cr3t&x=1 HTTP/1.1", 200, 10
        )
    assert "token=[redacted]&x=1" in caplog.text
    assert "s3cr3t" not in caplog.text
