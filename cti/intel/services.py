"""Writes to the knowledge graph. Every import is an upsert, done in bounded batches (one short
transaction each), so a 20,000-object bundle never holds a lock on the whole graph."""

import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import islice
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import BooleanField, Exists, Max, Min, OuterRef, Q, Sum
from django.db.models.expressions import RawSQL
from django.utils import timezone

from cti.events.choices import EventKind
from cti.events.services import emit_many
from cti.intel.choices import (
    CONTAINER_TYPES,
    OBSERVABLE_TYPES,
    OBSERVABLE_VALUE_PROPERTY,
    RELATIONSHIP,
    SIGHTING,
    SIGHTING_PARTS,
)
from cti.intel.ids import derived_id
from cti.intel.models import (
    ObjectRef,
    Relationship,
    Sighting,
    SightingPart,
    StixAlias,
    StixObject,
)
from cti.intel.signals import announce, graph_mark
from cti.intel.validation import StixInvalid, normalize, parse_timestamp

BATCH_SIZE = 500
SIGHTING_LOCK_CLASS = 0x5167  # first key of the advisory locks on sighting pairs


@dataclass
class ImportResult:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    rejected: list[dict] = field(default_factory=list)

    def reject(self, raw: Any, reason: str) -> None:
        stix_id = raw.get("id") if isinstance(raw, dict) else None
        self.rejected.append({"id": stix_id, "reason": reason})

    def as_dict(self) -> dict:
        return {
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "rejected": self.rejected,
        }


@dataclass
class _Pending:
    """What can only be linked once every object of the import exists."""

    relationships: list[dict] = field(default_factory=list)
    sightings: list[dict] = field(default_factory=list)
    container_refs: dict[str, list[str]] = field(default_factory=dict)
    created_by: dict[str, str] = field(default_factory=dict)


def _chunks(items: Iterable, size: int) -> Iterator[list]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def _stamp(obj: dict, key: str) -> datetime | None:
    value = obj.get(key)
    return parse_timestamp(value, key) if value else None


def _columns(obj: dict) -> dict[str, Any]:
    """The queryable columns of a node, taken from its STIX properties."""
    stix_type = obj["type"]
    if stix_type in OBSERVABLE_TYPES:
        value = obj.get(OBSERVABLE_VALUE_PROPERTY.get(stix_type, "value"))
        if value is None and isinstance(obj.get("hashes"), dict):
            value = next(iter(obj["hashes"].values()), "")
    else:
        value = obj.get("pattern") if stix_type == "indicator" else ""
    return {
        "type": stix_type,
        "subtype": _subtype(obj),
        "name": str(obj.get("name") or "")[:512],
        "value": str(value if value is not None else "")[:2048],
        "properties": obj,
        "confidence": obj.get("confidence"),
        "revoked": bool(obj.get("revoked", False)),
        "created": _stamp(obj, "created"),
        "modified": _stamp(obj, "modified"),
        "marking_refs": list(obj.get("object_marking_refs", [])),
    }


LOCATION_KINDS = ("city", "administrative_area", "country", "region")


def _subtype(obj: dict) -> str:
    if obj["type"] == "identity":
        return str(obj.get("identity_class") or "")[:64]
    if obj["type"] == "location":
        explicit = obj.get("x_opencti_location_type")
        if explicit:
            return str(explicit).lower()[:64]
        return next((kind for kind in LOCATION_KINDS if obj.get(kind)), "")
    return ""


def resolve_ids(stix_ids: Iterable[str]) -> dict[str, int]:
    """Node primary keys for STIX ids, through aliases too."""
    wanted = set(stix_ids)
    found: dict[str, int] = {}
    for chunk in _chunks(wanted, 900):
        found.update(StixObject.objects.filter(stix_id__in=chunk).values_list("stix_id", "pk"))
    missing = wanted - found.keys()
    for chunk in _chunks(missing, 900):
        found.update(StixAlias.objects.filter(stix_id__in=chunk).values_list("stix_id", "node_id"))
    return found


def _newer(incoming: dict, stored: StixObject) -> bool:
    incoming_modified = _stamp(incoming, "modified")
    if stored.modified and incoming_modified and incoming_modified < stored.modified:
        return False
    return incoming != stored.properties


