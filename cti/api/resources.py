"""Declarative v3 resources: one list of field specs drives OPTIONS descriptors, input
validation, output rendering and `fields=` expansion."""

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import Any

from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.db.models import Prefetch, QuerySet

from cti.tql import TqlSchema


class Access(Enum):
    RO = "RO"  # read-only
    C = "C"  # writable on create only
    CU = "CU"  # writable on create and update


@dataclass(frozen=True)
class FieldSpec:
    name: str  # camelCase API name
    type: str  # ThreatConnect type name (String, Integer, Boolean, Date, User, Assignee, ...)
    access: Access = Access.RO
    attr: str | None = None  # model attribute (dotted) or None for computed/collection fields
    getter: Callable[[Any], Any] | None = None  # computes the output value from the object
    required: bool = False
    required_alt: str | None = None
    description: str = ""
    choices: tuple[str, ...] | None = None
    default: Any = None
    max_length: int | None = None
    min_length: int | None = None
    min_value: int | None = None
    max_value: int | None = None
    resource: str | None = None  # nested resource rendered inside (collection or single)
    many: bool = False  # a {"data": [...]} collection
    expand: str | None = None  # fields= name that adds it; None means included by default
    modes: bool = False  # accepts append / replace / delete on update
    write_only: bool = False  # accepted on input, never rendered

    @property
    def readable_attr(self) -> str:
        return self.attr or self.name

    def descriptor(self) -> dict:
        desc: dict[str, Any] = {"type": self.type, "description": self.description}
        desc["required"] = self.required
        desc["readOnly"] = self.access is Access.RO
        desc["updatable"] = self.access is Access.CU
        if self.required_alt:
            desc["requiredAltField"] = self.required_alt
        for key, value in (
            ("allowableValues", list(self.choices) if self.choices else None),
            ("default", self.default),
            ("maxLength", self.max_length),
            ("minLength", self.min_length),
            ("minValue", self.min_value),
            ("maxValue", self.max_value),
        ):
            if value is not None:
                desc[key] = value
        return {"data": [desc]} if self.many else desc


@dataclass(frozen=True)
class Expansion:
    name: str
    description: str
    prefetch: tuple[str | Prefetch, ...] = ()
    select: tuple[str, ...] = ()
    # loads data for a whole page at once (a fixed number of queries) and sets it on each row;
    # called with the rows and the Scope of what the requester may see
    attach: Callable[[list[Any], "Scope"], None] | None = None


Scope = Callable[[QuerySet], QuerySet]
"""Narrows a queryset to the rows the requester may see (nested rows are scoped too)."""


def unscoped(queryset: QuerySet) -> QuerySet:
    return queryset


def scoped_filter(scope: Scope, model: type[models.Model], path: str) -> dict[str, QuerySet]:
    """Filter kwargs keeping rows whose `path` points at a visible `model` row ({} when the
    scope hides nothing, so an unrestricted requester pays no subquery)."""
    allowed = scope(model._default_manager.all())
    return {f"{path}__in": allowed.values("pk")} if allowed.query.where else {}


@dataclass(eq=False)
class Resource:
    name: str  # URL segment, e.g. "cases"
    model: type[models.Model]
    fields: list[FieldSpec]
    tql: TqlSchema
    select: tuple[str, ...] = ()
    prefetch: tuple[str | Prefetch, ...] = ()
    expansions: list[Expansion] = field(default_factory=list)
    ordering: tuple[str, ...] = ("pk",)
    xid_lookup: bool = False
    # a resource whose shape is not a list of fields (STIX objects) renders itself
    renderer: Callable[[Any, frozenset[str]], dict] | None = None
    # non-numeric path keys are looked up in this field (e.g. "xid", "stix_id")
    key_field: str | None = None
    # columns of the select_related rows that rendering never reads (e.g. the password hash
    # and the settings of every joined user); deferred when rows are read for output only
    # (queryset_for), never in the querysets that writes start from (base_queryset)
    defer: tuple[str, ...] = ()

    def spec(self, name: str) -> FieldSpec | None:
        return next((f for f in self.fields if f.name == name), None)

    def expansion(self, name: str) -> Expansion | None:
        lowered = name.lower()
        return next((e for e in self.expansions if e.name.lower() == lowered), None)

    def base_queryset(self) -> QuerySet:
        return _load(self.model._default_manager.all(), self.select, self.prefetch)

    def queryset_for(self, expansions: Iterable[Expansion], scope: Scope = unscoped) -> QuerySet:
        qs = self.base_queryset()
        if self.defer:
            qs = qs.defer(*self.defer)
        for exp in expansions:
            if exp.select or exp.prefetch or exp.attach:
                qs = _load(qs, exp.select, exp.prefetch)
                continue
            for spec in self.fields:
                if spec.expand == exp.name and spec.resource:
                    qs = _load_nested(qs, spec, scope)
        return qs


