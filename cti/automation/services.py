"""Automations at work (the event handler) and their writes (API and admin)."""

from datetime import timedelta

from cases.choices import CaseSeverityChoices, CaseStatusChoices
from cases.models import Case
from cases.resources import CASES
from cases.services.cases import case_create
from cases.services.events import system_event
from cases.services.graph import add_to_case
from cti.api.errors import V3Error
from cti.api.inputs import validate_input
from cti.automation import mapping
from cti.automation.choices import SEVERITY_ORDER, RunOutcome
from cti.automation.models import AutomationGroup, AutomationRun, CaseAutomation
from cti.automation.selectors import EventFacts, context_node_ids, event_facts
from cti.automation.selectors import seen as seen_at
from cti.automation.validation import (
    INDICATOR_TQL_SCHEMA,
    TQL_SCHEMAS,
    AutomationInvalid,
    check_automation,
)
from cti.events.models import Event
from cti.intel.models import Sighting, StixObject
from cti.security.choices import SystemRoleChoices
from cti.security.models import User, UserGroup
from cti.security.services import default_owner
from cti.security.visibility import with_full_view
from cti.tql import TqlContext, compile_tql

SERVICE_USERNAME = "case-automation"


# ---- writes --------------------------------------------------------------------------------


def _save(automation: CaseAutomation, user) -> CaseAutomation:
    try:
        check_automation(automation, user)
    except AutomationInvalid as exc:
        raise V3Error(str(exc)) from None
    automation.save()
    return automation


def automation_create(*, user, data: dict) -> CaseAutomation:
    if CaseAutomation.objects.filter(name=data.get("name")).exists():
        raise V3Error(f"An automation named {data.get('name')!r} already exists.")
    automation = CaseAutomation(created_by=user if user and user.is_authenticated else None)
    for name, value in data.items():
        setattr(automation, name, value)
    return _save(automation, user)


def automation_update(*, user, instance: CaseAutomation, data: dict) -> CaseAutomation:
    automation = CaseAutomation.objects.select_for_update().get(pk=instance.pk)
    if (
        "name" in data
        and CaseAutomation.objects.filter(name=data["name"]).exclude(pk=automation.pk).exists()
    ):
        raise V3Error(f"An automation named {data['name']!r} already exists.")
    for name, value in data.items():
        setattr(automation, name, value)
    return _save(automation, user)


def automation_delete(*, user, instance: CaseAutomation) -> None:
    instance.delete()


def service_user() -> User:
    """The user automations open cases as when they name none (an API user without
    credentials, so it cannot log in)."""
    user, created = User.objects.get_or_create(
        username=SERVICE_USERNAME,
        defaults={"system_role": SystemRoleChoices.PLAYBOOK, "owner": default_owner()},
    )
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    return with_full_view(user)


def run_as(automation: CaseAutomation) -> User:
    user = automation.run_as
    return user if user is not None and user.is_active else service_user()


# ---- the event handler ---------------------------------------------------------------------


def handle_event(event: Event) -> None:
    """Subscriber for incident.created and sighting.recorded (runs in the event's savepoint:
    an exception rolls back every automation's work for the event, which is retried)."""
    automations = list(
        CaseAutomation.objects.filter(enabled=True, event_kind=event.kind).select_related(
            "run_as", "workflow_template"
        )
    )
    if not automations:
        return
    facts = event_facts(event)
    if facts is None:
        return
    for automation in automations:
        if matches(automation, facts):
            run(automation, facts, event)


def matches(automation: CaseAutomation, facts: EventFacts) -> bool:
    if automation.min_severity:
        level = facts.severity
        if level is None or SEVERITY_ORDER[level] < SEVERITY_ORDER[automation.min_severity]:
            return False
    context = TqlContext(user=run_as(automation))
    if automation.tql.strip():
        schema = TQL_SCHEMAS[automation.event_kind]
        rows = Sighting.objects if facts.sighting is not None else StixObject.objects
        q = compile_tql(automation.tql, schema, context)
        if not rows.filter(pk=facts.node.pk).filter(q).exists():
            return False
    if automation.indicator_tql.strip():
        if facts.indicator is None:
            return False
        q = compile_tql(automation.indicator_tql, INDICATOR_TQL_SCHEMA, context)
        if not StixObject.objects.filter(pk=facts.indicator.pk).filter(q).exists():
            return False
    return True


def run(automation: CaseAutomation, facts: EventFacts, event: Event) -> AutomationRun | None:
    """Open a case for the event or join the open case of its group; None when this event was
    already handled by this automation."""
    record, created = AutomationRun.objects.get_or_create(automation=automation, event=event)
    if not created:
        return None
    user = run_as(automation)
    group = _locked_group(automation, facts)
    if group is not None and _joinable(automation, group, facts):
        _join(group, facts, user)
        record.case, record.outcome = group.case, RunOutcome.JOINED
    else:
        case = open_case(automation, facts, user)
        if group is not None:
            group.case, group.started, group.last_joined, group.joined = case, facts.when, None, 0
            group.save(update_fields=["case", "started", "last_joined", "joined"])
        record.case, record.outcome = case, RunOutcome.OPENED
    record.save(update_fields=["case", "outcome"])
    return record