def _upsert_nodes(objs: list[dict], aliases: dict[str, str], owner, result: ImportResult) -> None:
    ids = [o["id"] for o in objs]
    existing = {n.stix_id: n for n in StixObject.objects.filter(stix_id__in=ids)}
    new = [
        StixObject(stix_id=o["id"], owner=owner, **_columns(o))
        for o in objs
        if o["id"] not in existing
    ]
    StixObject.objects.bulk_create(new, ignore_conflicts=True)
    result.created.extend(n.stix_id for n in new)
    changed = []
    now = timezone.now()
    for obj in objs:
        node = existing.get(obj["id"])
        if node is None:
            continue
        if _newer(obj, node):
            for key, value in _columns(obj).items():
                setattr(node, key, value)
            node.asserted = True
            node.last_updated = now  # bulk_update does not apply auto_now (TAXII's date added)
            changed.append(node)
            result.updated.append(node.stix_id)
        else:
            result.unchanged.append(node.stix_id)
    if changed:
        StixObject.objects.bulk_update(
            changed,
            [*_NODE_COLUMNS, "asserted", "last_updated"],
        )
    if aliases:
        pks = resolve_ids(aliases.values())
        StixAlias.objects.bulk_create(
            [
                StixAlias(stix_id=alias, node_id=pks[target])
                for alias, target in aliases.items()
                if target in pks
            ],
            ignore_conflicts=True,
        )


def _link_relationships(pending: list[dict], owner, result: ImportResult) -> list[dict]:
    """Create relationships whose endpoints exist; return those still waiting."""
    if not pending:
        return []
    pks = resolve_ids([r["source_ref"] for r in pending] + [r["target_ref"] for r in pending])
    ready, waiting = [], []
    for rel in pending:
        linked = rel["source_ref"] in pks and rel["target_ref"] in pks
        (ready if linked else waiting).append(rel)
    _upsert_nodes(ready, {}, owner, result)
    nodes = resolve_ids(r["id"] for r in ready)
    rows = []
    for rel in ready:
        rows.append(
            Relationship(
                node_id=nodes[rel["id"]],
                relationship_type=rel["relationship_type"],
                source_id=pks[rel["source_ref"]],
                target_id=pks[rel["target_ref"]],
                start_time=_stamp(rel, "start_time"),
                stop_time=_stamp(rel, "stop_time"),
                confidence=rel.get("confidence"),
            )
        )
    Relationship.objects.bulk_create(
        rows,
        update_conflicts=True,
        unique_fields=["node"],
        update_fields=[
            "relationship_type",
            "source",
            "target",
            "start_time",
            "stop_time",
            "confidence",
            "asserted",
        ],
    )
    return waiting


def sighting_window() -> timedelta:
    return timedelta(days=getattr(settings, "CTI_SIGHTING_DEDUP_DAYS", 30))


def _link_sightings(pending: list[dict], owner, result: ImportResult) -> list[dict]:
    if not pending:
        return []
    refs = [s["sighting_of_ref"] for s in pending]
    refs += [w for s in pending for w in s.get("where_sighted_refs", [])]
    pks = resolve_ids(refs)
    waiting, batch = [], []
    for sighting in pending:
        wheres = sighting.get("where_sighted_refs") or [None]
        if sighting["sighting_of_ref"] not in pks or any(
            w is not None and w not in pks for w in wheres
        ):
            waiting.append(sighting)
            continue
        for n, where in enumerate(wheres):
            row_id = sighting["id"] if n == 0 else derived_id(SIGHTING, sighting["id"], where)
            batch.append(
                (
                    {**sighting, "id": row_id, "where_sighted_refs": [where] if where else []},
                    pks[sighting["sighting_of_ref"]],
                    pks.get(where) if where else None,
                )
            )
    record_sightings(batch, owner=owner, result=result)
    return waiting


# --- sightings -----------------------------------------------------------------------------
#
# A (sighting_of, where_sighted) pair has one row per dedup window. Each id merged into a row is
# a SightingPart (count, first_seen, last_seen); the row holds their sum and span. A row into
# which no second id was merged has no part rows: its own id's part is the row itself.

CREATED, UPDATED, UNCHANGED = "created", "updated", "unchanged"
SIGHTING_BATCH = 250  # items per round of queries (bounds the size of the OR over pairs)

_Span = tuple[int, datetime | None, datetime | None]  # count, first_seen, last_seen


