from rest_framework.permissions import SAFE_METHODS, BasePermission

READ_ONLY_ROLES = {"Read Only User"}


class V3RolePermission(BasePermission):
    """Authenticated users read; read-only users may not write."""

    message = "Your role does not allow this operation."

    def has_permission(self, request, view) -> bool:
        user = request.user
        if not (user and user.is_authenticated):
            return False
        if request.method in SAFE_METHODS:
            return True
        return getattr(user, "system_role", None) not in READ_ONLY_ROLES


class AdministratorOnly(BasePermission):
    message = "Administrator role required."

    def has_permission(self, request, view) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and getattr(user, "is_administrator", False))


class AdministratorWrites(BasePermission):
    """Authenticated users read; only administrators write."""

    message = "Administrator role required."

    def has_permission(self, request, view) -> bool:
        user = request.user
        if not (user and user.is_authenticated):
            return False
        return request.method in SAFE_METHODS or bool(getattr(user, "is_administrator", False))