def _locked_group(automation: CaseAutomation, facts: EventFacts) -> AutomationGroup | None:
    """The group row for (automation, indicator, target), created if missing and locked: a
    concurrent event of the same key waits here until this one's transaction ends, then sees
    the case it opened."""
    if not automation.grouping_days or facts.indicator is None or facts.target is None:
        return None
    group, _ = AutomationGroup.objects.get_or_create(
        automation=automation,
        indicator=facts.indicator,
        target=facts.target,
        defaults={"started": facts.when},
    )
    locked = AutomationGroup.objects.select_for_update(of=("self",)).select_related("case")
    return locked.get(pk=group.pk)


def _joinable(automation: CaseAutomation, group: AutomationGroup, facts: EventFacts) -> bool:
    case = group.case
    if case is None or case.status != CaseStatusChoices.OPEN:
        return False
    # events may arrive out of order (back-filled imports): the window is either side
    return abs(facts.when - group.started) <= timedelta(days=automation.grouping_days)


def _join(group: AutomationGroup, facts: EventFacts, user) -> None:
    case = group.case
    add_to_case(case, [facts.node.pk])
    system_event(case, f"Joined: {facts.label}"[:255], user)
    group.last_joined, group.joined = facts.when, group.joined + 1
    group.save(update_fields=["last_joined", "joined"])


# ---- the case ------------------------------------------------------------------------------


def case_severity(automation: CaseAutomation, level: str | None) -> str:
    if level and level in automation.severity_map:
        return automation.severity_map[level]
    if automation.severity:
        return automation.severity
    return mapping.severity_value(level) or CaseSeverityChoices.LOW


def case_priority(automation: CaseAutomation, level: str | None) -> str:
    if level and level in automation.priority_map:
        return automation.priority_map[level]
    return automation.priority


def _node_value(node: StixObject | None, attribute: str | None) -> str:
    if node is None:
        return ""
    if attribute in (None, "name"):
        return node.name or node.value or node.stix_id
    if attribute in ("id", "stix_id"):
        return node.stix_id
    if attribute in ("value", "type", "confidence"):
        value = getattr(node, attribute)
    else:
        value = node.properties.get(attribute)
    return "" if value is None or isinstance(value, dict | list) else str(value)


def render(template: str, automation: CaseAutomation, facts: EventFacts) -> str:
    def lookup(root: str, attribute: str | None) -> str:
        if root == "severity":
            return facts.severity or ""
        if root == "automation":
            return automation.name
        if root == "sighting" and facts.sighting is not None:
            if attribute in ("count", "first_seen", "last_seen"):
                value = getattr(facts.sighting, attribute)
                return "" if value is None else str(value)
            return _node_value(facts.node, attribute)
        node = {
            "incident": facts.incident,
            "indicator": facts.indicator,
            "target": facts.target,
            "observable": facts.observables[0] if facts.observables else None,
        }.get(root)
        return _node_value(node, attribute)

    return mapping.render_template(template, lookup)


def _assignee(automation: CaseAutomation) -> dict | None:
    if automation.assignee_user_id:
        return {"type": "User", "data": {"id": automation.assignee_user_id}}
    if automation.assignee_group_id:
        return {"type": "Group", "data": {"id": automation.assignee_group_id}}
    return None


def _task_assignee(ref: dict | None) -> dict | None:
    """The stored reference, or None when its user or group has since been deleted (the task
    is then created unassigned rather than failing the event forever)."""
    if not ref:
        return None
    model = User if ref.get("type") == "User" else UserGroup
    return ref if model.objects.filter(pk=ref["data"]["id"]).exists() else None


def case_body(automation: CaseAutomation, facts: EventFacts) -> dict:
    """The v3 POST /cases body for the event."""
    name = render(automation.case_name, automation, facts).strip() or facts.label
    body: dict = {
        "name": name[:255],
        "severity": case_severity(automation, facts.severity),
        "status": CaseStatusChoices.OPEN,
    }
    description = render(automation.case_description, automation, facts).strip()
    if description:
        body["description"] = description
    priority = case_priority(automation, facts.severity)
    if priority:
        body["priority"] = priority
    if automation.workflow_template_id:
        body["workflowTemplate"] = {"id": automation.workflow_template_id}
    if assignee := _assignee(automation):
        body["assignee"] = assignee
    tasks = []
    for task in automation.tasks:
        item = {"name": task["name"], "description": task.get("description") or ""}
        if assignee := _task_assignee(task.get("assignee")):
            item["assignee"] = assignee
        tasks.append(item)
    if tasks:
        body["tasks"] = {"data": tasks}
    seen = facts.sighting.first_seen if facts.sighting is not None else None
    if seen is None and facts.incident is not None:
        seen = seen_at(facts.incident.properties, ("first_seen",))
    if seen:
        body["caseOccurrenceTime"] = seen.isoformat()
    return body


def open_case(automation: CaseAutomation, facts: EventFacts, user) -> Case:
    data = validate_input(CASES, "POST", case_body(automation, facts))
    if automation.workflow_template is not None:  # the case goes where its playbook lives
        data["owner"] = automation.workflow_template.owner
    case = case_create(user=user, data=data)
    add_to_case(case, context_node_ids(facts, automation.context_depth))
    system_event(case, f"Opened by automation {automation.name!r}: {facts.label}"[:255], user)
    return case
