"""Sightings from SIEM alerts and the /v3/sightings API.

A request is one transaction: its Idempotency-Key row (a concurrent retry waits on the unique
index, then gets the stored response), the graph writes and any dead letter commit together.
Items are recorded in one batch (a few queries for the whole request, then one record_sightings
call for all its sightings, which takes the pair locks in one statement in key order, so
concurrent batches cannot deadlock); if the batch fails, it is redone item by item so that one
bad item does not lose the others, and a failing item is kept as a dead letter."""

import hashlib
import json
import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from cti.api.errors import ErrCode, error_body
from cti.ingest.choices import API_SOURCE, SYSTEM_IDENTITY_CLASS, DeadLetterStatus, ItemStatus
from cti.ingest.models import DeadLetter, IdempotencyRecord, WebhookSource
from cti.ingest.parsers import PARSERS, Item, PayloadError
from cti.ingest.parsers.generic import simple_items
from cti.ingest.parsers.simple import parse_simple
from cti.intel.choices import SIGHTING
from cti.intel.ids import derived_id
from cti.intel.models import Relationship, StixObject
from cti.intel.services import import_objects, record_sightings, resolve_ids
from cti.intel.signals import announce, graph_mark
from cti.intel.validation import StixInvalid, format_timestamp, normalize
from cti.pruning import delete_in_batches

log = logging.getLogger(__name__)

SECRET_HEADERS = {
    "authorization",
    "cookie",
    "proxy-authorization",
    "x-api-key",
    "webhook-signature",
}


@dataclass
class Context:
    """Who posts: a webhook source, or a user of /v3/sightings."""

    endpoint: str
    source: WebhookSource | None = None
    actor: Any = None
    owner: Any = None

    @property
    def source_key(self) -> str:
        return f"webhook:{self.source.slug}" if self.source else API_SOURCE


@dataclass
class Outcome:
    status: int
    body: dict
    replayed: bool = False
    dead_letter: int | None = None


@dataclass
class _Sighting:
    item: Item
    target_pk: int
    target_id: str
    system_pk: int
    system_id: str
    stix_id: str = ""


@dataclass
class _Resolved:
    systems: dict[int, tuple[int, str]] = field(default_factory=dict)  # item index -> node
    targets: dict[int, list[tuple[int, str]]] = field(default_factory=dict)


# --- systems -------------------------------------------------------------------------------


def system_identity(name: str) -> dict:
    return {
        "type": "identity",
        "id": derived_id("identity", "system", name.strip().lower()),
        "name": name.strip(),
        "identity_class": SYSTEM_IDENTITY_CLASS,
    }


def ensure_systems(names: set[str], owner=None) -> dict[str, tuple[int, str]]:
    """The identity node (pk, stix id) of each system name, created when missing."""
    wanted = {name: system_identity(name) for name in names}
    found = resolve_ids(obj["id"] for obj in wanted.values())
    missing = sorted((o for o in wanted.values() if o["id"] not in found), key=lambda o: o["id"])
    if missing:
        import_objects(missing, owner=owner)
        found = resolve_ids(obj["id"] for obj in wanted.values())
    return {
        name: (found[obj["id"]], obj["id"]) for name, obj in wanted.items() if obj["id"] in found
    }


def ensure_source_system(source: WebhookSource) -> WebhookSource:
    """Point the source at its System identity (created if missing)."""
    pk, _ = ensure_systems({source.system_name}, source.owner)[source.system_name]
    if source.system_id != pk:
        source.system_id = pk
        WebhookSource.objects.filter(pk=source.pk).update(system_id=pk)
    return source


# --- recording -----------------------------------------------------------------------------


def _rejected(item: Item, error: str) -> dict:
    return {"index": item.index, "status": ItemStatus.REJECTED, "sightings": [], "error": error}


