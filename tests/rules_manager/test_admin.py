"""The Django admin pages of the rule manager: rule states (with the activate action) and the
outbox of graph changes, where parked changes and their errors are visible."""

from unittest import mock

import pytest
from django.test import Client

from rules.models import GraphChange, RuleState, RuleStatus


@pytest.fixture
def admin_client_(admin_credential) -> Client:
    client = Client()
    client.force_login(admin_credential.user)
    return client


def test_rule_state_list_renders_every_rule(admin_client_):
    response = admin_client_.get("/admin/rules/rulestate/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "Belonging propagation" in page and "part_part" in page
    assert RuleState.objects.count() == 27
    assert "27 rule states" in page


def test_rule_state_change_page_renders(admin_client_):
    admin_client_.get("/admin/rules/rulestate/")
    response = admin_client_.get("/admin/rules/rulestate/part_part/change/")
    assert response.status_code == 200
    assert "A part of B part of C: A is part of C." in response.content.decode()


def test_activate_and_deactivate_actions(admin_client_, django_capture_on_commit_callbacks):
    admin_client_.get("/admin/rules/rulestate/")
    with (
        mock.patch("rules.tasks.activate_rule.delay") as activate,
        mock.patch("rules.tasks.deactivate_rule.delay") as deactivate,
    ):
        with django_capture_on_commit_callbacks(execute=True):
            response = admin_client_.post(
                "/admin/rules/rulestate/",
                {"action": "activate", "_selected_action": ["part_part", "location_location"]},
                follow=True,
            )
        assert response.status_code == 200
        assert "Activation started in the background." in response.content.decode()
        assert sorted(c.args[0] for c in activate.call_args_list) == [
            "location_location",
            "part_part",
        ]
        states = RuleState.objects.filter(active=True)
        assert {s.rule_id for s in states} == {"part_part", "location_location"}
        assert {s.status for s in states} == {RuleStatus.ACTIVATING}
        with django_capture_on_commit_callbacks(execute=True):
            admin_client_.post(
                "/admin/rules/rulestate/",
                {"action": "deactivate", "_selected_action": ["part_part"]},
            )
        deactivate.assert_called_once_with("part_part")
    assert RuleState.objects.get(rule_id="part_part").status == RuleStatus.DEACTIVATING


def test_parked_changes_are_visible_and_can_be_retried(admin_client_):
    change = GraphChange.objects.create(
        kind=GraphChange.Kind.ADDED,
        node_mark=1,
        ref_mark=1,
        attempts=3,
        parked=True,
        error="ValueError('inference exploded')",
    )
    response = admin_client_.get("/admin/rules/graphchange/?parked__exact=1")
    assert response.status_code == 200
    assert "inference exploded" in response.content.decode()
    assert admin_client_.get(f"/admin/rules/graphchange/{change.pk}/change/").status_code == 200
    with mock.patch("rules.tasks.process_graph_changes.delay") as delay:
        admin_client_.post(
            "/admin/rules/graphchange/", {"action": "retry", "_selected_action": [change.pk]}
        )
    delay.assert_called_once_with()
    change.refresh_from_db()
    assert (change.parked, change.attempts, change.error) == (False, 0, "")


def test_analyst_cannot_reach_the_admin(analyst_credential):
    client = Client()
    client.force_login(analyst_credential.user)
    assert client.get("/admin/rules/rulestate/").status_code == 302
