"""Owners (organisations): an analyst sees their own organisation's data and what is shared with
them; another owner's rows are as unknown as missing ones (404) on every endpoint that takes an
id, in lists, through TQL subqueries, nested expansions, bulk delete, child writes, exports,
TAXII, notifications and the Django admin. `?owner=` narrows to one visible owner (403 else).

Every path the URL resolver knows that takes an id is classified below, so a new endpoint must
say how it is scoped before this module passes."""

import json
import re

import pytest
from drf_spectacular.generators import EndpointEnumerator

from cases import models as m
from cti.events.models import Event
from cti.intel.models import Explanation, StixObject
from cti.intel.services import import_objects
from cti.notify.models import Trigger
from cti.notify.selectors import trigger_matches
from cti.reports.models import CaseReport
from cti.security.choices import SystemRoleChoices
from cti.security.models import Owner
from cti.security.services import api_user_create, default_owner
from tests.conftest import V3Client
from tests.rules.graphs import indicator

pytestmark = pytest.mark.django_db

OTHER = "Other Org"
# path template -> the hidden object whose id goes into it
OWNED = {
    "/api/v3/cases/{pk}": "case",
    "/api/v3/cases/{case_id}/graph": "case",
    "/api/v3/cases/{case_id}/reports": "case",
    "/api/v3/cases/{case_id}/reports/{report_id}": "case+report",
    "/api/v3/cases/{case_id}/reports/{report_id}/download": "case+report",
    "/api/v3/cases/{case_id}/stix": "case",
    "/api/v3/cases/{case_id}/timeline": "case",
    "/api/v3/tasks/{pk}": "task",
    "/api/v3/artifacts/{pk}": "artifact",
    "/api/v3/notes/{pk}": "note",
    "/api/v3/workflowEvents/{pk}": "event",
    "/api/v3/caseAttributes/{pk}": "attribute",
    "/api/v3/caseOpinions/{pk}": "opinion",
    "/api/v3/workflowTemplates/{pk}": "template",
    "/api/v3/tags/{pk}": "tag",
    "/api/v3/intel/objects/{pk}": "indicator",
}
# paths whose rows no owner holds, and why
NOT_OWNED = {
    "/api/v3/artifactTypes/{pk}": "shared configuration",
    "/api/v3/caseStatusTemplates/{pk}": "shared configuration",
    "/api/v3/caseAutomations/{pk}": "shared configuration (administrators write)",
    "/api/v3/auditLog/{pk}": "administrators only",
    "/api/v3/deadLetters/{pk}": "administrators only",
    "/api/v3/deadLetters/{pk}/replay": "administrators only",
    "/api/v3/rules/{pk}": "administrators only",
    "/api/v3/security/credentials/{pk}": "administrators only",
    "/api/v3/security/credentials/{pk}/revoke": "administrators only",
    "/api/v3/security/credentials/{pk}/rotate": "administrators only",
    "/api/v3/security/users/{pk}": "the user directory (assignees are picked from it)",
    "/api/v3/security/owners/{pk}": "owners themselves: test_owners_endpoint_lists_visible_ones",
    "/api/v3/notifications/notifiers/{pk}": "shared configuration (administrators write)",
    "/api/v3/notifications/triggers/{pk}": "per user: another user's trigger is a 404",
    "/api/v3/notifications/deliveries/{pk}": "per user: another user's delivery is a 404",
    "/api/v3/webhooks/{slug}": "authenticated by the source, not a user",
    # relationships and sightings are scoped like objects (their node's owner); the walk uses
    # an indicator, and test_graph_edges_of_another_owner_are_hidden covers the edges
    "/api/v3/intel/relationships/{pk}": "scoped by node owner, tested below",
    "/api/v3/intel/sightings/{pk}": "scoped by node owner, tested below",
}


def _detail_endpoints() -> list[tuple[str, str]]:
    return sorted(
        {
            (path, method)
            for path, _regex, method, _view in EndpointEnumerator().get_api_endpoints()
            if path.startswith("/api/v3/") and "{" in path
        }
    )


DETAIL = _detail_endpoints()


