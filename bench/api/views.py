"""The minimal view the API is compared with: the same SQL, the same JSON, nothing else.

For every benchmark request, `run.py` first sends it once in-process through the real API
(inside a transaction it rolls back) and records each SQL statement with its parameters and
the response body. `minimal()` replays that request's statements verbatim on a raw cursor,
fetches every row, and returns the recorded body re-serialised with `json.dumps`. It is a lower
bound for any view that issues those queries and emits that JSON: no authentication classes,
no parsing, no ORM instances, no rendering. Writes are replayed inside a transaction that is
rolled back (the recorded ids and xids would collide otherwise), so the minimal write skips the
commit; the API's write pays it.
"""

import json
import os
import pickle
from functools import cache
from pathlib import Path

from django.db import connection, transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt


@cache
def recordings() -> dict:
    return pickle.loads(Path(os.environ["BENCH_API_RECORDINGS"]).read_bytes())


def _replay(statements: list[tuple[str, tuple | None]]) -> None:
    with connection.cursor() as cursor:
        for sql, params in statements:
            cursor.execute(sql, params)
            if cursor.description is not None:
                cursor.fetchall()


@csrf_exempt  # as DRF's views are for token-authenticated requests
def minimal(request: HttpRequest, scenario: str, index: int) -> HttpResponse:
    entries = recordings().get(scenario)
    if not entries:
        return JsonResponse({"status": "Error", "message": "unknown scenario"}, status=404)
    entry = entries[index % len(entries)]
    if request.method != entry["method"]:
        return JsonResponse({"status": "Error", "message": "wrong method"}, status=405)
    request.body  # noqa: B018  (read the body as any view would)
    if entry["method"] == "GET":
        _replay(entry["sql"])
    else:
        with transaction.atomic():
            _replay(entry["sql"])
            transaction.set_rollback(True)
    body = json.dumps(entry["body"], ensure_ascii=False, separators=(",", ":"))
    return HttpResponse(body, status=entry["status"], content_type="application/json")
