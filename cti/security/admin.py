from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from cti.security.models import ApiCredential, Owner, User, UserGroup


@admin.register(User)
class CtiUserAdmin(UserAdmin):
    fieldsets = (
        *UserAdmin.fieldsets,
        ("ThreatConnect", {"fields": ("owner", "system_role", "pseudonym", "ui_theme", "locked")}),
    )
    list_display = ("username", "email", "system_role", "owner", "is_active")


@admin.register(Owner)
class OwnerAdmin(admin.ModelAdmin):
    search_fields = ("name",)


@admin.register(UserGroup)
class UserGroupAdmin(admin.ModelAdmin):
    search_fields = ("name",)
    filter_horizontal = ("members",)


@admin.register(ApiCredential)
class ApiCredentialAdmin(admin.ModelAdmin):
    list_display = ("access_id", "user", "created", "revoked")
    readonly_fields = ("access_id", "token_digest", "created")
    exclude = ("secret_key",)
