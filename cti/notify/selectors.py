"""Which triggers an event fires (reads only)."""

import logging

from django.db.models import Model, QuerySet

from cti.events.models import Event
from cti.notify.choices import CASE_KINDS, INTEL_KINDS, TASK_KINDS
from cti.notify.models import Trigger
from cti.security.visibility import scope_for, viewer_for, visible
from cti.tql import TqlContext, TqlError, compile_tql

logger = logging.getLogger(__name__)


def tql_schema_for(kind: str) -> str:
    """The TQL schema a trigger's filter is written in for events of `kind`."""
    if kind in CASE_KINDS:
        return "cases"
    if kind in TASK_KINDS:
        return "tasks"
    return "intelObjects"


def _model_for(kind: str) -> type[Model]:
    from cases.models import Case, Task
    from cti.intel.models import StixObject

    if kind in CASE_KINDS:
        return Case
    if kind in TASK_KINDS:
        return Task
    return StixObject


def assigned_to(user, data: dict, group_ids: set[int]) -> str | None:
    """ "user" or "group" when the event's assignee is `user` or one of `group_ids`."""
    if data.get("assignee_user") is not None and data["assignee_user"] == user.pk:
        return "user"
    if data.get("assignee_group") is not None and data["assignee_group"] in group_ids:
        return "group"
    return None


def group_ids(user) -> set[int]:
    return set(user.user_groups.values_list("pk", flat=True))


def _object_matches(trigger: Trigger, event: Event) -> bool:
    """The object still exists, the user may see it and it passes the trigger's TQL."""
    kind = event.kind
    model = _model_for(kind)
    viewer = viewer_for(trigger.user)
    rows = visible(model._default_manager.filter(pk=event.object_id), viewer)
    if trigger.tql.strip():
        context = TqlContext(user=trigger.user, scope=scope_for(viewer))
        try:
            rows = rows.filter(compile_tql(trigger.tql, tql_schema_for(kind), context))
        except TqlError:
            # checked at save; a schema that changed since must not stop the event
            logger.warning("trigger %s: its TQL no longer compiles", trigger.pk)
            return False
    return rows.exists()


def trigger_matches(trigger: Trigger, event: Event) -> bool:
    if not trigger.enabled or event.kind not in trigger.events:
        return False
    if trigger.object_types and event.object_type not in trigger.object_types:
        return False
    if trigger.rules and not set(trigger.rules) & set(event.data.get("rules") or ()):
        return False
    if trigger.assigned_to_me:
        if event.kind in INTEL_KINDS:
            return False
        if assigned_to(trigger.user, event.data, group_ids(trigger.user)) is None:
            return False
    return _object_matches(trigger, event)


def _live_triggers() -> QuerySet:
    """Enabled triggers of active users with at least one enabled notifier."""
    return Trigger.objects.filter(
        enabled=True, notifiers__enabled=True, user__is_active=True
    ).distinct()


def wanted_event_kinds() -> set[str]:
    """The event kinds some enabled trigger of an active user, with an enabled notifier, is
    subscribed to."""
    lists = _live_triggers().values_list("events", flat=True)
    return {kind for kinds in lists for kind in kinds}


def matching_triggers(event: Event) -> list[Trigger]:
    """Enabled triggers (with their enabled notifiers) that `event` fires. The event-kind test
    is done here in Python: JSON containment is not portable to SQLite, and triggers are few."""
    candidates = _live_triggers().select_related("user").prefetch_related("notifiers")
    return [t for t in candidates if event.kind in t.events and trigger_matches(t, event)]
