from django.db.models import Model
from django.utils import timezone

from cases.models import Case, WorkflowEvent
from cases.services.common import bad_request

_LINK_PATHS = {
    "Case": "cases",
    "Task": "tasks",
    "Artifact": "artifacts",
    "Note": "notes",
    "CaseAttribute": "caseAttributes",
    "WorkflowEvent": "workflowEvents",
}


def link_for(obj: Model) -> str:
    return f"/api/v3/{_LINK_PATHS[type(obj).__name__]}/{obj.pk}"


def system_event(case: Case, summary: str, user=None, about: Model | None = None) -> WorkflowEvent:
    """Record an automatic timeline entry; system events cannot be edited or deleted."""
    return WorkflowEvent.objects.create(
        case=case,
        summary=summary,
        event_date=timezone.now(),
        system_generated=True,
        user=user if user and user.is_authenticated else None,
        link=link_for(about or case),
        link_text=str(getattr(about or case, "name", "") or "")[:255],
    )


def workflow_event_create(*, user, data: dict) -> WorkflowEvent:
    from cases.services.cases import case_from_ids
    from cases.services.notes import create_nested_notes

    case = case_from_ids(data, user)
    event = WorkflowEvent.objects.create(
        case=case,
        summary=data["summary"],
        event_date=data.get("event_date") or timezone.now(),
        user=user,
        system_generated=False,
    )
    create_nested_notes(user, data, case=case, workflow_event=event)
    return event


def workflow_event_update(*, user, instance: WorkflowEvent, data: dict) -> WorkflowEvent:
    from cases.services.notes import create_nested_notes

    if instance.system_generated and ({"summary", "event_date"} & data.keys()):
        raise bad_request("System-generated workflow events cannot be modified.")
    for name in ("summary", "event_date"):
        if name in data and data[name] is not None:
            setattr(instance, name, data[name])
    instance.save()
    create_nested_notes(user, data, case=instance.case, workflow_event=instance)
    return instance


def workflow_event_delete(*, user, instance: WorkflowEvent, data: dict) -> None:
    if instance.system_generated:
        raise bad_request("System-generated workflow events cannot be deleted.")
    reason = (data or {}).get("deletedReason")
    if not isinstance(reason, str) or not reason.strip():
        raise bad_request("deletedReason is required to delete a workflow event.")
    instance.deleted = True
    instance.deleted_reason = reason
    instance.save(update_fields=["deleted", "deleted_reason"])
