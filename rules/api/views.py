"""Admin-only rule manager: GET /v3/rules, GET/PUT /v3/rules/{id} with {"active": bool}."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from cti.api.errors import ErrCode, V3Error
from cti.api.permissions import AdministratorOnly
from cti.api.viewsets import success
from rules.definitions import RULES, RULES_BY_ID
from rules.models import RuleState
from rules.services import rule_set_active, rule_states


def rule_json(rule, state: RuleState) -> dict:
    return {
        "id": rule.id,
        "name": rule.name,
        "category": rule.category,
        "description": rule.description,
        "display": {"if": rule.display_if, "then": rule.display_then},
        "active": state.active,
        "status": state.status,
        "progress": {
            "processed": state.processed,
            "total": state.total,
            "percent": state.percent,
            "started": state.started,
            "finished": state.finished,
            "errors": state.errors,
        },
        "inferred": state.inferred,
    }


class RuleViewSet(viewsets.ViewSet):
    permission_classes = [AdministratorOnly]
    lookup_value_regex = "[^/]+"

    def _rule(self, pk: str):
        rule = RULES_BY_ID.get(pk)
        if rule is None:
            raise V3Error(f"Rule {pk!r} not found.", ErrCode.NOT_FOUND)
        return rule

    @extend_schema(responses={200: OpenApiTypes.OBJECT}, operation_id="rules_list")
    def list(self, request: Request) -> Response:
        states = rule_states()
        data = [rule_json(r, states[r.id]) for r in RULES]
        return Response(success(data, count=len(data)))

    @extend_schema(responses={200: OpenApiTypes.OBJECT}, operation_id="rules_retrieve")
    def retrieve(self, request: Request, pk: str) -> Response:
        rule = self._rule(pk)
        return Response(success(rule_json(rule, rule_states()[rule.id])))

    @extend_schema(
        request=OpenApiTypes.OBJECT,
        responses={200: OpenApiTypes.OBJECT},
        operation_id="rules_update",
    )
    def update(self, request: Request, pk: str) -> Response:
        rule = self._rule(pk)
        active = request.data.get("active") if isinstance(request.data, dict) else None
        if not isinstance(active, bool):
            raise V3Error('Body must be {"active": true} or {"active": false}.')
        state = rule_set_active(rule.id, active)
        return Response(success(rule_json(rule, state), "Updated"))
