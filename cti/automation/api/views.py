"""/v3/caseAutomations: administrators write, every authenticated user reads."""

from django.db import transaction
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from cti.api.errors import ErrCode, V3Error
from cti.api.params import parse_pk
from cti.api.permissions import AdministratorWrites
from cti.api.viewsets import success
from cti.automation import services
from cti.automation.api.serializers import (
    CaseAutomationInputSerializer,
    automation_json,
    model_data,
)
from cti.automation.models import CaseAutomation


def _rows():
    return CaseAutomation.objects.select_related(
        "workflow_template", "assignee_user", "assignee_group", "run_as", "created_by"
    )


class CaseAutomationViewSet(viewsets.ViewSet):
    permission_classes = [AdministratorWrites]
    lookup_value_regex = "[^/]+"

    def _get(self, pk: str) -> CaseAutomation:
        key = parse_pk(pk)
        automation = _rows().filter(pk=key).first() if key is not None else None
        if automation is None:
            raise V3Error(f"Case automation {pk!r} not found.", ErrCode.NOT_FOUND)
        return automation

    def _input(self, request: Request, partial: bool) -> dict:
        if not isinstance(request.data, dict):
            raise V3Error("Request body must be a JSON object.", ErrCode.IMPROPER_FORMAT)
        serializer = CaseAutomationInputSerializer(data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        return model_data(serializer.validated_data)

    @extend_schema(responses={200: OpenApiTypes.OBJECT}, operation_id="caseAutomations_list")
    def list(self, request: Request) -> Response:
        data = [automation_json(a) for a in _rows().order_by("pk")]
        return Response(success(data, count=len(data)))

    @extend_schema(responses={200: OpenApiTypes.OBJECT}, operation_id="caseAutomations_retrieve")
    def retrieve(self, request: Request, pk: str) -> Response:
        return Response(success(automation_json(self._get(pk))))

    @extend_schema(
        request=CaseAutomationInputSerializer,
        responses={201: OpenApiTypes.OBJECT},
        operation_id="caseAutomations_create",
    )
    def create(self, request: Request) -> Response:
        data = self._input(request, partial=False)
        with transaction.atomic():
            automation = services.automation_create(user=request.user, data=data)
        return Response(
            success(automation_json(self._get(str(automation.pk))), "Created"),
            status=status.HTTP_201_CREATED,
        )

    @extend_schema(
        request=CaseAutomationInputSerializer,
        responses={200: OpenApiTypes.OBJECT},
        operation_id="caseAutomations_update",
    )
    def update(self, request: Request, pk: str) -> Response:
        instance = self._get(pk)
        data = self._input(request, partial=True)
        with transaction.atomic():
            services.automation_update(user=request.user, instance=instance, data=data)
        return Response(success(automation_json(self._get(pk)), "Updated"))

    @extend_schema(responses={200: OpenApiTypes.OBJECT}, operation_id="caseAutomations_destroy")
    def destroy(self, request: Request, pk: str) -> Response:
        instance = self._get(pk)
        with transaction.atomic():
            services.automation_delete(user=request.user, instance=instance)
        return Response(success(message="Deleted"))
