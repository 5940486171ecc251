"""MITRE ATT&CK Enterprise 18.1 (24,771 objects, 20,048 relationships): imported once per module
with `manage.py import_bundle` in a process of its own (for honest time and peak-RSS figures),
then counted, exported, compared, validated and re-imported.

The figures are printed (`pytest -s tests/intel/test_attack.py` shows them). Set
CTI_INTEL_VALIDATE_ALL=1 to run stix2-validator over the whole export (about 95 s) instead of a
sample of every type."""

import gzip
import json
import os
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass

import pytest
from django.db import connection
from stix2validator import ValidationOptions, validate_instance

from cti.intel import selectors
from cti.intel.models import Explanation, ObjectRef, Relationship, Sighting, StixAlias, StixObject
from tests.intel.procs import child_database
from tests.intel.stixdata import ATTACK, ROOT, assert_round_trip, bundle_of

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(not ATTACK.exists(), reason=f"{ATTACK} is not there"),
]


@dataclass
class Attack:
    objects: list[dict]
    figures: dict
    before: Counter  # node counts by type before the import (the built-in TLP definitions)


def _counts_by_type() -> Counter:
    from django.db.models import Count

    return Counter(
        dict(
            StixObject.objects.values_list("type").annotate(n=Count("pk")).values_list("type", "n")
        )
    )


def _run_import(tmp_path) -> dict:
    """Run tests/intel/attack_run.py in a child process against the test database."""
    with child_database(tmp_path) as env:
        command = [
            sys.executable,
            "-m",
            "tests.intel.attack_run",
            str(ATTACK),
            "--export",
            str(tmp_path / "export.json"),
        ]
        done = subprocess.run(
            command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=600
        )
        assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def _wipe(keep: set[int]) -> None:
    """Remove the import (plain DELETEs: the ORM's cascade collection of 25k nodes is slow)."""
    for model in (Explanation, ObjectRef, StixAlias, Sighting, Relationship):
        model.objects.all()._raw_delete(connection.alias)
    gone = StixObject.objects.exclude(pk__in=keep)
    gone.update(created_by=None)
    gone._raw_delete(connection.alias)


@pytest.fixture(scope="module")
def attack(django_db_setup, django_db_blocker, tmp_path_factory) -> Attack:
    with gzip.open(ATTACK, "rt") as fh:
        objects = json.load(fh)["objects"]
    with django_db_blocker.unblock():
        before = _counts_by_type()
        keep = set(StixObject.objects.values_list("pk", flat=True))
        figures = _run_import(tmp_path_factory.mktemp("attack"))
        print(f"\nATT&CK import figures ({connection.vendor}): {json.dumps(figures)}")
        yield Attack(objects=objects, figures=figures, before=before)
        _wipe(keep)


def test_import_figures(attack):
    figures = attack.figures
    total = len(attack.objects)
    assert figures["import"]["created"] == total
    assert figures["import"]["rejected"] == 0
    assert figures["exported_objects"] == total + 4  # and the built-in TLP definitions
    assert figures["reimport"] == {
        "created": 0,
        "updated": 0,
        "unchanged": figures["exported_objects"],
        "rejected": 0,
    }
    # not a benchmark: generous bounds that only catch a pathology (a 24k-object bundle is
    # streamed; the whole file parsed at once would be ~600 MB)
    assert figures["rss_after_import_mb"] < 1500
    assert figures["import_seconds"] < 300


def test_counts_by_type_match_the_file(attack):
    in_file = Counter(o["type"] for o in attack.objects)
    in_db = _counts_by_type() - attack.before
    assert in_db == in_file
    assert Relationship.objects.count() == in_file["relationship"] == 20048
    by_type = Counter(Relationship.objects.values_list("relationship_type", flat=True))
    assert by_type == Counter(
        o["relationship_type"] for o in attack.objects if o["type"] == "relationship"
    )
    authored = sum(1 for o in attack.objects if o.get("created_by_ref"))
    assert StixObject.objects.filter(created_by__isnull=False).count() == authored
    revoked = sum(1 for o in attack.objects if o.get("revoked"))
    assert StixObject.objects.filter(revoked=True).count() == revoked
    # every custom x-mitre-* object is kept
    assert {t for t in in_db if t.startswith("x-mitre-")} == {
        "x-mitre-analytic",
        "x-mitre-detection-strategy",
        "x-mitre-data-component",
        "x-mitre-data-source",
        "x-mitre-tactic",
        "x-mitre-matrix",
    }


