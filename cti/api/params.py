"""The v3 query parameters, read from the query string or, for long queries, from a GET body.

tcex moves every parameter into `{"data": {...}}` in the body of a GET when the query string
would pass 2,000 characters; unknown parameters are ignored.
"""

from dataclasses import dataclass, field

from django.http import QueryDict
from rest_framework.request import Request

from cti.api.errors import ErrCode, V3Error

DEFAULT_LIMIT = 100
MAX_LIMIT = 10_000
TRUE_WORDS = {"true", "1", "yes"}
FALSE_WORDS = {"false", "0", "no", ""}


@dataclass
class V3Params:
    tql: str = ""
    fields: list[str] = field(default_factory=list)
    result_start: int = 0
    result_limit: int = DEFAULT_LIMIT
    count: bool = False
    sorting: str = ""
    owner: str | None = None
    show_read_only: bool = False
    # every parameter as received, to be repeated in next/prev links
    raw: QueryDict = field(default_factory=lambda: QueryDict(mutable=True))


def parse_pk(value: object) -> int | None:
    """A row id given as text: ASCII digits that fit a 64-bit integer, else None.

    `str.isdigit()` alone lets '¹' (int() fails) and 20-digit numbers (the database fails) through.
    """
    text = str(value).strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 18:
        return None
    return int(text)


def _as_list(value) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list | tuple):
        return [str(v) for v in value]
    return [str(value)]


def _parse_bool(name: str, value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in TRUE_WORDS:
        return True
    if lowered in FALSE_WORDS:
        return False
    raise V3Error(
        f"Invalid value for {name}: {value!r} (expected true or false)", ErrCode.BAD_REQUEST
    )


def _parse_int(name: str, value: str, minimum: int, maximum: int | None = None) -> int:
    try:
        number = int(str(value).strip())
    except ValueError:
        raise V3Error(f"Invalid value for {name}: {value!r} (expected an integer)") from None
    if number < minimum or (maximum is not None and number > maximum):
        bound = f"between {minimum} and {maximum}" if maximum is not None else f">= {minimum}"
        raise V3Error(f"Invalid value for {name}: {number} (must be {bound})")
    return number


def collect_raw(request: Request) -> QueryDict:
    raw = request.query_params.copy()
    if request.method == "GET" and not raw:
        body = request.data if isinstance(request.data, dict) else {}
        data = body.get("data") if isinstance(body.get("data"), dict) else None
        for key, value in (data or {}).items():
            for item in _as_list(value):
                raw.appendlist(key, item)
    return raw


def parse_params(request: Request) -> V3Params:
    raw = collect_raw(request)
    for name, values in raw.lists():
        if any("\x00" in str(value) for value in values) or "\x00" in name:
            raise V3Error(f"Invalid value for {name!r}: NUL characters are not allowed")
    params = V3Params(raw=raw)
    params.tql = raw.get("tql", "") or ""
    for value in raw.getlist("fields"):
        params.fields.extend(part.strip() for part in value.split(",") if part.strip())
    if "resultStart" in raw:
        params.result_start = _parse_int("resultStart", raw["resultStart"], 0)
    if "resultLimit" in raw:
        params.result_limit = _parse_int("resultLimit", raw["resultLimit"], 1, MAX_LIMIT)
    if "count" in raw:
        params.count = _parse_bool("count", raw["count"])
    params.sorting = raw.get("sorting", "") or ""
    params.owner = raw.get("owner") or None
    show = (raw.get("show") or "").lower()
    params.show_read_only = show == "readonly"
    return params
