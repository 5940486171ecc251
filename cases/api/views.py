"""Case-management viewsets: each declares its resource and the services that write it."""

from django.db import transaction
from django.db.models import QuerySet
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from cases import resources
from cases.services import (
    artifacts,
    attributes,
    cases,
    events,
    notes,
    opinions,
    statuses,
    tags,
    tasks,
    templates,
)
from cti.api.params import V3Params
from cti.api.permissions import AdministratorWrites
from cti.api.viewsets import V3ViewSet, success
from cti.tql.inspect import top_level_keywords


class CaseViewSet(V3ViewSet):
    resource = resources.CASES
    create_service = cases.case_create
    update_service = cases.case_update
    delete_service = cases.case_delete


class TaskViewSet(V3ViewSet):
    resource = resources.TASKS
    create_service = tasks.task_create
    update_service = tasks.task_update
    delete_service = tasks.task_delete


class ArtifactViewSet(V3ViewSet):
    resource = resources.ARTIFACTS
    create_service = artifacts.artifact_create
    update_service = artifacts.artifact_update
    delete_service = artifacts.artifact_delete


class NoteViewSet(V3ViewSet):
    resource = resources.NOTES
    create_service = notes.note_create
    update_service = notes.note_update
    delete_service = notes.note_delete


class WorkflowEventViewSet(V3ViewSet):
    resource = resources.WORKFLOW_EVENTS
    create_service = events.workflow_event_create
    update_service = events.workflow_event_update
    delete_service = events.workflow_event_delete

    def default_filter(self, queryset: QuerySet, params: V3Params) -> QuerySet:
        """Soft-deleted events stay hidden unless the TQL asks about `deleted`."""
        if "deleted" in top_level_keywords(params.tql):
            return queryset
        return queryset.filter(deleted=False)


class CaseAttributeViewSet(V3ViewSet):
    resource = resources.CASE_ATTRIBUTES
    create_service = attributes.case_attribute_create
    update_service = attributes.case_attribute_update
    delete_service = attributes.case_attribute_delete


class WorkflowTemplateViewSet(V3ViewSet):
    resource = resources.WORKFLOW_TEMPLATES
    create_service = templates.workflow_template_create
    update_service = templates.workflow_template_update
    delete_service = templates.workflow_template_delete


class ArtifactTypeViewSet(V3ViewSet):
    resource = resources.ARTIFACT_TYPES


class TagViewSet(V3ViewSet):
    resource = resources.TAGS
    create_service = tags.tag_create
    update_service = tags.tag_update
    delete_service = tags.tag_delete


class CaseOpinionViewSet(V3ViewSet):
    """Users' opinions on cases (STIX opinion vocabulary), one per user and case.

    POST is an upsert: a user's second POST for the same case updates their opinion (200
    "Updated"; the first answers 201 "Created"). PUT changes only the caller's own opinion, and
    DELETE removes it (administrators may delete any); another user's opinion answers 403.
    """

    resource = resources.CASE_OPINIONS
    create_service = opinions.opinion_create
    update_service = opinions.opinion_update
    delete_service = opinions.opinion_delete

    def create(self, request: Request) -> Response:
        data = self.input_data("POST", self.request_body(request))
        with transaction.atomic():
            obj = opinions.opinion_create(user=request.user, data=data)
        created = getattr(obj, "was_created", True)
        return Response(
            success(self.render(self.reload(obj)), "Created" if created else "Updated"),
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


class CaseStatusTemplateViewSet(V3ViewSet):
    """Detailed statuses per case type; every user reads them, administrators define them."""

    resource = resources.CASE_STATUS_TEMPLATES
    permission_classes = [AdministratorWrites]
    create_service = statuses.status_template_create
    update_service = statuses.status_template_update
    delete_service = statuses.status_template_delete
