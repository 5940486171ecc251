"""Splunk's webhook alert action: {"result": {first result row, strings}, "sid", "results_link",
"search_name", "owner", "app"}. One sighting per post; the event id is the search id plus a hash
of the row (a scheduled search's next run has another sid)."""

from typing import Any

from cti.ingest.parsers.common import Item, PayloadError, canonical_hash
from cti.ingest.parsers.mapped import mapped_item

VALUE_FIELDS = (
    "indicator",
    "ioc",
    "threat_match_value",
    "src_ip",
    "src",
    "dest_ip",
    "dest",
    "ip",
    "domain",
    "query",
    "url",
    "file_hash",
    "sha256",
    "md5",
)
DEFAULTS = {
    "value": tuple(f"result.{f}" for f in VALUE_FIELDS),
    "indicator": ("result.indicator_id",),
    "first_seen": ("result._time", "result.firstTime", "result.first_seen"),
    "last_seen": ("result.lastTime", "result.last_seen"),
    "count": ("result.count",),
    "description": ("search_name",),
}


def parse(body: Any, field_map: dict) -> list[Item]:
    if not isinstance(body, dict) or not isinstance(body.get("result"), dict):
        raise PayloadError('a Splunk alert needs a "result" object')
    if not body.get("sid"):
        raise PayloadError('a Splunk alert needs a "sid"')
    prefix = f"{body['sid']}:{canonical_hash(body['result'])[:16]}"
    if "event_id" in field_map:
        prefix = f"{body['sid']}:"
    item = mapped_item(0, body, field_map, DEFAULTS)
    if not item.error and "event_id" not in field_map:
        item.event_id = prefix
    elif not item.error:
        item.event_id = prefix + item.event_id
    return [item]