def test_export_round_trips(attack):
    started = time.perf_counter()
    everything = set(StixObject.objects.values_list("pk", flat=True))
    exported = selectors.bundle(selectors.with_dependencies(everything))["objects"]
    print(f"\nATT&CK export of {len(exported)} objects: {time.perf_counter() - started:.1f} s")
    assert_round_trip(attack.objects, exported)


def _sample(objects: list[dict], per_type: int = 25, relationships: int = 150) -> list[dict]:
    """Every type, its first and its most property-rich objects, and relationships of every
    relationship_type."""
    chosen: dict[str, dict] = {}
    by_type: dict[str, list[dict]] = {}
    for obj in objects:
        by_type.setdefault(obj["type"], []).append(obj)
    for stix_type, objs in by_type.items():
        if stix_type == "relationship":
            seen: set[str] = set()
            for rel in objs:
                if rel["relationship_type"] not in seen:
                    seen.add(rel["relationship_type"])
                    chosen[rel["id"]] = rel
            for rel in objs[:: max(1, len(objs) // relationships)]:
                chosen[rel["id"]] = rel
            continue
        richest = sorted(objs, key=lambda o: -len(json.dumps(o)))
        for obj in objs[:per_type] + richest[:per_type]:
            chosen[obj["id"]] = obj
    return list(chosen.values())


def test_export_passes_stix2_validator(attack):
    everything = set(StixObject.objects.values_list("pk", flat=True))
    exported = selectors.bundle(everything)["objects"]
    if os.environ.get("CTI_INTEL_VALIDATE_ALL") != "1":
        exported = _sample(exported)
    started = time.perf_counter()
    results = validate_instance(bundle_of(exported), ValidationOptions())
    print(
        f"\nstix2-validator over {len(exported)} exported ATT&CK objects: "
        f"{time.perf_counter() - started:.1f} s, {len(results.warnings)} warnings"
    )
    assert results.is_valid, [str(e) for e in results.errors][:20]


def test_reimport_of_the_export_through_the_api_changes_nothing(attack, api, tmp_path):
    everything = set(StixObject.objects.values_list("pk", flat=True))
    body = json.dumps(selectors.bundle(everything))
    started = time.perf_counter()
    response = api.post("/api/v3/intel/bundles", body, content_type="application/json")
    seconds = time.perf_counter() - started
    assert response.status_code == 200, response.json()
    summary = response.json()["data"]
    print(f"\nATT&CK re-import through POST /intel/bundles ({len(body) >> 20} MB): {seconds:.1f} s")
    assert (summary["created"], summary["updated"], summary["rejected"]) == ([], [], [])
    assert len(summary["unchanged"]) == len(attack.objects) + 4


def test_bundle_get_of_a_technique_with_neighbours_stands_alone(attack, get_bundle):
    phishing = next(
        o
        for o in attack.objects
        if o["type"] == "attack-pattern"
        and any(r.get("external_id") == "T1566" for r in o.get("external_references", []))
    )
    got = get_bundle(id=phishing["id"], neighbours="true")
    rels = [
        o
        for o in attack.objects
        if o["type"] == "relationship" and phishing["id"] in (o["source_ref"], o["target_ref"])
    ]
    assert {r["id"] for r in rels} <= got.keys()
    for obj in got.values():
        refs = {obj.get("source_ref"), obj.get("target_ref"), obj.get("created_by_ref")}
        refs |= set(obj.get("object_marking_refs", ()))
        assert refs - {None} <= got.keys(), obj["id"]
    results = validate_instance(bundle_of(list(got.values())), ValidationOptions())
    assert results.is_valid, [str(e) for e in results.errors][:10]