@pytest.fixture
def other_owner(db) -> Owner:
    return Owner.objects.create(name=OTHER)


@pytest.fixture
def outsider(other_owner):
    """An analyst of the other organisation, who writes its data through the API."""
    credential = api_user_create("outsider@example.org", role=SystemRoleChoices.ANALYST)
    credential.user.owner = other_owner
    credential.user.save(update_fields=["owner"])
    return credential


@pytest.fixture
def hidden(outsider, analyst_credential) -> dict:
    """A case of the other owner with one of everything, written by its own analyst."""
    client = V3Client(outsider.token)

    def post(path: str, body: dict) -> dict:
        response = client.post_json(path, body)
        assert response.status_code == 201, response.json()
        return response.json()["data"]

    ind = indicator("hidden-one")
    case = post(
        "/api/v3/cases",
        {
            "name": "Hidden merger",
            "severity": "High",
            "status": "Open",
            "tags": {"data": [{"name": "secret-tag"}]},
            "intelObjects": {"data": [ind]},
        },
    )
    task = post("/api/v3/tasks", {"caseId": case["id"], "name": "Hidden task"})
    artifact = post(
        "/api/v3/artifacts",
        {"caseId": case["id"], "type": "Email Address", "summary": "spy@hidden.example"},
    )
    note = post("/api/v3/notes", {"caseId": case["id"], "text": "hidden note"})
    event = post("/api/v3/workflowEvents", {"caseId": case["id"], "summary": "hidden event"})
    m.AttributeType.objects.get_or_create(name="Hidden Attr")
    attribute = post(
        "/api/v3/caseAttributes", {"caseId": case["id"], "type": "Hidden Attr", "value": "v"}
    )
    opinion = post("/api/v3/caseOpinions", {"caseId": case["id"], "opinion": "agree"})
    template = post("/api/v3/workflowTemplates", {"name": "Hidden playbook"})
    report = CaseReport.objects.create(case_id=case["id"], format="pdf")
    return {
        "case": case["id"],
        "report": report.pk,
        "task": task["id"],
        "artifact": artifact["id"],
        "note": note["id"],
        "event": event["id"],
        "attribute": attribute["id"],
        "opinion": opinion["id"],
        "template": template["id"],
        "tag": m.Tag.objects.get(name="secret-tag").pk,
        "indicator": StixObject.objects.get(stix_id=ind["id"]).pk,
        "indicator_stix_id": ind["id"],
    }


def test_every_detail_endpoint_is_classified():
    paths = {p for p, _ in DETAIL}
    assert paths == set(OWNED) | set(NOT_OWNED), sorted(paths ^ (set(OWNED) | set(NOT_OWNED)))


def _url(path: str, hidden: dict) -> str:
    kind = OWNED[path]
    ids = {"case_id": hidden["case"], "report_id": hidden.get("report")}
    if "+" not in kind:
        ids["pk"] = hidden[kind]
    return re.sub(r"\{(\w+)\}", lambda match: str(ids[match.group(1)]), path)


OWNED_CALLS = [(p, meth) for p, meth in DETAIL if p in OWNED and meth not in ("OPTIONS",)]


CHANGE = {"name": "renamed", "text": "changed", "value": "changed", "summary": "changed"}


def _call(client: V3Client, method: str, url: str):
    if method == "GET":
        return client.get(url)
    return client.generic(method, url, json.dumps(CHANGE), content_type="application/json")


@pytest.mark.parametrize(("path", "method"), OWNED_CALLS, ids=[f"{m} {p}" for p, m in OWNED_CALLS])
def test_another_owners_row_is_a_404(path, method, hidden, api, outsider):
    url = _url(path, hidden)
    response = _call(api, method, url)
    assert response.status_code == 404, (response.status_code, response.content[:300])
    assert response.json()["status"] == "Error"
    # the URL exists: the owner's own analyst reads it; and the refused write changed nothing
    if method == "GET" and not url.endswith("/download"):
        assert V3Client(outsider.token).get(url).status_code == 200
    assert m.Case.objects.get(pk=hidden["case"]).name == "Hidden merger"
    assert m.Note.objects.get(pk=hidden["note"]).text == "hidden note"
    assert m.Task.objects.filter(pk=hidden["task"]).exists()
    assert StixObject.objects.filter(pk=hidden["indicator"]).exists()


