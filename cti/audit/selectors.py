"""Filters of the audit log list given as plain query parameters."""

from datetime import UTC, datetime, time

from django.db.models import Q, QuerySet
from django.http import QueryDict
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from cti.api.errors import V3Error
from cti.api.params import parse_pk
from cti.audit.choices import AuditAction
from cti.audit.tql import object_type_q

FILTER_PARAMETERS = ("user", "objectType", "objectId", "action", "since", "until")


def _moment(name: str, text: str, *, end: bool) -> datetime:
    try:
        moment = parse_datetime(text)
        day = None if moment else parse_date(text)
    except ValueError:
        moment = day = None
    if day is not None:
        moment = datetime.combine(day, time.max if end else time.min)
    if moment is None:
        raise V3Error(f"{name} must be an ISO 8601 date or date-time, not {text!r}.")
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment, UTC)
    return moment


def filter_entries(queryset: QuerySet, raw: QueryDict) -> QuerySet:
    """user (name or id), objectType (app.model), objectId, action, since / until (inclusive)."""
    user = raw.get("user")
    if user:
        pk = parse_pk(user)
        queryset = queryset.filter(
            Q(actor_name__iexact=user) | Q(actor_id=pk) if pk else Q(actor_name__iexact=user)
        )
    object_type = raw.get("objectType")
    if object_type:
        queryset = queryset.filter(object_type_q(object_type))
    object_id = raw.get("objectId")
    if object_id:
        queryset = queryset.filter(object_id=object_id)
    action = raw.get("action")
    if action:
        if action not in AuditAction.values:
            raise V3Error(f"action must be one of {', '.join(AuditAction.values)}.")
        queryset = queryset.filter(action=action)
    if raw.get("since"):
        queryset = queryset.filter(timestamp__gte=_moment("since", raw["since"], end=False))
    if raw.get("until"):
        queryset = queryset.filter(timestamp__lte=_moment("until", raw["until"], end=True))
    return queryset
