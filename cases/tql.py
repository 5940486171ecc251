"""TQL keywords of every case-management endpoint (reference §7.3).

Most keywords name one ORM lookup and leave the rest to the compiler: ``me`` is the calling
user's name for user-name keywords (``assignee = me``), and lookups across to-many relations
(``tags__name``, ``notes__id``) become non-duplicating subqueries. Only keywords whose value
spans several columns have a resolver (see :mod:`cases.tql_support`).

Reference keywords without backing data, hence not declared:

- cases: ``hasAllTags()`` (a hasX subquery can only mean "some related row matches"),
  ``hasGroup()``, ``hasIndicator()`` (no groups or indicators), ``missingArtifactCount``
  (not stored);
- tasks: ``missingArtifactCount``;
- artifacts: ``analyticsScore``, ``indicatorActive``, ``hasGroup()``, ``hasIndicator()``;
- tags: ``associatedGroup``/``associatedIndicator``/``associatedVictim``, ``hasGroup()``/
  ``hasIndicator()``/``hasVictim()``, ``financialRisk``, ``financialRiskScore``,
  ``financialRiskValue``, ``securityCoverage``;
- caseAttributes: ``dateVal``, ``intVal``, ``shortText`` (typed values), ``displayed``.
"""

from django.db.models import F, Q

from cases import models as m
from cases.choices import (
    AssigneeTypeChoices,
    CaseSeverityChoices,
    CaseStatusChoices,
    TaskStatusChoices,
)
from cases.tql_support import Resolver, any_of, lookup_q, one_of
from cti.security.models import UserGroup
from cti.tql import Keyword, Subquery, TqlContext, TqlSchema, registry
from cti.tql import KeywordType as T

S, SL, INT, B, D = T.STRING, T.STRING_LOWER, T.INTEGER, T.BOOLEAN, T.DATE

SEVERITIES = tuple(CaseSeverityChoices.values)
ASSIGNEE_TYPES = tuple(AssigneeTypeChoices.values)


def has(name: str, target: str, inner: str, outer: str = "pk") -> Keyword:
    """``name(<query on target>)``: rows whose ``outer`` is the ``inner`` of a matching target."""
    return Keyword(name, INT, subquery=Subquery(target=target, inner=inner, outer=outer))


def _assignee_states(ctx: TqlContext) -> dict[str, Q]:
    return {
        AssigneeTypeChoices.USER: Q(assignee_user__isnull=False),
        AssigneeTypeChoices.GROUP: Q(assignee_user__isnull=True, assignee_group__isnull=False),
        AssigneeTypeChoices.NONE: Q(assignee_user__isnull=True, assignee_group__isnull=True),
    }


def _overdue(due: str, done: str) -> Resolver:
    """As ``Case.detection_overdue``/``response_overdue``: a deadline that has passed while
    the ``done`` time is unset, or that the ``done`` time is after."""

    def states(ctx: TqlContext) -> dict[bool, Q]:
        now = ctx.current_time()
        late = Q(**{f"{due}__isnull": False}) & (
            Q(**{f"{done}__isnull": True, f"{due}__lt": now}) | Q(**{f"{done}__gt": F(due)})
        )
        on_time = (
            Q(**{f"{due}__isnull": True})
            | Q(**{f"{done}__isnull": True, f"{due}__gte": now})
            | Q(**{f"{done}__lte": F(due)})
        )
        return {True: late, False: on_time}

    return one_of(states)


def _as_string(lookup: str) -> Resolver:
    """An integer column compared as text: ``= "12"``, ``STARTSWITH "1"``, ``LIKE "1_"``.

    Equality is ``iexact`` (the same as exact for digits), which, like the pattern lookups,
    casts the column to text on every backend, so a non-numeric value matches nothing.
    """
    return lambda op, value, ctx: lookup_q(lookup, SL, op, value)


ASSIGNED_TO = one_of(_assignee_states)


