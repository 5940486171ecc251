"""Access control over every endpoint: the URL resolver's full list of (path, method), as
drf-spectacular enumerates it (a superset of openapi.yaml: it includes the methods a resource
answers 405 to), checked for every role.

- anonymous: 401 in the v3 envelope (TAXII: 401 in a TAXII error);
- Read Only User: 403 on every write;
- Analyst: 403 on every administrator-only endpoint, and on writes of the endpoints where only
  administrators write.

Permission checks run before any lookup, so path parameters need not exist."""

import re
from pathlib import Path

import pytest
import yaml
from drf_spectacular.generators import EndpointEnumerator

from cti.ingest.models import WebhookSource
from cti.security.choices import SystemRoleChoices
from cti.security.services import api_user_create
from tests.conftest import V3Client

pytestmark = pytest.mark.django_db

SAFE = {"GET", "HEAD", "OPTIONS"}
# administrators only, any method
ADMIN_ONLY = (
    "/api/v3/rules",
    "/api/v3/deadLetters",
    "/api/v3/auditLog",
    "/api/v3/security/credentials",
)
# everyone reads, administrators write
ADMIN_WRITES = (
    "/api/v3/security/users",
    "/api/v3/security/owners",
    "/api/v3/notifications/notifiers",
    "/api/v3/caseAutomations",
    "/api/v3/caseStatusTemplates",
)
# writes a Read Only User may make, and why
READ_ONLY_MAY_WRITE = {
    "/api/v3/notifications/triggers": "personal subscriptions: every user manages their own",
}
# authenticated by the source's signature or token, not by a user
WEBHOOK = "/api/v3/webhooks/{slug}"


def _endpoints() -> list[tuple[str, str]]:
    found = {
        (path, method) for path, _regex, method, _view in EndpointEnumerator().get_api_endpoints()
    }
    return sorted(found)


ENDPOINTS = _endpoints()
API = [(p, m) for p, m in ENDPOINTS if p.startswith("/api/v3/")]
TAXII = [(p, m) for p, m in ENDPOINTS if p.startswith("/taxii2/")]


def _under(path: str, prefixes: tuple[str, ...]) -> bool:
    return any(path == p or path.startswith(p + "/") for p in prefixes)


def _url(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "1", path)


def _call(client: V3Client, method: str, path: str):
    url = _url(path)
    if method in SAFE:
        return client.generic(method, url)
    return client.generic(method, url, "{}", content_type="application/json")


def _is_v3_error(response) -> bool:
    body = response.json()
    return body.get("status") == "Error" and bool(body.get("message"))


def _id(value) -> str:
    return f"{value[1]} {value[0]}" if isinstance(value, tuple) else str(value)


def test_the_walk_sees_every_operation_in_openapi_yaml():
    schema = yaml.safe_load((Path(__file__).parents[2] / "openapi.yaml").read_text())
    documented = {
        (re.sub(r"\{[^}]+\}", "{}", path), method.upper())
        for path, ops in schema["paths"].items()
        for method in ops
        if method in ("get", "post", "put", "delete", "patch")
    }
    walked = {(re.sub(r"\{[^}]+\}", "{}", p), m) for p, m in ENDPOINTS}
    assert documented <= walked, sorted(documented - walked)
    assert len(API) > 100


@pytest.fixture
def webhook_source(db):
    return WebhookSource.objects.create(name="Splunk", slug="1", system_name="SIEM")


@pytest.mark.parametrize("endpoint", API, ids=_id)
def test_anonymous_gets_401_in_the_envelope(endpoint, anon_api, webhook_source):
    path, method = endpoint
    response = _call(anon_api, method, path)
    assert response.status_code == 401, (response.status_code, response.content[:300])
    assert _is_v3_error(response)


@pytest.mark.parametrize("endpoint", TAXII, ids=_id)
def test_anonymous_taxii_gets_401(endpoint, anon_api):
    path, method = endpoint
    response = anon_api.generic(
        method, _url(path), HTTP_ACCEPT="application/taxii+json;version=2.1"
    )
    assert response.status_code == 401, response.content[:300]


WRITES = [
    (p, m)
    for p, m in API
    if m not in SAFE and p != WEBHOOK and not _under(p, tuple(READ_ONLY_MAY_WRITE))
]


@pytest.mark.parametrize("endpoint", WRITES, ids=_id)
def test_read_only_user_cannot_write(endpoint, readonly_credential):
    path, method = endpoint
    response = _call(V3Client(readonly_credential.token), method, path)
    assert response.status_code == 403, (response.status_code, response.content[:300])
    assert _is_v3_error(response)


ADMIN_ENDPOINTS = [
    (p, m) for p, m in API if _under(p, ADMIN_ONLY) or (_under(p, ADMIN_WRITES) and m not in SAFE)
]


@pytest.mark.parametrize("endpoint", ADMIN_ENDPOINTS, ids=_id)
@pytest.mark.parametrize("role", [SystemRoleChoices.ANALYST, SystemRoleChoices.PLAYBOOK])
def test_non_administrators_get_403_on_administrator_endpoints(endpoint, role):
    path, method = endpoint
    issued = api_user_create(f"user-{role}", role=role)
    response = _call(V3Client(issued.token), method, path)
    assert response.status_code == 403, (response.status_code, response.content[:300])
    assert _is_v3_error(response)


@pytest.mark.parametrize("endpoint", [(p, "GET") for p, m in API if m == "GET"], ids=_id)
def test_administrators_are_not_refused(endpoint, admin_api):
    """The other side of the checks above: the admin's status is never 401 or 403 (404 for the
    made-up ids is fine)."""
    path, method = endpoint
    response = _call(admin_api, method, path)
    assert response.status_code not in (401, 403), response.content[:300]


def test_every_admin_only_prefix_exists():
    paths = {p for p, _ in API}
    for prefix in (*ADMIN_ONLY, *ADMIN_WRITES, *READ_ONLY_MAY_WRITE):
        assert any(_under(p, (prefix,)) for p in paths), prefix
