"""Input of /v3/caseAutomations (camelCase, as the other v3 resources) and its output."""

from rest_framework import serializers

from cases.models import WorkflowTemplate
from cti.api.errors import V3Error
from cti.automation.choices import TriggerKind
from cti.automation.models import CaseAutomation
from cti.automation.validation import AutomationInvalid, assignee_ref
from cti.security.models import User


class CaseAutomationInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=255)
    description = serializers.CharField(allow_blank=True, required=False)
    enabled = serializers.BooleanField(required=False)
    eventKind = serializers.ChoiceField(choices=TriggerKind.choices, source="event_kind")
    tql = serializers.CharField(allow_blank=True, required=False, max_length=10000)
    indicatorTql = serializers.CharField(
        allow_blank=True, required=False, max_length=10000, source="indicator_tql"
    )
    minSeverity = serializers.CharField(
        allow_blank=True, required=False, max_length=16, source="min_severity"
    )
    workflowTemplate = serializers.DictField(
        allow_null=True, required=False, source="workflow_template"
    )
    caseName = serializers.CharField(
        allow_blank=True, required=False, max_length=255, source="case_name"
    )
    caseDescription = serializers.CharField(
        allow_blank=True, required=False, source="case_description"
    )
    severity = serializers.CharField(allow_blank=True, required=False, max_length=16)
    severityMap = serializers.DictField(required=False, source="severity_map")
    priority = serializers.CharField(allow_blank=True, required=False, max_length=16)
    priorityMap = serializers.DictField(required=False, source="priority_map")
    assignee = serializers.DictField(allow_null=True, required=False)
    tasks = serializers.ListField(child=serializers.DictField(), required=False)
    contextDepth = serializers.IntegerField(
        min_value=0, max_value=2, required=False, source="context_depth"
    )
    groupingDays = serializers.IntegerField(
        min_value=0, max_value=3650, required=False, source="grouping_days"
    )
    runAs = serializers.DictField(allow_null=True, required=False, source="run_as")


def model_data(validated: dict) -> dict:
    """Validated input -> model attribute values (references resolved)."""
    data = dict(validated)
    if "workflow_template" in data:
        data["workflow_template"] = _template(data["workflow_template"])
    if "run_as" in data:
        data["run_as"] = _user(data["run_as"])
    if "assignee" in data:
        try:
            ref = assignee_ref(data.pop("assignee") or {"type": "None"}, "assignee")
        except AutomationInvalid as exc:
            raise V3Error(str(exc)) from None
        kind = ref["type"] if ref else None
        data["assignee_user_id"] = ref["data"]["id"] if kind == "User" else None
        data["assignee_group_id"] = ref["data"]["id"] if kind == "Group" else None
    return data


def _template(value: dict | None) -> WorkflowTemplate | None:
    if not value:
        return None
    if value.get("id") is not None:
        template = WorkflowTemplate.objects.filter(pk=_int(value["id"])).first()
    elif value.get("name"):
        template = WorkflowTemplate.objects.filter(name=value["name"]).order_by("-version").first()
    else:
        raise V3Error("workflowTemplate needs an id or a name.")
    if template is None:
        raise V3Error(f"Workflow template not found: {value!r}")
    return template


def _user(value: dict | None) -> User | None:
    if not value:
        return None
    if value.get("id") is not None:
        user = User.objects.filter(pk=_int(value["id"])).first()
    elif value.get("userName"):
        user = User.objects.filter(username=value["userName"]).first()
    else:
        raise V3Error("runAs needs an id or a userName.")
    if user is None:
        raise V3Error(f"runAs user not found: {value!r}")
    return user


def _int(value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise V3Error(f"invalid id {value!r}") from None


def _user_json(user: User | None) -> dict | None:
    return {"id": user.pk, "userName": user.username} if user else None


def automation_json(a: CaseAutomation) -> dict:
    if a.assignee_user_id:
        assignee = {"type": "User", "data": _user_json(a.assignee_user)}
    elif a.assignee_group_id:
        assignee = {
            "type": "Group",
            "data": {"id": a.assignee_group.pk, "name": a.assignee_group.name},
        }
    else:
        assignee = None
    template = a.workflow_template
    return {
        "id": a.pk,
        "name": a.name,
        "description": a.description,
        "enabled": a.enabled,
        "eventKind": a.event_kind,
        "tql": a.tql,
        "indicatorTql": a.indicator_tql,
        "minSeverity": a.min_severity or None,
        "workflowTemplate": (
            {"id": template.pk, "name": template.name, "version": template.version}
            if template
            else None
        ),
        "caseName": a.case_name,
        "caseDescription": a.case_description,
        "severity": a.severity or None,
        "severityMap": a.severity_map,
        "priority": a.priority or None,
        "priorityMap": a.priority_map,
        "assignee": assignee,
        "tasks": a.tasks,
        "contextDepth": a.context_depth,
        "groupingDays": a.grouping_days,
        "runAs": _user_json(a.run_as),
        "createdBy": _user_json(a.created_by),
        "dateAdded": a.date_added,
        "lastUpdated": a.last_updated,
    }
