from django.contrib import admin

from cases import models as m
from cti.security.admin_scoping import VisibleRowsAdmin


class TaskInline(admin.TabularInline):
    model = m.Task
    extra = 0
    fields = ("name", "status", "required", "workflow_phase", "workflow_step", "due_date")
    show_change_link = True


class ArtifactInline(admin.TabularInline):
    model = m.Artifact
    extra = 0
    fields = ("artifact_type", "summary", "source", "derived_link")
    raw_id_fields = ("task",)
    show_change_link = True


class NoteInline(admin.TabularInline):
    model = m.Note
    extra = 0
    fields = ("text", "author", "edited")
    readonly_fields = ("author", "edited")
    fk_name = "case"


@admin.register(m.Case)
class CaseAdmin(VisibleRowsAdmin):
    list_display = (
        "id",
        "name",
        "status",
        "detailed_status",
        "severity",
        "assignee_user",
        "date_added",
    )
    list_filter = ("status", "detailed_status", "severity", "resolution")
    search_fields = ("name", "xid", "description")
    raw_id_fields = ("workflow_template", "associated_cases")
    filter_horizontal = ("tags", "user_access")
    inlines = [TaskInline, ArtifactInline, NoteInline]
    readonly_fields = ("detection_due", "response_due", "time_to_detect", "time_to_respond")


@admin.register(m.Task)
class TaskAdmin(VisibleRowsAdmin):
    list_display = ("id", "name", "case", "status", "required", "due_date")
    list_filter = ("status", "required")
    search_fields = ("name", "xid")
    raw_id_fields = ("case", "dependent_on")


@admin.register(m.Artifact)
class ArtifactAdmin(VisibleRowsAdmin):
    list_display = ("id", "summary", "artifact_type", "case", "derived_link")
    list_filter = ("artifact_type",)
    search_fields = ("summary",)
    raw_id_fields = ("case", "task")


@admin.register(m.Note)
class NoteAdmin(VisibleRowsAdmin):
    list_display = ("id", "case", "author", "edited", "date_added")
    raw_id_fields = ("case", "task", "artifact", "workflow_event")


@admin.register(m.WorkflowEvent)
class WorkflowEventAdmin(VisibleRowsAdmin):
    list_display = ("id", "case", "summary", "system_generated", "deleted", "event_date")
    list_filter = ("system_generated", "deleted")
    raw_id_fields = ("case",)


@admin.register(m.WorkflowTemplate)
class WorkflowTemplateAdmin(VisibleRowsAdmin):
    list_display = ("id", "name", "version", "active")
    search_fields = ("name",)


@admin.register(m.ArtifactType)
class ArtifactTypeAdmin(admin.ModelAdmin):
    list_display = ("id", "name", "data_type", "intel_type", "derived_link", "active")


@admin.register(m.Tag)
class TagAdmin(VisibleRowsAdmin):
    list_display = ("id", "name", "technique_id", "owner", "last_used")
    search_fields = ("name",)


@admin.register(m.AttributeType)
class AttributeTypeAdmin(admin.ModelAdmin):
    list_display = ("id", "name", "max_size", "max_allowed")


@admin.register(m.CaseAttribute)
class CaseAttributeAdmin(VisibleRowsAdmin):
    list_display = ("id", "case", "attribute_type", "value")
    raw_id_fields = ("case",)


@admin.register(m.CaseOpinion)
class CaseOpinionAdmin(VisibleRowsAdmin):
    list_display = ("id", "case", "author", "opinion", "last_modified")
    list_filter = ("opinion",)
    search_fields = ("explanation", "author__username")
    raw_id_fields = ("case", "author")


@admin.register(m.CaseStatusTemplate)
class CaseStatusTemplateAdmin(admin.ModelAdmin):
    list_display = ("id", "name", "case_type", "order", "closes_case")
    list_filter = ("case_type", "closes_case")
    list_editable = ("order", "closes_case")
    search_fields = ("name",)
