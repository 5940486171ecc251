"""Administrators manage API credentials: GET /v3/security/credentials[/{id}], POST (issue for a
user), POST .../{id}/rotate and .../{id}/revoke. The secret key and token are shown once, in the
answer that created them; they are never readable afterwards."""

from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from cti.api.errors import ErrCode, V3Error
from cti.api.paging import paginate
from cti.api.params import parse_params, parse_pk
from cti.api.parsers import LenientJSONParser
from cti.api.permissions import AdministratorOnly
from cti.api.resources import format_datetime
from cti.api.viewsets import success
from cti.security import services
from cti.security.models import ApiCredential, User
from cti.security.resources import user_summary

CREDENTIAL_ID = OpenApiParameter("id", {"type": "integer", "minimum": 0}, OpenApiParameter.PATH)
TAGS = ["security/credentials"]


def credential_json(credential: ApiCredential) -> dict:
    data = {
        "id": credential.pk,
        "accessId": credential.access_id,
        "user": user_summary(credential.user),
        "created": format_datetime(credential.created),
        "revoked": credential.revoked,
    }
    if credential.revoked_at:
        data["revokedAt"] = format_datetime(credential.revoked_at)
    if credential.rotated_at:
        data["rotatedAt"] = format_datetime(credential.rotated_at)
    return data


def issued_json(issued: services.IssuedCredential) -> dict:
    credential = ApiCredential.objects.select_related("user").get(access_id=issued.access_id)
    return credential_json(credential) | {"secretKey": issued.secret_key, "token": issued.token}


class ApiCredentialViewSet(viewsets.ViewSet):
    permission_classes = [AdministratorOnly]
    parser_classes = [LenientJSONParser]
    lookup_value_regex = r"\d+"

    def _queryset(self) -> QuerySet:
        return ApiCredential.objects.select_related("user").order_by("pk")

    def _get(self, pk: str) -> ApiCredential:
        key = parse_pk(pk)
        found = self._queryset().filter(pk=key).first() if key is not None else None
        if found is None:
            raise V3Error(f"Credential {pk!r} not found.", ErrCode.NOT_FOUND)
        return found

    @extend_schema(
        responses={200: OpenApiTypes.OBJECT},
        parameters=[
            OpenApiParameter("user", OpenApiTypes.STR, description="User name or id"),
            OpenApiParameter("revoked", OpenApiTypes.BOOL),
            OpenApiParameter("resultStart", OpenApiTypes.INT),
            OpenApiParameter("resultLimit", OpenApiTypes.INT),
            OpenApiParameter("count", OpenApiTypes.BOOL),
        ],
        operation_id="security_credentials_list",
        tags=TAGS,
    )
    def list(self, request: Request) -> Response:
        params = parse_params(request)
        qs = self._queryset()
        user = request.query_params.get("user")
        if user:
            pk = parse_pk(user)
            qs = qs.filter(user_id=pk) if pk is not None else qs.filter(user__username=user)
        revoked = request.query_params.get("revoked")
        if revoked is not None:
            if revoked.lower() not in ("true", "false"):
                raise V3Error("revoked must be true or false.")
            qs = qs.filter(revoked=revoked.lower() == "true")
        rows, meta = paginate(request, params, qs)
        return Response(success([credential_json(c) for c in rows], **meta))

    @extend_schema(
        responses={200: OpenApiTypes.OBJECT},
        parameters=[CREDENTIAL_ID],
        operation_id="security_credentials_retrieve",
        tags=TAGS,
    )
    def retrieve(self, request: Request, pk: str) -> Response:
        return Response(success(credential_json(self._get(pk))))

    @extend_schema(
        request=OpenApiTypes.OBJECT,
        responses={201: OpenApiTypes.OBJECT},
        description='Issue a credential for a user: {"userId": 5} or {"userName": "x"}.',
        operation_id="security_credentials_create",
        tags=TAGS,
    )
    def create(self, request: Request) -> Response:
        body = request.data if isinstance(request.data, dict) else None
        if body is None:
            raise V3Error("Request body must be a JSON object.", ErrCode.IMPROPER_FORMAT)
        user_id, name = body.get("userId"), body.get("userName")
        if isinstance(user_id, int) and not isinstance(user_id, bool):
            user = User.objects.filter(pk=user_id).first()
        elif isinstance(name, str) and name:
            user = User.objects.filter(username=name).first()
        else:
            raise V3Error('Give "userId" (an integer) or "userName".', ErrCode.MISSING_DATA)
        if user is None:
            raise V3Error("User not found.", ErrCode.NOT_FOUND)
        issued = services.api_credential_issue(user)
        return Response(success(issued_json(issued), "Created"), status=status.HTTP_201_CREATED)

    @extend_schema(
        request=None,
        responses={200: OpenApiTypes.OBJECT},
        parameters=[CREDENTIAL_ID],
        operation_id="security_credentials_rotate",
        tags=TAGS,
    )
    @action(detail=True, methods=["post"])
    def rotate(self, request: Request, pk: str) -> Response:
        issued = services.api_credential_rotate(self._get(pk))
        return Response(success(issued_json(issued), "Rotated"))

    @extend_schema(
        request=None,
        responses={200: OpenApiTypes.OBJECT},
        parameters=[CREDENTIAL_ID],
        operation_id="security_credentials_revoke",
        tags=TAGS,
    )
    @action(detail=True, methods=["post"])
    def revoke(self, request: Request, pk: str) -> Response:
        credential = services.api_credential_revoke(self._get(pk))
        credential = self._queryset().get(pk=credential.pk)
        return Response(success(credential_json(credential), "Revoked"))