# ---- lists, ?owner=, sharing --------------------------------------------------------------


def _ids(client: V3Client, path: str, **params) -> set[int]:
    response = client.get(path, {"resultLimit": 1000, **params})
    assert response.status_code == 200, response.json()
    return {row["id"] for row in response.json()["data"]}


LISTS = {
    "/api/v3/cases": "case",
    "/api/v3/tasks": "task",
    "/api/v3/artifacts": "artifact",
    "/api/v3/notes": "note",
    "/api/v3/workflowEvents": "event",
    "/api/v3/caseAttributes": "attribute",
    "/api/v3/caseOpinions": "opinion",
    "/api/v3/workflowTemplates": "template",
    "/api/v3/tags": "tag",
    "/api/v3/intel/objects": "indicator_stix_id",
}


def test_lists_leave_out_another_owners_rows_until_shared(
    hidden, api, admin_api, other_owner, analyst_credential
):
    for path, kind in LISTS.items():
        assert hidden[kind] not in _ids(api, path), path
        assert hidden[kind] in _ids(admin_api, path), path
    other_owner.members.add(analyst_credential.user)
    for path, kind in LISTS.items():
        assert hidden[kind] in _ids(api, path), path


def test_owner_parameter_narrows_and_refuses_hidden_owners(
    hidden, api, admin_api, other_owner, analyst_credential
):
    mine = api.post_json("/api/v3/cases", {"name": "Mine", "severity": "Low", "status": "Open"})
    mine_id = mine.json()["data"]["id"]
    refused = api.get("/api/v3/cases", {"owner": OTHER})
    assert refused.status_code == 403 and refused.json()["status"] == "Error"
    assert api.get("/api/v3/cases", {"owner": "No Such Org"}).status_code == 403
    assert _ids(api, "/api/v3/cases", owner=default_owner().name) == {mine_id}
    assert _ids(admin_api, "/api/v3/cases", owner=OTHER) == {hidden["case"]}
    assert _ids(admin_api, "/api/v3/tasks", owner=OTHER) == {hidden["task"]}
    # a write into a hidden owner is refused; into a shared one it lands there
    body = {"name": "Into other", "severity": "Low", "status": "Open"}
    assert api.post_json(f"/api/v3/cases?owner={OTHER}", body).status_code == 403
    other_owner.members.add(analyst_credential.user)
    created = api.post_json(f"/api/v3/cases?owner={OTHER}", body)
    assert created.status_code == 201, created.json()
    assert created.json()["data"]["owner"] == OTHER
    assert m.Case.objects.get(pk=created.json()["data"]["id"]).owner == other_owner


# ---- TQL subqueries, expansions, bulk delete -----------------------------------------------


@pytest.fixture
def linked(hidden, api) -> int:
    """A case of the analyst's own, associated with the hidden case and holding the hidden
    indicator (links an administrator or a rule could make across owners)."""
    response = api.post_json("/api/v3/cases", {"name": "Mine", "severity": "Low", "status": "Open"})
    mine = m.Case.objects.get(pk=response.json()["data"]["id"])
    mine.associated_cases.add(hidden["case"])
    from cases.services.graph import add_to_case

    add_to_case(mine, [hidden["indicator"]])
    return mine.pk


def test_tql_subqueries_do_not_reveal_hidden_rows(linked, hidden, api, admin_api):
    by_case = 'hasCase(name = "Hidden merger")'
    assert _ids(api, "/api/v3/cases", tql=by_case) == set()
    assert _ids(admin_api, "/api/v3/cases", tql=by_case) == {linked}
    by_intel = f'hasIntelObject(id = "{hidden["indicator_stix_id"]}")'
    assert _ids(api, "/api/v3/cases", tql=by_intel) == set()
    assert linked in _ids(admin_api, "/api/v3/cases", tql=by_intel)
    # and the hidden case's name is no more reachable through a child's subquery
    assert _ids(api, "/api/v3/tasks", tql=by_case) == set()


