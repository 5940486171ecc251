"""Notification API under /v3/notifications.

- ``triggers``: every authenticated user manages their own triggers (subscriptions are
  personal, so read-only users may have them too); administrators see and edit everyone's.
- ``notifiers``: administrators create, change and delete them (a notifier sends data to a
  URL, so only administrators choose destinations); every authenticated user lists them to
  pick one for a trigger, without the URL, secret and recipients (administrators see those).
- ``deliveries``: read-only log; a user sees the deliveries of their own triggers,
  administrators all. ``?status=pending|sent|failed`` and ``?trigger=<id>`` filter it.
"""

from django.db import transaction
from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status, viewsets
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from cti.api.errors import ErrCode, V3Error
from cti.api.paging import paginate
from cti.api.params import parse_params, parse_pk
from cti.api.permissions import AdministratorWrites
from cti.api.viewsets import success
from cti.notify import services
from cti.notify.api.serializers import (
    NotifierInputSerializer,
    TriggerInputSerializer,
    delivery_json,
    notifier_json,
    trigger_json,
)
from cti.notify.choices import DeliveryStatus
from cti.notify.models import Delivery, Notifier, Trigger


def _is_admin(request: Request) -> bool:
    return bool(getattr(request.user, "is_administrator", False))


def _get(queryset: QuerySet, pk: str, what: str):
    key = parse_pk(pk)
    obj = queryset.filter(pk=key).first() if key is not None else None
    if obj is None:
        raise V3Error(f"{what} {pk!r} not found.", ErrCode.NOT_FOUND)
    return obj


def _body(request: Request) -> dict:
    if not isinstance(request.data, dict):
        raise V3Error("Request body must be a JSON object.", ErrCode.IMPROPER_FORMAT)
    return request.data


def _page(request: Request, queryset: QuerySet, render) -> Response:
    rows, meta = paginate(request, parse_params(request), queryset)
    return Response(success([render(row) for row in rows], **meta))


OBJ = {200: OpenApiTypes.OBJECT}
PAGING = [
    OpenApiParameter("resultStart", int),
    OpenApiParameter("resultLimit", int),
    OpenApiParameter("count", bool),
]


class TriggerViewSet(viewsets.ViewSet):
    permission_classes = [IsAuthenticated]
    lookup_value_regex = "[^/]+"

    def _queryset(self) -> QuerySet:
        qs = Trigger.objects.select_related("user").prefetch_related("notifiers")
        return qs if _is_admin(self.request) else qs.filter(user=self.request.user)

    def _input(self, request: Request, partial: bool) -> dict:
        serializer = TriggerInputSerializer(data=_body(request), partial=partial)
        serializer.is_valid(raise_exception=True)
        return dict(serializer.validated_data)

    def _reload(self, trigger: Trigger) -> dict:
        return trigger_json(self._queryset().get(pk=trigger.pk))

    @extend_schema(responses=OBJ, parameters=PAGING, operation_id="notification_triggers_list")
    def list(self, request: Request) -> Response:
        return _page(request, self._queryset().order_by("pk"), trigger_json)

    @extend_schema(responses=OBJ, operation_id="notification_triggers_retrieve")
    def retrieve(self, request: Request, pk: str) -> Response:
        return Response(success(trigger_json(_get(self._queryset(), pk, "Trigger"))))

    @extend_schema(
        request=TriggerInputSerializer,
        responses={201: OpenApiTypes.OBJECT},
        operation_id="notification_triggers_create",
    )
    def create(self, request: Request) -> Response:
        data = self._input(request, partial=False)
        with transaction.atomic():
            trigger = services.trigger_create(user=request.user, data=data)
        return Response(success(self._reload(trigger), "Created"), status=status.HTTP_201_CREATED)

    @extend_schema(
        request=TriggerInputSerializer, responses=OBJ, operation_id="notification_triggers_update"
    )
    def update(self, request: Request, pk: str) -> Response:
        trigger = _get(self._queryset(), pk, "Trigger")
        data = self._input(request, partial=True)
        with transaction.atomic():
            trigger = services.trigger_update(user=request.user, instance=trigger, data=data)
        return Response(success(self._reload(trigger), "Updated"))

    @extend_schema(responses=OBJ, operation_id="notification_triggers_destroy")
    def destroy(self, request: Request, pk: str) -> Response:
        trigger = _get(self._queryset(), pk, "Trigger")
        services.trigger_delete(user=request.user, instance=trigger)
        return Response(success(message="Deleted"))


