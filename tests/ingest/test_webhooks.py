"""POST /v3/webhooks/{slug}: each source kind's real payload shape, Standard Webhooks signatures
(good, bad, expired, replayed) and tokens (query or Bearer), all answered in the v3 envelope."""

import json
import time
from urllib.parse import quote

import pytest

from cti.ingest.models import DeadLetter, IdempotencyRecord
from cti.intel.models import Sighting
from cti.security.models import Owner
from cti.security.services import api_user_create
from tests.conftest import V3Client
from tests.ingest.conftest import IP, signed_headers

pytestmark = pytest.mark.django_db

SPLUNK = {
    "result": {"src_ip": IP, "sourcetype": "firewall", "count": "3", "_time": "1714557600"},
    "sid": "scheduler__admin__search__RMD5abc_at_1714557600_42",
    "results_link": "http://splunk.example:8000/app/search/@go?sid=scheduler__admin",
    "search_name": "Known bad IP",
    "owner": "admin",
    "app": "search",
}
KIBANA = {
    "source": "kibana",
    "rule_id": "8f2e1d90-0000-4000-8000-000000000001",
    "alert_id": "a1",
    "alerts": [
        {
            "@timestamp": "2024-05-01T10:00:00.000Z",
            "kibana.alert.uuid": "5b3b5a3c6b1e4c1f",
            "kibana.alert.rule.name": "Threat intel match",
            "source": {"ip": IP},
            "destination": {"ip": "10.0.0.5"},
        },
        {
            "@timestamp": "2024-05-01T10:05:00.000Z",
            "kibana": {"alert": {"uuid": "7c4c6b4d", "rule": {"name": "Threat intel match"}}},
            "url": {"full": "http://evil.example.com/x"},
        },
    ],
}
WAZUH_ALERT = {
    "timestamp": "2024-05-01T10:00:00.123+0000",
    "rule": {"level": 10, "description": "sshd: brute force", "id": "5712", "groups": ["sshd"]},
    "agent": {"id": "001", "name": "web01", "ip": "10.0.0.8"},
    "manager": {"name": "wazuh-manager"},
    "id": "1714557600.123456",
    "full_log": "Failed password for root from 203.0.113.7 port 22 ssh2",
    "decoder": {"name": "sshd"},
    "data": {"srcip": IP, "srcuser": "root"},
    "location": "/var/log/auth.log",
}
WAZUH_SHUFFLE = {
    "severity": 3,
    "pretext": "WAZUH Alert",
    "title": "sshd: brute force",
    "text": WAZUH_ALERT["full_log"],
    "rule_id": "5712",
    "timestamp": WAZUH_ALERT["timestamp"],
    "id": WAZUH_ALERT["id"],
    "all_fields": WAZUH_ALERT,
}


def pairs() -> dict[tuple[str, str], int]:
    return {
        (s.sighting_of.type, s.where_sighted.name): s.count
        for s in Sighting.objects.select_related("sighting_of", "where_sighted")
    }


def test_splunk_with_token_in_the_query(make_source, web, indicator):
    source = make_source("splunk", auth_mode="token", system_name="Splunk prod")
    url = f"/api/v3/webhooks/splunk?token={quote(source.secret, safe='')}"
    response = web.post(url, json.dumps(SPLUNK), content_type="application/json")
    assert response.status_code == 200, response.json()
    assert pairs() == {("indicator", "Splunk prod"): 3, ("ipv4-addr", "Splunk prod"): 3}
    row = Sighting.objects.get(sighting_of_id=indicator)
    assert row.first_seen.isoformat() == "2024-05-01T10:00:00+00:00"
    assert row.node.properties["description"] == "Known bad IP"
    # Splunk retries the same alert: nothing changes
    again = web.post(url, json.dumps(SPLUNK), content_type="application/json")
    assert again.json()["data"][0]["status"] == "unchanged"
    assert pairs()[("indicator", "Splunk prod")] == 3


def test_token_as_bearer_and_bad_tokens(make_source, web, indicator):
    source = make_source("splunk", auth_mode="token")
    url = "/api/v3/webhooks/splunk"
    body = json.dumps(SPLUNK)
    ok = web.post(url, body, content_type="application/json",
                  HTTP_AUTHORIZATION=f"Bearer {source.secret}")  # fmt: skip
    assert ok.status_code == 200
    for extra in ({"HTTP_AUTHORIZATION": "Bearer wrong"}, {}):
        response = web.post(url, body, content_type="application/json", **extra)
        assert response.status_code == 401
        assert response.json()["status"] == "Error" and response.json()["errCode"] == "0x1002"
    wrong = quote(source.secret[:-2], safe="")
    response = web.post(f"{url}?token={wrong}", body, content_type="application/json")
    assert response.status_code == 401 and response.json()["message"] == "Invalid token."
    assert not DeadLetter.objects.exists()


