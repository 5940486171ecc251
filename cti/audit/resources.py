"""The /v3/auditLog resource (read-only)."""

from cti.api.rendering import register_resource
from cti.api.resources import Access, FieldSpec, Resource
from cti.audit.choices import AuditAction
from cti.audit.models import AuditEntry
from cti.audit.tql import AUDIT_LOG

RO = Access.RO


def _user(entry: AuditEntry) -> dict | None:
    if entry.actor_id is None and not entry.actor_name:
        return None
    return {"id": entry.actor_id, "userName": entry.actor_name}


AUDIT_RESOURCE = register_resource(
    Resource(
        name="auditLog",
        model=AuditEntry,
        tql=AUDIT_LOG,
        select=("content_type",),
        ordering=("-pk",),
        fields=[
            FieldSpec("id", "Integer", RO),
            FieldSpec("date", "Date", RO, attr="timestamp"),
            FieldSpec("user", "Object", RO, getter=_user, description="Who wrote (null: system)"),
            FieldSpec("accessId", "String", RO, getter=lambda e: e.access_id or None),
            FieldSpec("requestId", "String", RO, getter=lambda e: e.request_id or None),
            FieldSpec("source", "String", RO, attr="source"),
            FieldSpec("endpoint", "String", RO, getter=lambda e: e.endpoint or None),
            FieldSpec("action", "String", RO, attr="action", choices=tuple(AuditAction.values)),
            FieldSpec("objectType", "String", RO, getter=lambda e: e.object_type),
            FieldSpec("objectId", "String", RO, attr="object_id"),
            FieldSpec("summary", "String", RO, attr="object_repr"),
            FieldSpec("before", "Object", RO, attr="before"),
            FieldSpec("after", "Object", RO, attr="after"),
        ],
    )
)
