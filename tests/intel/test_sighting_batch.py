"""record_sightings: a batch is recorded exactly as its items one after the other would be
(rows, parts, aliases, statuses, events), in a number of queries that does not grow with the
batch; merge bookkeeping lives in SightingPart rows, moved out of the node's properties by the
0005 migration (and back)."""

import importlib
from datetime import UTC, datetime, timedelta

import pytest
from django.apps import apps
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cti.events.choices import EventKind
from cti.events.models import Event
from cti.intel.choices import SIGHTING_PARTS
from cti.intel.models import Sighting, SightingPart, StixAlias, StixObject
from cti.intel.selectors import sighting_stix
from cti.intel.services import ImportResult, record_sighting, record_sightings
from cti.intel.validation import format_timestamp
from tests.intel.stixdata import sid

pytestmark = pytest.mark.django_db

DAY0 = datetime(2024, 1, 1, tzinfo=UTC)


class Rollback(Exception):
    pass


def make_nodes() -> list[tuple[int, int | None]]:
    """Three pairs: two indicators, sighted in one system or nowhere."""
    nodes = [
        StixObject.objects.create(stix_id=sid("indicator", n), type="indicator").pk for n in (1, 2)
    ]
    system = StixObject.objects.create(stix_id=sid("identity", 1), type="identity").pk
    return [(nodes[0], system), (nodes[0], None), (nodes[1], system)]


def sighting_obj(n: int, count: int = 1, day: int | None = 0, span: int = 0, **extra) -> dict:
    obj = {"type": "sighting", "spec_version": "2.1", "id": sid("sighting", n), "count": count}
    if day is not None:
        obj["first_seen"] = format_timestamp(DAY0 + timedelta(days=day))
        obj["last_seen"] = format_timestamp(DAY0 + timedelta(days=day + span))
    return {**obj, **extra}


def state(after_event: int) -> dict:
    """Everything the sighting writes leave behind, by STIX id (node pks differ per run)."""
    stix = dict(StixObject.objects.values_list("pk", "stix_id"))
    return {
        "rows": sorted(
            (
                stix[s.pk],
                s.sighting_of_id,
                s.where_sighted_id,
                s.count,
                s.first_seen,
                s.last_seen,
                s.false_positive,
                sorted(s.node.properties.items()),
            )
            for s in Sighting.objects.select_related("node")
        ),
        "parts": sorted(
            (stix[p.sighting_id], p.stix_id, p.count, p.first_seen, p.last_seen)
            for p in SightingPart.objects.all()
        ),
        "aliases": sorted(StixAlias.objects.values_list("stix_id", "node__stix_id")),
        "events": [
            (e.kind, stix[e.object_id], sorted(e.data.items()))
            for e in Event.objects.filter(pk__gt=after_event).order_by("pk")
        ],
    }


def assert_parts_add_up() -> None:
    for row in Sighting.objects.prefetch_related("parts"):
        parts = list(row.parts.all())
        if not parts:
            continue
        assert row.count == sum(p.count for p in parts)
        firsts = [p.first_seen for p in parts if p.first_seen]
        lasts = [p.last_seen for p in parts if p.last_seen]
        assert (row.first_seen, row.last_seen) == (
            min(firsts, default=None),
            max(lasts, default=None),
        )


# --- batch == one after the other -----------------------------------------------------------

post = st.tuples(
    st.just("post"),
    st.integers(0, 7),  # id (each id belongs to one pair)
    st.integers(1, 4),  # count
    st.one_of(st.none(), st.integers(0, 100)),  # first_seen day (none: undated)
    st.integers(0, 12),  # span in days
    st.sampled_from([None, "a", "b"]),  # description
    st.booleans(),  # false positive
)
export = st.tuples(st.just("export"), st.integers(0, 20), st.sampled_from([None, "triaged"]))
ops = st.lists(st.one_of(post, post, export), min_size=1, max_size=24)


def concrete(op: tuple, pairs: list) -> tuple[dict, int, int | None] | None:
    """The object an op posts, given the graph as it is now (an export reads a row)."""
    if op[0] == "post":
        _, n, count, day, span, description, negative = op
        extra = {"description": description} if description else {}
        if negative:
            extra["x_opencti_negative"] = True
        return sighting_obj(n, count, day, span, **extra), *pairs[n % len(pairs)]
    rows = list(Sighting.objects.select_related("node", "where_sighted").order_by("pk"))
    if not rows:
        return None
    row = rows[op[1] % len(rows)]
    obj = sighting_stix(row.node)
    if op[2]:
        obj["description"] = op[2]
    return obj, row.sighting_of_id, row.where_sighted_id


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(script=ops)
def test_a_batch_equals_its_items_one_after_the_other(script):
    with transaction.atomic():
        pairs = make_nodes()
        mark = Event.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        items, one_by_one = [], ImportResult()
        statuses = []
        try:
            with transaction.atomic():
                for op in script:
                    item = concrete(op, pairs)
                    if item is None:
                        continue
                    items.append(item)
                    before = len(one_by_one.created), len(one_by_one.updated)
                    row = record_sighting(
                        item[0], sighting_of=item[1], where_sighted=item[2], owner=None,
                        result=one_by_one,
                    )  # fmt: skip
                    status = (
                        "created"
                        if len(one_by_one.created) > before[0]
                        else "updated"
                        if len(one_by_one.updated) > before[1]
                        else "unchanged"
                    )
                    statuses.append((row.node.stix_id, status))
                sequential = state(mark)
                assert_parts_add_up()
                raise Rollback
        except Rollback:
            pass
        assert Sighting.objects.count() == 0
        batched = ImportResult()
        recorded = record_sightings(items, owner=None, result=batched)
        assert [(row.node.stix_id, status) for row, status in recorded] == statuses
        assert state(mark) == sequential
        assert batched.as_dict() == one_by_one.as_dict()
        assert_parts_add_up()
        transaction.set_rollback(True)


