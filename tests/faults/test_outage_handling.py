"""The pieces the fault tests rely on, checked without a fault (these run in `make test`): a
database outage answers 503 in the v3 envelope, a broker outage after commit is logged and never
reaches the committer, and a worker's reconnection to its broker resumes the outboxes."""

import logging
from types import SimpleNamespace
from unittest import mock

import pytest
from django.db import InterfaceError, OperationalError
from django.utils.module_loading import import_string
from kombu.exceptions import OperationalError as BrokerError

from cti.api.exceptions import json_server_error
from cti.events import services as events
from cti.events.bootsteps import RESUME_HOOKS, ResumeOutboxesOnReconnect
from cti.events.models import Event
from tests.conftest import V3Client


@pytest.mark.parametrize("error", [OperationalError, InterfaceError])
def test_a_database_outage_in_a_v3_view_is_a_503_in_the_envelope(admin_credential, error):
    client = V3Client(admin_credential.token)
    with mock.patch(
        "cti.api.authentication.TcTokenAuthentication.authenticate",
        side_effect=error("connection refused"),
    ):
        response = client.get("/api/v3/cases")
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    body = response.json()
    assert body["status"] == "Error" and body["errCode"]
    assert "database is unavailable" in body["message"]


def test_a_database_outage_outside_drf_is_a_503_too(rf):
    try:
        raise OperationalError("the database system is starting up")
    except OperationalError:
        response = json_server_error(rf.get("/admin/"))
    assert response.status_code == 503
    assert b'"status": "Error"' in response.content


def test_any_other_server_error_stays_a_500(rf):
    try:
        raise ValueError("bug")
    except ValueError:
        assert json_server_error(rf.get("/")).status_code == 500


@pytest.mark.django_db(transaction=True)
def test_a_broker_down_at_commit_does_not_fail_the_write(caplog):
    with (
        mock.patch(
            "cti.events.tasks.dispatch_events.delay", side_effect=BrokerError("refused")
        ) as delay,
        caplog.at_level(logging.WARNING, logger="cti.transactions"),
    ):
        events.emit("case.created", object_type="case", object_id=1)  # autocommit: commits
    delay.assert_called_once_with()
    assert Event.objects.filter(kind="case.created", processed__isnull=True).count() == 1
    assert "broker unavailable after commit, cti.events.services._enqueue" in caplog.text


def test_one_enqueue_per_transaction(db, django_capture_on_commit_callbacks):
    with (
        mock.patch("cti.events.tasks.dispatch_events.delay") as delay,
        django_capture_on_commit_callbacks(execute=True) as callbacks,
    ):
        for pk in (1, 2, 3):
            events.emit("case.created", object_type="case", object_id=pk)
    assert len(callbacks) == 1
    delay.assert_called_once_with()


@pytest.mark.parametrize("restart_count, resumed", [(0, False), (1, True), (4, True)])
def test_the_outboxes_are_resumed_when_the_consumer_reconnects(restart_count, resumed):
    step = ResumeOutboxesOnReconnect(SimpleNamespace())
    hooks = {path: mock.Mock() for path in RESUME_HOOKS}
    with mock.patch("cti.events.bootsteps.import_string", side_effect=hooks.__getitem__):
        step.start(SimpleNamespace(restart_count=restart_count))
    assert [hook.called for hook in hooks.values()] == [resumed] * len(RESUME_HOOKS)


def test_a_failing_resume_hook_does_not_stop_the_others(caplog):
    step = ResumeOutboxesOnReconnect(SimpleNamespace())
    hooks = [mock.Mock(side_effect=RuntimeError("db down"))]
    hooks += [mock.Mock() for _ in RESUME_HOOKS[1:]]
    with mock.patch("cti.events.bootsteps.import_string", side_effect=hooks):
        step.start(SimpleNamespace(restart_count=1))
    assert all(hook.called for hook in hooks)
    assert "outbox resume hook" in caplog.text


@pytest.mark.django_db(transaction=True)
def test_a_rule_activated_while_the_broker_is_down_is_resumed(admin_credential, caplog):
    client = V3Client(admin_credential.token)
    with mock.patch("rules.tasks.activate_rule.delay", side_effect=BrokerError("refused")):
        response = client.put_json("/api/v3/rules/part_part", {"active": True})
    assert response.status_code == 200, response.json()
    assert response.json()["data"]["status"] == "activating"
    assert "broker unavailable after commit" in caplog.text
    with mock.patch("rules.tasks.activate_rule.delay") as delay:
        import_string("rules.tasks.resume_unfinished_work")()
    delay.assert_called_once_with("part_part")


@pytest.mark.django_db(transaction=True)
def test_a_report_requested_while_the_broker_is_down_is_resumed(api, make_case):
    case = make_case()
    with mock.patch(
        "cti.reports.tasks.render_case_report.delay", side_effect=BrokerError("refused")
    ):
        response = api.post_json(f"/api/v3/cases/{case['id']}/reports", {})
    assert response.status_code in (201, 202), response.json()
    with mock.patch("cti.reports.tasks.render_case_report.delay") as delay:
        import_string("cti.reports.tasks.resume_pending_reports")()
    delay.assert_called_once_with(response.json()["data"]["id"])
