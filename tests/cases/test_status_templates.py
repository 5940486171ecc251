"""Detailed case statuses: /api/v3/caseStatusTemplates and a case's `detailedStatus`."""

import pytest

from cases.models import Case, CaseStatusTemplate
from tests.cases.helpers import error_of

pytestmark = pytest.mark.django_db

URL = "/api/v3/caseStatusTemplates"
IR, RFI = "Incident Response", "Request for Information"


@pytest.fixture
def statuses(admin_api):
    """Triage (all types), Containment / Eradicated (incident response), Answered (RFI)."""

    def make(name, case_type=None, order=0, closes=False):
        body = {"name": name, "order": order, "closesCase": closes}
        if case_type:
            body["caseType"] = case_type
        response = admin_api.post_json(URL, body)
        assert response.status_code == 201, response.json()
        return response.json()["data"]

    return {
        "Eradicated": make("Eradicated", IR, order=3, closes=True),
        "Triage": make("Triage", order=1),
        "Containment": make("Containment", IR, order=2),
        "Answered": make("Answered", RFI, order=2, closes=True),
    }


def test_admin_defines_and_everyone_reads_in_order(api, statuses):
    response = api.get(URL, {"tql": f'caseType = "{IR}" or caseType = ""'})
    assert response.status_code == 200, response.json()
    names = [s["name"] for s in response.json()["data"]]
    assert names == ["Triage", "Containment", "Eradicated"]
    listed = api.get(URL, {"sorting": "order ASC,name ASC"}).json()["data"]
    assert [(s["order"], s["name"]) for s in listed] == [
        (1, "Triage"),
        (2, "Answered"),
        (2, "Containment"),
        (3, "Eradicated"),
    ]
    triage = next(s for s in listed if s["name"] == "Triage")
    assert "caseType" not in triage and triage["closesCase"] is False


def test_analysts_cannot_write_templates(api, statuses):
    error_of(api.post_json(URL, {"name": "Mine"}), 403)
    error_of(api.put_json(f"{URL}/{statuses['Triage']['id']}", {"order": 9}), 403)
    error_of(api.delete(f"{URL}/{statuses['Triage']['id']}"), 403)
    assert CaseStatusTemplate.objects.get(name="Triage").order == 1


def test_template_validation(admin_api, statuses):
    error_of(admin_api.post_json(URL, {"name": "Containment", "caseType": IR}), 409)
    error_of(admin_api.post_json(URL, {"name": "X", "caseType": "Nonsense"}), 400)
    error_of(admin_api.post_json(URL, {"name": ""}), 400)
    error_of(admin_api.post_json(URL, {"name": "X", "order": -1}), 400)
    # the same name may exist for another type
    assert admin_api.post_json(URL, {"name": "Containment", "caseType": RFI}).status_code == 201
    response = admin_api.put_json(f"{URL}/{statuses['Triage']['id']}", {"order": 5})
    assert response.status_code == 200, response.json()
    assert response.json()["data"]["order"] == 5


def test_case_detailed_status_is_validated_against_its_type(api, make_case, statuses):
    case = make_case(caseType=IR, detailedStatus="Containment")
    assert case["detailedStatus"] == "Containment"
    assert case["status"] == "Open"
    # a status for every type is allowed too
    response = api.put_json(f"/api/v3/cases/{case['id']}", {"detailedStatus": "Triage"})
    assert response.status_code == 200, response.json()
    assert response.json()["data"]["detailedStatus"] == "Triage"
    # a status of another type is not
    body = error_of(api.put_json(f"/api/v3/cases/{case['id']}", {"detailedStatus": "Answered"}))
    assert "Answered" in body["message"] and "Containment" in body["message"]
    error_of(
        api.post_json("/api/v3/cases", {"name": "x", "severity": "Low", "detailedStatus": "No"})
    )
    assert Case.objects.get(pk=case["id"]).detailed_status.name == "Triage"
    # null clears it
    cleared = api.put_json(f"/api/v3/cases/{case['id']}", {"detailedStatus": None}).json()
    assert "detailedStatus" not in cleared["data"]


def test_case_without_type_only_takes_statuses_for_all_types(api, make_case, statuses):
    case = make_case(detailedStatus="Triage")
    assert case["detailedStatus"] == "Triage"
    error_of(api.put_json(f"/api/v3/cases/{case['id']}", {"detailedStatus": "Containment"}))


def test_closing_status_closes_the_case(api, make_case, statuses):
    case = make_case(caseType=IR)
    response = api.put_json(f"/api/v3/cases/{case['id']}", {"detailedStatus": "Eradicated"})
    assert response.status_code == 200, response.json()
    data = response.json()["data"]
    assert (data["status"], data["detailedStatus"]) == ("Closed", "Eradicated")
    assert data["caseCloseTime"]
    created = make_case(caseType=RFI, detailedStatus="Answered")
    assert created["status"] == "Closed"
    # a status that does not close the case leaves the status alone
    response = api.put_json(f"/api/v3/cases/{case['id']}", {"detailedStatus": "Triage"})
    assert response.json()["data"]["status"] == "Closed"


def test_closing_status_respects_required_tasks(api, make_case, statuses):
    case = make_case(caseType=IR, tasks={"data": [{"name": "must", "required": True}]})
    error_of(api.put_json(f"/api/v3/cases/{case['id']}", {"detailedStatus": "Eradicated"}))
    stored = Case.objects.get(pk=case["id"])
    assert (stored.status, stored.detailed_status) == ("Open", None)


def test_tql_detailed_status(api, make_case, statuses):
    make_case(name="a", caseType=IR, detailedStatus="Containment")
    make_case(name="b", detailedStatus="Triage")
    make_case(name="c")

    def names(tql):
        response = api.get("/api/v3/cases", {"tql": tql})
        assert response.status_code == 200, response.json()
        return sorted(x["name"] for x in response.json()["data"])

    assert names('detailedStatus = "Containment"') == ["a"]
    assert names('detailedStatus IN ("Containment", "Triage")') == ["a", "b"]
    assert names("detailedStatus IS NULL") == ["c"]
