"""Items read out of a SIEM document with dotted paths (a source's field map, else defaults)."""

from typing import Any

from cti.ingest.parsers.common import (
    Item,
    PayloadError,
    canonical_hash,
    dig,
    failed,
    finish_dates,
    first_of,
    observable,
    parse_count,
)

MAP_KEYS = (
    "items",
    "value",
    "type",
    "indicator",
    "event_id",
    "count",
    "first_seen",
    "last_seen",
    "system",
    "description",
)


def check_field_map(field_map: Any) -> list[str]:
    """The problems of a field map (empty when it is usable)."""
    if not isinstance(field_map, dict):
        return ["the field map must be a JSON object"]
    problems = [f"unknown key {k!r}" for k in field_map if k not in MAP_KEYS]
    problems += [f"{k}: must be a string" for k, v in field_map.items() if not isinstance(v, str)]
    return problems


def lookup(doc: Any, field_map: dict, key: str, defaults: tuple[str, ...] = ()) -> Any:
    """A field by the map (a dotted path, or "=literal"), else by the first default path set."""
    spec = field_map.get(key)
    if spec is not None:
        if spec.startswith("="):
            return spec[1:]
        value = dig(doc, spec)
    else:
        _, value = first_of(doc, defaults)
    if isinstance(value, list) and value and not isinstance(value[0], dict | list):
        value = value[0]  # ECS keeps host.ip and the like as arrays
    return value


def items_of(body: Any, field_map: dict, defaults: tuple[str, ...] = ()) -> list[Any]:
    path = field_map.get("items")
    if path:
        found = dig(body, path)
    else:
        found = next((v for v in (dig(body, p) for p in defaults) if v is not None), None)
    if path and found is None:
        raise PayloadError(f"no list at {path!r}")
    if found is None:
        return [body]
    if not isinstance(found, list):
        raise PayloadError(f"{path or 'items'} is not a list")
    return found


def mapped_item(
    index: int,
    doc: Any,
    field_map: dict,
    defaults: dict[str, tuple[str, ...]],
    event_prefix: str = "",
) -> Item:
    if not isinstance(doc, dict):
        return failed(index, doc, "an alert must be a JSON object")
    item = Item(index=index, raw=doc)
    try:
        indicator = lookup(doc, field_map, "indicator", defaults.get("indicator", ()))
        if isinstance(indicator, str) and indicator.startswith("indicator--"):
            item.indicator_id = indicator
        else:
            value = lookup(doc, field_map, "value", defaults.get("value", ()))
            if value in (None, ""):
                wanted = field_map.get("value") or " / ".join(defaults.get("value", ()))
                raise PayloadError(f"no observable value at {wanted}")
            item.observable = observable(lookup(doc, field_map, "type"), value)
        system = lookup(doc, field_map, "system")
        item.system = str(system).strip() or None if system is not None else None
        count = lookup(doc, field_map, "count", defaults.get("count", ()))
        if count not in (None, ""):
            item.count = parse_count(count)
        finish_dates(
            item,
            lookup(doc, field_map, "first_seen", defaults.get("first_seen", ())),
            lookup(doc, field_map, "last_seen", defaults.get("last_seen", ())),
        )
        event_id = lookup(doc, field_map, "event_id", defaults.get("event_id", ()))
        if isinstance(event_id, dict | list):
            raise PayloadError("the event id must be a string")
        item.event_id = (
            f"{event_prefix}{event_id}" if event_id not in (None, "") else canonical_hash(doc)
        )
        description = lookup(doc, field_map, "description", defaults.get("description", ()))
        item.description = str(description or "")[:2000]
    except PayloadError as exc:
        return failed(index, doc, str(exc))
    return item
