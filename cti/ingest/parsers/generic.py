"""Generic JSON: with a field map, items read by its dotted paths; without one, the simple form
of /v3/sightings (one object, a list, or {"data": [...]})."""

from typing import Any

from cti.ingest.parsers.common import Item, PayloadError
from cti.ingest.parsers.mapped import items_of, mapped_item
from cti.ingest.parsers.simple import parse_simple


def simple_items(body: Any) -> list[Any]:
    if isinstance(body, dict) and isinstance(body.get("data"), list):
        return body["data"]
    if isinstance(body, list):
        return body
    if isinstance(body, dict):
        return [body]
    raise PayloadError("the body must be a JSON object or a list of them")


def parse(body: Any, field_map: dict) -> list[Item]:
    if not field_map:
        raws = simple_items(body)
        if not raws:
            raise PayloadError("no items")
        return [parse_simple(n, raw) for n, raw in enumerate(raws)]
    docs = items_of(body, field_map)
    if not docs:
        raise PayloadError("no items")
    return [mapped_item(n, doc, field_map, {}) for n, doc in enumerate(docs)]