def test_expansions_leave_out_hidden_rows(linked, hidden, api, admin_api):
    def expanded(client):
        response = client.get(f"/api/v3/cases/{linked}", {"fields": "associatedCases,intelObjects"})
        assert response.status_code == 200, response.json()
        return response.json()["data"]

    mine = expanded(api)
    assert not mine.get("associatedCases", {}).get("data")
    assert not mine.get("intelObjects", {}).get("data")
    theirs = expanded(admin_api)
    assert [c["id"] for c in theirs["associatedCases"]["data"]] == [hidden["case"]]
    assert [o["id"] for o in theirs["intelObjects"]["data"]] == [hidden["indicator_stix_id"]]


def test_bulk_delete_never_reaches_hidden_rows(hidden, api):
    response = api.delete('/api/v3/cases?tql=name = "Hidden merger"')
    assert response.status_code == 200 and response.json()["count"] == 0
    response = api.delete("/api/v3/tasks?tql=id > 0")
    assert response.status_code == 200 and response.json()["count"] == 0
    assert m.Case.objects.filter(pk=hidden["case"]).exists()
    assert m.Task.objects.filter(pk=hidden["task"]).exists()


# ---- writes that name another owner's rows ------------------------------------------------


def test_writes_cannot_attach_to_hidden_rows(hidden, api):
    missing = api.post_json("/api/v3/tasks", {"caseId": 10**9, "name": "t"})
    refused = api.post_json("/api/v3/tasks", {"caseId": hidden["case"], "name": "t"})
    assert missing.status_code == refused.status_code == 400
    assert "not found" in refused.json()["message"]
    case_xid = m.Case.objects.get(pk=hidden["case"]).xid
    assert api.post_json("/api/v3/notes", {"caseXid": case_xid, "text": "x"}).status_code == 400
    assert api.post_json("/api/v3/notes", {"taskId": hidden["task"], "text": "x"}).status_code == (
        400
    )
    base = {"name": "Mine", "severity": "Low", "status": "Open"}
    for extra in (
        {"associatedCases": {"data": [{"id": hidden["case"]}]}},
        {"intelObjects": {"data": [{"id": hidden["indicator_stix_id"]}]}},
        {"workflowTemplate": {"id": hidden["template"]}},
        {"tags": {"data": [{"id": hidden["tag"]}]}},
    ):
        response = api.post_json("/api/v3/cases", {**base, **extra})
        assert response.status_code == 400, (extra, response.json())
    assert not m.Case.objects.filter(name="Mine").exists()


# ---- exports, TAXII-free intel export, notifications, admin ---------------------------------


def test_exports_leave_out_hidden_objects(linked, hidden, api, admin_api):
    stix_ids = {o["id"] for o in api.get(f"/api/v3/cases/{linked}/stix").json()["objects"]}
    assert hidden["indicator_stix_id"] not in stix_ids
    admin_ids = {o["id"] for o in admin_api.get(f"/api/v3/cases/{linked}/stix").json()["objects"]}
    assert hidden["indicator_stix_id"] in admin_ids
    graph = api.get(f"/api/v3/cases/{linked}/graph").json()["data"]
    assert hidden["indicator_stix_id"] not in {n["id"] for n in graph["nodes"]}
    bundle = api.get("/api/v3/intel/bundles", {"id": hidden["indicator_stix_id"]}).json()
    assert bundle["objects"] == []
    bundle = api.get("/api/v3/intel/bundles", {"caseId": hidden["case"]}).json()
    assert bundle["objects"] == []


def test_notifications_only_about_visible_cases(hidden, api, analyst_credential):
    trigger = Trigger.objects.create(
        user=analyst_credential.user, name="all cases", events=["case.created"]
    )
    mine = api.post_json("/api/v3/cases", {"name": "Mine", "severity": "Low", "status": "Open"})

    def event(case_id: int) -> Event:
        return Event(kind="case.created", object_type="x-cti-case", object_id=case_id, data={})

    assert trigger_matches(trigger, event(mine.json()["data"]["id"]))
    assert not trigger_matches(trigger, event(hidden["case"]))


