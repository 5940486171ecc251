"""Rules-engine benchmark on PostgreSQL (a dedicated database: it is emptied).

For each size: generate the graph (bench/rules/generate.py), then
  1. chain rules alone (part_part, location_location, location_targets, attribution_use):
     engine activation vs the hand-written SQL of bench/rules/oracle.sql (same pair set,
     checked), both timed;
  2. bulk activation of all 27 rules in a fresh subprocess: wall time, inferred facts and
     explanations per second, the subprocess's peak RSS;
  3. live inference: import one new relationship (import_objects, committed), then call
     rules.services.process_graph_changes() synchronously and time commit -> inferences
     visible (p50/p99 over --live samples); a few deletions timed separately.

    python bench/rules/run.py --relationships 10000 100000 \\
        --database postgres://postgres@127.0.0.1:5432/cti_bench
"""

import argparse
import json
import os
import platform
import random
import re
import resource
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/cti_bench"
CHAIN_RULES = ("part_part", "location_location", "location_targets", "attribution_use")


def setup(database: str) -> None:
    os.environ["DATABASE_URL"] = database
    os.environ["CELERY_BROKER_URL"] = "memory://"  # nothing is published anywhere
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    sys.path[:0] = [str(ROOT), str(HERE)]
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cti.settings")
    import django

    django.setup()
    import rules.signals

    rules.signals._enqueue = lambda: None  # process_graph_changes is called here, in-process


def create_database(database: str) -> None:
    import psycopg

    base, name = database.rsplit("/", 1)
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def sql(statement: str, params=None) -> list:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return cursor.fetchall() if cursor.description else []


def analyze() -> None:
    sql(
        "ANALYZE intel_stixobject, intel_relationship, intel_sighting, intel_objectref, "
        "intel_explanation, intel_explanationsource"
    )


def reset_inference() -> None:
    """Back to the generated (asserted) graph, in SQL."""
    sql("TRUNCATE intel_explanationsource, intel_explanation, rules_graphchange, rules_rulestate")
    sql("DELETE FROM intel_objectref WHERE NOT asserted")
    gone = "SELECT id FROM intel_stixobject WHERE NOT asserted"
    sql(f"DELETE FROM intel_objectref WHERE container_id IN ({gone}) OR member_id IN ({gone})")
    sql(f"DELETE FROM intel_relationship WHERE node_id IN ({gone})")
    sql(f"DELETE FROM intel_sighting WHERE node_id IN ({gone})")
    sql("DELETE FROM intel_stixalias WHERE node_id IN (SELECT id FROM intel_stixobject "
        "WHERE NOT asserted)")  # fmt: skip
    sql("DELETE FROM intel_stixobject WHERE NOT asserted")
    for table in ("intel_stixobject", "intel_relationship", "intel_sighting", "intel_objectref"):
        sql(f"UPDATE {table} SET inferred = false WHERE inferred")
    analyze()


def flag(rule_ids) -> None:
    from rules.models import RuleState, RuleStatus
    from rules.services import rule_states

    rule_states()
    RuleState.objects.filter(rule_id__in=list(rule_ids)).update(
        active=True, status=RuleStatus.ACTIVATING
    )


def oracle_queries() -> dict[str, str]:
    text = (HERE / "oracle.sql").read_text()
    parts = re.split(r"^-- name: (\S+)\s*$", text, flags=re.M)
    return {
        name: "\n".join(x for x in body.splitlines() if not x.startswith("--")).strip().rstrip(";")
        for name, body in zip(parts[1::2], parts[2::2], strict=True)
    }


def engine_pairs(rule_id: str) -> set[tuple[int, int]]:
    return set(
        sql(
            "SELECT DISTINCT r.source_id, r.target_id FROM intel_explanation e "
            "JOIN intel_relationship r ON r.node_id = e.node_id WHERE e.rule = %s",
            [rule_id],
        )
    )


def chain_rules() -> list[dict]:
    from rules.services import run_activation

    results = []
    for rule_id, query in oracle_queries().items():
        reset_inference()
        flag([rule_id])
        started = time.perf_counter()
        run_activation(rule_id)
        engine_s = time.perf_counter() - started
        pairs = engine_pairs(rule_id)
        sql("DROP TABLE IF EXISTS oracle")
        started = time.perf_counter()
        sql(f"CREATE TEMP TABLE oracle AS {query}")
        oracle_s = time.perf_counter() - started
        expected = set(sql("SELECT s, t FROM oracle"))
        results.append(
            {
                "rule": rule_id,
                "pairs": len(expected),
                "same_set": pairs == expected,
                "engine_s": round(engine_s, 3),
                "oracle_s": round(oracle_s, 3),
                "ratio": round(engine_s / oracle_s, 1) if oracle_s else None,
            }
        )
        print(f"  chain {results[-1]}", flush=True)
    reset_inference()
    return results


