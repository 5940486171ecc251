from typing import Any

from django.db.models import Model

from cti.api.errors import ErrCode, V3Error
from cti.api.inputs import NestedItems, validate_input
from cti.api.rendering import get_resource


def bad_request(message: str, err: ErrCode = ErrCode.BAD_REQUEST) -> V3Error:
    return V3Error(message, err)


def get_or_bad(model: type[Model], what: str, **lookup: Any) -> Model:
    obj = model._default_manager.filter(**lookup).first()
    if obj is None:
        shown = ", ".join(f"{k}={v!r}" for k, v in lookup.items())
        raise bad_request(f"{what} not found ({shown}).")
    return obj


def validate_child(resource: str, item: dict, parent: dict, prefix: str) -> dict:
    """Validate a nested child as if it were POSTed on its own with its parent's ids."""
    return validate_input(get_resource(resource), "POST", {**item, **parent}, prefix=prefix)


def set_fields(instance: Model, data: dict, names: tuple[str, ...]) -> list[str]:
    changed = []
    for name in names:
        if name in data and getattr(instance, name) != data[name]:
            setattr(instance, name, data[name])
            changed.append(name)
    return changed


def nested(data: dict, key: str) -> NestedItems | None:
    value = data.get(key)
    return value if isinstance(value, NestedItems) else None
