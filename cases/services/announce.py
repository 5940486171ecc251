"""Case and task events for subscribers (automations, notifications): recorded in the
writer's transaction, dispatched after commit."""

from cases.models import Case, Task
from cti.events.choices import EventKind
from cti.events.services import emit


def _assignee(obj: Case | Task) -> dict:
    return {"assignee_user": obj.assignee_user_id, "assignee_group": obj.assignee_group_id}


def _case(case: Case) -> dict:
    return {"name": case.name, "xid": case.xid, "status": case.status, **_assignee(case)}


def case_created(case: Case, user) -> None:
    emit(EventKind.CASE_CREATED, object_type="case", object_id=case.pk, actor=user, **_case(case))
    if case.assignee_user_id or case.assignee_group_id:
        case_assigned(case, user)


def case_assigned(case: Case, user) -> None:
    emit(EventKind.CASE_ASSIGNED, object_type="case", object_id=case.pk, actor=user, **_case(case))


def case_status_changed(case: Case, user, previous: str) -> None:
    emit(
        EventKind.CASE_STATUS_CHANGED,
        object_type="case",
        object_id=case.pk,
        actor=user,
        previous_status=previous,
        **_case(case),
    )


def tasks_assigned(tasks: list[Task], user) -> None:
    for task in tasks:
        if task.assignee_user_id or task.assignee_group_id:
            emit(
                EventKind.TASK_ASSIGNED,
                object_type="task",
                object_id=task.pk,
                actor=user,
                name=task.name,
                case=task.case_id,
                **_assignee(task),
            )
