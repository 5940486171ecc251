"""Cases hold graph objects; artifacts stand for observables and reach their indicators."""

import pytest

from cti.intel.ids import observable_id

pytestmark = pytest.mark.django_db

INDICATOR = {
    "type": "indicator",
    "id": "indicator--0f8a1c8e-3f1e-4e62-9d65-1a0f1f0c0001",
    "name": "bad.com",
    "pattern": "[domain-name:value = 'bad.com']",
    "pattern_type": "stix",
    "valid_from": "2024-01-01T00:00:00Z",
}
BAD_COM = observable_id("domain-name", {"value": "bad.com"})


def _based_on(api) -> None:
    response = api.post_json(
        "/api/v3/intel/bundles",
        {
            "type": "bundle",
            "objects": [
                INDICATOR,
                {"type": "domain-name", "value": "bad.com"},
                {
                    "type": "relationship",
                    "relationship_type": "based-on",
                    "source_ref": INDICATOR["id"],
                    "target_ref": BAD_COM,
                    "id": "relationship--0f8a1c8e-3f1e-4e62-9d65-1a0f1f0c0002",
                },
            ],
        },
    )
    assert response.status_code == 200, response.json()
    assert response.json()["data"]["rejected"] == []


def _intel_ids(api, case_id: int) -> list[str]:
    data = api.get(f"/api/v3/cases/{case_id}?fields=intelObjects").json()["data"]
    return sorted(o["id"] for o in data["intelObjects"]["data"])


def test_case_types_priority_and_vocabulary(api, make_case):
    case = make_case(caseType="incident response", priority="P2", caseTypeValues=["ransomware"])
    assert (case["caseType"], case["priority"], case["caseTypeValues"]) == (
        "Incident Response",
        "P2",
        ["ransomware"],
    )
    bad = api.post_json(
        "/api/v3/cases", {"name": "x", "severity": "Low", "status": "Open", "priority": "P9"}
    )
    assert bad.status_code == 400
    ids = [
        c["id"]
        for c in api.get(
            '/api/v3/cases?tql=caseType = "Incident Response" and priority = "P2"'
        ).json()["data"]
    ]
    assert ids == [case["id"]]


def test_case_holds_inline_and_referenced_objects_with_modes(api, make_case):
    _based_on(api)
    case = make_case(
        intelObjects={
            "data": [
                {"id": INDICATOR["id"]},
                {
                    "type": "threat-actor",
                    "id": "threat-actor--0f8a1c8e-3f1e-4e62-9d65-1a0f1f0c0003",
                    "name": "Phish Kings",
                },
            ]
        }
    )
    assert _intel_ids(api, case["id"]) == sorted(
        [INDICATOR["id"], "threat-actor--0f8a1c8e-3f1e-4e62-9d65-1a0f1f0c0003"]
    )
    api.put_json(
        f"/api/v3/cases/{case['id']}",
        {"intelObjects": {"data": [{"id": BAD_COM}], "mode": "append"}},
    )
    assert BAD_COM in _intel_ids(api, case["id"])
    api.put_json(
        f"/api/v3/cases/{case['id']}",
        {"intelObjects": {"data": [{"id": INDICATOR["id"]}], "mode": "delete"}},
    )
    assert INDICATOR["id"] not in _intel_ids(api, case["id"])
    api.put_json(
        f"/api/v3/cases/{case['id']}",
        {"intelObjects": {"data": [{"id": INDICATOR["id"]}], "mode": "replace"}},
    )
    assert _intel_ids(api, case["id"]) == [INDICATOR["id"]]
    missing = api.put_json(
        f"/api/v3/cases/{case['id']}",
        {"intelObjects": {"data": [{"id": "indicator--00000000-0000-4000-8000-000000000000"}]}},
    )
    assert missing.status_code == 400


def test_cases_containing_an_object_both_ways(api, make_case):
    _based_on(api)
    holder = make_case(name="holder", intelObjects={"data": [{"id": INDICATOR["id"]}]})
    make_case(name="other")
    found = api.get(f'/api/v3/cases?tql=hasIntelObject(id = "{INDICATOR["id"]}")').json()
    assert [c["id"] for c in found["data"]] == [holder["id"]]
    objects = api.get(f"/api/v3/intel/objects?tql=hasCase(id = {holder['id']})").json()
    assert [o["id"] for o in objects["data"]] == [INDICATOR["id"]]


def test_host_artifact_links_observable_and_its_indicators(api, make_case):
    _based_on(api)
    case = make_case(
        artifacts={
            "data": [
                {"summary": "bad.com", "type": "Host"},
                {"summary": "Quarterly report", "type": "Email Subject"},
                {"summary": "notes.txt", "type": "Log File"},
            ]
        }
    )
    artifacts = api.get(f"/api/v3/artifacts?tql=caseId = {case['id']}&fields=indicators").json()
    by_summary = {a["summary"]: a for a in artifacts["data"]}
    host = by_summary["bad.com"]
    assert host["observableId"] == BAD_COM
    assert [i["id"] for i in host["indicators"]["data"]] == [INDICATOR["id"]]
    assert by_summary["Quarterly report"]["observableId"].startswith("email-message--")
    assert "observableId" not in by_summary["notes.txt"]
    assert BAD_COM in _intel_ids(api, case["id"])


def test_artifact_observable_is_shared_between_cases(api, make_case):
    first = make_case(artifacts={"data": [{"summary": "10.0.0.1", "type": "IP Address"}]})
    second = make_case(artifacts={"data": [{"summary": "10.0.0.1", "type": "IP Address"}]})
    ip = observable_id("ipv4-addr", {"value": "10.0.0.1"})
    assert _intel_ids(api, first["id"]) == _intel_ids(api, second["id"]) == [ip]
    objects = api.get('/api/v3/intel/objects?tql=type = "ipv4-addr"&count=true').json()
    assert objects["count"] == 1


def test_case_bundle_export(api, make_case):
    _based_on(api)
    case = make_case(intelObjects={"data": [{"id": INDICATOR["id"]}]})
    bundle = api.get(f"/api/v3/intel/bundles?caseId={case['id']}").json()
    assert bundle["type"] == "bundle"
    assert INDICATOR["id"] in {o["id"] for o in bundle["objects"]}