class NotifierViewSet(viewsets.ViewSet):
    permission_classes = [AdministratorWrites]
    lookup_value_regex = "[^/]+"

    def _render(self, notifier: Notifier) -> dict:
        return notifier_json(notifier, full=_is_admin(self.request))

    def _save(self, request: Request, notifier: Notifier, partial: bool) -> Notifier:
        serializer = NotifierInputSerializer(data=_body(request), partial=partial)
        serializer.is_valid(raise_exception=True)
        name = serializer.validated_data.get("name")
        if name and Notifier.objects.filter(name=name).exclude(pk=notifier.pk).exists():
            raise V3Error(f"A notifier named {name!r} already exists.", ErrCode.CONFLICT)
        with transaction.atomic():
            return services.notifier_save(notifier, dict(serializer.validated_data))

    @extend_schema(responses=OBJ, parameters=PAGING, operation_id="notification_notifiers_list")
    def list(self, request: Request) -> Response:
        return _page(request, Notifier.objects.order_by("name", "pk"), self._render)

    @extend_schema(responses=OBJ, operation_id="notification_notifiers_retrieve")
    def retrieve(self, request: Request, pk: str) -> Response:
        return Response(success(self._render(_get(Notifier.objects.all(), pk, "Notifier"))))

    @extend_schema(
        request=NotifierInputSerializer,
        responses={201: OpenApiTypes.OBJECT},
        operation_id="notification_notifiers_create",
    )
    def create(self, request: Request) -> Response:
        notifier = self._save(request, Notifier(), partial=False)
        return Response(success(self._render(notifier), "Created"), status=status.HTTP_201_CREATED)

    @extend_schema(
        request=NotifierInputSerializer,
        responses=OBJ,
        operation_id="notification_notifiers_update",
    )
    def update(self, request: Request, pk: str) -> Response:
        notifier = _get(Notifier.objects.all(), pk, "Notifier")
        notifier = self._save(request, notifier, partial=True)
        return Response(success(self._render(notifier), "Updated"))

    @extend_schema(responses=OBJ, operation_id="notification_notifiers_destroy")
    def destroy(self, request: Request, pk: str) -> Response:
        _get(Notifier.objects.all(), pk, "Notifier").delete()
        return Response(success(message="Deleted"))


class DeliveryViewSet(viewsets.ViewSet):
    permission_classes = [IsAuthenticated]
    lookup_value_regex = "[^/]+"

    def _queryset(self) -> QuerySet:
        qs = Delivery.objects.select_related("trigger", "notifier", "event")
        return qs if _is_admin(self.request) else qs.filter(trigger__user=self.request.user)

    @extend_schema(
        responses=OBJ,
        parameters=[
            *PAGING,
            OpenApiParameter("status", str, enum=DeliveryStatus.values),
            OpenApiParameter("trigger", int),
        ],
        operation_id="notification_deliveries_list",
    )
    def list(self, request: Request) -> Response:
        qs = self._queryset()
        wanted = request.query_params.get("status")
        if wanted:
            if wanted not in DeliveryStatus.values:
                raise V3Error(f"status must be one of {DeliveryStatus.values}.")
            qs = qs.filter(status=wanted)
        trigger = request.query_params.get("trigger")
        if trigger:
            trigger_id = parse_pk(trigger)
            if trigger_id is None:
                raise V3Error("trigger must be an integer.")
            qs = qs.filter(trigger_id=trigger_id)
        return _page(request, qs.order_by("-pk"), delivery_json)

    @extend_schema(responses=OBJ, operation_id="notification_deliveries_retrieve")
    def retrieve(self, request: Request, pk: str) -> Response:
        return Response(success(delivery_json(_get(self._queryset(), pk, "Delivery"))))
