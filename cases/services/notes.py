from cases.models import Artifact, Note, Task, WorkflowEvent
from cases.services.common import bad_request, child_errors, get_or_bad, nested, validate_child
from cases.services.events import system_event


def note_create(*, user, data: dict) -> Note:
    from cases.services.cases import case_from_ids

    parents = {
        "task": _ref(user, Task, "Task", data.get("task_id"), data.get("taskXid")),
        "artifact": _ref(user, Artifact, "Artifact", data.get("artifact_id")),
        "workflow_event": _ref(
            user, WorkflowEvent, "Workflow event", data.get("workflow_event_id")
        ),
    }
    owner = next((p for p in parents.values() if p is not None), None)
    if data.get("case_id") is not None or data.get("caseXid"):
        case = case_from_ids(data, user)
    elif owner is not None:
        case = owner.case
    else:
        raise bad_request("caseId or caseXid (or a task, artifact or workflow event) is required.")
    for parent in parents.values():
        if parent is not None and parent.case_id != case.pk:
            raise bad_request("The note's parent does not belong to the given case.")
    text = data.get("text") or ""
    if not text.strip():
        raise bad_request("text must not be empty.")
    note = Note.objects.create(case=case, text=text, author=_author(user), **parents)
    system_event(case, "Added a note", user, about=note)
    return note


def _author(user):
    return user if user and user.is_authenticated else None


def _ref(user, model, what: str, pk=None, xid=None):
    if pk is not None:
        return get_or_bad(model, what, seen_by=user, pk=pk)
    if xid:
        return get_or_bad(model, what, seen_by=user, xid=xid)
    return None


def note_update(*, user, instance: Note, data: dict) -> Note:
    text = data.get("text")
    if text is not None:
        if not text.strip():
            raise bad_request("text must not be empty.")
        if text != instance.text:
            instance.text = text
            instance.edited = True
            instance.save()
    return instance


def note_delete(*, user, instance: Note, data: dict) -> None:
    instance.delete()


def create_nested_notes(user, data: dict, **parent) -> None:
    items = nested(data, "notes")
    if not items:
        return
    ids = {"caseId": parent["case"].pk}
    if parent.get("artifact"):
        ids["artifactId"] = parent["artifact"].pk
    if parent.get("workflow_event"):
        ids["workflowEventId"] = parent["workflow_event"].pk
    for n, item in enumerate(items.items):
        if item.get("id") is not None:
            continue
        child = validate_child("notes", item, ids, f"notes[{n}]")
        with child_errors(f"notes[{n}]"):
            note_create(user=user, data=child)