def vm_hwm_mb() -> int:
    """This process's peak resident set (VmHWM; ru_maxrss would include the parent's, as Linux
    keeps it across execve)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024)
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


def bulk_activation_child() -> dict:
    """Run in a fresh process: all 27 rules flagged, one activation materialises them."""
    from cti.intel.models import Explanation, ObjectRef, StixObject
    from rules.definitions import RULES
    from rules.services import run_activation

    flag(r.id for r in RULES)
    rss_before = vm_hwm_mb()
    started = time.perf_counter()
    run_activation(RULES[0].id)
    wall = time.perf_counter() - started
    facts = (
        StixObject.objects.filter(inferred=True).count()
        + ObjectRef.objects.filter(inferred=True).count()
    )
    explanations = Explanation.objects.count()
    return {
        "wall_s": round(wall, 1),
        "inferred_facts": facts,
        "explanations": explanations,
        "facts_per_s": round(facts / wall),
        "explanations_per_s": round(explanations / wall),
        "peak_rss_mb": vm_hwm_mb(),
        "rss_before_mb": rss_before,
    }


def bulk_activation(database: str) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--database", database, "--child", "bulk"],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def live_latency(samples: int, seed: int, deletions_wanted: int = 3) -> dict:
    """Commit of an import -> process_graph_changes() done, measured in this process."""
    from cti.intel.models import Relationship, StixObject
    from cti.intel.services import import_objects
    from rules.models import GraphChange
    from rules.services import process_graph_changes

    rng = random.Random(seed)
    orgs = list(
        StixObject.objects.filter(type="identity", subtype="organization").values_list(
            "stix_id", flat=True
        )
    )
    cities = list(
        StixObject.objects.filter(type="location", subtype="city").values_list("stix_id", flat=True)
    )
    threats = list(
        StixObject.objects.filter(type__in=("intrusion-set", "campaign")).values_list(
            "stix_id", flat=True
        )
    )
    kinds = [
        ("part-of", orgs, orgs),
        ("located-at", orgs, cities),
        ("targets", threats, orgs),
        ("attributed-to", threats, threats),
    ]
    latencies, deletions, already, fresh = [], [], [], []
    for i in range(samples):
        rel_type, sources, targets = kinds[i % len(kinds)]
        source, target = rng.choice(sources), rng.choice(targets)
        if source == target:
            continue
        obj = {
            "type": "relationship",
            "id": f"relationship--{uuid.UUID(int=rng.getrandbits(128), version=4)}",
            "relationship_type": rel_type,
            "source_ref": source,
            "target_ref": target,
        }
        # a relationship the rules inferred already: the import asserts it, a change that
        # retracts what rested on the inferred fact and derives it again
        inferred = Relationship.objects.filter(
            relationship_type=rel_type, source__stix_id=source, target__stix_id=target
        ).exists()
        import_objects([obj])  # committed when this returns
        committed = time.perf_counter()
        process_graph_changes()
        latencies.append(time.perf_counter() - committed)
        (already if inferred else fresh).append(latencies[-1])
        assert not GraphChange.objects.exists()
    for _ in range(deletions_wanted):  # retracts, then derives again what was over-deleted
        node = StixObject.objects.filter(type="relationship", asserted=True).order_by("?").first()
        node.delete()
        committed = time.perf_counter()
        process_graph_changes()
        deletions.append(time.perf_counter() - committed)
    latencies.sort()
    return {
        "new_facts": _percentiles(fresh),
        "already_inferred": _percentiles(already),
        "samples": len(latencies),
        "p50_ms": round(1000 * statistics.median(latencies), 1),
        "p99_ms": round(1000 * latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))], 1),
        "max_ms": round(1000 * latencies[-1], 1),
        "deletion_s": [round(d, 1) for d in deletions],
    }


def _percentiles(values: list[float]) -> dict:
    values = sorted(values)
    if not values:
        return {"samples": 0}
    return {
        "samples": len(values),
        "p50_ms": round(1000 * statistics.median(values), 1),
        "p99_ms": round(1000 * values[min(len(values) - 1, int(0.99 * len(values)))], 1),
        "max_ms": round(1000 * values[-1], 1),
    }


def machine() -> dict:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    return {
        "cpus": os.cpu_count(),
        "cpu": cpu,
        "python": platform.python_version(),
        "postgres": sql("SHOW server_version")[0][0],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--relationships", "-n", type=int, nargs="+", default=[10_000])
    parser.add_argument("--database", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DB))
    parser.add_argument("--live", type=int, default=200, help="live-inference samples")
    parser.add_argument("--deletions", type=int, default=3, help="timed deletions")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument(
        "--bulk-only", action="store_true", help="on the graph in place: reset, bulk activation"
    )
    parser.add_argument(
        "--live-only",
        action="store_true",
        help="on the graph in place, rules active: live inference and deletions only",
    )
    args = parser.parse_args()
    if args.child:
        setup(args.database)
        print(json.dumps(bulk_activation_child()))
        return
    create_database(args.database)
    setup(args.database)
    import generate
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    if args.live_only:
        analyze()
        print(json.dumps(live_latency(args.live, args.seed, args.deletions)))
        return
    if args.bulk_only:
        reset_inference()
        print(json.dumps(bulk_activation(args.database)))
        return
    report = {"machine": machine(), "runs": []}
    print(report["machine"], flush=True)
    for n in args.relationships:
        print(f"== {n} relationships", flush=True)
        generate.reset_graph()
        graph = generate.generate(n, args.seed, progress=None)
        analyze()
        run = {"requested": n, "graph": graph}
        run["chain_rules"] = chain_rules()
        run["bulk"] = bulk_activation(args.database)
        print(f"  bulk {run['bulk']}", flush=True)
        analyze()
        run["live"] = live_latency(args.live, args.seed, args.deletions)
        print(f"  live {run['live']}", flush=True)
        report["runs"].append(run)
    out = HERE / f"results-{'-'.join(str(n) for n in args.relationships)}.json"
    out.write_text(json.dumps(report, indent=2))
    print(f"written {out}")


if __name__ == "__main__":
    main()
