"""Field specs of every case-management resource (reference §5): they drive OPTIONS, input
validation, output and `fields=` expansion."""

from django.db.models import Prefetch

from cases import choices as ch
from cases import models as m
from cases import tql
from cases.selectors import attach_related_cases
from cases.services.graph import attach_artifact_indicators, attach_case_intel
from cti.api.inputs import register_choice_aliases
from cti.api.rendering import register_formatter, register_resource
from cti.api.resources import Access, Expansion, FieldSpec, Resource
from cti.intel import resources as intel_resources  # noqa: F401  (registers intelObjects)
from cti.security.resources import user_summary, user_summary_defer

RO, C, CU = Access.RO, Access.C, Access.CU
USER_FIELDS = (
    "case_open_user",
    "case_close_user",
    "case_occurrence_user",
    "case_detection_user",
    "created_by",
)


def assignee_output(obj) -> dict | None:
    if obj.assignee_user_id and obj.assignee_user:
        return {"type": "User", "data": user_summary(obj.assignee_user)}
    if obj.assignee_group_id and obj.assignee_group:
        group = obj.assignee_group
        return {
            "type": "Group",
            "data": {"id": group.pk, "name": group.name, "description": group.description},
        }
    return None


register_formatter("Assignee", lambda value: value)
register_choice_aliases("resolution", dict(ch.RESOLUTION_ALIASES))


def case_id_specs(*, required: bool, description: str = "") -> list[FieldSpec]:
    """caseId / caseXid: one of them names the parent case on create."""
    return [
        FieldSpec(
            "caseId",
            "Integer",
            C,
            attr="case_id",
            required=required,
            required_alt="caseXid",
            description=description or "The case",
        ),
        FieldSpec(
            "caseXid",
            "String",
            C,
            getter=lambda o: o.case.xid,
            required=required,
            required_alt="caseId",
        ),
    ]


def assignee_spec(access: Access = Access.CU) -> FieldSpec:
    return FieldSpec(
        "assignee",
        "Assignee",
        access,
        getter=assignee_output,
        description="The user or group assigned",
    )


TAGS = register_resource(
    Resource(
        name="tags",
        model=m.Tag,
        tql=tql.TAGS,
        select=("owner",),
        fields=[
            FieldSpec("id", "Integer", RO),
            FieldSpec("name", "String", CU, required=True, max_length=128),
            FieldSpec("description", "String", CU),
            FieldSpec("owner", "String", RO, getter=lambda t: t.owner.name),
            FieldSpec("lastUsed", "Date", RO, attr="last_used"),
            FieldSpec("techniqueId", "String", RO, attr="technique_id"),
            FieldSpec(
                "cases", "Case", RO, attr="cases", resource="cases", many=True, expand="cases"
            ),
        ],
        expansions=[
            Expansion(
                "cases",
                "Includes the cases with the tag",
            )
        ],
    )
)

ARTIFACT_TYPES = register_resource(
    Resource(
        name="artifactTypes",
        model=m.ArtifactType,
        tql=tql.ARTIFACT_TYPES,
        fields=[
            FieldSpec("id", "Integer", RO),
            FieldSpec("name", "String", RO),
            FieldSpec("description", "String", RO),
            FieldSpec("dataType", "String", RO, attr="data_type"),
            FieldSpec("intelType", "String", RO, attr="intel_type"),
            FieldSpec("derivedLink", "Boolean", RO, attr="derived_link"),
            FieldSpec("active", "Boolean", RO),
            FieldSpec("managed", "Boolean", RO),
        ],
    )
)

