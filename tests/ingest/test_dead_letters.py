"""Dead letters: kept for malformed payloads and for items that fail after acceptance, listed
and replayed by administrators (API and Django admin); the admin pages load."""

import json
from unittest import mock

import pytest
from django.test import Client

from cti.ingest.models import DeadLetter, WebhookSource
from cti.intel import services as intel_services
from cti.intel.models import Sighting, StixObject
from tests.ingest.conftest import IP, SIGHTINGS

pytestmark = pytest.mark.django_db
LETTERS = "/api/v3/deadLetters"


@pytest.fixture
def letter(make_source, post_signed) -> DeadLetter:
    source = make_source("generic", slug="gen")
    response = post_signed(source, {"data": [{"observableType": "ipv4-addr", "eventId": "z"}]})
    assert response.status_code == 400
    return DeadLetter.objects.get(pk=response.json()["deadLetter"])


def test_list_and_retrieve_are_admin_only(letter, admin_api, api):
    response = admin_api.get(LETTERS)
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 1 and body["data"][0]["id"] == letter.pk
    assert body["data"][0]["source"] == "gen" and body["data"][0]["status"] == "new"
    assert admin_api.get(LETTERS, {"status": "replayed"}).json()["count"] == 0
    detail = admin_api.get(f"{LETTERS}/{letter.pk}").json()["data"]
    assert json.loads(detail["body"]) == {"data": [{"observableType": "ipv4-addr", "eventId": "z"}]}
    assert "observableValue" in detail["error"]
    assert api.get(LETTERS).status_code == 403
    assert api.post_json(f"{LETTERS}/{letter.pk}/replay", {}).status_code == 403
    assert admin_api.get(f"{LETTERS}/999999").status_code == 404
    assert admin_api.get(LETTERS, {"resultLimit": "0"}).status_code == 400


def test_replay_fails_again_then_succeeds_with_a_fixed_body(letter, admin_api, indicator):
    response = admin_api.post_json(f"{LETTERS}/{letter.pk}/replay", {})
    assert response.status_code == 200
    data = response.json()["data"]
    assert data["status"] == "failed" and data["attempts"] == 1
    assert DeadLetter.objects.count() == 1  # the replay's failure is the same letter's
    fixed = json.dumps({"data": [{"observableValue": IP, "eventId": "z"}]})
    response = admin_api.post_json(f"{LETTERS}/{letter.pk}/replay", {"body": fixed})
    data = response.json()["data"]
    assert data["status"] == "replayed" and data["attempts"] == 2
    assert data["result"]["data"][0]["status"] == "created"
    assert Sighting.objects.filter(sighting_of_id=indicator).get().count == 1
    # replaying again counts nothing twice
    admin_api.post_json(f"{LETTERS}/{letter.pk}/replay", {})
    assert Sighting.objects.filter(sighting_of_id=indicator).get().count == 1


def test_item_failing_after_acceptance_is_kept_and_replayable(api, admin_api, indicator):
    real = intel_services.record_sightings
    calls = {"n": 0}

    def flaky(objs, **kw):
        if any(of == indicator and obj["x_cti_event_id"] == "boom" for obj, of, _ in objs):
            calls["n"] += 1
            raise RuntimeError("disk on fire")
        return real(objs, **kw)

    items = [
        {"observableValue": IP, "system": "S", "eventId": "fine", "firstSeen": "2024-05-01"},
        {"observableValue": IP, "system": "S", "eventId": "boom", "firstSeen": "2024-05-02"},
    ]
    with mock.patch("cti.ingest.services.record_sightings", side_effect=flaky):
        response = api.post_json(SIGHTINGS, items)
    assert response.status_code == 200
    results = response.json()["data"]
    assert results[0]["status"] == "created"
    assert results[1]["status"] == "rejected" and "disk on fire" in results[1]["error"]
    letter = DeadLetter.objects.get(pk=response.json()["deadLetter"])
    assert letter.http_status == 500 and "RuntimeError" in letter.error
    assert Sighting.objects.get(sighting_of_id=indicator).count == 1
    replayed = admin_api.post_json(f"{LETTERS}/{letter.pk}/replay", {}).json()["data"]
    assert replayed["status"] == "replayed"
    assert [r["status"] for r in replayed["result"]["data"]] == ["unchanged", "updated"]
    assert Sighting.objects.get(sighting_of_id=indicator).count == 2


@pytest.fixture
def admin_client_(admin_credential) -> Client:
    client = Client()
    client.force_login(admin_credential.user)
    return client


def test_admin_pages_and_replay_action(admin_client_, letter, indicator):
    for url in (
        "/admin/ingest/deadletter/",
        f"/admin/ingest/deadletter/{letter.pk}/change/",
        "/admin/ingest/webhooksource/",
        "/admin/ingest/webhooksource/add/",
        f"/admin/ingest/webhooksource/{letter.source_id}/change/",
        "/admin/ingest/idempotencyrecord/",
    ):
        assert admin_client_.get(url).status_code == 200, url
    assert "observableValue" in admin_client_.get("/admin/ingest/deadletter/").content.decode()
    DeadLetter.objects.filter(pk=letter.pk).update(
        body=json.dumps([{"observableValue": IP, "eventId": "q"}])
    )
    response = admin_client_.post(
        "/admin/ingest/deadletter/",
        {"action": "replay", "_selected_action": [letter.pk]},
        follow=True,
    )
    assert "Replayed 1; 0 failed again." in response.content.decode()
    letter.refresh_from_db()
    assert letter.status == "replayed"
    assert Sighting.objects.filter(sighting_of_id=indicator).exists()


def test_admin_creates_a_source_and_its_system(admin_client_):
    response = admin_client_.post(
        "/admin/ingest/webhooksource/add/",
        {
            "name": "QRadar",
            "slug": "qradar",
            "kind": "generic",
            "system_name": "QRadar SIEM",
            "auth_mode": "signature",
            "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "field_map": '{"value": "offense_source"}',
            "enabled": "on",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    source = WebhookSource.objects.get(slug="qradar")
    assert source.system.name == "QRadar SIEM" and source.system.subtype == "system"
    bad = admin_client_.post(
        "/admin/ingest/webhooksource/add/",
        {"name": "X", "slug": "x", "kind": "generic", "system_name": "X", "auth_mode": "signature",
         "secret": "not base64 !!", "field_map": '{"nope": 1}'},
    )  # fmt: skip
    page = bad.content.decode()
    assert bad.status_code == 200 and "unknown key" in page and "whsec_" in page
    assert StixObject.objects.filter(type="identity").count() == 1
