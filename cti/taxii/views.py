"""TAXII 2.1 endpoints (read-only): discovery, one API root, collections, objects, manifest,
versions. Every response is `application/taxii+json;version=2.1`; every error a TAXII error."""

from django.http import QueryDict
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from cti.api.authentication import TcHmacAuthentication, TcTokenAuthentication
from cti.taxii import selectors
from cti.taxii.authentication import TaxiiBasicAuthentication, TaxiiTokenAuthentication
from cti.taxii.collections import Collection, collection_for, collections_for
from cti.taxii.errors import TAXII_MEDIA_TYPE, TaxiiError, not_found, taxii_exception_handler
from cti.taxii.negotiation import TaxiiContentNegotiation, TaxiiJSONRenderer
from cti.taxii.schema import TAXII_ERRORS  # importing it registers the OpenAPI auth schemes

API_ROOT_TITLE = "cti"
MAX_CONTENT_LENGTH = 10 * 1024 * 1024

FILTERS = [
    OpenApiParameter("added_after", str, description="Only objects added after (RFC 3339)"),
    OpenApiParameter("limit", int, description="Page size (server caps it)"),
    OpenApiParameter("next", str, description="The `next` cursor of the previous page"),
    OpenApiParameter("match[id]", str, description="STIX ids, comma separated"),
    OpenApiParameter("match[type]", str, description="STIX types, comma separated"),
    OpenApiParameter("match[version]", str, description="first, last, all or timestamps"),
    OpenApiParameter("match[spec_version]", str, description="2.1"),
]
OBJECT_FILTERS = [p for p in FILTERS if p.name not in ("match[id]", "match[type]")]


class TaxiiView(APIView):
    authentication_classes = [
        TaxiiBasicAuthentication,
        TaxiiTokenAuthentication,
        TcTokenAuthentication,
        TcHmacAuthentication,
    ]
    permission_classes = [IsAuthenticated]
    renderer_classes = [TaxiiJSONRenderer]
    parser_classes: list = []
    content_negotiation_class = TaxiiContentNegotiation
    schema_error_responses = TAXII_ERRORS

    def get_exception_handler(self):
        return taxii_exception_handler

    def collection(self, collection_id: str) -> Collection:
        return collection_for(self.request.user, collection_id)


def _api_root_url(request: Request) -> str:
    return request.build_absolute_uri(reverse("taxii-api-root"))


def _paged(page: selectors.Page, body: dict) -> Response:
    body = {"more": page.more, **({"next": page.next} if page.next else {}), **body}
    headers = {}
    if page.rows:
        headers["X-TAXII-Date-Added-First"] = selectors.date_added_text(page.first_added)
        headers["X-TAXII-Date-Added-Last"] = selectors.date_added_text(page.last_added)
    return Response(body, headers=headers)


class DiscoveryView(TaxiiView):
    @extend_schema(
        responses={200: OpenApiTypes.OBJECT}, tags=["taxii"], operation_id="taxii_discovery"
    )
    def get(self, request: Request) -> Response:
        root = _api_root_url(request)
        return Response(
            {
                "title": "cti TAXII 2.1 server",
                "description": "Read-only TAXII 2.1 access to the knowledge graph.",
                "default": root,
                "api_roots": [root],
            }
        )


class ApiRootView(TaxiiView):
    @extend_schema(
        responses={200: OpenApiTypes.OBJECT}, tags=["taxii"], operation_id="taxii_api_root"
    )
    def get(self, request: Request) -> Response:
        return Response(
            {
                "title": API_ROOT_TITLE,
                "description": "The knowledge graph's intelligence, per collection.",
                "versions": [TAXII_MEDIA_TYPE],
                "max_content_length": MAX_CONTENT_LENGTH,
            }
        )


class CollectionsView(TaxiiView):
    @extend_schema(
        responses={200: OpenApiTypes.OBJECT}, tags=["taxii"], operation_id="taxii_collections"
    )
    def get(self, request: Request) -> Response:
        return Response({"collections": [c.as_json() for c in collections_for(request.user)]})


