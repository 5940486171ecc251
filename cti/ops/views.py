"""/ready and /metrics: plain Django views (no API authentication, no throttling)."""

import hmac

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST

from cti.ops import metrics, readiness


@never_cache
@require_GET
def ready(request: HttpRequest) -> JsonResponse:
    """Readiness: 200 when every configured check passes, else 503; details either way."""
    ok, checks = readiness.run(settings.CTI_READY_CHECKS)
    return JsonResponse(
        {"status": "ok" if ok else "error", "checks": checks}, status=200 if ok else 503
    )


def _metrics_allowed(request: HttpRequest) -> bool:
    token = settings.CTI_METRICS_TOKEN
    if not token:
        return True
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.encode(), token.encode())


@never_cache
@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    if not _metrics_allowed(request):
        response = JsonResponse(
            {"status": "Error", "message": "A valid metrics bearer token is required."},
            status=401,
        )
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return HttpResponse(metrics.exposition(), content_type=CONTENT_TYPE_LATEST)
