"""Shared fixtures: users with API credentials and clients that authenticate like tcex."""

import pytest
from rest_framework.test import APIClient

from cti.security.choices import SystemRoleChoices
from cti.security.services import api_user_create


class V3Client(APIClient):
    """An APIClient that sends `Authorization: TC-Token ...` and JSON bodies."""

    def __init__(self, token: str | None = None, **kwargs):
        super().__init__(**kwargs)
        if token:
            self.credentials(HTTP_AUTHORIZATION=f"TC-Token {token}")

    def post_json(self, path, data, **kw):
        return self.post(path, data, format="json", **kw)

    def put_json(self, path, data, **kw):
        return self.put(path, data, format="json", **kw)


@pytest.fixture
def admin_credential(db):
    return api_user_create("admin", role=SystemRoleChoices.ADMINISTRATOR, superuser=True)


@pytest.fixture
def analyst_credential(db):
    return api_user_create("analyst@example.com", role=SystemRoleChoices.ANALYST)


@pytest.fixture
def readonly_credential(db):
    return api_user_create("reader", role=SystemRoleChoices.READ_ONLY)


@pytest.fixture
def api(analyst_credential) -> V3Client:
    """A client authenticated as an analyst."""
    return V3Client(analyst_credential.token)


@pytest.fixture
def admin_api(admin_credential) -> V3Client:
    return V3Client(admin_credential.token)


@pytest.fixture
def anon_api() -> V3Client:
    return V3Client()


@pytest.fixture
def make_case(api):
    """Create a case through the API and return its JSON."""

    def make(**fields):
        body = {"name": "Case", "severity": "Low", "status": "Open", **fields}
        response = api.post_json("/api/v3/cases", body)
        assert response.status_code == 201, response.json()
        return response.json()["data"]

    return make
