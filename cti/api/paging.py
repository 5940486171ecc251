"""resultStart / resultLimit paging with next and prev links that repeat every parameter.

Deep pages without OFFSET: when a list is ordered by plain, non-null columns of its own table
ending with the primary key (every default ordering, and `sorting=` on such keywords), the
`next` link also carries `resultCursor`, an opaque token holding the sort values of the page's
last row. A request whose token matches its own resultStart, parameters and ordering reads the
page as "rows after those values" (keyset, or seek, paging: an index range scan whatever the
depth) instead of skipping resultStart rows. The rows are the same as with OFFSET on unchanged
data; tcex follows `next` verbatim, so it pages by keyset without knowing. A client that
computes resultStart itself, or sends a token that does not match (another resultStart, tql,
sorting or resource), gets plain OFFSET paging: the token is only ever an optimisation.
"""

import base64
import binascii
import hashlib
import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.conf import settings
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db import connections
from django.db.models import (
    BooleanField,
    F,
    Field,
    Func,
    Model,
    OrderBy,
    Q,
    QuerySet,
    Subquery,
)
from rest_framework.request import Request

from cti.api.params import V3Params

API_PREFIX = "/api"
CURSOR_PARAM = "resultCursor"
DEFERRED_JOIN_FROM = 1000


@dataclass(frozen=True)
class SortKey:
    field: Field
    descending: bool


def _link(request: Request, params: V3Params, start: int, cursor: str | None = None) -> str:
    query = params.raw.copy()
    query["resultStart"] = str(start)
    if "resultLimit" not in query:
        query["resultLimit"] = str(params.result_limit)
    if cursor:
        query[CURSOR_PARAM] = cursor
    else:
        query.pop(CURSOR_PARAM, None)
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


def keyset_keys(queryset: QuerySet) -> list[SortKey] | None:
    """The ordering as non-null local columns ending with the primary key, or None when it is
    anything else (a join, a nullable column, an expression): then only OFFSET is exact."""
    model = queryset.model
    opts = model._meta
    keys: list[SortKey] = []
    for item in queryset.query.order_by:
        if isinstance(item, str):
            descending = item.startswith("-")
            name = item.lstrip("-")
        elif isinstance(item, OrderBy) and isinstance(item.expression, F):
            descending = item.descending
            name = item.expression.name
        else:
            return None
        if name == "pk":
            name = opts.pk.name
        try:
            field = opts.get_field(name)
        except FieldDoesNotExist:
            return None
        if not field.concrete or field.is_relation or field.null:
            return None
        keys.append(SortKey(field, descending))
        if field.primary_key:
            return keys  # a unique key: anything after it cannot change the order
    return None


def _fingerprint(request: Request, params: V3Params, keys: list[SortKey]) -> str:
    text = json.dumps(
        [
            request.path,
            params.tql,
            params.sorting,
            params.owner,
            [(k.field.name, k.descending) for k in keys],
        ]
    )
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _encode(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date | datetime) else value


def make_cursor(start: int, fingerprint: str, row: Model, keys: list[SortKey]) -> str:
    values = [_encode(getattr(row, k.field.attname)) for k in keys]
    raw = json.dumps([start, fingerprint, values], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def read_cursor(token: str, start: int, fingerprint: str, keys: list[SortKey]) -> list | None:
    """The sort values in a token made for this start, query and ordering; None otherwise."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        at, mark, values = json.loads(raw)
        if at != start or mark != fingerprint or len(values) != len(keys):
            return None
        return [k.field.to_python(v) for k, v in zip(keys, values, strict=True)]
    except (ValueError, TypeError, ValidationError, binascii.Error):
        return None


def after(keys: list[SortKey], values: list) -> Q:
    """Rows strictly after `values` in the order of `keys` (lexicographic), with a plain bound
    on the first key so the database can start an index range scan there."""
    first = keys[0]
    bound = Q(**{f"{first.field.attname}__{'lte' if first.descending else 'gte'}": values[0]})
    alternatives = Q()
    equal: dict[str, Any] = {}
    for key, value in zip(keys, values, strict=True):
        op = "lt" if key.descending else "gt"
        alternatives |= Q(**equal, **{f"{key.field.attname}__{op}": value})
        equal[key.field.attname] = value
    return bound & alternatives


class _InArray(Func):
    """`lhs = ANY(ARRAY(subquery))` (PostgreSQL)."""

    output_field = BooleanField()

    def as_sql(self, compiler, connection, **extra):
        lhs, lhs_params = compiler.compile(self.source_expressions[0])
        rhs, rhs_params = compiler.compile(self.source_expressions[1])  # "(SELECT ...)"
        return f"{lhs} = ANY(ARRAY{rhs})", (*lhs_params, *rhs_params)


def page_rows(queryset: QuerySet, start: int, size: int, seek: Q | None = None) -> QuerySet:
    """`size` rows from `start` (or, with `seek`, the first `size` rows it admits).

    The page is chosen in a subquery that selects primary keys only, with the filters and the
    ordering but none of the joined columns, and the outer query then reads just those rows
    with their joins. Over the full select, OFFSET would build every skipped row's joins, and
    PostgreSQL, unable to reorder a dozen joins, may join the whole table before applying a
    selective filter (a hasX() subquery). On other databases only deep OFFSET pages do this.
    """
    query = queryset.query
    postgres = connections[queryset.db].vendor == "postgresql"
    narrowed = queryset.filter(seek) if seek is not None else queryset
    first = 0 if seek is not None else start
    plain = query.distinct or query.annotations or query.combinator or query.extra
    if plain or not (postgres or first >= DEFERRED_JOIN_FROM):
        return narrowed[first : first + size]
    page = narrowed.values("pk")[first : first + size]
    # the filters (and the joins they made) are in the subquery only: outside they would
    # mislead the planner, and a join a filter made across a to-many relation would repeat rows
    outer = queryset.model._base_manager.using(queryset.db).all()
    outer.query.select_related = query.select_related
    outer.query.deferred_loading = query.deferred_loading
    outer._prefetch_related_lookups = queryset._prefetch_related_lookups
    outer = outer.order_by(*query.order_by) if query.order_by else outer
    if not postgres:
        return outer.filter(pk__in=page)
    # `= ANY(ARRAY(subquery))` is computed once, then the rows are fetched by primary key;
    # `IN (subquery)` would be a semi-join, planned like the join it replaces
    return outer.filter(_InArray(F("pk"), Subquery(page)))


def paginate(request: Request, params: V3Params, queryset: QuerySet) -> tuple[list, dict]:
    """Slice one page (fetching one extra row to know whether a next page exists)."""
    start, limit = params.result_start, params.result_limit
    keys = keyset_keys(queryset)
    fingerprint = _fingerprint(request, params, keys) if keys else ""
    token = params.raw.get(CURSOR_PARAM)
    seek = read_cursor(token, start, fingerprint, keys) if keys and token and start else None
    seek_q = after(keys, seek) if seek is not None else None
    rows = list(page_rows(queryset, start, limit + 1, seek_q))
    has_next = len(rows) > limit
    rows = rows[:limit]
    meta: dict = {}
    if params.count and start == 0:
        meta["count"] = len(rows) if not has_next else queryset.order_by().values("pk").count()
    if has_next:
        cursor = make_cursor(start + limit, fingerprint, rows[-1], keys) if keys else None
        meta["next"] = _link(request, params, start + limit, cursor)
    if start > 0:
        meta["prev"] = _link(request, params, max(0, start - limit))
    return rows, meta
