"""TQL keywords of every case-management endpoint (reference §7.3)."""

from django.db.models import F, Q
from django.utils import timezone

from cases import models as m
from cases.tql_support import any_of, related, user_ref
from cti.tql import Keyword, Subquery, TqlSchema, registry
from cti.tql import KeywordType as T

S, SL, INT, B, D = T.STRING, T.STRING_LOWER, T.INTEGER, T.BOOLEAN, T.DATE


def has(name: str, target: str, inner: str, outer: str = "pk", what: str = "") -> Keyword:
    return Keyword(
        name,
        INT,
        subquery=Subquery(target=target, inner=inner, outer=outer),
        description=f"A nested query for association to other {what or target}",
    )


def _assigned_to(op, value, ctx) -> Q:
    kind = str(value).lower()
    q = {
        "user": Q(assignee_user__isnull=False),
        "group": Q(assignee_group__isnull=False),
        "none": Q(assignee_user__isnull=True, assignee_group__isnull=True),
    }.get(kind, Q(pk__in=[]))
    return ~q if op == "!=" else q


def _target_id(op, value, ctx) -> Q:
    return any_of("assignee_user_id", "assignee_group_id")(op, value, ctx)


def _target_type(op, value, ctx) -> Q:
    return _assigned_to(op, value, ctx)


def _overdue(due: str, done: str):
    """Past the deadline and not done, or done after the deadline."""

    def resolve(op, value, ctx) -> Q:
        now = ctx.now or timezone.now()
        late = Q(**{f"{due}__lt": now}) & (
            Q(**{f"{done}__isnull": True}) | Q(**{f"{done}__gt": F(due)})
        )
        want = bool(value) if op == "=" else not bool(value)
        return late if want else ~late

    return resolve


def _id_as_string(lookup: str):
    """An integer column compared as text; equality with a non-number matches nothing."""

    def resolve(op, value, ctx) -> Q:
        if op in {"=", "!=", "in", "not in"}:
            values = value if isinstance(value, list) else [value]
            q = Q(**{f"{lookup}__in": [int(v) for v in values if str(v).isdigit()]})
            return ~q if op in {"!=", "not in"} else q
        return any_of(lookup)(op, value, ctx)

    return resolve


ASSIGNEE_KEYWORDS = [
    Keyword(
        "assignedToUserOrGroup",
        S,
        resolver=_assigned_to,
        choices=("User", "Group", "None"),
        description="Assigned to a User, a Group, or None",
    ),
    Keyword(
        "assigneeName",
        S,
        resolver=any_of("assignee_user__username", "assignee_group__name"),
        description="The user name or group name of the assignee (`me` is not special here)",
    ),
    Keyword(
        "targetId", INT, resolver=_target_id, description="The id of the assigned user or group"
    ),
    Keyword(
        "targetType",
        S,
        resolver=_target_type,
        choices=("User", "Group", "None"),
        description="The type of assignee",
    ),
]

