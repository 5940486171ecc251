"""One small parser per source kind: body (parsed JSON) and field map -> items."""

from collections.abc import Callable
from typing import Any

from cti.ingest.choices import SourceKind
from cti.ingest.parsers import generic, kibana, splunk, wazuh
from cti.ingest.parsers.common import Item, PayloadError

PARSERS: dict[str, Callable[[Any, dict], list[Item]]] = {
    SourceKind.SPLUNK: splunk.parse,
    SourceKind.KIBANA: kibana.parse,
    SourceKind.WAZUH: wazuh.parse,
    SourceKind.GENERIC: generic.parse,
}

__all__ = ["PARSERS", "Item", "PayloadError"]
