"""The simple JSON form: an observable (type and value) or an indicator id, seen in a system."""

from typing import Any

from cti.ingest.parsers.common import (
    Item,
    PayloadError,
    canonical_hash,
    failed,
    finish_dates,
    observable,
    parse_count,
)

KEYS = {
    "observableType": "observable_type",
    "observableValue": "observable_value",
    "indicatorId": "indicator",
    "indicator_id": "indicator",
    "systemName": "system",
    "system_name": "system",
    "firstSeen": "first_seen",
    "lastSeen": "last_seen",
    "eventId": "event_id",
    "sourceEventId": "event_id",
    "source_event_id": "event_id",
}
FIELDS = (
    "observable_type",
    "observable_value",
    "observable",
    "indicator",
    "system",
    "count",
    "first_seen",
    "last_seen",
    "event_id",
    "description",
)


def parse_simple(index: int, raw: Any) -> Item:
    if not isinstance(raw, dict):
        return failed(index, raw, "an item must be a JSON object")
    data = {KEYS.get(k, k): v for k, v in raw.items()}
    unknown = sorted(k for k, v in raw.items() if KEYS.get(k, k) not in FIELDS)
    if unknown:
        return failed(index, raw, "unknown field(s): " + ", ".join(unknown))
    item = Item(index=index, raw=raw)
    try:
        nested = data.get("observable")
        if isinstance(nested, dict):
            data.setdefault("observable_type", nested.get("type"))
            data.setdefault("observable_value", nested.get("value"))
        elif nested is not None:
            raise PayloadError('observable must be {"type": ..., "value": ...}')
        indicator = data.get("indicator")
        value = data.get("observable_value")
        if indicator and value not in (None, ""):
            raise PayloadError("give an observable or an indicator id, not both")
        if indicator:
            if not isinstance(indicator, str) or not indicator.startswith("indicator--"):
                raise PayloadError(f"indicator id must be an indicator--<uuid>, not {indicator!r}")
            item.indicator_id = indicator
        elif value not in (None, ""):
            item.observable = observable(data.get("observable_type"), value)
        else:
            raise PayloadError("observableType and observableValue, or indicatorId, required")
        system = data.get("system")
        if system is not None and (not isinstance(system, str) or not system.strip()):
            raise PayloadError("system must be a non-empty name or an identity id")
        item.system = system.strip() if system else None
        if data.get("count") is not None:
            item.count = parse_count(data["count"])
        finish_dates(item, data.get("first_seen"), data.get("last_seen"))
        event_id = data.get("event_id")
        if event_id is not None and not isinstance(event_id, str | int):
            raise PayloadError("eventId must be a string")
        item.event_id = str(event_id) if event_id not in (None, "") else canonical_hash(raw)
        item.description = str(data.get("description") or "")[:2000]
    except PayloadError as exc:
        return failed(index, raw, str(exc))
    return item
