"""Resumability: a worker killed with SIGKILL in the middle of an activation. Redis redelivers
the unacknowledged task (acks_late) to the next worker once the visibility timeout has passed,
or at once when only the pool's child dies (reject_on_worker_lost). The filesystem broker of
the embedded default loses the message of a killed worker: the next worker's start-up hook
enqueues the unfinished activation again. Every time the end state equals a clean activation."""

import os
import re
import signal
import time
from pathlib import Path

import pytest

from cti.security.choices import SystemRoleChoices
from cti.security.services import api_user_create
from rules.definitions import RULES
from rules.models import RuleState, RuleStatus
from tests.rules_manager.conftest import ROOT, Http, test_database_url, wait_for
from tests.rules_manager.graph import graph_state, load_generator, reset_inference

pytestmark = [pytest.mark.live, pytest.mark.fault]

SIZE = 3000  # relationships: a few seconds of activation on PostgreSQL
VISIBILITY = 3  # seconds


def _clean_activation() -> dict:
    from rules.services import rule_states, run_activation

    rule_states()
    RuleState.objects.update(active=True, status=RuleStatus.ACTIVATING)
    run_activation(RULES[0].id)
    return graph_state()


def _activate_all(http: Http) -> None:
    for rule in RULES:
        response = http.put(f"/api/v3/rules/{rule.id}", {"active": True})
        assert response.status_code == 200, response.text


def _progress() -> int:
    state = RuleState.objects.get(rule_id=RULES[0].id)
    return state.percent if state.status == RuleStatus.ACTIVATING else -1


def _task_ids(log: str) -> list[str]:
    return re.findall(r"Task rules\.activate\[([0-9a-f-]+)\] received", log)


@pytest.fixture
def prepared(postgres_only, live_server, redis_broker):
    """A generated graph, the state a clean activation leaves, then back to no inference."""
    load_generator().generate(SIZE, seed=3, progress=None)
    clean = _clean_activation()
    reset_inference()
    admin = api_user_create("rules-admin", role=SystemRoleChoices.ADMINISTRATOR, superuser=True)
    return clean, Http(live_server.url, admin.token)


def _wait_all_active(timeout: float) -> None:
    wait_for(
        lambda: set(RuleState.objects.values_list("status", flat=True)) == {RuleStatus.ACTIVE},
        timeout,
        "every rule to be active",
        interval=0.2,
    )


@pytest.mark.django_db(transaction=True)
def test_killed_worker_task_is_redelivered_to_the_next_worker(prepared, redis_broker, processes):
    clean, http = prepared
    env = processes.env(
        DATABASE_URL=test_database_url(),
        CELERY_BROKER_URL=redis_broker,
        CTI_BROKER_VISIBILITY_TIMEOUT=str(VISIBILITY),
    )
    # one message only, so that nothing but its redelivery can finish the work: the other rules
    # are flagged as if their own messages had been lost (one activation materialises them all)
    from rules.services import rule_states

    rule_states()
    RuleState.objects.exclude(rule_id=RULES[0].id).update(active=True, status=RuleStatus.ACTIVATING)
    assert http.put(f"/api/v3/rules/{RULES[0].id}", {"active": True}).status_code == 200
    first = processes.worker(env)
    wait_for(lambda: _progress() >= 20, 120, "the activation to be under way")
    processes.kill(first)
    killed_at = time.monotonic()
    partial = graph_state()
    assert 0 < len(partial["explanations"]) < len(clean["explanations"])
    assert RuleState.objects.get(rule_id=RULES[0].id).status == RuleStatus.ACTIVATING
    interrupted = _task_ids(processes.log(first))[0]

    # the message was delivered more than VISIBILITY seconds ago: the next worker restores it
    time.sleep(max(0.0, VISIBILITY + 1 - (time.monotonic() - killed_at)))
    second = processes.worker(env)
    _wait_all_active(180)
    # the worker's start-up hook may enqueue a fresh activation too (a no-op once all are active)
    wait_for(
        lambda: re.search(
            rf"Task rules\.activate\[{interrupted}\] succeeded", processes.log(second)
        ),
        60,
        "the interrupted task to be redelivered and to succeed",
        0.2,
    )
    assert interrupted in _task_ids(processes.log(second))
    assert graph_state() == clean
    data = http.rule(RULES[0].id)
    assert data["progress"]["percent"] == 100 and not data["progress"]["errors"]
    assert "Traceback" not in processes.log(second)


def _pool_child(pid: int) -> int:
    def child():
        path = Path(f"/proc/{pid}/task/{pid}/children")
        pids = path.read_text().split() if path.exists() else []
        return int(pids[0]) if pids else 0

    return wait_for(child, 30, "the worker's pool process")


