from django.contrib import admin, messages

from rules.definitions import RULES_BY_ID
from rules.models import GraphChange, RuleState
from rules.services import rule_set_active, rule_states


@admin.register(RuleState)
class RuleStateAdmin(admin.ModelAdmin):
    list_display = ("rule_id", "name", "active", "status", "percent", "inferred", "finished")
    list_filter = ("active", "status")
    readonly_fields = (
        "rule_id",
        "active",
        "status",
        "percent",
        "processed",
        "total",
        "inferred",
        "started",
        "finished",
        "errors",
        "description",
    )
    actions = ("activate", "deactivate")

    def get_queryset(self, request):
        rule_states()
        return super().get_queryset(request)

    @admin.display(description="name")
    def name(self, obj: RuleState) -> str:
        rule = RULES_BY_ID.get(obj.rule_id)
        return rule.name if rule else "?"

    @admin.display(description="description")
    def description(self, obj: RuleState) -> str:
        rule = RULES_BY_ID.get(obj.rule_id)
        return f"{rule.description} If {rule.display_if}, then {rule.display_then}." if rule else ""

    @admin.display(description="progress %")
    def percent(self, obj: RuleState) -> int:
        return obj.percent

    @admin.action(description="Activate the selected rules")
    def activate(self, request, queryset):
        for state in queryset:
            rule_set_active(state.rule_id, True)
        messages.info(request, "Activation started in the background.")

    @admin.action(description="Deactivate the selected rules")
    def deactivate(self, request, queryset):
        for state in queryset:
            rule_set_active(state.rule_id, False)
        messages.info(request, "Deactivation started in the background.")

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(GraphChange)
class GraphChangeAdmin(admin.ModelAdmin):
    list_display = ("id", "kind", "created", "attempts", "parked", "error")
    list_filter = ("parked", "kind")
    actions = ("retry",)

    @admin.action(description="Retry the selected (parked) changes")
    def retry(self, request, queryset):
        queryset.update(parked=False, attempts=0, error="")
        from rules.tasks import process_graph_changes

        process_graph_changes.delay()