def _mine(ctx: TqlContext) -> dict[bool, Q]:
    """Assigned to the calling user, or to a group the calling user is a member of."""
    user = ctx.user if getattr(ctx.user, "pk", None) else None
    if user is None:
        return {True: Q(pk__in=[]), False: ~Q(pk__in=[])}
    groups = UserGroup.objects.filter(members=user).values("pk")
    mine = Q(assignee_user=user) | Q(assignee_group__in=groups)
    return {True: mine, False: ~mine}


ASSIGNED_TO_ME = Keyword(
    "assignedToMe",
    B,
    resolver=one_of(_mine),
    description="Assigned to the calling user or to one of their groups (my work)",
)

TARGET_ID = Keyword(
    "targetId",
    INT,
    resolver=any_of(INT, "assignee_user__id", "assignee_group__id", me="assignee_user__id"),
    description="The id of the assigned user or group; `me` is the calling user",
)
TARGET_TYPE = Keyword(
    "targetType",
    S,
    resolver=ASSIGNED_TO,
    choices=ASSIGNEE_TYPES,
    description="The type of the assignee (User or Group; None when unassigned)",
)
ASSIGNEE_KEYWORDS = [
    Keyword(
        "assignedToUserOrGroup",
        S,
        resolver=ASSIGNED_TO,
        choices=ASSIGNEE_TYPES,
        description="User, Group or None, depending on the assignee",
    ),
    Keyword(
        "assignee",
        S,
        "assignee_user__username",
        "The assigned user's name; `assignee = me` is the calling user",
    ),
    Keyword(
        "assigneeName",
        S,
        resolver=any_of(
            S, "assignee_user__username", "assignee_group__name", me="assignee_user__username"
        ),
        description="The user name or group name of the assignee; `me` is the calling user",
    ),
    ASSIGNED_TO_ME,
    TARGET_ID,
    TARGET_TYPE,
]

