"""Nested collections in a case body: tasks, artifacts, notes, tags, attributes, associated
cases, user access and timeline events, with ThreatConnect's append / replace / delete modes."""

from cases.models import Case
from cases.services.common import bad_request, child_errors, item_ids, nested, validate_child
from cti.api.inputs import NestedItems
from cti.security.models import User
from cti.security.visibility import visible


def _new_items(items: NestedItems, updating: bool) -> list[tuple[int, dict]]:
    """On update, items carrying an id reference existing children and are left alone; each
    new item keeps its position in the request so errors can name it."""
    return [(n, i) for n, i in enumerate(items.items) if not (updating and i.get("id") is not None)]


def create_children(case: Case, user, data: dict, *, updating: bool) -> None:
    from cases.services.artifacts import artifact_create
    from cases.services.attributes import apply_attributes
    from cases.services.events import workflow_event_create
    from cases.services.notes import note_create
    from cases.services.tags import apply_tags
    from cases.services.tasks import task_create

    parent = {"caseId": case.pk}
    plain = (
        ("tasks", "tasks", task_create),
        ("artifacts", "artifacts", artifact_create),
        ("notes", "notes", note_create),
        ("workflow_events", "workflowEvents", workflow_event_create),
    )
    for key, resource, create in plain:
        items = nested(data, key)
        if items is None:
            continue
        if key == "artifacts" and updating and items.mode in ("delete", "replace"):
            _delete_children(case.artifacts, items, replace=items.mode == "replace", what=resource)
            if items.mode == "delete":
                continue
        for n, item in _new_items(items, updating):
            child = validate_child(resource, item, parent, prefix=f"{resource}[{n}]")
            with child_errors(f"{resource}[{n}]"):
                create(user=user, data=child)
    if (items := nested(data, "tags")) is not None:
        apply_tags(case, items, user, updating=updating)
    if (items := nested(data, "attributes")) is not None:
        apply_attributes(case, items, user, updating=updating)
    if (items := nested(data, "associated_cases")) is not None:
        _apply_refs(case.associated_cases, Case, items, updating, user, exclude=case.pk)
    if (items := nested(data, "user_access")) is not None:
        _apply_users(case, items, updating)
    if (items := nested(data, "intel_objects")) is not None:
        from cases.services.graph import apply_intel_objects

        apply_intel_objects(case, items, user, updating=updating)


def _delete_children(manager, items: NestedItems, *, replace: bool, what: str) -> None:
    ids = item_ids(items.items, what)
    if replace:
        manager.exclude(pk__in=ids).delete()
    else:
        manager.filter(pk__in=ids).delete()


def _ref_ids(model, items: list[dict], what: str, user) -> list[int]:
    ids = []
    for item in items:
        try:
            ids.append(int(item["id"]))
        except (KeyError, TypeError, ValueError):
            raise bad_request(f"{what} items need an integer id.") from None
    found = set(visible(model.objects.filter(pk__in=ids), user).values_list("pk", flat=True))
    missing = [i for i in ids if i not in found]
    if missing:
        raise bad_request(f"{what} not found: {missing}")
    return ids


def _apply_refs(manager, model, items: NestedItems, updating: bool, user, exclude=None) -> None:
    ids = [i for i in _ref_ids(model, items.items, model.__name__, user) if i != exclude]
    mode = items.mode if updating else "append"
    if mode == "replace":
        manager.set(ids)
    elif mode == "delete":
        manager.remove(*ids)
    else:
        manager.add(*ids)


def _apply_users(case: Case, items: NestedItems, updating: bool) -> None:
    users = []
    for item in items.items:
        user = None
        if item.get("id") is not None:
            user = User.objects.filter(pk=item["id"]).first()
        elif item.get("userName"):
            user = User.objects.filter(username=item["userName"]).first()
        if user is None:
            raise bad_request(f"userAccess user not found: {item!r}")
        users.append(user)
    mode = items.mode if updating else "replace"
    if mode == "delete":
        case.user_access.remove(*users)
    elif mode == "append":
        case.user_access.add(*users)
    else:
        case.user_access.set(users)


def create_task_children(task, user, data: dict) -> None:
    """Artifacts and notes nested in a task belong to the task and its case."""
    from cases.services.artifacts import artifact_create
    from cases.services.notes import note_create

    parent = {"caseId": task.case_id, "taskId": task.pk}
    for key, resource, create in (
        ("artifacts", "artifacts", artifact_create),
        ("notes", "notes", note_create),
    ):
        items = nested(data, key)
        for n, item in _new_items(items, True) if items else []:
            child = validate_child(resource, item, parent, f"{resource}[{n}]")
            with child_errors(f"{resource}[{n}]"):
                create(user=user, data=child)