def test_admin_pages_show_staff_only_their_owners_rows(hidden, client, analyst_credential):
    from django.contrib.auth.models import Permission

    user = analyst_credential.user
    user.is_staff = True
    user.save()
    user.user_permissions.add(*Permission.objects.filter(content_type__app_label="cases"))
    client.force_login(user)
    mine = m.Case.objects.create(
        name="Mine in admin", severity="Low", case_open_time="2025-01-01T00:00Z", owner=user.owner
    )
    listing = client.get("/admin/cases/case/")
    assert listing.status_code == 200
    assert b"Mine in admin" in listing.content and b"Hidden merger" not in listing.content
    assert client.get(f"/admin/cases/case/{mine.pk}/change/").status_code == 200
    hidden_page = client.get(f"/admin/cases/case/{hidden['case']}/change/")
    assert hidden_page.status_code == 302  # Django's "does not exist" redirect
    assert client.get("/admin/cases/task/").content.count(b"Hidden task") == 0


def test_owners_endpoint_lists_visible_ones(other_owner, api, admin_api, analyst_credential):
    home = default_owner()
    assert {o["name"] for o in api.get("/api/v3/security/owners").json()["data"]} == {home.name}
    assert api.get(f"/api/v3/security/owners/{other_owner.pk}").status_code == 404
    assert api.post_json("/api/v3/security/owners", {"name": "Mine"}).status_code == 403
    listed = admin_api.get("/api/v3/security/owners").json()["data"]
    assert {o["name"] for o in listed} == {home.name, OTHER}
    created = admin_api.post_json("/api/v3/security/owners", {"name": "ISAC", "type": "Community"})
    assert created.status_code == 201, created.json()
    assert created.json()["data"] == {
        "id": created.json()["data"]["id"],
        "name": "ISAC",
        "type": "Community",
    }
    duplicate = admin_api.post_json("/api/v3/security/owners", {"name": "ISAC"})
    assert duplicate.status_code == 400 and duplicate.json()["status"] == "Error"
    bad_type = admin_api.post_json("/api/v3/security/owners", {"name": "X", "type": "Club"})
    assert bad_type.status_code == 400
    Owner.objects.get(name="ISAC").members.add(analyst_credential.user)
    names = {
        o["name"]
        for o in api.get("/api/v3/security/owners", {"tql": 'type = "Community"'}).json()["data"]
    }
    assert names == {"ISAC"}


def test_inferences_are_visible_only_to_who_sees_their_facts(other_owner, api, admin_api):
    """sighting_incident infers an incident (no owner) from each owner's sighting: the analyst
    sees the one drawn from the home organisation's facts, not the other one; an administrator
    sees both."""
    from rules.definitions import RULES_BY_ID
    from rules.engine import engine_writes, evaluate
    from tests.rules.graphs import identity, sighting

    sightings = {}
    for owner, key in ((default_owner(), "home"), (other_owner, "other")):
        ind, org = indicator(f"inc-{key}"), identity(f"victim-{key}")
        sightings[key] = sighting(ind, org)["id"]
        assert not import_objects([ind, org, sighting(ind, org)], owner=owner).rejected
    with engine_writes():
        evaluate([RULES_BY_ID["sighting_incident"]])
    incidents = {
        o.stix_id: o for o in StixObject.objects.filter(type="incident", owner__isnull=True)
    }
    assert len(incidents) == 2

    def listed(client) -> set[str]:
        response = client.get("/api/v3/intel/objects", {"tql": 'type = "incident"'})
        assert response.status_code == 200, response.json()
        return {o["id"] for o in response.json()["data"]}

    from_home = Explanation.objects.filter(
        node__type="incident", source_rows__node__stix_id=sightings["home"]
    ).values_list("node__stix_id", flat=True)
    mine = listed(api)
    assert mine == set(from_home) and len(mine) == 1
    assert listed(admin_api) == set(incidents)
    hidden = (set(incidents) - mine).pop()
    assert api.get(f"/api/v3/intel/objects/{hidden}").status_code == 404
