import pytest

pytestmark = pytest.mark.django_db

ENDPOINTS = [
    "cases",
    "tasks",
    "artifacts",
    "notes",
    "workflowEvents",
    "workflowTemplates",
    "artifactTypes",
    "tags",
    "caseAttributes",
    "security/users",
]


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_options_raw_descriptors(api, endpoint):
    writable = api.options(f"/api/v3/{endpoint}").json()
    everything = api.options(f"/api/v3/{endpoint}?show=readOnly").json()
    assert everything.get("status") != "Success"  # raw object, no envelope
    assert all(isinstance(v, dict) for v in everything.values())
    assert set(writable) <= set(everything)
    assert everything["id"]["readOnly"] is True
    assert "id" not in writable
    assert api.options(f"/api/v3/{endpoint}?show=readonly").json() == everything


def test_case_descriptors_match_reference(api):
    desc = api.options("/api/v3/cases?show=readOnly").json()
    assert desc["name"]["required"] is True and desc["name"]["updatable"] is True
    assert desc["severity"]["allowableValues"] == ["Low", "Medium", "High", "Critical"]
    assert desc["status"]["allowableValues"] == ["Open", "Closed"]
    assert desc["resolution"]["default"] == "Not Specified"
    assert "Deferred / Delayed" in desc["resolution"]["allowableValues"]
    assert desc["tasks"] == {"data": [desc["tasks"]["data"][0]]}
    assert desc["tasks"]["data"][0]["type"] == "Task"
    assert desc["dateAdded"]["readOnly"] is True
    task = api.options("/api/v3/tasks?show=readOnly").json()
    assert task["caseId"]["requiredAltField"] == "caseXid"
    assert task["status"]["allowableValues"] == ["Pending", "Open", "Reopened", "Closed"]


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_options_fields_and_tql(api, endpoint):
    fields = api.options(f"/api/v3/{endpoint}/fields").json()
    assert fields["status"] == "Success"
    assert fields["count"] == len(fields["data"])
    for item in fields["data"]:
        assert set(item) == {"name", "description", "includedByDefault"}
        # every listed name is accepted by fields=
        assert api.get(f"/api/v3/{endpoint}?fields={item['name']}").status_code == 200
    tql = api.options(f"/api/v3/{endpoint}/tql").json()
    assert tql["count"] == len(tql["data"]) > 0
    assert {"keyword", "name", "type", "description", "groupable", "targetable"} <= set(
        tql["data"][0]
    )


def test_case_fields_list_every_expansion(api):
    names = {f["name"] for f in api.options("/api/v3/cases/fields").json()["data"]}
    assert {
        "artifacts",
        "tasks",
        "notes",
        "tags",
        "attributes",
        "associatedCases",
        "userAccess",
        "workflowEvents",
        "workflowTemplate",
        "related",
        "userDetails",
    } <= names
