from django import forms
from django.contrib import admin, messages

from cti.ingest import services
from cti.ingest.auth import check_secret
from cti.ingest.models import DeadLetter, IdempotencyRecord, WebhookSource
from cti.ingest.parsers.mapped import check_field_map


class WebhookSourceForm(forms.ModelForm):
    class Meta:
        model = WebhookSource
        fields = ("name", "slug", "kind", "system_name", "owner", "auth_mode", "secret",
                  "field_map", "enabled")  # fmt: skip

    def clean(self):
        data = super().clean()
        problems = check_field_map(data.get("field_map") or {})
        if problems:
            self.add_error("field_map", "; ".join(problems))
        candidate = WebhookSource(
            auth_mode=data.get("auth_mode") or "", secret=data.get("secret") or ""
        )
        problem = check_secret(candidate)
        if problem:
            self.add_error("secret", problem)
        return data


@admin.register(WebhookSource)
class WebhookSourceAdmin(admin.ModelAdmin):
    form = WebhookSourceForm
    list_display = (
        "name", "slug", "kind", "auth_mode", "system_name", "owner", "enabled", "updated"
    )  # fmt: skip
    list_filter = ("kind", "auth_mode", "enabled")
    search_fields = ("name", "slug", "system_name")
    prepopulated_fields = {"slug": ("name",)}
    readonly_fields = ("system", "created", "updated")

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        services.ensure_source_system(obj)


@admin.register(DeadLetter)
class DeadLetterAdmin(admin.ModelAdmin):
    list_display = ("id", "received", "endpoint", "source", "status", "http_status", "short_error")
    list_filter = ("status", "endpoint", "source")
    search_fields = ("error", "body")
    readonly_fields = ("source", "endpoint", "received", "actor", "headers", "http_status",
                       "status", "attempts", "replayed", "last_result", "error")  # fmt: skip
    fields = (*readonly_fields, "body")
    actions = ("replay",)

    @admin.display(description="error")
    def short_error(self, obj: DeadLetter) -> str:
        return obj.error[:120]

    @admin.action(description="Replay the selected dead letters")
    def replay(self, request, queryset):
        done = failed = 0
        for letter in queryset.select_related("source", "actor"):
            outcome = services.replay(letter)
            if outcome.status < 300 and not outcome.dead_letter:
                done += 1
            else:
                failed += 1
        messages.info(request, f"Replayed {done}; {failed} failed again.")


@admin.register(IdempotencyRecord)
class IdempotencyRecordAdmin(admin.ModelAdmin):
    list_display = ("scope", "key", "status_code", "created")
    search_fields = ("scope", "key")
    readonly_fields = ("scope", "key", "request_hash", "status_code", "response", "created")
