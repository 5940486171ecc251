"""OpenAPI for v3 resources, built from the same field specs that drive the API."""

from functools import cache

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers

from cti.api.inputs import input_serializer
from cti.api.resources import Resource

# Output fields are all optional: the renderer leaves out what has no value. (`required` must
# be a constructor argument: serializers deep-copy their fields by re-instantiating them.)
_OUTPUT_FIELDS = {
    "String": lambda: serializers.CharField(required=False),
    "Integer": lambda: serializers.IntegerField(required=False),
    "Long": lambda: serializers.IntegerField(required=False),
    "Boolean": lambda: serializers.BooleanField(required=False),
    "Date": lambda: serializers.DateTimeField(required=False),
    "List": lambda: serializers.ListField(child=serializers.DictField(), required=False),
}


class NestedCollection(serializers.Serializer):
    data = serializers.ListField(child=serializers.DictField())


class ErrorEnvelope(serializers.Serializer):
    status = serializers.CharField()
    message = serializers.CharField()
    errCode = serializers.CharField()


class DeletedEnvelope(serializers.Serializer):
    status = serializers.CharField()
    message = serializers.CharField()


def _output_field(spec) -> serializers.Field:
    if spec.many:
        return NestedCollection(required=False)
    factory = _OUTPUT_FIELDS.get(spec.type)
    return factory() if factory else serializers.DictField(required=False)


@cache
def output_serializer(resource: Resource) -> type[serializers.Serializer]:
    attrs = {s.name: _output_field(s) for s in resource.fields if not s.write_only}
    return type(f"{resource.model.__name__}Output", (serializers.Serializer,), attrs)


@cache
def envelope(resource: Resource, many: bool) -> type[serializers.Serializer]:
    if resource.renderer is not None:  # free-form (STIX) objects
        data = (
            serializers.ListField(child=serializers.DictField())
            if many
            else serializers.DictField()
        )
    else:
        data = output_serializer(resource)(many=many)
    attrs = {
        "data": data,
        "status": serializers.CharField(),
        "message": serializers.CharField(required=False),
    }
    if many:
        attrs.update(
            count=serializers.IntegerField(required=False),
            next=serializers.CharField(required=False),
            prev=serializers.CharField(required=False),
        )
    suffix = "List" if many else ""
    return type(f"{resource.model.__name__}{suffix}Envelope", (serializers.Serializer,), attrs)


LIST_PARAMETERS = [
    OpenApiParameter("tql", str, description="ThreatConnect Query Language filter"),
    OpenApiParameter("fields", str, many=True, description="Extra fields to include"),
    OpenApiParameter("resultStart", int, description="0-based offset"),
    OpenApiParameter("resultLimit", int, description="Page size (1-10000, default 100)"),
    OpenApiParameter(
        "resultCursor",
        str,
        description="Opaque keyset position, set in `next` links: with the resultStart it was "
        "made for, the page is read after the previous page's last row instead of skipping "
        "resultStart rows (same rows); ignored when it does not match the request",
    ),
    OpenApiParameter("count", bool, description="Include the total match count"),
    OpenApiParameter("sorting", str, description="<keyword> <asc|desc> pairs"),
    OpenApiParameter("owner", str, description="Owner name"),
]
ERRORS = {
    400: ErrorEnvelope,
    401: ErrorEnvelope,
    403: ErrorEnvelope,
    404: ErrorEnvelope,
    409: ErrorEnvelope,
}
# The V3ViewSet actions that answer 405 when the resource declares no service for them.
_WRITE_SERVICES = {
    "create": "create_service",
    "update": "update_service",
    "destroy": "delete_service",
    "bulk_destroy": "delete_service",
}


class V3AutoSchema(AutoSchema):
    def _resource(self) -> Resource | None:
        return getattr(self.view, "resource", None)

    def get_operation_id(self) -> str:
        resource = self._resource()
        action = getattr(self.view, "action", None)
        if resource is None or action is None:
            return super().get_operation_id()
        return f"{resource.name.replace('/', '_')}_{action}"

    def get_tags(self) -> list[str]:
        resource = self._resource()
        return [resource.name] if resource else super().get_tags()

    def get_request_serializer(self):
        resource, action = self._resource(), getattr(self.view, "action", None)
        if resource is None:
            return super().get_request_serializer()
        method = {"create": "POST", "update": "PUT"}.get(action)
        if method and resource.renderer is not None:
            return OpenApiTypes.OBJECT
        return input_serializer(resource, method) if method else None

    def get_response_serializers(self):
        resource, action = self._resource(), getattr(self.view, "action", None)
        if resource is None:
            return super().get_response_serializers()
        if action == "list":
            return {200: envelope(resource, True), **ERRORS}
        if action in ("retrieve", "update"):
            return {200: envelope(resource, False), **ERRORS}
        if action == "create":
            return {201: envelope(resource, False), **ERRORS}
        if action in ("destroy", "bulk_destroy"):
            return {200: DeletedEnvelope, **ERRORS}
        return {200: OpenApiTypes.OBJECT, **ERRORS}

    def _is_list_view(self, serializer=None) -> bool:
        # A v3 list answers one envelope object (data, count, next...), not a JSON array.
        if self._resource() is not None:
            return False
        return super()._is_list_view(serializer)

    def is_excluded(self) -> bool:
        """Methods a resource does not support (405) are left out of the schema."""
        service = _WRITE_SERVICES.get(getattr(self.view, "action", None))
        if service and self._resource() is not None and getattr(self.view, service) is None:
            return True
        return super().is_excluded()

    def _get_response_bodies(self, direction="response"):
        """Every operation documents the errors it can answer with (views may name their own
        with `schema_error_responses`, e.g. TAXII's error message instead of the v3 envelope)."""
        bodies = super()._get_response_bodies(direction)
        errors = getattr(self.view, "schema_error_responses", ERRORS)
        for code, serializer in errors.items():
            if str(code) not in bodies:
                bodies[str(code)] = self._get_response_for_code(
                    serializer, str(code), direction=direction
                )
        return bodies

    def get_override_parameters(self):
        params = list(super().get_override_parameters())
        if getattr(self.view, "action", None) in ("list", "bulk_destroy"):
            params += LIST_PARAMETERS
        return params


class TcTokenScheme(OpenApiAuthenticationExtension):
    target_class = "cti.api.authentication.TcTokenAuthentication"
    name = "tcToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`TC-Token <token>`",
        }


class TcHmacScheme(OpenApiAuthenticationExtension):
    target_class = "cti.api.authentication.TcHmacAuthentication"
    name = "tcHmac"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`TC <accessId>:<base64 HMAC-SHA256 of path?query:METHOD:ts>` "
            "with a `Timestamp` header",
        }