@dataclass
class _Row:
    """A sighting row while a batch decides: loaded (locked) or created by the batch."""

    sighting: Sighting
    order: int  # ties between window candidates go to the oldest row
    db_parts: bool  # part rows were stored before this batch
    has_parts: bool
    parts: dict[str, SightingPart] = field(default_factory=dict)  # those this batch knows
    created: bool = False
    touched: bool = False
    node_changed: bool = False

    @property
    def totals(self) -> _Span:
        s = self.sighting
        return (s.count, s.first_seen, s.last_seen)


@dataclass
class _Batch:
    owner: Any
    result: ImportResult
    rows: dict[int, _Row]  # by pk of the loaded rows
    by_id: dict[str, _Row]  # a stix id (own, alias or part) -> its row
    by_pair: dict[tuple[int, int | None], list[_Row]]
    dirty_parts: dict[int, SightingPart] = field(default_factory=dict)  # stored parts changed
    new_rows: list[_Row] = field(default_factory=list)
    aliases: list[tuple[str, _Row]] = field(default_factory=list)
    events: list[tuple[_Row, bool, int]] = field(default_factory=list)


def _sighting_rest(properties: dict) -> dict:
    """A sighting's properties less its count, dates and merge bookkeeping."""
    skip = ("count", "first_seen", "last_seen", SIGHTING_PARTS)
    return {k: v for k, v in properties.items() if k not in skip}


def _earliest(a: datetime | None, b: datetime | None) -> datetime | None:
    return b if a is None else a if b is None else min(a, b)


def _latest(a: datetime | None, b: datetime | None) -> datetime | None:
    return b if a is None else a if b is None else max(a, b)


def _lock_sighting_pairs(pairs: Iterable[tuple[int, int | None]]) -> None:
    """On PostgreSQL, writers of one (sighting_of, where_sighted) pair take turns until their
    transaction ends, so that two concurrent imports merge instead of both adding a row. All
    the locks of a batch are taken in one statement, in key order: batches cannot deadlock."""
    if connection.vendor != "postgresql" or connection.get_autocommit():
        return
    keys = sorted({zlib.crc32(f"{of}:{where}".encode()) - 2**31 for of, where in pairs})
    if not keys:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_advisory_xact_lock(%s, k.key)) FROM "
            "(SELECT key FROM unnest(%s::integer[]) AS key ORDER BY key) AS k",
            [SIGHTING_LOCK_CLASS, keys],
        )


def record_sightings(
    objs: list[tuple[dict, int, int | None]], *, owner, result: ImportResult | None = None
) -> list[tuple[Sighting, str]]:
    """Record sightings (obj, sighting_of pk, where_sighted pk) as record_sighting would one
    after the other, in a fixed number of queries per SIGHTING_BATCH items. Returns each
    item's row and status (created, updated or unchanged)."""
    result = result if result is not None else ImportResult()
    out: list[tuple[Sighting, str]] = []
    with transaction.atomic():
        for chunk in _chunks(objs, SIGHTING_BATCH):
            out.extend(_record_chunk(chunk, owner, result))
    return out


def record_sighting(
    obj: dict, *, sighting_of: int, where_sighted: int | None, owner, result: ImportResult
) -> Sighting:
    """Upsert one (sighting_of, where_sighted) sighting. Another id of the same pair within the
    dedup window is merged into the row: the row's count is the sum of what each id brought, its
    dates their span. The same id again replaces what that id brought (so re-importing a bundle
    changes nothing); an id posted with exactly the row's totals (an export) changes only the
    other properties."""
    return record_sightings([(obj, sighting_of, where_sighted)], owner=owner, result=result)[0][0]


def _record_chunk(
    items: list[tuple[dict, int, int | None]], owner, result: ImportResult
) -> list[tuple[Sighting, str]]:
    _lock_sighting_pairs((of, where) for _, of, where in items)
    batch = _load_rows(items, owner, result)
    out = [_decide(batch, obj, (of, where)) for obj, of, where in items]
    _write(batch)
    return out


