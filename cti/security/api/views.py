from django.db.models import QuerySet

from cti.api.permissions import AdministratorOnly, AdministratorWrites, V3RolePermission
from cti.api.viewsets import V3ViewSet
from cti.security import services
from cti.security.resources import OWNER_RESOURCE, USER_RESOURCE
from cti.security.visibility import visible_owners


class UserViewSet(V3ViewSet):
    resource = USER_RESOURCE
    create_service = services.user_create
    update_service = services.user_update

    def get_permissions(self):
        if self.request.method in ("GET", "HEAD", "OPTIONS"):
            return [V3RolePermission()]
        return [AdministratorOnly()]

    def scope_queryset(self, queryset: QuerySet) -> QuerySet:
        return queryset


class OwnerViewSet(V3ViewSet):
    """The owners the user may see (their organisation and those shared with them; all for
    administrators, who alone create and rename them)."""

    resource = OWNER_RESOURCE
    create_service = services.owner_create
    update_service = services.owner_update
    permission_classes = [AdministratorWrites]

    def scope_queryset(self, queryset: QuerySet) -> QuerySet:
        return queryset.filter(pk__in=visible_owners(self.viewer).values("pk"))
