"""`sorting=<keyword> <asc|desc|nullsfirst|nullslast> [<keyword> <direction> ...]`."""

from django.db.models import F, OrderBy

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
        if direction == "desc":
            orderings.append(expr.desc(nulls_last=True))
        elif direction == "nullsfirst":
            orderings.append(expr.asc(nulls_first=True))
        elif direction == "nullslast":
            orderings.append(expr.asc(nulls_last=True))
        else:
            orderings.append(expr.asc(nulls_first=True))
    return orderings
