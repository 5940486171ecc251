"""STIX identifiers: deterministic ids for observables (STIX 2.1 §2.9) and for inferred facts."""

import uuid
from datetime import UTC
from typing import Any

from dateutil import parser as dateparser
from stix2.canonicalization.Canonicalize import canonicalize

from cti.intel.choices import ID_CONTRIBUTING_PROPERTIES

SCO_NAMESPACE = uuid.UUID("00abedb4-aa42-466c-9c01-fed23315a9b7")
CTI_NAMESPACE = uuid.UUID("8c8a5f46-0a5d-4f0e-9f3b-6f6f0d7d1c2a")
HASH_PREFERENCE = ("MD5", "SHA-1", "SHA-256", "SHA-512")
SPEC_HASH_NAMES = ("MD5", "SHA-1", "SHA-256", "SHA-512", "SHA3-256", "SHA3-512", "SSDEEP", "TLSH")
_HASH_NAME_KEYS = {name.replace("-", "").upper(): name for name in SPEC_HASH_NAMES}
TIMESTAMP_ID_PROPERTIES = ("start", "end")  # network-traffic


def spec_hashes(hashes: dict) -> dict:
    """Hash names spelt as the spec's vocabulary ('sha256' -> 'SHA-256'), as stix2 does."""
    return {_HASH_NAME_KEYS.get(str(k).replace("-", "").upper(), k): v for k, v in hashes.items()}


def _stix2_timestamp(value: Any) -> Any:
    """A timestamp as stix2 writes it before hashing: UTC, fraction without trailing zeros."""
    if not isinstance(value, str):
        return value
    try:
        parsed = dateparser.isoparse(value)
    except ValueError:
        return value
    parsed = parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    fraction = f".{parsed.microsecond:06d}".rstrip("0") if parsed.microsecond else ""
    return parsed.strftime("%Y-%m-%dT%H:%M:%S") + fraction + "Z"


def _one_hash(hashes: dict) -> dict | None:
    """The spec picks one hash, in a fixed order of preference, for the id."""
    hashes = spec_hashes(hashes)
    for name in HASH_PREFERENCE:
        if name in hashes:
            return {name: hashes[name]}
    first = next(iter(hashes), None)
    return {first: hashes[first]} if first is not None else None


def observable_id(stix_type: str, properties: dict[str, Any]) -> str | None:
    """The deterministic id of an observable, or None when no contributing property is set."""
    contributing = ID_CONTRIBUTING_PROPERTIES.get(stix_type)
    if contributing is None:
        return None
    name_parts: dict[str, Any] = {}
    for key in contributing:
        if key not in properties or properties[key] is None:
            continue
        value = properties[key]
        if key == "hashes":
            value = _one_hash(value) if isinstance(value, dict) else None
            if value is None:
                continue
        elif key in TIMESTAMP_ID_PROPERTIES:
            value = _stix2_timestamp(value)
        name_parts[key] = value
    if not name_parts:
        return None
    return f"{stix_type}--{uuid.uuid5(SCO_NAMESPACE, canonicalize(name_parts, utf8=False))}"


def derived_id(stix_type: str, *parts: str) -> str:
    """A stable id for something the service derives (inferred facts, split sightings)."""
    return f"{stix_type}--{uuid.uuid5(CTI_NAMESPACE, '|'.join(parts))}"


def random_id(stix_type: str) -> str:
    return f"{stix_type}--{uuid.uuid4()}"