def _load_rows(items: list[tuple[dict, int, int | None]], owner, result: ImportResult) -> _Batch:
    """The rows the items can touch, locked: those their ids name, and those of their pairs
    whose first_seen can fall in an item's window. Then the stored parts the ids name."""
    ids = {obj["id"] for obj, _, _ in items}
    pks = resolve_ids(ids)
    window = sighting_window()
    spans: dict[tuple, list] = {}  # pair -> [earliest first, latest last, has an undated item]
    for obj, of, where in items:
        first, last = _stamp(obj, "first_seen"), _stamp(obj, "last_seen")
        span = spans.setdefault((of, where), [first, last or first, first is None])
        span[0], span[1] = _earliest(span[0], first), _latest(span[1], last or first)
        span[2] = span[2] or first is None
    loaded = (
        Sighting.objects.select_for_update(of=("self",))  # the rows; nodes when updated
        .select_related("node")
        .annotate(db_parts=Exists(SightingPart.objects.filter(sighting_id=OuterRef("pk"))))
        .filter(_wanted_rows(set(pks.values()), spans, window))
        .order_by("pk")
    )
    rows = {s.pk: _Row(s, n, s.db_parts, s.db_parts) for n, s in enumerate(loaded)}
    batch = _Batch(
        owner=owner,
        result=result,
        rows=rows,
        by_id={sid: rows[pk] for sid, pk in pks.items() if pk in rows},
        by_pair={},
    )
    for row in rows.values():
        s = row.sighting
        batch.by_pair.setdefault((s.sighting_of_id, s.where_sighted_id), []).append(row)
    for chunk in _chunks(ids, 900):
        for part in SightingPart.objects.filter(stix_id__in=chunk):
            if part.sighting_id in rows:
                rows[part.sighting_id].parts[part.stix_id] = part
    return batch


def _wanted_rows(node_ids: set[int], spans: dict[tuple, list], window: timedelta) -> RawSQL:
    """The rows named by id, or of an item's pair with a first_seen in reach of its window: one
    condition written out (an ORM Q per pair costs more to build than the query to run)."""
    table, quote = Sighting._meta.db_table, connection.ops.quote_name

    def col(name: str) -> str:
        return f"{quote(table)}.{quote(name)}"

    stamp = connection.ops.adapt_datetimefield_value
    terms, params = [], []
    if node_ids:
        terms.append(f"{col('node_id')} IN ({', '.join(['%s'] * len(node_ids))})")
        params.extend(sorted(node_ids))
    for (of, where), (lo, hi, undated) in spans.items():
        term = f"{col('sighting_of_id')} = %s AND "
        params.append(of)
        if where is None:
            term += f"{col('where_sighted_id')} IS NULL"
        else:
            term += f"{col('where_sighted_id')} = %s"
            params.append(where)
        if not undated:
            first = col("first_seen")
            term += f" AND ({first} IS NULL OR ({first} >= %s AND {first} <= %s))"
            params.extend([stamp(lo - window), stamp(hi + window)])
        terms.append(f"({term})")
    return RawSQL(" OR ".join(terms) or "1 = 0", params, output_field=BooleanField())


def _in_window(sighting: Sighting, first: datetime | None, last: datetime | None) -> bool:
    if first is None or sighting.first_seen is None:
        return True
    window = sighting_window()
    return first - window <= sighting.first_seen <= (last or first) + window


def _window_row(batch: _Batch, pair: tuple, first, last) -> _Row | None:
    """The pair's row the item merges into: the latest last_seen in the window (an undated row
    first, as PostgreSQL sorts NULLs in descending order)."""
    candidates = [r for r in batch.by_pair.get(pair, []) if _in_window(r.sighting, first, last)]
    if not candidates:
        return None

    def key(row: _Row) -> tuple:
        last_seen = row.sighting.last_seen
        return (last_seen is not None, -last_seen.timestamp() if last_seen else 0.0, row.order)

    return min(candidates, key=key)


