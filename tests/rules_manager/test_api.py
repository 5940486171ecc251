"""The rule manager API: GET /v3/rules, GET/PUT /v3/rules/{id}; administrators only."""

from unittest import mock

import pytest

from rules.definitions import RULES
from rules.models import RuleState, RuleStatus
from tests.conftest import V3Client

RULES_URL = "/api/v3/rules"
RULE_KEYS = {
    "id",
    "name",
    "category",
    "description",
    "display",
    "active",
    "status",
    "progress",
    "inferred",
}


@pytest.fixture
def enqueued():
    """The background tasks a request enqueues (on commit), without a broker."""
    with (
        mock.patch("rules.tasks.activate_rule.delay") as activate,
        mock.patch("rules.tasks.deactivate_rule.delay") as deactivate,
    ):
        yield {"activate": activate, "deactivate": deactivate}


def test_list_has_every_rule_in_the_envelope(admin_api):
    response = admin_api.get(RULES_URL)
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "Success"
    assert body["count"] == 27 == len(body["data"]) == len(RULES)
    assert [r["id"] for r in body["data"]] == [r.id for r in RULES]
    for item in body["data"]:
        assert set(item) == RULE_KEYS
        assert item["name"] and item["category"] and item["description"]
        assert set(item["display"]) == {"if", "then"}
        assert item["display"]["if"] and item["display"]["then"]
        assert item["active"] is False
        assert item["status"] == "inactive"
        assert item["progress"]["percent"] == 0
        assert set(item["progress"]) == {
            "processed",
            "total",
            "percent",
            "started",
            "finished",
            "errors",
        }
    assert RuleState.objects.count() == 27


def test_retrieve_one_rule(admin_api):
    response = admin_api.get(f"{RULES_URL}/part_part")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "Success"
    data = body["data"]
    assert data["id"] == "part_part"
    assert data["name"] == "Belonging propagation"
    assert data["display"] == {"if": "A -part-of-> B, B -part-of-> C", "then": "A -part-of-> C"}


def test_rule_id_with_a_dash(admin_api):
    assert admin_api.get(f"{RULES_URL}/participate-to_parts").status_code == 200


def test_unknown_rule_is_404_in_envelope(admin_api):
    for response in (
        admin_api.get(f"{RULES_URL}/no_such_rule"),
        admin_api.put_json(f"{RULES_URL}/no_such_rule", {"active": True}),
    ):
        assert response.status_code == 404
        body = response.json()
        assert body["status"] == "Error"
        assert body["message"]


def test_put_activates_in_the_background(admin_api, enqueued, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_api.put_json(f"{RULES_URL}/part_part", {"active": True})
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["status"] == "Success"
    assert body["data"]["active"] is True
    assert body["data"]["status"] == "activating"
    assert body["data"]["progress"]["started"]
    assert body["data"]["progress"]["finished"] is None
    enqueued["activate"].assert_called_once_with("part_part")
    state = RuleState.objects.get(rule_id="part_part")
    assert state.active and state.status == RuleStatus.ACTIVATING
    listed = {r["id"]: r for r in admin_api.get(RULES_URL).json()["data"]}
    assert listed["part_part"]["active"] is True
    assert sum(r["active"] for r in listed.values()) == 1


def test_put_same_value_twice_enqueues_once(
    admin_api, enqueued, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        admin_api.put_json(f"{RULES_URL}/part_part", {"active": True})
        admin_api.put_json(f"{RULES_URL}/part_part", {"active": True})
    assert enqueued["activate"].call_count == 1


def test_put_deactivates(admin_api, enqueued, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        admin_api.put_json(f"{RULES_URL}/part_part", {"active": True})
        response = admin_api.put_json(f"{RULES_URL}/part_part", {"active": False})
    assert response.status_code == 200
    assert response.json()["data"]["active"] is False
    assert response.json()["data"]["status"] == "deactivating"
    enqueued["deactivate"].assert_called_once_with("part_part")


@pytest.mark.parametrize(
    "body",
    [{}, {"active": "true"}, {"active": 1}, {"active": None}, {"enabled": True}, [True], "x"],
)
def test_bad_body_is_400(admin_api, enqueued, body):
    response = admin_api.put_json(f"{RULES_URL}/part_part", body)
    assert response.status_code == 400, response.content
    assert response.json()["status"] == "Error"
    assert not enqueued["activate"].called
    assert not RuleState.objects.filter(active=True).exists()


def test_malformed_json_is_400(admin_api):
    response = admin_api.put(f"{RULES_URL}/part_part", "{not json", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["status"] == "Error"


def test_analyst_is_403(api, enqueued):
    for response in (
        api.get(RULES_URL),
        api.get(f"{RULES_URL}/part_part"),
        api.put_json(f"{RULES_URL}/part_part", {"active": True}),
    ):
        assert response.status_code == 403
        assert response.json()["status"] == "Error"
        assert response.json()["errCode"] == "0x1003"
    assert not enqueued["activate"].called


def test_read_only_is_403(readonly_credential):
    reader = V3Client(readonly_credential.token)
    assert reader.get(RULES_URL).status_code == 403


def test_anonymous_is_401(anon_api, db):
    for response in (
        anon_api.get(RULES_URL),
        anon_api.get(f"{RULES_URL}/part_part"),
        anon_api.put_json(f"{RULES_URL}/part_part", {"active": True}),
    ):
        assert response.status_code == 401
        assert response.json()["status"] == "Error"
        assert response.json()["errCode"] == "0x1002"


def test_progress_is_reported(admin_api):
    from rules.services import rule_states

    rule_states()
    RuleState.objects.filter(rule_id="part_part").update(
        active=True, status=RuleStatus.ACTIVATING, processed=50, total=200
    )
    progress = admin_api.get(f"{RULES_URL}/part_part").json()["data"]["progress"]
    assert progress["percent"] == 25
    assert (progress["processed"], progress["total"]) == (50, 200)
    RuleState.objects.filter(rule_id="part_part").update(status=RuleStatus.ACTIVE)
    assert admin_api.get(f"{RULES_URL}/part_part").json()["data"]["progress"]["percent"] == 100
