"""Input validation built from a resource's field specs.

Only fields writable by the method are read (POST: C and CU; PUT: CU); read-only and unknown
keys are ignored, as ThreatConnect does. Validated data is keyed by each spec's model attribute
(or its API name when it has none). Nested collections arrive as `NestedItems`."""

from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache

from dateutil import parser as dateparser
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from cti.api.resources import Access, FieldSpec, Resource

MODES = ("append", "replace", "delete")


@dataclass
class NestedItems:
    items: list[dict]
    mode: str | None


@extend_schema_field(OpenApiTypes.DATETIME)
class FlexibleDateTimeField(serializers.Field):
    """ISO 8601 with Z or offset, `YYYY-MM-DD HH:MM:SS`, or a date; naive values are UTC."""

    def to_internal_value(self, data):
        if isinstance(data, int | float):
            return datetime.fromtimestamp(data, tz=UTC)
        if not isinstance(data, str) or not data.strip():
            raise serializers.ValidationError("Expected a date/time string.")
        try:
            value = dateparser.isoparse(data.strip())
        except (ValueError, OverflowError):
            try:
                value = dateparser.parse(data.strip())
            except (ValueError, OverflowError):
                raise serializers.ValidationError(f"Invalid date/time: {data!r}") from None
        return value if value.tzinfo else value.replace(tzinfo=UTC)

    def to_representation(self, value):
        return value


@extend_schema_field(OpenApiTypes.STR)
class CaseInsensitiveChoiceField(serializers.Field):
    def __init__(self, choices: tuple[str, ...], aliases: dict[str, str] | None = None, **kw):
        super().__init__(**kw)
        self.canonical = {c.lower(): c for c in choices}
        self.canonical.update({k.lower(): v for k, v in (aliases or {}).items()})
        self.choices_text = ", ".join(choices)

    def to_internal_value(self, data):
        if not isinstance(data, str) or data.strip().lower() not in self.canonical:
            raise serializers.ValidationError(
                f"{data!r} is not a valid choice (allowed: {self.choices_text})."
            )
        return self.canonical[data.strip().lower()]

    def to_representation(self, value):
        return value


@extend_schema_field(
    {
        "type": "object",
        "properties": {
            "data": {"type": "array", "items": {"type": "object"}},
            "mode": {"type": "string", "enum": list(MODES)},
        },
    }
)
class NestedItemsField(serializers.Field):
    """`{"data": [...], "mode": "append"}` or a bare list of objects."""

    def to_internal_value(self, data):
        mode = None
        if isinstance(data, dict):
            mode = data.get("mode")
            data = data.get("data", [])
        if not isinstance(data, list) or not all(isinstance(i, dict) for i in data):
            raise serializers.ValidationError('Expected {"data": [objects]}.')
        if mode is not None:
            if not isinstance(mode, str) or mode.lower() not in MODES:
                raise serializers.ValidationError(f"mode must be one of {', '.join(MODES)}.")
            mode = mode.lower()
        return NestedItems(items=data, mode=mode)

    def to_representation(self, value):
        return value


class ObjectRefField(serializers.DictField):
    """A reference to another object: `{"id": N}`, `{"name": ...}` and the like."""


# Field factories by ThreatConnect type; types not listed are object references.
_FIELD_TYPES = {
    "String": lambda spec, **kw: serializers.CharField(
        allow_blank=True, allow_null=True, trim_whitespace=False, max_length=spec.max_length, **kw
    ),
    "Integer": lambda spec, **kw: serializers.IntegerField(
        allow_null=True, min_value=spec.min_value, max_value=spec.max_value, **kw
    ),
    "Long": lambda spec, **kw: serializers.IntegerField(
        allow_null=True, min_value=spec.min_value, **kw
    ),
    "Boolean": lambda spec, **kw: serializers.BooleanField(allow_null=True, **kw),
    "Date": lambda spec, **kw: FlexibleDateTimeField(allow_null=True, **kw),
    "List": lambda spec, **kw: serializers.ListField(allow_null=True, **kw),
}

_ALIASES: dict[str, dict[str, str]] = {}


def register_choice_aliases(field_name: str, aliases: dict[str, str]) -> None:
    _ALIASES[field_name] = aliases


def _build_field(spec: FieldSpec) -> serializers.Field:
    kwargs: dict = {"required": False}
    if spec.attr and spec.attr != spec.name:
        kwargs["source"] = spec.attr
    if spec.many:
        return NestedItemsField(**kwargs)
    if spec.choices:
        return CaseInsensitiveChoiceField(
            spec.choices, _ALIASES.get(spec.name), allow_null=True, **kwargs
        )
    factory = _FIELD_TYPES.get(spec.type)
    return factory(spec, **kwargs) if factory else ObjectRefField(allow_null=True, **kwargs)


def writable(spec: FieldSpec, method: str) -> bool:
    if spec.access is Access.CU:
        return True
    return spec.access is Access.C and method == "POST"


@cache
def input_serializer(resource: Resource, method: str) -> type[serializers.Serializer]:
    specs = [s for s in resource.fields if writable(s, method)]
    attrs: dict = {spec.name: _build_field(spec) for spec in specs}
    required = [s for s in specs if s.required] if method == "POST" else []

    def validate(self, data):
        missing = []
        for spec in required:
            alt = resource.spec(spec.required_alt) if spec.required_alt else None
            present = spec.name in self.initial_data and self.initial_data[spec.name] is not None
            alt_present = alt is not None and self.initial_data.get(alt.name) is not None
            if not (present or alt_present):
                missing.append(f"{spec.name} or {alt.name}" if alt else spec.name)
        if missing:
            raise serializers.ValidationError(
                f"Missing required field(s): {', '.join(sorted(set(missing)))}."
            )
        return data

    attrs["validate"] = validate
    name = f"{resource.model.__name__}{method.title()}Input"
    return type(name, (serializers.Serializer,), attrs)


def validate_input(resource: Resource, method: str, data, prefix: str = "") -> dict:
    if not isinstance(data, dict):
        raise serializers.ValidationError(
            {prefix or "non_field_errors": ["Expected a JSON object."]}
        )
    serializer = input_serializer(resource, method)(data=data)
    if not serializer.is_valid():
        raise serializers.ValidationError(
            {prefix: serializer.errors} if prefix else serializer.errors
        )
    return dict(serializer.validated_data)
