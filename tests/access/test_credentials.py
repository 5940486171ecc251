"""Token rotation and revocation: the old secret stops working at once; secrets are shown once
and never logged or stored in clear."""

import logging
import time

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from cti.api.authentication import hmac_signature
from cti.audit.models import AuditEntry
from cti.ingest.models import WebhookSource
from cti.security.choices import SystemRoleChoices
from cti.security.models import ApiCredential, User
from cti.security.services import api_user_create, token_digest
from tests.conftest import V3Client

pytestmark = pytest.mark.django_db

CREDS = "/api/v3/security/credentials"
PROBE = "/api/v3/cases"


@pytest.fixture
def bot():
    return api_user_create("bot", role=SystemRoleChoices.PLAYBOOK)


def _hmac_get(issued_access_id: str, secret_key: str, path: str = PROBE):
    timestamp = str(int(time.time()))
    signature = hmac_signature(secret_key, path, "GET", timestamp)
    client = V3Client()
    return client.get(
        path,
        HTTP_AUTHORIZATION=f"TC {issued_access_id}:{signature}",
        HTTP_TIMESTAMP=timestamp,
    )


def _credential_id(access_id: str) -> int:
    return ApiCredential.objects.get(access_id=access_id).pk


def test_rotate_returns_new_secrets_once_and_the_old_ones_fail_at_once(admin_api, bot):
    old = V3Client(bot.token)
    assert old.get(PROBE).status_code == 200
    assert _hmac_get(bot.access_id, bot.secret_key).status_code == 200

    response = admin_api.post(f"{CREDS}/{_credential_id(bot.access_id)}/rotate")
    assert response.status_code == 200, response.json()
    data = response.json()["data"]
    assert data["accessId"] == bot.access_id and data["rotatedAt"]
    assert data["token"] != bot.token and data["secretKey"] != bot.secret_key

    refused = old.get(PROBE)
    assert refused.status_code == 401 and refused.json()["status"] == "Error"
    assert _hmac_get(bot.access_id, bot.secret_key).status_code == 401
    assert V3Client(data["token"]).get(PROBE).status_code == 200
    assert _hmac_get(bot.access_id, data["secretKey"]).status_code == 200

    stored = ApiCredential.objects.get(access_id=bot.access_id)
    assert stored.token_digest == token_digest(data["token"])
    assert data["token"] not in stored.token_digest
    shown = admin_api.get(f"{CREDS}/{stored.pk}").json()["data"]
    assert "token" not in shown and "secretKey" not in shown
    listed = admin_api.get(CREDS, {"user": "bot"}).json()["data"]
    assert [c["accessId"] for c in listed] == [bot.access_id]
    assert all("token" not in c and "secretKey" not in c for c in listed)


def test_revoke_refuses_token_and_signature_at_once(admin_api, bot):
    pk = _credential_id(bot.access_id)
    response = admin_api.post(f"{CREDS}/{pk}/revoke")
    assert response.status_code == 200
    assert response.json()["data"]["revoked"] is True and response.json()["data"]["revokedAt"]
    assert V3Client(bot.token).get(PROBE).status_code == 401
    assert _hmac_get(bot.access_id, bot.secret_key).status_code == 401
    # a revoked credential stays revoked: rotating it is refused
    response = admin_api.post(f"{CREDS}/{pk}/rotate")
    assert response.status_code == 409 and response.json()["status"] == "Error"
    assert V3Client(bot.token).get(PROBE).status_code == 401


def test_issue_a_credential_for_a_user(admin_api, bot):
    user = User.objects.get(username="bot")
    response = admin_api.post_json(CREDS, {"userId": user.pk})
    assert response.status_code == 201, response.json()
    data = response.json()["data"]
    assert V3Client(data["token"]).get(PROBE).status_code == 200
    assert V3Client(bot.token).get(PROBE).status_code == 200  # the first one still works
    for body, status in (({}, 400), ({"userId": "x"}, 400), ({"userName": "nobody"}, 404)):
        response = admin_api.post_json(CREDS, body)
        assert response.status_code == status and response.json()["status"] == "Error"


