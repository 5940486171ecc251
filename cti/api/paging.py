"""resultStart / resultLimit paging with next and prev links that repeat every parameter."""

from django.conf import settings
from django.db.models import QuerySet
from rest_framework.request import Request

from cti.api.params import V3Params

API_PREFIX = "/api"


def _link(request: Request, params: V3Params, start: int) -> str:
    query = params.raw.copy()
    query["resultStart"] = str(start)
    if "resultLimit" not in query:
        query["resultLimit"] = str(params.result_limit)
    path = request.path
    mode = settings.CTI_PAGING_LINKS
    absolute = mode == "absolute" or (mode == "auto" and request.is_secure())
    if absolute:
        return request.build_absolute_uri(f"{path}?{query.urlencode()}")
    # Relative to the API base: tcex prepends its base URL (which ends in /api) to any link
    # that does not start with https.
    script_prefix = request.META.get("SCRIPT_NAME", "")
    base = script_prefix + API_PREFIX
    if path.startswith(base):
        path = path[len(base) :]
    return f"{path}?{query.urlencode()}"


def paginate(request: Request, params: V3Params, queryset: QuerySet) -> tuple[list, dict]:
    """Slice one page (fetching one extra row to know whether a next page exists)."""
    start, limit = params.result_start, params.result_limit
    rows = list(queryset[start : start + limit + 1])
    has_next = len(rows) > limit
    rows = rows[:limit]
    meta: dict = {}
    if params.count and start == 0:
        meta["count"] = len(rows) if not has_next else queryset.order_by().values("pk").count()
    if has_next:
        meta["next"] = _link(request, params, start + limit)
    if start > 0:
        meta["prev"] = _link(request, params, max(0, start - limit))
    return rows, meta
