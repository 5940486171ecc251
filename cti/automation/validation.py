"""Checks an automation must pass before it is saved (API and admin): TQL that compiles, a
case-name template whose roots the event has, and mappings onto known values."""

from cases.services.assignees import resolve_assignee
from cti.api.errors import V3Error
from cti.automation import mapping
from cti.automation.choices import TriggerKind
from cti.tql import TqlContext, TqlError, compile_tql

TQL_SCHEMAS = {
    TriggerKind.INCIDENT_CREATED: "intelObjects",
    TriggerKind.SIGHTING_RECORDED: "intelSightings",
}
INDICATOR_TQL_SCHEMA = "intelObjects"
DEFAULT_NAMES = {
    TriggerKind.INCIDENT_CREATED: "{incident.name}",
    TriggerKind.SIGHTING_RECORDED: "Sighting of {indicator.name} in {target.name}",
}
MAX_TASKS = 50


class AutomationInvalid(ValueError):
    pass


def check_tql(text: str, schema: str, what: str, user=None) -> None:
    if not text.strip():
        return
    try:
        compile_tql(text, schema, TqlContext(user=user))
    except TqlError as exc:
        raise AutomationInvalid(f"{what}: {exc.message}") from None


def normalise_map(value, convert, what: str) -> dict[str, str]:
    """{event severity level: value} with both sides checked and spelled canonically."""
    if not isinstance(value, dict):
        raise AutomationInvalid(f"{what} must be an object of severity level -> value.")
    out = {}
    for key, item in value.items():
        level = mapping.level_value(key)
        if level is None:
            raise AutomationInvalid(
                f"{what}: {key!r} is not a severity level (low, medium, high, critical)."
            )
        converted = convert(item)
        if converted is None:
            raise AutomationInvalid(f"{what}: {item!r} is not a valid value.")
        out[level] = converted
    return out


def normalise_tasks(value) -> list[dict]:
    """[{name, description, assignee}] with assignees resolved to ids (so a rename does not
    break the automation)."""
    if not isinstance(value, list) or not all(isinstance(t, dict) for t in value):
        raise AutomationInvalid("tasks must be a list of objects.")
    if len(value) > MAX_TASKS:
        raise AutomationInvalid(f"tasks: at most {MAX_TASKS}.")
    out = []
    for n, task in enumerate(value):
        name = task.get("name")
        if not isinstance(name, str) or not name.strip() or len(name) > 255:
            raise AutomationInvalid(f"tasks[{n}].name is required (at most 255 characters).")
        description = task.get("description") or ""
        if not isinstance(description, str):
            raise AutomationInvalid(f"tasks[{n}].description must be a string.")
        item = {"name": name.strip(), "description": description}
        if task.get("assignee"):
            item["assignee"] = assignee_ref(task["assignee"], f"tasks[{n}].assignee")
        out.append(item)
    return out


def assignee_ref(value, what: str) -> dict | None:
    """A v3 assignee (`{"type": "User", "data": {"userName": ...}}`, Group by name or id,
    `{"type": "None"}`) as a `{"type", "data": {"id"}}` reference."""
    if not isinstance(value, dict):
        raise AutomationInvalid(f'{what} must be {{"type": "User"|"Group", "data": {{...}}}}.')
    try:
        user, group = resolve_assignee(value)
    except V3Error as exc:
        raise AutomationInvalid(f"{what}: {exc.message}") from None
    if user is not None:
        return {"type": "User", "data": {"id": user.pk}}
    if group is not None:
        return {"type": "Group", "data": {"id": group.pk}}
    return None


def check_automation(automation, user=None) -> None:
    """Normalises the automation in place; raises AutomationInvalid naming the problem."""
    kind = automation.event_kind
    if kind not in TriggerKind.values:
        raise AutomationInvalid(f"eventKind must be one of {', '.join(TriggerKind.values)}.")
    check_tql(automation.tql, TQL_SCHEMAS[kind], "tql", user)
    check_tql(automation.indicator_tql, INDICATOR_TQL_SCHEMA, "indicatorTql", user)
    if automation.min_severity:
        level = mapping.level_value(automation.min_severity)
        if level is None:
            raise AutomationInvalid("minSeverity must be low, medium, high or critical.")
        automation.min_severity = level
    if automation.severity:
        severity = mapping.severity_value(automation.severity)
        if severity is None:
            raise AutomationInvalid("severity must be Low, Medium, High or Critical.")
        automation.severity = severity
    if automation.priority:
        priority = mapping.priority_value(automation.priority)
        if priority is None:
            raise AutomationInvalid("priority must be P1..P4 or Critical, High, Medium, Low.")
        automation.priority = priority
    automation.severity_map = normalise_map(
        automation.severity_map or {}, mapping.severity_value, "severityMap"
    )
    automation.priority_map = normalise_map(
        automation.priority_map or {}, mapping.priority_value, "priorityMap"
    )
    automation.tasks = normalise_tasks(automation.tasks or [])
    if not automation.case_name.strip():
        automation.case_name = DEFAULT_NAMES[kind]
    for text, what in ((automation.case_name, "caseName"), (automation.case_description, "")):
        roots = mapping.template_roots(text)
        if kind == TriggerKind.SIGHTING_RECORDED and "incident" in roots:
            raise AutomationInvalid(
                f"{what or 'caseDescription'}: a sighting automation has no {{incident...}}."
            )
    if automation.context_depth > 2:
        raise AutomationInvalid("contextDepth must be 0, 1 or 2.")
    if automation.assignee_user_id and automation.assignee_group_id:
        raise AutomationInvalid("Assign a user or a group, not both.")