CASES = registry.register(
    TqlSchema(
        "cases",
        m.Case,
        [
            *ASSIGNEE_KEYWORDS,
            Keyword(
                "attackTag",
                S,
                "tags__technique_id",
                "An ATT&CK technique id tagged on the case",
                sortable=False,
            ),
            Keyword("calScore", INT, "cal_score", "The CAL score"),
            Keyword("caseCloseDate", D, "case_close_time", "The date the case was closed"),
            Keyword("caseCloseTime", D, "case_close_time", "The time the case was closed"),
            Keyword("caseCloseUser", S, "case_close_user__username", "The user who closed it"),
            Keyword(
                "caseDetectionTime", D, "case_detection_time", "The time the case was detected"
            ),
            Keyword(
                "caseDetectionUser",
                S,
                "case_detection_user__username",
                "The user who set the detection time",
            ),
            Keyword("caseOccurrenceTime", D, "case_occurrence_time", "The time the case occurred"),
            Keyword(
                "caseOccurrenceUser",
                S,
                "case_occurrence_user__username",
                "The user who set the occurrence time",
            ),
            Keyword("caseOpenDate", D, "case_open_time", "The date the case was opened"),
            Keyword("caseOpenTime", D, "case_open_time", "The time the case was opened"),
            Keyword("caseOpenUser", S, "case_open_user__username", "The user who opened it"),
            Keyword("createdBy", S, "created_by__username", "The login of the case's creator"),
            Keyword("createdById", INT, "created_by_id", "The id of the user who created the case"),
            Keyword("dateAdded", D, "date_added", "The date the case was added"),
            Keyword("description", S, "description", "The description of the case"),
            Keyword(
                "detailedStatus", S, "detailed_status__name", "The detailed status of the case"
            ),
            Keyword("detectionDue", D, "detection_due", "The detection SLA deadline"),
            Keyword(
                "detectionOverdue",
                B,
                resolver=_overdue("detection_due", "case_detection_time"),
                description="Whether detection is past its deadline",
            ),
            has("hasArtifact", "artifacts", "case_id"),
            has("hasCase", "cases", "associated_cases__id"),
            has("hasNote", "notes", "case_id"),
            has("hasTag", "tags", "cases__id"),
            has("hasTask", "tasks", "case_id"),
            Keyword(
                "hasWorkflowTemplate",
                INT,
                "workflow_template_id",
                "The id of the workflow template applied to the case",
            ),
            Keyword("id", INT, "id", "The ID of the case"),
            Keyword(
                "idAsString",
                S,
                resolver=_as_string("id"),
                description="The ID of the case as a string",
            ),
            Keyword("lastUpdated", D, "last_updated", "The date the case was last updated"),
            Keyword("name", S, "name", "The name of the case"),
            Keyword("owner", INT, "owner_id", "The owner id of the case"),
            Keyword("ownerName", S, "owner__name", "The owner name of the case"),
            Keyword("resolution", S, "resolution", "The resolution of the case"),
            Keyword("responseDue", D, "response_due", "The response SLA deadline"),
            Keyword(
                "responseOverdue",
                B,
                resolver=_overdue("response_due", "case_close_time"),
                description="Whether the response is past its deadline",
            ),
            Keyword("severity", S, "severity", "The severity of the case", choices=SEVERITIES),
            Keyword(
                "status",
                S,
                "status",
                "The status of the case",
                choices=tuple(CaseStatusChoices.values),
            ),
            Keyword("tag", S, "tags__name", "The name of a tag on the case", sortable=False),
            Keyword("threatAssessScore", INT, "threat_assess_score", "The threat assessment score"),
            Keyword("timeToDetect", INT, "time_to_detect", "Seconds from occurrence to detection"),
            Keyword("timeToRespond", INT, "time_to_respond", "Seconds from open to close"),
            Keyword("typeName", S, "case_type", "The case type"),
            Keyword(
                "caseType",
                S,
                "case_type",
                "The case type",
                choices=("Incident Response", "Request for Information", "Request for Takedown"),
            ),
            Keyword("priority", S, "priority", "The priority", choices=("P1", "P2", "P3", "P4")),
            Keyword(
                "hasIntelObject",
                INT,
                subquery=Subquery("intelObjects", inner="refs_in__container__case__id"),
                description="A nested query for the graph objects the case holds",
            ),
            Keyword("xid", S, "xid", "The XID of the case"),
        ],
    )
)

TASKS = registry.register(
    TqlSchema(
        "tasks",
        m.Task,
        [
            *ASSIGNEE_KEYWORDS,
            Keyword("automated", B, "automated", "Whether the task is run by a playbook"),
            Keyword("caseId", INT, "case_id", "The ID of the case the task belongs to"),
            Keyword(
                "caseIdAsString",
                S,
                resolver=_as_string("case__id"),
                description="The ID of the task's case as a string",
            ),
            Keyword(
                "caseSeverity",
                S,
                "case__severity",
                "The severity of the task's case",
                choices=SEVERITIES,
            ),
            Keyword("completedBy", S, "completed_by__username", "The user who completed the task"),
            Keyword("completedDate", D, "completed_date", "The completion date of the task"),
            Keyword("description", S, "description", "The description of the task"),
            Keyword("dueDate", D, "due_date", "The due date of the task"),
            has("hasArtifact", "artifacts", "task_id"),
            has("hasCase", "cases", "id", outer="case_id"),
            has("hasNote", "notes", "task_id"),
            Keyword("id", INT, "id", "The ID of the task"),
            Keyword("name", S, "name", "The name of the task"),
            Keyword("owner", INT, "case__owner_id", "The owner id of the task"),
            Keyword("ownerName", S, "case__owner__name", "The owner name of the task"),
            Keyword("required", B, "required", "Whether the task is required"),
            Keyword(
                "status",
                S,
                "status",
                "The status of the task",
                choices=tuple(TaskStatusChoices.values),
            ),
            Keyword("workflowPhase", INT, "workflow_phase", "The workflow phase of the task"),
            Keyword("workflowStep", INT, "workflow_step", "The workflow step of the task"),
            Keyword("xid", S, "xid", "The XID of the task"),
        ],
    )
)

