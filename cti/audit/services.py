"""Writing audit entries. Entries are written in the writer's transaction: a write that rolls
back leaves no entry."""

import datetime
import decimal
import functools
import uuid
from collections.abc import Iterable
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import connection, models
from django.db.models import Max
from django.db.models.fields.files import FieldFile

from cti.audit.context import Actor, current_actor
from cti.audit.models import AuditEntry
from cti.audit.registry import REDACTED, SECRET_FIELDS, Policy
from cti.pruning import delete_in_batches

BATCH = 1000


_PLAIN = (str, int, float, bool, type(None))


def jsonable(value: Any) -> Any:
    if type(value) in _PLAIN:  # most values of a graph object's properties: as they are
        return value
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, FieldFile):
        return value.name or ""
    if isinstance(value, bytes | memoryview):
        return "<binary>"
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v) for v in value]
    return value


@functools.cache
def audited_fields(model: type[models.Model], policy: Policy) -> tuple[models.Field, ...]:
    found = []
    for field in model._meta.concrete_fields:
        if field.primary_key or getattr(field, "auto_now", False):
            continue
        if getattr(field, "auto_now_add", False) or field.name in policy.exclude:
            continue
        if policy.only is not None and field.name not in policy.only:
            continue
        found.append(field)
    return tuple(found)


def shown(name: str, value: Any, policy: Policy) -> Any:
    """The value as stored in the log: secrets never, masked fields partly."""
    if name in SECRET_FIELDS:
        return REDACTED if value not in (None, "") else value
    for masked, mask in policy.masks:
        if masked == name:
            return mask(value)
    return jsonable(value)


def raw_values(instance: models.Model, fields: Iterable[models.Field]) -> dict[str, Any]:
    return {f.name: f.value_from_object(instance) for f in fields}


def _comparable(field: models.Field, value: Any) -> Any:
    try:
        return field.get_prep_value(value)
    except (TypeError, ValueError, decimal.InvalidOperation):
        return value


def changed(fields: Iterable[models.Field], old: dict, new: dict) -> list[str]:
    return [
        f.name
        for f in fields
        if f.name in old
        and f.name in new
        and _comparable(f, old[f.name]) != _comparable(f, new[f.name])
    ]


def display(instance: models.Model) -> str:
    try:
        return str(instance)[:300]
    except Exception:  # a __str__ that follows a relation already deleted
        return f"{type(instance).__name__} {instance.pk}"


def _entry(
    actor: Actor,
    content_type: ContentType,
    object_id: Any,
    object_repr: str,
    action: str,
    before: dict | None,
    after: dict | None,
    state: dict | None = None,
) -> AuditEntry:
    return AuditEntry(
        actor_id=actor.user_id,
        actor_name=actor.name,
        access_id=actor.access_id,
        request_id=actor.request_id,
        source=actor.source,
        endpoint=actor.endpoint,
        content_type=content_type,
        object_id=str(object_id)[:64],
        object_repr=object_repr[:300],
        action=action,
        before=before,
        after=after,
        state=state,
    )


def record(
    instance: models.Model,
    action: str,
    *,
    before: dict | None = None,
    after: dict | None = None,
) -> AuditEntry:
    """One entry for one object (values already shown/redacted)."""
    content_type = ContentType.objects.get_for_model(type(instance), for_concrete_model=False)
    entry = _entry(
        current_actor(), content_type, instance.pk, display(instance), action, before, after
    )
    entry.save(force_insert=True)
    return entry


def record_rows(model: type[models.Model], rows: Iterable[tuple]) -> int:
    """Entries for rows written in bulk: (object_id, repr, action, before, after, state)."""
    actor = current_actor()
    content_type = ContentType.objects.get_for_model(model)
    batch: list[AuditEntry] = []
    written = 0
    for object_id, object_repr, action, before, after, state in rows:
        batch.append(
            _entry(actor, content_type, object_id, object_repr, action, before, after, state)
        )
        if len(batch) >= BATCH:
            AuditEntry.objects.bulk_create(batch, ignore_conflicts=True)
            written, batch = written + len(batch), []
    if batch:
        AuditEntry.objects.bulk_create(batch, ignore_conflicts=True)
        written += len(batch)
    return written


def last_states(model: type[models.Model], object_ids: Iterable[Any]) -> dict[str, dict]:
    """The state the newest entry of each object recorded (graph objects)."""
    content_type = ContentType.objects.get_for_model(model)
    ids = [str(i) for i in object_ids]
    states: dict[str, dict] = {}
    for start in range(0, len(ids), BATCH):
        chunk = ids[start : start + BATCH]
        newest = _newest_entries(content_type.pk, chunk)
        states.update(
            AuditEntry.objects.filter(pk__in=list(newest), state__isnull=False).values_list(
                "object_id", "state"
            )
        )
    return states


def _newest_entries(content_type_id: int, object_ids: list[str]) -> list[int]:
    """The id of each object's newest entry. On PostgreSQL one index probe per object (a
    LATERAL ... ORDER BY id DESC LIMIT 1 on audit_object): a GROUP BY with MAX reads every
    entry of every object, and a sighting merged ten thousand times has as many."""
    if connection.vendor != "postgresql":
        return list(
            AuditEntry.objects.filter(content_type_id=content_type_id, object_id__in=object_ids)
            .values("object_id")
            .annotate(last=Max("pk"))
            .values_list("last", flat=True)
        )
    table = connection.ops.quote_name(AuditEntry._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT e.id FROM unnest(%s::varchar[]) AS o(object_id) CROSS JOIN LATERAL "
            f"(SELECT id FROM {table} WHERE content_type_id = %s AND object_id = o.object_id "
            f"ORDER BY id DESC LIMIT 1) AS e",
            [object_ids, content_type_id],
        )
        return [row[0] for row in cursor.fetchall()]


def diff_states(old: dict | None, new: dict) -> tuple[dict | None, dict]:
    """(before, after) of the keys that differ; a dict value is compared one level deeper."""
    if old is None:
        return None, new
    before, after = {}, {}
    for key in old.keys() | new.keys():
        a, b = old.get(key), new.get(key)
        if a == b:
            continue
        if isinstance(a, dict) and isinstance(b, dict):
            sub = [k for k in a.keys() | b.keys() if a.get(k) != b.get(k)]
            before[key] = {k: a[k] for k in sub if k in a}
            after[key] = {k: b[k] for k in sub if k in b}
        else:
            before[key], after[key] = a, b
    return before, after


def prune_entries(before) -> int:
    """Forget the audit entries written before `before` (the retention an operator set)."""
    return delete_in_batches(AuditEntry.objects.filter(timestamp__lt=before))