def test_kibana_alerts_one_sighting_each(make_source, post_signed, indicator):
    source = make_source("kibana", system_name="Elastic")
    response = post_signed(source, KIBANA)
    assert response.status_code == 200, response.json()
    assert [r["status"] for r in response.json()["data"]] == ["created", "created"]
    assert pairs() == {
        ("indicator", "Elastic"): 1,
        ("ipv4-addr", "Elastic"): 1,
        ("url", "Elastic"): 1,
    }
    # Kibana retries (a new webhook-id, same alert uuids): unchanged
    again = post_signed(source, KIBANA)
    assert [r["status"] for r in again.json()["data"]] == ["unchanged", "unchanged"]


def test_kibana_field_map(make_source, post_signed):
    source = make_source(
        "kibana",
        field_map={"items": "hits", "value": "dest", "type": "=domain-name", "event_id": "key"},
    )
    body = {"hits": [{"dest": "Evil.Example.ORG", "key": "k1", "@timestamp": "2024-05-01"}]}
    response = post_signed(source, body)
    assert response.status_code == 200, response.json()
    assert pairs() == {("domain-name", "kibana SIEM"): 1}
    assert Sighting.objects.get().sighting_of.value == "evil.example.org"


@pytest.mark.parametrize("payload", [WAZUH_ALERT, WAZUH_SHUFFLE], ids=["raw", "shuffle"])
def test_wazuh_raw_alert_and_shuffle_envelope(make_source, post_signed, indicator, payload):
    source = make_source("wazuh", system_name="Wazuh")
    response = post_signed(source, payload)
    assert response.status_code == 200, response.json()
    assert pairs() == {("indicator", "Wazuh"): 1, ("ipv4-addr", "Wazuh"): 1}
    row = Sighting.objects.get(sighting_of_id=indicator)
    assert row.first_seen.isoformat() == "2024-05-01T10:00:00.123000+00:00"
    assert row.node.properties["x_cti_event_id"] == WAZUH_ALERT["id"]


def test_both_wazuh_shapes_of_one_alert_are_one_event(make_source, post_signed, indicator):
    source = make_source("wazuh", system_name="Wazuh")
    post_signed(source, WAZUH_ALERT)
    response = post_signed(source, WAZUH_SHUFFLE)
    assert response.json()["data"][0]["status"] == "unchanged"


def test_generic_simple_form_and_mapped(make_source, post_signed, indicator):
    plain = make_source("generic", slug="plain")
    response = post_signed(plain, {"data": [{"observableValue": IP, "eventId": "x"}]})
    assert response.status_code == 200, response.json()
    mapped = make_source(
        "generic", slug="mapped", system_name="Mapped SIEM",
        field_map={"items": "events", "value": "ioc.v", "event_id": "uid", "count": "n"},
    )  # fmt: skip
    response = post_signed(mapped, {"events": [{"ioc": {"v": IP}, "uid": "u1", "n": 2}]})
    assert response.status_code == 200, response.json()
    assert pairs()[("indicator", "Mapped SIEM")] == 2
    assert pairs()[("indicator", "generic SIEM")] == 1


def test_signature_bad_expired_missing(make_source, web, indicator):
    source = make_source("wazuh")
    url = "/api/v3/webhooks/wazuh"
    body = json.dumps(WAZUH_ALERT)
    tampered = signed_headers(source.secret, body)
    response = web.post(url, body.replace("10:00", "11:00"), content_type="application/json",
                        **tampered)  # fmt: skip
    assert response.status_code == 401 and "signature" in response.json()["message"]
    other = signed_headers("whsec_" + "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUE=", body)
    assert web.post(url, body, content_type="application/json", **other).status_code == 401
    old = signed_headers(source.secret, body, at=time.time() - 6 * 60)
    response = web.post(url, body, content_type="application/json", **old)
    assert response.status_code == 401 and "too old" in response.json()["message"]
    garbled = dict(signed_headers(source.secret, body), HTTP_WEBHOOK_SIGNATURE="nonsense")
    assert web.post(url, body, content_type="application/json", **garbled).status_code == 401
    response = web.post(url, body, content_type="application/json")
    assert response.status_code == 401 and "webhook-id" in response.json()["message"]
    assert not Sighting.objects.exists() and not DeadLetter.objects.exists()


