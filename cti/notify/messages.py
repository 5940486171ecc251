"""What a notification says (title, key facts, link) and its shape per notifier kind."""

from dataclasses import dataclass, field

from django.conf import settings

from cti.events.choices import EventKind
from cti.events.models import Event
from cti.notify.choices import NotifierKind


@dataclass(frozen=True)
class Message:
    title: str
    link: str
    object_type: str
    object_id: int
    facts: list[tuple[str, str]] = field(default_factory=list)


def _link(path: str) -> str:
    return f"{settings.CTI_BASE_URL}/api/v3/{path}"


def _assignee(obj) -> str:
    if obj.assignee_user_id:
        return obj.assignee_user.username
    if obj.assignee_group_id:
        return f"{obj.assignee_group.name} (group)"
    return "Unassigned"


def _assigned_title(noun: str, obj, user, how: str | None) -> str:
    if how == "user" or obj.assignee_user_id == user.pk:
        return f"{noun} assigned to you"
    return f"{noun} assigned to {_assignee(obj)}"


def _case_message(event: Event, user, how: str | None) -> Message:
    from cases.models import Case

    case = (
        Case.objects.select_related("assignee_user", "assignee_group")
        .filter(pk=event.object_id)
        .first()
    )
    name = case.name if case else event.data.get("name", "")
    if event.kind == EventKind.CASE_ASSIGNED:
        title = _assigned_title("Case", case, user, how) if case else "Case assigned"
    elif event.kind == EventKind.CASE_STATUS_CHANGED:
        title = f"Case status changed to {event.data.get('status', '?')}"
    else:
        title = "Case created"
    facts = [("Case", name), ("ID", str(event.object_id))]
    if case:
        facts += [("Severity", case.severity), ("Status", case.status)]
        if event.kind == EventKind.CASE_STATUS_CHANGED:
            before, after = event.data.get("previous_status"), event.data.get("status")
            facts[-1] = ("Status", f"{before} → {after}")
        if case.priority:
            facts.append(("Priority", case.priority))
        facts.append(("Assignee", _assignee(case)))
    return Message(
        f"{title}: {name}", _link(f"cases/{event.object_id}"), "case", event.object_id, facts
    )


def _task_message(event: Event, user, how: str | None) -> Message:
    from cases.models import Task

    task = (
        Task.objects.select_related("case", "assignee_user", "assignee_group")
        .filter(pk=event.object_id)
        .first()
    )
    name = task.name if task else event.data.get("name", "")
    facts = [("Task", name), ("ID", str(event.object_id))]
    title = f"Task assigned: {name}"
    if task:
        title = f"{_assigned_title('Task', task, user, how)}: {name}"
        facts += [
            ("Case", f"{task.case.name} (#{task.case_id})"),
            ("Status", task.status),
            ("Assignee", _assignee(task)),
        ]
        if task.due_date:
            facts.append(("Due", task.due_date.isoformat()))
    return Message(title, _link(f"tasks/{event.object_id}"), "task", event.object_id, facts)


def _intel_message(event: Event) -> Message:
    from cti.intel.models import Sighting, StixObject

    node = StixObject.objects.filter(pk=event.object_id).first()
    label = (node.name or node.value or node.stix_id) if node else f"#{event.object_id}"
    facts = [("Type", event.object_type), ("Name", label)]
    if node:
        facts.append(("STIX id", node.stix_id))
        props = node.properties or {}
        for key, title in (("severity", "Severity"), ("source", "Source")):
            if props.get(key):
                facts.append((title, str(props[key])))
        if node.confidence is not None:
            facts.append(("Confidence", str(node.confidence)))
    if event.data.get("rules"):
        facts.append(("Rules", ", ".join(event.data["rules"])))
    path = f"intel/objects/{node.stix_id if node else event.object_id}"
    if event.kind == EventKind.INCIDENT_CREATED:
        title = f"Incident created: {label}"
    elif event.kind == EventKind.OBJECT_INFERRED:
        title = f"{event.object_type} created by a rule: {label}"
    else:
        sighting = (
            Sighting.objects.select_related("sighting_of", "where_sighted")
            .filter(pk=event.object_id)
            .first()
        )
        if sighting:
            of = sighting.sighting_of.name or sighting.sighting_of.stix_id
            where = sighting.where_sighted.name if sighting.where_sighted else "?"
            label = f"{of} in {where}"
            facts = [("Sighting of", of), ("Where", where), ("Count", str(sighting.count))]
        title = f"Sighting recorded: {label}"
        path = f"intel/sightings/{event.object_id}"
    return Message(title, _link(path), event.object_type, event.object_id, facts)


def build_message(event: Event, user, how: str | None = None) -> Message:
    """The message for `event` as `user` (the trigger's) reads it; `how` is "user" or "group"
    when the event is an assignment to the user or one of their groups."""
    if event.object_type == "case":
        return _case_message(event, user, how)
    if event.object_type == "task":
        return _task_message(event, user, how)
    return _intel_message(event)


# ---- shapes ------------------------------------------------------------------------------


def email_payload(message: Message, recipients: list[str]) -> dict:
    lines = [message.title, "", *(f"{k}: {v}" for k, v in message.facts), "", message.link]
    return {"to": recipients, "subject": message.title, "body": "\n".join(lines) + "\n"}


def webhook_payload(message: Message, event: Event) -> dict:
    """Standard Webhooks' recommended {type, timestamp, data} envelope."""
    return {
        "type": event.kind,
        "timestamp": event.created.isoformat(),
        "data": {
            "eventId": event.pk,
            "title": message.title,
            "object": {"type": message.object_type, "id": message.object_id},
            "facts": dict(message.facts),
            "link": message.link,
            "details": event.data,
        },
    }


def teams_payload(message: Message) -> dict:
    card = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": [
            {
                "type": "TextBlock",
                "text": message.title,
                "weight": "Bolder",
                "size": "Medium",
                "wrap": True,
            },
            {"type": "FactSet", "facts": [{"title": k, "value": v} for k, v in message.facts]},
        ],
        "actions": [{"type": "Action.OpenUrl", "title": "Open", "url": message.link}],
    }
    return {
        "type": "message",
        "attachments": [
            {
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": None,
                "content": card,
            }
        ],
    }


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def slack_payload(message: Message) -> dict:
    # Slack limits: header text 150 characters, 10 fields per section, 2000 per field
    fields = [{"type": "mrkdwn", "text": _cut(f"*{k}*\n{v}", 2000)} for k, v in message.facts[:10]]
    blocks: list[dict] = [
        {"type": "header", "text": {"type": "plain_text", "text": _cut(message.title, 150)}}
    ]
    if fields:
        blocks.append({"type": "section", "fields": fields})
    blocks.append(
        {
            "type": "actions",
            "elements": [
                {
                    "type": "button",
                    "text": {"type": "plain_text", "text": "Open"},
                    "url": message.link,
                }
            ],
        }
    )
    return {"text": f"{message.title} {message.link}", "blocks": blocks}


def payload_for(kind: str, message: Message, event: Event, recipients: list[str]) -> dict:
    if kind == NotifierKind.EMAIL:
        return email_payload(message, recipients)
    if kind == NotifierKind.WEBHOOK:
        return webhook_payload(message, event)
    if kind == NotifierKind.TEAMS:
        return teams_payload(message)
    return slack_payload(message)
