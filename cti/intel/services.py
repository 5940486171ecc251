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
from django.db.models import Q
from django.utils import timezone

from cti.intel.choices import (
    CONTAINER_TYPES,
    OBSERVABLE_TYPES,
    OBSERVABLE_VALUE_PROPERTY,
    RELATIONSHIP,
    SIGHTING,
    SIGHTING_PARTS,
)
from cti.intel.ids import derived_id
from cti.intel.models import ObjectRef, Relationship, Sighting, StixAlias, StixObject
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
    for obj in objs:
        node = existing.get(obj["id"])
        if node is None:
            continue
        if _newer(obj, node):
            for key, value in _columns(obj).items():
                setattr(node, key, value)
            node.asserted = True
            changed.append(node)
            result.updated.append(node.stix_id)
        else:
            result.unchanged.append(node.stix_id)
    if changed:
        StixObject.objects.bulk_update(
            changed,
            [
                "subtype",
                "name",
                "value",
                "properties",
                "confidence",
                "revoked",
                "created",
                "modified",
                "marking_refs",
                "asserted",
            ],
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
    waiting = []
    for sighting in pending:
        wheres = sighting.get("where_sighted_refs") or [None]
        if sighting["sighting_of_ref"] not in pks or any(
            w is not None and w not in pks for w in wheres
        ):
            waiting.append(sighting)
            continue
        for n, where in enumerate(wheres):
            row_id = sighting["id"] if n == 0 else derived_id(SIGHTING, sighting["id"], where)
            record_sighting(
                {**sighting, "id": row_id, "where_sighted_refs": [where] if where else []},
                sighting_of=pks[sighting["sighting_of_ref"]],
                where_sighted=pks.get(where) if where else None,
                owner=owner,
                result=result,
            )
    return waiting


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat() if value else None


def _sighting_rest(properties: dict) -> dict:
    """A sighting's properties less its count, dates and merge bookkeeping."""
    skip = ("count", "first_seen", "last_seen", SIGHTING_PARTS)
    return {k: v for k, v in properties.items() if k not in skip}


def _sighting_parts(sighting: Sighting) -> dict[str, list]:
    """What each id merged into the row brought: {stix id: [count, first_seen, last_seen]}."""
    parts = sighting.node.properties.get(SIGHTING_PARTS)
    if parts:
        return {stix_id: list(part) for stix_id, part in parts.items()}
    own = [sighting.count, _iso(sighting.first_seen), _iso(sighting.last_seen)]
    return {sighting.node.stix_id: own}


def _save_sighting(sighting: Sighting, parts: dict[str, list], properties: dict) -> None:
    """The row's count is the sum of its parts and its dates their span."""
    sighting.count = sum(part[0] for part in parts.values())
    firsts = [parse_timestamp(part[1], "first_seen") for part in parts.values() if part[1]]
    lasts = [parse_timestamp(part[2], "last_seen") for part in parts.values() if part[2]]
    sighting.first_seen, sighting.last_seen = min(firsts, default=None), max(lasts, default=None)
    properties = {k: v for k, v in properties.items() if k != SIGHTING_PARTS}
    if len(parts) > 1:  # kept with the node, never exported (selectors.sighting_stix drops it)
        properties[SIGHTING_PARTS] = parts
    sighting.false_positive = bool(properties.get("x_opencti_negative", False))
    sighting.save(update_fields=["count", "first_seen", "last_seen", "false_positive"])
    columns = {k: v for k, v in _columns(properties).items() if k != "type"}
    StixObject.objects.filter(pk=sighting.pk).update(**columns, last_updated=timezone.now())
    sighting.node.properties = properties


def _lock_sighting_pair(sighting_of: int, where_sighted: int | None) -> None:
    """On PostgreSQL, writers of one (sighting_of, where_sighted) pair take turns until their
    transaction ends, so that two concurrent imports merge instead of both adding a row."""
    if connection.vendor != "postgresql" or connection.get_autocommit():
        return
    key = zlib.crc32(f"{sighting_of}:{where_sighted}".encode()) - 2**31
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [SIGHTING_LOCK_CLASS, key])


def record_sighting(
    obj: dict, *, sighting_of: int, where_sighted: int | None, owner, result: ImportResult
) -> Sighting:
    """Upsert one (sighting_of, where_sighted) sighting. Another id of the same pair within the
    dedup window is merged into the row: the row's count is the sum of what each id brought, its
    dates their span. The same id again replaces what that id brought (so re-importing a bundle
    changes nothing); an id posted with exactly the row's totals (an export) changes only the
    other properties."""
    count = obj.get("count", 1)
    first_seen, last_seen = _stamp(obj, "first_seen"), _stamp(obj, "last_seen")
    part = [count, _iso(first_seen), _iso(last_seen)]
    _lock_sighting_pair(sighting_of, where_sighted)
    pks = resolve_ids([obj["id"]])
    if obj["id"] in pks:
        sighting = (
            Sighting.objects.select_for_update()
            .select_related("node")
            .filter(node_id=pks[obj["id"]])
            .first()
        )
        if sighting is not None:
            node = sighting.node
            own = node.stix_id == obj["id"]
            before = _sighting_parts(sighting)
            parts = {k: list(v) for k, v in before.items()}
            totals = (sighting.count, sighting.first_seen, sighting.last_seen)
            if not (own and (count, first_seen, last_seen) == totals):
                parts[obj["id"]] = part
            properties = obj if own else node.properties
            if parts == before and _sighting_rest(properties) == _sighting_rest(node.properties):
                result.unchanged.append(obj["id"])
                return sighting
            _save_sighting(sighting, parts, properties)
            result.updated.append(obj["id"])
            return sighting
    window = sighting_window()
    near = (
        Sighting.objects.select_for_update()
        .select_related("node")
        .filter(sighting_of_id=sighting_of, where_sighted_id=where_sighted)
    )
    if first_seen:
        near = near.filter(
            Q(
                first_seen__gte=first_seen - window,
                first_seen__lte=(last_seen or first_seen) + window,
            )
            | Q(first_seen__isnull=True)
        )
    existing = near.order_by("-last_seen").first()
    if existing is not None:
        parts = _sighting_parts(existing)
        parts[obj["id"]] = part
        _save_sighting(existing, parts, existing.node.properties)
        StixAlias.objects.get_or_create(stix_id=obj["id"], defaults={"node_id": existing.pk})
        result.updated.append(existing.node.stix_id)
        return existing
    node = StixObject.objects.create(stix_id=obj["id"], owner=owner, **_columns(obj))
    result.created.append(obj["id"])
    return Sighting.objects.create(
        node=node,
        sighting_of_id=sighting_of,
        where_sighted_id=where_sighted,
        count=count,
        first_seen=first_seen,
        last_seen=last_seen,
        false_positive=bool(obj.get("x_opencti_negative", False)),
        observed_data_refs=list(obj.get("observed_data_refs", [])),
    )


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
    result = import_objects([{**obj, "id": alias or obj["id"]}], owner=getattr(user, "owner", None))
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
