"""Model instances built from database rows without going through `Model.__init__`.

Django's `Model.from_db` calls `cls(*values)`: `__init__` sends `pre_init` / `post_init`,
checks the argument count and sets every column through `setattr` (a descriptor call per
foreign key). For a row that holds every concrete column that work does nothing: the values
go into the instance `__dict__` unchanged. A page of 100 cases with their tasks, artifacts,
tags and a dozen users each builds about 3,900 instances, so the API's models load rows
straight into `__dict__` instead. The result is the instance `__init__` would make (same
`__dict__` values, `_state.adding` False, `_state.db` set; a deferred column is absent from
`__dict__` and loads on access, as with Django). While a `pre_init` / `post_init` receiver is
connected, every model takes Django's path.
"""

from typing import Any

from django.db.models import Model
from django.db.models.base import ModelState
from django.db.models.signals import post_init, pre_init


class FastLoad:
    """Mixin for models (before `models.Model` in the bases)."""

    @classmethod
    def from_db(cls, db: str | None, field_names: Any, values: Any) -> Model:
        attnames = cls.__dict__.get("_fastload_attnames")
        if attnames is None:
            attnames = tuple(f.attname for f in cls._meta.concrete_fields)  # type: ignore[attr-defined]
            cls._fastload_attnames = attnames  # type: ignore[attr-defined]
        if len(values) == len(attnames):
            names = attnames  # every column, in the model's order (as Model.__init__ reads them)
        elif len(values) == len(field_names):
            names = field_names  # deferred columns: the attnames loaded, in the row's order
        else:
            names = None
        if names is None or pre_init.receivers or post_init.receivers:
            return super().from_db(db, field_names, values)  # type: ignore[misc]
        new = cls.__new__(cls)
        state = ModelState()
        state.adding = False
        state.db = db
        attrs = new.__dict__
        attrs["_state"] = state
        attrs.update(zip(names, values, strict=True))
        return new
