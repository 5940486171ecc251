from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin

from cti.security.models import ApiCredential, Owner, User, UserGroup
from cti.security.services import api_credential_revoke


@admin.register(User)
class CtiUserAdmin(UserAdmin):
    fieldsets = (
        *UserAdmin.fieldsets,
        ("ThreatConnect", {"fields": ("owner", "system_role", "pseudonym", "ui_theme", "locked")}),
    )
    list_display = ("username", "email", "system_role", "owner", "is_active")


@admin.register(Owner)
class OwnerAdmin(admin.ModelAdmin):
    list_display = ("name", "type")
    list_filter = ("type",)
    search_fields = ("name",)
    filter_horizontal = ("members",)


@admin.register(UserGroup)
class UserGroupAdmin(admin.ModelAdmin):
    search_fields = ("name",)
    filter_horizontal = ("members",)


@admin.register(ApiCredential)
class ApiCredentialAdmin(admin.ModelAdmin):
    """Credentials are issued and rotated by the API or the commands (which show the secrets
    once); here they are listed and revoked."""

    list_display = ("access_id", "user", "created", "rotated_at", "revoked", "revoked_at")
    list_filter = ("revoked",)
    search_fields = ("access_id", "user__username")
    readonly_fields = ("user", "access_id", "created", "rotated_at", "revoked", "revoked_at")
    exclude = ("secret_key", "token_digest")
    actions = ("revoke",)

    def has_add_permission(self, request) -> bool:
        return False

    @admin.action(description="Revoke the selected credentials")
    def revoke(self, request, queryset):
        for credential in queryset:
            api_credential_revoke(credential)
        messages.info(request, f"{queryset.count()} credential(s) revoked.")
