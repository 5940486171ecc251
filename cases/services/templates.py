from django.utils import timezone

from cases.choices import TaskStatusChoices
from cases.models import Case, Task, WorkflowTemplate
from cases.services.assignees import resolve_assignee
from cases.services.common import bad_request, set_fields
from cases.services.events import system_event
from cases.services.tasks import due_after
from cti.security.services import owner_for_write

SCALARS = ("name", "description", "version", "config_attribute", "config_task")


def _check_config_task(config: list) -> None:
    if not isinstance(config, list):
        raise bad_request("configTask must be a list of task definitions.")
    names = set()
    for n, item in enumerate(config):
        if not isinstance(item, dict) or not str(item.get("name", "")).strip():
            raise bad_request(f"configTask[{n}] needs a name.")
        if item["name"] in names:
            raise bad_request(f"configTask[{n}].name {item['name']!r} is used twice.")
        names.add(item["name"])
        for key in ("workflowPhase", "workflowStep", "duration"):
            value = item.get(key)
            if value is not None and (type(value) is not int or value < 0):
                raise bad_request(f"configTask[{n}].{key} must be a non-negative integer.")
    for n, item in enumerate(config):
        dep = item.get("dependentOnTaskName")
        if dep and dep not in names:
            raise bad_request(f"configTask[{n}].dependentOnTaskName {dep!r} is not a task here.")
        if item.get("durationType") and item["durationType"] not in ("Days", "Hours", "Minutes"):
            raise bad_request(f"configTask[{n}].durationType must be Days, Hours or Minutes.")
    _check_no_cycle(config)


def _check_no_cycle(config: list) -> None:
    """Applying the template saves prerequisites first, so dependencies must form no loop."""
    depends = {item["name"]: item.get("dependentOnTaskName") for item in config}
    for start in depends:
        seen, current = set(), start
        while current:
            if current in seen:
                raise bad_request(f"configTask dependencies form a cycle through {start!r}.")
            seen.add(current)
            current = depends.get(current)


def _template_assignee(value: dict | None) -> dict | None:
    """configTask assignees come flat (`{"type", "id", "name", ...}`, reference §5.6) or in the
    request form (`{"type", "data": {...}}`)."""
    if not isinstance(value, dict) or "data" in value:
        return value
    kind = str(value.get("type", "")).strip().lower()
    if kind == "user":
        ref = {"id": value["id"]} if value.get("id") is not None else {}
        ref = ref or {"userName": value.get("userName") or value.get("name")}
    else:
        ref = {"id": value["id"]} if value.get("id") is not None else {"name": value.get("name")}
    return {"type": value.get("type"), "data": ref}


def workflow_template_create(*, user, data: dict) -> WorkflowTemplate:
    template = WorkflowTemplate(owner=owner_for_write(user, data))
    set_fields(template, data, SCALARS)
    _check_config_task(template.config_task)
    if WorkflowTemplate.objects.filter(
        owner=template.owner, name=template.name, version=template.version
    ).exists():
        raise bad_request(f"Template {template.name!r} version {template.version} exists.")
    template.save()
    return template


def workflow_template_update(*, user, instance: WorkflowTemplate, data: dict) -> WorkflowTemplate:
    set_fields(instance, data, SCALARS)
    _check_config_task(instance.config_task)
    instance.save()
    return instance


def workflow_template_delete(*, user, instance: WorkflowTemplate, data: dict) -> None:
    instance.delete()


def apply_template(case: Case, template: WorkflowTemplate, user) -> list[Task]:
    """Create the template's tasks on the case, in phase/step order, wiring dependencies."""
    now = timezone.now()
    created: dict[str, Task] = {}
    ordered = sorted(
        template.config_task,
        key=lambda t: (t.get("workflowPhase") or 0, t.get("workflowStep") or 0),
    )
    for item in ordered:
        user_, group = resolve_assignee(_template_assignee(item.get("assignee")))
        task = Task(
            case=case,
            name=item["name"],
            description=item.get("description") or "",
            required=bool(item.get("required")),
            workflow_phase=item.get("workflowPhase") or 0,
            workflow_step=item.get("workflowStep") or 1,
            duration=item.get("duration"),
            duration_type=item.get("durationType"),
            config_task=item.get("fields") or [],
            config_playbook=item.get("configPlaybook"),
            automated=bool(item.get("configPlaybook")),
            assignee_user=user_,
            assignee_group=group,
        )
        created[task.name] = task
    for item in ordered:
        task = created[item["name"]]
        dep = item.get("dependentOnTaskName")
        task.dependent_on = created.get(dep) if dep else None
    for item in ordered:  # save dependencies first so foreign keys point at saved rows
        _save_with_dependency(created[item["name"]], now)
    system_event(case, f"Workflow template applied: {template.name}", user)
    return list(created.values())


def _save_with_dependency(task: Task, now) -> None:
    if task.pk:
        return
    if task.dependent_on is not None and task.dependent_on.pk is None:
        _save_with_dependency(task.dependent_on, now)
    if task.dependent_on is not None:
        task.status = TaskStatusChoices.PENDING
    else:
        task.status = TaskStatusChoices.OPEN
        task.due_date = due_after(now, task.duration, task.duration_type)
    task.save()
