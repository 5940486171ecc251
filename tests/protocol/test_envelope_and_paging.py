from urllib.parse import parse_qs, urlsplit

import pytest

from cases.models import Case
from cti.security.services import default_owner

pytestmark = pytest.mark.django_db


def _bulk_cases(n: int, **extra) -> list[Case]:
    from django.utils import timezone

    owner = default_owner()
    now = timezone.now()
    return Case.objects.bulk_create(
        [
            Case(
                name=f"Case {i:03d}",
                severity="Low",
                status="Open",
                case_open_time=now,
                owner=owner,
                **extra,
            )
            for i in range(n)
        ]
    )


def test_list_envelope_and_exact_content_type(api):
    _bulk_cases(2)
    response = api.get("/api/v3/cases")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["status"] == "Success"
    assert [c["name"] for c in body["data"]] == ["Case 000", "Case 001"]
    assert "count" not in body and "next" not in body and "prev" not in body


def test_single_get_create_update_delete_envelopes(api, make_case):
    case = make_case(name="Envelope")
    got = api.get(f"/api/v3/cases/{case['id']}").json()
    assert got == {"data": got["data"], "status": "Success"}
    updated = api.put_json(f"/api/v3/cases/{case['id']}", {"name": "Renamed"})
    assert updated.status_code == 200
    assert updated.json()["message"] == "Updated"
    assert updated.json()["data"]["name"] == "Renamed"
    deleted = api.delete(f"/api/v3/cases/{case['id']}")
    assert deleted.status_code == 200
    assert deleted.json() == {"message": "Deleted", "status": "Success"}
    missing = api.get(f"/api/v3/cases/{case['id']}")
    assert missing.status_code == 404
    assert missing.json()["errCode"] == "0x1004"


def test_get_by_xid(api, make_case):
    case = make_case(xid="my-xid-1")
    response = api.get("/api/v3/cases/my-xid-1")
    assert response.status_code == 200
    assert response.json()["data"]["id"] == case["id"]


def test_paging_next_prev_and_count(api):
    _bulk_cases(25)
    first = api.get(
        "/api/v3/cases?resultLimit=10&count=True&tql=name+STARTSWITH+%22Case%22"
        "&fields=tags&unknownParam=1"
    )
    body = first.json()
    assert body["count"] == 25
    assert len(body["data"]) == 10
    assert "prev" not in body
    # plain http: the link is relative to the API base so tcex can prepend its base URL
    assert body["next"].startswith("/v3/cases?")
    query = parse_qs(urlsplit(body["next"]).query)
    assert query["resultStart"] == ["10"]
    assert query["resultLimit"] == ["10"]
    assert query["tql"] == ['name STARTSWITH "Case"']
    assert query["fields"] == ["tags"]
    assert query["unknownParam"] == ["1"]
    second = api.get("/api" + body["next"]).json()
    assert "count" not in second  # count is omitted when resultStart > 0
    assert second["data"][0]["name"] == "Case 010"
    assert parse_qs(urlsplit(second["prev"]).query)["resultStart"] == ["0"]
    third = api.get("/api" + second["next"]).json()
    assert len(third["data"]) == 5
    assert "next" not in third


def test_next_link_is_absolute_over_https(api):
    _bulk_cases(3)
    body = api.get("/api/v3/cases?resultLimit=2", secure=True).json()
    assert body["next"].startswith("https://testserver/api/v3/cases?")


def test_count_false_and_result_limit_bounds(api):
    _bulk_cases(3)
    assert "count" not in api.get("/api/v3/cases?count=false").json()
    for bad in (
        "resultLimit=0",
        "resultLimit=10001",
        "resultStart=-1",
        "resultLimit=abc",
        "count=maybe",
    ):
        response = api.get(f"/api/v3/cases?{bad}")
        assert response.status_code == 400, bad
        assert response.json()["status"] == "Error"


def test_params_in_get_body(api):
    _bulk_cases(5)
    body = {
        "data": {
            "tql": 'name IN ("Case 001","Case 003")',
            "fields": ["tags"],
            "resultLimit": 1,
            "count": True,
        }
    }
    response = api.generic(
        "GET", "/api/v3/cases", data=__import__("json").dumps(body), content_type="application/json"
    )
    payload = response.json()
    assert payload["count"] == 2
    assert [c["name"] for c in payload["data"]] == ["Case 001"]
    assert "tags" in payload["data"][0]


def test_sorting_several_keys(api):
    _bulk_cases(2, description="b")
    Case.objects.filter(name="Case 000").update(severity="High")
    names = [
        c["name"] for c in api.get("/api/v3/cases?sorting=severity desc name asc").json()["data"]
    ]
    assert names == ["Case 001", "Case 000"] or names == ["Case 000", "Case 001"]
    by_name_desc = api.get("/api/v3/cases?sorting=name+desc").json()["data"]
    assert [c["name"] for c in by_name_desc] == ["Case 001", "Case 000"]
    assert api.get("/api/v3/cases?sorting=nope asc").status_code == 400


def test_invalid_tql_is_400_with_tql_errcode(api):
    response = api.get("/api/v3/cases?tql=name %3D%3D%3D (")
    assert response.status_code == 400
    assert response.json()["errCode"] == "0x2001"
    unknown = api.get('/api/v3/cases?tql=nosuchkeyword = "x"').json()
    assert unknown["errCode"] == "0x2001"
    assert "nosuchkeyword" in unknown["message"]


def test_bulk_delete_by_tql(api):
    _bulk_cases(4)
    response = api.delete('/api/v3/cases?tql=name IN ("Case 000","Case 002")')
    assert response.status_code == 200
    assert response.json()["status"] == "Success"
    assert sorted(Case.objects.values_list("name", flat=True)) == ["Case 001", "Case 003"]
    assert api.delete("/api/v3/cases").status_code == 400


@pytest.mark.parametrize(
    "body",
    [
        "not json",
        '["a list"]',
        '{"name": "%s", "severity": "Low", "status": "Open"}' % ("n" * 300),
        '{"name": {"nested": 1}, "severity": "Low", "status": "Open"}',
        '{"name": "x", "severity": "Bogus", "status": "Open"}',
        '{"name": "x"}',
        '{"name": "x", "severity": "Low", "status": "Open", "caseOpenTime": "yesterday-ish"}',
        '{"name": "x", "severity": "Low", "status": "Open", "tasks": {"data": "nope"}}',
        '{"name": "x", "severity": "Low", "status": "Open", "assignee": {"type": "Alien"}}',
    ],
)
def test_bad_input_gives_4xx_envelope(api, body):
    response = api.generic("POST", "/api/v3/cases", data=body, content_type="application/json")
    assert 400 <= response.status_code < 500
    assert response.json()["status"] == "Error"
    assert response.json()["errCode"].startswith("0x")
    assert Case.objects.count() == 0


def test_unknown_and_read_only_fields_are_ignored(api):
    response = api.post_json(
        "/api/v3/cases",
        {
            "name": "x",
            "severity": "Low",
            "status": "Open",
            "id": 999,
            "dateAdded": "2020-01-01",
            "whatever": 1,
        },
    )
    assert response.status_code == 201
    assert response.json()["data"]["id"] != 999


def test_unknown_url_under_api_is_json_404(api):
    response = api.get("/api/v3/nothing-here")
    assert response.status_code == 404
    assert response.json()["status"] == "Error"
