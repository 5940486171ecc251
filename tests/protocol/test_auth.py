import time

import pytest
from rest_framework.test import APIClient

from cti.api.authentication import hmac_signature
from cti.security.models import ApiCredential

pytestmark = pytest.mark.django_db


def _signed(credential, method: str, path: str, timestamp: int | None = None) -> dict:
    ts = str(timestamp if timestamp is not None else int(time.time()))
    signature = hmac_signature(credential.secret_key, path, method, ts)
    return {"HTTP_AUTHORIZATION": f"TC {credential.access_id}:{signature}", "HTTP_TIMESTAMP": ts}


def test_hmac_signed_over_raw_path_and_query(analyst_credential):
    client = APIClient()
    path = "/api/v3/cases?resultLimit=5&tql=name+%3D+%22My+Case%22"
    response = client.get(path, **_signed(analyst_credential, "GET", path))
    assert response.status_code == 200, response.json()


def test_hmac_post(analyst_credential):
    client = APIClient()
    path = "/api/v3/cases"
    response = client.post(
        path,
        {"name": "h", "severity": "Low", "status": "Open"},
        format="json",
        **_signed(analyst_credential, "POST", path),
    )
    assert response.status_code == 201


@pytest.mark.parametrize(
    "tamper",
    ["wrong_path", "wrong_method", "old_timestamp", "future_timestamp", "bad_secret", "no_ts"],
)
def test_hmac_rejections(analyst_credential, tamper):
    client = APIClient()
    path = "/api/v3/cases"
    now = int(time.time())
    headers = {
        "wrong_path": _signed(analyst_credential, "GET", "/api/v3/tasks"),
        "wrong_method": _signed(analyst_credential, "POST", path),
        "old_timestamp": _signed(analyst_credential, "GET", path, now - 301),
        "future_timestamp": _signed(analyst_credential, "GET", path, now + 301),
        "bad_secret": {
            "HTTP_AUTHORIZATION": f"TC {analyst_credential.access_id}:"
            + hmac_signature("nope", path, "GET", str(now)),
            "HTTP_TIMESTAMP": str(now),
        },
        "no_ts": {
            "HTTP_AUTHORIZATION": _signed(analyst_credential, "GET", path)["HTTP_AUTHORIZATION"]
        },
    }[tamper]
    response = client.get(path, **headers)
    assert response.status_code == 401
    assert response.json()["errCode"] == "0x1002"
    assert response["WWW-Authenticate"] == "TC"


def test_token_auth_and_revocation(analyst_credential):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"TC-Token {analyst_credential.token}")
    assert client.get("/api/v3/cases").status_code == 200
    ApiCredential.objects.update(revoked=True)
    assert client.get("/api/v3/cases").status_code == 401


def test_tokens_are_stored_hashed(analyst_credential):
    stored = ApiCredential.objects.get(access_id=analyst_credential.access_id)
    assert analyst_credential.token not in stored.token_digest
    assert len(stored.token_digest) == 64


@pytest.mark.parametrize("method", ["get", "post", "put", "delete", "options"])
def test_anonymous_is_401_in_envelope(anon_api, method):
    response = getattr(anon_api, method)("/api/v3/cases")
    assert response.status_code == 401
    assert response.json() == {
        "status": "Error",
        "message": response.json()["message"],
        "errCode": "0x1002",
    }


def test_garbage_token_is_401(anon_api):
    anon_api.credentials(HTTP_AUTHORIZATION="TC-Token APIV2:1:nothing")
    assert anon_api.get("/api/v3/cases").status_code == 401


def test_read_only_role_cannot_write(readonly_credential, make_case):
    from tests.conftest import V3Client

    reader = V3Client(readonly_credential.token)
    assert reader.get("/api/v3/cases").status_code == 200
    response = reader.post_json("/api/v3/cases", {"name": "x", "severity": "Low", "status": "Open"})
    assert response.status_code == 403
    assert response.json()["errCode"] == "0x1003"


def test_unknown_owner_is_403(api):
    response = api.get("/api/v3/cases?owner=Nobody")
    assert response.status_code == 403
    assert api.get("/api/v3/cases?owner=Default Organization").status_code == 200


def test_user_access_restricts_case(api, admin_api, analyst_credential, make_case):
    from cti.security.services import api_user_create
    from tests.conftest import V3Client

    other = api_user_create("other", role="Analyst")
    case = make_case(name="secret", userAccess={"data": [{"userName": "other"}]})
    assert api.get(f"/api/v3/cases/{case['id']}").status_code == 404
    assert V3Client(other.token).get(f"/api/v3/cases/{case['id']}").status_code == 200
    assert admin_api.get(f"/api/v3/cases/{case['id']}").status_code == 200
    assert api.get(f"/api/v3/tasks?tql=hasCase(id = {case['id']})").json()["data"] == []