def _resolve_systems(items: list[Item], ctx: Context, errors: dict[int, str]) -> dict:
    by_item: dict[int, tuple[int, str]] = {}
    names = {i.system for i in items if i.system and not i.system.startswith("identity--")}
    ids = {i.system for i in items if i.system and i.system.startswith("identity--")}
    named = ensure_systems(names, ctx.owner) if names else {}
    found = resolve_ids(ids) if ids else {}
    default = None
    if ctx.source is not None:
        if ctx.source.system_id is None:
            ensure_source_system(ctx.source)
        default = (ctx.source.system_id, ctx.source.system.stix_id)
    for item in items:
        if item.system is None:
            if default is None:
                errors[item.index] = "system is required (a system name or an identity id)"
            else:
                by_item[item.index] = default
        elif item.system in named:
            by_item[item.index] = named[item.system]
        elif item.system in found:
            by_item[item.index] = (found[item.system], item.system)
        else:
            errors[item.index] = f"system identity {item.system!r} not found"
    return by_item


def _resolve_observables(items: list[Item], ctx: Context, errors: dict[int, str]) -> dict:
    """Item index -> (pk, stix id) of its observable, created when new (deterministic id)."""
    objs: dict[int, dict] = {}
    for item in items:
        if item.observable is None or item.index in errors:
            continue
        try:
            objs[item.index], _ = normalize(item.observable)
        except StixInvalid as exc:
            errors[item.index] = exc.reason
    ids = {obj["id"] for obj in objs.values()}
    found = resolve_ids(ids) if ids else {}
    missing = {obj["id"]: obj for obj in objs.values() if obj["id"] not in found}
    if missing:
        import_objects([missing[k] for k in sorted(missing)], owner=ctx.owner)
        found.update(resolve_ids(missing))
    return {n: (found[obj["id"]], obj["id"]) for n, obj in objs.items() if obj["id"] in found}


def _targets(items: list[Item], ctx: Context, errors: dict[int, str]) -> _Resolved:
    resolved = _Resolved(systems=_resolve_systems(items, ctx, errors))
    observables = _resolve_observables(items, ctx, errors)
    direct = {i.indicator_id for i in items if i.indicator_id and i.index not in errors}
    indicators = {}
    if direct:
        pks = resolve_ids(direct)
        types = dict(StixObject.objects.filter(pk__in=pks.values()).values_list("pk", "type"))
        indicators = {sid: pk for sid, pk in pks.items() if types.get(pk) == "indicator"}
    based_on: dict[int, list[tuple[int, str]]] = {}
    if observables:
        rows = Relationship.objects.filter(
            relationship_type="based-on",
            target_id__in={pk for pk, _ in observables.values()},
            source__type="indicator",
        ).values_list("target_id", "source_id", "source__stix_id")
        for target, source, source_id in rows:
            based_on.setdefault(target, []).append((source, source_id))
    for item in items:
        if item.index in errors:
            continue
        if item.indicator_id:
            if item.indicator_id not in indicators:
                errors[item.index] = f"indicator {item.indicator_id} not found"
                continue
            resolved.targets[item.index] = [(indicators[item.indicator_id], item.indicator_id)]
        elif item.index in observables:
            pk, stix_id = observables[item.index]
            resolved.targets[item.index] = [*sorted(based_on.get(pk, [])), (pk, stix_id)]
    return resolved


def _sighting_obj(s: _Sighting, ctx: Context) -> dict:
    item = s.item
    first, last = format_timestamp(item.first_seen), format_timestamp(item.last_seen)
    obj = {
        "type": SIGHTING,
        "spec_version": "2.1",
        "id": s.stix_id,
        "created": first,
        "modified": first,
        "sighting_of_ref": s.target_id,
        "where_sighted_refs": [s.system_id],
        "count": item.count,
        "first_seen": first,
        "last_seen": last,
        "x_cti_source": ctx.source_key,
        "x_cti_event_id": item.event_id[:512],
    }
    if item.description:
        obj["description"] = item.description
    return obj


