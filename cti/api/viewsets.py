"""The base viewset every v3 resource declares itself on.

A resource viewset sets `resource` and the service functions that perform writes; everything
else (envelope, TQL, sorting, paging, fields=, OPTIONS, xid lookup, bulk delete) lives here."""

import json
from collections.abc import Callable
from typing import Any, ClassVar

from django.db import transaction
from django.db.models import Model, QuerySet
from django.http import RawPostDataException
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from cti.api.errors import ErrCode, V3Error
from cti.api.inputs import validate_input
from cti.api.paging import paginate
from cti.api.params import V3Params, parse_params, parse_pk
from cti.api.permissions import V3RolePermission
from cti.api.rendering import render_many
from cti.api.resources import Access, Resource
from cti.api.sorting import parse_sorting
from cti.security.models import Owner
from cti.security.visibility import Viewer, owner_named, viewer_for, visible
from cti.tql import TqlContext, compile_tql

CreateService = Callable[..., Model]
UpdateService = Callable[..., Model]
DeleteService = Callable[..., None]


def success(data: Any = None, message: str | None = None, **meta: Any) -> dict:
    body: dict[str, Any] = {}
    if data is not None:
        body["data"] = data
    body.update(meta)
    if message:
        body["message"] = message
    body["status"] = "Success"
    return body


