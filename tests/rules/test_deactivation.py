"""Activating every rule and then deactivating them all leaves the graph exactly as if no
rule had ever run: every node, edge and reference row, with its primary key and flags."""

import random
from unittest import mock

import pytest

from cti.intel.models import Explanation, StixObject
from cti.intel.services import import_objects
from rules import services
from rules.definitions import RULES
from rules.models import RuleState, RuleStatus
from tests.rules.graphs import identity, indicator, ipv4, rel, report, rows_snapshot, sighting
from tests.rules.scenarios import FIRES

pytestmark = pytest.mark.django_db

ALL = [r.id for r in RULES]


@pytest.fixture(autouse=True)
def no_broker():
    with (
        mock.patch("rules.tasks.activate_rule.delay"),
        mock.patch("rules.tasks.deactivate_rule.delay"),
        mock.patch("rules.tasks.process_graph_changes.delay"),
    ):
        yield


def every_rule_graph() -> list[dict]:
    """The firing graphs of all 27 rules together, plus facts that are asserted *and*
    inferred: a manual part-of equal to an inferred one, a report member that a container rule
    also adds, a sighting that a propagation rule also infers."""
    objects = [o for rule_id in ALL for o in FIRES[rule_id]().objects]
    o1, o2, o3 = identity(1), identity(2), identity("sector-3", "sector")
    ind, ip = indicator(1), ipv4(1)
    objects += [
        o3,
        rel("part-of", o1, o2),
        rel("part-of", o2, o3),
        rel("part-of", o1, o3),  # also inferred by part_part
        report("both", [o1, o2]),  # o2 also inferred by report_ref_identity_part_of
        sighting(ip, o1, count=4),  # also inferred by sighting_indicator
        sighting(ind, o1, count=2),
        rel("based-on", ind, ip),
    ]
    return objects


def set_state(rule_ids, active: bool) -> None:
    services.rule_states()
    RuleState.objects.filter(rule_id__in=rule_ids).update(
        active=active, status=RuleStatus.ACTIVATING if active else RuleStatus.DEACTIVATING
    )


@pytest.mark.parametrize("order", ["registry", "reversed", "shuffled"])
def test_deactivating_every_rule_restores_the_graph(order):
    result = import_objects(every_rule_graph())
    assert not result.rejected, result.rejected
    before = rows_snapshot()
    set_state(ALL, True)
    services.run_activation(ALL[0])
    assert set(Explanation.objects.values_list("rule", flat=True)) == set(ALL), "all fire"
    assert StixObject.objects.filter(asserted=True, inferred=True).exists()
    ids = list(ALL)
    if order == "reversed":
        ids.reverse()
    elif order == "shuffled":
        random.Random(5).shuffle(ids)
    for rule_id in ids:
        set_state([rule_id], False)
        services.run_deactivation(rule_id)
        assert RuleState.objects.get(rule_id=rule_id).status == RuleStatus.INACTIVE
        assert not Explanation.objects.filter(rule=rule_id).exists()
    assert rows_snapshot() == before
