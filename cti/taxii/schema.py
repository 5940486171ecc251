"""OpenAPI security schemes of the TAXII authentication classes."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import serializers


class TaxiiBasicScheme(OpenApiAuthenticationExtension):
    target_class = "cti.taxii.authentication.TaxiiBasicAuthentication"
    name = "taxiiBasic"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "basic",
            "description": "User name and API token (the token is the password)",
        }


class TaxiiTokenScheme(OpenApiAuthenticationExtension):
    target_class = "cti.taxii.authentication.TaxiiTokenAuthentication"
    name = "taxiiToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Token <API token>` or `Bearer <API token>`",
        }


class TaxiiErrorMessage(serializers.Serializer):
    title = serializers.CharField()
    description = serializers.CharField(required=False)
    http_status = serializers.CharField(required=False)


# What a TAXII view documents besides its successes (cti.api.schema.V3AutoSchema reads it).
TAXII_ERRORS = {code: TaxiiErrorMessage for code in (400, 401, 403, 404, 406)}
