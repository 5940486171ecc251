"""Opinions on cases: /api/v3/caseOpinions and the case's `fields=opinions` expansion."""

import threading

import pytest
from django.db import connection, connections, transaction
from django.test.utils import CaptureQueriesContext

from cases.models import Case, CaseOpinion
from cases.services.opinions import opinion_create
from cti.security.choices import SystemRoleChoices
from cti.security.services import api_user_create, default_owner
from tests.cases.helpers import T0, error_of
from tests.conftest import V3Client

pytestmark = pytest.mark.django_db

URL = "/api/v3/caseOpinions"


@pytest.fixture
def bob_api(db) -> V3Client:
    return V3Client(api_user_create("bob", role=SystemRoleChoices.ANALYST).token)


def _post(client, case_id, opinion, **extra):
    return client.post_json(URL, {"caseId": case_id, "opinion": opinion, **extra})


def test_create_then_second_post_updates_the_same_opinion(api, make_case):
    case = make_case()
    first = _post(api, case["id"], "agree", explanation="Good triage")
    assert first.status_code == 201, first.json()
    data = first.json()["data"]
    assert data["opinion"] == "agree"
    assert data["explanation"] == "Good triage"
    assert data["caseId"] == case["id"]
    assert data["author"]["userName"] == "analyst@example.com"

    second = _post(api, case["id"], "Strongly-Disagree")
    assert second.status_code == 200, second.json()
    assert second.json()["message"] == "Updated"
    assert second.json()["data"]["id"] == data["id"]
    assert second.json()["data"]["opinion"] == "strongly-disagree"
    assert second.json()["data"]["explanation"] == "Good triage"
    assert CaseOpinion.objects.filter(case_id=case["id"]).count() == 1


def test_each_user_has_their_own_opinion(api, bob_api, make_case):
    case = make_case()
    assert _post(api, case["id"], "agree").status_code == 201
    assert _post(bob_api, case["id"], "disagree").status_code == 201
    rows = api.get(URL, {"tql": f"caseId = {case['id']}"}).json()["data"]
    assert sorted((r["author"]["userName"], r["opinion"]) for r in rows) == [
        ("analyst@example.com", "agree"),
        ("bob", "disagree"),
    ]


def test_put_changes_the_own_opinion(api, make_case):
    case = make_case()
    opinion = _post(api, case["id"], "neutral").json()["data"]
    response = api.put_json(f"{URL}/{opinion['id']}", {"opinion": "agree", "explanation": "x"})
    assert response.status_code == 200, response.json()
    assert response.json()["data"]["opinion"] == "agree"
    assert CaseOpinion.objects.get(pk=opinion["id"]).explanation == "x"


def test_another_users_opinion_cannot_be_changed_or_deleted(api, bob_api, admin_api, make_case):
    case = make_case()
    opinion = _post(api, case["id"], "agree").json()["data"]
    error_of(bob_api.put_json(f"{URL}/{opinion['id']}", {"opinion": "disagree"}), 403)
    error_of(bob_api.delete(f"{URL}/{opinion['id']}"), 403)
    assert CaseOpinion.objects.get(pk=opinion["id"]).opinion == "agree"
    # administrators may remove an opinion, but not rewrite it
    error_of(admin_api.put_json(f"{URL}/{opinion['id']}", {"opinion": "disagree"}), 403)
    assert admin_api.delete(f"{URL}/{opinion['id']}").status_code == 200
    assert not CaseOpinion.objects.filter(pk=opinion["id"]).exists()


def test_author_deletes_own_opinion(api, make_case):
    case = make_case()
    opinion = _post(api, case["id"], "agree").json()["data"]
    assert api.delete(f"{URL}/{opinion['id']}").status_code == 200
    error_of(api.get(f"{URL}/{opinion['id']}"), 404)


@pytest.mark.parametrize(
    "body",
    [
        {"opinion": "maybe"},
        {"opinion": None},
        {},
        {"opinion": 3},
    ],
)
def test_invalid_opinion_is_a_400_envelope(api, make_case, body):
    case = make_case()
    error_of(api.post_json(URL, {"caseId": case["id"], **body}), 400)
    assert not CaseOpinion.objects.exists()


