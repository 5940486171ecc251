"""compose.yaml, the Dockerfile and `make stack`, checked as files: the tests build no image
(a build and run of the image is recorded in docs/operations.md)."""

import json
import re
import subprocess
import sys
import threading
import tomllib
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
SERVICES = {"postgres", "redis", "migrate", "web", "worker", "beat"}
APP_SERVICES = {"migrate", "web", "worker", "beat"}


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "compose.yaml").read_text())


@pytest.fixture(scope="module")
def dockerfile() -> list[str]:
    """The Dockerfile's instructions, continuation lines joined."""
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    return [line.strip() for line in text.splitlines() if line.strip() and line[0] != "#"]


def test_compose_runs_the_whole_process_set(compose):
    services = compose["services"]
    assert set(services) == SERVICES
    assert services["postgres"]["image"].startswith("postgres:")
    assert services["redis"]["image"].startswith("redis:")
    for name in APP_SERVICES:
        assert services[name]["build"] == "."
        assert services[name]["image"] == "cti:latest"
    assert services["web"]["command"][0] == "gunicorn"
    assert services["worker"]["command"][:4] == ["celery", "-A", "cti", "worker"]
    assert services["beat"]["command"][:4] == ["celery", "-A", "cti", "beat"]
    assert services["migrate"]["command"] == ["python", "manage.py", "migrate", "--noinput"]


def test_every_long_running_service_has_a_healthcheck(compose):
    for name, service in compose["services"].items():
        check = service.get("healthcheck")
        if name == "migrate":
            assert check == {"disable": True}
            continue
        assert check and check["test"][0] == "CMD", name
    tests = {
        name: s["healthcheck"]["test"]
        for name, s in compose["services"].items()
        if name != "migrate"
    }
    assert "/health" in tests["web"][-1]
    assert tests["worker"][-2:] == ["--check", "worker"]
    assert tests["beat"][-2:] == ["--check", "beat"]


def test_app_services_wait_for_healthy_backends_and_migrations(compose):
    for name in APP_SERVICES:
        depends = compose["services"][name]["depends_on"]
        assert depends["postgres"] == {"condition": "service_healthy"}
        assert depends["redis"] == {"condition": "service_healthy"}
        if name != "migrate":
            assert depends["migrate"] == {"condition": "service_completed_successfully"}


def test_app_services_point_at_the_compose_backends_and_need_secrets(compose):
    for name in APP_SERVICES:
        env = compose["services"][name]["environment"]
        assert (
            env["DATABASE_URL"].startswith("postgres://")
            and "@postgres:5432/" in env["DATABASE_URL"]
        )
        assert env["CELERY_BROKER_URL"].startswith("redis://redis:6379/")
        assert env["CACHE_URL"].startswith("redis://redis:6379/")
        assert env["CTI_LOG_FORMAT"] == "json"
        # no default secret: compose refuses to start without one
        assert re.fullmatch(r"\$\{SECRET_KEY:\?[^}]+\}", env["SECRET_KEY"])
        assert env["CTI_ALLOW_INSECURE_KEY"] == "false"


def test_compose_only_sets_settings_that_exist(compose):
    settings_text = (ROOT / "cti" / "settings.py").read_text()
    known_elsewhere = {"WEB_CONCURRENCY", "DATABASE_URL", "CACHE_URL"}
    for name in APP_SERVICES:
        for key in compose["services"][name]["environment"]:
            assert key in known_elsewhere or f'"{key}"' in settings_text, key


def test_dockerfile_is_multi_stage_and_runs_gunicorn_as_non_root(dockerfile):
    froms = [i for i, line in enumerate(dockerfile) if line.startswith("FROM ")]
    assert len(froms) >= 2
    assert " AS build" in dockerfile[froms[0]]
    runtime = dockerfile[froms[-1] :]
    assert any(line.startswith("COPY --from=build") for line in runtime)
    users = [line.split()[1] for line in runtime if line.startswith("USER ")]
    assert users and users[-1] not in {"root", "0"}
    # the user exists in the runtime stage, with a fixed non-zero uid
    assert any(re.search(r"useradd .*--uid (\d+)", line) for line in runtime)
    assert not any("--uid 0 " in line for line in runtime)
    # nothing runs as root after the switch
    last_user = max(i for i, line in enumerate(runtime) if line.startswith("USER "))
    assert not any(line.startswith("RUN ") for line in runtime[last_user:])
    health = [line for line in runtime if line.startswith("HEALTHCHECK ")]
    assert len(health) == 1 and "/health" in health[0]
    cmd = next(line for line in runtime if line.startswith("CMD "))
    assert '"gunicorn"' in cmd and "cti.ops.gunicorn_conf" in cmd
    env = " ".join(line for line in runtime if line.startswith("ENV "))
    assert "CTI_LOG_FORMAT=json" in env and "PROMETHEUS_MULTIPROC_DIR=" in env


def test_dockerfile_copies_what_the_package_build_reads(dockerfile):
    """pyproject.toml names README.md as the readme: `pip install .` fails without it."""
    build = dockerfile[: [i for i, line in enumerate(dockerfile) if line.startswith("FROM ")][1]]
    copied = " ".join(line for line in build if line.startswith("COPY "))
    for needed in ("pyproject.toml", "requirements.lock", "README.md", "cti", "cases", "rules"):
        assert needed in copied.split(), needed


def test_make_stack_starts_gunicorn_worker_and_beat():
    makefile = (ROOT / "Makefile").read_text()
    recipe = makefile.split("\nstack:", 1)[1].split("\n\n", 1)[0]
    assert "gunicorn -c python:cti.ops.gunicorn_conf" in recipe
    assert "celery -A cti worker" in recipe
    assert "celery -A cti beat" in recipe
    assert "DATABASE_URL=$(PG_URL)" in recipe and "CELERY_BROKER_URL=$(STACK_REDIS_URL)" in recipe
    assert "PROMETHEUS_MULTIPROC_DIR=" in recipe


def test_gunicorn_settings_load():
    from cti.ops import gunicorn_conf

    assert gunicorn_conf.bind
    assert gunicorn_conf.workers >= 1
    assert gunicorn_conf.control_socket_disable is True
    assert callable(gunicorn_conf.child_exit) and callable(gunicorn_conf.on_starting)


def test_dependencies_hold_what_the_redis_transport_imports():
    """kombu's Redis transport imports `packaging`, which kombu only requires through its
    `redis` extra: a plain `celery` install (the image) fails at worker start and in /ready,
    while the test environment hides it (pytest brings `packaging`)."""
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    celery = next(d for d in deps if d.startswith("celery"))
    assert celery.startswith("celery[redis]"), celery


class _Health(BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200 if self.path == "/health" else 404)
        self.end_headers()

    def log_message(self, *args):
        pass


def test_the_image_healthcheck_probes_the_port_cti_bind_names(dockerfile):
    health = next(line for line in dockerfile if line.startswith("HEALTHCHECK "))
    argv = json.loads(health.split(" CMD ", 1)[1])
    assert argv[:2] == ["python", "-c"]
    server = HTTPServer(("127.0.0.1", 0), _Health)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        port = server.server_address[1]

        def probe(bind: str) -> int:
            env = {"CTI_BIND": bind, "PATH": ""}
            run = [sys.executable, "-c", argv[2]]
            return subprocess.run(run, env=env, capture_output=True, timeout=20).returncode

        assert probe(f"0.0.0.0:{port}") == 0
        assert probe("0.0.0.0:1") != 0
    finally:
        server.shutdown()
