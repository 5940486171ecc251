"""Rule manager: activation, deactivation and live processing of graph changes."""

import functools

from django.db import connection, transaction
from django.utils import timezone

from cti.events.choices import EventKind
from cti.events.services import emit_many
from cti.intel.models import Explanation, StixObject
from cti.transactions import on_commit_enqueue
from rules.definitions import RULES, RULES_BY_ID
from rules.engine import (
    Watermark,
    attribute_changes,
    engine_writes,
    evaluate,
    rederive,
    refresh_attributes,
    retract,
)
from rules.models import GraphChange, RuleState, RuleStatus

MAX_ATTEMPTS = 3
ENGINE_LOCK = 0x52554C45  # PostgreSQL advisory lock held while the engine evaluates


def _serialised(func):
    """One evaluation at a time across workers: two at once insert the same explanations (on
    PostgreSQL a unique violation then aborts one of them) and would drain the same outbox
    rows twice. A session-level advisory lock, released by PostgreSQL if the worker dies;
    SQLite serialises its writers itself (and the engine ignores conflicts there)."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        if connection.vendor != "postgresql":
            return func(*args, **kwargs)
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s)", [ENGINE_LOCK])
        try:
            return func(*args, **kwargs)
        finally:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [ENGINE_LOCK])

    return wrapper


def rule_states() -> dict[str, RuleState]:
    existing = {s.rule_id: s for s in RuleState.objects.all()}
    missing = [RuleState(rule_id=r.id) for r in RULES if r.id not in existing]
    if missing:
        RuleState.objects.bulk_create(missing, ignore_conflicts=True)
        existing = {s.rule_id: s for s in RuleState.objects.all()}
    return existing


def active_rules() -> list:
    active = set(RuleState.objects.filter(active=True).values_list("rule_id", flat=True))
    return [r for r in RULES if r.id in active]


@transaction.atomic
def rule_set_active(rule_id: str, active: bool) -> RuleState:
    """Flip the flag and enqueue the background work (on commit)."""
    from rules.tasks import activate_rule, deactivate_rule

    rule_states()
    state = RuleState.objects.select_for_update().get(rule_id=rule_id)
    if state.active == active and state.status not in (RuleStatus.FAILED,):
        return state
    state.active = active
    state.status = RuleStatus.ACTIVATING if active else RuleStatus.DEACTIVATING
    state.processed, state.total, state.errors = 0, 0, []
    state.started, state.finished = timezone.now(), None
    state.save()
    task = activate_rule if active else deactivate_rule
    on_commit_enqueue(lambda: task.delay(rule_id))
    return state


def _progress(rule_id: str):
    def tick(rows: int) -> None:
        RuleState.objects.filter(rule_id=rule_id).update(processed=_F("processed") + rows)

    return tick


def _F(name):
    from django.db.models import F

    return F(name)


@_serialised
def run_activation(rule_id: str) -> int:
    """Materialise the rule's consequences over all data (idempotent: a rerun after a crash
    ends in the same state).

    Only the active rules not materialised yet (this one, others queued behind it, or one whose
    activation died) are evaluated over all data; the rules already active then run
    semi-naively over what that added, to the fixpoint. Every rule so evaluated is active when
    this returns, so activating all rules costs one evaluation, not one per rule. Progress:
    rows of the first round's joins processed out of their count. A failure is recorded
    (status failed, the error in errors) and re-raised; PUT active=true again retries."""
    try:
        rules = active_rules()
        done = set(
            RuleState.objects.filter(status=RuleStatus.ACTIVE).values_list("rule_id", flat=True)
        )
        unfinished = [r for r in rules if r.id not in done]
        RuleState.objects.filter(rule_id=rule_id).update(
            total=_first_round_rows(unfinished), processed=0
        )
        mark = Watermark.now()
        with engine_writes():
            added = evaluate(unfinished, None, _progress(rule_id))
            added += evaluate(rules, mark)
        announce_inferences(mark.node, every_type=False)
    except Exception as exc:
        RuleState.objects.filter(rule_id=rule_id).update(
            status=RuleStatus.FAILED, finished=timezone.now(), errors=[repr(exc)[:2000]]
        )
        raise
    now = timezone.now()
    for rule in unfinished:
        RuleState.objects.filter(
            rule_id=rule.id,
            active=True,
            status__in=(RuleStatus.ACTIVATING, RuleStatus.FAILED),
        ).update(status=RuleStatus.ACTIVE, finished=now, inferred=_count(rule.id))
    RuleState.objects.filter(rule_id=rule_id, active=True).update(
        status=RuleStatus.ACTIVE, finished=now, inferred=_count(rule_id)
    )
    return added


def _first_round_rows(rules) -> int:
    """How many rows the rules' joins return over all data (the first round's work)."""
    from rules.compiler import compile_rule

    total = 0
    with connection.cursor() as cursor:
        for rule in rules:
            compiled = compile_rule(rule)
            cursor.execute(f"SELECT COUNT(*) FROM ({compiled.sql}) AS q", compiled.params)
            total += cursor.fetchone()[0]
    return total


@_serialised
def run_deactivation(rule_id: str) -> None:
    """Remove everything the rule created and only that: facts still supported by another
    rule stay; facts derived from the removed ones are re-derived or go. A no-op when the rule
    is not being deactivated (a duplicate or stale task: done already, or re-activated)."""
    if not RuleState.objects.filter(
        rule_id=rule_id, active=False, status=RuleStatus.DEACTIVATING
    ).exists():
        return
    with engine_writes(), transaction.atomic():
        retract(set(), set(), rule_id=rule_id)
    with engine_writes():
        evaluate(active_rules(), None)
    RuleState.objects.filter(rule_id=rule_id, active=False).update(
        status=RuleStatus.INACTIVE, finished=timezone.now(), inferred=0
    )


def _count(rule_id: str) -> int:
    from cti.intel.models import Explanation

    return Explanation.objects.filter(rule=rule_id).count()


@_serialised
def process_graph_changes(limit: int = 500) -> int:
    """Apply pending graph changes: retract what removals and changes undermine, then
    evaluate the active rules over the new facts (and re-derive after a retraction). A
    sighting whose count or dates changed is no retraction: what reads those is refreshed
    (`refresh_attributes`)."""
    changes = list(GraphChange.objects.filter(parked=False).order_by("pk")[:limit])
    if not changes:
        return 0
    rules = active_rules()
    try:
        removed = [c for c in changes if c.kind == GraphChange.Kind.REMOVED]
        changed = {n for c in changes if c.kind == GraphChange.Kind.CHANGED for n in c.nodes}
        attributes = attribute_changes(rules, changed)
        if attributes:  # a sighting's count or dates: refreshed, not retracted and re-derived
            with engine_writes(), transaction.atomic():
                changed = (changed - attributes) | refresh_attributes(attributes)
        removed_nodes = changed | {n for c in removed for n in c.nodes}
        deleted_nodes = any(c.nodes for c in removed)
        removed_refs = {r for c in changes if c.kind != GraphChange.Kind.ADDED for r in c.refs}
        marks = [c for c in changes if c.kind == GraphChange.Kind.ADDED]
        since = (
            Watermark(min(c.node_mark for c in marks), min(c.ref_mark for c in marks))
            if marks
            else None
        )
        before = Watermark.now()
        with engine_writes():
            if removed_nodes or removed_refs:
                with transaction.atomic():
                    ends = retract(removed_nodes, removed_refs, vanished=deleted_nodes)
                rederive(
                    rules,
                    ends,
                    changed,
                    deleted_nodes=deleted_nodes,
                    deleted_refs=any(c.refs for c in removed),
                    since=since,
                )
            elif since is not None:
                evaluate(rules, since)
        announce_inferences(before.node, every_type=True)
    except Exception as exc:  # retried, then parked where admins see it; never skipped
        for change in changes:
            change.attempts += 1
            change.error = repr(exc)[:2000]
            change.parked = change.attempts >= MAX_ATTEMPTS
        GraphChange.objects.bulk_update(changes, ["attempts", "error", "parked"])
        raise
    GraphChange.objects.filter(pk__in=[c.pk for c in changes]).delete()
    return len(changes)


def announce_inferences(mark: int, *, every_type: bool) -> None:
    """Events for the objects the rules created above `mark`: incident.created for incidents
    and, for live inference only (bulk activation may create millions), object.inferred for
    every new inferred object, with the rules that created it."""
    new = list(
        StixObject.objects.filter(pk__gt=mark, inferred=True, asserted=False).values_list(
            "pk", "type"
        )
    )
    if not every_type:
        new = [(pk, kind) for pk, kind in new if kind == "incident"]
    if not new:
        return
    rules: dict[int, set[str]] = {}
    for node, rule in Explanation.objects.filter(node_id__in=[pk for pk, _ in new]).values_list(
        "node_id", "rule"
    ):
        rules.setdefault(node, set()).add(rule)
    with transaction.atomic():
        emit_many(
            EventKind.INCIDENT_CREATED,
            [
                ("incident", pk, {"rules": sorted(rules.get(pk, ()))})
                for pk, k in new
                if k == "incident"
            ],
        )
        if every_type:
            emit_many(
                EventKind.OBJECT_INFERRED,
                [(kind, pk, {"rules": sorted(rules.get(pk, ()))}) for pk, kind in new],
            )


def rule_definition(rule_id: str):
    return RULES_BY_ID.get(rule_id)
