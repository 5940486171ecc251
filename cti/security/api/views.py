from django.db.models import QuerySet

from cti.api.permissions import AdministratorOnly, V3RolePermission
from cti.api.viewsets import V3ViewSet
from cti.security import services
from cti.security.resources import USER_RESOURCE


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
