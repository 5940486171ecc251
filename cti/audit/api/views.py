"""GET /v3/auditLog[/{id}]: administrators only; TQL, sorting, paging and the plain filters
user, objectType, objectId, action, since and until."""

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view

from cti.api.params import V3Params
from cti.api.permissions import AdministratorOnly
from cti.api.viewsets import V3ViewSet
from cti.audit.resources import AUDIT_RESOURCE
from cti.audit.selectors import filter_entries

FILTERS = [
    OpenApiParameter("user", str, description="User name or id"),
    OpenApiParameter("objectType", str, description="app.model, e.g. cases.case"),
    OpenApiParameter("objectId", str),
    OpenApiParameter("action", str, enum=["create", "update", "delete"]),
    OpenApiParameter("since", str, description="ISO 8601 date or date-time (inclusive)"),
    OpenApiParameter("until", str, description="ISO 8601 date or date-time (inclusive)"),
]


@extend_schema_view(list=extend_schema(parameters=FILTERS))
class AuditLogViewSet(V3ViewSet):
    resource = AUDIT_RESOURCE
    permission_classes = [AdministratorOnly]
    lookup_value_regex = r"\d+"

    def default_filter(self, queryset: QuerySet, params: V3Params) -> QuerySet:
        return filter_entries(queryset, params.raw)
