"""TQL at the HTTP boundary: the strings tcex sends (reference §7.2), error responses,
``OPTIONS /v3/<endpoint>/tql`` and ``sorting=``."""

import pytest

import cases.resources  # noqa: F401 - registers the case-management TQL schemas
import cti.security.resources  # noqa: F401 - registers the users TQL schema
from cases import models as m
from cti.security.services import default_owner
from cti.tql import registry
from tests.api.conftest import at, endpoint_path

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
    "users",
]

# Reference §7.2: every string tcex generates, on its endpoint (cases unless noted).
REFERENCE_STRINGS = [
    ("cases", 'name = "My Case"'),
    ("cases", 'status = "Open" and severity IN ("High","Critical")'),
    ("cases", "id = 12"),
    ("cases", "id IN (1,2,3)"),
    ("cases", 'name NOT IN ("a","b")'),
    ("cases", 'hasTask(status = "Open")'),
    ("cases", 'hasTask(id = 7) and hasArtifact(summary CONTAINS "bad")'),
    ("cases", 'hasTask(hasArtifact(type = "Host"))'),
    ("cases", 'hasTag(name = "x")'),
    ("cases", "detectionOverdue = False"),
    ("cases", 'dateAdded > "2024-01-01 00:00:00"'),
    ("cases", 'caseOpenTime >= "2023-02-01 00:00:00"'),
    ("cases", 'tag = "Phishing" and name STARTSWITH "Ph"'),
    ("cases", "hasWorkflowTemplate = 5"),
    ("tasks", "caseId = 3 and required = True and workflowPhase = 1"),
    ("artifacts", 'caseId = 3 and type = "Host"'),
    ("artifacts", "hasNote(artifactId = 9)"),
    ("notes", 'taskId = 4 and lastModified < "2024-05-01 10:00:00"'),
    ("workflowEvents", "caseId = 3 and systemGenerated = False"),
    ("artifactTypes", 'intelType = "indicator-Host" and active = True'),
    ("workflowTemplates", 'name LIKE "%Phish%"'),
    # raw TQL passed through, child listings and documentation samples
    ("cases", 'name = "x" or (status = "Closed")'),
    ("tasks", "hasCase(id = 5)"),
    ("notes", "hasCase(id = 5)"),
    ("artifacts", "hasCase(id = 5)"),
    ("tags", "hasCase(id = 5)"),
    ("caseAttributes", "hasCase(id = 5)"),
    ("artifacts", "hasTask(id = 3)"),
    ("notes", "hasTask(id = 3)"),
    ("notes", "hasArtifact(id = 4)"),
    ("cases", 'dateAdded >= "2021-04-01" and dateAdded < "2021-04-30"'),
    ("cases", 'caseOpenTime GEQ "2023-02-01" and caseOpenTime LEQ "2023-02-28"'),
    ("tags", "techniqueId is not null"),
]


@pytest.mark.parametrize(("endpoint", "tql"), REFERENCE_STRINGS)
def test_reference_string_is_accepted(world, api, endpoint, tql):
    response = api.get(endpoint_path(endpoint), {"tql": tql})
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "Success"


def test_reference_child_listing_returns_the_children(world, tql_ids):
    case_a = world.ids["cases"]["A"]
    assert tql_ids("tasks", f"hasCase(id = {case_a})") == [world.ids["tasks"]["A"]]
    assert tql_ids("notes", f"hasCase(id = {case_a})") == [world.ids["notes"]["A"]]
    assert tql_ids("tags", f"hasCase(id = {case_a})") == [world.ids["tags"]["A"]]
    artifact_a = world.ids["artifacts"]["A"]
    assert tql_ids("notes", f"hasArtifact(id = {artifact_a})") == [world.ids["notes"]["A"]]


# (endpoint, tql, text the error message must contain)
INVALID = [
    ("cases", 'nme = "x"', "'nme'"),
    ("cases", 'name > "x"', "'>'"),
    ("cases", 'calScore CONTAINS "1"', "'CONTAINS'"),
    ("cases", 'id = "abc"', '"abc"'),
    ("cases", "id = 1.5", "1.5"),
    ("cases", 'status = "Pending"', "Pending"),
    ("cases", 'detectionOverdue = "maybe"', "maybe"),
    ("cases", 'caseOpenTime > "yesterday"', "yesterday"),
    ("cases", "assignedToUserOrGroup = me", "'me'"),
    ("cases", 'name === "x"', "'='"),
    ("cases", 'name = "x" foo', "'foo'"),
    ("cases", "name IN ()", "')'"),
    ("cases", 'name = "x" and', "end of query"),
    ("cases", "name(id = 1)", "'name'"),
    ("cases", "hasTask(nosuch = 1)", "'nosuch'"),
    ("cases", 'hasTask(hasCase(severity = "Extreme"))', "Extreme"),
    ("tasks", 'status = "Bogus"', "Bogus"),
    ("tags", "unknownKeyword IS NULL", "'unknownKeyword'"),
    ("users", "disabled = me", "'me'"),
]