NOTES = register_resource(
    Resource(
        name="notes",
        model=m.Note,
        tql=tql.NOTES,
        select=("author", "case"),
        fields=[
            FieldSpec("id", "Integer", RO),
            *case_id_specs(
                required=False,
                description="The case the note belongs to; not needed when a task, artifact "
                "or workflow event is given",
            ),
            FieldSpec("artifactId", "Integer", C, attr="artifact_id"),
            FieldSpec("taskId", "Integer", C, attr="task_id"),
            FieldSpec("taskXid", "String", C, write_only=True),
            FieldSpec("workflowEventId", "Integer", C, attr="workflow_event_id"),
            FieldSpec("text", "String", CU, required=True, min_length=1, max_length=65500),
            FieldSpec("summary", "String", RO),
            FieldSpec(
                "author", "String", RO, getter=lambda n: n.author.username if n.author else None
            ),
            FieldSpec("dateAdded", "Date", RO, attr="date_added"),
            FieldSpec("lastModified", "Date", RO, attr="last_modified"),
            FieldSpec("edited", "Boolean", RO),
            FieldSpec("parentCase", "Case", RO, attr="case", resource="cases", expand="parentCase"),
            FieldSpec("task", "Task", RO, resource="tasks", expand="task"),
            FieldSpec("artifact", "Artifact", RO, resource="artifacts", expand="artifact"),
            FieldSpec(
                "workflowEvent",
                "WorkflowEvent",
                RO,
                attr="workflow_event",
                resource="workflowEvents",
                expand="workflowEvent",
            ),
        ],
        expansions=[
            Expansion(
                "artifact",
                "Includes the artifact the note is on",
            ),
            Expansion("caseId", "Includes the case id"),
            Expansion(
                "parentCase",
                "Includes the parent case",
            ),
            Expansion(
                "task",
                "Includes the task the note is on",
            ),
            Expansion(
                "workflowEvent",
                "Includes the workflow event the note is on",
            ),
        ],
    )
)

CASE_OPINIONS = register_resource(
    Resource(
        name="caseOpinions",
        model=m.CaseOpinion,
        tql=tql.CASE_OPINIONS,
        select=("author", "case"),
        fields=[
            FieldSpec("id", "Integer", RO),
            *case_id_specs(required=True, description="The case the opinion is about"),
            FieldSpec(
                "opinion",
                "String",
                CU,
                required=True,
                choices=tuple(ch.OpinionChoices.values),
                description="The STIX opinion on the case",
            ),
            FieldSpec("explanation", "String", CU, max_length=65500),
            FieldSpec("author", "User", RO),
            FieldSpec("dateAdded", "Date", RO, attr="date_added"),
            FieldSpec("lastModified", "Date", RO, attr="last_modified"),
            FieldSpec("parentCase", "Case", RO, attr="case", resource="cases", expand="parentCase"),
        ],
        expansions=[Expansion("parentCase", "Includes the case")],
    )
)

CASE_STATUS_TEMPLATES = register_resource(
    Resource(
        name="caseStatusTemplates",
        model=m.CaseStatusTemplate,
        tql=tql.CASE_STATUS_TEMPLATES,
        ordering=("case_type", "order", "name", "id"),
        fields=[
            FieldSpec("id", "Integer", RO),
            FieldSpec(
                "caseType",
                "String",
                CU,
                attr="case_type",
                getter=lambda t: t.case_type or None,
                description="The case type the status is for; none means every type",
            ),
            FieldSpec("name", "String", CU, required=True, min_length=1, max_length=64),
            FieldSpec("order", "Integer", CU, default=0, min_value=0),
            FieldSpec(
                "closesCase",
                "Boolean",
                CU,
                attr="closes_case",
                default=False,
                description="Setting the status closes the case",
            ),
        ],
    )
)

