"""Shared fixtures: users with API credentials and clients that authenticate like tcex."""

import os

import pytest
from rest_framework.test import APIClient

from cti.security.choices import SystemRoleChoices
from cti.security.services import api_user_create


def _worker_redis_databases() -> None:
    """Under pytest-xdist each worker gets its own Redis databases for the brokers the tests
    flush (pytest-django already gives each its own test database)."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if not worker.startswith("gw") or worker == "gw0":
        return
    offset = 2 * int(worker[2:])
    for name, default in (
        ("CTI_TEST_BROKER_URL", "redis://127.0.0.1:6379/15"),
        ("CTI_RULES_TEST_BROKER_URL", "redis://127.0.0.1:6379/14"),
    ):
        base, db = os.environ.get(name, default).rsplit("/", 1)
        os.environ[name] = f"{base}/{int(db) - offset}"


_worker_redis_databases()


def pytest_collection_modifyitems(items):
    """Every transactional test (a transaction=True marker, or the transactional_db or
    live_server fixture) restores the migrations' data (content types, seeded artifact types,
    TLP markings) with serialized_rollback. Mixing both kinds breaks: the flush after a
    non-serialized transactional test re-creates content types (post_migrate), and the next
    serialized test's restore then collides with them."""
    for item in items:
        marker = item.get_closest_marker("django_db")
        if marker is None:
            if not {"transactional_db", "live_server"} & set(item.fixturenames):
                continue
            kwargs = {"transaction": True}
        elif marker.kwargs.get("transaction") and "serialized_rollback" not in marker.kwargs:
            kwargs = dict(marker.kwargs)
        else:
            continue
        marker_args = marker.args if marker else ()
        item.add_marker(
            pytest.mark.django_db(*marker_args, **kwargs, serialized_rollback=True), append=False
        )


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
