"""Render model instances as v3 JSON from their resource's field specs.

Rendering reads only what the queryset already loaded (select_related / prefetch_related declared
on the resource and its expansions), so a page costs a constant number of queries.

Each (resource, expansions) pair is compiled once into a plain Python function, generated from
the field specs, that builds the output dict of one row: a concrete column is read from the
instance `__dict__`, a getter is called, a nested resource calls its own compiled function, and
the keys come out in the order of the specs. The compiled functions are kept until a resource
or formatter is registered again (or a resource's field list is replaced).
"""

from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.db import models

from cti.api import resources as _resources
from cti.api.resources import (
    Resource,
    format_datetime,
    get_resource,
    prefetched_attr,
    register_resource,
)

__all__ = [
    "format_value",
    "get_resource",
    "register_formatter",
    "register_resource",
    "render",
    "render_many",
]

_formatters: dict[str, Callable[[Any], Any]] = {}
_formatters_generation = 0
DATETIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"  # format_datetime's


def register_formatter(type_name: str, formatter: Callable[[Any], Any]) -> None:
    global _formatters_generation
    _formatters[type_name] = formatter
    _formatters_generation += 1


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
    """Render a page with the resource's compiled row function."""
    row = compiled(resource, expand)
    return [row(obj) for obj in objs]


# ---- compilation -------------------------------------------------------------------------------

RowFunction = Callable[[Any], dict]
COMPILED_MAX = 256  # fields= combinations are the client's choice (2^13 for cases): bounded
_compiled: dict[tuple[int, frozenset[str]], tuple[Resource, list, int, tuple, RowFunction]] = {}


def compiled(resource: Resource, expand: frozenset[str] = frozenset()) -> RowFunction:
    """The row function of `resource` with the `expand` expansions (compiled on first use)."""
    key = (id(resource), expand)
    entry = _compiled.get(key)
    generation = (_resources.generation(), _formatters_generation)
    if (
        entry is not None
        and entry[0] is resource
        and entry[1] is resource.fields
        and entry[2] == len(resource.fields)
        and entry[3] == generation
    ):
        return entry[4]
    if (entry is not None and entry[3] != generation) or len(_compiled) >= COMPILED_MAX:
        _compiled.clear()
    function = _compile(resource, expand, {})
    _compiled[key] = (resource, resource.fields, len(resource.fields), generation, function)
    return function


def _column(model: type[models.Model] | None, path: str) -> models.Field | None:
    """The concrete column `path` names on `model` (by attname), if it is one."""
    if model is None or "." in path:
        return None
    for field in model._meta.concrete_fields:
        if field.attname == path:
            return field
    return None


def _compile(resource: Resource, expand: frozenset[str], building: dict) -> RowFunction:
    """Generate the row function. `building` holds the functions of the resources being
    compiled in this call, so a resource nested in itself (cases in cases) refers to its own
    function by a late-bound cell instead of recursing forever."""
    key = (id(resource), expand)
    if key in building:
        return building[key]
    if resource.renderer is not None:
        custom = resource.renderer
        function: RowFunction = lambda obj: custom(obj, expand)  # noqa: E731
        building[key] = function
        return function
    cell: list[RowFunction] = []
    building[key] = lambda obj: cell[0](obj)
    namespace: dict[str, Any] = {
        "_datetime": datetime,
        "_DT": DATETIME_FORMAT,
        "_resolve": _resolve,
    }
    lines = ["def row(obj):", "    d = obj.__dict__", "    out = {}"]
    model = resource.model
    for n, spec in enumerate(resource.fields):
        if spec.write_only or (spec.expand and spec.expand not in expand):
            continue
        name = repr(spec.name)
        path = spec.readable_attr
        column = None if spec.getter else _column(model, path)
        if spec.resource:
            child = _compile(get_resource(spec.resource), frozenset(), building)
            namespace[f"c{n}"] = child
        # read the value into v
        if spec.getter:
            namespace[f"g{n}"] = spec.getter
            lines.append(f"    v = g{n}(obj)")
        elif column is not None:
            lines += [
                "    try:",
                f"        v = d[{path!r}]",
                "    except KeyError:",
                f"        v = obj.{path}",
            ]
        elif spec.resource and spec.many and "." not in path:
            # a to-many relation the queryset prefetched into a plain list (see
            # resources.prefetched_attr); otherwise its manager (or a list an attach() set)
            lines += [
                "    try:",
                f"        v = d[{prefetched_attr(path)!r}]",
                "    except KeyError:",
                f"        v = getattr(obj, {path!r})",
            ]
        elif "." in path:
            lines.append(f"    v = _resolve(obj, {path!r})")
        else:
            lines.append(f"    v = getattr(obj, {path!r})")
        lines.append("    if v is not None:")
        if spec.resource and spec.many:
            lines += [
                "        if hasattr(v, 'all'):",
                "            v = v.all()",
                f"        out[{name}] = {{'data': [c{n}(i) for i in v]}}",
            ]
        elif spec.resource:
            lines.append(f"        out[{name}] = c{n}(v)")
        else:
            formatter = _formatters.get(spec.type)
            if formatter is not None:
                namespace[f"f{n}"] = formatter
            plain = (
                column is not None
                and not isinstance(column, models.DateField)
                and formatter is None
            )
            if plain:  # a column that never holds a datetime, no formatter: as loaded
                lines.append(f"        out[{name}] = v")
            else:
                lines += [
                    "        if isinstance(v, _datetime):",  # format_datetime, inlined
                    "            if v.year >= 1000:",
                    f"                out[{name}] = v.isoformat(timespec='seconds')[:19] + 'Z'",
                    "            else:",
                    f"                out[{name}] = v.strftime(_DT)",
                    "        else:",
                    f"            out[{name}] = {f'f{n}(v)' if formatter else 'v'}",
                ]
    lines.append("    return out")
    exec(compile("\n".join(lines), f"<row {resource.name}>", "exec"), namespace)
    function = namespace["row"]
    cell.append(function)
    building[key] = function
    return function
