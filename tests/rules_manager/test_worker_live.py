"""Rule activation through the API with a real Celery worker: on Redis against PostgreSQL
(production), and on the embedded default (SQLite file, kombu filesystem transport)."""

import sqlite3
import sys
import time

import pytest

from cti.security.choices import SystemRoleChoices
from cti.security.services import api_user_create
from tests.rules_manager.conftest import (
    Http,
    free_port,
    test_database_url,
    wait_for,
)
from tests.rules_manager.graph import bundle, org, part_of, rel, sid, small_graph

pytestmark = pytest.mark.live

O1, O2, O3, O4 = (sid("identity", n) for n in (1, 2, 3, 4))


def _live_change_latency(http: Http, visible) -> float:
    """POST a new part-of through the bundle API; seconds until the worker has inferred it."""
    response = http.post(
        "/api/v3/intel/bundles", bundle([org(4), rel("part-of", org(3), org(4), 40)])
    )
    assert response.status_code == 200, response.text
    assert not response.json()["data"]["rejected"]
    posted = time.monotonic()
    wait_for(visible, 10, "the live change to be inferred")
    return time.monotonic() - posted


@pytest.mark.django_db(transaction=True)
def test_activation_on_redis_and_postgres(postgres_only, live_server, redis_broker, processes):
    from rules.models import GraphChange, RuleState

    admin = api_user_create("rules-admin", role=SystemRoleChoices.ADMINISTRATOR, superuser=True)
    http = Http(live_server.url, admin.token)
    response = http.post("/api/v3/intel/bundles", bundle(small_graph()))
    assert response.status_code == 200 and not response.json()["data"]["rejected"]
    assert not part_of(O1, O3)

    # the request only flips the flag and enqueues: no worker runs yet
    response = http.put("/api/v3/rules/part_part", {"active": True})
    assert response.status_code == 200, response.text
    assert response.json()["data"]["status"] == "activating"
    time.sleep(0.5)
    assert http.rule("part_part")["status"] == "activating"
    assert not part_of(O1, O3)

    env = processes.env(DATABASE_URL=test_database_url(), CELERY_BROKER_URL=redis_broker)
    worker = processes.worker(env)
    data = http.wait_rule("part_part", "active")
    assert data["progress"]["percent"] == 100
    assert data["progress"]["finished"] and not data["progress"]["errors"]
    assert data["inferred"] == 1
    assert part_of(O1, O3)

    # a live change goes through the outbox to the worker
    latency = _live_change_latency(http, lambda: part_of(O1, O4) and part_of(O2, O4))
    assert latency < 5, latency
    wait_for(lambda: not GraphChange.objects.exists(), 10, "the outbox to drain")
    assert http.rule("part_part")["active"] is True

    response = http.put("/api/v3/rules/part_part", {"active": False})
    assert response.json()["data"]["status"] == "deactivating"
    data = http.wait_rule("part_part", "inactive")
    assert data["inferred"] == 0
    assert not part_of(O1, O3) and not part_of(O1, O4) and not part_of(O2, O4)
    assert part_of(O1, O2) and part_of(O3, O4)  # asserted facts stay
    assert RuleState.objects.get(rule_id="part_part").status == "inactive"
    assert worker.poll() is None
    assert "Traceback" not in processes.log(worker)
    print(f"live change inferred {latency * 1000:.0f} ms after the import returned")


def _sqlite_facts(path, sql: str) -> list:
    with sqlite3.connect(path, timeout=20) as db:
        return db.execute(sql).fetchall()


def _part_of_sqlite(path, source: str, target: str) -> bool:
    return bool(
        _sqlite_facts(
            path,
            "SELECT 1 FROM intel_relationship r JOIN intel_stixobject s ON s.id = r.source_id "
            "JOIN intel_stixobject t ON t.id = r.target_id WHERE r.relationship_type = 'part-of' "
            f"AND s.stix_id = '{source}' AND t.stix_id = '{target}'",
        )
    )


def test_activation_on_the_embedded_default(processes, tmp_path):
    """SQLite file database and kombu's filesystem transport under CTI_VAR_DIR, as `make run`:
    a real web server and a real worker, sharing only the folder."""
    var = tmp_path / "var"
    var.mkdir()
    database = var / "cti.sqlite3"
    env = processes.env(
        CTI_VAR_DIR=str(var),
        DATABASE_URL=f"sqlite:///{database}",
        CELERY_BROKER_URL="filesystem://",
    )
    manage = [sys.executable, "manage.py"]
    migrate = processes.start([*manage, "migrate", "--noinput", "-v0"], env, "migrate")
    assert migrate.wait(timeout=180) == 0, processes.log(migrate)
    create = processes.start(
        [*manage, "create_api_user", "admin", "--role", "Administrator", "--superuser"],
        env,
        "admin",
    )
    assert create.wait(timeout=60) == 0
    token = next(
        line.split(":", 1)[1].strip()
        for line in processes.log(create).splitlines()
        if line.startswith("token:")
    )
    port = free_port()
    server = processes.start(
        [*manage, "runserver", "--noreload", "--insecure", f"127.0.0.1:{port}"], env, "server"
    )
    http = Http(f"http://127.0.0.1:{port}", token)

    def up():
        try:
            return http.get("/health").status_code == 200
        except OSError:
            assert server.poll() is None, processes.log(server)
            return False

    wait_for(up, 60, "the web server", interval=0.2)
    response = http.post("/api/v3/intel/bundles", bundle(small_graph()))
    assert response.status_code == 200 and not response.json()["data"]["rejected"]

    response = http.put("/api/v3/rules/part_part", {"active": True})
    assert response.status_code == 200, response.text
    assert response.json()["data"]["status"] == "activating"
    queued = list((var / "broker").glob("*.msg"))
    assert queued, "the activation is a message in the filesystem queue"
    time.sleep(0.5)
    assert http.rule("part_part")["status"] == "activating"
    assert not _part_of_sqlite(database, O1, O3)

    worker = processes.worker(env)
    data = http.wait_rule("part_part", "active")
    assert data["progress"]["percent"] == 100 and data["inferred"] == 1
    assert _part_of_sqlite(database, O1, O3)

    latency = _live_change_latency(
        http, lambda: _part_of_sqlite(database, O1, O4) and _part_of_sqlite(database, O2, O4)
    )
    assert latency < 5, latency

    http.put("/api/v3/rules/part_part", {"active": False})
    http.wait_rule("part_part", "inactive")
    assert not _part_of_sqlite(database, O1, O3)
    assert not _part_of_sqlite(database, O1, O4)
    assert worker.poll() is None
    assert "Traceback" not in processes.log(worker)
    print(f"filesystem broker: live change inferred {latency * 1000:.0f} ms after the import")
