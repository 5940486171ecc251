"""Django admin: the three models are listed and failed deliveries can be retried."""

from unittest import mock

import pytest
from django.test import Client

from cti.events.choices import EventKind
from cti.notify.models import Delivery, Trigger
from cti.notify.tasks import deliver

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client_(admin_credential) -> Client:
    client = Client()
    client.force_login(admin_credential.user)
    return client


def test_pages_render(admin_client_, make_trigger, make_case, dispatch):
    make_trigger([EventKind.CASE_CREATED])
    make_case()
    dispatch()
    delivery = Delivery.objects.get()
    for path in (
        "/admin/notifications/notifier/",
        "/admin/notifications/trigger/",
        "/admin/notifications/delivery/",
        f"/admin/notifications/delivery/{delivery.pk}/change/",
        f"/admin/notifications/trigger/{delivery.trigger_id}/change/",
    ):
        assert admin_client_.get(path).status_code == 200, path


def test_retry_action_requeues_failed_only(
    admin_client_, make_trigger, make_case, dispatch, django_capture_on_commit_callbacks
):
    make_trigger([EventKind.CASE_CREATED])
    make_trigger([EventKind.CASE_CREATED], name="t2")
    make_case()
    dispatch()
    failed, pending = Delivery.objects.order_by("pk")
    Delivery.objects.filter(pk=failed.pk).update(status="failed", attempts=5, last_error="x")

    with (
        mock.patch.object(deliver, "delay") as delay,
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = admin_client_.post(
            "/admin/notifications/delivery/",
            {"action": "retry", "_selected_action": [failed.pk, pending.pk]},
        )
    assert response.status_code == 302
    delay.assert_called_once_with(failed.pk)
    failed.refresh_from_db()
    assert (failed.status, failed.attempts) == ("pending", 0)


def test_trigger_form_rejects_invalid_tql(admin_client_, analyst, make_notifier):
    notifier = make_notifier()
    response = admin_client_.post(
        "/admin/notifications/trigger/add/",
        {
            "user": analyst.pk,
            "name": "bad",
            "enabled": "on",
            "events": '["case.created"]',
            "object_types": "[]",
            "rules": "[]",
            "tql": "severity = = 1",
            "notifiers": [notifier.pk],
        },
    )
    assert response.status_code == 200  # the form again, with the error
    assert b"Invalid TQL for cases" in response.content
    assert not Trigger.objects.exists()
