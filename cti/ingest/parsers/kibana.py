"""Kibana's webhook connector posts the body its template makes; the recommended template is
{"source": "kibana", "rule_id": ..., "alert_id": "{{alert.id}}", "alerts": {{context.alerts}}}.
One sighting per alert document (ECS fields, nested or flattened), keyed by kibana.alert.uuid."""

from typing import Any

from cti.ingest.parsers.common import Item, PayloadError
from cti.ingest.parsers.mapped import items_of, mapped_item

DEFAULTS = {
    "value": (
        "threat.indicator.ip",
        "threat.indicator.url.full",
        "threat.indicator.domain",
        "threat.indicator.file.hash.sha256",
        "threat.indicator.file.hash.md5",
        "source.ip",
        "destination.ip",
        "url.full",
        "dns.question.name",
        "file.hash.sha256",
        "file.hash.md5",
    ),
    "indicator": ("threat.indicator.id",),
    "event_id": ("kibana.alert.uuid", "_id", "id"),
    "first_seen": ("kibana.alert.original_time", "@timestamp", "kibana.alert.start"),
    "last_seen": ("kibana.alert.last_detected",),
    "description": ("kibana.alert.rule.name", "rule.name"),
}


def parse(body: Any, field_map: dict) -> list[Item]:
    if not isinstance(body, dict):
        raise PayloadError("a Kibana alert body must be a JSON object")
    docs = items_of(body, field_map, ("alerts", "context.alerts"))
    if not docs:
        raise PayloadError("the alerts list is empty")
    single = len(docs) == 1 and docs[0] is body
    items = []
    for n, doc in enumerate(docs):
        item = mapped_item(n, doc, field_map, DEFAULTS)
        if (
            single
            and body.get("alert_id")
            and not (isinstance(doc, dict) and doc.get("kibana.alert.uuid"))
        ):
            item.event_id = str(body["alert_id"])
        items.append(item)
    return items
