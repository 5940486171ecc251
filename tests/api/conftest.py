"""Fixtures for TQL tests through the HTTP API: a small labelled data set and a query helper.

``world`` builds, through the ORM, two or three rows of every TQL-filterable resource with
values that differ on every keyword, so each keyword can be checked against a matching and a
non-matching row. Rows are addressed by label: ``world.ids["cases"]["A"]``; TQL templates
refer to ids as ``{cases.A}`` (see :meth:`World.format`).
"""

from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from cases import models as m
from cti.security.models import Owner, User, UserGroup
from cti.security.services import default_owner

ENDPOINT_PATHS = {"users": "security/users"}


def at(day: str, time: str = "10:00") -> datetime:
    """``at("2024-01-10")`` -> 2024-01-10 10:00 UTC."""
    return datetime.fromisoformat(f"{day}T{time}").replace(tzinfo=UTC)


def endpoint_path(endpoint: str) -> str:
    return f"/api/v3/{ENDPOINT_PATHS.get(endpoint, endpoint)}"


@dataclass
class World:
    ids: dict[str, dict[str, int]] = field(default_factory=dict)

    def add(self, endpoint: str, label: str, obj) -> None:
        self.ids.setdefault(endpoint, {})[label] = obj.pk

    def format(self, tql: str) -> str:
        """Replace ``{cases.A}``-style references with row ids."""
        refs = {name: SimpleNamespace(**labels) for name, labels in self.ids.items()}
        return tql.format_map(refs)

    def labels_of(self, endpoint: str, ids) -> set[str]:
        """Labels of ``ids`` (unlabelled rows, e.g. seeded artifact types, keep their id)."""
        by_id = {pk: label for label, pk in self.ids.get(endpoint, {}).items()}
        return {by_id.get(pk, str(pk)) for pk in ids}


@pytest.fixture
def tql_ids(api):
    """``tql_ids("cases", 'name = "x"')`` -> the ids the API returns, in order (asserts 200)."""

    def run(endpoint: str, tql: str, client=None, **params) -> list[int]:
        response = (client or api).get(
            endpoint_path(endpoint), {"tql": tql, "resultLimit": 10000, **params}
        )
        body = response.json()
        assert response.status_code == 200, (tql, body)
        assert body["status"] == "Success", body
        return [row["id"] for row in body["data"]]

    return run


@pytest.fixture
def analyst(api) -> User:
    """The user the ``api`` client authenticates as (``me``)."""
    return User.objects.get(username="analyst@example.com")