ARTIFACTS = register_resource(
    Resource(
        name="artifacts",
        model=m.Artifact,
        tql=tql.ARTIFACTS,
        select=("artifact_type", "case", "observable"),
        fields=[
            FieldSpec("id", "Integer", RO),
            *case_id_specs(
                required=False, description="The case; not needed when taskId or taskXid is given"
            ),
            FieldSpec("taskId", "Integer", C, attr="task_id"),
            FieldSpec("taskXid", "String", C, write_only=True),
            FieldSpec(
                "summary",
                "String",
                CU,
                required=True,
                max_length=65500,
                description="The value of the artifact (the file name for file types)",
            ),
            FieldSpec(
                "type",
                "String",
                C,
                getter=lambda a: a.artifact_type.name,
                required=True,
                description="The artifact type name",
            ),
            FieldSpec("intelType", "String", RO, getter=lambda a: a.artifact_type.intel_type),
            FieldSpec("source", "String", CU, max_length=255),
            FieldSpec("fieldName", "String", CU, attr="field_name", max_length=255),
            FieldSpec(
                "fileData",
                "String",
                CU,
                attr="file_data",
                expand="fileData",
                description="Base64 file content (file artifact types only)",
            ),
            FieldSpec("hashCode", "String", CU, attr="hash_code"),
            FieldSpec("derivedLink", "Boolean", CU, attr="derived_link"),
            FieldSpec("dateAdded", "Date", RO, attr="date_added"),
            FieldSpec(
                "observableId",
                "String",
                RO,
                getter=lambda a: a.observable.stix_id if a.observable_id else None,
                description="The STIX id of the observable the artifact stands for",
            ),
            FieldSpec(
                "indicators",
                "Indicator",
                RO,
                resource="intelObjects",
                many=True,
                expand="indicators",
                description="Indicators based on the artifact's observable",
            ),
            FieldSpec("notes", "Note", CU, resource="notes", many=True, expand="notes"),
            FieldSpec("task", "Task", RO, resource="tasks", expand="task"),
            FieldSpec("parentCase", "Case", RO, attr="case", resource="cases", expand="parentCase"),
            FieldSpec(
                "artifactType",
                "ArtifactType",
                RO,
                attr="artifact_type",
                resource="artifactTypes",
                expand="artifactType",
            ),
        ],
        expansions=[
            Expansion("artifactType", "Includes the artifact type"),
            Expansion("fileData", "Includes the base64 file content"),
            Expansion(
                "indicators",
                "Includes the indicators based on the artifact's observable",
                attach=attach_artifact_indicators,
            ),
            Expansion(
                "notes",
                "Includes the notes on the artifact",
            ),
            Expansion(
                "parentCase",
                "Includes the parent case",
            ),
            Expansion(
                "task",
                "Includes the task",
            ),
        ],
    )
)

TASKS = register_resource(
    Resource(
        name="tasks",
        model=m.Task,
        tql=tql.TASKS,
        xid_lookup=True,
        select=("case__owner", "assignee_user", "assignee_group", "completed_by"),
        defer=user_summary_defer("assignee_user", "completed_by"),
        ordering=("workflow_phase", "workflow_step", "id"),
        fields=[
            FieldSpec("id", "Integer", RO),
            FieldSpec("xid", "String", C, max_length=100),
            *case_id_specs(required=True),
            FieldSpec("name", "String", CU, required=True, max_length=255),
            FieldSpec("description", "String", CU),
            FieldSpec("workflowPhase", "Integer", C, attr="workflow_phase", min_value=0),
            FieldSpec("workflowStep", "Integer", C, attr="workflow_step", min_value=0),
            FieldSpec("dueDate", "Date", CU, attr="due_date"),
            FieldSpec("required", "Boolean", CU, default=False),
            FieldSpec("dependentOnId", "Integer", CU, attr="dependent_on_id"),
            FieldSpec(
                "status", "String", CU, choices=tuple(ch.TaskStatusChoices.values), default="Open"
            ),
            FieldSpec("completedDate", "Date", CU, attr="completed_date"),
            FieldSpec(
                "completedBy",
                "String",
                RO,
                getter=lambda t: t.completed_by.username if t.completed_by else None,
            ),
            FieldSpec("duration", "Integer", RO),
            FieldSpec(
                "durationType",
                "String",
                CU,
                attr="duration_type",
                choices=tuple(ch.DurationTypeChoices.values),
            ),
            assignee_spec(),
            FieldSpec("configTask", "List", RO, attr="config_task"),
            FieldSpec("configPlaybook", "String", RO, attr="config_playbook"),
            FieldSpec("owner", "String", RO, getter=lambda t: t.case.owner.name),
            FieldSpec(
                "artifacts", "Artifact", CU, resource="artifacts", many=True, expand="artifacts"
            ),
            FieldSpec("notes", "Note", CU, resource="notes", many=True, expand="notes"),
            FieldSpec("parentCase", "Case", RO, attr="case", resource="cases", expand="parentCase"),
        ],
        expansions=[
            Expansion(
                "artifacts",
                "Includes the task's artifacts",
            ),
            Expansion("caseId", "Includes the case id"),
            Expansion(
                "notes",
                "Includes the task's notes",
            ),
            Expansion(
                "parentCase",
                "Includes the parent case",
            ),
        ],
    )
)

