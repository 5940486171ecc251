"""Wazuh: the raw alert (a custom integration script) or the shuffle integration's envelope
{"severity", "pretext", "title", "text", "rule_id", "timestamp", "id", "all_fields": alert}.
One sighting per alert, keyed by the alert id ("epoch.seq")."""

from typing import Any

from cti.ingest.parsers.common import Item, PayloadError
from cti.ingest.parsers.mapped import mapped_item

DEFAULTS = {
    "value": (
        "data.srcip",
        "data.src_ip",
        "data.dstip",
        "data.url",
        "data.hostname",
        "data.win.eventdata.destinationIp",
        "syscheck.sha256_after",
        "syscheck.md5_after",
    ),
    "event_id": ("id",),
    "first_seen": ("timestamp",),
    "description": ("rule.description",),
}


def parse(body: Any, field_map: dict) -> list[Item]:
    if not isinstance(body, dict):
        raise PayloadError("a Wazuh alert must be a JSON object")
    alert = body.get("all_fields", body)
    if not isinstance(alert, dict) or not isinstance(alert.get("rule"), dict):
        raise PayloadError('a Wazuh alert needs a "rule" object (or the envelope\'s all_fields)')
    return [mapped_item(0, alert, field_map, DEFAULTS)]
