"""STIX identifiers: deterministic ids for observables (STIX 2.1 §2.9) and for inferred facts."""

import uuid
from typing import Any

from stix2.canonicalization.Canonicalize import canonicalize

from cti.intel.choices import ID_CONTRIBUTING_PROPERTIES

SCO_NAMESPACE = uuid.UUID("00abedb4-aa42-466c-9c01-fed23315a9b7")
CTI_NAMESPACE = uuid.UUID("8c8a5f46-0a5d-4f0e-9f3b-6f6f0d7d1c2a")
HASH_PREFERENCE = ("MD5", "SHA-1", "SHA-256", "SHA-512")


def _one_hash(hashes: dict) -> dict | None:
    """The spec picks one hash, in a fixed order of preference, for the id."""
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
        name_parts[key] = value
    if not name_parts:
        return None
    return f"{stix_type}--{uuid.uuid5(SCO_NAMESPACE, canonicalize(name_parts, utf8=False))}"


def derived_id(stix_type: str, *parts: str) -> str:
    """A stable id for something the service derives (inferred facts, split sightings)."""
    return f"{stix_type}--{uuid.uuid5(CTI_NAMESPACE, '|'.join(parts))}"


def random_id(stix_type: str) -> str:
    return f"{stix_type}--{uuid.uuid4()}"