def record_items(items: list[Item], ctx: Context) -> list[dict]:
    """Record the sightings of parsed items (the caller holds a transaction); a result per item."""
    errors = {i.index: i.error for i in items if i.error}
    live = [i for i in items if not i.error]
    mark = graph_mark()
    resolved = _targets(live, ctx, errors)
    now = timezone.now()
    sightings: list[_Sighting] = []
    for item in live:
        if item.index in errors:
            continue
        if item.first_seen is None:
            item.first_seen = item.last_seen = now
        system_pk, system_id = resolved.systems[item.index]
        for target_pk, target_id in resolved.targets[item.index]:
            stix_id = derived_id(
                SIGHTING, "ingest", ctx.source_key, item.event_id, target_id, system_id
            )
            sightings.append(_Sighting(item, target_pk, target_id, system_pk, system_id, stix_id))
    known = resolve_ids(s.stix_id for s in sightings) if sightings else {}
    statuses: dict[int, list[str]] = {}
    rows: dict[int, list[int]] = {}
    changed: list[int] = []
    sightings.sort(key=lambda s: (s.target_pk, s.system_pk, s.stix_id))
    batch: list[_Sighting] = []
    for s in sightings:
        if s.stix_id in known and not s.item.explicit_dates:
            # a retry of an event that carries no dates of its own: the first one stands
            statuses.setdefault(s.item.index, []).append(ItemStatus.UNCHANGED)
            rows.setdefault(s.item.index, []).append(known[s.stix_id])
        else:
            batch.append(s)
    recorded = record_sightings(
        [(_sighting_obj(s, ctx), s.target_pk, s.system_pk) for s in batch], owner=ctx.owner
    )
    for s, (row, status) in zip(batch, recorded, strict=True):
        if status == ItemStatus.UPDATED:
            changed.append(row.pk)
        statuses.setdefault(s.item.index, []).append(status)
        rows.setdefault(s.item.index, []).append(row.pk)
    # observables and systems created above announced themselves (import_objects): when no
    # sighting row was created either, only the merged rows' changes are news
    created = any(status == ItemStatus.CREATED for _, status in recorded)
    announce(mark if created else None, changed)
    row_ids = dict(
        StixObject.objects.filter(pk__in={pk for pks in rows.values() for pk in pks}).values_list(
            "pk", "stix_id"
        )
    )
    results = []
    for item in items:
        if item.index in errors:
            results.append(_rejected(item, errors[item.index]))
            continue
        seen = statuses.get(item.index, [])
        status = next(
            (s for s in (ItemStatus.CREATED, ItemStatus.UPDATED) if s in seen),
            ItemStatus.UNCHANGED,
        )
        ids = list(dict.fromkeys(row_ids[pk] for pk in rows.get(item.index, [])))
        results.append({"index": item.index, "status": status, "sightings": ids, "error": None})
    return results


def record_safely(items: list[Item], ctx: Context) -> tuple[list[dict], list[str]]:
    """record_items in a savepoint; if it fails, item by item. Also the failures' texts."""
    try:
        with transaction.atomic():
            return record_items(items, ctx), []
    except Exception:
        log.exception("batch of %d items failed; recording them one by one", len(items))
    results, failures = [], []
    for item in items:
        try:
            with transaction.atomic():
                results.extend(record_items([item], ctx))
        except Exception as exc:
            log.exception("item %d failed after acceptance", item.index)
            failures.append(f"item {item.index}: {type(exc).__name__}: {exc}")
            results.append(_rejected(item, f"internal error, kept as a dead letter: {exc}"))
    return results, failures


# --- STIX forms ----------------------------------------------------------------------------


