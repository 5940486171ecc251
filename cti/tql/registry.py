"""The process-wide table of TQL schemas by resource name (``hasX`` targets are looked up here)."""

from __future__ import annotations

from collections.abc import Iterator

from cti.tql.keywords import TqlSchema

__all__ = ["TqlRegistry", "registry"]


class TqlRegistry:
    def __init__(self) -> None:
        self._schemas: dict[str, TqlSchema] = {}

    def register(self, schema: TqlSchema) -> TqlSchema:
        """Add ``schema``; registering the same name again replaces the earlier schema."""
        self._schemas[schema.name] = schema
        return schema

    def unregister(self, name: str) -> None:
        self._schemas.pop(name, None)

    def get(self, name: str) -> TqlSchema:
        """The schema called ``name``; ``KeyError`` if none is registered."""
        try:
            return self._schemas[name]
        except KeyError:
            raise KeyError(f"no TQL schema registered as {name!r}") from None

    def __contains__(self, name: object) -> bool:
        return name in self._schemas

    def __iter__(self) -> Iterator[TqlSchema]:
        return iter(list(self._schemas.values()))

    def names(self) -> list[str]:
        return sorted(self._schemas)


registry = TqlRegistry()
