from django.contrib import admin

from cti.automation.models import AutomationGroup, AutomationRun, CaseAutomation


@admin.register(CaseAutomation)
class CaseAutomationAdmin(admin.ModelAdmin):
    list_display = ("name", "event_kind", "enabled", "workflow_template", "grouping_days")
    list_filter = ("enabled", "event_kind")
    search_fields = ("name",)
    raw_id_fields = ("workflow_template", "assignee_user", "assignee_group", "run_as")
    readonly_fields = ("created_by", "date_added", "last_updated")

    def save_model(self, request, obj, form, change) -> None:
        if not change and obj.created_by_id is None:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)


@admin.register(AutomationRun)
class AutomationRunAdmin(admin.ModelAdmin):
    list_display = ("pk", "automation", "event", "outcome", "case", "created")
    list_filter = ("outcome",)
    raw_id_fields = ("automation", "event", "case")
    readonly_fields = [f.name for f in AutomationRun._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(AutomationGroup)
class AutomationGroupAdmin(admin.ModelAdmin):
    list_display = ("pk", "automation", "indicator", "target", "case", "started", "joined")
    raw_id_fields = ("automation", "indicator", "target", "case")
    readonly_fields = [f.name for f in AutomationGroup._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False
