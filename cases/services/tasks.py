from datetime import timedelta

from django.utils import timezone

from cases.choices import DurationTypeChoices, TaskStatusChoices
from cases.models import Task
from cases.services import announce
from cases.services.assignees import apply_assignee
from cases.services.cases import case_from_ids
from cases.services.common import bad_request, set_fields
from cases.services.events import system_event

SCALARS = ("name", "description", "required", "due_date", "duration_type")
DURATION_UNITS = {
    DurationTypeChoices.DAYS: "days",
    DurationTypeChoices.HOURS: "hours",
    DurationTypeChoices.MINUTES: "minutes",
}


def due_after(start, duration: int | None, duration_type: str | None):
    if not duration or not duration_type:
        return None
    return start + timedelta(**{DURATION_UNITS[DurationTypeChoices(duration_type)]: duration})


def _dependency(task: Task, dependent_on_id: int | None) -> None:
    if dependent_on_id is None:
        task.dependent_on = None
        return
    dependency = Task.objects.filter(pk=dependent_on_id, case_id=task.case_id).first()
    if dependency is None:
        raise bad_request(f"dependentOnId {dependent_on_id} is not a task of the same case.")
    if task.pk and (dependency.pk == task.pk or _depends_on(dependency, task.pk)):
        raise bad_request("Task dependencies cannot form a cycle.")
    task.dependent_on = dependency


def _depends_on(task: Task, target_id: int) -> bool:
    seen = set()
    current = task
    while current.dependent_on_id and current.dependent_on_id not in seen:
        if current.dependent_on_id == target_id:
            return True
        seen.add(current.dependent_on_id)
        current = Task.objects.only("id", "dependent_on_id").get(pk=current.dependent_on_id)
    return False


def _blocked(task: Task) -> bool:
    return bool(task.dependent_on and task.dependent_on.status != TaskStatusChoices.CLOSED)


def _complete(task: Task, user, when=None) -> None:
    task.completed_date = when or task.completed_date or timezone.now()
    task.completed_by = user if user and user.is_authenticated else None


def release_dependents(task: Task) -> None:
    """A closed task opens the tasks waiting on it and starts their due-date clocks."""
    now = timezone.now()
    for dependent in task.dependents.filter(status=TaskStatusChoices.PENDING):
        dependent.status = TaskStatusChoices.OPEN
        dependent.due_date = due_after(now, dependent.duration, dependent.duration_type) or (
            dependent.due_date
        )
        dependent.save(update_fields=["status", "due_date", "last_updated"])


def task_create(*, user, data: dict) -> Task:
    from cases.services.children import create_task_children

    case = case_from_ids(data, user)
    task = Task(case=case)
    if data.get("xid"):
        if Task.objects.filter(xid=data["xid"]).exists():
            raise bad_request(f"A task with xid {data['xid']!r} already exists.")
        task.xid = data["xid"]
    set_fields(task, data, SCALARS)
    for name in ("workflow_phase", "workflow_step"):
        if data.get(name) is not None:
            setattr(task, name, data[name])
    if "assignee" in data:
        apply_assignee(task, data["assignee"])
    _dependency(task, data.get("dependent_on_id"))
    status = data.get("status") or TaskStatusChoices.OPEN
    if _blocked(task) and status != TaskStatusChoices.CLOSED:
        status = TaskStatusChoices.PENDING
    task.status = status
    if status == TaskStatusChoices.CLOSED:
        _complete(task, user, data.get("completed_date"))
    task.save()
    system_event(case, f"Task added: {task.name}", user, about=task)
    announce.tasks_assigned([task], user)
    create_task_children(task, user, data)
    return task


def task_update(*, user, instance: Task, data: dict) -> Task:
    from cases.services.children import create_task_children

    # of=("self",): PostgreSQL refuses FOR UPDATE on the nullable side of the dependent_on join
    task = (
        Task.objects.select_for_update(of=("self",))
        .select_related("dependent_on")
        .get(pk=instance.pk)
    )
    set_fields(task, data, SCALARS)
    assigned = "assignee" in data and apply_assignee(task, data["assignee"])
    if "dependent_on_id" in data:
        _dependency(task, data["dependent_on_id"])
    if data.get("completed_date"):
        task.completed_date = data["completed_date"]
    previous = task.status
    status = data.get("status") or task.status
    if status != TaskStatusChoices.CLOSED and _blocked(task):
        status = TaskStatusChoices.PENDING
    elif previous == TaskStatusChoices.PENDING and not _blocked(task) and "status" not in data:
        status = TaskStatusChoices.OPEN
    task.status = status
    if status == TaskStatusChoices.CLOSED and previous != TaskStatusChoices.CLOSED:
        _complete(task, user, data.get("completed_date"))
    elif status != TaskStatusChoices.CLOSED and previous == TaskStatusChoices.CLOSED:
        task.completed_date, task.completed_by = None, None
    task.save()
    if status == TaskStatusChoices.CLOSED and previous != TaskStatusChoices.CLOSED:
        system_event(task.case, f"Task completed: {task.name}", user, about=task)
        release_dependents(task)
    if assigned:
        announce.tasks_assigned([task], user)
    create_task_children(task, user, data)
    return task


def task_delete(*, user, instance: Task, data: dict) -> None:
    case = instance.case
    name = instance.name
    release_dependents(instance)  # else they would wait for ever on a task that is gone
    instance.delete()
    system_event(case, f"Task deleted: {name}", user)