def test_replayed_signed_message_gets_the_first_response(make_source, web, indicator):
    source = make_source("wazuh")
    url = "/api/v3/webhooks/wazuh"
    body = json.dumps(WAZUH_ALERT)
    headers = signed_headers(source.secret, body, msg_id="msg_1")
    first = web.post(url, body, content_type="application/json", **headers)
    replayed = web.post(url, body, content_type="application/json", **headers)
    assert first.status_code == replayed.status_code == 200
    assert replayed.json() == first.json() and replayed.headers["Idempotent-Replayed"] == "true"
    assert IdempotencyRecord.objects.get().key == "msg_1"
    assert pairs()[("indicator", "wazuh SIEM")] == 1


def test_unknown_and_disabled_sources(make_source, post_signed, web):
    assert web.post("/api/v3/webhooks/nope", "{}", content_type="application/json").status_code \
        == 404  # fmt: skip
    source = make_source("wazuh", enabled=False)
    response = post_signed(source, WAZUH_ALERT)
    assert response.status_code == 403 and response.json()["status"] == "Error"


@pytest.mark.parametrize(
    ("kind", "payload", "problem"),
    [
        ("splunk", {"sid": "s"}, '"result" object'),
        ("splunk", {"result": {"sourcetype": "x"}, "sid": "s"}, "no observable value"),
        ("wazuh", {"id": "1"}, '"rule" object'),
        ("kibana", {"alerts": []}, "empty"),
        ("kibana", [1, 2], "JSON object"),
        ("generic", "[]", "no items"),
        ("generic", "{not json", "not valid JSON"),
    ],
)
def test_malformed_payloads_4xx_and_dead_letter(make_source, post_signed, kind, payload, problem):
    source = make_source(kind)
    response = post_signed(source, payload)
    assert 400 <= response.status_code < 500, response.content
    body = response.json()
    assert body["status"] == "Error" and problem in body["message"]
    letter = DeadLetter.objects.get(pk=body["deadLetter"])
    assert letter.source == source and letter.endpoint == f"webhooks/{kind}"
    assert problem in letter.error
    assert "Webhook-Signature" not in letter.headers and "Webhook-Id" in letter.headers


def test_a_request_that_only_merges_announces_changes_only(make_source, post_signed, indicator):
    """New sighting rows are announced as added (the audit's create entries, the rules'
    evaluation); a request whose every item merges into existing rows announces only the
    changed rows."""
    from cti.intel.signals import graph_changed

    source = make_source("generic")
    seen: list[tuple[str, list]] = []

    def listen(sender, kind, nodes=None, **kwargs):
        seen.append((kind, sorted(nodes or [])))

    graph_changed.connect(listen)
    try:
        first = {"observableValue": IP, "eventId": "e1", "firstSeen": "2024-05-01T10:00:00Z"}
        assert post_signed(source, {"data": [first]}).status_code == 200
        assert [kind for kind, _ in seen] == ["added"]
        seen.clear()
        again = dict(first, eventId="e2")
        assert post_signed(source, {"data": [again]}).status_code == 200
    finally:
        graph_changed.disconnect(listen)
    rows = sorted(Sighting.objects.values_list("pk", flat=True))
    assert seen == [("changed", rows)]
    assert sorted(Sighting.objects.values_list("count", flat=True)) == [2, 2]


def test_a_source_with_an_owner_records_its_sightings_and_system_as_that_owners(
    make_source, post_signed, indicator
):
    org = Owner.objects.create(name="SOC of Org B")
    source = make_source("generic", slug="org-b", system_name="Org B SIEM", owner=org)
    assert source.system.owner == org
    response = post_signed(source, {"data": [{"observableValue": IP, "eventId": "b1"}]})
    assert response.status_code == 200, response.json()
    recorded = Sighting.objects.filter(where_sighted=source.system).select_related("node")
    assert recorded and {s.node.owner for s in recorded} == {org}
    # an analyst of the default organisation does not see them; one of Org B does
    outsider = api_user_create("analyst@home.example", role="Analyst")
    insider = api_user_create("analyst@b.example", role="Analyst")
    insider.user.owner = org
    insider.user.save()
    ids = {s.node.stix_id for s in recorded}

    def seen(credential) -> set[str]:
        client = V3Client(credential.token)
        response = client.get("/api/v3/intel/sightings", {"resultLimit": 100})
        assert response.status_code == 200, response.json()
        return {row["id"] for row in response.json()["data"]}

    assert not ids & seen(outsider)
    assert ids <= seen(insider)
