"""The rule manager's services without a broker: activation order, partial reruns, failures,
the outbox's retries and parking."""

from unittest import mock

import pytest
from django.db import connection

from cti.intel.services import import_objects
from rules import engine, services
from rules.definitions import RULES
from rules.models import GraphChange, RuleState, RuleStatus
from tests.rules_manager.graph import (
    graph_state,
    load_generator,
    org,
    part_of,
    rel,
    reset_inference,
    sid,
    small_graph,
)

pytestmark = pytest.mark.django_db

ALL = [r.id for r in RULES]


@pytest.fixture(autouse=True)
def no_broker():
    """Record what would be enqueued instead of publishing it."""
    with (
        mock.patch("rules.tasks.activate_rule.delay") as activate,
        mock.patch("rules.tasks.deactivate_rule.delay") as deactivate,
        mock.patch("rules.tasks.process_graph_changes.delay") as changes,
    ):
        yield {"activate": activate, "deactivate": deactivate, "changes": changes}


def flag(rule_ids, active=True) -> None:
    services.rule_states()
    RuleState.objects.filter(rule_id__in=rule_ids).update(
        active=active, status=RuleStatus.ACTIVATING if active else RuleStatus.DEACTIVATING
    )


def bulk_activation() -> dict:
    flag(ALL)
    services.run_activation(ALL[0])
    assert set(RuleState.objects.values_list("status", flat=True)) == {RuleStatus.ACTIVE}
    return graph_state()