ARTIFACTS = registry.register(
    TqlSchema(
        "artifacts",
        m.Artifact,
        [
            Keyword("caseId", INT, "case_id", "The ID of the case the artifact belongs to"),
            Keyword("dateAdded", D, "date_added", "The date the artifact was added"),
            Keyword("derivedLink", B, "derived_link", "Whether the artifact links cases"),
            has("hasCase", "cases", "id", outer="case_id"),
            has("hasNote", "notes", "artifact_id"),
            has("hasTask", "tasks", "id", outer="task_id"),
            Keyword("id", INT, "id", "The ID of the artifact"),
            Keyword("intelType", S, "artifact_type__intel_type", "The intel type of the artifact"),
            Keyword("noteId", INT, "notes__id", "The ID of a note on the artifact", sortable=False),
            Keyword("source", S, "source", "The source of the artifact"),
            Keyword("summary", S, "summary", "The summary (value) of the artifact"),
            Keyword("taskId", INT, "task_id", "The ID of the task the artifact belongs to"),
            Keyword("type", S, "artifact_type__name", "The artifact type name"),
            Keyword("typeName", S, "artifact_type__name", "The artifact type name"),
        ],
    )
)

NOTES = registry.register(
    TqlSchema(
        "notes",
        m.Note,
        [
            Keyword("artifactId", INT, "artifact_id", "The ID of the artifact the note is on"),
            Keyword("author", S, "author__username", "The user name of the note's author"),
            Keyword("caseId", INT, "case_id", "The ID of the case the note belongs to"),
            Keyword("data", S, "text", "The text of the note"),
            Keyword("dateAdded", D, "date_added", "The date the note was added"),
            has("hasArtifact", "artifacts", "id", outer="artifact_id"),
            has("hasCase", "cases", "id", outer="case_id"),
            has("hasTask", "tasks", "id", outer="task_id"),
            Keyword("id", INT, "id", "The ID of the note"),
            Keyword("lastModified", D, "last_modified", "The date the note was last modified"),
            Keyword("owner", INT, "case__owner_id", "The owner id of the note's case"),
            Keyword("summary", S, "text", "The text of the note (first 100 characters shown)"),
            Keyword("taskId", INT, "task_id", "The ID of the task the note is on"),
            Keyword("workflowEventId", INT, "workflow_event_id", "The ID of the workflow event"),
        ],
    )
)

WORKFLOW_EVENTS = registry.register(
    TqlSchema(
        "workflowEvents",
        m.WorkflowEvent,
        [
            Keyword("caseId", INT, "case_id", "The ID of the case"),
            Keyword("dateAdded", D, "date_added", "The date the event was added"),
            Keyword("deleted", B, "deleted", "Whether the event was deleted"),
            Keyword("deletedReason", S, "deleted_reason", "Why the event was deleted"),
            Keyword("eventDate", D, "event_date", "The date of the event"),
            Keyword("id", INT, "id", "The ID of the event"),
            Keyword("link", S, "link", "The link of the event"),
            Keyword("summary", S, "summary", "The summary of the event"),
            Keyword(
                "systemGenerated", B, "system_generated", "Whether the system created the event"
            ),
            Keyword("userName", S, "user__username", "The user who created the event"),
        ],
    )
)

WORKFLOW_TEMPLATES = registry.register(
    TqlSchema(
        "workflowTemplates",
        m.WorkflowTemplate,
        [
            Keyword("active", B, "active", "Whether the template is active"),
            Keyword("description", S, "description", "The description of the template"),
            Keyword("id", INT, "id", "The ID of the template"),
            Keyword("name", S, "name", "The name of the template"),
            Keyword("owner", INT, "owner_id", "The owner id of the template"),
            Keyword("ownerName", S, "owner__name", "The owner name of the template"),
            TARGET_ID,
            TARGET_TYPE,
            Keyword("version", INT, "version", "The version of the template"),
        ],
    )
)

