from django.contrib import admin, messages

from cti.events import services
from cti.events.models import Event


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    list_display = ("pk", "kind", "object_type", "object_id", "created", "processed", "parked")
    list_filter = ("kind", "parked", ("processed", admin.EmptyFieldListFilter))
    readonly_fields = [f.name for f in Event._meta.fields]
    actions = ("replay",)

    def has_add_permission(self, request) -> bool:
        return False

    @admin.action(description="Dispatch again")
    def replay(self, request, queryset) -> None:
        for event in queryset:
            services.replay(event)
        messages.info(request, f"{queryset.count()} event(s) queued again")
