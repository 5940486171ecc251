"""Per-type checks of STIX 2.1 objects before they enter the graph.

`normalize` returns the object ready to store (defaults filled, observable ids made
deterministic) or raises `StixInvalid` with a reason naming the property."""

import ipaddress
import re
from datetime import UTC, datetime
from typing import Any

from dateutil import parser as dateparser

from cti.intel.choices import (
    DOMAIN_OBJECT_TYPES,
    META_TYPES,
    OBSERVABLE_TYPES,
    RELATIONSHIP,
    SIGHTING,
)
from cti.intel.ids import observable_id, random_id, spec_hashes

ID_RE = re.compile(
    r"^([a-z0-9][a-z0-9-]*)--[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
    r"[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
)
TIMESTAMP_PROPERTIES = (
    "created",
    "modified",
    "valid_from",
    "valid_until",
    "first_seen",
    "last_seen",
    "first_observed",
    "last_observed",
    "published",
    "start_time",
    "stop_time",
)

REQUIRED: dict[str, tuple[str, ...]] = {
    "attack-pattern": ("name",),
    "campaign": ("name",),
    "course-of-action": ("name",),
    "grouping": ("context", "object_refs"),
    "identity": ("name",),
    "incident": ("name",),
    "indicator": ("pattern", "pattern_type", "valid_from"),
    "infrastructure": ("name",),
    "intrusion-set": ("name",),
    "malware": ("is_family",),
    "malware-analysis": ("product",),
    "note": ("content", "object_refs"),
    "observed-data": ("first_observed", "last_observed", "number_observed"),
    "opinion": ("opinion", "object_refs"),
    "report": ("name", "published", "object_refs"),
    "threat-actor": ("name",),
    "tool": ("name",),
    "vulnerability": ("name",),
    "relationship": ("relationship_type", "source_ref", "target_ref"),
    "sighting": ("sighting_of_ref",),
    "domain-name": ("value",),
    "email-addr": ("value",),
    "ipv4-addr": ("value",),
    "ipv6-addr": ("value",),
    "mac-addr": ("value",),
    "url": ("value",),
    "autonomous-system": ("number",),
    "mutex": ("name",),
    "directory": ("path",),
    "software": ("name",),
    "windows-registry-key": (),
    "email-message": ("is_multipart",),
    "network-traffic": ("protocols",),
}
AT_LEAST_ONE: dict[str, tuple[str, ...]] = {
    "file": ("hashes", "name"),
    "location": ("region", "country", "latitude", "city", "administrative_area", "name"),
    "user-account": ("user_id", "account_login", "account_type", "display_name"),
    "x509-certificate": ("hashes", "serial_number", "subject", "issuer"),
}
OPINIONS = ("strongly-disagree", "disagree", "neutral", "agree", "strongly-agree")


class StixInvalid(ValueError):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def is_custom_type(stix_type: str) -> bool:
    return stix_type.startswith("x-")


def known_type(stix_type: str) -> bool:
    return (
        stix_type in DOMAIN_OBJECT_TYPES
        or stix_type in OBSERVABLE_TYPES
        or stix_type in META_TYPES
        or stix_type in (RELATIONSHIP, SIGHTING)
        or is_custom_type(stix_type)
    )