WORKFLOW_EVENTS = register_resource(
    Resource(
        name="workflowEvents",
        model=m.WorkflowEvent,
        tql=tql.WORKFLOW_EVENTS,
        select=("case", "user"),
        ordering=("event_date", "id"),
        fields=[
            FieldSpec("id", "Integer", RO),
            *case_id_specs(required=True),
            FieldSpec("summary", "String", CU, required=True, max_length=65500),
            FieldSpec("eventDate", "Date", CU, attr="event_date"),
            FieldSpec("dateAdded", "Date", RO, attr="date_added"),
            FieldSpec("systemGenerated", "Boolean", RO, attr="system_generated"),
            FieldSpec("link", "String", RO, getter=lambda e: e.link or None),
            FieldSpec("linkText", "String", RO, getter=lambda e: e.link_text or None),
            FieldSpec("user", "User", RO),
            FieldSpec("deleted", "Boolean", RO),
            FieldSpec("deletedReason", "String", RO, getter=lambda e: e.deleted_reason or None),
            FieldSpec("notes", "Note", CU, resource="notes", many=True, expand="notes"),
            FieldSpec("parentCase", "Case", RO, attr="case", resource="cases", expand="parentCase"),
        ],
        expansions=[
            Expansion(
                "notes",
                "Includes the event's notes",
            ),
            Expansion(
                "parentCase",
                "Includes the parent case",
            ),
        ],
    )
)

WORKFLOW_TEMPLATES = register_resource(
    Resource(
        name="workflowTemplates",
        model=m.WorkflowTemplate,
        tql=tql.WORKFLOW_TEMPLATES,
        select=("owner", "assignee_user", "assignee_group"),
        fields=[
            FieldSpec("id", "Integer", RO),
            FieldSpec("name", "String", CU, required=True, max_length=255),
            FieldSpec("description", "String", CU),
            FieldSpec("version", "Integer", CU, default=1, min_value=1),
            FieldSpec("configAttribute", "List", CU, attr="config_attribute"),
            FieldSpec(
                "configTask",
                "List",
                CU,
                attr="config_task",
                description="Task definitions applied to cases created from the template",
            ),
            FieldSpec("configPlaybook", "String", RO, attr="config_playbook"),
            FieldSpec("configArtifact", "String", RO, attr="config_artifact"),
            FieldSpec("active", "Boolean", RO, default=False),
            assignee_spec(Access.RO),
            FieldSpec("owner", "String", RO, getter=lambda w: w.owner.name),
            FieldSpec("ownerId", "Integer", RO, attr="owner_id"),
            FieldSpec("cases", "Case", RO, resource="cases", many=True, expand="cases"),
        ],
        expansions=[
            Expansion(
                "cases",
                "Includes the cases created from the template",
            ),
        ],
    )
)