class CollectionView(TaxiiView):
    @extend_schema(
        responses={200: OpenApiTypes.OBJECT}, tags=["taxii"], operation_id="taxii_collection"
    )
    def get(self, request: Request, collection_id: str) -> Response:
        return Response(self.collection(collection_id).as_json())


def _read_only(collection: Collection) -> TaxiiError:
    return TaxiiError(
        403, "Forbidden", f"Collection {collection.id} is read-only (can_write false)."
    )


class ObjectsView(TaxiiView):
    @extend_schema(
        parameters=FILTERS,
        responses={200: OpenApiTypes.OBJECT},
        tags=["taxii"],
        operation_id="taxii_objects",
    )
    def get(self, request: Request, collection_id: str) -> Response:
        collection = self.collection(collection_id)
        filters = selectors.parse_filters(request.query_params)
        page = selectors.object_page(collection.queryset(request.user), filters)
        objects = [selectors.stix_object(node) for node in page.rows]
        return _paged(page, {"objects": objects} if objects else {})

    @extend_schema(
        request=OpenApiTypes.OBJECT,
        responses={403: OpenApiTypes.OBJECT},
        tags=["taxii"],
        operation_id="taxii_objects_add",
    )
    def post(self, request: Request, collection_id: str) -> Response:
        raise _read_only(self.collection(collection_id))


class ManifestView(TaxiiView):
    @extend_schema(
        parameters=FILTERS,
        responses={200: OpenApiTypes.OBJECT},
        tags=["taxii"],
        operation_id="taxii_manifest",
    )
    def get(self, request: Request, collection_id: str) -> Response:
        collection = self.collection(collection_id)
        filters = selectors.parse_filters(request.query_params)
        page = selectors.manifest_page(collection.queryset(request.user), filters)
        entries = [selectors.manifest_entry(node) for node in page.rows]
        return _paged(page, {"objects": entries} if entries else {})


def _one_object(params: QueryDict, object_id: str) -> selectors.Filters:
    """The object endpoints take the listing filters less match[id] / match[type]."""
    params = params.copy()
    for name in ("match[id]", "match[type]"):
        params.pop(name, None)
    params.setlist("match[id]", [object_id])
    return selectors.parse_filters(params)


class ObjectView(TaxiiView):
    @extend_schema(
        parameters=OBJECT_FILTERS,
        responses={200: OpenApiTypes.OBJECT},
        tags=["taxii"],
        operation_id="taxii_object",
    )
    def get(self, request: Request, collection_id: str, object_id: str) -> Response:
        collection = self.collection(collection_id)
        filters = _one_object(request.query_params, object_id)
        rows = collection.queryset(request.user)
        page = selectors.object_page(rows, filters)
        if not page.rows and not selectors.object_exists(rows, object_id):
            raise not_found(f"No object {object_id!r} in collection {collection.id}.")
        objects = [selectors.stix_object(node) for node in page.rows]
        return _paged(page, {"objects": objects} if objects else {})

    @extend_schema(
        responses={403: OpenApiTypes.OBJECT}, tags=["taxii"], operation_id="taxii_object_delete"
    )
    def delete(self, request: Request, collection_id: str, object_id: str) -> Response:
        raise _read_only(self.collection(collection_id))


class VersionsView(TaxiiView):
    @extend_schema(
        parameters=OBJECT_FILTERS,
        responses={200: OpenApiTypes.OBJECT},
        tags=["taxii"],
        operation_id="taxii_object_versions",
    )
    def get(self, request: Request, collection_id: str, object_id: str) -> Response:
        collection = self.collection(collection_id)
        filters = _one_object(request.query_params, object_id)
        rows = collection.queryset(request.user)
        page = selectors.manifest_page(rows, filters)
        if not page.rows and not selectors.object_exists(rows, object_id):
            raise not_found(f"No object {object_id!r} in collection {collection.id}.")
        versions = [selectors.version_text(node.taxii_version) for node in page.rows]
        return _paged(page, {"versions": versions} if versions else {})


class StatusView(TaxiiView):
    @extend_schema(
        responses={404: OpenApiTypes.OBJECT}, tags=["taxii"], operation_id="taxii_status"
    )
    def get(self, request: Request, status_id: str) -> Response:
        raise not_found("This server accepts no writes, so it has no status resources.")