def _stix_results(objects: list[tuple[int, Any]], ctx: Context) -> list[dict]:
    """Import STIX objects (sightings and whatever a bundle carries); a result per object."""
    result = import_objects([raw for _, raw in objects], owner=ctx.owner)
    rejected = {r["id"]: r["reason"] for r in result.rejected if r["id"]}
    anonymous = [r["reason"] for r in result.rejected if not r["id"]]
    created, unchanged = set(result.created), set(result.unchanged)
    out = []
    for index, raw in objects:
        stix_id = raw.get("id") if isinstance(raw, dict) else None
        try:
            stix_id = normalize(raw)[0]["id"]
        except StixInvalid as exc:
            out.append({"index": index, "status": ItemStatus.REJECTED, "sightings": [],
                        "id": stix_id, "error": exc.reason})  # fmt: skip
            continue
        if stix_id in rejected or (stix_id is None and anonymous):
            error = rejected.get(stix_id) or anonymous[0]
            out.append({"index": index, "status": ItemStatus.REJECTED, "sightings": [],
                        "id": stix_id, "error": error})  # fmt: skip
            continue
        status = (
            ItemStatus.CREATED
            if stix_id in created
            else ItemStatus.UNCHANGED
            if stix_id in unchanged
            else ItemStatus.UPDATED
        )
        is_sighting = isinstance(raw, dict) and raw.get("type") == SIGHTING
        out.append(
            {
                "index": index,
                "status": status,
                "sightings": [stix_id] if is_sighting else [],
                "id": stix_id,
                "error": None,
            }
        )
    return out


# --- requests ------------------------------------------------------------------------------


def kept_headers(headers) -> dict:
    return {k: v for k, v in headers.items() if k.lower() not in SECRET_HEADERS}


def _dead_letter(ctx: Context, body: bytes, headers: dict, error: str, status: int) -> DeadLetter:
    return DeadLetter.objects.create(
        source=ctx.source,
        endpoint=ctx.endpoint,
        actor=ctx.actor if getattr(ctx.actor, "pk", None) else None,
        headers=headers,
        body=body.decode("utf-8", errors="replace"),
        error=error[:10000],
        http_status=status,
    )


def _parse(ctx: Context, data: Any) -> tuple[list[Item], list[tuple[int, Any]]]:
    """Simple items and STIX objects of a body."""
    if ctx.source is not None:
        return PARSERS[ctx.source.kind](data, ctx.source.field_map or {}), []
    if isinstance(data, dict) and data.get("type") == "bundle":
        objects = data.get("objects")
        if not isinstance(objects, list) or not objects:
            raise PayloadError("the bundle has no objects")
        return [], list(enumerate(objects))
    raws = simple_items(data)
    if not raws:
        raise PayloadError("no items")
    items, stix = [], []
    for n, raw in enumerate(raws):
        if isinstance(raw, dict) and raw.get("type") == SIGHTING:
            stix.append((n, raw))
        else:
            items.append(parse_simple(n, raw))
    return items, stix


