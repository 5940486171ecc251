"""Every declared TQL keyword of every endpoint, through ``GET /api/v3/<endpoint>?tql=``.

Each case is ``(endpoint, keyword, tql, expected labels)`` over the ``world`` data set
(tests/api/conftest.py): the API must return exactly the expected rows, and every keyword has
at least one case that matches some labelled rows and not others.
"""

import pytest

import cases.resources  # noqa: F401 - registers the case-management TQL schemas
import cti.security.resources  # noqa: F401 - registers the users TQL schema
from cases import models as m
from cti.security.models import User
from cti.tql import registry

A, B, C = "A", "B", "C"

KEYWORD_CASES: list[tuple[str, str, str, set[str]]] = [
    # --- cases ----------------------------------------------------------------------------
    ("cases", "assignedToUserOrGroup", 'assignedToUserOrGroup = "User"', {A}),
    ("cases", "assignedToUserOrGroup", 'assignedToUserOrGroup = "none"', {C}),
    ("cases", "assignedToUserOrGroup", 'assignedToUserOrGroup NOT IN ("User")', {B, C}),
    ("cases", "assignedToUserOrGroup", 'assignedToUserOrGroup LIKE "gr%"', {B}),
    ("cases", "assignedToMe", "assignedToMe = true", {A}),
    ("cases", "assignedToMe", "assignedToMe = false", {B, C}),
    ("cases", "assignee", "assignee = me", {A}),
    ("cases", "assignee", 'assignee = "analyst@example.com"', {A}),
    ("cases", "assigneeName", 'assigneeName = "SOC"', {B}),
    ("cases", "assigneeName", "assigneeName = me", {A}),
    ("cases", "assigneeName", 'assigneeName STARTSWITH "ANALYST"', {A}),
    ("cases", "assigneeName", 'assigneeName IN ("SOC", me)', {A, B}),
    ("cases", "assigneeName", 'assigneeName != "SOC"', {A, C}),
    ("cases", "assigneeName", "assigneeName IS NULL", {C}),
    ("cases", "assigneeName", "assigneeName IS NOT NULL", {A, B}),
    ("cases", "attackTag", 'attackTag = "T1566"', {A}),
    ("cases", "calScore", "calScore = 10", {A}),
    ("cases", "caseCloseDate", 'caseCloseDate = "2024-03-05"', {B}),
    ("cases", "caseCloseTime", 'caseCloseTime > "2024-03-01"', {B}),
    ("cases", "caseCloseUser", 'caseCloseUser = "bob"', {B}),
    ("cases", "caseDetectionTime", 'caseDetectionTime < "2024-03-01"', {B}),
    ("cases", "caseDetectionUser", 'caseDetectionUser = "bob"', {B}),
    ("cases", "caseOccurrenceTime", 'caseOccurrenceTime = "2024-01-09"', {A}),
    ("cases", "caseOccurrenceUser", "caseOccurrenceUser = me", {A}),
    ("cases", "caseOpenDate", 'caseOpenDate = "2024-06-01"', {C}),
    (
        "cases",
        "caseOpenTime",
        'caseOpenTime >= "2024-03-01" and caseOpenTime < "2024-06-01"',
        {B},
    ),
    ("cases", "caseOpenUser", "caseOpenUser = me", {A}),
    ("cases", "createdBy", 'createdBy = "bob"', {B}),
    ("cases", "createdById", "createdById = {users.analyst}", {A}),
    ("cases", "createdById", "createdById = me", {A}),
    ("cases", "dateAdded", 'dateAdded > "2024-05-01"', {C}),
    ("cases", "description", 'description CONTAINS "laptop"', {B}),
    ("cases", "detailedStatus", 'detailedStatus = "Contained"', {A}),
    ("cases", "detailedStatus", 'detailedStatus IN ("Contained", "Triage")', {A, B}),
    ("cases", "detailedStatus", "detailedStatus IS NULL", {C}),
    ("cases", "detectionDue", 'detectionDue = "2024-01-10"', {A}),
    ("cases", "detectionOverdue", "detectionOverdue = true", {A}),
    ("cases", "detectionOverdue", "detectionOverdue = False", {B, C}),
    ("cases", "detectionOverdue", "detectionOverdue != true", {B, C}),
    ("cases", "detectionOverdue", "NOT detectionOverdue = false", {A}),
    ("cases", "detectionOverdue", "detectionOverdue IS NULL", set()),
    ("cases", "hasArtifact", 'hasArtifact(type = "Host")', {A}),
    ("cases", "hasArtifact", "hasArtifact = {artifacts.B}", {B}),
    ("cases", "hasCase", 'hasCase(name = "Bravo malware")', {A}),
    ("cases", "hasNote", 'hasNote(data CONTAINS "proxy")', {A}),
    ("cases", "hasTag", 'hasTag(name = "Malware")', {B}),
    ("cases", "hasTask", 'hasTask(status = "Pending")', {C}),
    ("cases", "hasWorkflowTemplate", "hasWorkflowTemplate = {workflowTemplates.A}", {A}),
    ("cases", "id", "id = {cases.B}", {B}),
    ("cases", "idAsString", 'idAsString = "{cases.B}"', {B}),
    ("cases", "idAsString", 'idAsString IN ("{cases.A}", "x")', {A}),
    ("cases", "idAsString", 'idAsString STARTSWITH "{cases.C}"', {C}),
    ("cases", "idAsString", 'idAsString != "{cases.C}"', {A, B}),
    ("cases", "idAsString", 'idAsString = "abc"', set()),
    ("cases", "lastUpdated", 'lastUpdated = "2024-03-01"', {B}),
    ("cases", "name", 'name = "Charlie"', {C}),
    ("cases", "owner", "owner = {owners.other}", {B}),
    ("cases", "ownerName", 'ownerName = "Other Org"', {B}),
    ("cases", "resolution", 'resolution = "False Positive"', {B}),
    ("cases", "responseDue", 'responseDue < "2024-02-01"', {A}),
    ("cases", "responseOverdue", "responseOverdue = true", {A}),
    ("cases", "responseOverdue", "responseOverdue = false", {B, C}),
    ("cases", "severity", 'severity = "medium"', {C}),
    ("cases", "status", 'status = "closed"', {B}),
    ("cases", "tag", 'tag = "Phishing"', {A}),
    ("cases", "tag", 'tag != "Phishing"', {B, C}),
    ("cases", "tag", "tag IS NULL", {C}),
    ("cases", "targetId", "targetId = {groups.SOC}", {B}),
    ("cases", "targetId", "targetId = me", {A}),
    ("cases", "targetId", "targetId IN ({groups.SOC}, me)", {A, B}),
    ("cases", "targetId", "targetId IS NULL", {C}),
    ("cases", "targetType", 'targetType = "Group"', {B}),
    ("cases", "threatAssessScore", "threatAssessScore >= 150", {B}),
    ("cases", "timeToDetect", "timeToDetect = 86400", {B}),
    ("cases", "timeToRespond", "timeToRespond > 0", {B}),
    ("cases", "typeName", 'typeName = "Incident Response"', {A}),
    ("cases", "caseType", 'caseType = "request for takedown"', {B}),
    ("cases", "caseType", "caseType IS NULL", set()),
    ("cases", "priority", 'priority IN ("P1", "P2")', {A}),
    ("cases", "hasIntelObject", 'hasIntelObject(value = "a.example.com")', {A}),
    ("cases", "hasIntelObject", 'hasIntelObject(type = "domain-name")', {A}),
    ("cases", "xid", 'xid = "case-c"', {C}),
    # --- tasks ----------------------------------------------------------------------------
    ("tasks", "assignedToUserOrGroup", 'assignedToUserOrGroup = "None"', {C}),
    ("tasks", "assignedToMe", "assignedToMe != true", {B, C}),
    ("tasks", "assignee", "assignee = me", {A}),
    ("tasks", "assignee", "assignee != me", {B, C}),
    ("tasks", "assigneeName", 'assigneeName = "SOC"', {B}),
    ("tasks", "automated", "automated = true", {B}),
    ("tasks", "caseId", "caseId = {cases.A}", {A}),
    ("tasks", "caseIdAsString", 'caseIdAsString = "{cases.B}"', {B}),
    ("tasks", "caseIdAsString", 'caseIdAsString STARTSWITH "{cases.C}"', {C}),
    ("tasks", "caseSeverity", 'caseSeverity = "High"', {A}),
    ("tasks", "completedBy", 'completedBy = "bob"', {B}),
    ("tasks", "completedDate", 'completedDate = "2024-03-03"', {B}),
    ("tasks", "completedDate", "completedDate IS NULL", {A, C}),
    ("tasks", "description", 'description CONTAINS "scanner"', {B}),
    ("tasks", "dueDate", 'dueDate < "2024-02-01"', {A}),
    ("tasks", "hasArtifact", 'hasArtifact(summary = "bad.example.com")', {A}),
    ("tasks", "hasCase", "hasCase(id = {cases.B})", {B}),
    ("tasks", "hasNote", 'hasNote(author = "bob")', {B}),
    ("tasks", "id", "id = {tasks.C}", {C}),
    ("tasks", "name", 'name STARTSWITH "Collect"', {A}),
    ("tasks", "owner", "owner = {owners.other}", {B}),
    ("tasks", "ownerName", 'ownerName = "Other Org"', {B}),
    ("tasks", "required", "required = true", {A}),
    ("tasks", "status", 'status = "pending"', {C}),
    ("tasks", "targetId", "targetId = {groups.SOC}", {B}),
    ("tasks", "targetType", 'targetType = "User"', {A}),
    ("tasks", "workflowPhase", "workflowPhase = 2", {B}),
    ("tasks", "workflowStep", "workflowStep = 3", {B}),
    ("tasks", "xid", 'xid = "task-a"', {A}),
    # --- artifacts ------------------------------------------------------------------------
    ("artifacts", "caseId", "caseId = {cases.B}", {B}),
    ("artifacts", "dateAdded", 'dateAdded < "2024-02-01"', {A}),
    ("artifacts", "derivedLink", "derivedLink = true", {A}),
    ("artifacts", "hasCase", 'hasCase(status = "Closed")', {B}),
    ("artifacts", "hasNote", 'hasNote(data CONTAINS "proxy")', {A}),
    ("artifacts", "hasNote", "hasNote(artifactId = {artifacts.A})", {A}),
    ("artifacts", "hasTask", 'hasTask(name = "Collect headers")', {A}),
    ("artifacts", "id", "id = {artifacts.B}", {B}),
    ("artifacts", "intelType", 'intelType = "indicator-URL"', {B}),
    ("artifacts", "noteId", "noteId = {notes.A}", {A}),
    ("artifacts", "noteId", "noteId IS NULL", {B}),
    ("artifacts", "source", 'source = "proxy"', {B}),
    ("artifacts", "summary", 'summary ENDSWITH ".com"', {A}),
    ("artifacts", "taskId", "taskId = {tasks.A}", {A}),
    ("artifacts", "taskId", "taskId IS NULL", {B}),
    ("artifacts", "type", 'type = "URL"', {B}),
    ("artifacts", "typeName", 'typeName = "Host"', {A}),
    # --- notes ----------------------------------------------------------------------------
    ("notes", "artifactId", "artifactId = {artifacts.A}", {A}),
    ("notes", "author", "author = me", {A}),
    ("notes", "caseId", "caseId = {cases.B}", {B}),
    ("notes", "data", 'data CONTAINS "clean"', {B}),
    ("notes", "dateAdded", 'dateAdded = "2024-01-11"', {A}),
    ("notes", "hasArtifact", 'hasArtifact(type = "Host")', {A}),
    ("notes", "hasCase", 'hasCase(name = "Bravo malware")', {B}),
    ("notes", "hasTask", 'hasTask(status = "Closed")', {B}),
    ("notes", "id", "id = {notes.A}", {A}),
    ("notes", "lastModified", 'lastModified < "2024-02-01"', {A}),
    ("notes", "owner", "owner = {owners.other}", {B}),
    ("notes", "summary", 'summary STARTSWITH "Host"', {A}),
    ("notes", "taskId", "taskId = {tasks.B}", {B}),
    ("notes", "workflowEventId", "workflowEventId = {workflowEvents.B}", {B}),
    # --- caseOpinions ---------------------------------------------------------------------
    ("caseOpinions", "author", "author = me", {A}),
    ("caseOpinions", "author", 'author = "bob"', {B, C}),
    ("caseOpinions", "caseId", "caseId = {cases.A}", {A, B}),
    ("caseOpinions", "id", "id = {caseOpinions.C}", {C}),
    ("caseOpinions", "opinion", 'opinion = "agree"', {A}),
    ("caseOpinions", "opinion", 'opinion IN ("disagree", "strongly-agree")', {B, C}),
    # --- caseStatusTemplates --------------------------------------------------------------
    ("caseStatusTemplates", "caseType", 'caseType = "Incident Response"', {A, C}),
    ("caseStatusTemplates", "caseType", 'caseType = ""', {B}),
    ("caseStatusTemplates", "closesCase", "closesCase = true", {C}),
    ("caseStatusTemplates", "id", "id = {caseStatusTemplates.B}", {B}),
    ("caseStatusTemplates", "name", 'name STARTSWITH "Cont"', {A}),
    ("caseStatusTemplates", "order", "order >= 2", {A, C}),
    # --- workflowEvents -------------------------------------------------------------------
    ("workflowEvents", "caseId", "caseId = {cases.A}", {A}),
    ("workflowEvents", "dateAdded", 'dateAdded > "2024-02-01"', {B}),
    ("workflowEvents", "deleted", "deleted = true", {C}),
    ("workflowEvents", "deleted", "deleted = false", {A, B}),
    ("workflowEvents", "deletedReason", 'deletedReason = "Wrong case" and deleted = true', {C}),
    ("workflowEvents", "eventDate", 'eventDate = "2024-01-10"', {A}),
    ("workflowEvents", "id", "id = {workflowEvents.B}", {B}),
    ("workflowEvents", "link", 'link CONTAINS "cases/a"', {A}),
    ("workflowEvents", "summary", 'summary = "Called the user"', {B}),
    ("workflowEvents", "systemGenerated", "systemGenerated = true", {A}),
    ("workflowEvents", "userName", "userName = me", {A}),
    # --- workflowTemplates ----------------------------------------------------------------
    ("workflowTemplates", "active", "active = true", {A}),
    ("workflowTemplates", "description", 'description CONTAINS "malware"', {B}),
    ("workflowTemplates", "id", "id = {workflowTemplates.A}", {A}),
    ("workflowTemplates", "name", 'name LIKE "%Phish%"', {A}),
    ("workflowTemplates", "owner", "owner = {owners.other}", {B}),
    ("workflowTemplates", "ownerName", 'ownerName != "Other Org"', {A}),
    ("workflowTemplates", "targetId", "targetId = me", {A}),
    ("workflowTemplates", "targetId", "targetId = {groups.SOC}", {B}),
    ("workflowTemplates", "targetType", 'targetType = "Group"', {B}),
    ("workflowTemplates", "version", "version = 2", {B}),
    # --- artifactTypes (the seeded standard types exist too) ------------------------------
    ("artifactTypes", "active", "active = false", {"Ticket"}),
    ("artifactTypes", "dataType", 'dataType = "Ticket"', {"Ticket"}),
    ("artifactTypes", "description", 'description = "A ticket id"', {"Ticket"}),
    ("artifactTypes", "id", "id = {artifactTypes.URL}", {"URL"}),
    ("artifactTypes", "intelType", 'intelType = "indicator-Host"', {"Host"}),
    ("artifactTypes", "managed", "managed = false", {"Ticket"}),
    ("artifactTypes", "name", 'name = "URL"', {"URL"}),
    # --- tags -----------------------------------------------------------------------------
    ("tags", "associatedCase", "associatedCase = {cases.A}", {A}),
    ("tags", "caseId", "caseId = {cases.B}", {B}),
    ("tags", "caseId", "caseId IS NULL", {C}),
    ("tags", "description", 'description = "Malicious code"', {B}),
    ("tags", "hasCase", 'hasCase(status = "Closed")', {B}),
    ("tags", "id", "id = {tags.C}", {C}),
    ("tags", "lastUsed", "lastUsed IS NOT NULL", {A}),
    ("tags", "name", 'name = "Phishing"', {A}),
    ("tags", "name", 'name = "phishing"', set()),
    ("tags", "owner", "owner = {owners.other}", {B}),
    ("tags", "ownerName", 'ownerName = "Other Org"', {B}),
    ("tags", "summary", 'summary = "PHISHING"', {A}),
    ("tags", "summary", 'summary IN ("malware", "UNUSED")', {B, C}),
    ("tags", "techniqueId", "techniqueId IS NOT NULL", {A}),
    # --- caseAttributes -------------------------------------------------------------------
    ("caseAttributes", "caseId", "caseId = {cases.B}", {B}),
    ("caseAttributes", "dateAdded", 'dateAdded < "2024-02-01"', {A}),
    ("caseAttributes", "default", "default = true", {A}),
    ("caseAttributes", "hasCase", 'hasCase(severity = "Low")', {B}),
    ("caseAttributes", "id", "id = {caseAttributes.A}", {A}),
    ("caseAttributes", "lastModified", 'lastModified > "2024-02-01"', {B}),
    ("caseAttributes", "maxSize", "maxSize < 100", {B}),
    ("caseAttributes", "owner", "owner = {owners.home}", {A}),
    ("caseAttributes", "ownerName", 'ownerName = "Other Org"', {B}),
    ("caseAttributes", "pinned", "pinned = true", {B}),
    ("caseAttributes", "source", 'source = "jira"', {B}),
    ("caseAttributes", "text", 'text CONTAINS "email"', {A}),
    ("caseAttributes", "type", "type = {attributeTypes.External}", {B}),
    ("caseAttributes", "typeName", 'typeName = "Description"', {A}),
    ("caseAttributes", "user", "user = me", {A}),
    # --- users ----------------------------------------------------------------------------
    ("users", "disabled", "disabled = true", {"bob"}),
    ("users", "disabled", "disabled != true", {"analyst"}),
    ("users", "disabled", "disabled IS NULL", set()),
    ("users", "firstName", 'firstName = "Bob"', {"bob"}),
    ("users", "groupId", "groupId = {groups.SOC}", {"bob"}),
    ("users", "groupId", "groupId != {groups.SOC}", {"analyst"}),
    ("users", "id", "id = {users.analyst}", {"analyst"}),
    ("users", "jobFunction", 'jobFunction = "Engineer"', {"bob"}),
    ("users", "jobRole", 'jobRole = "Lead"', {"bob"}),
    ("users", "lastLogin", 'lastLogin < "2024-03-01"', {"bob"}),
    ("users", "lastName", 'lastName = "Alyst"', {"analyst"}),
    ("users", "lastPasswordChange", 'lastPasswordChange > "2024-03-01"', {"analyst"}),
    ("users", "locked", "locked = true", {"bob"}),
    ("users", "passwordResetRequired", "passwordResetRequired = true", {"bob"}),
    ("users", "pseudonym", 'pseudonym = "bobby"', {"bob"}),
    ("users", "systemRole", 'systemRole = "Administrator"', {"bob"}),
    ("users", "termsAccepted", "termsAccepted = true", {"bob"}),
    ("users", "termsAcceptedDate", 'termsAcceptedDate = "2024-02-01"', {"bob"}),
    ("users", "tqlTimeout", "tqlTimeout = 60", {"bob"}),
    ("users", "userName", "userName = me", {"analyst"}),
]