def _decide(batch: _Batch, obj: dict, pair: tuple[int, int | None]) -> tuple[Sighting, str]:
    """One item, as if alone: update the row its id names, or merge into a row of its pair in
    the window, or create a row. Changes the in-memory rows; _write stores them."""
    new: _Span = (obj.get("count", 1), _stamp(obj, "first_seen"), _stamp(obj, "last_seen"))
    row = batch.by_id.get(obj["id"])
    if row is not None:
        return _update_by_id(batch, row, obj, new)
    row = _window_row(batch, pair, new[1], new[2])
    if row is not None:
        _add_part(batch, row, obj["id"], new)
        batch.by_id[obj["id"]] = row
        batch.aliases.append((obj["id"], row))
        batch.result.updated.append(row.sighting.node.stix_id)
        return _recorded(batch, row, created=False)
    properties = {k: v for k, v in obj.items() if k != SIGHTING_PARTS}
    node = StixObject(stix_id=obj["id"], owner=batch.owner, **_columns(properties))
    sighting = Sighting(
        node=node,
        sighting_of_id=pair[0],
        where_sighted_id=pair[1],
        count=new[0],
        first_seen=new[1],
        last_seen=new[2],
        false_positive=bool(obj.get("x_opencti_negative", False)),
        observed_data_refs=list(obj.get("observed_data_refs", [])),
    )
    row = _Row(sighting, len(batch.rows) + len(batch.new_rows), False, False, created=True)
    batch.new_rows.append(row)
    batch.by_id[obj["id"]] = row
    batch.by_pair.setdefault(pair, []).append(row)
    batch.result.created.append(obj["id"])
    return _recorded(batch, row, created=True)


def _update_by_id(batch: _Batch, row: _Row, obj: dict, new: _Span) -> tuple[Sighting, str]:
    node = row.sighting.node
    own = node.stix_id == obj["id"]
    part = row.parts.get(obj["id"])
    old: _Span | None = (part.count, part.first_seen, part.last_seen) if part else None
    if old is None and own and not row.has_parts:
        old = row.totals
    replace = not (own and new == row.totals) and new != old
    properties = {k: v for k, v in obj.items() if k != SIGHTING_PARTS} if own else node.properties
    if not replace and _sighting_rest(properties) == _sighting_rest(node.properties):
        batch.result.unchanged.append(obj["id"])
        return row.sighting, UNCHANGED
    if replace and old is None:
        _add_part(batch, row, obj["id"], new)
    elif replace:
        _replace_part(batch, row, obj["id"], old, new)
    if own:
        node.properties = properties
        row.sighting.false_positive = bool(properties.get("x_opencti_negative", False))
        row.node_changed = True
    row.touched = True
    batch.result.updated.append(obj["id"])
    return _recorded(batch, row, created=False)


def _add_part(batch: _Batch, row: _Row, stix_id: str, new: _Span) -> None:
    """Another id's part: the row's count grows by it and its dates widen (no reads)."""
    s = row.sighting
    if not row.has_parts:  # the row's own id becomes a part of its own
        count, first, last = row.totals
        own = SightingPart(stix_id=s.node.stix_id, count=count, first_seen=first, last_seen=last)
        row.parts[own.stix_id] = own
        row.has_parts = True
    row.parts[stix_id] = SightingPart(
        stix_id=stix_id, count=new[0], first_seen=new[1], last_seen=new[2]
    )
    s.count += new[0]
    s.first_seen, s.last_seen = _earliest(s.first_seen, new[1]), _latest(s.last_seen, new[2])
    row.touched = True


def _replace_part(batch: _Batch, row: _Row, stix_id: str, old: _Span, new: _Span) -> None:
    """The same id with other values replaces its part. The count follows by difference; a date
    follows by min/max unless the old part held the row's bound and the new one moves inward:
    then the span is recomputed from all the row's parts (one aggregate query)."""
    s = row.sighting
    part = row.parts.get(stix_id)
    if part is None:  # the row's own id, no part rows: the row is that part
        s.count, s.first_seen, s.last_seen = new
        row.touched = True
        return
    part.count, part.first_seen, part.last_seen = new
    if part.pk is not None:
        batch.dirty_parts[part.pk] = part
    narrower_first = (
        old[1] is not None and old[1] == s.first_seen and (new[1] is None or new[1] > old[1])
    )
    narrower_last = (
        old[2] is not None and old[2] == s.last_seen and (new[2] is None or new[2] < old[2])
    )
    if narrower_first or narrower_last:
        s.count, s.first_seen, s.last_seen = _parts_span(row)
    else:
        s.count += new[0] - old[0]
        s.first_seen, s.last_seen = _earliest(s.first_seen, new[1]), _latest(s.last_seen, new[2])
    row.touched = True