def test_credential_changes_are_audited_without_secrets(admin_api, bot):
    pk = _credential_id(bot.access_id)
    new = admin_api.post(f"{CREDS}/{pk}/rotate").json()["data"]
    admin_api.post(f"{CREDS}/{pk}/revoke")
    rows = list(
        AuditEntry.objects.filter(content_type__model="apicredential", object_id=str(pk))
        .order_by("pk")
        .values_list("action", "before", "after", "actor_name")
    )
    assert [r[0] for r in rows] == ["create", "update", "update"]
    rotate, revoke = rows[1], rows[2]
    assert rotate[3] == "admin" and set(rotate[2]) == {"secret_key", "token_digest", "rotated_at"}
    assert rotate[2]["token_digest"] == "[redacted]"
    assert revoke[1]["revoked"] is False and revoke[2]["revoked"] is True
    text = str(rows)
    for secret in (
        bot.token,
        bot.secret_key,
        new["token"],
        new["secretKey"],
        token_digest(new["token"]),
    ):
        assert secret not in text


def test_commands_rotate_and_revoke(bot, capsys):
    call_command("rotate_api_credential", bot.access_id)
    out = capsys.readouterr().out
    token = next(line.split()[-1] for line in out.splitlines() if line.startswith("token:"))
    assert V3Client(bot.token).get(PROBE).status_code == 401
    assert V3Client(token).get(PROBE).status_code == 200
    call_command("revoke_api_credential", "bot")
    assert V3Client(token).get(PROBE).status_code == 401
    with pytest.raises(CommandError):
        call_command("rotate_api_credential", "bot")  # no live credential left
    with pytest.raises(CommandError):
        call_command("revoke_api_credential", "nobody")
    sources = set(AuditEntry.objects.values_list("source", flat=True))
    assert {"command:rotate_api_credential", "command:revoke_api_credential"} <= sources


def test_locked_or_disabled_users_are_refused(bot):
    user = User.objects.get(username="bot")
    user.locked = True
    user.save()
    assert V3Client(bot.token).get(PROBE).status_code == 401
    user.locked, user.is_active = False, False
    user.save()
    assert V3Client(bot.token).get(PROBE).status_code == 401


def test_locking_a_user_ends_their_sessions_and_refuses_their_login(client):
    api_user_create("lead", role=SystemRoleChoices.ADMINISTRATOR, password="a-long-passw0rd")
    user = User.objects.get(username="lead")
    user.is_staff = True
    user.save()
    assert client.login(username="lead", password="a-long-passw0rd")
    assert client.get("/admin/").status_code == 200
    assert client.get(PROBE).status_code == 200  # the session also reaches the API
    user.locked = True
    user.save()
    assert client.get("/admin/").status_code == 302  # to the login page: the session is void
    assert client.get(PROBE).status_code in (401, 403)
    assert not client.login(username="lead", password="a-long-passw0rd")
    user.locked = False
    user.save()
    assert client.login(username="lead", password="a-long-passw0rd")


def test_secrets_are_never_logged(caplog, admin_api, bot):
    caplog.set_level(logging.DEBUG)
    source = WebhookSource.objects.create(
        name="Splunk", slug="splunk", system_name="SIEM", auth_mode="token"
    )
    V3Client(bot.token).get(PROBE)
    V3Client(bot.token + "x").get(PROBE)
    _hmac_get(bot.access_id, bot.secret_key)
    V3Client().post(
        f"/api/v3/webhooks/splunk?token={source.secret}", "{", content_type="application/json"
    )
    V3Client().post(
        "/api/v3/webhooks/splunk?token=wrong-token-value", "{}", content_type="application/json"
    )
    rotated = admin_api.post(f"{CREDS}/{_credential_id(bot.access_id)}/rotate").json()["data"]
    assert caplog.records  # the requests were logged...
    for secret in (bot.token, bot.secret_key, source.secret, "wrong-token-value", rotated["token"]):
        assert secret not in caplog.text  # ...without their secrets