@pytest.fixture
def world(world):
    """The shared data set plus detailed statuses and opinions (updated with .update() so the
    cases' lastUpdated stays as the shared cases expect)."""
    contained = m.CaseStatusTemplate.objects.create(
        case_type="Incident Response", name="Contained", order=2
    )
    triage = m.CaseStatusTemplate.objects.create(name="Triage", order=1)
    closed = m.CaseStatusTemplate.objects.create(
        case_type="Incident Response", name="Eradicated", order=3, closes_case=True
    )
    for label, status in (("A", contained), ("B", triage), ("C", closed)):
        world.add("caseStatusTemplates", label, status)
    cases = world.ids["cases"]
    m.Case.objects.filter(pk=cases["A"]).update(detailed_status=contained)
    m.Case.objects.filter(pk=cases["B"]).update(detailed_status=triage)
    analyst = User.objects.get(username="analyst@example.com")
    bob = User.objects.get(username="bob")
    for label, case, author, opinion in (
        ("A", "A", analyst, "agree"),
        ("B", "A", bob, "disagree"),
        ("C", "C", bob, "strongly-agree"),
    ):
        row = m.CaseOpinion.objects.create(case_id=cases[case], author=author, opinion=opinion)
        world.add("caseOpinions", label, row)
    return world


@pytest.mark.parametrize(
    ("endpoint", "keyword", "tql", "expected"),
    KEYWORD_CASES,
    ids=[f"{e}-{k}-{t}" for e, k, t, _ in KEYWORD_CASES],
)
def test_keyword(world, tql_ids, endpoint, keyword, tql, expected):
    assert keyword.casefold() in tql.casefold()
    ids = tql_ids(endpoint, world.format(tql))
    assert len(ids) == len(set(ids)), "rows must not be duplicated"
    assert world.labels_of(endpoint, ids) == expected
    assert expected != set(world.ids[endpoint]), "some labelled row must not match"


@pytest.mark.parametrize("endpoint", sorted({e for e, *_ in KEYWORD_CASES}))
def test_every_declared_keyword_is_tested(endpoint):
    declared = {k.name for k in registry.get(endpoint).keywords}
    tested = {k for e, k, _, expected in KEYWORD_CASES if e == endpoint and expected}
    assert declared - tested == set()
    assert tested - declared == set()
