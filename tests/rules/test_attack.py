"""MITRE ATT&CK Enterprise (imported once for the module with `import_bundle`): what all 27
rules infer equals what the reference evaluator computes from the bundle, rule by rule."""

import gzip
import io
import json
import time
from collections import Counter
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import transaction

from cti.intel.models import Explanation
from cti.intel.validation import normalize
from rules.definitions import RULES
from rules.engine import engine_writes, evaluate, retract
from tests.rules import reference
from tests.rules.graphs import fact_flags, facts_by_rule, rows_snapshot

ATTACK = Path(__file__).resolve().parents[3] / "shared" / "data" / "attack"
BUNDLE = ATTACK / "enterprise-attack-18.1.json.gz"
RULE_IDS = [r.id for r in RULES]

pytestmark = pytest.mark.skipif(not BUNDLE.exists(), reason=f"{BUNDLE} is not there")


@pytest.fixture(scope="module")
def attack(django_db_setup, django_db_blocker):
    """The bundle imported once, in a transaction rolled back after the module's tests (each
    test's own transaction nests in it)."""
    with django_db_blocker.unblock(), transaction.atomic():
        out = io.StringIO()
        started = time.monotonic()
        call_command("import_bundle", str(BUNDLE), "--quiet-progress", stdout=out, stderr=out)
        summary = json.loads(out.getvalue().splitlines()[0])
        print(f"\nATT&CK import: {summary} in {time.monotonic() - started:.1f}s")
        assert summary["rejected"] == 0
        started = time.monotonic()
        with gzip.open(BUNDLE, "rb") as fh:
            objects = [normalize(o)[0] for o in json.load(fh)["objects"]]
        graph = reference.graph_from_stix(objects)
        print(f"reference graph read in {time.monotonic() - started:.1f}s")
        yield graph
        transaction.set_rollback(True)


def test_attack_inferences_equal_the_reference(attack, db):
    before = rows_snapshot()
    started = time.monotonic()
    with engine_writes():
        added = evaluate(list(RULES))
    took = time.monotonic() - started
    started = time.monotonic()
    expected = reference.evaluate(attack, RULE_IDS)
    print(f"reference closure: {time.monotonic() - started:.1f}s")
    got = facts_by_rule()
    explanations = Counter(Explanation.objects.values_list("rule", flat=True))
    print(f"\nATT&CK, all 27 rules: {added} explanations in {took:.1f}s")
    print(f"{'rule':36} {'facts':>7} {'reference':>9} {'explanations':>12}")
    for rule_id in RULE_IDS:
        n_ref = len(expected.derived.get(rule_id, ()))
        print(f"{rule_id:36} {len(got.get(rule_id, ())):7} {n_ref:9} {explanations[rule_id]:12}")
    for rule_id in RULE_IDS:
        assert got.get(rule_id, set()) == expected.derived.get(rule_id, set()), rule_id
    flags = fact_flags()
    for kind in ("rel", "sighting", "ref", "incident"):
        assert flags[kind] == Counter(expected.flags(kind)), kind
    assert added == sum(explanations.values())
    assert sum(1 for f in expected.inferred if f[0] == "rel") > 7000  # it does fire, a lot

    # retracting every rule gives back the imported graph, row for row
    started = time.monotonic()
    with engine_writes():
        for rule_id in RULE_IDS:
            retract(set(), set(), rule_id=rule_id)
    print(f"retracting all: {time.monotonic() - started:.1f}s")
    assert rows_snapshot() == before
