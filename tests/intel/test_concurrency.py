"""Two imports of the same bundle at the same time leave one copy of everything: the same nodes,
relationships, sighting rows (with counts not doubled), container refs and aliases as one import.

Threads (PostgreSQL: each thread has its own connection and transaction) and two
`manage.py import_bundle` processes (both databases)."""

import json
import subprocess
import sys
import threading
import uuid

import pytest
from django.db import connection, connections

from cti.intel.models import ObjectRef, Relationship, Sighting, StixAlias, StixObject
from cti.intel.services import import_objects
from tests.intel.procs import child_database
from tests.intel.stixdata import ROOT, bundle_of, sample_objects, sid

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def bundle_objects() -> list[dict]:
    """The sample bundle and enough more to span several batches: malware, observables under
    random ids (so aliases), relationships between them, and sightings of one pair under several
    ids within the dedup window (so merges)."""
    objects = sample_objects()
    for n in range(600):
        malware = {
            "type": "malware",
            "id": sid("malware", 5000 + n),
            "name": f"m{n}",
            "is_family": True,
            "created": "2024-01-01T00:00:00Z",
            "modified": "2024-01-01T00:00:00Z",
        }
        domain = {
            "type": "domain-name",
            "id": f"domain-name--{uuid.UUID(int=n + 1, version=4)}",
            "value": f"d{n}.example.com",
        }
        objects += [
            malware,
            domain,
            {
                "type": "relationship",
                "id": sid("relationship", 5000 + n),
                "relationship_type": "communicates-with",
                "source_ref": malware["id"],
                "target_ref": domain["id"],
                "created": "2024-01-01T00:00:00Z",
                "modified": "2024-01-01T00:00:00Z",
            },
        ]
    for n in range(6):
        objects.append(
            {
                "type": "sighting",
                "id": sid("sighting", 5000 + n),
                "count": n + 1,
                "sighting_of_ref": sid("malware", 5000),
                "where_sighted_refs": [sid("identity", 3)],
                "first_seen": f"2024-02-{n + 1:02d}T00:00:00Z",
                "last_seen": f"2024-02-{n + 2:02d}T00:00:00Z",
                "created": "2024-01-01T00:00:00Z",
                "modified": "2024-01-01T00:00:00Z",
            }
        )
    return objects


def snapshot() -> dict:
    return {
        "nodes": sorted(StixObject.objects.values_list("stix_id", flat=True)),
        "relationships": sorted(
            Relationship.objects.values_list(
                "node__stix_id", "relationship_type", "source__stix_id", "target__stix_id"
            )
        ),
        "sightings": sorted(
            Sighting.objects.values_list(
                "node__stix_id",
                "sighting_of__stix_id",
                "where_sighted__stix_id",
                "count",
                "first_seen",
                "last_seen",
            )
        ),
        "refs": sorted(ObjectRef.objects.values_list("container__stix_id", "member__stix_id")),
        "aliases": sorted(StixAlias.objects.values_list("stix_id", "node__stix_id")),
    }


def reset() -> None:
    keep = (
        "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9",
        "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da",
        "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82",
        "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed",
    )
    Sighting.objects.all().delete()
    Relationship.objects.all().delete()
    StixObject.objects.exclude(stix_id__in=keep).update(created_by=None)
    StixObject.objects.exclude(stix_id__in=keep).delete()


@pytest.fixture
def one_import() -> dict:
    """What a single import of the bundle leaves."""
    result = import_objects(bundle_objects())
    assert result.rejected == []
    state = snapshot()
    merged = [s for s in state["sightings"] if s[1] == sid("malware", 5000)]
    assert len(merged) == 1 and merged[0][3] == sum(range(1, 7))  # 6 ids merged, counts summed
    reset()
    return state


def test_two_threads_importing_at_once(one_import):
    if connection.vendor == "sqlite":
        pytest.skip(
            "SQLite's test database is in memory with one shared cache: a second writer gets "
            "'database table is locked' at once instead of waiting (the file-based database "
            "the server uses is covered by the two-process test)"
        )
    barrier = threading.Barrier(2)
    results, errors = [], []

    def run() -> None:
        try:
            barrier.wait()
            results.append(import_objects(bundle_objects(), batch_size=200))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(repr(exc))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert errors == []
    assert len(results) == 2 and all(r.rejected == [] for r in results)
    assert snapshot() == one_import
    again = import_objects(bundle_objects())
    assert (again.created, again.updated, again.rejected) == ([], [], [])


def test_two_import_bundle_commands_at_once(one_import, tmp_path):
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(bundle_of(bundle_objects())))
    with child_database(tmp_path) as env:
        command = [
            sys.executable,
            "manage.py",
            "import_bundle",
            str(path),
            "--quiet-progress",
            "--batch-size",
            "200",
        ]
        children = [
            subprocess.Popen(
                command,
                env=env,
                cwd=ROOT,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(2)
        ]
        outputs = [child.communicate(timeout=300) for child in children]
    for child, (out, err) in zip(children, outputs, strict=True):
        assert child.returncode == 0, err[-3000:]
        assert json.loads(out.strip().splitlines()[-1])["rejected"] == 0, err
    assert snapshot() == one_import
    again = import_objects(bundle_objects())
    assert (again.created, again.updated, again.rejected) == ([], [], [])
