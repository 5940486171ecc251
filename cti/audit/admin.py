import json

from django.contrib import admin
from django.utils.html import format_html

from cti.audit.models import AuditEntry


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    """Read-only: entries are written by the application, never by hand."""

    list_display = (
        "id",
        "timestamp",
        "actor_name",
        "source",
        "action",
        "content_type",
        "object_id",
        "object_repr",
    )
    list_filter = ("action", "source", "content_type")
    search_fields = ("actor_name", "object_id", "object_repr", "request_id", "access_id")
    date_hierarchy = "timestamp"
    list_select_related = ("content_type",)
    exclude = ("before", "after", "state")
    readonly_fields = ("before_json", "after_json")

    def get_readonly_fields(self, request, obj=None):
        names = [f.name for f in AuditEntry._meta.fields if f.name not in self.exclude]
        return [*names, "before_json", "after_json"]

    @admin.display(description="before")
    def before_json(self, obj: AuditEntry) -> str:
        return _pre(obj.before)

    @admin.display(description="after")
    def after_json(self, obj: AuditEntry) -> str:
        return _pre(obj.after)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def has_view_permission(self, request, obj=None) -> bool:
        return bool(getattr(request.user, "is_administrator", False))

    def has_module_permission(self, request) -> bool:
        return self.has_view_permission(request)


def _pre(value) -> str:
    if value is None:
        return "-"
    return format_html("<pre>{}</pre>", json.dumps(value, indent=2, sort_keys=True))
