from django.contrib import admin

from cti.reports.models import CaseReport


@admin.register(CaseReport)
class CaseReportAdmin(admin.ModelAdmin):
    list_display = ("id", "case", "format", "status", "progress", "requested_by", "created")
    list_filter = ("status", "format")
    raw_id_fields = ("case", "requested_by")
    readonly_fields = ("created", "finished", "error")