class V3ViewSet(viewsets.GenericViewSet):
    resource: ClassVar[Resource]
    create_service: ClassVar[CreateService | None] = None
    update_service: ClassVar[UpdateService | None] = None
    delete_service: ClassVar[DeleteService | None] = None
    permission_classes = [V3RolePermission]
    lookup_value_regex = "[^/]+"
    pagination_class = None

    # ---- hooks a resource may override -------------------------------------------------
    def scope_queryset(self, queryset: QuerySet) -> QuerySet:
        """Restrict rows to what the requesting user may see (and to the `?owner=` named)."""
        return visible(queryset, self.viewer, self.named_owner)

    def default_filter(self, queryset: QuerySet, params: V3Params) -> QuerySet:
        """Rows a list hides unless asked for (applied after the TQL filter)."""
        return queryset

    # ---- shared machinery ---------------------------------------------------------------
    def get_queryset(self) -> QuerySet:
        return self.scope_queryset(self.resource.base_queryset())

    @property
    def params(self) -> V3Params:
        if not hasattr(self, "_params"):
            self._params = parse_params(self.request)
            self._named_owner = (
                owner_named(self.viewer, self._params.owner) if self._params.owner else None
            )
        return self._params

    @property
    def named_owner(self) -> Owner | None:
        """The owner `?owner=` names (403 if unknown or hidden): lists narrow to it, creates
        write into it."""
        self.params  # noqa: B018 - parses and checks the parameter once
        return self._named_owner

    @property
    def viewer(self) -> Viewer:
        return viewer_for(self.request.user)

    def scope_nested(self, queryset: QuerySet) -> QuerySet:
        """Rows shown inside another (expansions): what the user may see, any owner."""
        return visible(queryset, self.viewer)

    def expansions(self):
        found = []
        for name in self.params.fields:
            exp = self.resource.expansion(name)
            if exp and exp not in found:
                found.append(exp)
        return found

    def expanded_queryset(self) -> QuerySet:
        qs = self.resource.queryset_for(self.expansions(), self.scope_nested)
        return self.scope_queryset(qs)

    def tql_context(self) -> TqlContext:
        return TqlContext(user=self.request.user, scope=self.scope_nested)

    def filtered_queryset(self) -> QuerySet:
        params = self.params
        qs = self.expanded_queryset()
        if params.tql.strip():
            qs = qs.filter(compile_tql(params.tql, self.resource.tql, self.tql_context()))
        return self.default_filter(qs, params)

    def render_all(self, rows: list[Model]) -> list[dict]:
        expansions = self.expansions()
        for exp in expansions:
            if exp.attach and rows:
                exp.attach(rows, self.scope_nested)
        expand = frozenset(e.name for e in expansions)
        return render_many(rows, self.resource, expand)

    def render(self, obj: Model) -> dict:
        return self.render_all([obj])[0]

    def get_object(self) -> Model:
        return self.lookup(self.expanded_queryset(), self.kwargs["pk"])

    def lookup(self, queryset: QuerySet, key: str) -> Model:
        key_field = self.resource.key_field or ("xid" if self.resource.xid_lookup else None)
        pk = parse_pk(key)
        if pk is not None:
            obj = queryset.filter(pk=pk).first()
        elif key_field:
            obj = queryset.filter(**{key_field: key}).first()
        else:
            obj = None
        if obj is None:
            raise V3Error(f"{self.resource.model.__name__} {key!r} not found.", ErrCode.NOT_FOUND)
        return obj

    def reload(self, obj: Model) -> Model:
        """The written object as the response shows it (the writer sees what it wrote, even
        where a userAccess list it is not on now hides it)."""
        return self.resource.queryset_for(self.expansions(), self.scope_nested).get(pk=obj.pk)

    def input_data(self, method: str, body: dict, instance: Model | None = None) -> dict:
        """Validated write data (from the resource's field specs unless overridden)."""
        return validate_input(self.resource, method, body)

    def request_body(self, request: Request) -> dict:
        data = request.data
        if not data and request.method == "DELETE":
            try:
                data = json.loads(request.body or b"{}")
            except (RawPostDataException, ValueError):  # RawPostData: a parser already read it
                data = {}
        if not isinstance(data, dict):
            raise V3Error("Request body must be a JSON object.", ErrCode.IMPROPER_FORMAT)
        return data

    def _require(self, service, verb: str):
        if service is None:
            raise V3Error(
                f"{verb} is not supported on {self.resource.name}.", ErrCode.METHOD_NOT_ALLOWED
            )
        return service

    # ---- endpoints ----------------------------------------------------------------------
    def list(self, request: Request) -> Response:
        params = self.params
        qs = self.filtered_queryset()
        ordering = parse_sorting(params.sorting, self.resource.tql) if params.sorting else []
        qs = qs.order_by(*ordering, *self.resource.ordering)
        rows, meta = paginate(request, params, qs)
        return Response(success(self.render_all(rows), **meta))

    def retrieve(self, request: Request, pk: str) -> Response:
        return Response(success(self.render(self.get_object())))

    def create(self, request: Request) -> Response:
        service = self._require(type(self).create_service, "POST")
        data = self.input_data("POST", self.request_body(request))
        if self.named_owner is not None:
            data["owner"] = self.named_owner
        with transaction.atomic():
            obj = service(user=request.user, data=data)
        return Response(
            success(self.render(self.reload(obj)), "Created"), status=status.HTTP_201_CREATED
        )

    def update(self, request: Request, pk: str) -> Response:
        service = self._require(type(self).update_service, "PUT")
        obj = self.lookup(self.get_queryset(), pk)
        data = self.input_data("PUT", self.request_body(request), obj)
        with transaction.atomic():
            obj = service(user=request.user, instance=obj, data=data)
        return Response(success(self.render(self.reload(obj)), "Updated"))

    def destroy(self, request: Request, pk: str) -> Response:
        service = self._require(type(self).delete_service, "DELETE")
        obj = self.lookup(self.get_queryset(), pk)
        with transaction.atomic():
            service(user=request.user, instance=obj, data=self.request_body(request))
        return Response(success(message="Deleted"))

    def bulk_destroy(self, request: Request) -> Response:
        service = self._require(type(self).delete_service, "DELETE")
        if not self.params.tql.strip():
            raise V3Error("Bulk delete needs a tql parameter.", ErrCode.MISSING_DATA)
        qs = self.get_queryset().filter(
            compile_tql(self.params.tql, self.resource.tql, self.tql_context())
        )
        body = self.request_body(request)
        with transaction.atomic():
            count = 0
            for obj in qs.select_for_update(of=("self",)):
                service(user=request.user, instance=obj, data=body)
                count += 1
        return Response(success(message="Deleted", count=count))

    def options(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        show_all = self.params.show_read_only
        body = {
            spec.name: spec.descriptor()
            for spec in self.resource.fields
            if show_all or spec.access is not Access.RO
        }
        return Response(body)

    @action(detail=False, methods=["options"], url_path="fields")
    def options_fields(self, request: Request) -> Response:
        data = [
            {"name": e.name, "description": e.description, "includedByDefault": False}
            for e in self.resource.expansions
        ]
        return Response(success(data, count=len(data)))

    @action(detail=False, methods=["options"], url_path="tql")
    def options_tql(self, request: Request) -> Response:
        data = self.resource.tql.describe()
        return Response(success(data, count=len(data)))
