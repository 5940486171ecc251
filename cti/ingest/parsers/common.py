"""What every parser produces: one `Item` per sighting to record (or the reason it cannot be)."""

import hashlib
import ipaddress
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from dateutil import parser as dateparser

from cti.intel.choices import OBSERVABLE_TYPES


class PayloadError(Exception):
    """The payload (or one item of it) cannot be read; the message names the problem."""


@dataclass
class Item:
    index: int
    raw: Any
    event_id: str = ""
    observable: dict | None = None  # a STIX observable without id: {"type": ..., "value": ...}
    indicator_id: str | None = None
    system: str | None = None  # a system name or an identity id; None: the source's system
    count: int = 1
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    explicit_dates: bool = False
    description: str = ""
    error: str | None = None
    extra: dict = field(default_factory=dict)


HASH_LENGTHS = {32: "MD5", 40: "SHA-1", 64: "SHA-256", 128: "SHA-512"}
TYPE_ALIASES = {
    "ip": "ip",
    "address": "ip",
    "ipv4": "ipv4-addr",
    "ipv6": "ipv6-addr",
    "domain": "domain-name",
    "hostname": "domain-name",
    "host": "domain-name",
    "fqdn": "domain-name",
    "email": "email-addr",
    "hash": "file",
    "md5": "file",
    "sha1": "file",
    "sha-1": "file",
    "sha256": "file",
    "sha-256": "file",
    "sha512": "file",
    "mac": "mac-addr",
    "user": "user-account",
}
VALUE_TYPES = ("ipv4-addr", "ipv6-addr", "domain-name", "url", "email-addr", "mac-addr")
HEX = re.compile(r"^[0-9a-fA-F]+$")
HOSTNAME = re.compile(r"^(?=.{1,253}$)([a-zA-Z0-9_](?:[a-zA-Z0-9_-]{0,61}[a-zA-Z0-9])?\.)+"
                      r"[a-zA-Z][a-zA-Z0-9-]{0,62}\.?$")  # fmt: skip


def dig(obj: Any, path: str) -> Any:
    """The value at a dotted path; a key may itself contain dots (flattened ECS documents keep
    "kibana.alert.uuid" as one key), so the longest key present wins at each level."""
    if not path:
        return obj
    if not isinstance(obj, dict):
        return None
    parts = path.split(".")
    for n in range(len(parts), 0, -1):
        key = ".".join(parts[:n])
        if key in obj:
            found = dig(obj[key], ".".join(parts[n:]))
            if found is not None:
                return found
    return None


def first_of(obj: Any, paths: tuple[str, ...]) -> tuple[str, Any] | tuple[None, None]:
    for path in paths:
        value = dig(obj, path)
        if value not in (None, "", []):
            return path, value
    return None, None


def canonical_hash(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def parse_when(value: Any, name: str) -> datetime:
    """An ISO 8601 timestamp, or epoch seconds (or milliseconds) as number or string."""
    if isinstance(value, bool) or value in (None, ""):
        raise PayloadError(f"{name} is not a timestamp: {value!r}")
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = None
    try:
        if number is not None:
            if number > 1e11:  # milliseconds (QRadar, Kibana)
                number /= 1000
            return datetime.fromtimestamp(number, tz=UTC)
        if not isinstance(value, str):
            raise ValueError
        parsed = dateparser.isoparse(value) if "T" in value else dateparser.parse(value)
    except (ValueError, OverflowError, OSError):
        try:
            parsed = dateparser.parse(str(value))
        except (ValueError, OverflowError):
            raise PayloadError(f"{name} is not a timestamp: {value!r}") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def parse_count(value: Any) -> int:
    if isinstance(value, bool):
        raise PayloadError(f"count must be an integer from 1 to 999999999, not {value!r}")
    try:
        count = int(str(value).strip())
    except ValueError:
        raise PayloadError(f"count must be an integer from 1 to 999999999, not {value!r}") from None
    if not 1 <= count <= 999_999_999:
        raise PayloadError(f"count must be an integer from 1 to 999999999, not {value!r}")
    return count


def infer_type(value: str) -> str:
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        pass
    else:
        return "ipv4-addr" if address.version == 4 else "ipv6-addr"
    if "://" in value:
        return "url"
    if "@" in value and HOSTNAME.match(value.rsplit("@", 1)[1]):
        return "email-addr"
    if HEX.match(value) and len(value) in HASH_LENGTHS:
        return "file"
    if HOSTNAME.match(value):
        return "domain-name"
    raise PayloadError(f"cannot tell the observable type of {value!r}; give its type")


def observable(stix_type: str | None, value: Any) -> dict:
    """The STIX observable (without id) for a type (STIX name or alias) and a value."""
    if value is None or (isinstance(value, str) and not value.strip()):
        raise PayloadError("observable value is empty")
    if isinstance(value, dict | list):
        raise PayloadError("observable value must be a string or a number")
    text = str(value).strip()
    wanted = (stix_type or "").strip().lower()
    wanted = TYPE_ALIASES.get(wanted, wanted)
    if not wanted:
        wanted = infer_type(text)
    if wanted == "ip":
        wanted = infer_type(text)
        if wanted not in ("ipv4-addr", "ipv6-addr"):
            raise PayloadError(f"{text!r} is not an IP address")
    if wanted not in OBSERVABLE_TYPES:
        raise PayloadError(f"unknown observable type {stix_type!r}")
    if wanted == "file":
        algorithm = HASH_LENGTHS.get(len(text))
        if not algorithm or not HEX.match(text):
            raise PayloadError(f"{text!r} is not an MD5, SHA-1, SHA-256 or SHA-512 hash")
        return {"type": "file", "hashes": {algorithm: text.lower()}}
    if wanted == "autonomous-system":
        digits = text.upper().removeprefix("AS")
        if not digits.isdigit():
            raise PayloadError(f"{text!r} is not an autonomous system number")
        return {"type": wanted, "number": int(digits)}
    if wanted == "domain-name":
        text = text.lower().rstrip(".")
    named = {"mutex": "name", "user-account": "account_login", "windows-registry-key": "key"}
    if wanted in named:
        return {"type": wanted, named[wanted]: text}
    if wanted not in VALUE_TYPES:
        raise PayloadError(f"observable type {wanted!r} cannot be given as a single value")
    return {"type": wanted, "value": text}


def finish_dates(item: Item, first: Any, last: Any) -> None:
    if first not in (None, ""):
        item.first_seen = parse_when(first, "first_seen")
        item.explicit_dates = True
    if last not in (None, ""):
        item.last_seen = parse_when(last, "last_seen")
        item.explicit_dates = True
    item.first_seen = item.first_seen or item.last_seen
    item.last_seen = item.last_seen or item.first_seen
    if item.first_seen and item.last_seen < item.first_seen:
        raise PayloadError("last_seen is before first_seen")


def failed(index: int, raw: Any, error: str) -> Item:
    return Item(index=index, raw=raw, error=error)