CASE_ATTRIBUTES = register_resource(
    Resource(
        name="caseAttributes",
        model=m.CaseAttribute,
        tql=tql.CASE_ATTRIBUTES,
        select=("attribute_type", "created_by", "case"),
        fields=[
            FieldSpec("id", "Integer", RO),
            *case_id_specs(required=True),
            FieldSpec(
                "type",
                "String",
                C,
                getter=lambda a: a.attribute_type.name,
                required=True,
                description="The attribute type name",
            ),
            FieldSpec("value", "String", CU, required=True, max_length=65500),
            FieldSpec("source", "String", CU, max_length=255),
            FieldSpec("default", "Boolean", CU),
            FieldSpec("pinned", "Boolean", CU),
            FieldSpec("dateAdded", "Date", RO, attr="date_added"),
            FieldSpec("lastModified", "Date", RO, attr="last_modified"),
            FieldSpec("createdBy", "User", RO, attr="created_by"),
        ],
    )
)

CASES = register_resource(
    Resource(
        name="cases",
        model=m.Case,
        tql=tql.CASES,
        xid_lookup=True,
        select=("owner", "assignee_user", "assignee_group", "detailed_status", *USER_FIELDS),
        defer=user_summary_defer("assignee_user", *USER_FIELDS),
        fields=[
            FieldSpec("id", "Integer", RO),
            FieldSpec("xid", "String", C, max_length=100),
            FieldSpec("name", "String", CU, required=True, max_length=255),
            FieldSpec("description", "String", CU),
            FieldSpec(
                "status",
                "String",
                CU,
                required=True,
                choices=tuple(ch.CaseStatusChoices.values),
                default="Open",
            ),
            FieldSpec(
                "severity",
                "String",
                CU,
                required=True,
                choices=tuple(ch.CaseSeverityChoices.values),
            ),
            FieldSpec(
                "resolution",
                "String",
                CU,
                choices=tuple(ch.CaseResolutionChoices.values),
                default="Not Specified",
            ),
            FieldSpec("caseOpenTime", "Date", CU, attr="case_open_time"),
            FieldSpec("caseOpenUser", "User", RO, attr="case_open_user"),
            FieldSpec("caseCloseTime", "Date", CU, attr="case_close_time"),
            FieldSpec("caseCloseUser", "User", RO, attr="case_close_user"),
            FieldSpec("caseOccurrenceTime", "Date", CU, attr="case_occurrence_time"),
            FieldSpec("caseOccurrenceUser", "User", RO, attr="case_occurrence_user"),
            FieldSpec("caseDetectionTime", "Date", CU, attr="case_detection_time"),
            FieldSpec("caseDetectionUser", "User", RO, attr="case_detection_user"),
            FieldSpec("createdBy", "User", RO, attr="created_by"),
            FieldSpec("dateAdded", "Date", RO, attr="date_added"),
            FieldSpec("lastUpdated", "Date", RO, attr="last_updated"),
            FieldSpec("detectionDue", "Date", RO, attr="detection_due"),
            FieldSpec("detectionOverdue", "Boolean", RO, attr="detection_overdue", default=False),
            FieldSpec("responseDue", "Date", RO, attr="response_due"),
            FieldSpec("responseOverdue", "Boolean", RO, attr="response_overdue", default=False),
            FieldSpec("timeToDetect", "Integer", RO, attr="time_to_detect"),
            FieldSpec("timeToRespond", "Integer", RO, attr="time_to_respond"),
            FieldSpec(
                "caseType",
                "String",
                CU,
                attr="case_type",
                getter=lambda c: c.case_type or None,
                choices=tuple(ch.CaseTypeChoices.values),
            ),
            FieldSpec(
                "priority",
                "String",
                CU,
                getter=lambda c: c.priority or None,
                choices=tuple(ch.CasePriorityChoices.values),
            ),
            FieldSpec(
                "caseTypeValues",
                "List",
                CU,
                attr="type_values",
                getter=lambda c: c.type_values or None,
                description="Response, information or takedown types of the case type",
            ),
            FieldSpec(
                "detailedStatus",
                "String",
                CU,
                attr="detailed_status",
                getter=lambda c: c.detailed_status.name if c.detailed_status_id else None,
                description="An administrator-defined status for the case type "
                "(see caseStatusTemplates); one that closes the case sets status Closed",
            ),
            FieldSpec("owner", "String", RO, getter=lambda c: c.owner.name),
            FieldSpec("ownerId", "Integer", RO, attr="owner_id"),
            assignee_spec(),
            FieldSpec(
                "artifacts",
                "Artifact",
                CU,
                resource="artifacts",
                many=True,
                expand="artifacts",
                modes=True,
            ),
            FieldSpec("tasks", "Task", CU, resource="tasks", many=True, expand="tasks"),
            FieldSpec("notes", "Note", CU, resource="notes", many=True, expand="notes"),
            FieldSpec(
                "opinions",
                "CaseOpinion",
                RO,
                resource="caseOpinions",
                many=True,
                expand="opinions",
            ),
            FieldSpec("tags", "Tag", CU, resource="tags", many=True, expand="tags", modes=True),
            FieldSpec(
                "attributes",
                "CaseAttribute",
                CU,
                resource="caseAttributes",
                many=True,
                expand="attributes",
                modes=True,
            ),
            FieldSpec(
                "associatedCases",
                "Case",
                CU,
                attr="associated_cases",
                resource="cases",
                many=True,
                expand="associatedCases",
                modes=True,
            ),
            FieldSpec(
                "intelObjects",
                "StixObject",
                CU,
                attr="intel_objects",
                resource="intelObjects",
                many=True,
                expand="intelObjects",
                modes=True,
                description='Graph objects the case holds: {"id": STIX id} or STIX objects',
            ),
            FieldSpec(
                "userAccess",
                "User",
                CU,
                attr="user_access",
                resource="users",
                many=True,
                expand="userAccess",
            ),
            FieldSpec(
                "workflowEvents",
                "WorkflowEvent",
                CU,
                attr="workflow_events",
                resource="workflowEvents",
                many=True,
                expand="workflowEvents",
            ),
            FieldSpec(
                "workflowTemplate",
                "WorkflowTemplate",
                CU,
                attr="workflow_template",
                resource="workflowTemplates",
                expand="workflowTemplate",
            ),
            FieldSpec(
                "related",
                "Case",
                RO,
                attr="related_cases",
                resource="cases",
                many=True,
                expand="related",
            ),
        ],
        expansions=[],
    )
)