@pytest.mark.django_db(transaction=True)
def test_killed_pool_process_task_is_requeued_at_once(prepared, redis_broker, processes):
    """Prefork pool: the parent sees its child die and rejects the message back to the queue
    (reject_on_worker_lost), without waiting for the visibility timeout (left at an hour)."""
    clean, http = prepared
    env = processes.env(DATABASE_URL=test_database_url(), CELERY_BROKER_URL=redis_broker)
    _activate_all(http)
    worker = processes.worker(env, pool="prefork")
    wait_for(lambda: _progress() >= 20, 120, "the activation to be under way")
    os.kill(_pool_child(worker.pid), signal.SIGKILL)
    interrupted = wait_for(lambda: _task_ids(processes.log(worker)), 10, "the task's id")[0]

    def rerun_done():
        log = processes.log(worker)
        return _task_ids(log).count(interrupted) == 2 and re.search(
            rf"Task rules\.activate\[{interrupted}\] succeeded", log
        )

    wait_for(rerun_done, 180, "the interrupted task to be requeued and to run again", 0.2)
    _wait_all_active(60)
    assert "WorkerLostError" in processes.log(worker)
    assert graph_state() == clean


def _sqlite_snapshot(path) -> dict:
    import sqlite3

    with sqlite3.connect(path, timeout=30) as db:
        return {
            "nodes": set(db.execute("SELECT stix_id, asserted, inferred FROM intel_stixobject")),
            "refs": set(
                db.execute(
                    "SELECT c.stix_id, m.stix_id, o.asserted, o.inferred FROM intel_objectref o "
                    "JOIN intel_stixobject c ON c.id = o.container_id "
                    "JOIN intel_stixobject m ON m.id = o.member_id"
                )
            ),
            "explanations": sorted(db.execute("SELECT rule, sources FROM intel_explanation")),
            "states": dict(db.execute("SELECT rule_id, status FROM rules_rulestate")),
        }


def test_killed_worker_on_the_embedded_default_resumes_when_a_worker_starts(processes, tmp_path):
    """kombu's filesystem transport has no acknowledgement: the message of a killed worker is
    gone. The next worker finds the rules still activating and enqueues their work again."""
    import shutil
    import sqlite3
    import sys

    var = tmp_path / "var"
    var.mkdir()
    database = var / "cti.sqlite3"
    env = processes.env(
        CTI_VAR_DIR=str(var),
        DATABASE_URL=f"sqlite:///{database}",
        CELERY_BROKER_URL="filesystem://",
        PYTHONPATH=str(ROOT),
    )

    def run(*args: str, timeout: float = 300) -> str:
        process = processes.start([sys.executable, *args], env, "command")
        assert process.wait(timeout=timeout) == 0, processes.log(process)
        return processes.log(process)

    run("manage.py", "migrate", "--noinput", "-v0")
    run("bench/rules/generate.py", "--relationships", str(SIZE), "--seed", "3")
    # the reference: a clean activation of every rule on a copy
    reference = tmp_path / "reference.sqlite3"
    shutil.copy(database, reference)
    activate_all = (
        "import django; django.setup()\n"
        "from rules.definitions import RULES\n"
        "from rules.models import RuleState\n"
        "from rules.services import rule_states, rule_set_active, run_activation\n"
        "import sys\n"
        "rule_states()\n"
        "if sys.argv[1] == 'run':\n"
        "    for rule in RULES: rule_set_active(rule.id, True)\n"
        "    run_activation(RULES[0].id)\n"
        "else:  # flag every rule, enqueue one activation (it materialises them all)\n"
        "    RuleState.objects.exclude(rule_id=RULES[0].id).update(\n"
        "        active=True, status='activating')\n"
        "    rule_set_active(RULES[0].id, True)\n"
    )
    script = tmp_path / "activate_all.py"
    script.write_text(activate_all)
    (tmp_path / "elsewhere").mkdir()
    clean_env = {
        **env,
        "DATABASE_URL": f"sqlite:///{reference}",
        "CTI_VAR_DIR": str(tmp_path / "elsewhere"),  # its messages go nowhere
    }
    clean = processes.start([sys.executable, str(script), "run"], clean_env, "clean")
    assert clean.wait(timeout=300) == 0, processes.log(clean)
    expected = _sqlite_snapshot(reference)
    assert set(expected["states"].values()) == {"active"}

    # a worker waiting, then one message: nothing else in the queue can finish the work
    first = processes.worker(env)
    run(str(script), "flag")

    def progress() -> int:
        with sqlite3.connect(database, timeout=30) as db:
            row = db.execute(
                "SELECT processed, total FROM rules_rulestate WHERE rule_id = ?", [RULES[0].id]
            ).fetchone()
        return row[1] and 100 * row[0] // row[1]

    wait_for(lambda: progress() >= 20, 120, "the activation to be under way", 0.1)
    processes.kill(first)
    states = _sqlite_snapshot(database)["states"]
    assert "active" not in states.values()
    assert not list((var / "broker").glob("*.msg")), "the killed worker's message is lost"

    second = processes.worker(env)
    wait_for(
        lambda: set(_sqlite_snapshot(database)["states"].values()) == {"active"},
        180,
        "every rule to be active",
        0.5,
    )
    assert "resumed" in processes.log(second)
    assert _sqlite_snapshot(database) == expected
