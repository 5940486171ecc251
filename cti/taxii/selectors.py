"""Reading a collection: TAXII filters, keyset paging and the STIX rendering of a page.

Date added: a node's `last_updated` column, the time its row was last written (created,
re-imported with a change, merged sighting...). The graph keeps one version of each object (the
latest `modified` wins on import), so `versions` lists that one version and `match[version]`
`first`, `last` and `all` all select it; a timestamp selects objects whose version is that
instant. An object's version is its `modified`, else its `created`, else (observables) its date
added.

Pages are ordered by (date added, pk) and continued with a signed cursor holding the last row's
key, so every page costs the same fixed number of queries however deep it is.
"""

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.core import signing
from django.db.models import Prefetch, Q, QuerySet
from django.db.models.functions import Coalesce
from django.http import QueryDict

from cti.intel.models import Explanation, StixAlias, StixObject
from cti.intel.resources import node_json
from cti.intel.selectors import stix_of
from cti.intel.validation import (
    StixInvalid,
    date_added_text,
    parse_timestamp,
    version_text,
)
from cti.taxii.errors import STIX_MEDIA_TYPE, bad_request

CURSOR_SALT = "cti.taxii.next"
VERSION_KEYWORDS = {"first", "last", "all"}
MARKING_DEFINITION = "marking-definition"


def page_size_default() -> int:
    return getattr(settings, "CTI_TAXII_PAGE_SIZE", 100)


def page_size_max() -> int:
    return getattr(settings, "CTI_TAXII_MAX_PAGE_SIZE", 1000)


@dataclass(frozen=True)
class Filters:
    added_after: datetime | None = None
    ids: tuple[str, ...] = ()
    types: tuple[str, ...] = ()
    versions: tuple[datetime, ...] = ()  # empty: every version (we keep one)
    spec_versions: tuple[str, ...] = ()
    limit: int = 100
    after: tuple[datetime, int] | None = None  # the cursor: (date added, pk) of the last row


def _values(params: QueryDict, name: str) -> tuple[str, ...]:
    return tuple(v.strip() for raw in params.getlist(name) for v in raw.split(",") if v.strip())


def _timestamp(text: str, name: str) -> datetime:
    try:
        return parse_timestamp(text, name)
    except StixInvalid as exc:
        raise bad_request(str(exc)) from None


def _limit(params: QueryDict) -> int:
    raw = params.get("limit")
    if raw in (None, ""):
        return page_size_default()
    try:
        limit = int(raw)
    except ValueError:
        raise bad_request("limit must be a positive integer.") from None
    if limit < 1:
        raise bad_request("limit must be a positive integer.")
    return min(limit, page_size_max())


def encode_cursor(date_added: datetime, pk: int) -> str:
    return signing.dumps([date_added_text(date_added), pk], salt=CURSOR_SALT)


def decode_cursor(text: str) -> tuple[datetime, int]:
    try:
        stamp, pk = signing.loads(text, salt=CURSOR_SALT)
        return parse_timestamp(stamp, "next"), int(pk)
    except (signing.BadSignature, StixInvalid, TypeError, ValueError):
        raise bad_request("next is not a cursor this server issued.") from None


def parse_filters(params: QueryDict) -> Filters:
    added_after = params.get("added_after")
    versions = _values(params, "match[version]")
    next_ = params.get("next")
    return Filters(
        added_after=_timestamp(added_after, "added_after") if added_after else None,
        ids=_values(params, "match[id]"),
        types=_values(params, "match[type]"),
        versions=()
        if not versions or VERSION_KEYWORDS & set(versions)
        else tuple(_timestamp(v, "match[version]") for v in versions),
        spec_versions=_values(params, "match[spec_version]"),
        limit=_limit(params),
        after=decode_cursor(next_) if next_ else None,
    )


def by_stix_id(queryset: QuerySet, stix_ids: tuple[str, ...]) -> QuerySet:
    """Objects named by these ids, or by ids merged into them (aliases)."""
    aliased = StixAlias.objects.filter(stix_id__in=stix_ids).values("node_id")
    return queryset.filter(Q(stix_id__in=stix_ids) | Q(pk__in=aliased))


def apply_filters(queryset: QuerySet, filters: Filters) -> QuerySet:
    queryset = queryset.annotate(taxii_version=Coalesce("modified", "created", "last_updated"))
    if filters.added_after:
        queryset = queryset.filter(last_updated__gt=filters.added_after)
    if filters.ids:
        queryset = by_stix_id(queryset, filters.ids)
    if filters.types:
        queryset = queryset.filter(type__in=filters.types)
    if filters.versions:
        queryset = queryset.filter(taxii_version__in=filters.versions)
    if filters.spec_versions and "2.1" not in filters.spec_versions:
        queryset = queryset.none()  # everything the graph serves is STIX 2.1
    if filters.after:
        stamp, pk = filters.after
        queryset = queryset.filter(Q(last_updated__gt=stamp) | Q(last_updated=stamp, pk__gt=pk))
    return queryset.order_by("last_updated", "pk")


@dataclass
class Page:
    rows: list
    more: bool
    next: str | None

    @property
    def first_added(self) -> datetime | None:
        return self.rows[0].last_updated if self.rows else None

    @property
    def last_added(self) -> datetime | None:
        return self.rows[-1].last_updated if self.rows else None


def page(queryset: QuerySet, filters: Filters) -> Page:
    rows = list(apply_filters(queryset, filters)[: filters.limit + 1])
    more = len(rows) > filters.limit
    rows = rows[: filters.limit]
    cursor = encode_cursor(rows[-1].last_updated, rows[-1].pk) if more else None
    return Page(rows=rows, more=more, next=cursor)


def object_page(queryset: QuerySet, filters: Filters) -> Page:
    """Full STIX objects: the node, its sighting edge and its explanations in two queries."""
    queryset = queryset.select_related("sighting__where_sighted").prefetch_related(
        Prefetch("explanations", queryset=Explanation.objects.order_by("pk"))
    )
    return page(queryset, filters)


def manifest_page(queryset: QuerySet, filters: Filters) -> Page:
    """Only the columns a manifest needs (never the properties JSON)."""
    return page(queryset.only("stix_id", "modified", "created", "last_updated"), filters)


def stix_object(node: StixObject) -> dict:
    """As the v3 intel API renders it (`node_json`), with `modified` the version the manifest
    shows; marking definitions go out bare (a TLP marking with any extra property is invalid
    STIX, and markings are never inferred)."""
    if node.type == MARKING_DEFINITION:
        return stix_of(node)
    obj = node_json(node)
    if not obj["x_cti_inferences"]:  # STIX allows no empty lists
        del obj["x_cti_inferences"]
    return obj


def manifest_entry(node: StixObject) -> dict:
    return {
        "id": node.stix_id,
        "date_added": date_added_text(node.last_updated),
        "version": version_text(node.taxii_version),
        "media_type": STIX_MEDIA_TYPE,
    }


def object_exists(queryset: QuerySet, stix_id: str) -> bool:
    return by_stix_id(queryset, (stix_id,)).exists()