@pytest.fixture
def world(analyst) -> World:
    w = World()
    home = default_owner()
    other = Owner.objects.create(name="Other Org")
    other.members.add(analyst)  # shared with the analyst: the keyword tests see both owners

    bob = User.objects.create(
        username="bob",
        first_name="Bob",
        last_name="Builder",
        pseudonym="bobby",
        job_function="Engineer",
        job_role="Lead",
        system_role="Administrator",
        locked=True,
        password_reset_required=True,
        terms_accepted=True,
        terms_accepted_date=at("2024-02-01"),
        last_password_change=at("2024-02-02"),
        last_login=at("2024-02-03"),
        custom_tql_timeout=60,
        is_active=False,
        owner=other,
    )
    User.objects.filter(pk=analyst.pk).update(
        first_name="Ann",
        last_name="Alyst",
        last_login=at("2024-05-01"),
        last_password_change=at("2024-05-02"),
    )
    w.add("users", "analyst", analyst)
    w.add("users", "bob", bob)
    # A group whose id is no assigned user's id, so targetId never matches both kinds.
    spare = [UserGroup.objects.create(name=f"spare{i}") for i in range(3)]
    soc = next(g for g in spare if g.pk not in (analyst.pk, bob.pk))
    soc.name, soc.description = "SOC", "Security operations"
    soc.save()
    soc.members.add(bob)
    w.add("groups", "SOC", soc)

    # --- workflow templates ---------------------------------------------------------------
    wa = m.WorkflowTemplate.objects.create(
        name="Phish Response",
        description="Steps for phishing",
        version=1,
        active=True,
        owner=home,
        assignee_user=analyst,
    )
    wb = m.WorkflowTemplate.objects.create(
        name="Malware Triage",
        description="Steps for malware",
        version=2,
        active=False,
        owner=other,
        assignee_group=soc,
    )
    w.add("workflowTemplates", "A", wa)
    w.add("workflowTemplates", "B", wb)

    # --- tags -------------------------------------------------------------------------------
    tag_a = m.Tag.objects.create(
        name="Phishing",
        description="Phishing campaigns",
        owner=home,
        technique_id="T1566",
        last_used=at("2024-01-10"),
    )
    tag_b = m.Tag.objects.create(name="Malware", description="Malicious code", owner=other)
    tag_c = m.Tag.objects.create(name="unused", owner=home)
    for label, tag in (("A", tag_a), ("B", tag_b), ("C", tag_c)):
        w.add("tags", label, tag)

    # --- cases ------------------------------------------------------------------------------
    case_a = m.Case.objects.create(
        xid="case-a",
        name="Alpha phishing",
        description="Mail with a bad link",
        status="Open",
        severity="High",
        resolution="Not Specified",
        case_type="Incident Response",
        priority="P1",
        cal_score=10,
        threat_assess_score=100,
        case_open_time=at("2024-01-10"),
        case_occurrence_time=at("2024-01-09"),
        case_open_user=analyst,
        case_occurrence_user=analyst,
        detection_due=at("2024-01-10"),
        response_due=at("2024-01-13"),
        time_to_detect=None,
        time_to_respond=None,
        created_by=analyst,
        owner=home,
        workflow_template=wa,
        assignee_user=analyst,
    )
    case_b = m.Case.objects.create(
        xid="case-b",
        name="Bravo malware",
        description="Trojan on a laptop",
        status="Closed",
        severity="Low",
        resolution="False Positive",
        case_type="Request for Takedown",
        priority="P3",
        cal_score=20,
        threat_assess_score=200,
        case_open_time=at("2024-03-01"),
        case_close_time=at("2024-03-05"),
        case_occurrence_time=at("2024-02-28"),
        case_detection_time=at("2024-02-29"),
        case_open_user=bob,
        case_close_user=bob,
        case_occurrence_user=bob,
        case_detection_user=bob,
        detection_due=at("2024-03-01"),
        response_due=at("2024-03-10"),
        time_to_detect=86400,
        time_to_respond=345600,
        created_by=bob,
        owner=other,
        assignee_group=soc,
    )
    case_c = m.Case.objects.create(
        xid="case-c",
        name="Charlie",
        status="Open",
        severity="Medium",
        case_open_time=at("2024-06-01"),
        owner=home,
    )
    case_a.tags.add(tag_a)
    from cases.services.graph import add_to_case
    from cti.intel.services import import_objects, resolve_ids

    imported = import_objects([{"type": "domain-name", "value": "a.example.com"}])
    add_to_case(case_a, list(resolve_ids(imported.created).values()))
    case_b.tags.add(tag_b)
    case_a.associated_cases.add(case_b)
    for label, case, added in (
        ("A", case_a, "2024-01-10"),
        ("B", case_b, "2024-03-01"),
        ("C", case_c, "2024-06-01"),
    ):
        m.Case.objects.filter(pk=case.pk).update(
            date_added=at(added), last_updated=at(added, "12:00")
        )
        w.add("cases", label, case)

    # --- tasks ------------------------------------------------------------------------------
    task_a = m.Task.objects.create(
        xid="task-a",
        case=case_a,
        name="Collect headers",
        description="Grab the mail headers",
        status="Open",
        required=True,
        automated=False,
        due_date=at("2024-01-12"),
        workflow_phase=1,
        workflow_step=1,
        assignee_user=analyst,
    )
    task_b = m.Task.objects.create(
        xid="task-b",
        case=case_b,
        name="Scan host",
        description="Run the scanner",
        status="Closed",
        required=False,
        automated=True,
        due_date=at("2024-03-02"),
        completed_date=at("2024-03-03"),
        completed_by=bob,
        workflow_phase=2,
        workflow_step=3,
        assignee_group=soc,
    )
    task_c = m.Task.objects.create(xid="task-c", case=case_c, name="Review", status="Pending")
    for label, task in (("A", task_a), ("B", task_b), ("C", task_c)):
        w.add("tasks", label, task)

    # --- artifacts --------------------------------------------------------------------------
    host = m.ArtifactType.objects.get(name="Host")
    url = m.ArtifactType.objects.get(name="URL")
    art_a = m.Artifact.objects.create(
        case=case_a,
        task=task_a,
        artifact_type=host,
        summary="bad.example.com",
        source="sandbox",
        derived_link=True,
    )
    art_b = m.Artifact.objects.create(
        case=case_b, artifact_type=url, summary="http://evil.test/x", source="proxy"
    )
    m.Artifact.objects.filter(pk=art_a.pk).update(date_added=at("2024-01-11"))
    m.Artifact.objects.filter(pk=art_b.pk).update(date_added=at("2024-03-02"))
    w.add("artifacts", "A", art_a)
    w.add("artifacts", "B", art_b)

    # --- artifact types ---------------------------------------------------------------------
    ticket = m.ArtifactType.objects.create(
        name="Ticket",
        description="A ticket id",
        data_type="Ticket",
        intel_type=None,
        active=False,
        managed=False,
    )
    w.add("artifactTypes", "Ticket", ticket)
    w.add("artifactTypes", "Host", host)
    w.add("artifactTypes", "URL", url)

    # --- workflow events --------------------------------------------------------------------
    event_a = m.WorkflowEvent.objects.create(
        case=case_a,
        summary="Case created",
        event_date=at("2024-01-10"),
        system_generated=True,
        link="https://cti.test/cases/a",
        user=analyst,
    )
    event_b = m.WorkflowEvent.objects.create(
        case=case_b, summary="Called the user", event_date=at("2024-03-02"), user=bob
    )
    # Soft-deleted: lists show it only when the TQL filters on `deleted`.
    event_c = m.WorkflowEvent.objects.create(
        case=case_c,
        summary="Added by mistake",
        event_date=at("2024-06-02"),
        deleted=True,
        deleted_reason="Wrong case",
    )
    for label, event, added in (
        ("A", event_a, "2024-01-10"),
        ("B", event_b, "2024-03-02"),
        ("C", event_c, "2024-06-02"),
    ):
        m.WorkflowEvent.objects.filter(pk=event.pk).update(date_added=at(added))
        w.add("workflowEvents", label, event)

    # --- notes ------------------------------------------------------------------------------
    note_a = m.Note.objects.create(
        case=case_a, artifact=art_a, text="Host seen in proxy logs", author=analyst
    )
    note_b = m.Note.objects.create(
        case=case_b, task=task_b, workflow_event=event_b, text="Scan came back clean", author=bob
    )
    m.Note.objects.filter(pk=note_a.pk).update(
        date_added=at("2024-01-11"), last_modified=at("2024-01-12")
    )
    m.Note.objects.filter(pk=note_b.pk).update(
        date_added=at("2024-03-03"), last_modified=at("2024-03-04")
    )
    w.add("notes", "A", note_a)
    w.add("notes", "B", note_b)

    # --- case attributes --------------------------------------------------------------------
    description = m.AttributeType.objects.get(name="Description")
    external = m.AttributeType.objects.get(name="External ID")
    external.max_size = 64
    external.save()
    attr_a = m.CaseAttribute.objects.create(
        case=case_a,
        attribute_type=description,
        value="Initial vector: email",
        source="analyst",
        default=True,
        created_by=analyst,
    )
    attr_b = m.CaseAttribute.objects.create(
        case=case_b,
        attribute_type=external,
        value="EXT-42",
        source="jira",
        pinned=True,
        created_by=bob,
    )
    m.CaseAttribute.objects.filter(pk=attr_a.pk).update(
        date_added=at("2024-01-10"), last_modified=at("2024-01-11")
    )
    m.CaseAttribute.objects.filter(pk=attr_b.pk).update(
        date_added=at("2024-03-01"), last_modified=at("2024-03-02")
    )
    w.add("caseAttributes", "A", attr_a)
    w.add("caseAttributes", "B", attr_b)
    w.add("attributeTypes", "Description", description)
    w.add("attributeTypes", "External", external)
    w.add("owners", "home", home)
    w.add("owners", "other", other)
    return w