ARTIFACT_TYPES = registry.register(
    TqlSchema(
        "artifactTypes",
        m.ArtifactType,
        [
            Keyword("active", B, "active", "Whether the type is active"),
            Keyword("dataType", S, "data_type", "The data type"),
            Keyword("description", S, "description", "The description of the type"),
            Keyword("id", INT, "id", "The ID of the type"),
            Keyword("intelType", S, "intel_type", "The intel type"),
            Keyword("managed", B, "managed", "Whether the type is managed by the system"),
            Keyword("name", S, "name", "The name of the type"),
        ],
    )
)

TAGS = registry.register(
    TqlSchema(
        "tags",
        m.Tag,
        [
            Keyword(
                "associatedCase",
                INT,
                "cases__id",
                "The id of a case the tag is applied to",
                sortable=False,
            ),
            Keyword(
                "caseId", INT, "cases__id", "The id of a case the tag is applied to", sortable=False
            ),
            Keyword("description", S, "description", "The description of the tag"),
            has("hasCase", "cases", "tags__id"),
            Keyword("id", INT, "id", "The ID of the tag"),
            Keyword("lastUsed", D, "last_used", "When the tag was last used"),
            Keyword("name", S, "name", "The name of the tag (case-sensitive)"),
            Keyword("owner", INT, "owner_id", "The owner id"),
            Keyword("ownerName", S, "owner__name", "The owner name"),
            Keyword("summary", SL, "name", "The name of the tag (case-insensitive)"),
            Keyword("techniqueId", S, "technique_id", "The ATT&CK technique id"),
        ],
    )
)

CASE_ATTRIBUTES = registry.register(
    TqlSchema(
        "caseAttributes",
        m.CaseAttribute,
        [
            Keyword("caseId", INT, "case_id", "The ID of the case"),
            Keyword("dateAdded", D, "date_added", "The date the attribute was added"),
            Keyword("default", B, "default", "Whether the attribute is the default of its type"),
            has("hasCase", "cases", "id", outer="case_id"),
            Keyword("id", INT, "id", "The ID of the attribute"),
            Keyword("lastModified", D, "last_modified", "The date the attribute was last modified"),
            Keyword(
                "maxSize", INT, "attribute_type__max_size", "The max length of the attribute text"
            ),
            Keyword("owner", INT, "case__owner_id", "The owner id"),
            Keyword("ownerName", S, "case__owner__name", "The owner name"),
            Keyword("pinned", B, "pinned", "Whether the attribute is pinned"),
            Keyword("source", S, "source", "The source of the attribute"),
            Keyword("text", S, "value", "The value of the attribute"),
            Keyword("type", INT, "attribute_type_id", "The attribute type id"),
            Keyword("typeName", S, "attribute_type__name", "The attribute type name"),
            Keyword("user", S, "created_by__username", "The user who added the attribute"),
        ],
    )
)

CASE_OPINIONS = registry.register(
    TqlSchema(
        "caseOpinions",
        m.CaseOpinion,
        [
            Keyword("author", S, "author__username", "The user name of the opinion's author"),
            Keyword("caseId", INT, "case_id", "The ID of the case the opinion is about"),
            Keyword("id", INT, "id", "The ID of the opinion"),
            Keyword(
                "opinion",
                S,
                "opinion",
                "The opinion: strongly-disagree, disagree, neutral, agree or strongly-agree",
            ),
        ],
    )
)

CASE_STATUS_TEMPLATES = registry.register(
    TqlSchema(
        "caseStatusTemplates",
        m.CaseStatusTemplate,
        [
            Keyword("caseType", S, "case_type", "The case type (blank: every type)"),
            Keyword("closesCase", B, "closes_case", "Whether the status closes the case"),
            Keyword("id", INT, "id", "The ID of the status"),
            Keyword("name", S, "name", "The name of the status"),
            Keyword("order", INT, "order", "The position of the status in its list"),
        ],
    )
)