def _case_expansions() -> list[Expansion]:
    return [
        Expansion(
            "intelObjects",
            "Includes the graph objects the case holds",
            attach=attach_case_intel,
        ),
        Expansion(
            "artifacts",
            "Includes the case's artifacts",
        ),
        Expansion(
            "associatedCases",
            "Includes associated cases",
        ),
        Expansion(
            "attributes",
            "Includes the case's attributes",
        ),
        Expansion("notes", "Includes the case's notes"),
        Expansion("opinions", "Includes users' opinions on the case"),
        Expansion(
            "related",
            "Includes cases related through derived-link artifacts",
            attach=attach_related_cases,
        ),
        Expansion("tags", "Includes the case's tags"),
        Expansion("tasks", "Includes the case's tasks"),
        Expansion(
            "userAccess",
            "Includes the users allowed to see the case",
        ),
        Expansion("userDetails", "Includes details of the users who changed the case"),
        Expansion(
            "workflowEvents",
            "Includes the case's timeline",
            prefetch=(
                Prefetch(
                    "workflow_events",
                    queryset=m.WorkflowEvent.objects.select_related("user", "case").filter(
                        deleted=False
                    ),
                ),
            ),
        ),
        Expansion(
            "workflowTemplate",
            "Includes the workflow template",
        ),
    ]


CASES.expansions = _case_expansions()
