"""`sorting=<keyword> <asc|desc|nullsfirst|nullslast> [<keyword> <direction> ...]`."""

from django.core.exceptions import FieldDoesNotExist
from django.db.models import F, Model, OrderBy
from django.db.models.constants import LOOKUP_SEP

from cti.api.errors import ErrCode, V3Error
from cti.tql import TqlSchema

DIRECTIONS = {"asc", "desc", "nullsfirst", "nullslast"}


def parse_sorting(text: str, schema: TqlSchema) -> list[OrderBy]:
    words = text.replace(",", " ").split()
    orderings: list[OrderBy] = []
    i = 0
    while i < len(words):
        name = words[i]
        direction = "asc"
        if i + 1 < len(words) and words[i + 1].lower() in DIRECTIONS:
            direction = words[i + 1].lower()
            i += 1
        i += 1
        keyword = schema.keyword(name)
        if keyword is None or not keyword.lookup or not keyword.sortable:
            raise V3Error(
                f"Invalid sorting: {name!r} is not a sortable field.", ErrCode.BAD_REQUEST
            )
        expr = F(keyword.lookup)
        if direction in ("asc", "desc") and not _nullable(schema.model, keyword.lookup):
            # a column that cannot be NULL needs no NULLS FIRST/LAST, and without it the
            # database can walk a plain index in either direction instead of sorting
            orderings.append(expr.desc() if direction == "desc" else expr.asc())
        elif direction == "desc":
            orderings.append(expr.desc(nulls_last=True))
        elif direction == "nullsfirst":
            orderings.append(expr.asc(nulls_first=True))
        elif direction == "nullslast":
            orderings.append(expr.asc(nulls_last=True))
        else:
            orderings.append(expr.asc(nulls_first=True))
    return orderings


def _nullable(model: type[Model], lookup: str) -> bool:
    """Whether `lookup` can be NULL: a nullable column or any nullable relation on the way
    (an unknown path counts as nullable)."""
    opts = model._meta
    parts = lookup.split(LOOKUP_SEP)
    for n, part in enumerate(parts):
        try:
            field = opts.get_field(part)
        except FieldDoesNotExist:
            return True
        if field.null or field.many_to_many or field.one_to_many:
            return True
        if n < len(parts) - 1:
            if not field.is_relation or field.related_model is None:
                return True
            opts = field.related_model._meta
    return False