def _process(ctx: Context, body: bytes, headers: dict) -> Outcome:
    try:
        try:
            data = json.loads(body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise PayloadError(f"the body is not valid JSON: {exc}") from None
        items, stix = _parse(ctx, data)
    except PayloadError as exc:
        message = f"Malformed payload: {exc}"
        letter = _dead_letter(ctx, body, headers, message, 400)
        body_out = error_body(message, ErrCode.IMPROPER_FORMAT) | {"deadLetter": letter.pk}
        return Outcome(400, body_out, dead_letter=letter.pk)
    results, failures = record_safely(items, ctx) if items else ([], [])
    if stix:
        results += _stix_results(stix, ctx)
    results.sort(key=lambda r: r["index"])
    rejected = [r for r in results if r["status"] == ItemStatus.REJECTED]
    letter = None
    if rejected:
        error = "; ".join(failures + [f"item {r['index']}: {r['error']}" for r in rejected])
        status = 400 if len(rejected) == len(results) else 200
        letter = _dead_letter(ctx, body, headers, error, 500 if failures else status)
    if rejected and len(rejected) == len(results):
        message = "No item accepted: " + "; ".join(
            f"item {r['index']}: {r['error']}" for r in rejected[:20]
        )
        out = error_body(message, ErrCode.BAD_REQUEST) | {"data": results, "deadLetter": letter.pk}
        return Outcome(400, out, dead_letter=letter.pk)
    counts = {s: sum(r["status"] == s for r in results) for s in ItemStatus}
    out: dict = {"data": results, "count": len(results), "summary": counts}
    if letter:
        out["deadLetter"] = letter.pk
    out["status"] = "Success"
    return Outcome(200, out, dead_letter=letter.pk if letter else None)


def _stored(record: IdempotencyRecord, request_hash: str) -> Outcome:
    if record.request_hash != request_hash:
        message = "This Idempotency-Key was already used with another payload."
        return Outcome(409, error_body(message, ErrCode.CONFLICT))
    return Outcome(record.status_code, record.response, replayed=True)


def ingest(
    ctx: Context, body: bytes, headers: dict, idempotency: tuple[str, str] | None = None
) -> Outcome:
    """Everything one request does, in one transaction; never raises."""
    request_hash = hashlib.sha256(body).hexdigest()
    if idempotency:
        scope, key = idempotency
        stored = IdempotencyRecord.objects.filter(scope=scope, key=key).first()
        if stored is not None:
            return _stored(stored, request_hash)
    try:
        with transaction.atomic():
            record = None
            if idempotency:
                try:
                    with transaction.atomic():
                        record = IdempotencyRecord.objects.create(
                            scope=scope, key=key, request_hash=request_hash, status_code=0
                        )
                except IntegrityError:  # a concurrent request with the key committed first
                    return _stored(
                        IdempotencyRecord.objects.get(scope=scope, key=key), request_hash
                    )
            outcome = _process(ctx, body, headers)
            if record is not None:
                record.status_code, record.response = outcome.status, outcome.body
                record.save(update_fields=["status_code", "response"])
            return outcome
    except Exception as exc:
        log.exception("ingest request failed")
        try:
            letter = _dead_letter(ctx, body, headers, f"{type(exc).__name__}: {exc}", 500)
        except Exception:
            log.exception("could not keep the payload as a dead letter")
            return Outcome(500, error_body("Internal error.", ErrCode.INTERNAL_ERROR))
        message = f"Internal error; the payload is kept as dead letter {letter.pk}."
        return Outcome(503, error_body(message, ErrCode.INTERNAL_ERROR), dead_letter=letter.pk)


def replay(letter: DeadLetter, *, body: str | None = None) -> Outcome:
    """Process a dead letter's payload again (edited first, if a body is given). Sightings have
    deterministic ids, so what was recorded the first time is not counted again."""
    if body is not None:
        letter.body = body
    ctx = Context(
        endpoint=letter.endpoint,
        source=letter.source,
        actor=letter.actor,
        owner=letter.source.owner if letter.source else getattr(letter.actor, "owner", None),
    )
    if letter.source is None and letter.endpoint.startswith("webhook"):
        outcome = Outcome(400, error_body("The webhook source was deleted.", ErrCode.BAD_REQUEST))
    elif letter.source is not None and not letter.source.enabled:
        outcome = Outcome(400, error_body("The webhook source is disabled.", ErrCode.BAD_REQUEST))
    else:
        outcome = _replay_process(ctx, letter)
    letter.attempts += 1
    letter.replayed = timezone.now()
    letter.last_result = {"status": outcome.status, "body": outcome.body}
    ok = outcome.status < 300 and not outcome.dead_letter
    letter.status = DeadLetterStatus.REPLAYED if ok else DeadLetterStatus.FAILED
    letter.save()
    return outcome


def _replay_process(ctx: Context, letter: DeadLetter) -> Outcome:
    with transaction.atomic():
        outcome = _process(ctx, letter.body.encode(), letter.headers)
        if outcome.dead_letter:  # the replay's failure is this letter's, not a new letter
            DeadLetter.objects.filter(pk=outcome.dead_letter).delete()
            outcome.body["deadLetter"] = letter.pk
            letter.error = (
                outcome.body.get("message", "")
                if outcome.status >= 400
                else _errors_of(outcome.body)
            )
    return outcome


def _errors_of(body: dict) -> str:
    return "; ".join(
        f"item {r['index']}: {r['error']}" for r in body.get("data", []) if r.get("error")
    )


def prune_idempotency(before: datetime) -> int:
    """Forget the Idempotency-Keys first used before `before`: a retry after that is a new
    request."""
    return delete_in_batches(IdempotencyRecord.objects.filter(created__lt=before))