# --- what the storage looks like ----------------------------------------------------------


def test_a_hot_pair_keeps_its_parts_in_rows_not_in_the_node():
    pairs = make_nodes()
    objs = [(sighting_obj(n, count=2, day=n % 20), *pairs[0]) for n in range(300)]
    recorded = record_sightings(objs, owner=None)
    assert {status for _, status in recorded[1:]} == {"updated"}
    row = Sighting.objects.select_related("node").get()
    assert (row.count, row.first_seen, row.last_seen) == (
        600,
        DAY0,
        DAY0 + timedelta(days=19),
    )
    assert SIGHTING_PARTS not in row.node.properties
    assert row.parts.count() == 300
    assert StixAlias.objects.filter(node_id=row.pk).count() == 299
    # the events carry the count as each item left it
    counts = list(
        Event.objects.filter(kind=EventKind.SIGHTING_RECORDED, object_id=row.pk)
        .order_by("pk")
        .values_list("data__count", flat=True)
    )
    assert counts == list(range(2, 602, 2))


def test_narrowing_a_part_that_held_the_bound_recomputes_the_span():
    pairs = make_nodes()
    record_sightings(
        [(sighting_obj(1, day=0), *pairs[0]), (sighting_obj(2, day=5), *pairs[0])], owner=None
    )
    assert_parts_add_up()
    # id 1 held first_seen (day 0); it now says day 3: the row starts at day 3
    (row, status), *_ = record_sightings([(sighting_obj(1, count=3, day=3), *pairs[0])], owner=None)
    assert status == "updated"
    row = Sighting.objects.get()
    assert (row.count, row.first_seen, row.last_seen) == (
        4,
        DAY0 + timedelta(days=3),
        DAY0 + timedelta(days=5),
    )
    assert_parts_add_up()


# --- queries --------------------------------------------------------------------------------


def queries(objs: list) -> int:
    with CaptureQueriesContext(connection) as captured:
        record_sightings(objs, owner=None)
    return len(captured.captured_queries)


def test_the_number_of_queries_does_not_grow_with_the_batch():
    pairs = make_nodes()
    # rows with parts on every pair: new events merge into them
    record_sightings([(sighting_obj(n, day=10), *pairs[n % 3]) for n in range(6)], owner=None)
    one = queries([(sighting_obj(100, day=11), *pairs[0])])
    hundred = queries([(sighting_obj(200 + n, day=11), *pairs[n % 3]) for n in range(100)])
    if connection.vendor == "postgresql":
        assert hundred == one
    else:  # SQLite: bulk statements are split at 999 parameters
        assert hundred <= one + 3
    # every path at once: new rows, merges, retries, replacements, exports, other pairs
    mixed = [(sighting_obj(300 + n, day=200 + n % 50), *pairs[n % 3]) for n in range(60)]
    mixed += [(sighting_obj(200 + n, count=5, day=11), *pairs[n % 3]) for n in range(20)]
    mixed += [(sighting_obj(200 + n, day=11), *pairs[n % 3]) for n in range(20, 40)]
    exports = Sighting.objects.select_related("node", "where_sighted")[:5]
    mixed += [(sighting_stix(s.node), s.sighting_of_id, s.where_sighted_id) for s in exports]
    assert queries(mixed) <= 20 if connection.vendor == "postgresql" else 26
    assert_parts_add_up()


# --- the migration's data moves ---------------------------------------------------------------


def test_the_migration_moves_parts_out_of_properties_and_back():
    migration = importlib.import_module("cti.intel.migrations.0005_sighting_part")
    pairs = make_nodes()
    record_sightings(
        [(sighting_obj(n, count=n, day=n), *pairs[0]) for n in (1, 2, 3)]
        + [(sighting_obj(4, day=0), *pairs[1])],
        owner=None,
    )
    before = state(0)
    migration.parts_to_properties(apps, None)
    node = StixObject.objects.get(stix_id=sid("sighting", 1))
    stamps = {n: (DAY0 + timedelta(days=n)).isoformat() for n in (1, 2, 3)}
    assert node.properties[SIGHTING_PARTS] == {
        sid("sighting", n): [n, stamps[n], stamps[n]] for n in (1, 2, 3)
    }
    assert SIGHTING_PARTS not in StixObject.objects.get(stix_id=sid("sighting", 4)).properties
    SightingPart.objects.all().delete()  # the reverse migration drops the table
    migration.parts_to_table(apps, None)
    assert state(0) == before