def _parts_span(row: _Row) -> _Span:
    """Count, first and last of all the row's parts: the stored ones this batch does not hold
    (aggregated in the database), then those it holds (maybe changed, maybe not stored yet)."""
    count, first, last = 0, None, None
    if row.db_parts:
        stored = (
            SightingPart.objects.filter(sighting_id=row.sighting.pk)
            .exclude(stix_id__in=list(row.parts))
            .aggregate(n=Sum("count"), first=Min("first_seen"), last=Max("last_seen"))
        )
        count, first, last = stored["n"] or 0, stored["first"], stored["last"]
    for part in row.parts.values():
        count += part.count
        first, last = _earliest(first, part.first_seen), _latest(last, part.last_seen)
    return count, first, last


def _recorded(batch: _Batch, row: _Row, *, created: bool) -> tuple[Sighting, str]:
    batch.events.append((row, created, row.sighting.count))
    return row.sighting, CREATED if created else UPDATED


def _write(batch: _Batch) -> None:
    """Store what the batch decided: a fixed number of statements."""
    now = timezone.now()
    for row in [*batch.rows.values(), *batch.new_rows]:
        if row.node_changed:  # its own id came again with other properties
            node = row.sighting.node
            for key, value in _columns(node.properties).items():
                if key != "type":
                    setattr(node, key, value)
            node.last_updated = now  # bulk_update does not apply auto_now
    if batch.new_rows:
        StixObject.objects.bulk_create([row.sighting.node for row in batch.new_rows])
        for row in batch.new_rows:
            row.sighting.node_id = row.sighting.node.pk
        Sighting.objects.bulk_create([row.sighting for row in batch.new_rows])
    touched = [row for row in batch.rows.values() if row.touched]
    changed_nodes = [row.sighting.node for row in touched if row.node_changed]
    if changed_nodes:
        StixObject.objects.bulk_update(changed_nodes, [*_NODE_COLUMNS, "last_updated"])
    bumped = [row.sighting.pk for row in touched if not row.node_changed]
    if bumped:  # the count or dates of the sighting changed: so did its STIX form
        StixObject.objects.filter(pk__in=bumped).update(last_updated=now)
    if touched:
        _update_rows([row.sighting for row in touched])
    new_parts = []
    for row in [*batch.rows.values(), *batch.new_rows]:
        for part in row.parts.values():
            if part.pk is None:
                part.sighting_id = row.sighting.pk
                new_parts.append(part)
    SightingPart.objects.bulk_create(new_parts)
    if batch.dirty_parts:
        SightingPart.objects.bulk_update(
            list(batch.dirty_parts.values()), ["count", "first_seen", "last_seen"]
        )
    if batch.aliases:
        StixAlias.objects.bulk_create(
            [StixAlias(stix_id=stix_id, node_id=row.sighting.pk) for stix_id, row in batch.aliases],
            ignore_conflicts=True,
        )
    emit_many(
        EventKind.SIGHTING_RECORDED,
        [
            (
                "sighting",
                row.sighting.pk,
                {
                    "created": created,
                    "count": count,
                    "sighting_of": row.sighting.sighting_of_id,
                    "where_sighted": row.sighting.where_sighted_id,
                },
            )
            for row, created, count in batch.events
        ],
    )


def _update_rows(sightings: list[Sighting]) -> None:
    """Store the rows' count, dates and flag. On PostgreSQL one UPDATE ... FROM (VALUES ...):
    bulk_update's CASE WHEN expressions cost more to build than to run."""
    fields = ["count", "first_seen", "last_seen", "false_positive"]
    if connection.vendor != "postgresql":
        Sighting.objects.bulk_update(sightings, fields)
        return
    quote = connection.ops.quote_name
    casts = ["bigint", "integer", "timestamptz", "timestamptz", "boolean"]
    row = "(" + ", ".join(f"%s::{cast}" for cast in casts) + ")"
    params = []
    for s in sightings:
        params += [s.pk, s.count, s.first_seen, s.last_seen, s.false_positive]
    sets = ", ".join(f"{quote(f)} = v.{quote(f)}" for f in fields)
    names = ", ".join(quote(f) for f in ["pk", *fields])
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {quote(Sighting._meta.db_table)} AS t SET {sets} "
            f"FROM (VALUES {', '.join([row] * len(sightings))}) AS v({names}) "
            f"WHERE t.{quote('node_id')} = v.{quote('pk')}",
            params,
        )


