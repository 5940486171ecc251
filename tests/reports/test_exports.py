"""STIX, timeline and graph exports of a real case."""

import csv
import io
import xml.etree.ElementTree as ET

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from stix2validator import ValidationOptions, validate_instance

from cti.security.choices import SystemRoleChoices
from cti.security.services import api_user_create
from tests.conftest import V3Client
from tests.reports.conftest import CASE_NAME, IDS, TECHNIQUE

pytestmark = pytest.mark.django_db

SVG = "{http://www.w3.org/2000/svg}"


# ---- STIX ---------------------------------------------------------------------------------


def test_stix_bundle_of_the_case_validates_and_holds_its_contents(api, story):
    response = api.get(f"/api/v3/cases/{story.case['id']}/stix")
    assert response.status_code == 200, response.json()
    bundle = response.json()
    result = validate_instance(bundle, ValidationOptions(version="2.1"))
    assert result.is_valid, [str(e) for e in result.errors]
    by_id = {o["id"]: o for o in bundle["objects"]}
    assert len(by_id) == len(bundle["objects"])  # each object once
    grouping = next(o for o in bundle["objects"] if o["type"] == "grouping")
    assert grouping["name"] == CASE_NAME
    assert (grouping["x_cti_severity"], grouping["x_cti_priority"]) == ("High", "P2")
    tasks = {t["name"]: t["status"] for t in grouping["x_cti_tasks"]}
    assert tasks == {"Triage the mailbox": "Closed", "Block the sender": "Open"}
    # both artifacts stand for observables (the subject for an email-message)
    assert "x_cti_artifacts" not in grouping
    subject = next(o for o in bundle["objects"] if o["type"] == "email-message")
    assert subject["subject"] == "Invoice 4711 overdue"
    # the members, the Host artifact's observable, and what they reference, all present
    for key in ("intrusion-set", "threat-actor", "attack-pattern", "indicator", "identity"):
        assert IDS[key] in grouping["object_refs"]
        assert IDS[key] in by_id
    domain = next(o for o in bundle["objects"] if o["type"] == "domain-name")
    assert domain["value"] == "paper-cut.example"
    assert domain["id"] in grouping["object_refs"]
    for ref in grouping["object_refs"]:
        assert ref in by_id
    assert by_id[grouping["created_by_ref"]]["type"] == "identity"
    notes = [o for o in bundle["objects"] if o["type"] == "note"]
    assert [n["object_refs"] for n in notes] == [[grouping["id"]]]
    assert "user clicked the invoice link" in notes[0]["content"]
    assert not any(o["type"] == "x-cti-case" for o in bundle["objects"])


def test_stix_bundle_of_an_empty_case_validates(api, make_case):
    case = make_case(name="Empty")
    bundle = api.get(f"/api/v3/cases/{case['id']}/stix").json()
    result = validate_instance(bundle, ValidationOptions(version="2.1"))
    assert result.is_valid, [str(e) for e in result.errors]
    assert [o["type"] for o in bundle["objects"]] == ["grouping", "identity"]


# ---- timeline -----------------------------------------------------------------------------


EXPECTED_TIMELINE = [
    ("system", "Case created"),
    ("system", "Task added: Triage the mailbox"),
    ("system", "Task added: Block the sender"),
    ("artifact", "Host: paper-cut.example"),
    ("artifact", "Email Subject: Invoice 4711 overdue"),
    ("task_completed", "Task completed: Triage the mailbox"),
    ("note", '=HYPERLINK("x") user clicked the invoice link'),
]


def test_timeline_json_is_ordered_and_complete(api, story):
    response = api.get(f"/api/v3/cases/{story.case['id']}/timeline")
    assert response.status_code == 200, response.json()
    body = response.json()
    entries = body["data"]
    assert body["count"] == len(entries)
    got = [(e["kind"], e["summary"]) for e in entries]
    # system events of other kinds (e.g. assignment) may sit in between; ours keep their order
    assert [g for g in got if g in EXPECTED_TIMELINE] == EXPECTED_TIMELINE
    assert len(set(got)) == len(got)  # no entry twice (note/artifact/completion events merged)
    dates = [e["date"] for e in entries]
    assert dates == sorted(dates)
    assert {e["user"] for e in entries if e["kind"] in ("artifact", "note")} == {
        "analyst@example.com"
    }
    completed = next(e for e in entries if e["kind"] == "task_completed")
    assert completed["user"] == "analyst@example.com"
    assert completed["link"] == f"/api/v3/tasks/{story.tasks['Triage the mailbox']['id']}"


def test_timeline_csv_matches_json_and_defuses_formulas(api, story):
    case_id = story.case["id"]
    entries = api.get(f"/api/v3/cases/{case_id}/timeline?format=json").json()["data"]
    response = api.get(f"/api/v3/cases/{case_id}/timeline?format=csv")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8"))))
    assert rows[0] == ["date", "kind", "summary", "user", "link"]
    assert [r[:2] for r in rows[1:]] == [[e["date"], e["kind"]] for e in entries]
    note = next(r for r in rows if r[1] == "note")
    assert note[2] == "'" + '=HYPERLINK("x") user clicked the invoice link'


def test_bad_format_is_a_400_in_the_envelope(api, story):
    for path in ("timeline?format=xml", "graph?format=png"):
        response = api.get(f"/api/v3/cases/{story.case['id']}/{path}")
        assert response.status_code == 400
        assert response.json()["status"] == "Error"
        assert "format must be one of" in response.json()["message"]


# ---- graph --------------------------------------------------------------------------------


