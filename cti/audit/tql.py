"""TQL keywords of /v3/auditLog."""

from typing import Any

from django.db.models import Q

from cti.audit.choices import AuditAction
from cti.audit.models import AuditEntry
from cti.tql import ME, Keyword, TqlContext, TqlError, TqlSchema, registry
from cti.tql import KeywordType as T


def object_type_q(value: str) -> Q:
    """`cases.case` (app label and model, case-insensitive) or a bare model name `case`."""
    app, _, model = value.strip().lower().rpartition(".")
    q = Q(content_type__model=model)
    return q & Q(content_type__app_label=app) if app else q


def _object_type(op: str, value: Any, ctx: TqlContext) -> Q:
    if value is ME:
        raise TqlError("'me' is not a valid value for keyword 'objectType'", "me")
    if op in ("is null", "is not null"):
        return Q(pk__in=[]) if op == "is null" else ~Q(pk__in=[])
    if op in ("=", "!="):
        q = object_type_q(value)
        return q if op == "=" else ~q
    if op in ("in", "not in"):
        q = Q(pk__in=[])
        for item in value:
            q |= object_type_q(item)
        return q if op == "in" else ~q
    raise TqlError(f"operator {op!r} is not supported for keyword 'objectType'")


AUDIT_LOG = registry.register(
    TqlSchema(
        "auditLog",
        AuditEntry,
        [
            Keyword("id", T.INTEGER, "id", "The ID of the audit entry"),
            Keyword("date", T.DATE, "timestamp", "When the write happened"),
            Keyword("user", T.STRING, "actor_name", "The user name (me: the caller)"),
            Keyword("userId", T.INTEGER, "actor_id", "The ID of the user who wrote"),
            Keyword("accessId", T.STRING, "access_id", "The API credential's access id"),
            Keyword("requestId", T.STRING, "request_id", "The request id"),
            Keyword("source", T.STRING, "source", "api, admin, system or command:<name>"),
            Keyword(
                "action",
                T.STRING,
                "action",
                "create, update or delete",
                choices=tuple(AuditAction.values),
            ),
            Keyword(
                "objectType",
                T.STRING,
                resolver=_object_type,
                description="app.model of the object, e.g. cases.case",
                sortable=False,
            ),
            Keyword("objectId", T.STRING, "object_id", "The ID of the object"),
            Keyword("summary", T.STRING, "object_repr", "The object as it was shown"),
        ],
    )
)