_NODE_COLUMNS = [
    "subtype",
    "name",
    "value",
    "properties",
    "confidence",
    "revoked",
    "created",
    "modified",
    "marking_refs",
]


def _link_containers(container_refs: dict[str, list[str]], result: ImportResult) -> None:
    """Asserted object_refs of each imported container become exactly the listed members."""
    if not container_refs:
        return
    members = {m for refs in container_refs.values() for m in refs}
    pks = resolve_ids([*container_refs, *members])
    for container, refs in container_refs.items():
        if container not in pks:
            continue
        wanted = {pks[r] for r in refs if r in pks}
        missing = [r for r in refs if r not in pks]
        if missing:
            result.rejected.append(
                {"id": container, "reason": "object_refs not found: " + ", ".join(missing[:10])}
            )
        current = ObjectRef.objects.filter(container_id=pks[container])
        current.filter(asserted=True, inferred=False).exclude(member_id__in=wanted).delete()
        current.filter(asserted=True, inferred=True).exclude(member_id__in=wanted).update(
            asserted=False
        )
        current.filter(member_id__in=wanted, asserted=False).update(asserted=True)
        ObjectRef.objects.bulk_create(
            [ObjectRef(container_id=pks[container], member_id=m) for m in wanted],
            ignore_conflicts=True,
        )


def _link_authors(created_by: dict[str, str]) -> None:
    pks = resolve_ids([*created_by, *created_by.values()])
    by_author: dict[int, list[int]] = {}
    for obj_id, author in created_by.items():
        if obj_id in pks and author in pks:
            by_author.setdefault(pks[author], []).append(pks[obj_id])
    for author_pk, node_pks in by_author.items():
        StixObject.objects.filter(pk__in=node_pks).update(created_by_id=author_pk)


def import_objects(
    objects: Iterable[Any], *, owner=None, batch_size: int = BATCH_SIZE, progress=None
) -> ImportResult:
    result = ImportResult()
    pending = _Pending()
    generated: dict[str, list[str]] = {}  # ids whose created/modified the service filled in
    mark = graph_mark()
    for batch in _chunks(objects, batch_size):
        nodes, aliases = [], {}
        for raw in batch:
            try:
                obj, alias = normalize(raw)
            except StixInvalid as exc:
                result.reject(raw, exc.reason)
                continue
            stamped = [k for k in ("created", "modified") if k in obj and k not in raw]
            if stamped:
                generated[obj["id"]] = stamped
            if obj["type"] == RELATIONSHIP:
                pending.relationships.append(obj)
            elif obj["type"] == SIGHTING:
                pending.sightings.append(obj)
            else:
                nodes.append(obj)
                if alias:
                    aliases[alias] = obj["id"]
            if obj["type"] in CONTAINER_TYPES and "object_refs" in obj:
                pending.container_refs[obj["id"]] = list(obj["object_refs"])
            if obj.get("created_by_ref"):
                pending.created_by[obj["id"]] = obj["created_by_ref"]
        _keep_stored_stamps(nodes, generated)
        with transaction.atomic():
            _upsert_nodes(_last_version(nodes), aliases, owner, result)
        if progress:
            progress(len(batch))
    _keep_stored_stamps(pending.relationships, generated)
    _keep_stored_stamps(pending.sightings, generated)
    # relationships can point at relationships: link in rounds until nothing more resolves
    waiting = _last_version(pending.relationships)
    while waiting:
        still = []
        for chunk in _chunks(waiting, batch_size):
            with transaction.atomic():
                still.extend(_link_relationships(chunk, owner, result))
        if len(still) == len(waiting):
            break
        waiting = still
    for rel in waiting:
        result.reject(rel, "source_ref or target_ref not found")
    with transaction.atomic():
        for sighting in _link_sightings(pending.sightings, owner, result):
            result.reject(sighting, "sighting_of_ref or where_sighted_refs not found")
        _link_containers(pending.container_refs, result)
        _link_authors(pending.created_by)
        changed = list(resolve_ids(result.updated).values()) if result.updated else []
        announce(mark, changed)
    return result