CASES = registry.register(
    TqlSchema(
        "cases",
        m.Case,
        [
            *ASSIGNEE_KEYWORDS,
            Keyword(
                "assignee",
                S,
                resolver=user_ref("assignee_user__username"),
                description="The assigned user's name; `assignee = me` is the calling user",
                sortable=False,
            ),
            Keyword(
                "attackTag",
                S,
                resolver=related(m.Tag, "technique_id", "cases"),
                description="An ATT&CK technique id tagged on the case",
            ),
            Keyword("calScore", INT, "cal_score", "The CAL score"),
            Keyword("caseCloseDate", D, "case_close_time", "The date the case was closed"),
            Keyword("caseCloseTime", D, "case_close_time", "The time the case was closed"),
            Keyword(
                "caseCloseUser",
                S,
                resolver=user_ref("case_close_user__username"),
                description="The user who closed the case",
            ),
            Keyword(
                "caseDetectionTime", D, "case_detection_time", "The time the case was detected"
            ),
            Keyword(
                "caseDetectionUser",
                S,
                resolver=user_ref("case_detection_user__username"),
                description="The user who set the detection time",
            ),
            Keyword("caseOccurrenceTime", D, "case_occurrence_time", "The time the case occurred"),
            Keyword(
                "caseOccurrenceUser",
                S,
                resolver=user_ref("case_occurrence_user__username"),
                description="The user who set the occurrence time",
            ),
            Keyword("caseOpenDate", D, "case_open_time", "The date the case was opened"),
            Keyword("caseOpenTime", D, "case_open_time", "The time the case was opened"),
            Keyword(
                "caseOpenUser",
                S,
                resolver=user_ref("case_open_user__username"),
                description="The user who opened the case",
            ),
            Keyword(
                "createdBy",
                S,
                resolver=user_ref("created_by__username"),
                description="The login of the user who created the case",
            ),
            Keyword("createdById", INT, "created_by_id", "The id of the user who created the case"),
            Keyword("dateAdded", D, "date_added", "The date the case was added"),
            Keyword("description", S, "description", "The description of the case"),
            Keyword("detectionDue", D, "detection_due", "The detection SLA deadline"),
            Keyword(
                "detectionOverdue",
                B,
                resolver=_overdue("detection_due", "case_detection_time"),
                description="Whether detection is past its deadline",
            ),
            has("hasArtifact", "artifacts", "case_id", what="artifacts"),
            has("hasCase", "cases", "associated_cases__id", what="cases"),
            has("hasNote", "notes", "case_id", what="notes"),
            has("hasTag", "tags", "cases__id", what="tags"),
            has("hasTask", "tasks", "case_id", what="tasks"),
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
                resolver=_id_as_string("id"),
                description="The ID as a string",
                sortable=False,
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
            Keyword(
                "severity",
                S,
                "severity",
                "The severity of the case",
                choices=("Low", "Medium", "High", "Critical"),
            ),
            Keyword("status", S, "status", "The status of the case", choices=("Open", "Closed")),
            Keyword(
                "tag", S, resolver=related(m.Tag, "name", "cases"), description="The name of a tag"
            ),
            Keyword("threatAssessScore", INT, "threat_assess_score", "The threat assessment score"),
            Keyword("timeToDetect", INT, "time_to_detect", "Seconds from occurrence to detection"),
            Keyword("timeToRespond", INT, "time_to_respond", "Seconds from open to close"),
            Keyword("typeName", S, "case_type", "The case type"),
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
            Keyword(
                "assignee",
                S,
                resolver=user_ref("assignee_user__username"),
                description="The assigned user's name; `assignee = me` is the calling user",
                sortable=False,
            ),
            Keyword("automated", B, "automated", "Whether the task is run by a playbook"),
            Keyword("caseId", INT, "case_id", "The ID of the case the task belongs to"),
            Keyword(
                "caseIdAsString",
                S,
                resolver=_id_as_string("case_id"),
                description="The case ID as a string",
                sortable=False,
            ),
            Keyword(
                "caseSeverity",
                S,
                "case__severity",
                "The severity of the task's case",
                choices=("Low", "Medium", "High", "Critical"),
            ),
            Keyword(
                "completedBy",
                S,
                resolver=user_ref("completed_by__username"),
                description="The user who completed the task",
            ),
            Keyword("completedDate", D, "completed_date", "The completion date of the task"),
            Keyword("description", S, "description", "The description of the task"),
            Keyword("dueDate", D, "due_date", "The due date of the task"),
            has("hasArtifact", "artifacts", "task_id", what="artifacts"),
            has("hasCase", "cases", "id", outer="case_id", what="cases"),
            has("hasNote", "notes", "task_id", what="notes"),
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
                choices=("Pending", "Open", "Reopened", "Closed"),
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
            has("hasCase", "cases", "id", outer="case_id", what="cases"),
            has("hasNote", "notes", "artifact_id", what="notes"),
            has("hasTask", "tasks", "id", outer="task_id", what="tasks"),
            Keyword("id", INT, "id", "The ID of the artifact"),
            Keyword(
                "noteId",
                INT,
                resolver=related(m.Note, "id", "artifact_id"),
                description="The ID of a note on the artifact",
            ),
            Keyword("source", S, "source", "The source of the artifact"),
            Keyword("summary", S, "summary", "The summary (value) of the artifact"),
            Keyword("taskId", INT, "task_id", "The ID of the task the artifact belongs to"),
            Keyword("type", S, "artifact_type__name", "The artifact type name"),
            Keyword("typeName", S, "artifact_type__name", "The artifact type name"),
            Keyword("intelType", S, "artifact_type__intel_type", "The intel type of the artifact"),
            Keyword("derivedLink", B, "derived_link", "Whether the artifact links cases"),
        ],
    )
)

NOTES = registry.register(
    TqlSchema(
        "notes",
        m.Note,
        [
            Keyword("artifactId", INT, "artifact_id", "The ID of the artifact the note is on"),
            Keyword(
                "author",
                S,
                resolver=user_ref("author__username"),
                description="The user name of the note's author",
            ),
            Keyword("caseId", INT, "case_id", "The ID of the case the note belongs to"),
            Keyword("data", S, "text", "The text of the note"),
            Keyword("dateAdded", D, "date_added", "The date the note was added"),
            has("hasArtifact", "artifacts", "id", outer="artifact_id", what="artifacts"),
            has("hasCase", "cases", "id", outer="case_id", what="cases"),
            has("hasTask", "tasks", "id", outer="task_id", what="tasks"),
            Keyword("id", INT, "id", "The ID of the note"),
            Keyword("lastModified", D, "last_modified", "The date the note was last modified"),
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
            Keyword(
                "userName",
                S,
                resolver=user_ref("user__username"),
                description="The user who created the event",
            ),
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
            Keyword("targetId", INT, resolver=_target_id, description="The id of the assignee"),
            Keyword(
                "targetType",
                S,
                resolver=_target_type,
                choices=("User", "Group", "None"),
                description="The type of assignee",
            ),
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
                "caseId", INT, resolver=related(m.Case, "id", "tags__id"), description="A case id"
            ),
            Keyword(
                "associatedCase",
                INT,
                resolver=related(m.Case, "id", "tags__id"),
                description="A case id the tag is applied to",
            ),
            Keyword("description", S, "description", "The description of the tag"),
            has("hasCase", "cases", "tags__id", what="cases"),
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
            has("hasCase", "cases", "id", outer="case_id", what="cases"),
            Keyword("id", INT, "id", "The ID of the attribute"),
            Keyword("lastModified", D, "last_modified", "The date the attribute was last modified"),
            Keyword("owner", INT, "case__owner_id", "The owner id"),
            Keyword("ownerName", S, "case__owner__name", "The owner name"),
            Keyword("pinned", B, "pinned", "Whether the attribute is pinned"),
            Keyword("source", S, "source", "The source of the attribute"),
            Keyword("text", S, "value", "The value of the attribute"),
            Keyword("type", INT, "attribute_type_id", "The attribute type id"),
            Keyword("typeName", S, "attribute_type__name", "The attribute type name"),
            Keyword(
                "user",
                S,
                resolver=user_ref("created_by__username"),
                description="The user who added the attribute",
            ),
        ],
    )
)