def test_graph_json_marks_inferred_edges(api, story):
    response = api.get(f"/api/v3/cases/{story.case['id']}/graph?format=json")
    assert response.status_code == 200, response.json()
    graph = response.json()["data"]
    nodes = {n["id"]: n for n in graph["nodes"]}
    for key in ("intrusion-set", "threat-actor", "attack-pattern", "indicator", "identity"):
        assert nodes[IDS[key]]["member"] is True
    assert nodes[IDS["attack-pattern"]]["name"] == TECHNIQUE
    edges = {(e["source"], e["type"], e["target"]): e for e in graph["edges"]}
    asserted = edges[(IDS["intrusion-set"], "uses", IDS["attack-pattern"])]
    inferred = edges[(IDS["threat-actor"], "uses", IDS["attack-pattern"])]
    assert (asserted["inferred"], inferred["inferred"]) == (False, True)
    assert edges[(IDS["intrusion-set"], "attributed-to", IDS["threat-actor"])]["inferred"] is False
    sighting = edges[(IDS["indicator"], "sighted-in", IDS["identity"])]
    assert (sighting["kind"], sighting["count"]) == ("sighting", 3)
    assert [e for e in graph["edges"] if e["inferred"]] == [inferred]
    assert graph["truncated"] is False


def test_graph_svg_draws_inferred_edges_dashed_and_labelled(api, story):
    response = api.get(f"/api/v3/cases/{story.case['id']}/graph?format=svg")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/svg+xml"
    root = ET.fromstring(response.content)
    assert root.tag == f"{SVG}svg"
    paths = root.findall(f"{SVG}path[@class]")
    dashed = [p for p in paths if p.get("stroke-dasharray")]
    solid = [p for p in paths if not p.get("stroke-dasharray")]
    assert len(dashed) == 1 and "inferred" in dashed[0].get("class")
    assert len(solid) == 3  # uses, attributed-to, sighted-in
    labels = [t.text for t in root.iter(f"{SVG}text")]
    assert "uses (inferred)" in labels
    assert labels.count("uses") == 1
    assert TECHNIQUE in labels and "Tiger Syndicate" in labels
    # deterministic: the same graph, the same picture
    again = api.get(f"/api/v3/cases/{story.case['id']}/graph?format=svg")
    assert again.content == response.content


def test_graph_of_a_case_without_objects(api, make_case):
    case = make_case(name="Nothing")
    graph = api.get(f"/api/v3/cases/{case['id']}/graph").json()["data"]
    assert (graph["nodes"], graph["edges"]) == ([], [])
    svg = api.get(f"/api/v3/cases/{case['id']}/graph?format=svg")
    assert b"No graph objects" in svg.content


def test_graph_is_truncated_beyond_the_limit(api, build_case, settings):
    story = build_case(intel=False, extra=6)
    settings.CTI_REPORT_GRAPH_MAX_NODES = 4
    graph = api.get(f"/api/v3/cases/{story.case['id']}/graph").json()["data"]
    assert graph["truncated"] is True
    assert len(graph["nodes"]) == 4


# ---- access and query counts --------------------------------------------------------------


EXPORTS = ("stix", "timeline", "timeline?format=csv", "graph", "graph?format=svg", "reports")


def test_hidden_case_is_404_for_every_export(api, admin_api, story):
    case_id = story.case["id"]
    report = api.post_json(f"/api/v3/cases/{case_id}/reports", {"format": "pdf"}).json()["data"]
    api_user_create("other@example.com", role=SystemRoleChoices.ANALYST)
    response = admin_api.put_json(
        f"/api/v3/cases/{case_id}",
        {"userAccess": {"data": [{"userName": "other@example.com"}], "mode": "replace"}},
    )
    assert response.status_code == 200, response.json()
    reports = (f"reports/{report['id']}", f"reports/{report['id']}/download")
    for path in (*EXPORTS, *reports):
        response = api.get(f"/api/v3/cases/{case_id}/{path}")
        assert response.status_code == 404, path
        assert response.json()["status"] == "Error"
    assert api.post_json(f"/api/v3/cases/{case_id}/reports", {"format": "pdf"}).status_code == 404
    # administrators still see it
    assert admin_api.get(f"/api/v3/cases/{case_id}/graph").status_code == 200
    assert admin_api.get(f"/api/v3/cases/{case_id}/{reports[0]}").status_code == 200


def test_missing_case_and_anonymous(api, anon_api, story):
    assert api.get("/api/v3/cases/999999/stix").status_code == 404
    for bad in ("9999999999999999999999", "-1", "abc"):
        response = api.get(f"/api/v3/cases/{bad}/timeline")
        assert response.status_code == 404
        assert response.json()["errCode"] == "0x1004"
    assert api.get(f"/api/v3/cases/{story.case['id']}/reports/x").status_code == 404
    for path in ("stix", "graph", "reports/1", "reports"):
        response = anon_api.get(f"/api/v3/cases/-1/{path}")
        assert response.status_code == 401, path
        assert response.json()["status"] == "Error"


def _queries(client: V3Client, path: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(path)
    assert response.status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize("path", ["timeline", "timeline?format=csv", "graph", "graph?format=svg"])
def test_json_exports_run_a_constant_number_of_queries(
    api, build_case, path, django_assert_max_num_queries
):
    small = build_case("small", extra=1)
    big = build_case("big", extra=25)
    few = _queries(api, f"/api/v3/cases/{small.case['id']}/{path}")
    with django_assert_max_num_queries(few):
        api.get(f"/api/v3/cases/{big.case['id']}/{path}")
    assert few <= 12


def test_stix_export_queries_do_not_grow_with_the_case(api, build_case):
    small = build_case("small", extra=1)
    big = build_case("big", extra=25)
    few = _queries(api, f"/api/v3/cases/{small.case['id']}/stix")
    many = _queries(api, f"/api/v3/cases/{big.case['id']}/stix")
    assert many <= few