def _keep_stored_stamps(objs: list[dict], generated: dict[str, list[str]]) -> None:
    """The created/modified the service filled in become those of the stored version, if there
    is one: posting the same object again without them is no change."""
    wanted = [obj for obj in objs if obj["id"] in generated]
    if not wanted:
        return
    stored: dict[str, dict] = {}
    for chunk in _chunks({obj["id"] for obj in wanted}, 900):
        stored.update(
            StixObject.objects.filter(stix_id__in=chunk).values_list("stix_id", "properties")
        )
    for obj in wanted:
        properties = stored.get(obj["id"]) or {}
        for key in generated[obj["id"]]:
            if key in properties:
                obj[key] = properties[key]


def _last_version(objs: list[dict]) -> list[dict]:
    """One object per id within a batch: the latest `modified` wins."""
    latest: dict[str, dict] = {}
    for obj in objs:
        seen = latest.get(obj["id"])
        if seen is None or (obj.get("modified") or "") >= (seen.get("modified") or ""):
            latest[obj["id"]] = obj
    return list(latest.values())


def delete_object(node: StixObject) -> None:
    node.delete()


def _only(result: ImportResult, stix_id: str) -> StixObject:
    if result.rejected:
        from cti.api.errors import V3Error

        raise V3Error("; ".join(f"{r['id'] or 'object'}: {r['reason']}" for r in result.rejected))
    pks = resolve_ids([stix_id])
    return StixObject.objects.get(pk=pks[stix_id])


def intel_object_create(*, user, data: dict) -> StixObject:
    obj, alias = _normalized_or_400(data["stix"])
    # import the posted id (an observable's random id becomes an alias of its deterministic id)
    owner = data.get("owner") or getattr(user, "owner", None)  # `?owner=`, else the writer's
    result = import_objects([{**obj, "id": alias or obj["id"]}], owner=owner)
    return _only(result, obj["id"])


def intel_object_update(*, user, instance: StixObject, data: dict) -> StixObject:
    """A partial update: the given properties replace the stored ones; id and type stay."""
    from cti.api.errors import V3Error
    from cti.intel.selectors import stix_of
    from cti.intel.validation import format_timestamp

    if not isinstance(instance, StixObject):  # a Relationship or Sighting row: its node
        instance = instance.node
    merged = {**stix_of(instance), **data["stix"], "id": instance.stix_id, "type": instance.type}
    if "modified" in merged:  # an update is a new version (an older one would be ignored)
        stamp = datetime.now(tz=UTC)
        if instance.modified and instance.modified >= stamp:
            stamp = instance.modified + timedelta(milliseconds=1)
        merged["modified"] = format_timestamp(stamp)
    obj, _ = _normalized_or_400(merged)
    if obj["id"] != instance.stix_id:
        raise V3Error(
            "The update changes the properties that make this observable's id; "
            "create a new observable instead."
        )
    if instance.type == SIGHTING:
        obj.pop("where_sighted_refs", None)
        sighting = Sighting.objects.get(pk=instance.pk)
        record_sighting(
            obj,
            sighting_of=sighting.sighting_of_id,
            where_sighted=sighting.where_sighted_id,
            owner=instance.owner,
            result=ImportResult(),
        )
        announce(graph_mark(), [instance.pk])
        return StixObject.objects.get(pk=instance.pk)
    result = import_objects([obj], owner=instance.owner)
    return _only(result, obj["id"])


def intel_object_delete(*, user, instance, data: dict) -> None:
    node = instance if isinstance(instance, StixObject) else instance.node
    StixObject.objects.filter(pk__in=_with_attached_edges({node.pk})).delete()


def _with_attached_edges(node_ids: set[int]) -> set[int]:
    """The nodes and the nodes of every relationship or sighting that would lose an end with
    them (relationships on those relationships too): a cascade removes only the edge rows and
    would leave their nodes behind, dangling."""
    found, frontier = set(node_ids), set(node_ids)
    while frontier:
        new = set(
            Relationship.objects.filter(
                Q(source_id__in=frontier) | Q(target_id__in=frontier)
            ).values_list("pk", flat=True)
        )
        new |= set(
            Sighting.objects.filter(
                Q(sighting_of_id__in=frontier) | Q(where_sighted_id__in=frontier)
            ).values_list("pk", flat=True)
        )
        frontier = new - found
        found |= new
    return found


def _normalized_or_400(raw) -> tuple[dict, str | None]:
    from cti.api.errors import V3Error

    try:
        return normalize(raw)
    except StixInvalid as exc:
        raise V3Error(f"Invalid STIX object: {exc.reason}") from None
