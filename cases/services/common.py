from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db.models import CharField, Model, TextField
from rest_framework.exceptions import ValidationError

from cti.api.errors import ErrCode, V3Error
from cti.api.inputs import NestedItems, validate_input
from cti.api.params import parse_pk
from cti.api.rendering import get_resource
from cti.security.visibility import visible


def bad_request(message: str, err: ErrCode = ErrCode.BAD_REQUEST) -> V3Error:
    return V3Error(message, err)


@contextmanager
def child_errors(path: str) -> Iterator[None]:
    """Name the nested child (`artifacts[0]`, `tasks[1].notes[0]`) in errors raised while it
    is written, so a client can tell which item of a nested body was refused."""
    try:
        yield
    except V3Error as exc:
        inner = getattr(exc, "child_path", None)
        full = f"{path}.{inner}" if inner else path
        message = getattr(exc, "child_message", exc.message)
        wrapped = V3Error(f"{full}: {message}", exc.err)
        wrapped.child_path, wrapped.child_message = full, message
        raise wrapped from None
    except ValidationError as exc:
        raise ValidationError({path: exc.detail}) from None


def get_or_bad(model: type[Model], what: str, *, seen_by: Any = None, **lookup: Any) -> Model:
    """The object the lookup names, if ``seen_by`` (the writing user) may see it: another
    owner's object, or a case hidden by its userAccess list, is as unknown as a missing one."""
    obj = visible(model._default_manager.filter(**lookup), seen_by).first()
    if obj is None:
        shown = ", ".join(f"{k}={v!r}" for k, v in lookup.items())
        raise bad_request(f"{what} not found ({shown}).")
    return obj


def validate_child(resource: str, item: dict, parent: dict, prefix: str) -> dict:
    """Validate a nested child as if it were POSTed on its own with its parent's ids."""
    return validate_input(get_resource(resource), "POST", {**item, **parent}, prefix=prefix)


def item_ids(items: list[dict], what: str) -> set[int]:
    """The integer ids of the items that reference existing objects by `id`."""
    ids = set()
    for n, item in enumerate(items):
        value = item.get("id")
        if value is None:
            continue
        pk = None if isinstance(value, bool) else parse_pk(value)
        if pk is None:
            raise bad_request(f"{what}[{n}].id must be an integer, not {value!r}.")
        ids.add(pk)
    return ids


def set_fields(instance: Model, data: dict, names: tuple[str, ...]) -> list[str]:
    changed = []
    for name in names:
        if name not in data:
            continue
        value = data[name]
        if value is None and not instance._meta.get_field(name).null:
            value = _null_replacement(instance, name)
            if value is None:
                continue
        if getattr(instance, name) != value:
            setattr(instance, name, value)
            changed.append(name)
    return changed


def _null_replacement(instance: Model, name: str) -> Any:
    """What a JSON null means for a column that cannot hold NULL: blank text is cleared, any
    other value is left as it is (writing NULL would fail as an integrity error)."""
    field = instance._meta.get_field(name)
    if isinstance(field, CharField | TextField) and field.blank:
        return ""
    return None


def nested(data: dict, key: str) -> NestedItems | None:
    value = data.get(key)
    return value if isinstance(value, NestedItems) else None