@pytest.fixture
def generated():
    """A generated graph, its foreign keys checked as rows are written: left deferred, the
    check of every row at teardown took up to 55 s per test in the full suite."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    load_generator().generate(1000, seed=7, progress=None)


def test_one_by_one_equals_all_at_once(generated):
    clean = bulk_activation()
    assert clean["explanations"]
    reset_inference()
    for rule_id in ALL:
        services.rule_set_active(rule_id, True)
        services.run_activation(rule_id)
        assert RuleState.objects.get(rule_id=rule_id).status == RuleStatus.ACTIVE
    assert graph_state() == clean


def test_reverse_order_equals_all_at_once(generated):
    clean = bulk_activation()
    reset_inference()
    for rule_id in reversed(ALL):
        flag([rule_id])
        services.run_activation(rule_id)
    assert graph_state() == clean


def test_an_activation_queued_behind_a_bulk_one_is_cheap(generated):
    """All rules flagged, the first task materialises them all; the others find nothing."""
    flag(ALL)
    services.run_activation(ALL[0])
    with mock.patch("rules.services.evaluate", wraps=engine.evaluate) as evaluate:
        services.run_activation(ALL[5])
    full = [c for c in evaluate.call_args_list if c.args[1] is None]
    assert [r.id for r in full[0].args[0]] == []


def test_rerun_after_a_crash_mid_activation_ends_in_the_same_state(generated, monkeypatch):
    clean = bulk_activation()
    reset_inference()
    flag(ALL)
    monkeypatch.setattr(engine, "BATCH", 50)
    ticks = {"n": 0}
    real = services._progress

    def crashing(rule_id):
        tick = real(rule_id)

        def wrapped(rows):
            tick(rows)
            ticks["n"] += 1
            if ticks["n"] == 40:
                raise RuntimeError("worker lost")

        return wrapped

    monkeypatch.setattr(services, "_progress", crashing)
    with pytest.raises(RuntimeError):
        services.run_activation(ALL[0])
    partial = graph_state()
    assert 0 < len(partial["explanations"]) < len(clean["explanations"])
    state = RuleState.objects.get(rule_id=ALL[0])
    assert state.status == RuleStatus.FAILED
    assert "worker lost" in state.errors[0]
    assert 0 < state.percent < 100

    monkeypatch.setattr(services, "_progress", real)
    services.rule_set_active(ALL[0], True)  # a failed rule can be activated again
    services.run_activation(ALL[0])
    assert graph_state() == clean
    assert RuleState.objects.get(rule_id=ALL[0]).errors == []


def test_progress_counts_rows_out_of_the_first_round(generated):
    flag(["location_targets"])
    seen = []
    real = services._progress

    def spy(rule_id):
        tick = real(rule_id)

        def wrapped(rows):
            tick(rows)
            seen.append(RuleState.objects.get(rule_id=rule_id).percent)

        return wrapped

    with mock.patch.object(services, "_progress", spy), mock.patch.object(engine, "BATCH", 10):
        services.run_activation("location_targets")
    state = RuleState.objects.get(rule_id="location_targets")
    assert state.total > 0 and state.processed >= state.total
    assert seen == sorted(seen) and len(set(seen)) > 3 and max(seen) == 99
    assert state.percent == 100 and state.inferred > 0


def test_deactivation_keeps_what_another_rule_supports():
    import_objects(small_graph())
    flag(["part_part", "part-of_targets"])
    services.run_activation("part_part")
    o1, o3 = sid("identity", 1), sid("identity", 3)
    assert part_of(o1, o3)
    flag(["part_part"], active=False)
    services.run_deactivation("part_part")
    assert not part_of(o1, o3)
    state = RuleState.objects.get(rule_id="part_part")
    assert (state.status, state.inferred) == (RuleStatus.INACTIVE, 0)
    assert RuleState.objects.get(rule_id="part-of_targets").status == RuleStatus.ACTIVE


def test_graph_changes_are_recorded_only_while_a_rule_is_active(
    no_broker, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        import_objects(small_graph())
    assert not GraphChange.objects.exists() and not no_broker["changes"].called
    flag(["part_part"])
    services.run_activation("part_part")
    assert not GraphChange.objects.exists(), "the engine's own writes are not graph changes"
    with django_capture_on_commit_callbacks(execute=True):
        import_objects([org(4), rel("part-of", org(3), org(4), 40)])
    assert GraphChange.objects.count() == 1
    assert no_broker["changes"].call_count == 1
    assert services.process_graph_changes() == 1
    assert part_of(sid("identity", 1), sid("identity", 4))
    assert not GraphChange.objects.exists()


def test_a_failing_change_is_retried_then_parked_and_never_skipped(monkeypatch, admin_credential):
    from django.test import Client

    from rules.tasks import process_graph_changes

    import_objects(small_graph())
    flag(["part_part"])
    services.run_activation("part_part")
    import_objects([org(4), rel("part-of", org(3), org(4), 40)])
    change = GraphChange.objects.get()

    def broken(*args, **kwargs):
        raise ValueError("inference exploded")

    monkeypatch.setattr(services, "evaluate", broken)
    result = process_graph_changes.apply()  # eagerly, with the task's own retry policy
    # three failing runs (the third parks), then a run that finds nothing left to do
    assert result.successful() and result.result == 0
    change.refresh_from_db()
    assert change.parked and change.attempts == services.MAX_ATTEMPTS
    assert "inference exploded" in change.error
    client = Client()
    client.force_login(admin_credential.user)
    page = client.get("/admin/rules/graphchange/?parked__exact=1").content.decode()
    assert "inference exploded" in page
    assert not part_of(sid("identity", 1), sid("identity", 4))
    # a parked change stays until an admin retries it; new changes still flow
    assert services.process_graph_changes() == 0
    monkeypatch.setattr(services, "evaluate", engine.evaluate)
    GraphChange.objects.update(parked=False, attempts=0, error="")
    assert services.process_graph_changes() == 1
    assert part_of(sid("identity", 1), sid("identity", 4))


def test_a_cascading_delete_enqueues_one_task_that_drains_the_outbox(
    no_broker, django_capture_on_commit_callbacks
):
    from cti.intel.models import StixObject
    from rules.tasks import process_graph_changes

    members = [org(100 + i) for i in range(600)]
    report = {
        "type": "report",
        "id": sid("report", 9),
        "name": "big report",
        "published": "2024-03-01T10:00:00.000Z",
        "object_refs": [m["id"] for m in members],
    }
    import_objects([*small_graph(), *members, report])
    flag(["part_part", "report_ref_identity_part_of"])
    services.run_activation("part_part")
    with django_capture_on_commit_callbacks(execute=True):
        StixObject.objects.get(stix_id=report["id"]).delete()
    assert GraphChange.objects.count() > 600  # the report and each of its references
    assert no_broker["changes"].call_count == 1
    result = process_graph_changes.apply()
    assert result.successful() and result.result > 600  # several batches in one task
    assert not GraphChange.objects.exists()