def test_unknown_case_and_missing_case_are_400(api):
    error_of(_post(api, 999999, "agree"), 400)
    error_of(api.post_json(URL, {"opinion": "agree"}), 400)


def test_put_with_invalid_value_is_400(api, make_case):
    case = make_case()
    opinion = _post(api, case["id"], "agree").json()["data"]
    error_of(api.put_json(f"{URL}/{opinion['id']}", {"opinion": "very-much"}), 400)
    assert CaseOpinion.objects.get(pk=opinion["id"]).opinion == "agree"


def test_tql_filters(api, bob_api, make_case):
    one, two = make_case(name="one"), make_case(name="two")
    _post(api, one["id"], "agree")
    _post(api, two["id"], "disagree")
    _post(bob_api, one["id"], "strongly-agree")

    def ids(tql):
        response = api.get(URL, {"tql": tql})
        assert response.status_code == 200, response.json()
        return sorted((r["caseId"], r["opinion"]) for r in response.json()["data"])

    assert ids(f"caseId = {one['id']}") == [(one["id"], "agree"), (one["id"], "strongly-agree")]
    assert ids('opinion IN ("disagree", "strongly-agree")') == [
        (one["id"], "strongly-agree"),
        (two["id"], "disagree"),
    ]
    assert ids('author = "bob"') == [(one["id"], "strongly-agree")]
    assert ids("author = me") == [(one["id"], "agree"), (two["id"], "disagree")]


def test_opinions_on_hidden_cases_are_hidden(api, bob_api, make_case):
    case = make_case(userAccess={"data": [{"userName": "analyst@example.com"}]})
    opinion = _post(api, case["id"], "agree").json()["data"]
    assert bob_api.get(URL).json()["data"] == []
    error_of(bob_api.get(f"{URL}/{opinion['id']}"), 404)
    assert len(api.get(URL).json()["data"]) == 1


def test_case_expansion_with_constant_queries(api, bob_api, make_case):
    def count():
        with CaptureQueriesContext(connection) as ctx:
            response = api.get("/api/v3/cases", {"fields": "opinions", "resultLimit": 100})
        assert response.status_code == 200, response.json()
        return response.json()["data"], len(ctx.captured_queries)

    case = make_case()
    _post(api, case["id"], "agree")
    _, small = count()
    for n in range(4):
        other = make_case(name=f"c{n}")
        _post(api, other["id"], "neutral")
        _post(bob_api, other["id"], "disagree")
    data, large = count()
    assert small == large
    by_id = {c["id"]: c for c in data}
    assert [o["opinion"] for o in by_id[case["id"]]["opinions"]["data"]] == ["agree"]
    assert all(len(c["opinions"]["data"]) == (1 if c["id"] == case["id"] else 2) for c in data)
    assert "opinions" not in api.get(f"/api/v3/cases/{case['id']}").json()["data"]


def test_read_only_users_cannot_post(readonly_credential, make_case):
    case = make_case()
    reader = V3Client(readonly_credential.token)
    error_of(_post(reader, case["id"], "agree"), 403)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_posts_keep_one_opinion(analyst_credential):
    if connection.vendor != "postgresql":
        pytest.skip("needs concurrent transactions (PostgreSQL)")
    user = analyst_credential.user
    case = Case.objects.create(
        name="race", severity="Low", case_open_time=T0, owner=default_owner()
    )
    values = ["agree", "disagree", "neutral", "strongly-agree"]
    barrier = threading.Barrier(len(values))
    errors: list[BaseException] = []

    def post(value: str) -> None:
        try:
            barrier.wait()
            with transaction.atomic():
                opinion_create(user=user, data={"case_id": case.pk, "opinion": value})
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=post, args=(v,)) for v in values]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    rows = list(CaseOpinion.objects.filter(case=case))
    assert len(rows) == 1 and rows[0].opinion in values