def prefetched_attr(path: str) -> str:
    """The attribute an expanded to-many relation `path` is prefetched into: a plain list.

    With `to_attr`, prefetch_related sets one list per row; without it, it builds a related
    manager and clones the children's queryset for every row (about 20 us each, three times
    per case for tasks, artifacts and tags). Rendering reads this attribute first."""
    return f"_expanded_{path}"


def _load_nested(qs: QuerySet, spec: FieldSpec, scope: Scope) -> QuerySet:
    """Load an expanded nested resource with everything its own rendering reads."""
    child = get_resource(spec.resource)
    path = spec.attr or spec.name
    if spec.many:
        back = _back_reference(qs.model, path)
        select = tuple(s for s in child.select if back is None or s.split("__")[0] != back)
        children = _load(scope(child.model._default_manager.all()), select, child.prefetch)
        defer = tuple(
            d for d in child.defer if d.split("__")[0] in {s.split("__")[0] for s in select}
        )
        if defer:
            children = children.defer(*defer)
        return qs.prefetch_related(Prefetch(path, queryset=children, to_attr=prefetched_attr(path)))
    qs = _load(
        qs,
        (path, *(f"{path}__{s}" for s in child.select)),
        tuple(f"{path}__{p}" for p in child.prefetch if isinstance(p, str)),
    )
    return qs.defer(*(f"{path}__{d}" for d in child.defer)) if child.defer else qs


def _back_reference(model: type[models.Model], path: str) -> str | None:
    """The child's foreign key to the parent when `path` is a reverse one-to-many relation.

    prefetch_related sets that attribute on every child to the parent instance it already
    loaded, so joining the parent again (select_related) in the children's query would only
    repeat its columns on every child row and build a throwaway copy of it per child."""
    try:
        field = model._meta.get_field(path)
    except FieldDoesNotExist:  # a property: nothing to drop
        return None
    if field.one_to_many and not field.many_to_many and hasattr(field, "field"):
        return field.field.name
    return None


def _load(qs: QuerySet, select: tuple[str, ...], prefetch: tuple) -> QuerySet:
    # select_related() with no arguments would mean "every non-null relation" and replace the
    # paths named so far, so it is only called with names
    if select:
        qs = qs.select_related(*select)
    if prefetch:
        qs = qs.prefetch_related(*prefetch)
    return qs


_resources: dict[str, Resource] = {}
_generation = 0


def register_resource(resource: Resource) -> Resource:
    global _generation
    _resources[resource.name] = resource
    _generation += 1
    return resource


def generation() -> int:
    """Changes whenever a resource is registered (compiled renderers are then rebuilt)."""
    return _generation


def get_resource(name: str) -> Resource:
    return _resources[name]


def format_datetime(value: datetime | None) -> str | None:
    """`value.strftime("%Y-%m-%dT%H:%M:%SZ")` (no time zone conversion): the same text from
    isoformat, about three times faster, for years 1000-9999 (strftime does not pad %Y)."""
    if value is None:
        return None
    if value.year >= 1000:
        return value.isoformat(timespec="seconds")[:19] + "Z"
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")
