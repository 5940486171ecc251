from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError

from cti.api.errors import V3Error
from cti.notify import services
from cti.notify.models import Delivery, Notifier, Trigger


@admin.register(Notifier)
class NotifierAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "url", "enabled", "created")
    list_filter = ("kind", "enabled")
    search_fields = ("name", "url")


class TriggerForm(forms.ModelForm):
    class Meta:
        model = Trigger
        fields = (
            "user",
            "name",
            "enabled",
            "events",
            "assigned_to_me",
            "object_types",
            "rules",
            "tql",
            "notifiers",
        )

    def clean(self) -> dict:
        data = super().clean()
        if data.get("user") and isinstance(data.get("events"), list):
            try:
                services.validate_trigger(data["user"], data)
            except V3Error as exc:
                raise ValidationError(exc.message) from None
        return data


@admin.register(Trigger)
class TriggerAdmin(admin.ModelAdmin):
    form = TriggerForm
    list_display = ("name", "user", "events", "assigned_to_me", "enabled", "created")
    list_filter = ("enabled", "assigned_to_me")
    search_fields = ("name", "user__username")
    filter_horizontal = ("notifiers",)
    raw_id_fields = ("user",)


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = (
        "pk",
        "trigger",
        "notifier",
        "event",
        "status",
        "attempts",
        "response_status",
        "created",
        "sent_at",
    )
    list_filter = ("status", "notifier")
    list_select_related = ("trigger", "notifier", "event")
    readonly_fields = [f.name for f in Delivery._meta.fields]
    actions = ("retry",)

    def has_add_permission(self, request) -> bool:
        return False

    @admin.action(description="Retry the selected failed deliveries")
    def retry(self, request, queryset) -> None:
        count = services.retry_deliveries(queryset)
        messages.info(request, f"{count} failed delivery(ies) queued again")
