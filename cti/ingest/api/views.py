"""POST /v3/sightings (v3 users), POST /v3/webhooks/{slug} (signed or token-authenticated
senders), and the admin-only dead letters: GET /v3/deadLetters[/{id}], POST .../{id}/replay."""

from django.http import HttpRequest
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from cti.api.errors import ErrCode, V3Error
from cti.api.params import parse_pk
from cti.api.parsers import LenientJSONParser
from cti.api.permissions import AdministratorOnly, V3RolePermission
from cti.api.viewsets import success
from cti.ingest import selectors, services
from cti.ingest.auth import authenticate
from cti.ingest.choices import DeadLetterStatus
from cti.ingest.models import DeadLetter

IDEMPOTENCY_HEADER = OpenApiParameter(
    "Idempotency-Key",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description="A retry with the same key gets the first response and changes nothing.",
)
MAX_KEY = 255
LETTER_ID = OpenApiParameter("id", {"type": "integer", "minimum": 0}, OpenApiParameter.PATH)


def _respond(outcome: services.Outcome) -> Response:
    headers = {"Idempotent-Replayed": "true"} if outcome.replayed else None
    return Response(outcome.body, status=outcome.status, headers=headers)


def _key(request: HttpRequest) -> str | None:
    key = request.headers.get("Idempotency-Key")
    if key is not None and not 0 < len(key) <= MAX_KEY:
        raise V3Error(f"Idempotency-Key must be 1 to {MAX_KEY} characters.")
    return key


class SightingsView(APIView):
    """A STIX 2.1 sighting, a bundle, or simple items: one, a list, or {"data": [...]}."""

    permission_classes = [V3RolePermission]
    parser_classes: list = []

    @extend_schema(
        request=OpenApiTypes.OBJECT,
        responses={200: OpenApiTypes.OBJECT, 400: OpenApiTypes.OBJECT},
        parameters=[IDEMPOTENCY_HEADER],
        operation_id="sightings_ingest",
        tags=["ingest"],
    )
    def post(self, request: Request) -> Response:
        raw = request._request
        key = _key(raw)
        ctx = services.Context(
            endpoint="sightings", actor=request.user, owner=getattr(request.user, "owner", None)
        )
        idempotency = (f"user:{request.user.pk}", key) if key else None
        headers = services.kept_headers(raw.headers)
        return _respond(services.ingest(ctx, raw.body, headers, idempotency))


class WebhookView(APIView):
    """Alerts of a configured source; authenticated by the source's signature or token."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    parser_classes: list = []

    @extend_schema(
        request=OpenApiTypes.OBJECT,
        responses={200: OpenApiTypes.OBJECT, 400: OpenApiTypes.OBJECT, 401: OpenApiTypes.OBJECT},
        parameters=[
            IDEMPOTENCY_HEADER,
            OpenApiParameter("token", OpenApiTypes.STR, OpenApiParameter.QUERY),
            OpenApiParameter("webhook-id", OpenApiTypes.STR, OpenApiParameter.HEADER),
            OpenApiParameter("webhook-timestamp", OpenApiTypes.STR, OpenApiParameter.HEADER),
            OpenApiParameter("webhook-signature", OpenApiTypes.STR, OpenApiParameter.HEADER),
        ],
        operation_id="webhooks_ingest",
        tags=["ingest"],
    )
    def post(self, request: Request, slug: str) -> Response:
        raw = request._request
        source = selectors.webhook_source(slug)
        if source is None:
            raise V3Error("Unknown webhook.", ErrCode.NOT_FOUND)
        if not source.enabled:
            raise V3Error("This webhook is disabled.", ErrCode.FORBIDDEN)
        body = raw.body
        webhook_id = authenticate(source, raw, body)
        key = _key(raw)
        if key:
            idempotency = (f"webhook:{slug}", key)
        elif webhook_id:
            idempotency = (f"webhook:{slug}:webhook-id", webhook_id)
        else:
            idempotency = None
        ctx = services.Context(endpoint=f"webhooks/{slug}", source=source, owner=source.owner)
        headers = services.kept_headers(raw.headers)
        return _respond(services.ingest(ctx, body, headers, idempotency))


def dead_letter_json(letter: DeadLetter, *, full: bool = False) -> dict:
    data = {
        "id": letter.pk,
        "source": letter.source.slug if letter.source else None,
        "endpoint": letter.endpoint,
        "received": letter.received,
        "status": letter.status,
        "httpStatus": letter.http_status,
        "error": letter.error,
        "attempts": letter.attempts,
        "replayed": letter.replayed,
    }
    if full:
        data["headers"] = letter.headers
        data["body"] = letter.body
        data["lastResult"] = letter.last_result
    return data


class DeadLetterViewSet(viewsets.ViewSet):
    permission_classes = [AdministratorOnly]
    parser_classes = [LenientJSONParser]
    lookup_value_regex = r"\d+"

    @extend_schema(
        responses={200: OpenApiTypes.OBJECT},
        parameters=[
            OpenApiParameter("status", OpenApiTypes.STR, enum=DeadLetterStatus.values),
            OpenApiParameter("source", OpenApiTypes.STR, description="A webhook source slug."),
            OpenApiParameter("resultStart", OpenApiTypes.INT),
            OpenApiParameter("resultLimit", OpenApiTypes.INT),
        ],
        operation_id="dead_letters_list",
        tags=["ingest"],
    )
    def list(self, request: Request) -> Response:
        start = _int_param(request, "resultStart", 0, 0, 10**9)
        limit = _int_param(request, "resultLimit", 100, 1, 10_000)
        status = request.query_params.get("status")
        if status and status not in DeadLetterStatus.values:
            raise V3Error(f"status must be one of {', '.join(DeadLetterStatus.values)}.")
        letters = selectors.dead_letters(status=status, source=request.query_params.get("source"))
        page = [dead_letter_json(x) for x in letters[start : start + limit]]
        return Response(success(page, count=letters.count()))

    @extend_schema(
        responses={200: OpenApiTypes.OBJECT},
        parameters=[LETTER_ID],
        operation_id="dead_letters_retrieve",
        tags=["ingest"],
    )
    def retrieve(self, request: Request, pk: str) -> Response:
        return Response(success(dead_letter_json(selectors.dead_letter(pk), full=True)))

    @extend_schema(
        request=OpenApiTypes.OBJECT,
        responses={200: OpenApiTypes.OBJECT},
        parameters=[LETTER_ID],
        operation_id="dead_letters_replay",
        tags=["ingest"],
    )
    @action(detail=True, methods=["post"])
    def replay(self, request: Request, pk: str) -> Response:
        letter = selectors.dead_letter(pk)
        body = request.data.get("body") if isinstance(request.data, dict) else None
        if body is not None and not isinstance(body, str):
            raise V3Error('"body" must be the payload as a string.')
        outcome = services.replay(letter, body=body)
        letter.refresh_from_db()
        data = dead_letter_json(letter, full=True) | {"result": outcome.body}
        return Response(success(data, "Replayed" if outcome.status < 300 else "Replay failed"))


def _int_param(request: Request, name: str, default: int, low: int, high: int) -> int:
    value = request.query_params.get(name)
    if value is None:
        return default
    number = parse_pk(value)
    if number is None or not low <= number <= high:
        raise V3Error(f"{name} must be an integer from {low} to {high}.")
    return number
