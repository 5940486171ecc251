"""Render model instances as v3 JSON from their resource's field specs.

Rendering reads only what the queryset already loaded (select_related / prefetch_related declared
on the resource and its expansions), so a page costs a constant number of queries.
"""

from collections.abc import Callable
from datetime import datetime
from typing import Any

from cti.api.resources import Resource, format_datetime, get_resource, register_resource

__all__ = [
    "format_value",
    "get_resource",
    "register_formatter",
    "register_resource",
    "render",
    "render_many",
]

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
    return render_many([obj], resource, expand)[0]


def render_many(objs: list[Any], resource: Resource, expand: frozenset[str] = frozenset()) -> list:
    """Render a page: each resource's field plan is worked out once, not once per row."""
    plans: dict = {}
    plan = _plan(resource, expand, plans)
    return [_render(obj, resource, expand, plan, plans) for obj in objs]


_VALUE, _ONE, _MANY = 0, 1, 2


def _getter(spec) -> Callable[[Any], Any]:
    if spec.getter:
        return spec.getter
    path = spec.readable_attr
    if "." in path:
        return lambda obj: _resolve(obj, path)
    return lambda obj: getattr(obj, path)


def _plan(resource: Resource, expand: frozenset[str], plans: dict) -> list[tuple]:
    key = (resource.name, expand)
    if key not in plans:
        plan = []
        for spec in resource.fields:
            if spec.write_only or (spec.expand and spec.expand not in expand):
                continue
            if spec.resource:
                kind, extra = (_MANY if spec.many else _ONE), get_resource(spec.resource)
            else:
                kind, extra = _VALUE, _formatters.get(spec.type)
            plan.append((spec.name, _getter(spec), kind, extra))
        plans[key] = plan
    return plans[key]


def _render(obj: Any, resource: Resource, expand, plan: list[tuple], plans: dict) -> dict:
    if resource.renderer is not None:
        return resource.renderer(obj, expand)
    out: dict[str, Any] = {}
    for name, get, kind, extra in plan:
        value = get(obj)
        if value is None:
            continue
        if kind == _VALUE:
            if isinstance(value, datetime):
                value = format_datetime(value)
            elif extra is not None:
                value = extra(value)
        else:
            child_plan = _plan(extra, frozenset(), plans)
            if kind == _MANY:
                items = value.all() if hasattr(value, "all") else value
                value = {"data": [_render(i, extra, frozenset(), child_plan, plans) for i in items]}
            else:
                value = _render(value, extra, frozenset(), child_plan, plans)
        out[name] = value
    return out
