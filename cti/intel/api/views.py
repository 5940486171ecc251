import ijson
from django.db.models import Model, QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from cti.api.errors import ErrCode, V3Error
from cti.api.permissions import V3RolePermission
from cti.api.viewsets import V3ViewSet, success
from cti.intel import resources, selectors, services
from cti.intel.choices import CASE, RELATIONSHIP, SIGHTING
from cti.intel.models import StixObject
from cti.security.visibility import owner_named, visible


class StixWriteMixin:
    """Writes take a STIX 2.1 object as the body."""

    create_service = services.intel_object_create
    update_service = services.intel_object_update
    delete_service = services.intel_object_delete

    only_type: str | None = None  # the one STIX type the endpoint takes (None: any type)

    def input_data(self, method: str, body: dict, instance: Model | None = None) -> dict:
        if method == "POST":
            if self.only_type and "type" not in body:
                body = {**body, "type": self.only_type}
            stix_type = body.get("type")
            if self.only_type and stix_type != self.only_type:
                raise V3Error(f"This endpoint takes {self.only_type} objects, not {stix_type!r}.")
        return {"stix": body}

    def reload(self, obj: Model) -> Model:
        model = self.resource.model
        pk = obj.pk
        return self.resource.queryset_for(self.expansions(), self.scope_nested).get(
            pk=pk if model is StixObject or not isinstance(obj, StixObject) else obj.pk
        )


class IntelObjectViewSet(StixWriteMixin, V3ViewSet):
    resource = resources.OBJECTS

    def scope_queryset(self, queryset: QuerySet) -> QuerySet:
        return super().scope_queryset(queryset).exclude(type__in=(RELATIONSHIP, SIGHTING, CASE))


class IntelRelationshipViewSet(StixWriteMixin, V3ViewSet):
    resource = resources.RELATIONSHIPS
    only_type = RELATIONSHIP


class IntelSightingViewSet(StixWriteMixin, V3ViewSet):
    resource = resources.SIGHTINGS
    only_type = SIGHTING


class BundleView(APIView):
    """POST a STIX 2.1 bundle (streamed, upserted); GET an export."""

    permission_classes = [V3RolePermission]
    parser_classes: list = []

    @extend_schema(
        request=OpenApiTypes.OBJECT,
        responses={200: OpenApiTypes.OBJECT},
        operation_id="intel_bundles_import",
        tags=["intel"],
    )
    def post(self, request: Request) -> Response:
        stream = request._request  # read the body incrementally, never whole
        try:
            objects = ijson.items(stream, "objects.item", use_float=True)
            result = services.import_objects(objects, owner=_import_owner(request))
        except ijson.JSONError as exc:
            raise V3Error(f"The bundle is not valid JSON: {exc}", ErrCode.IMPROPER_FORMAT) from None
        return Response(success(result.as_dict(), "Imported"))

    @extend_schema(
        responses={200: OpenApiTypes.OBJECT},
        operation_id="intel_bundles_export",
        tags=["intel"],
        parameters=[
            OpenApiParameter("id", str, many=True, description="STIX ids (repeat or comma)"),
            OpenApiParameter("neighbours", bool, description="Add first-degree neighbours"),
            OpenApiParameter("caseId", int, description="Everything a case holds"),
        ],
    )
    def get(self, request: Request) -> Response:
        params = request.query_params
        ids = [i for value in params.getlist("id") for i in value.split(",") if i]
        node_ids: set[int] = set(services.resolve_ids(ids).values())
        if params.get("caseId"):
            node_ids |= _case_nodes(params["caseId"], request.user)
        if params.get("neighbours", "").lower() == "true":
            node_ids = selectors.neighbourhood(node_ids)
        node_ids = selectors.with_dependencies(node_ids)
        return Response(selectors.bundle(selectors.visible_node_ids(request.user, node_ids)))


def _import_owner(request: Request):
    """`?owner=` (403 when unknown or hidden), else the importer's organisation."""
    name = request.query_params.get("owner")
    return owner_named(request.user, name) if name else getattr(request.user, "owner", None)


def _case_nodes(case_id: str, user) -> set[int]:
    """A case's graph node carries the case id as its value (the graph knows no cases app);
    it has the case's owner, so another owner's case is as unknown as a missing one."""
    if not case_id.isdigit():
        raise V3Error("caseId must be an integer.")
    node = visible(StixObject.objects.filter(type=CASE, value=case_id), user).first()
    return selectors.case_contents(node.pk) if node else set()