def parse_timestamp(value: Any, name: str) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if not isinstance(value, str):
        raise StixInvalid(f"{name} must be a timestamp string")
    try:
        parsed = dateparser.isoparse(value)
    except (ValueError, OverflowError):
        raise StixInvalid(f"{name} is not a valid timestamp: {value!r}") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def format_timestamp(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def date_added_text(value: datetime) -> str:
    """RFC 3339, UTC, microseconds (TAXII's added_after must be able to split any two rows)."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def version_text(value: datetime) -> str:
    """Milliseconds, as STIX writes them, unless that would merge two distinct versions."""
    if value.microsecond % 1000:
        return date_added_text(value)
    return format_timestamp(value)


def _check_common(obj: dict) -> None:
    if "confidence" in obj and obj["confidence"] is not None:
        c = obj["confidence"]
        if not isinstance(c, int) or isinstance(c, bool) or not 0 <= c <= 100:
            raise StixInvalid("confidence must be an integer from 0 to 100")
    for key in ("labels", "object_marking_refs", "external_references", "object_refs"):
        if key in obj and not isinstance(obj[key], list):
            raise StixInvalid(f"{key} must be a list")
    for ref in obj.get("object_marking_refs", []):
        if not isinstance(ref, str) or not ref.startswith("marking-definition--"):
            raise StixInvalid(f"object_marking_refs holds a non-marking id: {ref!r}")
    for ref in obj.get("object_refs", []):
        if not isinstance(ref, str) or not ID_RE.match(ref):
            raise StixInvalid(f"object_refs holds an invalid id: {ref!r}")
    for ext in obj.get("external_references", []):
        if not isinstance(ext, dict) or not ext.get("source_name"):
            raise StixInvalid("every external reference needs a source_name")
    created_by = obj.get("created_by_ref")
    if created_by is not None and (
        not isinstance(created_by, str) or not created_by.startswith("identity--")
    ):
        raise StixInvalid("created_by_ref must be an identity id")
    for key in TIMESTAMP_PROPERTIES:
        if key in obj and obj[key] is not None:
            parse_timestamp(obj[key], key)


def _check_type_specific(obj: dict) -> None:
    stix_type = obj["type"]
    for key in REQUIRED.get(stix_type, ()):
        if obj.get(key) in (None, "", []) and not (key == "is_family" and key in obj):
            raise StixInvalid(f"{stix_type} requires {key}")
    options = AT_LEAST_ONE.get(stix_type)
    if options and not any(obj.get(k) not in (None, "", {}) for k in options):
        raise StixInvalid(f"{stix_type} requires one of {', '.join(options)}")
    check = _SPECIFIC.get(stix_type)
    if check:
        check(obj)


def _ipv4(obj: dict) -> None:
    try:
        ipaddress.IPv4Network(obj["value"], strict=False)
    except ValueError:
        raise StixInvalid(f"ipv4-addr value is not an IPv4 address: {obj['value']!r}") from None


def _ipv6(obj: dict) -> None:
    try:
        ipaddress.IPv6Network(obj["value"], strict=False)
    except ValueError:
        raise StixInvalid(f"ipv6-addr value is not an IPv6 address: {obj['value']!r}") from None


def _indicator(obj: dict) -> None:
    if obj.get("valid_until") and parse_timestamp(obj["valid_until"], "valid_until") <= (
        parse_timestamp(obj["valid_from"], "valid_from")
    ):
        raise StixInvalid("indicator valid_until must be later than valid_from")


def _sighting(obj: dict) -> None:
    count = obj.get("count")
    if count is not None and (not isinstance(count, int) or not 0 <= count <= 999_999_999):
        raise StixInvalid("sighting count must be an integer from 0 to 999999999")
    if (
        obj.get("first_seen")
        and obj.get("last_seen")
        and parse_timestamp(obj["last_seen"], "last_seen")
        < parse_timestamp(obj["first_seen"], "first_seen")
    ):
        raise StixInvalid("sighting last_seen must not be before first_seen")
    refs = obj.get("where_sighted_refs", [])
    if not isinstance(refs, list):
        raise StixInvalid("where_sighted_refs must be a list")


def _relationship(obj: dict) -> None:
    for key in ("source_ref", "target_ref"):
        if not isinstance(obj[key], str) or not ID_RE.match(obj[key]):
            raise StixInvalid(f"relationship {key} is not a STIX id: {obj[key]!r}")
    if (
        obj.get("start_time")
        and obj.get("stop_time")
        and parse_timestamp(obj["stop_time"], "stop_time")
        <= parse_timestamp(obj["start_time"], "start_time")
    ):
        raise StixInvalid("relationship stop_time must be later than start_time")


def _observed_data(obj: dict) -> None:
    number = obj["number_observed"]
    if not isinstance(number, int) or isinstance(number, bool) or not 1 <= number <= 999_999_999:
        raise StixInvalid("observed-data number_observed must be an integer from 1 to 999999999")
    if parse_timestamp(obj["last_observed"], "last_observed") < parse_timestamp(
        obj["first_observed"], "first_observed"
    ):
        raise StixInvalid("observed-data last_observed must not be before first_observed")


def _opinion(obj: dict) -> None:
    if obj["opinion"] not in OPINIONS:
        raise StixInvalid(f"opinion must be one of {', '.join(OPINIONS)}")


def _asn(obj: dict) -> None:
    if not isinstance(obj["number"], int) or isinstance(obj["number"], bool):
        raise StixInvalid("autonomous-system number must be an integer")


def _malware(obj: dict) -> None:
    if not isinstance(obj["is_family"], bool):
        raise StixInvalid("malware is_family must be a boolean")


_SPECIFIC = {
    "ipv4-addr": _ipv4,
    "ipv6-addr": _ipv6,
    "indicator": _indicator,
    "sighting": _sighting,
    "relationship": _relationship,
    "observed-data": _observed_data,
    "opinion": _opinion,
    "autonomous-system": _asn,
    "malware": _malware,
}


def normalize(raw: Any, now: datetime | None = None) -> tuple[dict, str | None]:
    """The object to store and, for observables posted under another id, that original id."""
    if not isinstance(raw, dict):
        raise StixInvalid("a STIX object must be a JSON object")
    obj = dict(raw)
    stix_type = obj.get("type")
    if not isinstance(stix_type, str) or not stix_type:
        raise StixInvalid("type is required")
    if not known_type(stix_type):
        raise StixInvalid(f"unknown STIX type {stix_type!r} (custom types start with x-)")
    given_id = obj.get("id")
    if given_id is not None and (
        not isinstance(given_id, str)
        or not ID_RE.match(given_id)
        or given_id.split("--", 1)[0] != stix_type
    ):
        raise StixInvalid(f"id {given_id!r} is not a valid {stix_type} id")
    obj.setdefault("spec_version", "2.1")
    if is_custom_type(stix_type):
        if not given_id:
            obj["id"] = random_id(stix_type)
        return obj, None
    if stix_type == "malware" and "is_family" not in obj:
        # STIX 2.0-era producers (MITRE ATT&CK among them) omit it; their malware are families
        obj["is_family"] = True
    _check_common(obj)
    _check_type_specific(obj)
    alias = None
    if stix_type in OBSERVABLE_TYPES:
        if isinstance(obj.get("hashes"), dict):
            obj["hashes"] = spec_hashes(obj["hashes"])
        deterministic = observable_id(stix_type, obj)
        if deterministic and given_id and given_id != deterministic:
            alias = given_id
        obj["id"] = deterministic or given_id or random_id(stix_type)
    else:
        obj["id"] = given_id or random_id(stix_type)
        if stix_type not in META_TYPES:
            stamp = format_timestamp(now or datetime.now(tz=UTC))
            obj.setdefault("created", stamp)
            obj.setdefault("modified", obj["created"])
    return obj, alias