@pytest.mark.parametrize(("endpoint", "tql", "token"), INVALID)
def test_invalid_tql_is_a_400_tql_error(api, endpoint, tql, token):
    response = api.get(endpoint_path(endpoint), {"tql": tql})
    body = response.json()
    assert response.status_code == 400, body
    assert body["status"] == "Error"
    assert body["errCode"] == "0x2001"
    assert token in body["message"]


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_options_tql_lists_every_keyword(api, endpoint):
    response = api.options(f"{endpoint_path(endpoint)}/tql")
    assert response.status_code == 200
    body = response.json()
    schema = registry.get(endpoint)
    assert body["status"] == "Success"
    assert body["data"] == schema.describe()
    assert body["count"] == len(schema.keywords)
    assert {row["keyword"] for row in body["data"]} == {k.name for k in schema.keywords}


# Reference §7.3 keywords per endpoint, and those this clone has no data for.
REFERENCE_KEYWORDS = {
    "cases": """assignedToUserOrGroup assigneeName attackTag calScore caseCloseDate
        caseCloseTime caseCloseUser caseDetectionTime caseDetectionUser caseOccurrenceTime
        caseOccurrenceUser caseOpenDate caseOpenTime caseOpenUser createdBy createdById
        dateAdded description detectionDue detectionOverdue hasAllTags hasArtifact hasCase
        hasGroup hasIndicator hasNote hasTag hasTask hasWorkflowTemplate id idAsString
        lastUpdated missingArtifactCount name owner ownerName resolution responseDue
        responseOverdue severity status tag targetId targetType threatAssessScore
        timeToDetect timeToRespond typeName xid""",
    "tasks": """assignedToUserOrGroup assigneeName automated caseId caseIdAsString
        caseSeverity completedBy completedDate description dueDate hasArtifact hasCase
        hasNote id missingArtifactCount name owner ownerName required status targetId
        targetType workflowPhase workflowStep xid""",
    "artifacts": """analyticsScore caseId dateAdded hasCase hasGroup hasIndicator hasNote
        hasTask id indicatorActive noteId source summary taskId type typeName""",
    "notes": """artifactId author caseId data dateAdded hasArtifact hasCase hasTask id
        lastModified summary taskId workflowEventId""",
    "workflowEvents": """caseId dateAdded deleted deletedReason eventDate id link summary
        systemGenerated userName""",
    "workflowTemplates": "active description id name owner ownerName targetId targetType version",
    "artifactTypes": "active dataType description id intelType managed name",
    "tags": """associatedCase associatedGroup associatedIndicator associatedVictim caseId
        description financialRisk financialRiskScore financialRiskValue hasCase hasGroup
        hasIndicator hasVictim id lastUsed name owner ownerName securityCoverage summary
        techniqueId""",
    "caseAttributes": """caseId dateAdded dateVal default displayed hasCase id intVal
        lastModified maxSize owner ownerName pinned shortText source text type typeName
        user""",
    "users": """disabled firstName groupId id jobFunction jobRole lastLogin lastName
        lastPasswordChange locked passwordResetRequired pseudonym systemRole termsAccepted
        termsAcceptedDate tqlTimeout userName""",
}
MISSING = {
    "cases": "hasAllTags hasGroup hasIndicator missingArtifactCount",
    "tasks": "missingArtifactCount",
    "artifacts": "analyticsScore hasGroup hasIndicator indicatorActive",
    "tags": """associatedGroup associatedIndicator associatedVictim financialRisk
        financialRiskScore financialRiskValue hasGroup hasIndicator hasVictim
        securityCoverage""",
    "caseAttributes": "dateVal displayed intVal shortText",
}


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_reference_keywords_are_declared(endpoint):
    declared = {k.name for k in registry.get(endpoint).keywords}
    missing = set(MISSING.get(endpoint, "").split())
    assert set(REFERENCE_KEYWORDS[endpoint].split()) - missing - declared == set()
    assert missing & declared == set(), "a keyword listed as missing is now declared"


@pytest.fixture
def sort_cases(analyst):
    owner = default_owner()
    rows = [("Low", "s-c"), ("High", "s-a"), ("Low", "s-z"), ("High", "s-b"), ("Medium", "s-m")]
    return {
        name: m.Case.objects.create(
            name=name, severity=severity, case_open_time=at("2024-01-01"), owner=owner
        ).pk
        for severity, name in rows
    }


def test_sorting_by_several_keys(sort_cases, tql_ids):
    ids = tql_ids("cases", 'name STARTSWITH "s-"', sorting="severity asc name desc")
    names = {pk: name for name, pk in sort_cases.items()}
    assert [names[pk] for pk in ids] == ["s-b", "s-a", "s-z", "s-c", "s-m"]
    ids = tql_ids("cases", 'name STARTSWITH "s-"', sorting="severity desc,name asc")
    assert [names[pk] for pk in ids] == ["s-m", "s-c", "s-z", "s-a", "s-b"]


@pytest.mark.parametrize("sorting", ["nosuch asc", "name asc nosuch desc", "tag asc", "hasTask"])
def test_bad_sort_key_is_a_400(api, sorting):
    response = api.get("/api/v3/cases", {"sorting": sorting})
    body = response.json()
    assert response.status_code == 400, body
    assert body["status"] == "Error"
    assert body["errCode"] == "0x1001"
