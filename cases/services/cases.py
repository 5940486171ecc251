from django.conf import settings
from django.utils import timezone

from cases.choices import CaseStatusChoices, TaskStatusChoices
from cases.models import Case, WorkflowTemplate
from cases.services import announce
from cases.services.assignees import apply_assignee
from cases.services.common import bad_request, get_or_bad, set_fields
from cases.services.events import system_event
from cases.services.statuses import apply_detailed_status
from cti.security.services import owner_for_write
from cti.security.visibility import visible

SCALARS = ("name", "description", "severity", "resolution", "case_type", "priority", "type_values")
TIMES = ("case_open_time", "case_close_time", "case_occurrence_time", "case_detection_time")


def case_from_ids(data: dict, user) -> Case:
    """The case named by caseId or caseXid in a child's input (one the user may see)."""
    if data.get("case_id") is not None:
        return get_or_bad(Case, "Case", seen_by=user, pk=data["case_id"])
    if data.get("caseXid"):
        return get_or_bad(Case, "Case", seen_by=user, xid=data["caseXid"])
    raise bad_request("caseId or caseXid is required.")


def _seconds(start, end) -> int | None:
    return int((end - start).total_seconds()) if start and end else None


def refresh_sla(case: Case) -> None:
    """Deadlines from the configured durations; elapsed times from the recorded ones."""
    case.detection_due = (
        case.case_occurrence_time + settings.CTI_SLA_DETECTION
        if case.case_occurrence_time
        else None
    )
    case.response_due = case.case_open_time + settings.CTI_SLA_RESPONSE
    case.time_to_detect = _seconds(case.case_occurrence_time, case.case_detection_time)
    case.time_to_respond = _seconds(case.case_open_time, case.case_close_time)


def _set_times(case: Case, user, data: dict) -> None:
    for name in TIMES:
        if name in data and data[name] is not None:
            setattr(case, name, data[name])
            setattr(case, name.replace("_time", "_user"), user)


def _check_can_close(case: Case) -> None:
    open_required = case.tasks.filter(required=True).exclude(status=TaskStatusChoices.CLOSED)
    names = list(open_required.values_list("name", flat=True)[:10])
    if names:
        raise bad_request(
            "Case cannot be closed while required tasks are not completed: "
            + ", ".join(repr(n) for n in names)
        )


def _apply_status(case: Case, user, status: str | None, data: dict) -> str | None:
    if not status or status == case.status:
        return None
    previous = case.status
    case.status = status
    if status == CaseStatusChoices.CLOSED:
        _check_can_close(case)
        case.case_close_time = data.get("case_close_time") or timezone.now()
        case.case_close_user = user
    else:
        case.case_close_time = None
        case.case_close_user = None
    return previous


def _template_ref(value: dict | None, user) -> WorkflowTemplate | None:
    if not value:
        return None
    if value.get("id") is not None:
        return get_or_bad(WorkflowTemplate, "Workflow template", seen_by=user, pk=value["id"])
    if value.get("name"):
        named = WorkflowTemplate.objects.filter(name=value["name"]).order_by("-version")
        template = visible(named, user).first()
        if template is None:
            raise bad_request(f"Workflow template not found (name={value['name']!r}).")
        return template
    raise bad_request("workflowTemplate needs an id or a name.")


def case_create(*, user, data: dict) -> Case:
    from cases.services.children import create_children
    from cases.services.templates import apply_template

    now = timezone.now()
    case = Case(
        owner=owner_for_write(user, data),
        created_by=user,
        case_open_time=data.get("case_open_time") or now,
        case_open_user=user,
        status=CaseStatusChoices.OPEN,
    )
    if data.get("xid"):
        if Case.objects.filter(xid=data["xid"]).exists():
            raise bad_request(f"A case with xid {data['xid']!r} already exists.")
        case.xid = data["xid"]
    set_fields(case, data, SCALARS)
    _set_times(case, user, data)
    if "assignee" in data:
        apply_assignee(case, data["assignee"])
    template = _template_ref(data.get("workflow_template"), user)
    case.workflow_template = template
    closes = apply_detailed_status(case, data)
    refresh_sla(case)
    case.save()
    system_event(case, "Case created", user)
    if template:
        announce.tasks_assigned(apply_template(case, template, user), user)
    create_children(case, user, data, updating=False)
    if closes or data.get("status") == CaseStatusChoices.CLOSED:
        _apply_status(case, user, CaseStatusChoices.CLOSED, data)
        refresh_sla(case)
        case.save()
        system_event(case, "Case status changed from Open to Closed", user)
    announce.case_created(case, user)
    return case


def case_update(*, user, instance: Case, data: dict) -> Case:
    from cases.services.children import create_children

    case = Case.objects.select_for_update().get(pk=instance.pk)
    changed = set_fields(case, data, SCALARS)
    closes = apply_detailed_status(case, data)
    _set_times(case, user, data)
    assignee_changed = "assignee" in data and apply_assignee(case, data["assignee"])
    if data.get("workflow_template"):
        from cases.services.templates import apply_template

        template = _template_ref(data["workflow_template"], user)
        if template and template.pk != case.workflow_template_id:
            case.workflow_template = template
            case.save()
            announce.tasks_assigned(apply_template(case, template, user), user)
    create_children(case, user, data, updating=True)
    previous = _apply_status(case, user, closes or data.get("status"), data)
    refresh_sla(case)
    case.save()
    if previous:
        system_event(case, f"Case status changed from {previous} to {case.status}", user)
        announce.case_status_changed(case, user, previous)
    if "severity" in changed:
        system_event(case, f"Case severity changed to {case.severity}", user)
    if assignee_changed:
        who = case.assignee_user or case.assignee_group
        system_event(case, f"Case assigned to {who}" if who else "Case unassigned", user)
        if who:
            announce.case_assigned(case, user)
    return case


def case_delete(*, user, instance: Case, data: dict) -> None:
    instance.delete()
