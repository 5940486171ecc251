"""The single exception type of the TQL package."""

from __future__ import annotations

__all__ = ["TqlError"]


class TqlError(ValueError):
    """Invalid TQL: a syntax error, unknown keyword, bad value or operator, or a limit exceeded.

    ``message`` is the full human-readable text (``Invalid TQL: unknown keyword 'foo' at
    position 12``), ``token`` the offending source text (``None`` when there is none, e.g. at the
    end of the query) and ``position`` its 0-based character offset in the query text.
    The API layer turns this into HTTP 400 (ThreatConnect ``TqlParseError``).
    """

    def __init__(self, detail: str, token: str | None = None, position: int | None = None):
        where = f" at position {position}" if position is not None else ""
        self.detail = detail
        self.token = token
        self.position = position
        self.message = f"Invalid TQL: {detail}{where}"
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message
