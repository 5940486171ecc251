"""Rate strings for settings (kept free of DRF imports: settings load this)."""

import re

from django.core.exceptions import ImproperlyConfigured

RATE = re.compile(r"[1-9][0-9]*/(s|sec|second|m|min|minute|h|hour|d|day)")


def validate_rate(name: str, rate: str) -> str | None:
    """'' turns a limit off; anything else must read like '600/minute'."""
    if not rate:
        return None
    if not RATE.fullmatch(rate):
        raise ImproperlyConfigured(f"{name} must look like 600/minute, not {rate!r}")
    return rate
