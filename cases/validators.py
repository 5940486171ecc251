"""Artifact values checked against their type (by the type's `validator` name)."""

import base64
import binascii
import ipaddress
import re

from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator, URLValidator

HOST_RE = re.compile(
    r"^(?=.{1,253}$)(?!-)([a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9])?\.)*"
    r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9])?\.?$",
    re.IGNORECASE,
)
ASN_RE = re.compile(r"^(ASN?)?\s?(\d{1,10})$", re.IGNORECASE)
HASH_RE = re.compile(r"^([0-9a-f]{32}|[0-9a-f]{40}|[0-9a-f]{64}|[0-9a-f]{128})$", re.IGNORECASE)


def _email(value: str) -> None:
    EmailValidator(message="not a valid email address")(value)


def _host(value: str) -> None:
    if not HOST_RE.match(value) or "." not in value.strip("."):
        raise ValidationError("not a valid host name")


def _url(value: str) -> None:
    URLValidator(message="not a valid URL", schemes=["http", "https", "ftp", "ftps"])(value)


def _ip(value: str) -> None:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        raise ValidationError("not a valid IP address") from None


def _cidr(value: str) -> None:
    try:
        ipaddress.ip_network(value, strict=False)
    except ValueError:
        raise ValidationError("not a valid CIDR range") from None


def _asn(value: str) -> None:
    match = ASN_RE.match(value.strip())
    if not match or int(match.group(2)) > 4294967295:
        raise ValidationError("not a valid ASN (e.g. ASN64512)")


def _hash(value: str) -> None:
    if not HASH_RE.match(value):
        raise ValidationError("not a valid MD5, SHA-1, SHA-256 or SHA-512 hash")


def _port(value: str) -> None:
    if not value.isdigit() or not 0 <= int(value) <= 65535:
        raise ValidationError("not a valid port number")


VALIDATORS = {
    "email": _email,
    "host": _host,
    "url": _url,
    "ip": _ip,
    "cidr": _cidr,
    "asn": _asn,
    "hash": _hash,
    "port": _port,
}


def validate_artifact_value(validator: str, value: str) -> str | None:
    """The reason the value is invalid, or None."""
    check = VALIDATORS.get(validator)
    if check is None:
        return None
    try:
        check(value.strip())
    except ValidationError as exc:
        return exc.messages[0]
    return None


def decode_file_data(data: str) -> bytes:
    """Standard base64; line breaks and other whitespace (MIME-style wrapping) are ignored."""
    try:
        return base64.b64decode("".join(data.split()), validate=True)
    except (binascii.Error, ValueError):
        raise ValidationError("fileData is not valid base64") from None
