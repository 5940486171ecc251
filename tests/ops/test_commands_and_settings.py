import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command

from cti.security.models import ApiCredential, User

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.django_db
def test_create_api_user_prints_working_credentials(capsys):
    call_command("create_api_user", "playbook-1", "--role", "Api User")
    out = capsys.readouterr().out
    token = next(line.split()[-1] for line in out.splitlines() if line.startswith("token:"))
    access_id = next(line.split()[-1] for line in out.splitlines() if line.startswith("access id:"))
    assert ApiCredential.objects.get(access_id=access_id).user.username == "playbook-1"
    assert User.objects.get(username="playbook-1").system_role == "Api User"
    from tests.conftest import V3Client

    assert V3Client(token).get("/api/v3/cases").status_code == 200


@pytest.mark.django_db
def test_bootstrap_admin_prints_the_same_login_on_every_run(capsys, tmp_path, settings):
    settings.VAR_DIR = tmp_path
    call_command("bootstrap_admin")
    first = capsys.readouterr().out
    call_command("bootstrap_admin")
    second = capsys.readouterr().out
    assert "password" in first and first == second
    assert User.objects.get(username="admin").is_superuser


@pytest.mark.django_db
def test_swagger_ui_and_schema_are_served_locally(client):
    schema = client.get("/api/schema/")
    assert schema.status_code == 200
    assert b"/api/v3/cases" in schema.content
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    assert b"drf_spectacular_sidecar" in docs.content or b"/static/" in docs.content


@pytest.mark.parametrize(
    "env",
    [
        {"CTI_PAGING_LINKS": "sometimes"},
        {"CTI_HMAC_WINDOW_SECONDS": "five minutes"},
        {"DEBUG": "perhaps"},
        {"CELERY_BROKER_URL": "carrier-pigeon://x"},
        {"DATABASE_URL": "nosuchdb://x"},
        {"CTI_THROTTLE_USER_RATE": "lots"},
        {"CTI_THROTTLE_ANON_RATE": "10/fortnight"},
        {"CTI_THROTTLE_USER_RATE": "0/minute"},
        {"CTI_LOG_FORMAT": "xml"},
        {"CTI_READY_CHECKS": "database,disk"},
        {"CACHE_URL": "memcached://127.0.0.1"},
    ],
)
def test_bad_settings_fail_loudly(env):
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "Traceback" in result.stderr or "Error" in result.stderr
