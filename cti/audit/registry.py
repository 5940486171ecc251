"""Which models are audited, and how their fields are shown.

Bookkeeping rows that only the system writes (events, deliveries, automation runs, explanation
rows, idempotency records, the rules outbox, dead letters) are not audited."""

from dataclasses import dataclass
from urllib.parse import urlsplit

from django.apps import apps
from django.db import models

REDACTED = "[redacted]"
# never stored, whatever the model
SECRET_FIELDS = frozenset({"password", "secret", "secret_key", "token", "token_digest", "api_key"})


def origin_only(value: object) -> object:
    """A URL whose path may carry a credential (Teams and Slack incoming webhooks)."""
    if not isinstance(value, str) or not value:
        return value
    parts = urlsplit(value)
    return f"{parts.scheme}://{parts.netloc}/{REDACTED}" if parts.netloc else REDACTED


@dataclass(frozen=True)
class Policy:
    exclude: frozenset[str] = frozenset()  # fields not recorded (internal links, counters)
    only: frozenset[str] | None = None  # record just these fields
    masks: tuple[tuple[str, object], ...] = ()  # (field, function shown instead of the value)
    m2m: bool = True


_POLICIES: dict[str, Policy] = {
    "cases.Tag": Policy(exclude=frozenset({"last_used"})),
    "cases.AttributeType": Policy(),
    "cases.WorkflowTemplate": Policy(),
    "cases.Case": Policy(exclude=frozenset({"node"})),
    "cases.Task": Policy(),
    "cases.ArtifactType": Policy(),
    "cases.WorkflowEvent": Policy(),
    "cases.Artifact": Policy(exclude=frozenset({"observable"})),
    "cases.Note": Policy(),
    "cases.CaseAttribute": Policy(),
    "cases.CaseStatusTemplate": Policy(),
    "cases.CaseOpinion": Policy(),
    "security.User": Policy(exclude=frozenset({"last_login"})),
    "security.Owner": Policy(),
    "security.UserGroup": Policy(),
    "security.ApiCredential": Policy(),
    "rules.RuleState": Policy(only=frozenset({"active"})),
    "ingest.WebhookSource": Policy(exclude=frozenset({"system"})),
    "notifications.Notifier": Policy(masks=(("url", origin_only),)),
    "notifications.Trigger": Policy(),
    "automation.CaseAutomation": Policy(),
    "reports.CaseReport": Policy(only=frozenset({"case", "format", "requested_by"})),
}
# graph objects and container membership are audited from the graph's own signals
GRAPH_MODELS = ("intel.StixObject", "intel.ObjectRef")

_by_model: dict[type[models.Model], Policy] | None = None


def policies() -> dict[type[models.Model], Policy]:
    global _by_model
    if _by_model is None:
        _by_model = {apps.get_model(label): policy for label, policy in _POLICIES.items()}
    return _by_model


def policy_for(model: type[models.Model]) -> Policy | None:
    return policies().get(model)
