"""Render model instances as v3 JSON from their resource's field specs.

Rendering reads only what the queryset already loaded (select_related / prefetch_related declared
on the resource and its expansions), so a page costs a constant number of queries.
"""

from collections.abc import Callable
from datetime import datetime
from typing import Any

from cti.api.resources import Resource, format_datetime, get_resource, register_resource

__all__ = ["format_value", "get_resource", "register_formatter", "register_resource", "render"]

_formatters: dict[str, Callable[[Any], Any]] = {}


def register_formatter(type_name: str, formatter: Callable[[Any], Any]) -> None:
    _formatters[type_name] = formatter


def _resolve(obj: Any, path: str) -> Any:
    for part in path.split("."):
        if obj is None:
            return None
        obj = getattr(obj, part)
    return obj


def format_value(type_name: str, value: Any) -> Any:
    if isinstance(value, datetime):
        return format_datetime(value)
    formatter = _formatters.get(type_name)
    return formatter(value) if formatter else value


def render(obj: Any, resource: Resource, expand: frozenset[str] = frozenset()) -> dict:
    if resource.renderer is not None:
        return resource.renderer(obj, expand)
    out: dict[str, Any] = {}
    for spec in resource.fields:
        if spec.write_only or (spec.expand and spec.expand not in expand):
            continue
        value = spec.getter(obj) if spec.getter else _resolve(obj, spec.readable_attr)
        if value is None:
            continue
        if spec.resource:
            child = get_resource(spec.resource)
            if spec.many:
                items = value.all() if hasattr(value, "all") else value
                value = {"data": [render(item, child) for item in items]}
            else:
                value = render(value, child)
        else:
            value = format_value(spec.type, value)
        out[spec.name] = value
    return out
